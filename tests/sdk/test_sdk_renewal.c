/* test_sdk_renewal.c: token renewal on REST requests (RSC10, RSA4b, RSA4b1, RSA4a2, RSA16d) and
 * concurrent requests sharing one token request, against rtauthd with tiny-ttl tokens.
 * The authenticated request used is POST /keys/{keyName}/revokeTokens with Bearer auth: rtauthd
 * answers 40162 (Basic needed) once it has accepted the token, and 4014x when it has not. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk_test.h"

static char keys[3][256], key_name[256], path[400];
static rta_rest *backend;

/* The callback hands out a token that expired already (ttl 1 ms) while expired_left > 0. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int calls, expired_left, fake_expiry, delay_ms;

static void callback(const rta_token_params *params, rta_auth_result *result, void *data)
{
    (void)params, (void)data;
    pthread_mutex_lock(&mu);
    calls++;
    int expired = expired_left > 0 ? expired_left-- : 0;
    pthread_mutex_unlock(&mu);
    if (delay_ms) usleep((useconds_t)delay_ms * 1000);
    rta_token_params p = {.ttl = expired ? 1 : 600000};
    rta_token_details d;
    rta_error err;
    int rc = rta_auth_request_token(rta_rest_auth(backend), &p, NULL, &d, &err);
    if (rc) fprintf(stderr, "backend requestToken: %d %s\n", rc, err.message);
    assert_int_equal(rc, 0);
    sdk_add_secret(d.token);
    if (fake_expiry) d.expires = sdk_now_ms() - 10000; /* valid token, expiry said to be past */
    if (expired) usleep(5000);                         /* make sure ttl 1 ms has passed */
    rta_auth_result_set_token_details(result, &d);
    rta_token_details_clear(&d);
}

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    sdk_key_name(keys[0], key_name);
    snprintf(path, sizeof(path), "/keys/%s/revokeTokens", key_name);
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    return rta_rest_create(&o, &backend, NULL);
}

static int group_teardown(void **state)
{
    rta_rest_destroy(backend);
    return sdk_teardown(state);
}

static rta_rest *callback_client(int expired, int fake)
{
    calls = 0;
    expired_left = expired;
    fake_expiry = fake;
    delay_ms = 0;
    rta_client_options o;
    sdk_options(&o);
    o.auth.auth_callback = callback;
    return sdk_rest(&o);
}

static int probe_request(rta_rest *r, rta_error *err)
{
    return rta_rest_request(r, "POST", path, "{\"targets\":[\"clientId:x\"]}", NULL, err);
}

/* RSC10, RSA4b: 40142 on a request: one new token, one retry, which succeeds in getting past
 * authentication (40162 is a non-token error: not renewed again). */
static void test_renew_once_on_token_error(void **state)
{
    (void)state;
    rta_rest *r = callback_client(1, 0);
    rta_error err;
    assert_int_equal(probe_request(r, &err), RTA_ERR_REQUIRES_BASIC);
    assert_int_equal(calls, 2);
    /* the new token stays in use */
    assert_int_equal(probe_request(r, &err), RTA_ERR_REQUIRES_BASIC);
    assert_int_equal(calls, 2);
    rta_rest_destroy(r);
}

/* error.h's contract (issue 15): err is "no error" after a success, even when the first
 * attempt failed with a token error (40142) and only the retry with a renewed token (RSA4b)
 * succeeded; before, err still held the 40142 of the first attempt. */
static void test_err_cleared_on_success_after_renewal(void **state)
{
    (void)state;
    rta_rest *r = callback_client(1, 0);
    rta_error err;
    rta_error_set(&err, RTA_ERR_CHANNEL_FAILED, "stale");
    rta_rest_response resp;
    assert_int_equal(rta_rest_request(r, "GET", "/channels/renewed/messages", NULL, &resp, &err),
                     0);
    assert_int_equal(calls, 2); /* expired token, then the renewed one */
    assert_int_equal(resp.status_code, 200);
    rta_rest_response_clear(&resp);
    assert_int_equal(err.code, 0);
    assert_int_equal(err.status_code, 0);
    assert_int_equal(err.cause_code, 0);
    assert_string_equal(err.message, "");
    rta_error_set(&err, RTA_ERR_CHANNEL_FAILED, "stale");
    rta_token_details d;
    assert_int_equal(rta_auth_token_details(rta_rest_auth(r), &d, &err), 0);
    assert_int_equal(err.code, 0);
    rta_token_details_clear(&d);
    rta_rest_destroy(r);
}

/* RSA4b: if the retry gets a token error again, that error is returned (no loop). */
static void test_renew_only_once(void **state)
{
    (void)state;
    rta_rest *r = callback_client(100, 0);
    rta_error err;
    assert_int_equal(probe_request(r, &err), RTA_ERR_TOKEN_EXPIRED);
    assert_int_equal(err.status_code, 401);
    assert_int_equal(calls, 2);
    rta_token_details d;
    assert_int_equal(rta_auth_token_details(rta_rest_auth(r), &d, NULL), 0);
    assert_null(d.token); /* RSA16d: a rejected token is forgotten */
    rta_rest_destroy(r);
}

/* A key with useTokenAuth renews from the key. RSA10e: authorize with both an (expired) token
 * and the key uses the token now and keeps the key for renewal. */
static void test_key_token_auth_renewal(void **state)
{
    (void)state;
    rta_token_params p = {.ttl = 1};
    rta_token_details expired;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(backend), &p, NULL, &expired, NULL), 0);
    sdk_add_secret(expired.token);
    usleep(5000);
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    o.auth.use_token_auth = 1;
    rta_rest *r = sdk_rest(&o);
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.key = keys[0];
    ao.token_details = &expired;
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_auth_authorize(rta_rest_auth(r), NULL, &ao, &d, &err), 0);
    assert_string_equal(d.token, expired.token);
    rta_token_details_clear(&d);
    assert_int_equal(probe_request(r, &err), RTA_ERR_REQUIRES_BASIC); /* renewed with the key */
    assert_int_equal(rta_auth_token_details(rta_rest_auth(r), &d, NULL), 0);
    assert_string_not_equal(d.token, expired.token);
    assert_int_equal(d.expires - d.issued, 3600000);
    rta_token_details_clear(&d);
    rta_token_details_clear(&expired);
    rta_rest_destroy(r);
}

/* RSA4a2: a token literal with no means to renew: a token error becomes 40171/403 with the
 * server's error as the cause. */
static void test_no_means_to_renew_40171(void **state)
{
    (void)state;
    rta_token_params p = {.ttl = 1};
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(backend), &p, NULL, &d, NULL), 0);
    sdk_add_secret(d.token);
    usleep(5000);
    rta_client_options o;
    sdk_options(&o);
    o.auth.token = d.token;
    rta_rest *r = sdk_rest(&o);
    rta_error err;
    assert_int_equal(probe_request(r, &err), RTA_ERR_NO_RENEWAL);
    assert_int_equal(err.status_code, 403);
    assert_int_equal(err.cause_code, RTA_ERR_TOKEN_EXPIRED);
    rta_token_details cur;
    assert_int_equal(rta_auth_token_details(rta_rest_auth(r), &cur, NULL), 0);
    assert_null(cur.token);
    /* next request: no token and no way to get one */
    assert_int_equal(probe_request(r, &err), RTA_ERR_NO_RENEWAL);
    rta_rest_destroy(r);
    rta_token_details_clear(&d);
}

/* RSA4b1: with a server time offset known, a token past its expiry is replaced before the
 * request is sent; without one, the token is sent and the server judges it. */
static void test_local_expiry_check(void **state)
{
    (void)state;
    rta_rest *r = callback_client(0, 1); /* valid tokens with expires in the past */
    rta_error err;
    assert_int_equal(probe_request(r, &err), RTA_ERR_REQUIRES_BASIC);
    assert_int_equal(calls, 1); /* no offset: used as is, and rtauthd accepted it */
    int64_t t;
    assert_int_equal(rta_rest_time(r, &t, &err), 0); /* now the offset is known */
    assert_int_equal(probe_request(r, &err), RTA_ERR_REQUIRES_BASIC);
    assert_int_equal(calls, 2); /* replaced locally before sending */
    rta_rest_destroy(r);
}

/* Concurrent requests needing a token share one token request (ably-js multicast). */
typedef struct {
    rta_rest *r;
    int rc;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;
    w->rc = probe_request(w->r, NULL);
    return NULL;
}

static void test_concurrent_requests_share_one_token_request(void **state)
{
    (void)state;
    rta_rest *r = callback_client(0, 0);
    delay_ms = 200;
    pthread_t t[6];
    worker_arg w[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (worker_arg){r, -1};
        pthread_create(&t[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].rc, RTA_ERR_REQUIRES_BASIC);
    }
    assert_int_equal(calls, 1);
    rta_rest_destroy(r);
}

/* A 401 outside 40140-40149 is returned at once, without renewal (RSC10b): a token signed by
 * nobody rtauthd knows is 40143 (a token error: renewed), while Basic with a wrong secret is
 * 40101 (not renewed; Basic has nothing to renew anyway). */
static void test_non_token_401_not_renewed(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    char wrong[300];
    snprintf(wrong, sizeof(wrong), "%s:wrongsecret", key_name);
    o.auth.key = wrong;
    rta_rest *r = sdk_rest(&o);
    rta_error err;
    assert_int_equal(probe_request(r, &err), RTA_ERR_INVALID_CREDENTIALS);
    rta_rest_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_renew_once_on_token_error),
        cmocka_unit_test(test_renew_only_once),
        cmocka_unit_test(test_err_cleared_on_success_after_renewal),
        cmocka_unit_test(test_key_token_auth_renewal),
        cmocka_unit_test(test_no_means_to_renew_40171),
        cmocka_unit_test(test_local_expiry_check),
        cmocka_unit_test(test_concurrent_requests_share_one_token_request),
        cmocka_unit_test(test_non_token_401_not_renewed),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
