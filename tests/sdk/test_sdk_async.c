/* test_sdk_async.c: the _async forms (DESIGN section 4): each call back exactly once on the
 * client's worker thread, in order; a blocking call from a callback fails with 40000 instead of
 * deadlocking; destroy drains the queue, also when called from a callback. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sdk_test.h"

static char keys[3][256], key_name[256];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;
static pthread_t callback_thread;
static int thread_changes;

typedef struct result {
    int rc;
    int order;
    char token[256];
    int64_t time;
    int nested_rc;
    int status;
} result;

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    sdk_key_name(keys[1], key_name);
    return 0;
}

static void note_thread(void)
{
    pthread_t self = pthread_self();
    pthread_mutex_lock(&mu);
    if (done == 0)
        callback_thread = self;
    else if (!pthread_equal(self, callback_thread))
        thread_changes++;
    pthread_mutex_unlock(&mu);
}

static void finish(void)
{
    pthread_mutex_lock(&mu);
    done++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* Waits for n callbacks, at most 60 s (generous for valgrind on a busy machine): a callback
 * that never comes fails the test instead of hanging it. */
static void wait_for(int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* the condition variable's clock */
    until.tv_sec += 60;
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (done < n && rc == 0)
        rc = pthread_cond_timedwait(&cv, &mu, &until);
    int got = done;
    pthread_mutex_unlock(&mu);
    if (got < n) fail_msg("%d of %d callbacks in 60 s", got, n);
}

static void reset(void)
{
    done = 0;
    thread_changes = 0;
}

static void on_details(int rc, const rta_token_details *d, const rta_error *err, void *data)
{
    result *r = data;
    assert_false(pthread_equal(pthread_self(), *(pthread_t *)((char *)data + sizeof(result))));
    note_thread();
    r->rc = rc;
    r->order = done;
    if (!rc) {
        assert_int_equal(err->code, 0);
        snprintf(r->token, sizeof(r->token), "%s", d->token);
        sdk_add_secret(d->token);
    } else {
        assert_null(d);
        assert_int_equal(err->code, rc);
    }
    finish();
}

static void on_request(int rc, const rta_token_request *req, const rta_error *err, void *data)
{
    (void)err;
    result *r = data;
    note_thread();
    r->rc = rc;
    r->order = done;
    if (!rc) snprintf(r->token, sizeof(r->token), "%s", req->nonce);
    finish();
}

static void on_revoke(int rc, const rta_revocation_batch *b, const rta_error *err, void *data)
{
    (void)err;
    result *r = data;
    note_thread();
    r->rc = rc;
    r->order = done;
    if (!rc) r->status = b->success_count;
    finish();
}

static void on_time(int rc, int64_t t, const rta_error *err, void *data)
{
    (void)err;
    result *r = data;
    note_thread();
    r->rc = rc;
    r->order = done;
    r->time = t;
    finish();
}

static void on_response(int rc, const rta_rest_response *resp, const rta_error *err, void *data)
{
    (void)err;
    result *r = data;
    note_thread();
    r->rc = rc;
    r->order = done;
    r->status = resp ? resp->status_code : 0;
    finish();
}

/* Every _async form calls back once, on one worker thread (not the caller's), in order. */
static void test_every_async_form(void **state)
{
    (void)state;
    reset();
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[1];
    rta_rest *r = sdk_rest(&o);
    rta_auth *a = rta_rest_auth(r);
    struct {
        result r;
        pthread_t caller;
    } res[7];
    memset(res, 0, sizeof(res));
    for (int i = 0; i < 7; i++)
        res[i].caller = pthread_self();
    rta_token_params p = {.client_id = "async-user"};
    rta_revocation_target t = {"clientId", "async-user"};
    assert_int_equal(rta_rest_time_async(r, on_time, &res[0], NULL), 0);
    assert_int_equal(rta_auth_create_token_request_async(a, &p, NULL, on_request, &res[1], NULL), 0);
    assert_int_equal(rta_auth_request_token_async(a, &p, NULL, on_details, &res[2], NULL), 0);
    assert_int_equal(rta_auth_revoke_tokens_async(a, &t, 1, NULL, on_revoke, &res[3], NULL), 0);
    assert_int_equal(rta_rest_request_async(r, "GET", "/time", NULL, on_response, &res[4], NULL), 0);
    assert_int_equal(rta_auth_authorize_async(a, &p, NULL, on_details, &res[5], NULL), 0);
    /* after authorize: token auth, so revokeTokens fails locally (RSA17d) */
    assert_int_equal(rta_auth_revoke_tokens_async(a, &t, 1, NULL, on_revoke, &res[6], NULL), 0);
    wait_for(7);
    for (int i = 0; i < 7; i++)
        assert_int_equal(res[i].r.order, i); /* in order */
    assert_int_equal(res[0].r.rc, 0);
    assert_true(res[0].r.time > sdk_now_ms() - 60000);
    assert_int_equal(res[1].r.rc, 0);
    assert_int_equal(res[2].r.rc, 0);
    assert_int_equal(res[3].r.rc, 0);
    assert_int_equal(res[3].r.status, 1);
    assert_int_equal(res[4].r.rc, 0);
    assert_int_equal(res[4].r.status, 200);
    assert_int_equal(res[5].r.rc, 0);
    assert_int_equal(res[6].r.rc, RTA_ERR_REQUIRES_BASIC);
    assert_int_equal(thread_changes, 0);
    assert_int_equal(sdk_probe_token(key_name, res[5].r.token), RTA_ERR_REQUIRES_BASIC);
    rta_rest_destroy(r);
}

/* Argument errors of an _async call come back through the callback. */
static void test_async_argument_errors(void **state)
{
    (void)state;
    reset();
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    rta_rest *r = sdk_rest(&o);
    rta_auth *a = rta_rest_auth(r);
    struct {
        result r;
        pthread_t caller;
    } res[3];
    memset(res, 0, sizeof(res));
    for (int i = 0; i < 3; i++)
        res[i].caller = pthread_self();
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.key = "bad key";
    rta_token_params bad = {.client_id = ""};
    assert_int_equal(rta_auth_request_token_async(a, NULL, &ao, on_details, &res[0], NULL), 0);
    assert_int_equal(rta_auth_authorize_async(a, &bad, NULL, on_details, &res[1], NULL), 0);
    assert_int_equal(rta_rest_request_async(r, "GET", "nope", NULL, on_response, &res[2], NULL), 0);
    assert_int_equal(rta_auth_request_token_async(a, NULL, NULL, NULL, NULL, NULL), RTA_ERR_BAD_REQUEST);
    wait_for(3);
    assert_int_equal(res[0].r.rc, RTA_ERR_INVALID_CREDENTIAL);
    assert_int_equal(res[1].r.rc, RTA_ERR_INVALID_CLIENT_ID);
    assert_int_equal(res[2].r.rc, RTA_ERR_BAD_REQUEST);
    rta_rest_destroy(r);
}

/* A blocking call on the same client from a completion callback returns 40000; an _async
 * call from there works. */
static rta_rest *nested_client;
static result nested_inner;

static void on_time_nested(int rc, int64_t t, const rta_error *err, void *data)
{
    (void)t, (void)err;
    result *r = data;
    r->rc = rc;
    int64_t t2;
    rta_error e;
    r->nested_rc = rta_rest_time(nested_client, &t2, &e);
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(nested_client), NULL, NULL, &d, &e),
                     RTA_ERR_BAD_REQUEST);
    assert_int_equal(rta_rest_time_async(nested_client, on_time, &nested_inner, NULL), 0);
    finish();
}

static void test_blocking_call_from_completion_callback(void **state)
{
    (void)state;
    reset();
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    nested_client = sdk_rest(&o);
    result outer = {0};
    memset(&nested_inner, 0, sizeof(nested_inner));
    assert_int_equal(rta_rest_time_async(nested_client, on_time_nested, &outer, NULL), 0);
    wait_for(2);
    assert_int_equal(outer.rc, 0);
    assert_int_equal(outer.nested_rc, RTA_ERR_BAD_REQUEST);
    assert_int_equal(nested_inner.rc, 0);
    /* the same blocking call from this (non-callback) thread works */
    int64_t t;
    assert_int_equal(rta_rest_time(nested_client, &t, NULL), 0);
    rta_rest_destroy(nested_client);
}

/* Destroy runs every queued call (and its callback) before returning. */
static void test_destroy_drains_queue(void **state)
{
    (void)state;
    reset();
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    rta_rest *r = sdk_rest(&o);
    result res[5];
    memset(res, 0, sizeof(res));
    for (int i = 0; i < 5; i++)
        assert_int_equal(rta_rest_time_async(r, on_time, &res[i], NULL), 0);
    rta_rest_destroy(r);
    assert_int_equal(done, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(res[i].rc, 0);
}

/* Destroying the client from one of its own callbacks is finished by the worker thread after
 * the queue drains (ASan/valgrind check nothing leaks or is used after free). */
static rta_rest *self_destroying;
static atomic_int second_queued;

static void on_time_destroy(int rc, int64_t t, const rta_error *err, void *data)
{
    /* Destroy only once the second call is queued: the test is about a queue that still holds
     * work (otherwise the worker may free the client before the test's second call, which is
     * the caller's use after destroy; under valgrind's scheduling that happened). */
    for (int i = 0; i < 6000 && !atomic_load(&second_queued); i++)
        usleep(10000);
    on_time(rc, t, err, data);
    if (data == NULL) return;
    rta_rest_destroy(self_destroying);
}

static void test_destroy_from_callback(void **state)
{
    (void)state;
    reset();
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    self_destroying = sdk_rest(&o);
    result res[2];
    memset(res, 0, sizeof(res));
    atomic_store(&second_queued, 0);
    assert_int_equal(rta_rest_time_async(self_destroying, on_time_destroy, &res[0], NULL), 0);
    assert_int_equal(rta_rest_time_async(self_destroying, on_time, &res[1], NULL), 0);
    atomic_store(&second_queued, 1);
    wait_for(2);
    usleep(100000); /* let the detached worker finish freeing */
    assert_int_equal(res[1].rc, 0);
}

/* The log handler may use the client's non-blocking getters (no lock is held while logging);
 * a blocking call from it is refused with 40000. */
static rta_rest *logging_client;
static int log_calls, log_nested_rc;

static void reentrant_log(rta_client_log_level level, const char *msg, void *data)
{
    (void)level, (void)msg, (void)data;
    if (!logging_client) return;
    log_calls++;
    (void)rta_auth_client_id(rta_rest_auth(logging_client));
    rta_token_details d;
    assert_int_equal(rta_auth_token_details(rta_rest_auth(logging_client), &d, NULL), 0);
    rta_token_details_clear(&d);
    int64_t t;
    log_nested_rc = rta_rest_time(logging_client, &t, NULL);
}

static void test_log_handler_reentry(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    o.auth.use_token_auth = 1;
    o.log_handler = reentrant_log;
    logging_client = NULL;
    rta_rest *r = sdk_rest(&o);
    logging_client = r;
    rta_token_details d;
    assert_int_equal(rta_auth_authorize(rta_rest_auth(r), NULL, NULL, &d, NULL), 0);
    sdk_add_secret(d.token);
    rta_token_details_clear(&d);
    assert_true(log_calls > 0);
    assert_int_equal(log_nested_rc, RTA_ERR_BAD_REQUEST);
    logging_client = NULL;
    rta_rest_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_async_form),
        cmocka_unit_test(test_async_argument_errors),
        cmocka_unit_test(test_blocking_call_from_completion_callback),
        cmocka_unit_test(test_destroy_drains_queue),
        cmocka_unit_test(test_destroy_from_callback),
        cmocka_unit_test(test_log_handler_reentry),
    };
    return cmocka_run_group_tests(tests, group_setup, sdk_teardown);
}
