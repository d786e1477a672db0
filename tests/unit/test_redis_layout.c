/* test_redis_layout.c: the pure parts of cluster mode's Redis store: the --redis URL and
 * Sentinel list parsers (store/redis_url.h), the key layout and value formats
 * (store/redis_keys.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "server/store/redis_keys.h"
#include "server/store/redis_url.h"

static void test_url(void **state)
{
    (void)state;
    rta_redis_target t;
    rta_error err;
    memset(&t, 0, sizeof(t));
    assert_int_equal(rta_redis_url_parse("redis://127.0.0.1:6380", 0, &t, &err), 0);
    assert_string_equal(t.addr.host, "127.0.0.1");
    assert_int_equal(t.addr.port, 6380);
    assert_string_equal(t.user, "");
    assert_string_equal(t.password, "");
    assert_int_equal(t.db, 0);

    assert_int_equal(rta_redis_url_parse("redis://app:p%40ss%2Fw@redis.internal:6379/3", 0, &t,
                                         &err),
                     0);
    assert_string_equal(t.user, "app");
    assert_string_equal(t.password, "p@ss/w");
    assert_string_equal(t.addr.host, "redis.internal");
    assert_int_equal(t.db, 3);

    /* a password alone, either spelling; the default port */
    assert_int_equal(rta_redis_url_parse("redis://:secret@h", 0, &t, &err), 0);
    assert_string_equal(t.user, "");
    assert_string_equal(t.password, "secret");
    assert_int_equal(t.addr.port, 6379);
    assert_int_equal(rta_redis_url_parse("redis://secret@h:1/", 0, &t, &err), 0);
    assert_string_equal(t.password, "secret");
    assert_string_equal(t.user, "");
    assert_int_equal(t.db, 0);

    assert_int_equal(rta_redis_url_parse("redis://[::1]:7000/2", 0, &t, &err), 0);
    assert_string_equal(t.addr.host, "::1");
    assert_int_equal(t.addr.port, 7000);
    char shown[64];
    rta_redis_addr_format(&t.addr, shown, sizeof(shown));
    assert_string_equal(shown, "[::1]:7000");

    /* an empty host only for a Sentinel-managed primary */
    assert_int_equal(rta_redis_url_parse("redis://:pw@/5", 0, &t, &err), 40003);
    assert_int_equal(rta_redis_url_parse("redis://:pw@/5", 1, &t, &err), 0);
    assert_string_equal(t.addr.host, "");
    assert_int_equal(t.db, 5);

    static const char *const bad[] = {
        "http://h:1",     "redis://h:0",      "redis://h:65536", "redis://h:12x",
        "redis://h:1/x",  "redis://h:1/-1",   "redis://h:1/1024", "redis://::1:6379",
        "redis://h:",     "redis://u:%zz@h",  "redis://u:%4@h",  "redis://u:%00@h",
        "rediss://h:1",   "redis://",         NULL,
    };
    for (size_t i = 0; bad[i]; i++) {
        assert_int_equal(rta_redis_url_parse(bad[i], 0, &t, &err), 40003);
        assert_null(strstr(err.message, "%zz"));
    }
    /* never the password in a message */
    assert_int_equal(rta_redis_url_parse("redis://u:hunter2@h:99999", 0, &t, &err), 40003);
    assert_null(strstr(err.message, "hunter2"));
    assert_string_equal(t.password, ""); /* wiped on failure */
}

static void test_sentinels(void **state)
{
    (void)state;
    rta_redis_target t;
    rta_error err;
    memset(&t, 0, sizeof(t));
    assert_int_equal(rta_redis_sentinels_parse("10.0.0.1:26379, 10.0.0.2,[::1]:5000", &t, &err),
                     0);
    assert_int_equal(t.sentinel_count, 3);
    assert_string_equal(t.sentinels[1].host, "10.0.0.2");
    assert_int_equal(t.sentinels[1].port, 26379);
    assert_string_equal(t.sentinels[2].host, "::1");
    assert_int_equal(t.sentinels[2].port, 5000);
    assert_int_equal(rta_redis_sentinels_parse("", &t, &err), 40003);
    assert_int_equal(rta_redis_sentinels_parse("a:1,,b:2", &t, &err), 40003);
    assert_int_equal(rta_redis_sentinels_parse("a:1,b:x", &t, &err), 40003);
    assert_int_equal(rta_redis_sentinels_parse("a,b,c,d,e,f,g,h,i", &t, &err), 40003);
}

static void test_keys(void **state)
{
    (void)state;
    char k[RTA_RK_MAX];
    assert_int_equal(rta_rk_app(k, sizeof(k), "app1"), strlen("rt:{g}:app:app1"));
    assert_string_equal(k, "rt:{g}:app:app1");
    rta_rk_app_keys(k, sizeof(k), "app1");
    assert_string_equal(k, "rt:{g}:app:app1:keys");
    rta_rk_key(k, sizeof(k), "app1.k1");
    assert_string_equal(k, "rt:{g}:key:app1.k1");
    rta_rk_rev(k, sizeof(k), "app1");
    assert_string_equal(k, "rt:{g}:rev:app1");
    rta_rk_node_channel(k, sizeof(k), "n1");
    assert_string_equal(k, "rt:{g}:node:n1");
    assert_int_equal(rta_rk_app(k, sizeof(k), ""), 0);
    assert_int_equal(rta_rk_app(k, 8, "app1"), 0); /* does not fit */

    /* nonce markers: per key, hashed, bounded whatever the nonce's length */
    char a[RTA_RK_MAX], b[RTA_RK_MAX], c[RTA_RK_MAX];
    char long_nonce[5000];
    memset(long_nonce, 'x', sizeof(long_nonce) - 1);
    long_nonce[sizeof(long_nonce) - 1] = '\0';
    assert_int_equal(rta_rk_nonce(a, sizeof(a), "app1.k1", "nonce-1234567890"),
                     strlen("rt:n:app1.k1:") + 32);
    assert_non_null(strstr(a, "rt:n:app1.k1:"));
    assert_null(strstr(a, "nonce"));
    rta_rk_nonce(b, sizeof(b), "app1.k2", "nonce-1234567890");
    rta_rk_nonce(c, sizeof(c), "app1.k1", long_nonce);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(c), strlen(a));
    /* SHA-256("abc") starts ba7816bf8f01cfea414140de5dae2223 */
    rta_rk_nonce(a, sizeof(a), "x.y", "abc");
    assert_string_equal(a, "rt:n:x.y:ba7816bf8f01cfea414140de5dae2223");

    assert_true(rta_rk_node_id_ok("node-1.eu_west"));
    assert_false(rta_rk_node_id_ok(""));
    assert_false(rta_rk_node_id_ok("a b"));
    assert_false(rta_rk_node_id_ok("a:b"));
}

static void test_rev_field(void **state)
{
    (void)state;
    char f[512], key[64];
    const char *target;
    size_t tl;
    int64_t ib;
    /* the target may hold spaces and colons: it is last */
    size_t n = rta_rk_rev_field(f, sizeof(f), "app1.k1", 1700000000123LL, "clientId:bob smith");
    assert_string_equal(f, "app1.k1 1700000000123 clientId:bob smith");
    assert_int_equal(rta_rk_rev_field_parse(f, n, key, sizeof(key), &ib, &target, &tl), 0);
    assert_string_equal(key, "app1.k1");
    assert_int_equal(ib, 1700000000123LL);
    assert_int_equal(tl, strlen("clientId:bob smith"));
    assert_memory_equal(target, "clientId:bob smith", tl);
    assert_int_equal(rta_rk_rev_field_parse("app1.k1 12x t", 13, key, sizeof(key), &ib, &target,
                                            &tl),
                     -1);
    assert_int_equal(rta_rk_rev_field_parse("app1.k1 12 ", 11, key, sizeof(key), &ib, &target,
                                            &tl),
                     -1);
    assert_int_equal(rta_rk_rev_field_parse("nospace", 7, key, sizeof(key), &ib, &target, &tl),
                     -1);
    assert_int_equal(rta_rk_rev_field(f, sizeof(f), "bad key", 1, "t"), 0);

    int64_t aa, ex;
    assert_int_equal(rta_rk_rev_value_parse("100 200", 7, &aa, &ex), 0);
    assert_int_equal(aa, 100);
    assert_int_equal(ex, 200);
    assert_int_equal(rta_rk_rev_value_parse("100200", 6, &aa, &ex), -1);
    assert_int_equal(rta_rk_rev_value_parse("1 2 3", 5, &aa, &ex), -1);

    rta_rk_epoch e;
    const char *v = "a1b2c3:1700000000000:1";
    assert_int_equal(rta_rk_epoch_parse(v, strlen(v), &e), 0);
    assert_string_equal(e.id, "a1b2c3");
    assert_int_equal(e.birth, 1700000000000LL);
    assert_int_equal(e.loss, 1);
    assert_int_equal(rta_rk_epoch_parse("x:1:2", 5, &e), -1);
    assert_int_equal(rta_rk_epoch_parse(":1:0", 4, &e), -1);
    assert_int_equal(rta_rk_epoch_parse("x:1", 3, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),
        cmocka_unit_test(test_sentinels),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_rev_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
