/* test_nonce_cache.c: the in-memory replay cache (RSA9c, TE5, S-21): a nonce is accepted
 * once per key within its window, expired entries never count as seen, and purging is
 * incremental and never drops a nonce that was used again after expiring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "server/auth/nonce_cache.h"

static void test_replay_rules(void **state)
{
    (void)state;
    rta_nonce_cache c;
    rta_error err;
    assert_int_equal(rta_nonce_cache_init(&c, 1000), 0);
    assert_int_equal(rta_nonce_cache_add(&c, "app.k1", "n1", 2000, 1000, &err), 0);
    assert_int_equal(rta_nonce_cache_add(&c, "app.k1", "n1", 2000, 1500, &err), 40105);
    assert_int_equal(err.status_code, 401);
    assert_int_equal(rta_nonce_cache_add(&c, "app.k2", "n1", 2000, 1500, &err), 0); /* other key */
    /* expired: not seen any more, even before it is purged */
    assert_int_equal(rta_nonce_cache_add(&c, "app.k1", "n1", 5000, 2000, &err), 0);
    /* purging at 2000 pops the first n1 record but must keep the refreshed one */
    assert_int_equal(rta_nonce_cache_purge(&c, 2000), 2);
    assert_int_equal(rta_nonce_cache_add(&c, "app.k1", "n1", 5000, 2500, &err), 40105);
    assert_int_equal(c.map.count, 1);
    assert_int_equal(rta_nonce_cache_purge(&c, 5000), 1);
    assert_int_equal(c.map.count, 0);
    rta_nonce_cache_free(&c);
}

static void test_incremental_and_capacity(void **state)
{
    (void)state;
    rta_nonce_cache c;
    rta_error err;
    rta_nonce_cache_init(&c, 3000);
    char n[32];
    for (int i = 0; i < 3000; i++) { /* spans several FIFO growths */
        snprintf(n, sizeof(n), "nonce-%d", i);
        assert_int_equal(rta_nonce_cache_add(&c, "app.k", n, 10000 + i, 0, &err), 0);
    }
    /* full of unexpired nonces: refused (42910), nothing dropped */
    assert_int_equal(rta_nonce_cache_add(&c, "app.k", "one-more", 20000, 0, &err), 42910);
    /* purge pops only what expired, from the head */
    assert_int_equal(rta_nonce_cache_purge(&c, 10100), 101);
    assert_int_equal(c.map.count, 2899);
    assert_int_equal(rta_nonce_cache_add(&c, "app.k", "nonce-2999", 20000, 10100, &err), 40105);
    /* when full again with some expired, adding purges and succeeds */
    assert_int_equal(rta_nonce_cache_add(&c, "app.k", "fresh", 20000, 10100, &err), 0);
    rta_nonce_cache_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_rules),
        cmocka_unit_test(test_incremental_and_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
