/* test_sdk_capability.c: the public capability helper (rtauth/capability.h, issue 15): parse,
 * canonical text (RSA9f), intersect (TE3, S-44) and allows(op, channel) (S-43), and that its
 * answers agree with rtauthd's: the intersection it computes for a key and a request is the
 * capability of the token rtauthd issues for them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_test.h"

static char keys[3][256];

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    return 0;
}

static rta_cap *parse(const char *json)
{
    rta_cap *c = NULL;
    rta_error err;
    int rc = rta_cap_parse(json, &c, &err);
    if (rc) fprintf(stderr, "parse %s: %d %s\n", json, rc, err.message);
    assert_int_equal(rc, 0);
    assert_int_equal(err.code, 0);
    return c;
}

static void expect_canonical(const rta_cap *c, const char *want)
{
    char *text = NULL;
    assert_int_equal(rta_cap_canonical(c, &text, NULL), 0);
    assert_string_equal(text, want);
    free(text);
}

/* RSA9f: canonical text sorts resources and operations, drops whitespace. */
static void test_parse_and_canonical(void **state)
{
    (void)state;
    rta_cap *c =
        parse(" { \"chat:*\" : [\"subscribe\",\"publish\"], \"alerts\":[\"subscribe\"] } ");
    expect_canonical(c, "{\"alerts\":[\"subscribe\"],\"chat:*\":[\"publish\",\"subscribe\"]}");
    rta_cap_free(c);
    rta_error err;
    rta_cap *bad = (rta_cap *)&err;
    assert_int_equal(rta_cap_parse("{\"a\":[\"publish_\"]}", &bad, &err), RTA_ERR_BAD_REQUEST);
    assert_null(bad);
    assert_non_null(strstr(err.message, "publish_"));
    assert_int_equal(rta_cap_parse("[\"publish\"]", &bad, &err), RTA_ERR_BAD_REQUEST);
    assert_int_equal(rta_cap_parse("{\"a\":[\"*\",\"publish\"]}", &bad, &err), RTA_ERR_BAD_REQUEST);
}

/* S-43: patterns and operations, as rtauthd checks them. */
static void test_allows(void **state)
{
    (void)state;
    rta_cap *c = parse("{\"chat:*\":[\"publish\",\"subscribe\"],\"news\":[\"*\"],"
                       "\"[*]logs:*\":[\"history\"]}");
    assert_true(rta_cap_allows(c, "publish", "chat:lobby"));
    assert_true(rta_cap_allows(c, "subscribe", "chat:room:42")); /* trailing * : 1+ segments */
    assert_false(rta_cap_allows(c, "publish", "chat"));
    assert_false(rta_cap_allows(c, "presence", "chat:lobby"));
    assert_true(rta_cap_allows(c, "presence", "news")); /* "*" : every operation */
    assert_false(rta_cap_allows(c, "publish", "newsroom"));
    assert_true(rta_cap_allows(c, "history", "logs:a"));
    assert_false(rta_cap_allows(c, "no-such-op", "news"));
    assert_false(rta_cap_allows(c, "*", "news")); /* an operation, not a wildcard */
    rta_cap_free(c);
    rta_cap *none = parse("{}");
    assert_false(rta_cap_allows(none, "subscribe", "news"));
    rta_cap_free(none);
}

/* TE3, S-44: the intersection; nothing left is 40160. */
static void test_intersect(void **state)
{
    (void)state;
    rta_cap *key = parse("{\"chat:*\":[\"publish\",\"subscribe\"],\"news\":[\"subscribe\"]}");
    rta_cap *req = parse("{\"chat:lobby\":[\"*\"],\"news\":[\"publish\"]}");
    rta_cap *out = NULL;
    rta_error err;
    assert_int_equal(rta_cap_intersect(key, req, &out, &err), 0);
    expect_canonical(out, "{\"chat:lobby\":[\"publish\",\"subscribe\"]}");
    rta_cap_free(out);
    rta_cap *other = parse("{\"elsewhere\":[\"publish\"]}");
    assert_int_equal(rta_cap_intersect(key, other, &out, &err), RTA_ERR_CAPABILITY_DENIED);
    assert_null(out);
    rta_cap_free(other);
    rta_cap_free(req);
    rta_cap_free(key);
}

/* The helper and rtauthd agree: a token requested with a capability gets exactly the
 * intersection the helper computes with the key's, and allows() says what the token may do. */
static void test_agrees_with_server(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[2]; /* {"chan":["publish","subscribe"]} */
    rta_rest *r = sdk_rest(&o);
    const char *requested = "{\"chan\":[\"subscribe\",\"presence\"],\"other\":[\"publish\"]}";
    rta_token_params p = {.capability = requested};
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), &p, NULL, &d, &err), 0);
    sdk_add_secret(d.token);
    rta_cap *key = parse("{\"chan\":[\"publish\",\"subscribe\"]}");
    rta_cap *req = parse(requested);
    rta_cap *mine = NULL;
    assert_int_equal(rta_cap_intersect(key, req, &mine, &err), 0);
    char *text = NULL;
    assert_int_equal(rta_cap_canonical(mine, &text, NULL), 0);
    assert_string_equal(text, d.capability);
    rta_cap *theirs = parse(d.capability);
    assert_true(rta_cap_allows(theirs, "subscribe", "chan"));
    assert_false(rta_cap_allows(theirs, "publish", "chan"));
    assert_false(rta_cap_allows(theirs, "publish", "other"));
    free(text);
    rta_cap_free(theirs);
    rta_cap_free(mine);
    rta_cap_free(req);
    rta_cap_free(key);
    rta_token_details_clear(&d);
    rta_rest_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_canonical),
        cmocka_unit_test(test_allows),
        cmocka_unit_test(test_intersect),
        cmocka_unit_test(test_agrees_with_server),
    };
    return cmocka_run_group_tests(tests, group_setup, sdk_teardown);
}
