/* test_sdk_authurl.c: requestToken through an authUrl served by a real local HTTP server
 * (RSA8c, RSA8c1a-c, RSA8c2, RSA8c3, RSA8g, RSA4e, RSA4f; wire protocol 4.3): GET and POST,
 * headers, params, each reply type, 404, 500, wrong or missing Content-Type, too large, and
 * timeout. The app's "backend" signs with a key client, as examples/auth_server.c does. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jwt.h"
#include "core/key.h"
#include "sdk_test.h"
#include "stub_http.h"

static char keys[3][256], key_name[256];
static rta_rest *backend;
static stub_server stub;

typedef enum {
    REPLY_REQUEST, /* application/json TokenRequest */
    REPLY_DETAILS, /* application/json TokenDetails */
    REPLY_TEXT,    /* text/plain token */
    REPLY_JWT,     /* application/jwt */
    REPLY_CANNED,  /* status/content type/body below */
} reply_kind;

typedef struct reply_cfg {
    reply_kind kind;
    int status;
    const char *content_type;
    const char *body;
    int delay_ms;
    size_t big; /* a body of this many bytes */
} reply_cfg;
static reply_cfg reply;

/* The stub's threads read `reply` while a test may already set up the next one (a slow reply
 * outlives the client that timed out): copy it under this lock. */
static pthread_mutex_t reply_mu = PTHREAD_MUTEX_INITIALIZER;

static void set_reply(reply_kind kind)
{
    pthread_mutex_lock(&reply_mu);
    reply.kind = kind;
    pthread_mutex_unlock(&reply_mu);
}

static void handler(const stub_request *req, stub_reply *rep, void *ctx)
{
    (void)req, (void)ctx;
    pthread_mutex_lock(&reply_mu);
    reply_cfg cfg = reply;
    pthread_mutex_unlock(&reply_mu);
    rta_token_request tr;
    rta_token_details d;
    char *json = NULL;
    rep->delay_ms = cfg.delay_ms;
    switch (cfg.kind) {
    case REPLY_REQUEST:
        if (rta_auth_create_token_request(rta_rest_auth(backend), NULL, NULL, &tr, NULL) == 0) {
            rta_token_request_to_json(&tr, &json);
            rta_token_request_clear(&tr);
        }
        stub_reply_set(rep, 200, "application/json", json);
        break;
    case REPLY_DETAILS:
    case REPLY_TEXT:
        if (rta_auth_request_token(rta_rest_auth(backend), NULL, NULL, &d, NULL) == 0) {
            sdk_add_secret(d.token);
            if (cfg.kind == REPLY_DETAILS)
                rta_token_details_to_json(&d, &json);
            else
                json = strdup(d.token);
            rta_token_details_clear(&d);
        }
        stub_reply_set(rep, 200,
                       cfg.kind == REPLY_DETAILS ? "application/json; charset=utf-8" : "text/plain",
                       json);
        break;
    case REPLY_JWT: {
        rta_key k;
        rta_key_parse(keys[0], strlen(keys[0]), &k, NULL);
        rta_jwt_claims c = {
            .key_name = k.key_name, .iat = sdk_now_ms() / 1000, .exp = sdk_now_ms() / 1000 + 600};
        rta_buf b = RTA_BUF_INIT;
        rta_jwt_sign(&c, k.secret, k.secret_len, &b);
        sdk_add_secret(b.data);
        stub_reply_set(rep, 200, "application/jwt", b.data);
        rta_buf_free(&b);
        break;
    }
    case REPLY_CANNED:
        stub_reply_set(rep, cfg.status, cfg.content_type, cfg.body);
        if (cfg.big) {
            free(rep->body);
            rep->body = malloc(cfg.big);
            memset(rep->body, 'x', cfg.big);
            rep->body_len = cfg.big;
        }
        break;
    }
    free(json);
}

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    sdk_key_name(keys[0], key_name);
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    o.client_id = "url-user"; /* the backend decides who the token is for */
    if (rta_rest_create(&o, &backend, NULL)) return -1;
    return stub_start(&stub, handler, NULL);
}

static int group_teardown(void **state)
{
    stub_stop(&stub);
    rta_rest_destroy(backend);
    return sdk_teardown(state);
}

static void url_options(rta_client_options *o, char *url, size_t size, const char *suffix)
{
    snprintf(url, size, "%s%s", stub.url, suffix);
    sdk_options(o);
    o->auth.auth_url = url;
}

/* Gets a token through the authUrl and returns the call's code (0 with *out filled). */
static int fetch(rta_client_options *o, const rta_token_params *p, rta_token_details *out,
                 rta_error *err)
{
    rta_rest *r = sdk_rest(o);
    int rc = rta_auth_request_token(rta_rest_auth(r), p, NULL, out, err);
    rta_rest_destroy(r);
    return rc;
}

/* RSA8c, RSA8g: each good reply type gives a token rtauthd accepts. */
static void test_reply_types(void **state)
{
    (void)state;
    static const reply_kind kinds[] = {REPLY_REQUEST, REPLY_DETAILS, REPLY_TEXT, REPLY_JWT};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        for (int post = 0; post <= 1; post++) {
            rta_client_options o;
            char url[256];
            url_options(&o, url, sizeof(url), "/auth");
            o.auth.auth_method = post ? RTA_AUTH_POST : RTA_AUTH_GET;
            set_reply(kinds[i]);
            rta_token_details d;
            rta_error err;
            int rc = fetch(&o, NULL, &d, &err);
            if (rc) fprintf(stderr, "kind %d: %d %s\n", kinds[i], rc, err.message);
            assert_int_equal(rc, 0);
            assert_int_equal(sdk_probe_token(key_name, d.token), RTA_ERR_REQUIRES_BASIC);
            if (kinds[i] == REPLY_REQUEST || kinds[i] == REPLY_DETAILS)
                assert_string_equal(d.client_id, "url-user");
            rta_token_details_clear(&d);
            stub_request *seen = calloc(1, sizeof(*seen));
            stub_last(&stub, seen);
            assert_string_equal(seen->method, post ? "POST" : "GET");
            free(seen);
        }
    }
}

/* RSA8c1a, RSA8c1c, RSA8c2: GET merges the URL's query, authParams and TokenParams, in that
 * order of precedence; authHeaders go as headers after the default Accept (RSA8c1). */
static void test_get_params_and_headers(void **state)
{
    (void)state;
    rta_client_options o;
    char url[256];
    url_options(&o, url, sizeof(url), "/auth?a=1&shared=url&clientId=fromurl");
    rta_name_value params[] = {{"shared", "param"}, {"p", "two words"}, {"clientId", "fromparam"}};
    rta_name_value headers[] = {{"X-App-Session", "sess-42"}};
    o.auth.auth_params = params;
    o.auth.auth_param_count = 3;
    o.auth.auth_headers = headers;
    o.auth.auth_header_count = 1;
    set_reply(REPLY_REQUEST);
    rta_token_params p = {
        .ttl = 60000, .client_id = "tokenparam", .capability = "{\"x\":[\"subscribe\"]}"};
    rta_token_details d;
    assert_int_equal(fetch(&o, &p, &d, NULL), 0);
    rta_token_details_clear(&d);
    stub_request *seen = calloc(1, sizeof(*seen));
    stub_last(&stub, seen);
    assert_string_equal(seen->method, "GET");
    assert_string_equal(seen->target,
                        "/auth?a=1&shared=param&clientId=tokenparam&p=two%20words&ttl=60000&"
                        "capability=%7B%22x%22%3A%5B%22subscribe%22%5D%7D");
    char buf[256];
    assert_string_equal(stub_header(seen, "x-app-session", buf, sizeof(buf)), "sess-42");
    assert_string_equal(stub_header(seen, "accept", buf, sizeof(buf)),
                        "application/json, text/plain");
    assert_null(stub_header(seen, "authorization", buf, sizeof(buf)));
    free(seen);
}

/* RSA8c1b, RSA8c1c: POST sends a form body; the URL keeps its own query. authHeaders may
 * replace Accept. */
static void test_post_form(void **state)
{
    (void)state;
    rta_client_options o;
    char url[256];
    url_options(&o, url, sizeof(url), "/auth?tenant=t1");
    rta_name_value params[] = {{"user", "bob&co"}};
    rta_name_value headers[] = {{"Accept", "application/json"}};
    o.auth.auth_method = RTA_AUTH_POST;
    o.auth.auth_params = params;
    o.auth.auth_param_count = 1;
    o.auth.auth_headers = headers;
    o.auth.auth_header_count = 1;
    set_reply(REPLY_REQUEST);
    rta_token_params p = {.client_id = "cid"};
    rta_token_details d;
    assert_int_equal(fetch(&o, &p, &d, NULL), 0);
    rta_token_details_clear(&d);
    stub_request *seen = calloc(1, sizeof(*seen));
    stub_last(&stub, seen);
    assert_string_equal(seen->method, "POST");
    assert_string_equal(seen->target, "/auth?tenant=t1");
    assert_string_equal(seen->body, "user=bob%26co&clientId=cid");
    char buf[256];
    assert_string_equal(stub_header(seen, "content-type", buf, sizeof(buf)),
                        "application/x-www-form-urlencoded");
    assert_string_equal(stub_header(seen, "accept", buf, sizeof(buf)), "application/json");
    free(seen);
}

/* RSA8c3: authParams/authHeaders in AuthOptions replace the client's entirely. */
static void test_auth_options_replace_params(void **state)
{
    (void)state;
    rta_client_options o;
    char url[256];
    url_options(&o, url, sizeof(url), "/auth");
    rta_name_value params[] = {{"old", "1"}};
    o.auth.auth_params = params;
    o.auth.auth_param_count = 1;
    set_reply(REPLY_REQUEST);
    rta_rest *r = sdk_rest(&o);
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.auth_url = url;
    rta_name_value fresh[] = {{"new", "2"}};
    ao.auth_params = fresh;
    ao.auth_param_count = 1;
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, &ao, &d, NULL), 0);
    rta_token_details_clear(&d);
    stub_request *seen = calloc(1, sizeof(*seen));
    stub_last(&stub, seen);
    assert_string_equal(seen->target, "/auth?new=2");
    free(seen);
    rta_rest_destroy(r);
}

static int canned(int status, const char *ct, const char *body, rta_error *err)
{
    rta_client_options o;
    char url[256];
    url_options(&o, url, sizeof(url), "/auth");
    o.timeouts.auth_request_ms = 500;
    pthread_mutex_lock(&reply_mu);
    reply.kind = REPLY_CANNED;
    reply.status = status;
    reply.content_type = ct;
    reply.body = body;
    pthread_mutex_unlock(&reply_mu);
    rta_token_details d;
    int rc = fetch(&o, NULL, &d, err);
    assert_null(d.token);
    pthread_mutex_lock(&reply_mu);
    reply.delay_ms = 0;
    reply.big = 0;
    pthread_mutex_unlock(&reply_mu);
    return rc;
}

/* RSA4e: HTTP errors from the authUrl are 40170/401 with the status in the cause. */
static void test_http_errors(void **state)
{
    (void)state;
    rta_error err;
    assert_int_equal(canned(404, "text/html", "<h1>nope</h1>", &err), RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(err.status_code, 401);
    assert_int_equal(err.cause_code, 40400);
    assert_int_equal(err.cause_status_code, 404);
    assert_int_equal(canned(500, "text/plain", "boom", &err), RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(err.cause_code, 50000);
    assert_int_equal(err.cause_status_code, 500);
    /* an Ably-style error body is read for the cause */
    assert_int_equal(canned(403, "application/json",
                            "{\"error\":{\"code\":40300,\"statusCode\":403,\"message\":\"no\"}}",
                            &err),
                     RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(err.cause_code, 40300);
    assert_int_equal(err.cause_status_code, 403);
    assert_string_equal(err.cause_message, "no");
}

/* RSA4f: a missing or unacceptable Content-Type, a bad JSON value, a body over 128 KiB. */
static void test_bad_replies(void **state)
{
    (void)state;
    rta_error err;
    assert_int_equal(canned(200, "text/html", "app.token", &err), RTA_ERR_AUTH_CALLBACK);
    assert_non_null(strstr(err.message, "Content-Type"));
    assert_int_equal(canned(200, "", "app.token", &err), RTA_ERR_AUTH_CALLBACK);
    assert_non_null(strstr(err.message, "missing"));
    assert_int_equal(canned(200, "application/json", "{\"neither\":true}", &err),
                     RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(canned(200, "application/json", "not json", &err), RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(err.cause_code, RTA_ERR_INVALID_BODY);
    assert_int_equal(canned(200, "text/plain", "", &err), RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(canned(200, "text/plain", "{\"token\":\"x.y\"}", &err),
                     RTA_ERR_AUTH_CALLBACK); /* double-encoded */
    pthread_mutex_lock(&reply_mu);
    reply.big = 129 * 1024;
    pthread_mutex_unlock(&reply_mu);
    assert_int_equal(canned(200, "text/plain", "x", &err), RTA_ERR_AUTH_CALLBACK);
    assert_non_null(strstr(err.message, "128 KiB"));
    assert_int_equal(err.cause_code, RTA_ERR_MESSAGE_TOO_LARGE);
    /* a token string rtauthd does not know is accepted by the SDK (TN1: opaque) and refused
     * by the server when used */
    rta_token_details d;
    rta_client_options o;
    char url[256];
    url_options(&o, url, sizeof(url), "/auth");
    pthread_mutex_lock(&reply_mu);
    reply.kind = REPLY_CANNED;
    reply.status = 200;
    reply.content_type = "text/plain";
    reply.body = "app.forged\r\n";
    pthread_mutex_unlock(&reply_mu);
    assert_int_equal(fetch(&o, NULL, &d, &err), 0);
    assert_string_equal(d.token, "app.forged");
    assert_true(rta_error_is_token_error(sdk_probe_token(key_name, d.token)));
    rta_token_details_clear(&d);
}

/* A slow authUrl is 40170 with a timeout cause after auth_request_ms; an unreachable one 40170
 * with a connection cause. */
static void test_timeout_and_unreachable(void **state)
{
    (void)state;
    rta_error err;
    pthread_mutex_lock(&reply_mu);
    reply.delay_ms = 1500;
    pthread_mutex_unlock(&reply_mu);
    assert_int_equal(canned(200, "text/plain", "app.slow", &err), RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(err.cause_code, RTA_ERR_TIMEOUT);

    stub_server closed;
    assert_int_equal(stub_start(&closed, NULL, NULL), 0);
    char url[256];
    snprintf(url, sizeof(url), "%s/auth", closed.url);
    stub_stop(&closed);
    rta_client_options o;
    sdk_options(&o);
    o.auth.auth_url = url;
    rta_token_details d;
    assert_int_equal(fetch(&o, NULL, &d, &err), RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(err.cause_code, RTA_ERR_CONNECTION_FAILED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_types),
        cmocka_unit_test(test_get_params_and_headers),
        cmocka_unit_test(test_post_form),
        cmocka_unit_test(test_auth_options_replace_params),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_bad_replies),
        cmocka_unit_test(test_timeout_and_unreachable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
