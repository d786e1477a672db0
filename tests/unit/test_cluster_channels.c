/* test_cluster_channels.c: the pure parts of channels across cluster nodes: the channel key
 * names and PUB/SUB message text (store/channel_keys.h), and the delivery order
 * (channel_order.h): once each, in serial order, gaps read, duplicates dropped, a new epoch
 * starting again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "server/channel_order.h"
#include "server/store/channel_keys.h"

static void test_keys(void **state)
{
    (void)state;
    char k[RTA_CK_MAX];
    assert_int_equal(rta_ck_key(k, sizeof(k), "app1", "chat", ""), strlen("rt:{c:app1:chat}"));
    assert_string_equal(k, "rt:{c:app1:chat}");
    assert_true(rta_ck_key(k, sizeof(k), "app1", "chat", ":log") > 0);
    assert_string_equal(k, "rt:{c:app1:chat}:log");
    assert_true(rta_ck_key(k, sizeof(k), "app1", "chat", ":i:abc:0") > 0);
    assert_string_equal(k, "rt:{c:app1:chat}:i:abc:0");
    /* braces and '%' in a name are escaped: the hash tag ends where the name ends */
    assert_true(rta_ck_key(k, sizeof(k), "a", "x}:m{%", ":m") > 0);
    assert_string_equal(k, "rt:{c:a:x%7D:m%7B%25}:m");
    /* so two different channels never share a key */
    char k2[RTA_CK_MAX];
    rta_ck_key(k, sizeof(k), "a", "x}:log", "");
    rta_ck_key(k2, sizeof(k2), "a", "x", ":log");
    assert_string_not_equal(k, k2);
    /* empty parts and small buffers */
    assert_int_equal(rta_ck_key(k, sizeof(k), "", "chat", ""), 0);
    assert_int_equal(rta_ck_key(k, sizeof(k), "a", "", ""), 0);
    assert_int_equal(rta_ck_key(k, 10, "app1", "chat", ""), 0);
    /* the longest name fits */
    char name[1025];
    memset(name, '}', 1024);
    name[1024] = '\0';
    assert_true(rta_ck_key(k, sizeof(k), "app1", name, ":i:") > 3 * 1024);
}

static void test_message_parse(void **state)
{
    (void)state;
    uint64_t s;
    char e[RTA_CK_EPOCH_MAX];
    const char *p;
    size_t n;
    const char m[] = "42:1701234567123456:\x81\xa1x:y";
    assert_int_equal(rta_ck_message_parse(m, sizeof(m) - 1, &s, e, &p, &n), 0);
    assert_int_equal(s, 42);
    assert_string_equal(e, "1701234567123456");
    assert_int_equal(n, 5); /* the payload may hold ':' and any byte */
    assert_memory_equal(p, "\x81\xa1x:y", 5);
    const char empty[] = "1:e:";
    assert_int_equal(rta_ck_message_parse(empty, 4, &s, e, &p, &n), 0);
    assert_int_equal(n, 0);
    const char *bad[] = {"",
                         ":e:x",
                         "0:e:x",
                         "x:e:x",
                         "1::x",
                         "1:e",
                         "1:e-1:x",
                         "99999999999999999999:e:x",
                         "1:0123456789012345678901234567890123:x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(rta_ck_message_parse(bad[i], strlen(bad[i]), &s, e, &p, &n), -1);
}

static void test_order_in_sequence(void **state)
{
    (void)state;
    rta_channel_order o;
    memset(&o, 0, sizeof(o));
    /* before the head is known, everything waits */
    assert_int_equal(rta_channel_order_heard(&o, 3, "E"), RTA_ORDER_WAIT);
    rta_channel_order_start(&o, 5, "E"); /* 3 is before this node's attach */
    assert_int_equal(o.want, 0);
    assert_int_equal(rta_channel_order_heard(&o, 3, "E"), RTA_ORDER_DUPLICATE);
    assert_int_equal(rta_channel_order_heard(&o, 6, "E"), RTA_ORDER_DELIVER);
    assert_int_equal(rta_channel_order_heard(&o, 6, "E"), RTA_ORDER_DUPLICATE);
    assert_int_equal(rta_channel_order_heard(&o, 7, "E"), RTA_ORDER_DELIVER);
    assert_int_equal(o.last, 7);
}

static void test_order_gap(void **state)
{
    (void)state;
    rta_channel_order o;
    memset(&o, 0, sizeof(o));
    rta_channel_order_start(&o, 0, "");
    assert_int_equal(rta_channel_order_heard(&o, 1, "E"), RTA_ORDER_DELIVER); /* first epoch */
    assert_int_equal(rta_channel_order_heard(&o, 4, "E"), RTA_ORDER_READ);    /* 2, 3 missed */
    assert_int_equal(rta_channel_order_read_begin(&o), 2);
    assert_int_equal(rta_channel_order_heard(&o, 5, "E"), RTA_ORDER_WAIT); /* read under way */
    assert_int_equal(rta_channel_order_read_epoch(&o, "E"), 0);
    uint64_t skipped, lost;
    for (uint64_t s = 2; s <= 4; s++) {
        assert_int_equal(rta_channel_order_read(&o, s, &skipped), RTA_ORDER_DELIVER);
        assert_int_equal(skipped, 0);
    }
    /* 5 was heard during the read and may not have been in it: read again */
    assert_int_equal(rta_channel_order_read_done(&o, 0, &lost), 1);
    assert_int_equal(lost, 0);
    assert_int_equal(rta_channel_order_read_begin(&o), 5);
    assert_int_equal(rta_channel_order_read(&o, 4, &skipped), RTA_ORDER_DUPLICATE);
    assert_int_equal(rta_channel_order_read(&o, 5, &skipped), RTA_ORDER_DELIVER);
    assert_int_equal(rta_channel_order_read_done(&o, 0, &lost), 0);
    assert_int_equal(o.reading, 0);
    assert_int_equal(rta_channel_order_heard(&o, 6, "E"), RTA_ORDER_DELIVER);
}

static void test_order_lost_and_trimmed(void **state)
{
    (void)state;
    rta_channel_order o;
    memset(&o, 0, sizeof(o));
    rta_channel_order_start(&o, 10, "E");
    assert_int_equal(rta_channel_order_heard(&o, 20, "E"), RTA_ORDER_READ);
    rta_channel_order_read_begin(&o);
    uint64_t skipped, lost;
    /* the stream was trimmed: it starts at 15 */
    assert_int_equal(rta_channel_order_read(&o, 15, &skipped), RTA_ORDER_DELIVER);
    assert_int_equal(skipped, 4);
    /* and ends at 18 (the rest expired): 19, 20 were heard before the read: gone */
    assert_int_equal(rta_channel_order_read(&o, 18, &skipped), RTA_ORDER_DELIVER);
    assert_int_equal(skipped, 2);
    assert_int_equal(rta_channel_order_read_done(&o, 0, &lost), 0);
    assert_int_equal(lost, 2);
    assert_int_equal(o.last, 20);
    assert_int_equal(rta_channel_order_heard(&o, 21, "E"), RTA_ORDER_DELIVER);
    /* a full page: read on, nothing given up */
    assert_int_equal(rta_channel_order_heard(&o, 30, "E"), RTA_ORDER_READ);
    rta_channel_order_read_begin(&o);
    assert_int_equal(rta_channel_order_read(&o, 22, &skipped), RTA_ORDER_DELIVER);
    assert_int_equal(rta_channel_order_read_done(&o, 1, &lost), 1);
    assert_int_equal(lost, 0);
    assert_int_equal(o.last, 22);
}

static void test_order_new_epoch(void **state)
{
    (void)state;
    rta_channel_order o;
    memset(&o, 0, sizeof(o));
    rta_channel_order_start(&o, 500, "OLD");
    /* Redis lost the channel: serials start again at 1 in a new epoch */
    assert_int_equal(rta_channel_order_heard(&o, 1, "NEW"), RTA_ORDER_DELIVER);
    assert_int_equal(o.last, 1);
    assert_string_equal(o.epoch, "NEW");
    /* a catch-up read that finds a new epoch starts over from 1 */
    rta_channel_order_start(&o, 7, "NEW");
    rta_channel_order_read_begin(&o);
    assert_int_equal(rta_channel_order_read_epoch(&o, "NEWER"), 1);
    assert_int_equal(o.last, 0);
    uint64_t skipped, lost;
    assert_int_equal(rta_channel_order_read(&o, 1, &skipped), RTA_ORDER_DELIVER);
    assert_int_equal(rta_channel_order_read_done(&o, 0, &lost), 0);
    assert_int_equal(lost, 0);
}

/* The shard of a channel (--redis-shard): fixed values (every node and every release must
 * place a channel alike: these come from an independent implementation of FNV-1a 64 and
 * the jump hash), only the hash tag counts, in range, spread, and growing the shard count
 * moves a channel only to the new shard. */
static void test_shard(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        uint32_t want[4]; /* for n = 2, 3, 5, 16 */
    } fixed[] = {
        {"rt:{c:app1:chat}:m", {0, 0, 3, 6}},
        {"rt:{c:app1:room-1}:m", {0, 0, 0, 6}},
        {"rt:{c:app1:room-2}:m", {1, 2, 3, 3}},
        {"rt:{c:app1:room-3}:m", {1, 2, 2, 5}},
        {"rt:{c:xVLyHw:%7Bx%7D}:m", {0, 0, 0, 14}},
        {"rt:{c:a:b}:m", {0, 0, 4, 13}},
    };
    static const uint32_t ns[4] = {2, 3, 5, 16};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        for (size_t k = 0; k < 4; k++)
            assert_int_equal(rta_ck_shard(fixed[i].key, strlen(fixed[i].key), ns[k]),
                             fixed[i].want[k]);
    /* every name of a channel lands alike: keys, the PUB/SUB channel, an idempotency marker */
    char a[RTA_CK_MAX], b[RTA_CK_MAX], c[RTA_CK_MAX];
    size_t la = rta_ck_key(a, sizeof(a), "app", "x{y}", "");
    size_t lb = rta_ck_key(b, sizeof(b), "app", "x{y}", ":log");
    size_t lc = rta_ck_key(c, sizeof(c), "app", "x{y}", ":i:u:{id}");
    for (uint32_t n = 1; n <= 16; n++) {
        assert_int_equal(rta_ck_shard(a, la, n), rta_ck_shard(b, lb, n));
        assert_int_equal(rta_ck_shard(a, la, n), rta_ck_shard(c, lc, n));
    }
    assert_int_equal(rta_ck_shard(a, la, 0), 0);
    assert_int_equal(rta_ck_shard(a, la, 1), 0);
    assert_int_equal(rta_ck_shard("no tag", 6, 4), 0);
    assert_int_equal(rta_ck_shard("rt:{open", 8, 4), 0);
    /* spread and minimal movement over 2000 channels */
    unsigned count[4] = {0};
    for (int i = 0; i < 2000; i++) {
        char name[32], k[RTA_CK_MAX];
        snprintf(name, sizeof(name), "ch-%d", i);
        size_t len = rta_ck_key(k, sizeof(k), "app", name, "");
        uint32_t s4 = rta_ck_shard(k, len, 4);
        assert_true(s4 < 4);
        count[s4]++;
        uint32_t s5 = rta_ck_shard(k, len, 5);
        assert_true(s5 == s4 || s5 == 4);
    }
    for (int i = 0; i < 4; i++) assert_true(count[i] > 400 && count[i] < 600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_shard),
        cmocka_unit_test(test_message_parse),
        cmocka_unit_test(test_order_in_sequence),
        cmocka_unit_test(test_order_gap),
        cmocka_unit_test(test_order_lost_and_trimmed),
        cmocka_unit_test(test_order_new_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
