/* test_gateway_members.c: a channel's member list and its index by connection
 * (src/server/gateway_members.c): every add, lookup and removal agrees with a plain array
 * model, including the last member moving into a removed one's place with its modes and
 * link, the index growing, and probe runs staying reachable after backward-shift deletion.
 * Members are fake pointers: the module never dereferences them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/gateway/internal.h"

#define POOL 4096
static char pool[POOL]; /* fake connections: &pool[i] */

static rta_conn *fake(size_t i)
{
    return (rta_conn *)(void *)&pool[i];
}

/* The model: which fake is at which position, with its modes and link. */
typedef struct {
    size_t who[POOL];
    size_t n;
} model;

static void check(const rta_channel *ch, const model *m, const unsigned char *in)
{
    assert_int_equal(ch->count, m->n);
    for (size_t i = 0; i < m->n; i++) {
        assert_ptr_equal(ch->members[i], fake(m->who[i]));
        assert_int_equal(ch->modes[i], (uint32_t)m->who[i] * 3);
        assert_int_equal(ch->requested[i], (uint32_t)m->who[i] * 5);
        assert_int_equal(ch->links[i], (uint32_t)m->who[i] * 7);
        assert_int_equal(rta__gw_channel_member_index(ch, fake(m->who[i])), (long)i);
    }
    for (size_t k = 0; k < POOL; k++)
        if (!in[k]) assert_int_equal(rta__gw_channel_member_index(ch, fake(k)), -1);
}

static void add(rta_channel *ch, model *m, unsigned char *in, size_t k)
{
    long i = rta__gw_members_add(ch, fake(k), (uint32_t)k * 3, (uint32_t)k * 5, (uint32_t)k * 7);
    assert_int_equal(i, (long)m->n);
    m->who[m->n++] = k;
    in[k] = 1;
}

static void del(rta_channel *ch, model *m, unsigned char *in, size_t i)
{
    in[m->who[i]] = 0;
    rta__gw_members_remove(ch, i);
    m->who[i] = m->who[--m->n]; /* the last member moves into i */
}

static void empty_channel_finds_nothing(void **state)
{
    (void)state;
    rta_channel ch = {0};
    assert_int_equal(rta__gw_channel_member_index(&ch, fake(0)), -1);
    rta__gw_members_free(&ch); /* nothing allocated: a no-op */
}

static void add_find_remove_in_order(void **state)
{
    (void)state;
    rta_channel ch = {0};
    model m = {.n = 0};
    unsigned char in[POOL] = {0};
    for (size_t k = 0; k < 1000; k++) add(&ch, &m, in, k);
    assert_true(ch.cap >= 1000);
    check(&ch, &m, in);
    while (m.n) { /* from the front: every removal moves the last member */
        del(&ch, &m, in, 0);
        if (m.n % 97 == 0) check(&ch, &m, in);
    }
    check(&ch, &m, in);
    rta__gw_members_free(&ch);
}

/* Random adds and removals: probe runs wrap, collide and get shifted back. */
static void random_churn_matches_the_model(void **state)
{
    (void)state;
    rta_channel ch = {0};
    model m = {.n = 0};
    unsigned char in[POOL] = {0};
    srand(12345);
    for (int step = 0; step < 40000; step++) {
        size_t k = (size_t)rand() % POOL;
        if (!in[k] && (m.n < 64 || rand() % 3))
            add(&ch, &m, in, k);
        else if (m.n)
            del(&ch, &m, in, (size_t)rand() % m.n);
        if (step % 1000 == 0) check(&ch, &m, in);
    }
    check(&ch, &m, in);
    rta__gw_members_free(&ch);
}

/* Members at consecutive addresses of a struct's size, as calloc hands connections out: the
 * index stays short (no run longer than a handful of slots). */
static void neighbouring_addresses_spread(void **state)
{
    (void)state;
    enum { N = 2048, STRIDE = 512 };
    char *block = malloc((size_t)N * STRIDE);
    assert_non_null(block);
    rta_channel ch = {0};
    for (size_t i = 0; i < N; i++)
        assert_int_equal(
            rta__gw_members_add(&ch, (rta_conn *)(void *)(block + i * STRIDE), 0, 0, 0), (long)i);
    size_t slots = 2 * ch.cap, longest = 0, run = 0;
    for (size_t s = 0; s < 2 * slots; s++) { /* twice round: a run may wrap */
        run = ch.index[s % slots] ? run + 1 : 0;
        if (run > longest) longest = run;
    }
    assert_true(longest < 32);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(
            rta__gw_channel_member_index(&ch, (rta_conn *)(void *)(block + i * STRIDE)), (long)i);
    rta__gw_members_free(&ch);
    free(block);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_channel_finds_nothing),
        cmocka_unit_test(add_find_remove_in_order),
        cmocka_unit_test(random_churn_matches_the_model),
        cmocka_unit_test(neighbouring_addresses_spread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
