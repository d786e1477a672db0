/* test_stats.c: server/stats.h (RSC6, TS12): interval starts and steps per unit in UTC
 * (month lengths, leap years, year ends), TS12a intervalIds, aggregation of minute rows
 * (sums add, peaks take the max), fold and merge of bucket lists, and the accumulator's
 * flush rules (sums sent once, peaks re-sent, a minute's end flushes at once, peaks carried
 * into the next minute), and GET /stats's query parameters (RSC6b). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/stats.h"

#define MIN 60000LL
/* 2024-02-29 13:45:30.250 UTC (a leap day) */
#define T 1709214330250LL

static void interval_starts(void **state)
{
    (void)state;
    assert_int_equal(rta_stats_interval_start(T, RTA_STATS_MINUTE), 1709214300000LL);
    assert_int_equal(rta_stats_interval_start(T, RTA_STATS_HOUR), 1709211600000LL);
    assert_int_equal(rta_stats_interval_start(T, RTA_STATS_DAY), 1709164800000LL);
    assert_int_equal(rta_stats_interval_start(T, RTA_STATS_MONTH), 1706745600000LL); /* 02-01 */
    /* steps: February 2024 has 29 days; December rolls into January */
    assert_int_equal(rta_stats_interval_next(1706745600000LL, RTA_STATS_MONTH), 1709251200000LL);
    assert_int_equal(rta_stats_interval_next(1733011200000LL, RTA_STATS_MONTH), /* 2024-12-01 */
                     1735689600000LL);                                          /* 2025-01-01 */
    assert_int_equal(rta_stats_interval_next(1709214300000LL, RTA_STATS_MINUTE), 1709214360000LL);
    assert_int_equal(rta_stats_interval_next(1709164800000LL, RTA_STATS_DAY), 1709251200000LL);
    assert_int_equal(rta_stats_interval_start(0, RTA_STATS_MONTH), 0);
    assert_int_equal(rta_stats_interval_start(-5, RTA_STATS_MINUTE), 0);
}

static void interval_ids(void **state)
{
    (void)state;
    char id[32];
    rta_stats_interval_id(rta_stats_interval_start(T, RTA_STATS_MINUTE), RTA_STATS_MINUTE, id,
                          sizeof(id));
    assert_string_equal(id, "2024-02-29:13:45");
    rta_stats_interval_id(rta_stats_interval_start(T, RTA_STATS_HOUR), RTA_STATS_HOUR, id,
                          sizeof(id));
    assert_string_equal(id, "2024-02-29:13");
    rta_stats_interval_id(rta_stats_interval_start(T, RTA_STATS_DAY), RTA_STATS_DAY, id,
                          sizeof(id));
    assert_string_equal(id, "2024-02-29:00");
    rta_stats_interval_id(rta_stats_interval_start(T, RTA_STATS_MONTH), RTA_STATS_MONTH, id,
                          sizeof(id));
    assert_string_equal(id, "2024-02-01:00");
    assert_int_equal(rta_stats_unit_parse("hour"), RTA_STATS_HOUR);
    assert_int_equal(rta_stats_unit_parse("week"), -1);
    assert_int_equal(rta_stats_unit_parse("Minute"), -1);
}

static rta_stats_row row(int64_t at, int64_t in, int64_t peak)
{
    rta_stats_row r;
    memset(&r, 0, sizeof(r));
    strcpy(r.app_id, "app");
    r.minute = at / MIN;
    r.v[RTA_SF_MSG_IN_REALTIME] = in;
    r.v[RTA_SF_CONN_PEAK] = peak;
    return r;
}

static void aggregation(void **state)
{
    (void)state;
    int64_t h = rta_stats_interval_start(T, RTA_STATS_HOUR);
    /* out of order, two rows for one minute, three hours */
    rta_stats_row rows[] = {row(h + 70 * MIN, 4, 2), row(h, 1, 5), row(h + 59 * MIN, 2, 9),
                            row(h, 10, 3), row(h + 130 * MIN, 7, 1)};
    rta_stats_bucket *b;
    long n = rta_stats_aggregate(rows, 5, RTA_STATS_MINUTE, &b);
    assert_int_equal(n, 4);
    assert_int_equal(b[0].start, h);
    assert_int_equal(b[0].v[RTA_SF_MSG_IN_REALTIME], 11); /* same minute: sums add */
    assert_int_equal(b[0].v[RTA_SF_CONN_PEAK], 5);        /* ... peaks take the max */
    free(b);
    n = rta_stats_aggregate(rows, 5, RTA_STATS_HOUR, &b);
    assert_int_equal(n, 3);
    assert_int_equal(b[0].v[RTA_SF_MSG_IN_REALTIME], 13);
    assert_int_equal(b[0].v[RTA_SF_CONN_PEAK], 9);
    assert_int_equal(b[1].start, h + 3600000LL);
    assert_int_equal(b[1].v[RTA_SF_MSG_IN_REALTIME], 4);
    assert_int_equal(b[2].start, h + 2 * 3600000LL);
    free(b);
    n = rta_stats_aggregate(rows, 5, RTA_STATS_DAY, &b);
    assert_int_equal(n, 1);
    assert_int_equal(b[0].v[RTA_SF_MSG_IN_REALTIME], 24);
    assert_int_equal(b[0].v[RTA_SF_CONN_PEAK], 9);
    free(b);
    assert_int_equal(rta_stats_aggregate(rows, 0, RTA_STATS_DAY, &b), 0);
    assert_null(b);
}

static void fold_and_merge(void **state)
{
    (void)state;
    int64_t h = rta_stats_interval_start(T, RTA_STATS_HOUR);
    rta_stats_bucket *a = NULL, *m = NULL;
    size_t n = 0, cap = 0;
    int64_t v[RTA_SF_COUNT] = {0};
    v[RTA_SF_MSG_OUT] = 2;
    v[RTA_SF_CHAN_PEAK] = 4;
    assert_int_equal(rta_stats_fold(&a, &n, &cap, h / MIN, v, RTA_STATS_HOUR), 0);
    v[RTA_SF_CHAN_PEAK] = 3;
    assert_int_equal(rta_stats_fold(&a, &n, &cap, h / MIN + 5, v, RTA_STATS_HOUR), 0);
    assert_int_equal(rta_stats_fold(&a, &n, &cap, h / MIN + 65, v, RTA_STATS_HOUR), 0);
    assert_int_equal(n, 2);
    assert_int_equal(a[0].v[RTA_SF_MSG_OUT], 4);
    assert_int_equal(a[0].v[RTA_SF_CHAN_PEAK], 4);
    rta_stats_bucket b[2];
    memset(b, 0, sizeof(b));
    b[0].start = h - 3600000LL;
    b[0].v[RTA_SF_MSG_OUT] = 1;
    b[1].start = h + 3600000LL;
    b[1].v[RTA_SF_MSG_OUT] = 5;
    b[1].v[RTA_SF_CHAN_PEAK] = 7;
    long k = rta_stats_merge(a, n, b, 2, &m);
    assert_int_equal(k, 3);
    assert_int_equal(m[0].start, h - 3600000LL);
    assert_int_equal(m[1].v[RTA_SF_MSG_OUT], 4);
    assert_int_equal(m[2].v[RTA_SF_MSG_OUT], 7);  /* 2 + 5 */
    assert_int_equal(m[2].v[RTA_SF_CHAN_PEAK], 7); /* max(3, 7) */
    free(a);
    free(m);
}

static int64_t field_of(const rta_stats_row *rows, size_t n, const char *app, int64_t minute,
                        rta_stats_field f)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].minute == minute && !strcmp(rows[i].app_id, app)) return rows[i].v[f];
    return -1;
}

static void accumulator(void **state)
{
    (void)state;
    rta_stats_init();
    int64_t m0 = rta_stats_interval_start(T, RTA_STATS_MINUTE);
    size_t n;
    rta_stats_connection("app", 1, m0 + 1000);
    rta_stats_connection("app", 1, m0 + 2000);
    rta_stats_connection("app", 0, m0 + 3000);
    rta_stats_message_in("app", 0, 3, 30, m0 + 4000);
    rta_stats_token_request("app", 401, m0 + 4000);
    rta_stats_token_request("app", 400, m0 + 4000);
    rta_stats_token_request("app", 200, m0 + 4000);
    rta_stats_api_request("app", 201, m0 + 4000);
    rta_stats_api_request("app", 403, m0 + 4000);
    rta_stats_row *r = rta_stats_take_flush(m0 + 5000, 0, &n); /* first flush: due */
    assert_non_null(r);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].v[RTA_SF_CONN_OPENED], 2);
    assert_int_equal(r[0].v[RTA_SF_CONN_PEAK], 2);
    assert_int_equal(r[0].v[RTA_SF_MSG_IN_REALTIME], 3);
    assert_int_equal(r[0].v[RTA_SF_MSG_IN_REALTIME_DATA], 30);
    assert_int_equal(r[0].v[RTA_SF_TOKEN_REFUSED], 1);
    assert_int_equal(r[0].v[RTA_SF_TOKEN_FAILED], 1);
    assert_int_equal(r[0].v[RTA_SF_TOKEN_OK], 1);
    assert_int_equal(r[0].v[RTA_SF_API_OK], 1);
    assert_int_equal(r[0].v[RTA_SF_API_REFUSED], 1);
    free(r);
    /* nothing new and not due: nothing; the pending view is empty of sums */
    rta_stats_message_in("app", 1, 1, 5, m0 + 6000);
    assert_null(rta_stats_take_flush(m0 + 7000, 0, &n));
    rta_stats_row *p = rta_stats_pending("app", &n);
    assert_int_equal(n, 1);
    assert_int_equal(p[0].v[RTA_SF_MSG_IN_REST], 1);
    assert_int_equal(p[0].v[RTA_SF_CONN_OPENED], 0); /* already handed to the store */
    assert_int_equal(p[0].v[RTA_SF_CONN_PEAK], 2);
    free(p);
    /* the minute ends: flushed at once; the next minute starts with the live connection as
     * its peak, even without an event */
    r = rta_stats_take_flush(m0 + MIN + 100, 0, &n);
    assert_non_null(r);
    assert_int_equal(field_of(r, n, "app", m0 / MIN, RTA_SF_MSG_IN_REST), 1);
    assert_int_equal(field_of(r, n, "app", m0 / MIN + 1, RTA_SF_CONN_PEAK), 1);
    assert_int_equal(field_of(r, n, "app", m0 / MIN + 1, RTA_SF_CONN_OPENED), 0);
    free(r);
    /* an app never seen again, with nothing live, produces no rows */
    rta_stats_connection("app", 0, m0 + MIN + 200);
    rta_stats_channel("other:chan", 5, 1, m0 + MIN + 300); /* app id given with its length */
    r = rta_stats_take_flush(m0 + 3 * MIN, 1, &n);
    assert_non_null(r);
    assert_int_equal(field_of(r, n, "other", m0 / MIN + 1, RTA_SF_CHAN_OPENED), 1);
    /* the current minute (flushed every second by housekeeping, so no minute is skipped) */
    assert_int_equal(field_of(r, n, "other", m0 / MIN + 3, RTA_SF_CHAN_PEAK), 1); /* still on */
    assert_int_equal(field_of(r, n, "app", m0 / MIN + 3, RTA_SF_CONN_PEAK), -1); /* no row */
    free(r);
    rta_stats_free();
}

static void stats_object(void **state)
{
    (void)state;
    rta_stats_bucket b;
    memset(&b, 0, sizeof(b));
    b.start = rta_stats_interval_start(T, RTA_STATS_HOUR);
    b.v[RTA_SF_MSG_IN_REST] = 2;
    b.v[RTA_SF_MSG_OUT] = 3;
    b.v[RTA_SF_CONN_PEAK] = 4;
    b.v[RTA_SF_TOKEN_OK] = 2;
    b.v[RTA_SF_API_OK] = 5;
    rta_buf out = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_JSON, &out);
    rta_stats_write(&w, &b, RTA_STATS_HOUR, "app", NULL);
    assert_false(out.oom);
    assert_non_null(strstr(out.data, "\"intervalId\":\"2024-02-29:13\""));
    assert_non_null(strstr(out.data, "\"unit\":\"hour\""));
    assert_non_null(strstr(out.data, "\"messages.all.all.count\":5"));
    assert_non_null(strstr(out.data, "\"messages.inbound.rest.messages.count\":2"));
    assert_non_null(strstr(out.data, "\"connections.all.peak\":4"));
    assert_non_null(strstr(out.data, "\"apiRequests.all.succeeded\":7")); /* tokens + others */
    assert_non_null(strstr(out.data, "\"apiRequests.tokenRequests.succeeded\":2"));
    assert_null(strstr(out.data, "inProgress"));
    assert_null(strstr(out.data, "channels.peak")); /* sparse: zeros are left out */
    rta_buf_free(&out);
}

/* A getter over a fixed list of name=value pairs. */
static const char *const *pairs;
static const char *get(void *ctx, const char *name_eq)
{
    (void)ctx;
    for (size_t i = 0; pairs[i]; i += 2)
        if (!strcmp(pairs[i], name_eq)) return pairs[i + 1];
    return NULL;
}

static void query_params(void **state)
{
    (void)state;
    rta_stats_params q;
    rta_error err;
    const char *none[] = {NULL};
    pairs = none;
    assert_int_equal(rta_stats_params_parse(get, NULL, T, &q, &err), 0);
    assert_int_equal(q.limit, 100);
    assert_int_equal(q.unit, RTA_STATS_MINUTE);
    assert_false(q.forwards);
    assert_int_equal(q.start, 0);
    assert_int_equal(q.end, T);
    assert_int_equal(q.last_interval, 1709214300000LL);
    const char *ok[] = {"limit=", "1000", "unit=", "month", "direction=", "forwards",
                        "start=", "1709214330250", "cursor=", "1711929600000", NULL};
    pairs = ok;
    assert_int_equal(rta_stats_params_parse(get, NULL, 1712000000000LL, &q, &err), 0);
    assert_int_equal(q.limit, 1000);
    assert_true(q.forwards);
    assert_int_equal(q.first_interval, 1711929600000LL); /* forwards: from the cursor (04-01) */
    const char *bad[][2] = {{"limit=", "0"},      {"limit=", "1001"},  {"limit=", "+5"},
                            {"unit=", "week"},    {"direction=", "up"}, {"start=", "-1"},
                            {"end=", "1e3"},      {"start=", ""},      {"cursor=", "x"},
                            {"end=", "253402300800000"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *one[] = {bad[i][0], bad[i][1], NULL};
        pairs = one;
        assert_int_equal(rta_stats_params_parse(get, NULL, T, &q, &err), 40003);
    }
    const char *reversed[] = {"start=", "2000", "end=", "1000", NULL};
    pairs = reversed;
    assert_int_equal(rta_stats_params_parse(get, NULL, T, &q, &err), 40003);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interval_starts), cmocka_unit_test(interval_ids),
        cmocka_unit_test(aggregation),     cmocka_unit_test(fold_and_merge),
        cmocka_unit_test(accumulator),     cmocka_unit_test(stats_object),
        cmocka_unit_test(query_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
