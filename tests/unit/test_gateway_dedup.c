/* test_gateway_dedup.c: the idempotent-publish window (RSL1k, RTL6a1): a repeated id is a
 * duplicate within the window and new after it; ids are per app and per channel; the
 * per-channel and global bounds forget the oldest ids first; over-long ids are never
 * remembered; the lists stay consistent through drops (the sanitizer build checks frees). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "server/gateway/dedup.h"

static void window_rsl1k(void **state)
{
    (void)state;
    rta_dedup d;
    assert_int_equal(rta_dedup_init(&d, NULL), 0);
    assert_int_equal(d.limits.window_ms, 120000);
    assert_int_equal(rta_dedup_check(&d, "app", "ch", "abc:0", 1000), 0);
    assert_int_equal(rta_dedup_check(&d, "app", "ch", "abc:0", 1001), 1);
    assert_int_equal(rta_dedup_check(&d, "app", "ch", "abc:0", 120999), 1);
    assert_int_equal(rta_dedup_check(&d, "app", "ch", "abc:1", 2000), 0);
    /* the window counts from the first publish, not the last duplicate */
    assert_int_equal(rta_dedup_check(&d, "app", "ch", "abc:0", 121000), 0);
    assert_int_equal(d.count, 2);
    assert_int_equal(rta_dedup_sweep(&d, 122000), 1); /* abc:1 at 2000 */
    assert_int_equal(d.count, 1);
    rta_dedup_free(&d);
}

static void keyed_by_app_and_channel(void **state)
{
    (void)state;
    rta_dedup d;
    assert_int_equal(rta_dedup_init(&d, NULL), 0);
    assert_int_equal(rta_dedup_check(&d, "a1", "ch", "x", 1), 0);
    assert_int_equal(rta_dedup_check(&d, "a2", "ch", "x", 1), 0);
    assert_int_equal(rta_dedup_check(&d, "a1", "ch2", "x", 1), 0);
    /* no ambiguity from the separators: ("a1","ch\0x") cannot be written, "a1:ch" is a name */
    assert_int_equal(rta_dedup_check(&d, "a1", "ch:x", "", 1), 0); /* empty id: not kept */
    assert_int_equal(rta_dedup_check(&d, "a1", "ch", "x", 2), 1);
    assert_int_equal(rta_dedup_check(&d, "a2", "ch", "x", 2), 1);
    assert_int_equal(d.count, 3);
    rta_dedup_free(&d);
}

static void per_channel_bound(void **state)
{
    (void)state;
    rta_dedup_limits l = {
        .window_ms = 60000, .max_per_channel = 3, .max_total = 100, .max_id_len = 16};
    rta_dedup d;
    assert_int_equal(rta_dedup_init(&d, &l), 0);
    char id[16];
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof(id), "m:%d", i);
        assert_int_equal(rta_dedup_check(&d, "app", "busy", id, 10 + i), 0);
    }
    assert_int_equal(rta_dedup_check(&d, "app", "quiet", "m:0", 10), 0);
    assert_int_equal(d.count, 4); /* busy keeps its 3 newest */
    assert_int_equal(rta_dedup_check(&d, "app", "busy", "m:4", 20), 1);
    assert_int_equal(rta_dedup_check(&d, "app", "busy", "m:2", 20), 1);
    assert_int_equal(rta_dedup_check(&d, "app", "quiet", "m:0", 20), 1);
    /* m:0 of busy was forgotten: new again (and that pushes out m:2) */
    assert_int_equal(rta_dedup_check(&d, "app", "busy", "m:0", 21), 0);
    assert_int_equal(rta_dedup_check(&d, "app", "busy", "m:2", 22), 0);
    rta_dedup_free(&d);
}

static void global_bound_and_long_ids(void **state)
{
    (void)state;
    rta_dedup_limits l = {
        .window_ms = 60000, .max_per_channel = 100, .max_total = 4, .max_id_len = 8};
    rta_dedup d;
    assert_int_equal(rta_dedup_init(&d, &l), 0);
    char ch[16];
    for (int i = 0; i < 6; i++) {
        snprintf(ch, sizeof(ch), "c%d", i);
        assert_int_equal(rta_dedup_check(&d, "app", ch, "id", 100 + i), 0);
    }
    assert_int_equal(d.count, 4);
    assert_int_equal(rta_dedup_check(&d, "app", "c0", "id", 200), 0); /* forgotten */
    assert_int_equal(rta_dedup_check(&d, "app", "c5", "id", 200), 1);
    /* longer than max_id_len: always new, never kept */
    assert_int_equal(rta_dedup_check(&d, "app", "c5", "123456789", 200), 0);
    assert_int_equal(rta_dedup_check(&d, "app", "c5", "123456789", 201), 0);
    assert_int_equal(d.count, 4);
    /* everything expires; channel records go with their last id */
    assert_int_equal(rta_dedup_sweep(&d, 100000), 4);
    assert_int_equal(d.count, 0);
    assert_int_equal(d.channels.count, 0);
    assert_null(d.oldest);
    rta_dedup_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_rsl1k),
        cmocka_unit_test(keyed_by_app_and_channel),
        cmocka_unit_test(per_channel_bound),
        cmocka_unit_test(global_bound_and_long_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
