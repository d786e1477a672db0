/* test_sdk_token.c: requestToken with a key (RSA8a, RSA8b, RSA8e, RSA7d, RSA5, RSA6) and
 * createTokenRequest (RSA9a-RSA9i, RSA10k queryTime), against rtauthd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/key.h"
#include "core/mac.h"
#include "sdk_test.h"
#include "stub_http.h"

static rta_rest *key_client(const char *key, const char *client_id, int binary)
{
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = key;
    o.client_id = client_id;
    o.use_binary_protocol = binary;
    return sdk_rest(&o);
}

/* RSA8a, TD2-TD6: a token from the key with no params: the server's defaults apply (RSA5,
 * RSA6: 60 minutes and the key's capability), no clientId (anonymous). */
static void test_request_token_defaults(void **state)
{
    (void)state;
    char keys[3][256], kn[256];
    sdk_new_app(keys);
    sdk_key_name(keys[2], kn);
    rta_rest *r = key_client(keys[2], NULL, 1);
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, &err), 0);
    sdk_add_secret(d.token);
    assert_non_null(d.token);
    assert_string_equal(d.key_name, kn);
    assert_int_equal(d.expires - d.issued, 3600000);
    assert_string_equal(d.capability, "{\"chan\":[\"publish\",\"subscribe\"]}");
    assert_null(d.client_id);
    assert_int_equal(sdk_probe_token(kn, d.token), RTA_ERR_REQUIRES_BASIC); /* accepted */
    /* requestToken does not change the client's own auth (still Basic, RSA8) */
    rta_token_details cur;
    assert_int_equal(rta_auth_token_details(rta_rest_auth(r), &cur, NULL), 0);
    assert_null(cur.token);
    rta_token_details_clear(&d);
    rta_rest_destroy(r);
}

/* RSA8b: every TokenParams field goes through; the capability is intersected (TE3). */
static void test_request_token_params(void **state)
{
    (void)state;
    char keys[3][256], kn[256];
    sdk_new_app(keys);
    sdk_key_name(keys[0], kn);
    for (int binary = 0; binary <= 1; binary++) {
        rta_rest *r = key_client(keys[0], NULL, binary);
        rta_token_params p = {.ttl = 60000,
                              .capability = "{\"b\":[\"subscribe\",\"publish\"],\"a\":[\"*\"]}",
                              .client_id = "alice"};
        rta_token_details d;
        rta_error err;
        assert_int_equal(rta_auth_request_token(rta_rest_auth(r), &p, NULL, &d, &err), 0);
        sdk_add_secret(d.token);
        assert_int_equal(d.expires - d.issued, 60000);
        assert_string_equal(d.client_id, "alice");
        assert_string_equal(d.capability, "{\"a\":[\"*\"],\"b\":[\"publish\",\"subscribe\"]}");
        assert_int_equal(sdk_probe_token(kn, d.token), RTA_ERR_REQUIRES_BASIC);
        rta_token_details_clear(&d);
        rta_rest_destroy(r);
    }
}

/* RSA7d: a configured clientId goes into every token request without one. */
static void test_request_token_configured_client_id(void **state)
{
    (void)state;
    char keys[3][256];
    sdk_new_app(keys);
    rta_rest *r = key_client(keys[0], "carol", 1);
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, NULL), 0);
    assert_string_equal(d.client_id, "carol");
    rta_token_details_clear(&d);
    rta_token_params p = {.ttl = 30000}; /* explicit params without clientId: still carol */
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), &p, NULL, &d, NULL), 0);
    assert_string_equal(d.client_id, "carol");
    rta_token_details_clear(&d);
    rta_rest_destroy(r);
}

/* Server refusals pass through unchanged (RSA4e covers only callback/authUrl failures): an
 * old timestamp is 40104, a capability outside the key 40160, ttl over 24 h 40003. */
static void test_request_token_server_errors(void **state)
{
    (void)state;
    char keys[3][256];
    sdk_new_app(keys);
    rta_rest *r = key_client(keys[2], NULL, 1);
    rta_token_details d;
    rta_error err;
    rta_token_params old = {.timestamp = sdk_now_ms() - 30 * 60 * 1000};
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), &old, NULL, &d, &err),
                     RTA_ERR_TIMESTAMP_NOT_CURRENT);
    assert_int_equal(err.status_code, 401);
    assert_null(d.token);
    rta_token_params other = {.capability = "{\"elsewhere\":[\"publish\"]}"};
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), &other, NULL, &d, &err),
                     RTA_ERR_CAPABILITY_DENIED);
    rta_token_params longttl = {.ttl = 25LL * 3600 * 1000};
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), &longttl, NULL, &d, &err),
                     RTA_ERR_INVALID_PARAMETER);
    /* client-side checks, before any request */
    rta_token_params empty_id = {.client_id = ""};
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), &empty_id, NULL, &d, &err),
                     RTA_ERR_INVALID_CLIENT_ID);
    rta_token_params neg = {.ttl = -5};
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), &neg, NULL, &d, &err),
                     RTA_ERR_INVALID_PARAMETER);
    rta_rest_destroy(r);
}

/* RSA8e: passed AuthOptions replace the stored ones: another key signs; a passed options
 * struct without any means gives 40171 even though the client has a key. */
static void test_request_token_auth_options_replace(void **state)
{
    (void)state;
    char keys[3][256], kn1[256];
    sdk_new_app(keys);
    sdk_key_name(keys[1], kn1);
    rta_rest *r = key_client(keys[0], NULL, 1);
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.key = keys[1];
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, &ao, &d, &err), 0);
    assert_string_equal(d.key_name, kn1);
    rta_token_details_clear(&d);
    rta_auth_options_init(&ao);
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, &ao, &d, &err),
                     RTA_ERR_NO_RENEWAL);
    assert_int_equal(err.status_code, 403);
    rta_rest_destroy(r);
}

static void verify_mac(const char *key_str, const rta_token_request *req)
{
    rta_key key;
    assert_int_equal(rta_key_parse(key_str, strlen(key_str), &key, NULL), 0);
    rta_hmac *h = rta_hmac_new(key.secret, key.secret_len);
    assert_int_equal(rta_token_request_verify_mac(req, h, NULL), 0);
    rta_hmac_free(h);
}

/* RSA9a-RSA9g, RSA5, RSA6: a signed request made locally; nonce, timestamp, canonical
 * capability, absent fields stay absent, and the MAC verifies with the secret. */
static void test_create_token_request(void **state)
{
    (void)state;
    char keys[3][256], kn[256];
    sdk_new_app(keys);
    sdk_key_name(keys[0], kn);
    rta_rest *r = key_client(keys[0], NULL, 1);
    rta_token_request a, b;
    rta_error err;
    long long before = sdk_now_ms();
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), NULL, NULL, &a, &err), 0);
    assert_string_equal(a.key_name, kn);
    assert_int_equal(a.ttl, 0); /* RSA5: absent, not filled in */
    assert_null(a.capability);  /* RSA6 */
    assert_null(a.client_id);
    assert_true(a.timestamp >= before && a.timestamp <= sdk_now_ms()); /* RSA9d */
    assert_true(strlen(a.nonce) >= 16);                                /* RSA9c */
    verify_mac(keys[0], &a);                                           /* RSA9g */
    sdk_add_secret(a.mac);
    char *json = NULL;
    assert_int_equal(rta_token_request_to_json(&a, &json), 0);
    assert_null(strstr(json, "ttl"));
    assert_null(strstr(json, "capability"));
    free(json);

    rta_token_params p = {.ttl = 120000,
                          .capability = "{\"z\":[\"subscribe\",\"publish\"],\"a\":[\"history\"]}",
                          .client_id = "dave",
                          .timestamp = before - 5000};
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), &p, NULL, &b, &err), 0);
    assert_string_not_equal(a.nonce, b.nonce);
    assert_int_equal(b.ttl, 120000);
    assert_string_equal(b.capability, "{\"a\":[\"history\"],\"z\":[\"publish\",\"subscribe\"]}");
    assert_string_equal(b.client_id, "dave");
    assert_int_equal(b.timestamp, before - 5000); /* RSA9d: a given timestamp is kept */
    verify_mac(keys[0], &b);
    sdk_add_secret(b.mac);

    /* RSA9a: another party can exchange it (here: a client with no key, through its
     * authCallback-less requestToken path is not possible, so straight over HTTP) */
    json = NULL;
    assert_int_equal(rta_token_request_to_json(&b, &json), 0);
    char path[512];
    snprintf(path, sizeof(path), "/keys/%s/requestToken", kn);
    const char *hdrs[] = {"Content-Type: application/json", "Accept: application/json", NULL};
    rta_test_response resp;
    assert_int_equal(rta_test_http(&sdk_server, "POST", path, hdrs, json, strlen(json), &resp), 0);
    assert_int_equal(resp.status, 200);
    rta_token_details d;
    assert_int_equal(rta_token_details_from_json(resp.body, resp.body_len, &d, &err), 0);
    assert_string_equal(d.client_id, "dave");
    assert_int_equal(d.expires - d.issued, 120000);
    rta_token_details_clear(&d);
    rta_test_response_free(&resp);
    free(json);
    rta_token_request_clear(&a);
    rta_token_request_clear(&b);
    rta_rest_destroy(r);
}

/* RSA9 errors: no key (40101), clientId "" (40012), ttl < 0 (40003), a bad capability (40000);
 * RSA9g: AuthOptions with a key sign with that key; RSA7d configured clientId is used. */
static void test_create_token_request_errors_and_keys(void **state)
{
    (void)state;
    char keys[3][256], kn1[256];
    sdk_new_app(keys);
    sdk_key_name(keys[1], kn1);
    rta_client_options o;
    sdk_options(&o);
    o.auth.token = "app.sometoken";
    o.client_id = "erin";
    rta_rest *r = sdk_rest(&o);
    rta_token_request t;
    rta_error err;
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), NULL, NULL, &t, &err),
                     RTA_ERR_INVALID_CREDENTIALS);
    assert_null(t.mac);
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.key = keys[1];
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), NULL, &ao, &t, &err), 0);
    assert_string_equal(t.key_name, kn1);
    assert_string_equal(t.client_id, "erin"); /* RSA7d */
    verify_mac(keys[1], &t);
    rta_token_request_clear(&t);
    rta_token_params bad = {.client_id = ""};
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), &bad, &ao, &t, &err),
                     RTA_ERR_INVALID_CLIENT_ID);
    rta_token_params neg = {.ttl = -1};
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), &neg, &ao, &t, &err),
                     RTA_ERR_INVALID_PARAMETER);
    rta_token_params cap = {.capability = "{\"a\":[\"publish_\"]}"};
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), &cap, &ao, &t, &err),
                     RTA_ERR_BAD_REQUEST);
    rta_auth_options_init(&ao);
    ao.key = "malformed";
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), NULL, &ao, &t, &err),
                     RTA_ERR_INVALID_CREDENTIAL);
    rta_rest_destroy(r);
}

/* The stub REST host's clock runs 3 hours behind; it counts /time requests. */
static void slow_clock(const stub_request *req, stub_reply *rep, void *ctx)
{
    (void)ctx;
    if (strcmp(req->target, "/time") != 0) {
        stub_reply_set(rep, 404, "application/json", "{}");
        return;
    }
    char body[64];
    snprintf(body, sizeof(body), "[%lld]", sdk_now_ms() - 3LL * 3600 * 1000);
    stub_reply_set(rep, 200, "application/json", body);
}

/* RSA9d, RSA10k: queryTime asks /time once per client and keeps the offset. */
static void test_query_time_once(void **state)
{
    (void)state;
    stub_server stub;
    assert_int_equal(stub_start(&stub, slow_clock, NULL), 0);
    rta_client_options o;
    sdk_options(&o);
    o.port = stub.port;
    o.auth.key = "app.key:secret";
    o.auth.query_time = 1;
    rta_rest *r = sdk_rest(&o);
    long long want = sdk_now_ms() - 3LL * 3600 * 1000;
    for (int i = 0; i < 10; i++) {
        rta_token_request t;
        assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), NULL, NULL, &t, NULL), 0);
        assert_true(t.timestamp > want - 2000 && t.timestamp < want + 2000);
        rta_token_request_clear(&t);
    }
    assert_int_equal(stub_count(&stub), 1);
    rta_rest_destroy(r);

    /* without queryTime: the local clock, no /time */
    o.auth.query_time = 0;
    r = sdk_rest(&o);
    stub_reset_count(&stub);
    rta_token_request t;
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), NULL, NULL, &t, NULL), 0);
    assert_true(t.timestamp > sdk_now_ms() - 2000);
    rta_token_request_clear(&t);
    /* queryTime passed in AuthOptions for one call (RSA9d) */
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.key = "app.key:secret";
    ao.query_time = 1;
    assert_int_equal(rta_auth_create_token_request(rta_rest_auth(r), NULL, &ao, &t, NULL), 0);
    assert_true(t.timestamp < sdk_now_ms() - 3000LL * 3600 + 2000);
    assert_int_equal(stub_count(&stub), 1);
    rta_token_request_clear(&t);
    rta_rest_destroy(r);
    stub_stop(&stub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_token_defaults),
        cmocka_unit_test(test_request_token_params),
        cmocka_unit_test(test_request_token_configured_client_id),
        cmocka_unit_test(test_request_token_server_errors),
        cmocka_unit_test(test_request_token_auth_options_replace),
        cmocka_unit_test(test_create_token_request),
        cmocka_unit_test(test_create_token_request_errors_and_keys),
        cmocka_unit_test(test_query_time_once),
    };
    return cmocka_run_group_tests(tests, sdk_setup, sdk_teardown);
}
