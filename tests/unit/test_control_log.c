/* test_control_log.c: the cluster control log's pure rules (store/control_log.h): doorbell
 * parsing, the revocation body round trip, and the cursor: in-order entries advance it,
 * duplicates do not, a gap or a head beyond it asks for the log, a head behind it or a log
 * whose entry at the cursor changed or vanished asks for a full reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/control_log.h"

static void test_doorbell(void **state)
{
    (void)state;
    rta_ctl_entry e;
    const char *m = "42 1700000000123456 rev {\"k\":\"a.b\",\"r\":[]}";
    assert_int_equal(rta_ctl_doorbell_parse(m, strlen(m), &e), 0);
    assert_int_equal(e.seq, 42);
    assert_string_equal(e.stamp, "1700000000123456");
    assert_string_equal(e.type, "rev");
    assert_int_equal(e.body_len, strlen("{\"k\":\"a.b\",\"r\":[]}"));
    assert_memory_equal(e.body, "{\"k\":\"a.b\",\"r\":[]}", e.body_len);
    /* no body */
    assert_int_equal(rta_ctl_doorbell_parse("7 99 ping", 9, &e), 0);
    assert_string_equal(e.type, "ping");
    assert_int_equal(e.body_len, 0);
    static const char *const bad[] = {"", "x 1 rev b", "0 1 rev b", "1", "1 2", "1 2 ", "1  rev",
                                      "1 2 averyveryverylongtype b", NULL};
    for (size_t i = 0; bad[i]; i++)
        assert_int_equal(rta_ctl_doorbell_parse(bad[i], strlen(bad[i]), &e), -1);
    /* a NUL or a control character in the stamp or the type (found by the fuzzer) */
    static const char nul_type[] = "12 0 rev\0x b", nul_stamp[] = "12 0\0 rev b", ctl[] = "12 0 r\tv b";
    assert_int_equal(rta_ctl_doorbell_parse(nul_type, sizeof(nul_type) - 1, &e), -1);
    assert_int_equal(rta_ctl_doorbell_parse(nul_stamp, sizeof(nul_stamp) - 1, &e), -1);
    assert_int_equal(rta_ctl_doorbell_parse(ctl, sizeof(ctl) - 1, &e), -1);
}

static void test_rev_body(void **state)
{
    (void)state;
    rta_revocation_record r[2] = {
        {"app.key", "clientId:bob \"the\" \xc3\xa9 builder", 1700000000001LL, 1700000000002LL,
         1700003600000LL},
        {"app.key", "token:abcdef", 5, 6, 7},
    };
    char *body;
    assert_int_equal(rta_ctl_rev_body_encode("app.key", r, 2, &body), 0);
    rta_ctl_rev_body b;
    assert_int_equal(rta_ctl_rev_body_decode(body, strlen(body), &b), 0);
    assert_string_equal(b.key_name, "app.key");
    assert_int_equal(b.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_string_equal(b.recs[i].key_name, "app.key");
        assert_string_equal(b.recs[i].target, r[i].target);
        assert_int_equal(b.recs[i].issued_before, r[i].issued_before);
        assert_int_equal(b.recs[i].applies_at, r[i].applies_at);
        assert_int_equal(b.recs[i].expires, r[i].expires);
    }
    rta_ctl_rev_body_free(&b);
    free(body);

    static const char *const bad[] = {
        "",
        "[]",
        "{\"k\":\"a.b\"}",
        "{\"k\":\"\",\"r\":[]}",
        "{\"k\":\"a.b\",\"r\":[[\"t\",1,2]]}",
        "{\"k\":\"a.b\",\"r\":[[\"t\",1,2,\"3\"]]}",
        "{\"k\":\"a.b\",\"r\":[[1,1,2,3]]}",
        "{\"k\":\"a.b\",\"r\":[[\"t\\u0000x\",1,2,3]]}",
        "{\"k\":\"a.b\",\"k\":\"c.d\",\"r\":[]}",
        NULL,
    };
    for (size_t i = 0; bad[i]; i++) assert_int_equal(rta_ctl_rev_body_decode(bad[i], strlen(bad[i]), &b), -1);
}

/* The encoder's compact form is read by the scanner, the rest by jansson, with the same
 * results (fuzz/fuzz_control_log.c tries far more inputs). */
static void test_rev_body_fast_path(void **state)
{
    (void)state;
    rta_revocation_record r[3] = {{"app.key", "token:AbC-_x", 1700000000001LL, 1700000000002LL, 1700003600000LL},
                                  {"app.key", "clientId:bob", -5, 0, 7},
                                  {"app.key", "revocationKey:k", 999999999999999999LL, 1, 2}};
    char *body;
    assert_int_equal(rta_ctl_rev_body_encode("app.key", r, 3, &body), 0);
    rta_ctl_rev_body fast, slow;
    assert_int_equal(rta__ctl_rev_body_decode_fast(body, strlen(body), &fast), 0);
    assert_int_equal(rta__ctl_rev_body_decode_json(body, strlen(body), &slow), 0);
    assert_int_equal(fast.n, 3);
    assert_int_equal(slow.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(fast.recs[i].target, r[i].target);
        assert_string_equal(slow.recs[i].target, r[i].target);
        assert_ptr_equal(fast.recs[i].key_name, fast.key_name);
        assert_int_equal(fast.recs[i].issued_before, r[i].issued_before);
        assert_int_equal(fast.recs[i].applies_at, r[i].applies_at);
        assert_int_equal(fast.recs[i].expires, r[i].expires);
    }
    rta_ctl_rev_body_free(&fast);
    rta_ctl_rev_body_free(&slow);
    free(body);

    /* declined by the scanner, decided by jansson */
    static const struct { const char *body; int ok; } cases[] = {
        {"{\"k\":\"a.b\",\"r\":[[\"clientId:b\\\"o\",1,2,3]]}", 1},  /* an escape */
        {"{\"k\":\"a.b\",\"r\":[[\"clientId:\xc3\xa9\",1,2,3]]}", 1}, /* non-ASCII */
        {"{ \"k\":\"a.b\",\"r\":[]}", 1},                            /* whitespace */
        {"{\"r\":[],\"k\":\"a.b\"}", 1},                             /* member order */
        {"{\"k\":\"a.b\",\"r\":[[\"t\",1234567890123456789,2,3]]}", 1}, /* 19 digits */
        {"{\"k\":\"a.b\",\"r\":[[\"t\",01,2,3]]}", 0},
        {"{\"k\":\"a.b\",\"r\":[[\"t\",1.0,2,3]]}", 0},
        {"{\"k\":\"a.b\",\"r\":[[\"t\",99999999999999999999,2,3]]}", 0},
        {"{\"k\":\"a.b\",\"r\":[[\"t\",1,2,3],]}", 0},
        {"{\"k\":\"a.b\",\"r\":[]} x", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *b = cases[i].body;
        assert_int_equal(rta__ctl_rev_body_decode_fast(b, strlen(b), &fast), -1);
        int rc = rta_ctl_rev_body_decode(b, strlen(b), &slow);
        assert_int_equal(rc, cases[i].ok ? 0 : -1);
        if (!rc) rta_ctl_rev_body_free(&slow);
    }

    /* at most RTA_CTL_REV_MAX records, on both paths */
    for (size_t n = RTA_CTL_REV_MAX; n <= RTA_CTL_REV_MAX + 1; n++) {
        rta_revocation_record *many = calloc(n, sizeof(*many));
        assert_non_null(many);
        for (size_t i = 0; i < n; i++) many[i] = (rta_revocation_record){"a.b", "token:t", 1, 2, 3};
        assert_int_equal(rta_ctl_rev_body_encode("a.b", many, n, &body), 0);
        int want = n <= RTA_CTL_REV_MAX ? 0 : -1;
        assert_int_equal(rta__ctl_rev_body_decode_fast(body, strlen(body), &fast), want);
        assert_int_equal(rta__ctl_rev_body_decode_json(body, strlen(body), &slow), want);
        if (!want) {
            assert_int_equal(fast.n, n);
            assert_string_equal(fast.recs[n - 1].target, "token:t");
            rta_ctl_rev_body_free(&fast);
            rta_ctl_rev_body_free(&slow);
        }
        free(body);
        free(many);
    }
}

static rta_ctl_entry entry(uint64_t seq, const char *stamp)
{
    rta_ctl_entry e;
    memset(&e, 0, sizeof(e));
    e.seq = seq;
    strcpy(e.stamp, stamp);
    strcpy(e.type, "rev");
    return e;
}

static void test_cursor(void **state)
{
    (void)state;
    rta_ctl_cursor c = {0, ""};
    rta_ctl_entry e1 = entry(1, "s1"), e2 = entry(2, "s2"), e4 = entry(4, "s4");
    assert_int_equal(rta_ctl_cursor_head(&c, 0, c.applied), RTA_CTL_HEAD_SYNCED);
    assert_int_equal(rta_ctl_cursor_doorbell(&c, &e1), RTA_CTL_NEXT);
    assert_int_equal(c.applied, 1);
    assert_string_equal(c.stamp, "s1");
    assert_int_equal(rta_ctl_cursor_doorbell(&c, &e1), RTA_CTL_SEEN); /* duplicate */
    assert_int_equal(rta_ctl_cursor_doorbell(&c, &e2), RTA_CTL_NEXT);
    /* 3 missed: a gap; the cursor stays until the log fills it */
    assert_int_equal(rta_ctl_cursor_doorbell(&c, &e4), RTA_CTL_GAP);
    assert_int_equal(c.applied, 2);
    assert_string_equal(c.stamp, "s2");
    assert_int_equal(rta_ctl_cursor_head(&c, 4, c.applied), RTA_CTL_HEAD_AHEAD);
    assert_int_equal(rta_ctl_cursor_head(&c, 2, c.applied), RTA_CTL_HEAD_SYNCED);
    assert_int_equal(rta_ctl_cursor_head(&c, 1, c.applied), RTA_CTL_HEAD_BEHIND); /* went back */
    /* The head was read at 1, and a doorbell moved the cursor to 2 before the reply came: a
     * stale head, not a log that went back (this took a full reload and a walk of every
     * connection under concurrent revocations, make bench-scale, issue 19). */
    assert_int_equal(rta_ctl_cursor_head(&c, 1, 1), RTA_CTL_HEAD_SYNCED);
    assert_int_equal(rta_ctl_cursor_head(&c, 0, 1), RTA_CTL_HEAD_BEHIND); /* below the read */

    /* catch-up starts at the cursor's own entry, which must be the one we applied */
    rta_ctl_entry same = entry(2, "s2"), other = entry(2, "zz"), later = entry(3, "s3");
    assert_true(rta_ctl_cursor_continues(&c, &same));
    assert_false(rta_ctl_cursor_continues(&c, &other)); /* replaced: a failover lost it */
    assert_false(rta_ctl_cursor_continues(&c, &later)); /* trimmed */
    assert_false(rta_ctl_cursor_continues(&c, NULL));   /* gone: an emptied Redis */
    rta_ctl_cursor_set(&c, 3, "s3");
    assert_int_equal(c.applied, 3);

    /* unknown stamp: continuity by sequence only */
    rta_ctl_cursor u = {5, ""};
    rta_ctl_entry e5 = entry(5, "anything");
    assert_true(rta_ctl_cursor_continues(&u, &e5));
    /* from the start: the log must begin at 1 (or be empty) */
    rta_ctl_cursor z = {0, ""};
    assert_true(rta_ctl_cursor_continues(&z, NULL));
    assert_true(rta_ctl_cursor_continues(&z, &e1));
    assert_false(rta_ctl_cursor_continues(&z, &e2));
    /* an over-long stamp is dropped, not truncated */
    rta_ctl_cursor_set(&z, 9, "0123456789012345678901234567890");
    assert_string_equal(z.stamp, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doorbell),
        cmocka_unit_test(test_rev_body),
        cmocka_unit_test(test_rev_body_fast_path),
        cmocka_unit_test(test_cursor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
