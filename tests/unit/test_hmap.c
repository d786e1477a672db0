/* test_hmap.c: the server's hash map, against a brute-force reference model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"

/* SipHash-1-3 has no published vectors of its own; pin our output so a change is noticed,
 * and check the obvious properties. */
static void test_siphash_properties(void **state)
{
    (void)state;
    uint64_t a = rta_siphash13(1, 2, "abc", 3);
    assert_int_equal(a, rta_siphash13(1, 2, "abc", 3));
    assert_int_not_equal(a, rta_siphash13(1, 3, "abc", 3));
    assert_int_not_equal(a, rta_siphash13(1, 2, "abd", 3));
    assert_int_not_equal(rta_siphash13(0, 0, "", 0), rta_siphash13(0, 0, "\0", 1));
}

static void test_basic(void **state)
{
    (void)state;
    rta_hmap m;
    assert_int_equal(rta_hmap_init(&m), 0);
    assert_null(rta_hmap_get(&m, "x", 1));
    int a = 1, b = 2;
    void *old;
    assert_int_equal(rta_hmap_put(&m, "x", 1, &a, &old), 0);
    assert_null(old);
    assert_ptr_equal(rta_hmap_get(&m, "x", 1), &a);
    assert_int_equal(rta_hmap_put(&m, "x", 1, &b, &old), 0);
    assert_ptr_equal(old, &a);
    assert_int_equal(m.count, 1);
    assert_int_equal(rta_hmap_put(&m, "a\0b", 3, &a, NULL), 0); /* binary keys */
    assert_null(rta_hmap_get(&m, "a", 1));
    assert_ptr_equal(rta_hmap_get(&m, "a\0b", 3), &a);
    assert_ptr_equal(rta_hmap_del(&m, "x", 1), &b);
    assert_null(rta_hmap_del(&m, "x", 1));
    assert_int_equal(m.count, 1);
    rta_hmap_free(&m);
}

static int keep_even(void *ctx, const char *key, size_t len, void *value)
{
    (void)ctx, (void)key, (void)len;
    return ((intptr_t)value & 1) == 0;
}

/* Random inserts/deletes mirrored in a plain array; every lookup must agree. */
/* rta_hmap_ref: a value changed in place, without a put (which may grow the map). */
static void test_ref(void **state)
{
    (void)state;
    rta_hmap m;
    assert_int_equal(rta_hmap_init(&m), 0);
    assert_null(rta_hmap_ref(&m, "n", 1));
    int a = 1, b = 2;
    for (int i = 0; i < 12; i++) { /* 12 of 16 slots: the next put would grow */
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        assert_int_equal(rta_hmap_put(&m, k, strlen(k), &a, NULL), 0);
    }
    size_t cap = m.cap;
    void **v = rta_hmap_ref(&m, "k3", 2);
    assert_non_null(v);
    assert_ptr_equal(*v, &a);
    *v = &b;
    assert_int_equal(m.cap, cap);
    assert_ptr_equal(rta_hmap_get(&m, "k3", 2), &b);
    assert_ptr_equal(rta_hmap_get(&m, "k4", 2), &a);
    assert_ptr_equal(rta_hmap_del(&m, "k3", 2), &b);
    assert_null(rta_hmap_ref(&m, "k3", 2));
    rta_hmap_free(&m);
}

static void against_reference(rta_pool *pool)
{
    enum { N = 3000 };
    static intptr_t ref[N]; /* 0 = absent, else value */
    memset(ref, 0, sizeof(ref));
    rta_hmap m;
    rta_hmap_init_pooled(&m, pool);
    srand(7);
    char key[16];
    for (int step = 0; step < 60000; step++) {
        int k = rand() % N;
        int n = snprintf(key, sizeof(key), "k%d", k);
        if (rand() % 3) {
            intptr_t v = rand() % 1000 + 1;
            assert_int_equal(rta_hmap_put(&m, key, (size_t)n, (void *)v, NULL), 0);
            ref[k] = v;
        } else {
            intptr_t got = (intptr_t)rta_hmap_del(&m, key, (size_t)n);
            assert_int_equal(got, ref[k]);
            ref[k] = 0;
        }
    }
    size_t expect = 0;
    for (int k = 0; k < N; k++) {
        int n = snprintf(key, sizeof(key), "k%d", k);
        assert_int_equal((intptr_t)rta_hmap_get(&m, key, (size_t)n), ref[k]);
        expect += ref[k] != 0;
    }
    assert_int_equal(m.count, expect);
    size_t odd = 0;
    for (int k = 0; k < N; k++) odd += ref[k] && (ref[k] & 1);
    assert_int_equal(rta_hmap_filter(&m, keep_even, NULL), odd);
    for (int k = 0; k < N; k++) {
        int n = snprintf(key, sizeof(key), "k%d", k);
        intptr_t want = (ref[k] & 1) ? 0 : ref[k];
        assert_int_equal((intptr_t)rta_hmap_get(&m, key, (size_t)n), want);
    }
    rta_hmap_free(&m);
}

static void test_against_reference(void **state)
{
    (void)state;
    against_reference(NULL);
}

/* The same with keys and table in a pool (revocations, issue 19): all of it given back. */
static void test_pooled_against_reference(void **state)
{
    (void)state;
    rta_pool pool;
    rta_pool_init(&pool);
    against_reference(&pool);
    assert_int_equal(pool.live, 0);
    assert_true(pool.mapped <= RTA_POOL_CHUNK);
    rta_pool_destroy(&pool);
}

/* A map that grew for many keys gives its table back once most are gone (issue 19), by del
 * and by filter, and every remaining key is still found. */
static void test_shrinks(void **state)
{
    (void)state;
    enum { N = 20000 };
    rta_hmap m;
    rta_hmap_init(&m);
    char key[16];
    for (intptr_t k = 0; k < N; k++) {
        int n = snprintf(key, sizeof(key), "k%ld", (long)k);
        assert_int_equal(rta_hmap_put(&m, key, (size_t)n, (void *)(k + 1), NULL), 0);
    }
    size_t peak = m.cap;
    assert_true(peak >= N);
    for (intptr_t k = 0; k < N; k++)
        if (k % 100) {
            int n = snprintf(key, sizeof(key), "k%ld", (long)k);
            assert_int_equal((intptr_t)rta_hmap_del(&m, key, (size_t)n), k + 1);
        }
    assert_int_equal(m.count, N / 100);
    assert_true(m.cap <= peak / 16);
    assert_true(m.count * 4 <= m.cap * 3);
    for (intptr_t k = 0; k < N; k += 100) {
        int n = snprintf(key, sizeof(key), "k%ld", (long)k);
        assert_int_equal((intptr_t)rta_hmap_get(&m, key, (size_t)n), k + 1);
    }
    /* by filter: keep_even keeps even values; every value left (k + 1, k a multiple of 100)
     * is odd, so all go */
    assert_int_equal(rta_hmap_filter(&m, keep_even, NULL), N / 100);
    assert_int_equal(m.count, 0);
    assert_true(m.cap <= 64);
    rta_hmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_properties),
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_ref),
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_pooled_against_reference),
        cmocka_unit_test(test_shrinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
