/* test_key.c: API key parsing (RSC1a, TO3j1, S-13) and the error table (TI1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/key.h"
#include "rtauth/error.h"

static int parse(const char *s, rta_key *k, rta_error *err)
{
    return rta_key_parse(s, strlen(s), k, err);
}

static void test_key_parse_ok(void **state)
{
    (void)state;
    rta_key k;
    rta_error err;
    assert_int_equal(parse("xVLyHw.LnAEmw:9GxC+/ab=_-z", &k, &err), 0);
    assert_string_equal(k.app_id, "xVLyHw");
    assert_string_equal(k.key_name, "xVLyHw.LnAEmw");
    assert_string_equal(k.secret, "9GxC+/ab=_-z");
    assert_int_equal(k.secret_len, 12);
    rta_key_wipe(&k);
    assert_int_equal(k.secret[0], 0);
}

static void test_key_parse_rejects_without_leaking_secret(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",                       /* empty */
        "app.key",                /* no secret */
        "app.key:",               /* empty secret */
        "appkey:secret",          /* no dot in the name */
        ".key:secret",            /* empty appId */
        "app.:secret",            /* empty keyId */
        "app.key.x:secret",       /* dot in keyId */
        "app.key:sec:ret",        /* colon in secret (ably-js pattern) */
        "app.key:sec.ret",        /* dot in secret (ably-js pattern) */
        "app.key:sec ret",        /* whitespace */
        "ap p.key:secret",        /* whitespace in name */
        "app/x.key:secret",       /* not URL-safe in the name */
        "app.key:s\x7f",          /* control character */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rta_key k;
        rta_error err;
        assert_int_equal(parse(bad[i], &k, &err), RTA_ERR_INVALID_CREDENTIAL);
        assert_int_equal(err.status_code, 400);
        assert_null(strstr(err.message, "secret:"));
        assert_null(strstr(err.message, "sec ret"));
        assert_null(strstr(err.message, "sec.ret"));
        assert_string_equal(k.secret, ""); /* nothing half-parsed is left behind */
    }
    char longsecret[200] = "app.key:";
    memset(longsecret + 8, 'a', 150);
    rta_key k;
    assert_int_equal(parse(longsecret, &k, NULL), RTA_ERR_INVALID_CREDENTIAL);
}

static void test_key_name_check(void **state)
{
    (void)state;
    char app[RTA_KEY_ID_MAX + 1];
    assert_int_equal(rta_key_name_check("a1.k_-", 6, app, NULL), 0);
    assert_string_equal(app, "a1");
    assert_int_equal(rta_key_name_check("a1", 2, app, NULL), RTA_ERR_INVALID_CREDENTIAL);
    assert_int_equal(rta_key_name_check("a1.k:s", 6, app, NULL), RTA_ERR_INVALID_CREDENTIAL);
}

static void test_error_table(void **state)
{
    (void)state;
    rta_error err;
    /* Token errors are 401 and in 40140..40149 (RSA4b, RSC10); 40171 is 403 (RSA4a2). */
    assert_int_equal(rta_error_set(&err, RTA_ERR_TOKEN_EXPIRED, NULL), 40142);
    assert_int_equal(err.status_code, 401);
    assert_string_equal(err.message, "Token expired");
    assert_true(rta_error_is_token_error(40142));
    assert_true(rta_error_is_token_error(40140));
    assert_false(rta_error_is_token_error(40150));
    assert_false(rta_error_is_token_error(40160));
    assert_int_equal(rta_error_status(RTA_ERR_NO_RENEWAL), 403);
    assert_int_equal(rta_error_status(RTA_ERR_CAPABILITY_DENIED), 401);
    assert_int_equal(rta_error_status(40999), 409); /* not in the table: code / 100 */
    assert_int_equal(rta_error_status(7), 500);
    assert_string_equal(rta_strerror(12345), "Unknown error");
    rta_error_set(&err, RTA_ERR_TOKEN_REQUEST_FAILED, "authUrl failed: %d", 500);
    assert_string_equal(err.message, "authUrl failed: 500");
    rta_error cause;
    rta_error_set_status(&cause, 40300, 403, "denied");
    rta_error_set_cause(&err, &cause);
    assert_int_equal(err.cause_code, 40300);
    assert_int_equal(err.cause_status_code, 403);
    assert_string_equal(err.cause_message, "denied");
    char href[64];
    rta_error_href(40142, href, sizeof(href));
    assert_string_equal(href, "https://help.ably.io/error/40142");
    rta_error_clear(&err);
    assert_int_equal(err.code, 0);
    assert_int_equal(rta_error_set(NULL, 40101, NULL), 40101); /* NULL err is allowed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_parse_ok),
        cmocka_unit_test(test_key_parse_rejects_without_leaking_secret),
        cmocka_unit_test(test_key_name_check),
        cmocka_unit_test(test_error_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
