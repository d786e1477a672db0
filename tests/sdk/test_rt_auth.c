/* test_rt_auth.c: auth on the live realtime connection against rtauthd, mirroring the ably-js
 * scenarios of tests/interop/realtime_{reauth,expiry,revoke}.test.mjs: authorize() upgrade and
 * downgrade while attached (RTC8a: only `update`, channel ERROR 40160 -> failed), expiry with
 * authCallback renewal (RTN15h2) and with a token literal (failed 40171), revocation by
 * clientId (40141, renewed), concurrent authorize() sharing one token request; and the server's
 * AUTH on a Basic connection (RTN22), which only the test hook can send (rtauthd never does). */
#include <stdatomic.h>
#include <stdlib.h>

#include "rt_test.h"
#include "sdk/realtime_test_hooks.h"

static char keys[3][256];
static rta_rest *backend;     /* keys[0] */
static rta_rest *rev_backend; /* keys[1]: revocable tokens */

static struct {
    pthread_mutex_t mu;
    int calls;
    int64_t ttl;
    int delay_ms;
    rta_rest *from;
} cb = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, NULL};

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    backend = sdk_rest(&o);
    o.auth.key = keys[1];
    rev_backend = sdk_rest(&o);
    return 0;
}

static int group_teardown(void **state)
{
    rta_rest_destroy(backend);
    rta_rest_destroy(rev_backend);
    return sdk_teardown(state);
}

/* The app's backend: a TokenRequest for the params the SDK asks for (ttl from cb.ttl). */
static void give_token(const rta_token_params *params, rta_auth_result *result, void *ud)
{
    (void)ud;
    pthread_mutex_lock(&cb.mu);
    cb.calls++;
    rta_token_params p = *params;
    if (cb.ttl) p.ttl = cb.ttl;
    rta_rest *from = cb.from ? cb.from : backend;
    int delay = cb.delay_ms;
    pthread_mutex_unlock(&cb.mu);
    if (delay) usleep(delay * 1000);
    rta_token_request req;
    if (rta_auth_create_token_request(rta_rest_auth(from), &p, NULL, &req, NULL))
        rta_auth_result_set_error(result, 40170, "backend refused");
    else
        rta_auth_result_set_token_request(result, &req);
    rta_token_request_clear(&req);
}

static int calls(void)
{
    pthread_mutex_lock(&cb.mu);
    int n = cb.calls;
    pthread_mutex_unlock(&cb.mu);
    return n;
}

static rta_realtime *callback_client(const char *client_id, const char *capability, rt_rec *rec)
{
    rta_client_options o;
    sdk_options(&o);
    o.auth.auth_callback = give_token;
    o.client_id = client_id;
    o.default_token_params.capability = (char *)capability;
    rta_realtime *rt = rt_client(&o, rec);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    return rt;
}

/* RTC8a, RTC8a1: upgrade then downgrade while attached; the connection keeps its id and emits
 * only `update`; the channel the new token no longer allows fails with 40160. */
static void test_authorize_upgrade_downgrade(void **state)
{
    (void)state;
    rt_rec rec;
    rta_realtime *rt = callback_client("uma", "{\"a\":[\"*\"]}", &rec);
    rta_auth *auth = rta_realtime_auth(rt);
    char id1[128], id2[128];
    rta_realtime_connection_id(rt, id1, sizeof(id1));
    rta_error err;
    rta_channel *a = rta_realtime_channel(rt, "a", NULL);
    rta_channel *b = rta_realtime_channel(rt, "b", NULL);
    assert_int_equal(rta_channel_attach(a, &err), 0);
    assert_int_equal(rta_channel_publish(b, "x", "y", &err), RTA_ERR_CAPABILITY_DENIED);

    rta_token_params up = {.capability = "{\"a\":[\"*\"],\"b\":[\"*\"]}"};
    rta_token_details d;
    assert_int_equal(rta_auth_authorize(auth, &up, NULL, &d, &err), 0);
    rta_token_details_clear(&d);
    assert_true(rt_rec_wait(&rec, RTA_CONN_UPDATE, 0, 1, 1000));
    assert_int_equal(rta_channel_attach(b, &err), 0);
    assert_int_equal(rta_channel_publish(b, "x", "y", &err), 0);

    rta_token_params down = {.capability = "{\"b\":[\"*\"]}"};
    assert_int_equal(rta_auth_authorize(auth, &down, NULL, NULL, &err), 0);
    for (int i = 0; i < 200 && rta_channel_get_state(a, NULL) != RTA_CHANNEL_FAILED; i++)
        usleep(10000);
    assert_int_equal(rta_channel_get_state(a, &err), RTA_CHANNEL_FAILED);
    assert_int_equal(err.code, RTA_ERR_CAPABILITY_DENIED);
    assert_int_equal(rta_channel_get_state(b, NULL), RTA_CHANNEL_ATTACHED);

    rta_realtime_connection_id(rt, id2, sizeof(id2));
    assert_string_equal(id1, id2);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_UPDATE, 0), 2);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_CONNECTED, 0), 1);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_DISCONNECTED, 0), 0);
    rta_realtime_destroy(rt);
}

static int auth_rc[4];
static rta_realtime *shared_rt;

static void *authorize_thread(void *arg)
{
    int *rc = arg;
    *rc = rta_auth_authorize(rta_realtime_auth(shared_rt), NULL, NULL, NULL, NULL);
    return NULL;
}

/* Concurrent authorize() calls share one token request, and all complete (wire doc 3.3). */
static void test_concurrent_authorize(void **state)
{
    (void)state;
    shared_rt = callback_client("cora", NULL, NULL);
    int before = calls();
    pthread_mutex_lock(&cb.mu);
    cb.delay_ms = 400;
    pthread_mutex_unlock(&cb.mu);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        auth_rc[i] = -1;
        pthread_create(&t[i], NULL, authorize_thread, &auth_rc[i]);
        usleep(20000);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(auth_rc[i], 0);
    }
    pthread_mutex_lock(&cb.mu);
    cb.delay_ms = 0;
    pthread_mutex_unlock(&cb.mu);
    assert_int_equal(calls() - before, 1);
    assert_int_equal(rta_realtime_state(shared_rt, NULL), RTA_CONN_CONNECTED);
    rta_realtime_destroy(shared_rt);
}

/* RTN15h2: a short-lived token from the authCallback is renewed at expiry (DISCONNECTED 40142,
 * new token, connected again), repeatedly. */
static void test_expiry_renewed_by_callback(void **state)
{
    (void)state;
    pthread_mutex_lock(&cb.mu);
    cb.ttl = 2000;
    pthread_mutex_unlock(&cb.mu);
    rt_rec rec;
    rta_realtime *rt = callback_client("eli", NULL, &rec);
    int before = calls();
    assert_true(rt_rec_wait(&rec, RTA_CONN_DISCONNECTED, RTA_ERR_TOKEN_EXPIRED, 2, 9000));
    assert_true(rt_rec_wait(&rec, RTA_CONN_CONNECTED, 0, 3, 3000));
    assert_true(calls() - before >= 2);
    rt_connected(rt);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_FAILED, 0), 0);
    pthread_mutex_lock(&cb.mu);
    cb.ttl = 0;
    pthread_mutex_unlock(&cb.mu);
    rta_realtime_destroy(rt);
}

/* A token literal cannot be renewed: at expiry, failed with 40171 (wire doc 3.5). */
static void test_expiry_token_literal_fails(void **state)
{
    (void)state;
    rta_token_params p = {.ttl = 1500};
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(backend), &p, NULL, &d, NULL), 0);
    sdk_add_secret(d.token);
    rta_client_options o;
    sdk_options(&o);
    o.auth.token = d.token;
    rta_realtime *rt = rt_client(&o, NULL);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    rta_error err;
    assert_int_equal(rta_realtime_wait_state(rt, RTA_CONN_FAILED, 6000, &err), 0);
    assert_int_equal(err.code, RTA_ERR_NO_RENEWAL);
    rta_token_details_clear(&d);
    rta_realtime_destroy(rt);
}

/* Revokes keys[1]'s tokens for client_id, then expects the connection recorded by rec to be
 * disconnected with 40141 and connected again (its second CONNECTED). */
static void revoke_and_reconnect(const char *client_id, rt_rec *rec)
{
    usleep(20000); /* issuedBefore is strict */
    rta_revocation_target t = {"clientId", (char *)client_id};
    rta_revocation_batch b;
    assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(rev_backend), &t, 1, NULL, &b, NULL), 0);
    rta_revocation_batch_clear(&b);
    assert_true(rt_rec_wait(rec, RTA_CONN_DISCONNECTED, RTA_ERR_TOKEN_REVOKED, 1, 5000));
    assert_true(rt_rec_wait(rec, RTA_CONN_CONNECTED, 0, 2, 5000));
}

/* revokeTokens by clientId disconnects the live connection with 40141; the client renews
 * through its authCallback and connects again (RSA17, wire doc 3.5). */
static void test_revocation_renews(void **state)
{
    (void)state;
    pthread_mutex_lock(&cb.mu);
    cb.from = rev_backend;
    pthread_mutex_unlock(&cb.mu);
    rt_rec rec;
    rta_realtime *rt = callback_client("rex", NULL, &rec);
    revoke_and_reconnect("rex", &rec);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_CONNECTED);
    pthread_mutex_lock(&cb.mu);
    cb.from = NULL;
    pthread_mutex_unlock(&cb.mu);
    rta_realtime_destroy(rt);
}

/* RTN22 on a Basic connection: the client answers the server's AUTH as ably-js does, with
 * authorize(): a token from the key (RSA10a: token auth from now on) sent in an AUTH on the
 * same connection (RTC8a). Proof that rtauthd took it: revoking the clientId's tokens now
 * disconnects the connection (40141), which it never does to a Basic one. */
static void test_server_auth_on_basic(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[1];
    o.client_id = "bsa";
    rt_rec rec;
    rta_realtime *rt = rt_client(&o, &rec);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    rta_auth *auth = rta_realtime_auth(rt);
    rta_token_details d;
    assert_int_equal(rta_auth_token_details(auth, &d, NULL), 0);
    assert_null(d.token); /* Basic */
    char id1[128], id2[128];
    rta_realtime_connection_id(rt, id1, sizeof(id1));

    assert_int_equal(rta__realtime_server_auth(rt), 0);
    assert_true(rt_rec_wait(&rec, RTA_CONN_UPDATE, 0, 1, RT_WAIT_MS));
    assert_int_equal(rta_auth_token_details(auth, &d, NULL), 0);
    assert_non_null(d.token);
    assert_string_equal(d.client_id, "bsa");
    rta_token_details_clear(&d);
    rta_realtime_connection_id(rt, id2, sizeof(id2));
    assert_string_equal(id1, id2);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_CONNECTED, 0), 1);
    rta_error err;
    rta_channel *ch = rta_realtime_channel(rt, "bsa-ch", NULL);
    assert_int_equal(rta_channel_publish(ch, NULL, "after AUTH", &err), 0);

    revoke_and_reconnect("bsa", &rec); /* a new token from the key */
    rta_realtime_destroy(rt);
}

/* The first call blocks (a synchronous call to a hung backend) until released, then answers
 * with a token that must be discarded; later calls answer at once through give_token. */
static atomic_int blocked_calls, blocked_released, blocked_returned;

static void block_first(const rta_token_params *params, rta_auth_result *result, void *ud)
{
    if (atomic_fetch_add(&blocked_calls, 1) > 0) {
        give_token(params, result, ud);
        return;
    }
    for (int i = 0; i < 6000 && !atomic_load(&blocked_released); i++)
        usleep(5000);
    rta_auth_result_set_token(result, "late-answer");
    atomic_store(&blocked_returned, 1);
}

/* RSA4c on a connection: an authCallback that blocks is timed from its call, on whatever thread
 * it runs. The connection goes DISCONNECTED with 80019 after auth_request_ms while the callback
 * is still blocked, retries after disconnected_retry_ms, calls the callback again and connects;
 * the blocked call's late answer is discarded (the token in use stays, no update). Before, the
 * token thread ran the callback and sat in connecting until it returned. */
static void test_blocked_callback_on_connection(void **state)
{
    (void)state;
    atomic_store(&blocked_calls, 0);
    atomic_store(&blocked_released, 0);
    atomic_store(&blocked_returned, 0);
    rta_client_options o;
    sdk_options(&o);
    o.auth.auth_callback = block_first;
    o.client_id = "bea";
    o.timeouts.auth_request_ms = 1000;
    o.realtime.disconnected_retry_ms = 300;
    rt_rec rec;
    rta_realtime *rt = rt_client(&o, &rec);
    rta_realtime_connect(rt, NULL);
    assert_true(rt_rec_wait(&rec, RTA_CONN_DISCONNECTED, RTA_ERR_TOKEN_REQUEST_FAILED, 1,
                            RT_WAIT_MS));
    assert_int_equal(atomic_load(&blocked_returned), 0);
    rt_connected(rt);
    assert_true(atomic_load(&blocked_calls) >= 2);
    assert_int_equal(atomic_load(&blocked_returned), 0);
    rta_token_details before, after;
    assert_int_equal(rta_auth_token_details(rta_realtime_auth(rt), &before, NULL), 0);
    assert_non_null(before.token);

    atomic_store(&blocked_released, 1);
    for (int i = 0; i < 1000 && !atomic_load(&blocked_returned); i++)
        usleep(10000);
    assert_int_equal(atomic_load(&blocked_returned), 1);
    usleep(300000);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_CONNECTED);
    assert_int_equal(rta_auth_token_details(rta_realtime_auth(rt), &after, NULL), 0);
    assert_string_equal(before.token, after.token);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_UPDATE, 0), 0);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_FAILED, 0), 0);
    rta_token_details_clear(&before);
    rta_token_details_clear(&after);
    rta_realtime_destroy(rt);
}

/* An authCallback that answers with the error code in refuse_code (0: a token via give_token). */
static atomic_int refuse_code;

static void refusing(const rta_token_params *params, rta_auth_result *result, void *ud)
{
    int code = atomic_load(&refuse_code);
    if (code)
        rta_auth_result_set_error(result, code, "backend says no");
    else
        give_token(params, result, ud);
}

static rta_realtime *refusing_client(int code, rt_rec *rec)
{
    atomic_store(&refuse_code, code);
    rta_client_options o;
    sdk_options(&o);
    o.auth.auth_callback = refusing;
    o.client_id = "rosa";
    o.realtime.disconnected_retry_ms = 60000; /* one attempt is enough to judge */
    rta_realtime *rt = rt_client(&o, rec);
    rta_realtime_connect(rt, NULL);
    return rt;
}

/* RSA4c1: an authCallback failure while connecting is DISCONNECTED with errorReason 80019/401
 * whose cause is the callback's own error (here 50000), not the 40170 wrapper of REST. */
static void test_callback_error_on_connection_is_80019(void **state)
{
    (void)state;
    rt_rec rec;
    rta_realtime *rt = refusing_client(RTA_ERR_INTERNAL, &rec);
    assert_true(rt_rec_wait(&rec, RTA_CONN_DISCONNECTED, RTA_ERR_TOKEN_REQUEST_FAILED, 1,
                            RT_WAIT_MS));
    rta_error reason;
    assert_int_equal(rta_realtime_state(rt, &reason), RTA_CONN_DISCONNECTED);
    assert_int_equal(reason.code, RTA_ERR_TOKEN_REQUEST_FAILED);
    assert_int_equal(reason.status_code, 401);
    assert_int_equal(reason.cause_code, RTA_ERR_INTERNAL);
    assert_string_equal(reason.cause_message, "backend says no");
    rta_realtime_destroy(rt);
}

/* RSA4d: an authCallback that says forbidden (40300, status 403) fails the connection with
 * 80019/403 and the callback's error as the cause, while connecting and from authorize();
 * before, only a 40170 with status 403 did, which the library never made. */
static void test_callback_403_fails_connection(void **state)
{
    (void)state;
    rt_rec rec;
    rta_realtime *rt = refusing_client(RTA_ERR_FORBIDDEN, &rec);
    rta_error reason;
    assert_int_equal(rta_realtime_wait_state(rt, RTA_CONN_FAILED, RT_WAIT_MS, &reason), 0);
    assert_int_equal(reason.code, RTA_ERR_TOKEN_REQUEST_FAILED);
    assert_int_equal(reason.status_code, 403);
    assert_int_equal(reason.cause_code, RTA_ERR_FORBIDDEN);
    assert_int_equal(reason.cause_status_code, 403);
    rta_realtime_destroy(rt);

    rt = refusing_client(0, &rec);
    rt_connected(rt);
    atomic_store(&refuse_code, RTA_ERR_FORBIDDEN);
    rta_error err;
    assert_int_equal(rta_auth_authorize(rta_realtime_auth(rt), NULL, NULL, NULL, &err),
                     RTA_ERR_AUTH_CALLBACK); /* the call itself: 40170 with the cause (RSA4e) */
    assert_int_equal(err.cause_code, RTA_ERR_FORBIDDEN);
    assert_int_equal(rta_realtime_state(rt, &reason), RTA_CONN_FAILED);
    assert_int_equal(reason.code, RTA_ERR_TOKEN_REQUEST_FAILED);
    assert_int_equal(reason.status_code, 403);
    assert_int_equal(reason.cause_code, RTA_ERR_FORBIDDEN);
    rta_realtime_destroy(rt);
}

/* Checks that rt is FAILED with errorReason 40102/403 right after authorize returned it, and
 * that the listener saw FAILED 40102 (RTC8a2, RSA15c). */
static void expect_failed_40102(rta_realtime *rt, rt_rec *rec, int rc, const rta_error *err)
{
    assert_int_equal(rc, RTA_ERR_INCOMPATIBLE_CREDENTIALS);
    assert_int_equal(err->code, RTA_ERR_INCOMPATIBLE_CREDENTIALS);
    assert_int_equal(err->status_code, 403);
    rta_error reason;
    assert_int_equal(rta_realtime_state(rt, &reason), RTA_CONN_FAILED);
    assert_int_equal(reason.code, RTA_ERR_INCOMPATIBLE_CREDENTIALS);
    assert_int_equal(reason.status_code, 403);
    assert_true(rt_rec_wait(rec, RTA_CONN_FAILED, RTA_ERR_INCOMPATIBLE_CREDENTIALS, 1, RT_WAIT_MS));
    /* failed is final: no reconnect loop */
    usleep(300000);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_FAILED);
    assert_int_equal(rt_rec_count(rec, RTA_CONN_CONNECTING, 0), 1);
}

/* RTC8a2, RSA15c, found locally: a connected client with clientId "ida" authorizes with
 * TokenParams for "mallory"; the token obtained has an incompatible clientId, so authorize
 * fails with 40102/403 and the connection goes FAILED with it (ably-js: "403 to trigger a
 * permanently failed client"), instead of staying connected on the old token. */
static void test_authorize_incompatible_client_id_local(void **state)
{
    (void)state;
    rt_rec rec;
    rta_realtime *rt = callback_client("ida", NULL, &rec);
    rta_token_params p = {.client_id = "mallory"};
    rta_error err = {0};
    int rc = rta_auth_authorize(rta_realtime_auth(rt), &p, NULL, NULL, &err);
    expect_failed_40102(rt, &rec, rc, &err);
    assert_string_equal(rta_auth_client_id(rta_realtime_auth(rt)), "ida");
    rta_realtime_destroy(rt);
}

/* RTC8a2, RSA15c, found by the server: an anonymous connection (no clientId known to the
 * client, so nothing to check locally) authorizes with a token for "zed"; rtauthd answers the
 * AUTH with ERROR 40102 (a connection's identity never changes) and the connection goes FAILED
 * with 40102, status 403 as in the local case. authorize returns that error. */
static void test_authorize_incompatible_client_id_server(void **state)
{
    (void)state;
    rt_rec rec;
    rta_realtime *rt = callback_client(NULL, NULL, &rec);
    assert_null(rta_auth_client_id(rta_realtime_auth(rt)));
    rta_token_params p = {.client_id = "zed"};
    rta_error err = {0};
    int rc = rta_auth_authorize(rta_realtime_auth(rt), &p, NULL, NULL, &err);
    expect_failed_40102(rt, &rec, rc, &err);
    rta_realtime_destroy(rt);
}

/* The _async form does the same (RTC8a2): the callback gets 40102/403, the connection failed. */
static atomic_int async_rc;
static rta_error async_err;

static void on_authorized(int rc, const rta_token_details *d, const rta_error *err, void *ud)
{
    (void)d, (void)ud;
    async_err = *err;
    atomic_store(&async_rc, rc);
}

static void test_authorize_async_incompatible_client_id(void **state)
{
    (void)state;
    rt_rec rec;
    rta_realtime *rt = callback_client("ivy", NULL, &rec);
    rta_token_params p = {.client_id = "mallory"};
    atomic_store(&async_rc, -1);
    assert_int_equal(rta_auth_authorize_async(rta_realtime_auth(rt), &p, NULL, on_authorized, NULL, NULL),
                     0);
    for (int i = 0; i < 1000 && atomic_load(&async_rc) == -1; i++)
        usleep(10000);
    expect_failed_40102(rt, &rec, atomic_load(&async_rc), &async_err);
    rta_realtime_destroy(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorize_upgrade_downgrade),
        cmocka_unit_test(test_concurrent_authorize),
        cmocka_unit_test(test_expiry_renewed_by_callback),
        cmocka_unit_test(test_expiry_token_literal_fails),
        cmocka_unit_test(test_revocation_renews),
        cmocka_unit_test(test_server_auth_on_basic),
        cmocka_unit_test(test_authorize_incompatible_client_id_local),
        cmocka_unit_test(test_authorize_incompatible_client_id_server),
        cmocka_unit_test(test_authorize_async_incompatible_client_id),
        cmocka_unit_test(test_blocked_callback_on_connection),
        cmocka_unit_test(test_callback_error_on_connection_is_80019),
        cmocka_unit_test(test_callback_403_fails_connection),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
