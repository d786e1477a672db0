/* test_console_guard.c: the operator console's guard (server/console/guard.h, issue 18): the
 * password check, the failed-login rate limiter (per address and global token buckets) and
 * the session table's expiry (idle and absolute) and bound, with the clock driven by hand;
 * and the password file's rules (owner-only, length). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/console/guard.h"

#define PW "correct horse battery staple"

static rta_console_guard *new_guard(void)
{
    rta_console_guard *g = malloc(sizeof(*g));
    rta_error err;
    assert_non_null(g);
    assert_int_equal(rta_console_guard_init(g, PW, strlen(PW), &err), 0);
    return g;
}

static void free_guard(rta_console_guard *g)
{
    rta_console_guard_clear(g);
    free(g);
}

static void test_password(void **state)
{
    (void)state;
    rta_console_guard *g = new_guard();
    assert_true(rta_console_password_ok(g, PW, strlen(PW)));
    assert_false(rta_console_password_ok(g, PW, strlen(PW) - 1)); /* a prefix */
    assert_false(rta_console_password_ok(g, PW "x", strlen(PW) + 1));
    assert_false(rta_console_password_ok(g, "", 0));
    assert_false(rta_console_password_ok(g, "Correct horse battery staple", strlen(PW)));
    /* the password itself is not kept */
    assert_null(memmem(g, sizeof(*g), PW, strlen(PW)));
    free_guard(g);
}

/* Failed logins: RTA_CONSOLE_PEER_BURST from one address, then it waits about
 * RTA_CONSOLE_PEER_REFILL_MS for the next; another address is not affected. */
static void test_login_limiter_per_address(void **state)
{
    (void)state;
    rta_console_guard *g = new_guard();
    int64_t now = 1000000;
    for (int i = 0; i < RTA_CONSOLE_PEER_BURST; i++) {
        assert_int_equal(rta_console_login_wait(g, "10.0.0.1", now), 0);
        rta_console_login_failed(g, "10.0.0.1", now);
    }
    int64_t wait = rta_console_login_wait(g, "10.0.0.1", now);
    assert_true(wait > 0 && wait <= RTA_CONSOLE_PEER_REFILL_MS + 1);
    assert_int_equal(rta_console_login_wait(g, "10.0.0.2", now), 0);
    /* still refused just before the refill, allowed after it, for one more attempt */
    assert_true(rta_console_login_wait(g, "10.0.0.1", now + wait - 2) > 0);
    assert_int_equal(rta_console_login_wait(g, "10.0.0.1", now + wait), 0);
    rta_console_login_failed(g, "10.0.0.1", now + wait);
    assert_true(rta_console_login_wait(g, "10.0.0.1", now + wait) > 0);
    free_guard(g);
}

/* Failed logins from many addresses spend the global bucket: after
 * RTA_CONSOLE_GLOBAL_BURST, a fresh address is refused too. */
static void test_login_limiter_global(void **state)
{
    (void)state;
    rta_console_guard *g = new_guard();
    int64_t now = 5000000;
    char addr[32];
    for (int i = 0; i < RTA_CONSOLE_GLOBAL_BURST; i++) {
        snprintf(addr, sizeof(addr), "10.1.0.%d", i);
        assert_int_equal(rta_console_login_wait(g, addr, now), 0);
        rta_console_login_failed(g, addr, now);
    }
    int64_t wait = rta_console_login_wait(g, "192.168.9.9", now);
    assert_true(wait > 0 && wait <= RTA_CONSOLE_GLOBAL_REFILL_MS + 1);
    int64_t later = now + RTA_CONSOLE_GLOBAL_REFILL_MS;
    assert_int_equal(rta_console_login_wait(g, "192.168.9.9", later), 0);
    free_guard(g);
}

/* More addresses than the table tracks: the stalest are forgotten, nothing overflows. */
static void test_login_limiter_many_addresses(void **state)
{
    (void)state;
    rta_console_guard *g = new_guard();
    char addr[32];
    for (int i = 0; i < RTA_CONSOLE_PEERS * 3; i++) {
        snprintf(addr, sizeof(addr), "10.2.%d.%d", i / 256, i % 256);
        rta_console_login_failed(g, addr, 1000000 + (int64_t)i * 100000); /* global refills */
    }
    free_guard(g);
}

/* Sessions: found by id until idle for idle_ms or alive for absolute_ms; logout ends one. */
static void test_session_expiry(void **state)
{
    (void)state;
    rta_console_guard *g = new_guard();
    g->idle_ms = 1000;
    g->absolute_ms = 5000;
    int64_t t = 100000;
    const rta_console_session *s = rta_console_session_new(g, t);
    assert_non_null(s);
    char id[RTA_CONSOLE_ID_CHARS + 1], csrf[RTA_CONSOLE_ID_CHARS + 1];
    strcpy(id, s->id);
    strcpy(csrf, s->csrf);
    assert_int_equal(strlen(id), RTA_CONSOLE_ID_CHARS);
    assert_string_not_equal(id, csrf);
    /* used every 900 ms: alive past the idle timeout, until the absolute one */
    for (int64_t at = t + 900; at < t + 5000; at += 900) {
        s = rta_console_session_find(g, id, at);
        assert_non_null(s);
        assert_true(rta_console_csrf_ok(s, csrf));
        assert_false(rta_console_csrf_ok(s, id));
        assert_false(rta_console_csrf_ok(s, ""));
        assert_false(rta_console_csrf_ok(s, NULL));
    }
    assert_null(rta_console_session_find(g, id, t + 5000));
    assert_int_equal(rta_console_session_count(g, t + 5000), 0);
    /* idle */
    s = rta_console_session_new(g, t);
    strcpy(id, s->id);
    assert_non_null(rta_console_session_find(g, id, t + 999));
    assert_null(rta_console_session_find(g, id, t + 999 + 1000));
    /* logout; a wrong or malformed id finds nothing */
    s = rta_console_session_new(g, t);
    strcpy(id, s->id);
    id[0] = id[0] == 'a' ? 'b' : 'a';
    assert_null(rta_console_session_find(g, id, t));
    assert_null(rta_console_session_find(g, "short", t));
    assert_null(rta_console_session_find(g, NULL, t));
    id[0] = s->id[0];
    rta_console_session_end(g, id);
    assert_null(rta_console_session_find(g, id, t));
    free_guard(g);
}

/* The table is bounded: a login beyond it ends the least recently used session. */
static void test_session_bound(void **state)
{
    (void)state;
    rta_console_guard *g = new_guard();
    char ids[RTA_CONSOLE_SESSIONS_MAX][RTA_CONSOLE_ID_CHARS + 1];
    for (int i = 0; i < RTA_CONSOLE_SESSIONS_MAX; i++)
        strcpy(ids[i], rta_console_session_new(g, 1000 + i)->id);
    assert_non_null(rta_console_session_find(g, ids[0], 2000)); /* 0 is now the most recent */
    assert_int_equal(rta_console_session_count(g, 2000), RTA_CONSOLE_SESSIONS_MAX);
    const rta_console_session *s = rta_console_session_new(g, 2001);
    assert_non_null(s);
    assert_int_equal(rta_console_session_count(g, 2001), RTA_CONSOLE_SESSIONS_MAX);
    assert_non_null(rta_console_session_find(g, ids[0], 2002));
    assert_null(rta_console_session_find(g, ids[1], 2002)); /* the least recently used */
    assert_non_null(rta_console_session_find(g, ids[2], 2002));
    free_guard(g);
}

static void write_file(const char *path, const char *content, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

/* The password file: owner-only (as the KEK file), one line of 12..1024 bytes. */
static void test_password_file(void **state)
{
    (void)state;
    char path[64], pw[RTA_CONSOLE_PASSWORD_MAX + 1];
    rta_error err;
    snprintf(path, sizeof(path), "/tmp/rtauth-console-pw-%d", (int)getpid());
    write_file(path, PW "\n", 0600);
    assert_int_equal(rta_console_password_read(path, pw, sizeof(pw), &err), 0);
    assert_string_equal(pw, PW);
    write_file(path, PW "\n", 0640);
    assert_int_equal(rta_console_password_read(path, pw, sizeof(pw), &err), 40003);
    assert_non_null(strstr(err.message, "owner-only"));
    assert_null(strstr(err.message, PW)); /* never the content */
    write_file(path, "short\n", 0600);
    assert_int_equal(rta_console_password_read(path, pw, sizeof(pw), &err), 40003);
    write_file(path, "two\nlines of a password\n", 0600);
    assert_int_equal(rta_console_password_read(path, pw, sizeof(pw), &err), 40003);
    unlink(path);
    assert_int_equal(rta_console_password_read(path, pw, sizeof(pw), &err), 40003);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password),
        cmocka_unit_test(test_login_limiter_per_address),
        cmocka_unit_test(test_login_limiter_global),
        cmocka_unit_test(test_login_limiter_many_addresses),
        cmocka_unit_test(test_session_expiry),
        cmocka_unit_test(test_session_bound),
        cmocka_unit_test(test_password_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
