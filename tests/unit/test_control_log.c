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
        cmocka_unit_test(test_cursor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
