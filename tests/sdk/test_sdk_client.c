/* test_sdk_client.c: client construction and the auth method (RSC1, RSC1a-c, RSA1-RSA4, RSA14,
 * RSC18), clientId options (RSA7c, RSC17, RSA12b, RSA15a), what goes on the wire (RSA11,
 * RSA3b, RSA7e2, RSC7e, binary protocol) and time (RSC16). A stub HTTP server plays the REST
 * host where a test inspects headers; rtauthd answers the rest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "sdk_test.h"
#include "stub_http.h"

static int create_rc(const rta_client_options *o, rta_error *err)
{
    rta_rest *r = NULL;
    int rc = rta_rest_create(o, &r, err);
    if (!rc)
        rta_rest_destroy(r);
    else
        assert_null(r);
    return rc;
}

static char *b64(const char *s)
{
    rta_buf b = RTA_BUF_INIT;
    rta_base64_encode(&b, s, strlen(s), RTA_BASE64_STD);
    return rta_buf_detach(&b, NULL);
}

/* RSC1b, RSA14, RSA4: no usable means is 40106; useTokenAuth false forces Basic. */
static void test_no_auth_method_40106(void **state)
{
    (void)state;
    rta_client_options o;
    rta_error err;
    sdk_options(&o);
    assert_int_equal(create_rc(&o, &err), RTA_ERR_NO_AUTH_METHOD);
    assert_int_equal(err.status_code, 401);
    o.auth.use_token_auth = 1; /* RSA14: token auth, nothing to get a token with */
    assert_int_equal(create_rc(&o, &err), RTA_ERR_NO_AUTH_METHOD);
    sdk_options(&o);
    o.auth.token = "some.token";
    o.auth.use_token_auth = 0; /* RSA4 (JS): explicit false means Basic, and there is no key */
    assert_int_equal(create_rc(&o, &err), RTA_ERR_NO_AUTH_METHOD);
    o.auth.use_token_auth = RTA_UNSET;
    assert_int_equal(create_rc(&o, &err), 0);
}

/* RSC1a, RSC1c: the single-string form: ':' means a key, anything else a token (incl. JWT). */
static void test_single_string_classification(void **state)
{
    (void)state;
    rta_client_options o;
    rta_client_options_init_string(&o, "app.key:secret");
    assert_string_equal(o.auth.key, "app.key:secret");
    assert_null(o.auth.token);
    rta_client_options_init_string(&o, "app.tokenbody");
    assert_null(o.auth.key);
    assert_string_equal(o.auth.token, "app.tokenbody");
    rta_client_options_init_string(&o, "eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.c2ln");
    assert_non_null(o.auth.token);
    assert_int_equal(o.tls, 1); /* RSC18/TO3d: TLS by default */
    assert_int_equal(o.use_binary_protocol, 1);
}

/* RSA7c: clientId "*" and "" are refused (40012); a malformed key is 40005. */
static void test_invalid_options(void **state)
{
    (void)state;
    rta_client_options o;
    rta_error err;
    sdk_options(&o);
    o.auth.key = "app.key:secret";
    o.client_id = "*";
    assert_int_equal(create_rc(&o, &err), RTA_ERR_INVALID_CLIENT_ID);
    o.client_id = "";
    assert_int_equal(create_rc(&o, &err), RTA_ERR_INVALID_CLIENT_ID);
    o.client_id = NULL;
    o.auth.key = "not a key";
    assert_int_equal(create_rc(&o, &err), RTA_ERR_INVALID_CREDENTIAL);
    assert_null(strstr(err.message, "not a key"));
    sdk_options(&o);
    o.auth.auth_url = "ftp://example.com/auth";
    assert_int_equal(create_rc(&o, &err), RTA_ERR_INVALID_PARAMETER);
    rta_name_value bad = {"X-Evil", "a\r\nInjected: yes"};
    sdk_options(&o);
    o.auth.auth_url = "http://127.0.0.1:9/auth";
    o.auth.auth_headers = &bad;
    o.auth.auth_header_count = 1;
    assert_int_equal(create_rc(&o, &err), RTA_ERR_INVALID_PARAMETER);
    sdk_options(&o);
    o.auth.key = "app.key:secret";
    o.port = 70000;
    assert_int_equal(create_rc(&o, &err), RTA_ERR_INVALID_PARAMETER);
}

/* RSA15a: a tokenDetails whose clientId differs from ClientOptions.clientId is 40102. */
static void test_token_details_client_id_mismatch(void **state)
{
    (void)state;
    rta_client_options o;
    rta_error err;
    rta_token_details d = {.token = "app.tok", .client_id = "bob"};
    sdk_options(&o);
    o.auth.token_details = &d;
    o.client_id = "alice";
    assert_int_equal(create_rc(&o, &err), RTA_ERR_INCOMPATIBLE_CREDENTIALS);
    d.client_id = "*"; /* RSA15b: a wildcard token is compatible with any clientId */
    assert_int_equal(create_rc(&o, &err), 0);
}

/* RSC17, RSA12b, RSA7b2, RSA16a-c: auth.clientId and auth.tokenDetails after construction. */
static void test_client_id_and_token_details_at_start(void **state)
{
    (void)state;
    rta_client_options o;
    rta_token_details d;
    sdk_options(&o);
    o.auth.key = "app.key:secret";
    rta_rest *r = sdk_rest(&o);
    assert_null(rta_auth_client_id(rta_rest_auth(r))); /* RSA12b */
    assert_int_equal(rta_auth_token_details(rta_rest_auth(r), &d, NULL), 0);
    assert_null(d.token); /* RSA16d: Basic auth has no token */
    rta_rest_destroy(r);

    o.client_id = "alice";
    r = sdk_rest(&o);
    assert_string_equal(rta_auth_client_id(rta_rest_auth(r)), "alice"); /* RSC17 */
    rta_rest_destroy(r);

    sdk_options(&o);
    o.auth.token = "app.literal";
    r = sdk_rest(&o);
    assert_int_equal(rta_auth_token_details(rta_rest_auth(r), &d, NULL), 0);
    assert_string_equal(d.token, "app.literal"); /* RSA16b: only the token */
    assert_null(d.client_id);
    assert_int_equal(d.expires, 0);
    rta_token_details_clear(&d);
    rta_rest_destroy(r);

    rta_token_details given = {.token = "app.tok2", .client_id = "*", .expires = 5};
    sdk_options(&o);
    o.auth.token_details = &given;
    r = sdk_rest(&o);
    assert_string_equal(rta_auth_client_id(rta_rest_auth(r)), "*"); /* RSA7b4 */
    assert_int_equal(rta_auth_token_details(rta_rest_auth(r), &d, NULL), 0);
    assert_string_equal(d.token, "app.tok2");
    assert_int_equal(d.expires, 5);
    rta_token_details_clear(&d);
    rta_rest_destroy(r);
}

/* What the stub REST host saw for one GET /anything. */
static void recording_handler(const stub_request *req, stub_reply *rep, void *ctx)
{
    (void)req, (void)ctx;
    stub_reply_set(rep, 200, "application/json", "{\"ok\":true}");
}

static stub_request *request_through_stub(rta_client_options *o, int expect_rc, rta_error *err)
{
    stub_server stub;
    assert_int_equal(stub_start(&stub, recording_handler, NULL), 0);
    o->port = stub.port;
    rta_rest *r = sdk_rest(o);
    rta_rest_response resp;
    int rc = rta_rest_request(r, "GET", "/anything?x=1", NULL, &resp, err);
    assert_int_equal(rc, expect_rc);
    if (!rc) {
        assert_int_equal(resp.status_code, 200);
        assert_string_equal(resp.body, "{\"ok\":true}");
    }
    rta_rest_response_clear(&resp);
    rta_rest_destroy(r);
    stub_request *seen = calloc(1, sizeof(*seen));
    if (stub_count(&stub) > 0)
        stub_last(&stub, seen);
    else
        seen->method[0] = '\0';
    stub_stop(&stub);
    return seen;
}

/* RSA2, RSA11, RSC7e, RSA7e2: Basic with the key, X-Ably-Version, X-Ably-ClientId base64,
 * msgpack by default. */
static void test_basic_auth_headers(void **state)
{
    (void)state;
    rta_client_options o;
    char buf[512];
    sdk_options(&o);
    o.auth.key = "app.key:s3cret";
    o.client_id = "ålice";
    stub_request *seen = request_through_stub(&o, 0, NULL);
    assert_string_equal(seen->method, "GET");
    assert_string_equal(seen->target, "/anything?x=1");
    char *want = b64("app.key:s3cret");
    assert_non_null(stub_header(seen, "authorization", buf, sizeof(buf)));
    assert_string_equal(buf + 6, want);
    assert_memory_equal(buf, "Basic ", 6);
    free(want);
    want = b64("ålice"); /* UTF-8 bytes, base64 (RSA7e2) */
    assert_string_equal(stub_header(seen, "x-ably-clientid", buf, sizeof(buf)), want);
    free(want);
    assert_string_equal(stub_header(seen, "x-ably-version", buf, sizeof(buf)), "6");
    assert_string_equal(stub_header(seen, "accept", buf, sizeof(buf)), "application/x-msgpack");
    free(seen);

    o.use_binary_protocol = 0;
    o.client_id = NULL;
    seen = request_through_stub(&o, 0, NULL);
    assert_string_equal(stub_header(seen, "accept", buf, sizeof(buf)), "application/json");
    assert_null(stub_header(seen, "x-ably-clientid", buf, sizeof(buf)));
    free(seen);
}

/* RSA4, RSA3b: a token literal selects token auth; REST sends Bearer base64(token). */
static void test_token_auth_bearer_header(void **state)
{
    (void)state;
    rta_client_options o;
    char buf[512];
    sdk_options(&o);
    o.auth.token = "app.literal-token";
    sdk_add_secret("app.literal-token");
    stub_request *seen = request_through_stub(&o, 0, NULL);
    char *want = b64("app.literal-token");
    assert_non_null(stub_header(seen, "authorization", buf, sizeof(buf)));
    assert_memory_equal(buf, "Bearer ", 7);
    assert_string_equal(buf + 7, want);
    free(want);
    free(seen);
}

/* RSA1, RSC18: Basic auth over plain HTTP to a non-loopback host is refused before any
 * request (40103); token auth over HTTP is fine (RSA3a). */
static void test_basic_over_non_tls_40103(void **state)
{
    (void)state;
    rta_client_options o;
    rta_error err;
    sdk_options(&o);
    o.endpoint = "192.0.2.1"; /* TEST-NET-1: never reached */
    o.auth.key = "app.key:secret";
    o.timeouts.http_open_ms = 200;
    rta_rest *r = sdk_rest(&o);
    assert_int_equal(rta_rest_request(r, "GET", "/x", NULL, NULL, &err),
                     RTA_ERR_BASIC_OVER_NON_TLS);
    assert_int_equal(err.status_code, 401);
    rta_revocation_target t = {"clientId", "bob"};
    rta_revocation_batch b;
    assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), &t, 1, NULL, &b, &err),
                     RTA_ERR_BASIC_OVER_NON_TLS);
    rta_rest_destroy(r);
}

/* RSC16: time() against rtauthd; no Authorization on /time (wire protocol 4.5). */
static void test_time(void **state)
{
    (void)state;
    rta_client_options o;
    rta_error err;
    sdk_options(&o);
    o.auth.key = "app.key:secret";
    rta_rest *r = sdk_rest(&o);
    int64_t t = 0;
    long long before = sdk_now_ms();
    assert_int_equal(rta_rest_time(r, &t, &err), 0);
    assert_true(t >= before - 1000 && t <= sdk_now_ms() + 1000);
    rta_rest_destroy(r);

    stub_server stub;
    assert_int_equal(stub_start(&stub, NULL, NULL), 0);
    o.port = stub.port;
    r = sdk_rest(&o);
    assert_int_not_equal(rta_rest_time(r, &t, &err), 0); /* "[]"-less empty reply: invalid */
    stub_request *seen = calloc(1, sizeof(*seen));
    stub_last(&stub, seen);
    char buf[256];
    assert_string_equal(seen->target, "/time");
    assert_null(stub_header(seen, "authorization", buf, sizeof(buf)));
    free(seen);
    rta_rest_destroy(r);
    stub_stop(&stub);
}

/* Connection failures are errors with a code, not crashes; the message has no secret. */
static void test_connection_refused(void **state)
{
    (void)state;
    rta_client_options o;
    rta_error err;
    stub_server stub; /* take a free port, then close it */
    assert_int_equal(stub_start(&stub, NULL, NULL), 0);
    int port = stub.port;
    stub_stop(&stub);
    sdk_options(&o);
    o.port = port;
    o.auth.key = "app.key:secret";
    rta_rest *r = sdk_rest(&o);
    int64_t t;
    assert_int_equal(rta_rest_time(r, &t, &err), RTA_ERR_CONNECTION_FAILED);
    assert_int_equal(rta_rest_request(r, "GET", "/x", NULL, NULL, &err), RTA_ERR_CONNECTION_FAILED);
    assert_null(strstr(err.message, "secret"));
    assert_int_equal(rta_rest_request(r, "BREW", "/x", NULL, NULL, &err), RTA_ERR_BAD_REQUEST);
    assert_int_equal(rta_rest_request(r, "GET", "no-slash", NULL, NULL, &err), RTA_ERR_BAD_REQUEST);
    rta_rest_destroy(r);
}

/* A request to rtauthd with Basic auth gets its JSON error mapped (RSC10 error body, msgpack by
 * default): an unknown route is 40400. */
static void test_error_body_mapping(void **state)
{
    (void)state;
    char keys[3][256];
    sdk_new_app(keys);
    for (int binary = 0; binary <= 1; binary++) {
        rta_client_options o;
        rta_error err;
        sdk_options(&o);
        o.use_binary_protocol = binary;
        o.auth.key = keys[0];
        rta_rest *r = sdk_rest(&o);
        rta_rest_response resp;
        assert_int_equal(rta_rest_request(r, "GET", "/no/such/route", NULL, &resp, &err),
                         RTA_ERR_NOT_FOUND);
        assert_int_equal(err.status_code, 404);
        assert_int_equal(resp.status_code, 404);
        assert_non_null(strstr(resp.body, "\"code\":40400")); /* msgpack turned into JSON */
        rta_rest_response_clear(&resp);
        rta_rest_destroy(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_auth_method_40106),
        cmocka_unit_test(test_single_string_classification),
        cmocka_unit_test(test_invalid_options),
        cmocka_unit_test(test_token_details_client_id_mismatch),
        cmocka_unit_test(test_client_id_and_token_details_at_start),
        cmocka_unit_test(test_basic_auth_headers),
        cmocka_unit_test(test_token_auth_bearer_header),
        cmocka_unit_test(test_basic_over_non_tls_40103),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_error_body_mapping),
    };
    return cmocka_run_group_tests(tests, sdk_setup, sdk_teardown);
}
