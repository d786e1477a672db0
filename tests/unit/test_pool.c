/* test_pool.c: core/pool.h, memory for long-lived state apart from malloc's heap (issue 19). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"

static void test_alignment_and_contents(void **state)
{
    (void)state;
    rta_pool p;
    rta_pool_init(&p);
    enum { N = 2000 };
    unsigned char *a[N];
    for (size_t i = 0; i < N; i++) {
        size_t n = i % 97; /* 0 too */
        a[i] = rta_pool_alloc(&p, n);
        assert_non_null(a[i]);
        assert_int_equal((uintptr_t)a[i] % 16, 0);
        memset(a[i], (int)(i & 0xff), n);
    }
    assert_int_equal(p.live, N);
    for (size_t i = 0; i < N; i++) /* no allocation overlaps another */
        for (size_t k = 0; k < i % 97; k++) assert_int_equal(a[i][k], i & 0xff);
    unsigned char *z = rta_pool_calloc(&p, 300);
    assert_non_null(z);
    for (size_t k = 0; k < 300; k++) assert_int_equal(z[k], 0);
    rta_pool_free(&p, z);
    rta_pool_free(&p, NULL);
    for (size_t i = 0; i < N; i++) rta_pool_free(&p, a[i]);
    assert_int_equal(p.live, 0);
    assert_true(p.mapped <= RTA_POOL_CHUNK); /* at most the chunk being carved */
    rta_pool_destroy(&p);
    assert_int_equal(p.mapped, 0);
}

/* A chunk goes back to the kernel when the last allocation on it is freed, whatever the
 * others do; the one being carved is carved again from its start. */
static void test_chunks_unmapped_when_empty(void **state)
{
    (void)state;
    rta_pool p;
    rta_pool_init(&p);
    enum { N = 4000, SIZE = 100 }; /* 4000 x 128 carved bytes: 8 chunks */
    void *a[N];
    for (size_t i = 0; i < N; i++) assert_non_null(a[i] = rta_pool_alloc(&p, SIZE));
    size_t full = p.mapped;
    assert_true(full >= 7 * RTA_POOL_CHUNK && full <= 9 * RTA_POOL_CHUNK);
    for (size_t i = 0; i < N / 2; i++) rta_pool_free(&p, a[i]); /* the older half, in order */
    assert_true(p.mapped <= full / 2 + RTA_POOL_CHUNK);
    for (size_t i = N / 2; i < N; i++) rta_pool_free(&p, a[i]);
    assert_int_equal(p.mapped, RTA_POOL_CHUNK);
    char *again = rta_pool_alloc(&p, SIZE), *next = rta_pool_alloc(&p, SIZE);
    assert_int_equal(p.mapped, RTA_POOL_CHUNK); /* the same chunk, carved again */
    assert_ptr_equal(next, again + 128);
    rta_pool_free(&p, again);
    rta_pool_free(&p, next);
    rta_pool_destroy(&p);
}

/* One live allocation keeps its chunk (the waste the header describes), and no more. */
static void test_one_survivor_keeps_one_chunk(void **state)
{
    (void)state;
    rta_pool p;
    rta_pool_init(&p);
    enum { N = 3000 };
    void *a[N];
    for (size_t i = 0; i < N; i++) assert_non_null(a[i] = rta_pool_alloc(&p, 200));
    for (size_t i = 0; i < N; i++)
        if (i != 10) rta_pool_free(&p, a[i]);
    assert_int_equal(p.live, 1);
    assert_true(p.mapped <= 2 * RTA_POOL_CHUNK); /* the survivor's and the current one */
    rta_pool_free(&p, a[10]);
    assert_true(p.mapped <= RTA_POOL_CHUNK);
    rta_pool_destroy(&p);
}

/* Larger than a quarter of a chunk: a mapping of its own, gone at free. */
static void test_large_allocations(void **state)
{
    (void)state;
    rta_pool p;
    rta_pool_init(&p);
    char *small = rta_pool_alloc(&p, 10);
    size_t before = p.mapped;
    size_t n = 3 * RTA_POOL_CHUNK + 5;
    char *big = rta_pool_calloc(&p, n);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 16, 0);
    assert_int_equal(big[n - 1], 0);
    big[0] = big[n - 1] = 'x';
    assert_true(p.mapped >= before + n);
    char *small2 = rta_pool_alloc(&p, 10); /* still carved from the first chunk */
    assert_ptr_equal(small2, small + 32);
    rta_pool_free(&p, big);
    assert_int_equal(p.mapped, before);
    assert_null(rta_pool_alloc(&p, SIZE_MAX)); /* no overflow */
    rta_pool_free(&p, small);
    rta_pool_free(&p, small2);
    rta_pool_destroy(&p);
    assert_int_equal(p.mapped, 0);
}

/* What the pool is for: its allocations take nothing from malloc's heap. */
static void test_outside_the_heap(void **state)
{
    (void)state;
    rta_pool p;
    rta_pool_init(&p);
    struct mallinfo2 before = mallinfo2();
    void *a[1000];
    for (size_t i = 0; i < 1000; i++) assert_non_null(a[i] = rta_pool_alloc(&p, 48));
    struct mallinfo2 after = mallinfo2();
    assert_true(after.uordblks <= before.uordblks + 1024);
    assert_true(p.mapped >= 1000 * 48);
    for (size_t i = 0; i < 1000; i++) rta_pool_free(&p, a[i]);
    rta_pool_destroy(&p);
}

/* Random allocations and frees, each holding a pattern checked when it is freed. */
static void test_random_model(void **state)
{
    (void)state;
    rta_pool p;
    rta_pool_init(&p);
    enum { SLOTS = 512 };
    unsigned char *a[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    srand(11);
    for (int step = 0; step < 100000; step++) {
        size_t i = (size_t)rand() % SLOTS;
        if (a[i]) {
            for (size_t k = 0; k < len[i]; k++) assert_int_equal(a[i][k], (unsigned char)(i ^ k));
            rta_pool_free(&p, a[i]);
            a[i] = NULL;
        } else {
            len[i] = (size_t)(rand() % 8 == 0 ? rand() % 40000 : rand() % 300);
            assert_non_null(a[i] = rta_pool_alloc(&p, len[i]));
            for (size_t k = 0; k < len[i]; k++) a[i][k] = (unsigned char)(i ^ k);
        }
    }
    size_t live = 0;
    for (size_t i = 0; i < SLOTS; i++) live += a[i] != NULL;
    assert_int_equal(p.live, live);
    rta_pool_destroy(&p); /* the live ones too */
    assert_int_equal(p.mapped, 0);
    assert_int_equal(p.live, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_contents),
        cmocka_unit_test(test_chunks_unmapped_when_empty),
        cmocka_unit_test(test_one_survivor_keeps_one_chunk),
        cmocka_unit_test(test_large_allocations),
        cmocka_unit_test(test_outside_the_heap),
        cmocka_unit_test(test_random_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
