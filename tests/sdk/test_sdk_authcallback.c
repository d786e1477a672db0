/* test_sdk_authcallback.c: requestToken through an authCallback (RSA8d, TO3j5, RSA8g) with
 * every kind of value, its errors, timeouts and bad values (RSA4e, RSA4f, checklist D.3). A key
 * client of the same app plays the app's backend. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/jwt.h"
#include "core/key.h"
#include "sdk_test.h"

static char keys[3][256], key_name[256];
static rta_rest *backend; /* holds keys[0] */

/* What the callback does, set per test. */
typedef enum {
    GIVE_TOKEN_STRING,
    GIVE_DETAILS,
    GIVE_REQUEST,
    GIVE_JSON_DETAILS,
    GIVE_JSON_REQUEST,
    GIVE_JSON,    /* cb.text as is */
    GIVE_TEXT,    /* cb.text as a token string */
    GIVE_ERROR,   /* cb.code, cb.text */
    GIVE_LATE,    /* completes from another thread after cb.delay_ms */
    GIVE_NESTED,  /* tries a blocking call on its own client first */
    GIVE_BAD_MAC, /* a TokenRequest whose mac was altered */
    GIVE_JWT,
    GIVE_NULL_DETAILS,
    GIVE_BLOCKED, /* blocks (a synchronous call to a hung backend) until `released` */
} give_kind;

static atomic_int released, blocked_returned;

static struct {
    give_kind kind;
    const char *text;
    int code;
    int delay_ms;
    int calls;
    rta_token_params seen; /* copy of the params of the last call */
    int nested_rc;
    rta_rest *self;
} cb;

/* Callbacks run on threads of their own (options.h), and a blocked one may still be running
 * when the next starts: the lock keeps their bookkeeping race-free. */
static pthread_mutex_t remember_mu = PTHREAD_MUTEX_INITIALIZER;

static void remember(const rta_token_params *p)
{
    pthread_mutex_lock(&remember_mu);
    rta_token_params_clear(&cb.seen);
    rta_token_params_copy(p, &cb.seen);
    cb.calls++;
    pthread_mutex_unlock(&remember_mu);
}

typedef struct late {
    rta_auth_result *result;
    int delay_ms;
    char *token;
} late;

static void *late_main(void *arg)
{
    late *l = arg;
    usleep((useconds_t)l->delay_ms * 1000);
    rta_auth_result_set_token(l->result, l->token);
    free(l->token);
    free(l);
    return NULL;
}

static pthread_t late_thread;
static int late_running;

static void callback(const rta_token_params *params, rta_auth_result *result, void *data)
{
    assert_ptr_equal(data, &cb);
    remember(params);
    rta_token_details d;
    rta_token_request req;
    char *json = NULL;
    switch (cb.kind) {
    case GIVE_TOKEN_STRING:
    case GIVE_DETAILS:
    case GIVE_JSON_DETAILS:
    case GIVE_LATE:
        assert_int_equal(rta_auth_request_token(rta_rest_auth(backend), params, NULL, &d, NULL), 0);
        sdk_add_secret(d.token);
        if (cb.kind == GIVE_TOKEN_STRING) rta_auth_result_set_token(result, d.token);
        if (cb.kind == GIVE_DETAILS) rta_auth_result_set_token_details(result, &d);
        if (cb.kind == GIVE_JSON_DETAILS) {
            assert_int_equal(rta_token_details_to_json(&d, &json), 0);
            rta_auth_result_set_json(result, json);
        }
        if (cb.kind == GIVE_LATE) {
            late *l = malloc(sizeof(*l));
            *l = (late){result, cb.delay_ms, strdup(d.token)};
            pthread_create(&late_thread, NULL, late_main, l);
            late_running = 1;
        }
        rta_token_details_clear(&d);
        break;
    case GIVE_REQUEST:
    case GIVE_JSON_REQUEST:
    case GIVE_BAD_MAC:
        assert_int_equal(
            rta_auth_create_token_request(rta_rest_auth(backend), params, NULL, &req, NULL), 0);
        sdk_add_secret(req.mac);
        if (cb.kind == GIVE_BAD_MAC) /* the library's copy, ours to change (token.h) */
            ((char *)req.mac)[0] = req.mac[0] == 'A' ? 'B' : 'A';
        if (cb.kind == GIVE_JSON_REQUEST) {
            assert_int_equal(rta_token_request_to_json(&req, &json), 0);
            rta_auth_result_set_json(result, json);
        } else {
            rta_auth_result_set_token_request(result, &req);
        }
        rta_token_request_clear(&req);
        break;
    case GIVE_JSON:
        rta_auth_result_set_json(result, cb.text);
        break;
    case GIVE_TEXT:
        rta_auth_result_set_token(result, cb.text);
        break;
    case GIVE_ERROR:
        rta_auth_result_set_error(result, cb.code, cb.text);
        break;
    case GIVE_NULL_DETAILS:
        rta_auth_result_set_token_details(result, NULL);
        break;
    case GIVE_BLOCKED:
        for (int i = 0; i < 6000 && !atomic_load(&released); i++)
            usleep(5000);
        rta_auth_result_set_token(result, "late-answer"); /* must be discarded */
        atomic_fetch_add(&blocked_returned, 1);
        break;
    case GIVE_NESTED: {
        rta_error err;
        cb.nested_rc = rta_auth_request_token(rta_rest_auth(cb.self), NULL, NULL, &d, &err);
        int64_t t;
        assert_int_equal(rta_rest_time(cb.self, &t, &err), RTA_ERR_BAD_REQUEST);
        /* a blocking call on another client is fine */
        assert_int_equal(rta_rest_time(backend, &t, &err), 0);
        rta_auth_result_set_error(result, 0, "nested");
        break;
    }
    case GIVE_JWT: {
        rta_key k;
        assert_int_equal(rta_key_parse(keys[0], strlen(keys[0]), &k, NULL), 0);
        rta_jwt_claims c = {.key_name = k.key_name,
                            .iat = sdk_now_ms() / 1000,
                            .exp = sdk_now_ms() / 1000 + 600,
                            .client_id = "jwt-user"};
        rta_buf b = RTA_BUF_INIT;
        assert_int_equal(rta_jwt_sign(&c, k.secret, k.secret_len, &b), 0);
        sdk_add_secret(b.data);
        rta_auth_result_set_token(result, b.data);
        rta_buf_free(&b);
        break;
    }
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
    return rta_rest_create(&o, &backend, NULL);
}

static int group_teardown(void **state)
{
    rta_rest_destroy(backend);
    rta_token_params_clear(&cb.seen);
    return sdk_teardown(state);
}

static rta_rest *callback_client(give_kind kind)
{
    cb.kind = kind;
    cb.calls = 0;
    cb.text = NULL;
    cb.code = 0;
    cb.delay_ms = 0;
    cb.nested_rc = 0;
    rta_client_options o;
    sdk_options(&o);
    o.auth.auth_callback = callback;
    o.auth.auth_callback_data = &cb;
    rta_rest *r = sdk_rest(&o);
    cb.self = r;
    return r;
}

/* Gets a token through the callback and checks rtauthd accepts it. */
static void expect_token(give_kind kind, const char *client_id)
{
    rta_rest *r = callback_client(kind);
    rta_token_params p = {.client_id = (char *)client_id, .ttl = 90000};
    rta_token_details d;
    rta_error err;
    int rc = rta_auth_request_token(rta_rest_auth(r), &p, NULL, &d, &err);
    if (rc) fprintf(stderr, "kind %d: %d %s\n", kind, rc, err.message);
    assert_int_equal(rc, 0);
    assert_int_equal(cb.calls, 1);
    assert_int_equal(cb.seen.ttl, 90000); /* RSA8d: the callback gets the TokenParams */
    assert_int_equal(sdk_probe_token(key_name, d.token), RTA_ERR_REQUIRES_BASIC);
    if (kind != GIVE_TOKEN_STRING) assert_string_equal(d.client_id, client_id);
    if (kind == GIVE_TOKEN_STRING) assert_null(d.client_id); /* only the string is known */
    rta_token_details_clear(&d);
    rta_rest_destroy(r);
}

static void test_token_string(void **state)
{
    (void)state;
    expect_token(GIVE_TOKEN_STRING, "s1");
}

static void test_token_details(void **state)
{
    (void)state;
    expect_token(GIVE_DETAILS, "s2");
}

/* RSA8d: a TokenRequest is exchanged with the server. */
static void test_token_request(void **state)
{
    (void)state;
    expect_token(GIVE_REQUEST, "s3");
}

/* TO3j5, D.3: JSON with "token" is TokenDetails, with "keyName" a TokenRequest. */
static void test_json_values(void **state)
{
    (void)state;
    expect_token(GIVE_JSON_DETAILS, "s4");
    expect_token(GIVE_JSON_REQUEST, "s5");
}

/* RSA8g: a JWT from the callback works as a token. */
static void test_jwt(void **state)
{
    (void)state;
    rta_rest *r = callback_client(GIVE_JWT);
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, NULL), 0);
    assert_int_equal(sdk_probe_token(key_name, d.token), RTA_ERR_REQUIRES_BASIC);
    rta_rest_destroy(r);
    /* RSA3d, RSC1c: the JWT as a token literal authenticates the client's own requests */
    rta_client_options o;
    rta_client_options_init_string(&o, d.token);
    o.endpoint = "127.0.0.1";
    o.port = sdk_server.port;
    o.tls = 0;
    r = sdk_rest(&o);
    char path[300];
    snprintf(path, sizeof(path), "/keys/%s/revokeTokens", key_name);
    rta_error err;
    assert_int_equal(
        rta_rest_request(r, "POST", path, "{\"targets\":[\"clientId:x\"]}", NULL, &err),
        RTA_ERR_REQUIRES_BASIC); /* accepted, then refused for needing Basic */
    rta_rest_destroy(r);
    rta_token_details_clear(&d);
}

/* The callback sees the capability canonicalised and the configured clientId (RSA7d). */
static void test_callback_params(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.auth_callback = callback;
    o.auth.auth_callback_data = &cb;
    o.client_id = "frank";
    o.default_token_params.ttl = 45000;
    o.default_token_params.client_id = "not-frank"; /* RSA7a4: ClientOptions.clientId wins */
    rta_rest *r = sdk_rest(&o);
    cb.kind = GIVE_ERROR;
    cb.calls = 0;
    rta_token_params p = {.capability = "{ \"b\": [\"subscribe\",\"publish\"], \"a\":[\"*\"] }"};
    assert_int_equal(
        rta_auth_request_token(rta_rest_auth(r), &p, NULL, &(rta_token_details){0}, NULL),
        RTA_ERR_AUTH_CALLBACK);
    assert_string_equal(cb.seen.capability, "{\"a\":[\"*\"],\"b\":[\"publish\",\"subscribe\"]}");
    assert_string_equal(cb.seen.client_id, "frank");
    assert_int_equal(cb.seen.ttl, 0); /* RSA8e: passed params replace the defaults */
    assert_int_equal(
        rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &(rta_token_details){0}, NULL),
        RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(cb.seen.ttl, 45000); /* TO3j11: defaultTokenParams */
    assert_string_equal(cb.seen.client_id, "frank");
    rta_rest_destroy(r);
}

/* A failing exchange is the server's error, not 40170 (RSA4e). */
static void test_exchange_error_passes_through(void **state)
{
    (void)state;
    rta_rest *r = callback_client(GIVE_BAD_MAC);
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, &err),
                     RTA_ERR_INVALID_CREDENTIALS);
    assert_int_equal(err.cause_code, 0);
    rta_rest_destroy(r);
}

/* RSA4e: an error from the callback is 40170/401 with the callback's error as the cause. */
static void test_callback_error(void **state)
{
    (void)state;
    rta_rest *r = callback_client(GIVE_ERROR);
    cb.code = RTA_ERR_FORBIDDEN;
    cb.text = "user is banned";
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, &err),
                     RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(err.status_code, 401);
    assert_int_equal(err.cause_code, RTA_ERR_FORBIDDEN);
    assert_int_equal(err.cause_status_code, 403);
    assert_string_equal(err.cause_message, "user is banned");
    assert_non_null(strstr(err.message, "user is banned"));
    cb.code = 0;
    cb.text = NULL;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, &err),
                     RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(err.cause_code, RTA_ERR_AUTH_CALLBACK);
    rta_rest_destroy(r);
}

/* RSA4f: values that are not usable tokens are 40170. */
static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        give_kind kind;
        const char *text;
    } bad[] = {
        {GIVE_TEXT, ""},
        {GIVE_TEXT, NULL},
        {GIVE_TEXT, "null"},
        {GIVE_TEXT, "undefined"},
        {GIVE_TEXT, "{\"token\":\"double.encoded\"}"},
        {GIVE_JSON, "{\"neither\":1}"},
        {GIVE_JSON, "[\"array\"]"},
        {GIVE_JSON, "{not json"},
        {GIVE_JSON, "{\"token\":\"\"}"},
        {GIVE_JSON, "{\"token\":42}"},
        {GIVE_JSON,
         "{\"keyName\":\"bad name/../x\",\"timestamp\":1,\"nonce\":\"n\",\"mac\":\"m\"}"},
        {GIVE_JSON, NULL},
        {GIVE_NULL_DETAILS, NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rta_rest *r = callback_client(bad[i].kind);
        cb.text = bad[i].text;
        rta_token_details d;
        rta_error err;
        int rc = rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, &err);
        if (rc != RTA_ERR_AUTH_CALLBACK) fprintf(stderr, "bad value %zu: %d\n", i, rc);
        assert_int_equal(rc, RTA_ERR_AUTH_CALLBACK);
        assert_int_equal(err.status_code, 401);
        assert_null(d.token);
        rta_rest_destroy(r);
    }
    /* RSA4f: over 128 KiB */
    char *big = malloc(129 * 1024 + 1);
    memset(big, 'a', 129 * 1024);
    big[129 * 1024] = '\0';
    rta_rest *r = callback_client(GIVE_TEXT);
    cb.text = big;
    rta_error err;
    assert_int_equal(
        rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &(rta_token_details){0}, &err),
        RTA_ERR_AUTH_CALLBACK);
    assert_non_null(strstr(err.message, "128 KiB"));
    rta_rest_destroy(r);
    free(big);
}

/* A callback may complete later from another thread; one that is too late is 40170 with a
 * timeout cause, and its late completion is harmless (no leak, no crash). */
static void test_late_completion(void **state)
{
    (void)state;
    rta_client_options o;
    for (int too_late = 0; too_late <= 1; too_late++) {
        sdk_options(&o);
        o.auth.auth_callback = callback;
        o.auth.auth_callback_data = &cb;
        o.timeouts.auth_request_ms = 400;
        rta_rest *r = sdk_rest(&o);
        cb.kind = GIVE_LATE;
        cb.delay_ms = too_late ? 900 : 50;
        rta_token_details d;
        rta_error err;
        int rc = rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, &err);
        if (too_late) {
            assert_int_equal(rc, RTA_ERR_AUTH_CALLBACK);
            assert_int_equal(err.cause_code, RTA_ERR_TIMEOUT);
        } else {
            assert_int_equal(rc, 0);
            assert_non_null(d.token);
            rta_token_details_clear(&d);
        }
        rta_rest_destroy(r); /* before the late completion: the result outlives the client */
        pthread_join(late_thread, NULL);
        late_running = 0;
    }
}

static atomic_int async_rc = -1, async_cause = -1;

static void on_token(int rc, const rta_token_details *d, const rta_error *err, void *ud)
{
    (void)ud;
    assert_true(rc ? d == NULL : d != NULL);
    atomic_store(&async_cause, err->cause_code);
    atomic_store(&async_rc, rc);
}

/* RSA4c, RSA4e: a callback that blocks (it never returns until we let it) is timed from its
 * call, whichever thread it blocks: the blocking requestToken and the _async one both fail
 * with 40170 (cause 50003) at auth_request_ms, while the callback is still blocked; its late
 * answer is discarded. Before, the caller's thread ran the callback and waited for it. */
static void test_blocked_callback_times_out(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.auth_callback = callback;
    o.auth.auth_callback_data = &cb;
    o.timeouts.auth_request_ms = 500;
    rta_rest *r = sdk_rest(&o);
    cb.kind = GIVE_BLOCKED;
    atomic_store(&released, 0);
    atomic_store(&blocked_returned, 0);

    rta_token_details d;
    rta_error err;
    int64_t t0 = sdk_now_ms();
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, &err),
                     RTA_ERR_AUTH_CALLBACK);
    int64_t took = sdk_now_ms() - t0;
    assert_int_equal(err.status_code, 401);
    assert_int_equal(err.cause_code, RTA_ERR_TIMEOUT);
    assert_null(d.token);
    assert_int_equal(atomic_load(&blocked_returned), 0); /* it is still blocked */
    assert_true(took >= 450);

    /* the _async form: the worker thread is not the one blocked either */
    assert_int_equal(rta_auth_request_token_async(rta_rest_auth(r), NULL, NULL, on_token, NULL, NULL), 0);
    for (int i = 0; i < 3000 && atomic_load(&async_rc) == -1; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&async_rc), RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(atomic_load(&async_cause), RTA_ERR_TIMEOUT);
    assert_int_equal(atomic_load(&blocked_returned), 0);

    atomic_store(&released, 1); /* both late answers arrive now and are dropped */
    rta_rest_destroy(r);        /* waits for the callback threads */
    assert_int_equal(atomic_load(&blocked_returned), 2);
}

/* A blocking call on the same client from inside its authCallback fails with 40000 instead of
 * deadlocking (DESIGN section 4). */
static void test_blocking_call_from_callback(void **state)
{
    (void)state;
    rta_rest *r = callback_client(GIVE_NESTED);
    rta_error err;
    assert_int_equal(
        rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &(rta_token_details){0}, &err),
        RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(cb.nested_rc, RTA_ERR_BAD_REQUEST);
    rta_rest_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_string),
        cmocka_unit_test(test_token_details),
        cmocka_unit_test(test_token_request),
        cmocka_unit_test(test_json_values),
        cmocka_unit_test(test_jwt),
        cmocka_unit_test(test_callback_params),
        cmocka_unit_test(test_exchange_error_passes_through),
        cmocka_unit_test(test_callback_error),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_late_completion),
        cmocka_unit_test(test_blocking_call_from_callback),
        cmocka_unit_test(test_blocked_callback_times_out),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
