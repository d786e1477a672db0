/* auth_result.c: the object an authCallback completes (rtauth/auth_result.h).
 *
 * Two references: the library's, dropped when it stops waiting (value taken, or timed out),
 * and the callback's, dropped by the one setter call. Whoever drops the last frees it, so a
 * callback may complete the result after the library gave up waiting, from any thread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_internal.h"
#include "rtauth/auth_result.h"

struct rta_auth_result {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    int done;
    struct timespec created; /* the timeout counts from the callback's invocation */
    rta__auth_value value;
};

void rta__auth_value_clear(rta__auth_value *v)
{
    if (!v) return;
    free(v->text);
    rta_token_details_clear(&v->details);
    rta_token_request_clear(&v->request);
    free(v->error_message);
    memset(v, 0, sizeof(*v));
}

rta_auth_result *rta__auth_result_new(void)
{
    rta_auth_result *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    pthread_mutex_init(&r->mu, NULL);
    /* The wait uses CLOCK_MONOTONIC deadlines: wall-clock jumps must not shorten it. */
    rta__cond_init_monotonic(&r->cv);
    r->refs = 2;
    clock_gettime(CLOCK_MONOTONIC, &r->created);
    return r;
}

static void unref_locked_and_unlock(rta_auth_result *r)
{
    int last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (!last) return;
    rta__auth_value_clear(&r->value);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void rta__auth_result_release(rta_auth_result *r)
{
    pthread_mutex_lock(&r->mu);
    unref_locked_and_unlock(r);
}

int rta__auth_result_wait(rta_auth_result *r, int64_t timeout_ms, rta__auth_value *out)
{
    struct timespec dl = rta__timespec_add_ms(r->created, timeout_ms);
    pthread_mutex_lock(&r->mu);
    while (!r->done)
        if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT && !r->done) break;
    if (!r->done) {
        pthread_mutex_unlock(&r->mu);
        return 1;
    }
    *out = r->value;
    memset(&r->value, 0, sizeof(r->value));
    pthread_mutex_unlock(&r->mu);
    return 0;
}

/* Stores v (whose contents the result takes over) and drops the callback's reference. */
static int complete(rta_auth_result *r, rta__auth_value *v)
{
    if (!r) {
        rta__auth_value_clear(v);
        return RTA_ERR_BAD_REQUEST;
    }
    pthread_mutex_lock(&r->mu);
    if (r->done) { /* completed twice: keep the first, as documented */
        rta__auth_value_clear(v);
    } else {
        r->value = *v;
        r->done = 1;
        pthread_cond_broadcast(&r->cv);
    }
    unref_locked_and_unlock(r);
    return 0;
}

/* strdup for optional strings; *oom set when a non-NULL copy failed. */
static char *dup_opt(const char *s, int *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = 1;
    return d;
}

/* Out of memory while copying: report it as the callback's error, which the library turns
 * into 40170, rather than losing the completion. */
static int complete_oom(rta_auth_result *r, rta__auth_value *v)
{
    rta__auth_value_clear(v);
    v->kind = RTA__VAL_ERROR;
    v->error_code = RTA_ERR_INTERNAL;
    return complete(r, v);
}

int rta_auth_result_set_token(rta_auth_result *result, const char *token)
{
    rta__auth_value v = {.kind = RTA__VAL_TOKEN};
    int oom = 0;
    v.text = dup_opt(token, &oom);
    return oom ? complete_oom(result, &v) : complete(result, &v);
}

int rta_auth_result_set_json(rta_auth_result *result, const char *json)
{
    rta__auth_value v = {.kind = RTA__VAL_JSON};
    int oom = 0;
    v.text = dup_opt(json, &oom);
    return oom ? complete_oom(result, &v) : complete(result, &v);
}

int rta_auth_result_set_token_details(rta_auth_result *result, const rta_token_details *details)
{
    rta__auth_value v = {.kind = RTA__VAL_DETAILS};
    if (details && rta_token_details_copy(details, &v.details)) return complete_oom(result, &v);
    return complete(result, &v); /* NULL details: an empty value, judged as invalid later */
}

int rta_auth_result_set_token_request(rta_auth_result *result, const rta_token_request *request)
{
    rta__auth_value v = {.kind = RTA__VAL_REQUEST};
    if (request && rta_token_request_copy(request, &v.request)) return complete_oom(result, &v);
    return complete(result, &v);
}

int rta_auth_result_set_error(rta_auth_result *result, int code, const char *message)
{
    rta__auth_value v = {.kind = RTA__VAL_ERROR, .error_code = code};
    int oom = 0;
    v.error_message = dup_opt(message, &oom);
    return complete(result, &v); /* without the message if it could not be copied */
}
