/* test_revocations.c: the in-memory revocation index (auth/revocations.h; RSA17, S-66..S-69)
 * and where its records live: a pool of their own, not malloc's heap (issue 19). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "server/auth/revocations.h"

static void test_matching(void **state)
{
    (void)state;
    rta_revocations r;
    assert_int_equal(rta_revocations_init(&r), 0);
    rta_token_targets bob = {.client_id = "bob"}, rk = {.revocation_key = "k1"};
    assert_int_equal(rta_revocations_check(&r, "app.key", &bob, 100, 1000, NULL), 0);
    assert_int_equal(rta_revocations_add(&r, "app.key", "clientId:bob", 500, 900, 5000), 0);
    assert_int_equal(rta_revocations_add(&r, "app.key", "clientId:bob", 500, 900, 5000), 0);
    assert_int_equal(r.count, 1); /* the same revocation loaded twice */
    /* issued strictly before issuedBefore, once appliesAt passed (RSA17) */
    assert_int_equal(rta_revocations_check(&r, "app.key", &bob, 499, 1000, NULL), 1);
    assert_int_equal(rta_revocations_check(&r, "app.key", &bob, 500, 1000, NULL), 0);
    assert_int_equal(rta_revocations_check(&r, "other.key", &bob, 100, 1000, NULL), 0);
    assert_int_equal(rta_revocations_check(&r, "app.key", &rk, 100, 1000, NULL), 0);
    int64_t pending = -1;
    assert_int_equal(rta_revocations_check(&r, "app.key", &bob, 100, 800, &pending), 0);
    assert_int_equal(pending, 900);
    /* a later revocation of the same target does not delay the earlier one */
    assert_int_equal(rta_revocations_add(&r, "app.key", "clientId:bob", 700, 2000, 6000), 0);
    assert_int_equal(r.count, 2);
    assert_int_equal(rta_revocations_check(&r, "app.key", &bob, 600, 1000, &pending), 0);
    assert_int_equal(pending, 2000);
    assert_int_equal(rta_revocations_check(&r, "app.key", &bob, 100, 1000, NULL), 1);
    assert_int_equal(rta_revocations_purge(&r, 5000), 1); /* forgotten after `expires` */
    assert_int_equal(rta_revocations_check(&r, "app.key", &bob, 600, 2000, NULL), 1);
    assert_int_equal(rta_revocations_purge(&r, 6000), 1);
    assert_int_equal(r.count, 0);
    assert_int_equal(rta_revocations_check(&r, "app.key", &bob, 100, 1000, NULL), 0);
    rta_revocations_free(&r);
}

/* 10,000 records, as the token round of make bench-scale leaves on every worker: none of
 * them on malloc's heap, where they pinned the pages of closed connections; all of the pool
 * given back once they expire. */
static void test_records_off_the_heap(void **state)
{
    (void)state;
    rta_revocations r;
    assert_int_equal(rta_revocations_init(&r), 0);
    struct mallinfo2 before = mallinfo2();
    char target[64];
    for (int i = 0; i < 10000; i++) {
        snprintf(target, sizeof(target), "token:ref-%08d-abcdefghijklmnop", i);
        assert_int_equal(rta_revocations_add(&r, "app.key", target, 500, 900, 5000 + i), 0);
    }
    struct mallinfo2 after = mallinfo2();
    assert_true(after.uordblks <= before.uordblks + 4096);
    assert_true(r.pool.mapped >= 10000 * 64);
    rta_token_targets t = {.token_ref = "ref-00004321-abcdefghijklmnop"};
    assert_int_equal(rta_revocations_check(&r, "app.key", &t, 100, 1000, NULL), 1);
    /* expired: `expires` <= now, records 0..5000 */
    assert_int_equal(rta_revocations_purge(&r, 5000 + 5000), 5001);
    assert_int_equal(rta_revocations_check(&r, "app.key", &t, 100, 1000, NULL), 0);
    t.token_ref = "ref-00005001-abcdefghijklmnop";
    assert_int_equal(rta_revocations_check(&r, "app.key", &t, 100, 1000, NULL), 1);
    assert_int_equal(rta_revocations_purge(&r, 20000), 4999);
    assert_int_equal(r.pool.live, 1); /* the map's smallest table */
    assert_true(r.pool.mapped <= 64 * 1024);
    rta_revocations_free(&r);
    assert_int_equal(r.pool.mapped, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_records_off_the_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
