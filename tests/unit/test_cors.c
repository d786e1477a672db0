/* test_cors.c: the CORS policy (cors.h): --cors-origins parsing and its errors, which Origin
 * values are allowed by "*", "none", exact and "*.domain" entries (malformed ones never),
 * and the Access-Control-Request-Headers check that decides whether a preflight's list is
 * echoed. The HTTP side is in tests/interop/cors_http.test.mjs and tests/browser/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "server/rest/cors.h"

static int allowed(const rta_cors_policy *p, const char *origin)
{
    return rta_cors_origin_allowed(p, origin, strlen(origin));
}

static int valid_list(const char *v)
{
    return rta_cors_header_list_valid(v, strlen(v));
}

static void test_default_allows_any_origin_but_null(void **state)
{
    (void)state;
    rta_cors_policy p;
    rta_cors_policy_default(&p);
    assert_true(allowed(&p, "http://127.0.0.1:3000"));
    assert_true(allowed(&p, "https://app.example.com"));
    assert_true(allowed(&p, "http://[::1]:8080"));
    assert_true(allowed(&p, "chrome-extension://abcdef"));
    assert_false(allowed(&p, "null"));
    /* malformed: never echoed, whatever the policy */
    const char *bad[] = {"",
                         "*",
                         "example.com",
                         "http://",
                         "http://a.com/",
                         "http://a.com/path",
                         "http://a.com:",
                         "http://a.com:123456",
                         "http://a b.com",
                         "http://a.com\r\nx: y",
                         "http://user@a.com",
                         "http://[::1",
                         "http://[]",
                         "1http://a.com",
                         "http://a.com?x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (allowed(&p, bad[i])) fail_msg("allowed malformed origin \"%s\"", bad[i]);
    }
    char longest[RTA_CORS_ORIGIN_MAX + 2];
    memset(longest, 'a', sizeof(longest));
    memcpy(longest, "http://", 7);
    longest[RTA_CORS_ORIGIN_MAX] = '\0';
    assert_true(allowed(&p, longest));
    longest[RTA_CORS_ORIGIN_MAX] = 'a';
    longest[RTA_CORS_ORIGIN_MAX + 1] = '\0';
    assert_false(allowed(&p, longest));
}

static void test_list(void **state)
{
    (void)state;
    rta_cors_policy p;
    rta_error err;
    assert_int_equal(rta_cors_policy_parse(&p,
                                           " https://App.Example.com:443, http://localhost:3000 "
                                           "http://[::1]:80,null",
                                           &err),
                     0);
    assert_false(p.any);
    assert_true(allowed(&p, "https://app.example.com")); /* default port dropped, lowercased */
    assert_true(allowed(&p, "https://APP.example.com")); /* hosts compare case-insensitively */
    assert_true(allowed(&p, "http://localhost:3000"));
    assert_true(allowed(&p, "http://[::1]"));
    assert_true(allowed(&p, "null"));
    assert_false(allowed(&p, "http://app.example.com"));       /* scheme matters */
    assert_false(allowed(&p, "https://app.example.com:8443")); /* port matters */
    assert_false(allowed(&p, "http://localhost:30000"));
    assert_false(allowed(&p, "http://localhost"));
    assert_false(allowed(&p, "https://evil.app.example.com"));
}

static void test_subdomain_wildcard(void **state)
{
    (void)state;
    rta_cors_policy p;
    rta_error err;
    assert_int_equal(rta_cors_policy_parse(&p, "https://*.example.com,http://*.test:8080", &err),
                     0);
    assert_true(allowed(&p, "https://a.example.com"));
    assert_true(allowed(&p, "https://a.b.example.com"));
    assert_true(allowed(&p, "http://x.test:8080"));
    assert_false(allowed(&p, "https://example.com"));     /* a subdomain, not the domain */
    assert_false(allowed(&p, "https://evilexample.com")); /* label boundary */
    assert_false(allowed(&p, "https://a.example.com.evil.org"));
    assert_false(allowed(&p, "http://a.example.com"));
    assert_false(allowed(&p, "https://a.example.com:8443"));
    assert_false(allowed(&p, "http://x.test"));
    assert_false(allowed(&p, "http://x.test:80800"));
    assert_false(allowed(&p, "null"));
}

static void test_none_and_errors(void **state)
{
    (void)state;
    rta_cors_policy p;
    rta_error err;
    assert_int_equal(rta_cors_policy_parse(&p, "none", &err), 0);
    assert_false(p.any);
    assert_int_equal(p.len, 0);
    assert_false(allowed(&p, "http://127.0.0.1:3000"));
    assert_int_equal(rta_cors_policy_parse(&p, "*", &err), 0);
    assert_true(p.any);

    const char *bad[] = {"",
                         "  ,",
                         "* https://a.com",
                         "none,https://a.com",
                         "https://a.com/",
                         "a.com",
                         "https://a.*.com",
                         "https://*",
                         "https://a.com/x",
                         "*.a.com",
                         "https://a.com:99999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rta_cors_policy_default(&p);
        if (rta_cors_policy_parse(&p, bad[i], &err) != 40003)
            fail_msg("accepted --cors-origins \"%s\"", bad[i]);
        assert_true(p.any); /* unchanged on error */
    }
    assert_non_null(strstr(err.message, "cors_origins"));

    /* bounded: a list that does not fit is refused, not truncated */
    char big[RTA_CORS_POLICY_MAX + 64];
    size_t n = 0;
    for (int i = 0; n + 32 < sizeof(big); i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "https://h%d.example.com ", i);
    assert_int_equal(rta_cors_policy_parse(&p, big, &err), 40003);
}

static void test_request_header_lists(void **state)
{
    (void)state;
    assert_true(valid_list("ably-agent,x-ably-version"));
    assert_true(valid_list("accept, authorization ,content-type,\tx-ably-clientid"));
    assert_true(valid_list("x-custom_1"));
    assert_false(valid_list(""));
    assert_false(valid_list(","));
    assert_false(valid_list("a,,b"));
    assert_false(valid_list("a,"));
    assert_false(valid_list("ably agent"));
    assert_false(valid_list("a:b"));
    assert_false(valid_list("a\r\nset-cookie: x"));
    assert_false(valid_list("a;b"));
    assert_false(valid_list("\xc3\xa9"));

    char many[RTA_CORS_REQUEST_HEADERS_MAX + 8];
    size_t n = 0;
    for (int i = 0; i < RTA_CORS_REQUEST_HEADER_NAMES; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%sh%d", i ? "," : "", i);
    assert_true(valid_list(many));
    snprintf(many + n, sizeof(many) - n, ",x");
    assert_false(valid_list(many)); /* one name too many */
    memset(many, 'a', sizeof(many));
    many[RTA_CORS_REQUEST_HEADERS_MAX] = '\0';
    assert_true(valid_list(many));
    many[RTA_CORS_REQUEST_HEADERS_MAX] = 'a';
    many[RTA_CORS_REQUEST_HEADERS_MAX + 1] = '\0';
    assert_false(valid_list(many)); /* one byte too long */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_allows_any_origin_but_null),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_subdomain_wildcard),
        cmocka_unit_test(test_none_and_errors),
        cmocka_unit_test(test_request_header_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
