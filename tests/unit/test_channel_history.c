/* test_channel_history.c: the in-memory history window behind GET /channels/{name}/messages
 * (RSL2): stamping (ids, timestamps, connectionId), per-channel count and age limits, the
 * global byte budget evicting the least recently published channel first, app isolation,
 * direction, start/end, and cursor paging that neither skips nor repeats entries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/gateway/history.h"

static rta_message msg(const char *name, const char *data)
{
    rta_message m = {0};
    m.name = (char *)name;
    if (data) {
        m.data.type = RTA_DATA_STRING;
        m.data.ptr = (char *)data;
        m.data.len = strlen(data);
    }
    return m;
}

static void add(rta_history *h, const char *app, const char *ch, const char *name, int64_t now)
{
    rta_message m = msg(name, "payload");
    rta_history_stamp st = {"conn:1", "conn", now};
    assert_int_equal(rta_history_append(h, app, ch, &m, 1, &st, now), 0);
}

/* Names of a query's page, joined with ','. */
static size_t names(rta_history *h, const char *app, const char *ch, const rta_history_query *q,
                    int64_t now, char *out, size_t size, int *more, uint64_t *next)
{
    const rta_message *page[64];
    assert_true(q->limit <= 64);
    size_t n = rta_history_read(h, app, ch, q, now, page, more, next);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i) strncat(out, ",", size - strlen(out) - 1);
        strncat(out, page[i]->name, size - strlen(out) - 1);
    }
    return n;
}

static rta_history_query query(size_t limit, int forwards)
{
    rta_history_query q = {.start = 0, .end = INT64_MAX, .forwards = forwards, .limit = limit};
    return q;
}

static void test_stamping(void **state)
{
    (void)state;
    rta_history h;
    assert_int_equal(rta_history_init(&h, NULL), 0);
    rta_message in[2] = {msg("a", "x"), msg("b", NULL)};
    in[1].id = "client-id:7";
    in[1].timestamp = 42;
    in[1].connection_id = "forged"; /* always replaced by the publisher's */
    rta_history_stamp st = {"c1:5", "c1", 1000};
    assert_int_equal(rta_history_append(&h, "app", "ch", in, 2, &st, 1000), 0);
    rta_history_query q = query(10, 1);
    const rta_message *page[10];
    int more;
    uint64_t next;
    assert_int_equal(rta_history_read(&h, "app", "ch", &q, 1000, page, &more, &next), 2);
    assert_string_equal(page[0]->id, "c1:5:0");
    assert_int_equal(page[0]->timestamp, 1000);
    assert_string_equal(page[0]->connection_id, "c1");
    assert_string_equal(page[0]->data.ptr, "x");
    assert_string_equal(page[1]->id, "client-id:7");
    assert_int_equal(page[1]->timestamp, 42);
    assert_string_equal(page[1]->connection_id, "c1");
    assert_int_equal(page[1]->data.type, RTA_DATA_NONE);
    assert_int_equal(more, 0);
    /* REST publishes have no connectionId */
    rta_history_stamp rest = {"r:0", NULL, 1001};
    rta_message c = msg("c", "y");
    c.connection_id = "forged";
    assert_int_equal(rta_history_append(&h, "app", "ch", &c, 1, &rest, 1001), 0);
    q = query(1, 0);
    assert_int_equal(rta_history_read(&h, "app", "ch", &q, 1001, page, &more, &next), 1);
    assert_null(page[0]->connection_id);
    assert_int_equal(more, 1);
    rta_history_free(&h);
}

static void test_paging_both_directions(void **state)
{
    (void)state;
    rta_history h;
    rta_history_init(&h, NULL);
    char name[8];
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        add(&h, "app", "ch", name, 1000 + i);
    }
    add(&h, "app", "other", "x", 2000); /* interleaved channel: not in ch's pages */
    const char *want[2] = {"m6,m5,m4|m3,m2,m1|m0", "m0,m1,m2|m3,m4,m5|m6"};
    for (int fwd = 0; fwd < 2; fwd++) {
        rta_history_query q = query(3, fwd);
        char all[128] = "", page[64];
        int more;
        uint64_t next;
        for (int pages = 0;; pages++) {
            assert_true(pages < 5);
            names(&h, "app", "ch", &q, 2000, page, sizeof(page), &more, &next);
            if (all[0]) strcat(all, "|");
            strcat(all, page);
            if (!more) break;
            q.has_cursor = 1;
            q.cursor = next;
        }
        assert_string_equal(all, want[fwd]);
    }
    /* an entry added after the first page is not repeated and not skipped going backwards */
    rta_history_query q = query(3, 0);
    char page[64];
    int more;
    uint64_t next;
    names(&h, "app", "ch", &q, 2000, page, sizeof(page), &more, &next);
    add(&h, "app", "ch", "m7", 2001);
    q.has_cursor = 1;
    q.cursor = next;
    names(&h, "app", "ch", &q, 2001, page, sizeof(page), &more, &next);
    assert_string_equal(page, "m3,m2,m1");
    rta_history_free(&h);
}

static void test_start_end(void **state)
{
    (void)state;
    rta_history h;
    rta_history_init(&h, NULL);
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "t%d", i);
        add(&h, "app", "ch", name, 1000 + 10 * i); /* stamped timestamps 1000..1040 */
    }
    rta_history_query q = query(10, 1);
    q.start = 1010;
    q.end = 1030;
    char page[64];
    int more;
    uint64_t next;
    assert_int_equal(names(&h, "app", "ch", &q, 1040, page, sizeof(page), &more, &next), 3);
    assert_string_equal(page, "t1,t2,t3");
    q.limit = 2;
    names(&h, "app", "ch", &q, 1040, page, sizeof(page), &more, &next);
    assert_int_equal(more, 1); /* t3 is still in range */
    q.has_cursor = 1;
    q.cursor = next;
    names(&h, "app", "ch", &q, 1040, page, sizeof(page), &more, &next);
    assert_string_equal(page, "t3");
    assert_int_equal(more, 0); /* t4 is out of range: no empty next page */
    rta_history_free(&h);
}

static void test_limits_count_and_age(void **state)
{
    (void)state;
    rta_history_limits l = {.max_messages = 3, .max_age_ms = 1000, .max_bytes = 1 << 20};
    rta_history h;
    rta_history_init(&h, &l);
    for (int i = 0; i < 20; i++) { /* the ring wraps many times */
        char name[8];
        snprintf(name, sizeof(name), "n%d", i);
        add(&h, "app", "ch", name, 100 + i);
    }
    assert_int_equal(h.entries, 3);
    rta_history_query q = query(10, 1);
    char page[64];
    int more;
    uint64_t next;
    names(&h, "app", "ch", &q, 200, page, sizeof(page), &more, &next);
    assert_string_equal(page, "n17,n18,n19");
    /* age: at 1118 the entry of 118 is exactly max_age old and goes, 119 stays */
    names(&h, "app", "ch", &q, 1118, page, sizeof(page), &more, &next);
    assert_string_equal(page, "n19");
    add(&h, "app", "b", "b0", 1118);
    assert_int_equal(rta_history_sweep(&h, 5000), 2);
    assert_int_equal(h.entries, 0);
    assert_int_equal(h.bytes, 0);
    assert_int_equal(h.channels.count, 0); /* empty channels are freed */
    rta_history_free(&h);
}

static void test_byte_budget_and_apps(void **state)
{
    (void)state;
    rta_history probe;
    rta_history_init(&probe, NULL);
    add(&probe, "app", "ch", "a0", 1);
    size_t one = probe.bytes; /* what one such entry costs */
    rta_history_free(&probe);

    rta_history_limits l = {.max_messages = 100, .max_age_ms = 60000, .max_bytes = one * 4};
    rta_history h;
    rta_history_init(&h, &l);
    add(&h, "app", "old", "o0", 1);
    add(&h, "app", "old", "o1", 2);
    add(&h, "app", "new", "n0", 3);
    add(&h, "app", "new", "n1", 4);
    assert_int_equal(h.bytes, one * 4);
    add(&h, "app", "new", "n2", 5); /* over budget: "old" (least recently published) pays */
    add(&h, "app", "new", "n3", 6);
    assert_true(h.bytes <= l.max_bytes);
    rta_history_query q = query(10, 1);
    char page[64];
    int more;
    uint64_t next;
    assert_int_equal(names(&h, "app", "old", &q, 7, page, sizeof(page), &more, &next), 0);
    names(&h, "app", "new", &q, 7, page, sizeof(page), &more, &next);
    assert_string_equal(page, "n0,n1,n2,n3");
    add(&h, "app", "new", "n4", 8); /* alone: it evicts its own oldest */
    names(&h, "app", "new", &q, 8, page, sizeof(page), &more, &next);
    assert_string_equal(page, "n1,n2,n3,n4");
    /* another app's channel of the same name is another window */
    assert_int_equal(names(&h, "app2", "new", &q, 8, page, sizeof(page), &more, &next), 0);
    /* a message larger than the whole budget is not kept (and evicts nothing) */
    char *big = malloc(one * 8);
    memset(big, 'x', one * 8 - 1);
    big[one * 8 - 1] = '\0';
    rta_message m = msg("big", big);
    rta_history_stamp st = {"id", NULL, 9};
    assert_int_equal(rta_history_append(&h, "app", "big", &m, 1, &st, 9), 0);
    assert_int_equal(names(&h, "app", "big", &q, 9, page, sizeof(page), &more, &next), 0);
    assert_int_equal(h.entries, 4);
    free(big);
    rta_history_free(&h);
}

/* untilAttach (RTL10b): the position is the last sequence number handed out; a query bounded
 * by it sees what was there, not what came after; seq_of gives a read entry's number. */
static void test_until_position(void **state)
{
    (void)state;
    rta_history h;
    assert_int_equal(rta_history_init(&h, NULL), 0);
    assert_int_equal(rta_history_position(&h), 0);
    add(&h, "app", "ch", "a", 1000);
    add(&h, "app", "other", "x", 1000);
    add(&h, "app", "ch", "b", 1001);
    uint64_t at = rta_history_position(&h);
    assert_int_equal(at, 3);
    add(&h, "app", "ch", "c", 1002);
    rta_history_query q = query(10, 1);
    q.has_until = 1;
    q.until = at;
    char out[64];
    int more;
    uint64_t next;
    assert_int_equal(names(&h, "app", "ch", &q, 1003, out, sizeof(out), &more, &next), 2);
    assert_string_equal(out, "a,b");
    q.forwards = 0;
    assert_int_equal(names(&h, "app", "ch", &q, 1003, out, sizeof(out), &more, &next), 2);
    assert_string_equal(out, "b,a");
    q.until = 0; /* before everything */
    assert_int_equal(names(&h, "app", "ch", &q, 1003, out, sizeof(out), &more, &next), 0);
    rta_history_query all = query(10, 1);
    const rta_message *page[10];
    assert_int_equal(rta_history_read(&h, "app", "ch", &all, 1003, page, &more, &next), 3);
    assert_int_equal(rta_history_seq_of(page[0]), 1);
    assert_int_equal(rta_history_seq_of(page[1]), 3);
    assert_int_equal(rta_history_seq_of(page[2]), 4);
    rta_history_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stamping),
        cmocka_unit_test(test_paging_both_directions),
        cmocka_unit_test(test_start_end),
        cmocka_unit_test(test_limits_count_and_age),
        cmocka_unit_test(test_byte_budget_and_apps),
        cmocka_unit_test(test_until_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
