/* auth_api.c: the public Auth functions (rtauth/auth.h): argument checks, the conversion of
 * public options into the library's owned copies, and the _async forms, which copy their
 * arguments into a job for the client's worker thread and call back from there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_internal.h"

const char *rta_auth_client_id(rta_auth *a)
{
    if (!a) return NULL;
    pthread_mutex_lock(&a->mu);
    const char *id = a->client_id;
    pthread_mutex_unlock(&a->mu);
    return id;
}

static int auth_token_details_impl(rta_auth *a, rta_token_details *out, rta_error *err)
{
    if (out) memset(out, 0, sizeof(*out));
    if (!a || !out) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    pthread_mutex_lock(&a->mu);
    int rc = a->token.token && rta_token_details_copy(&a->token, out);
    pthread_mutex_unlock(&a->mu);
    return rc ? rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory") : 0;
}

int rta_auth_token_details(rta_auth *a, rta_token_details *out, rta_error *err)
{
    return rta__finish(err, auth_token_details_impl(a, out, err));
}

/* Checks the caller's TokenParams before anything is sent (RSA9 error cases; ably-js rejects
 * clientId "" with 40012 before any request). */
static int check_params(const rta_token_params *p, rta_error *err)
{
    if (!p) return 0;
    if (p->ttl < 0) return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "ttl must be positive");
    if (p->timestamp < 0)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "timestamp must be positive");
    if (p->client_id && !p->client_id[0])
        return rta_error_set(err, RTA_ERR_INVALID_CLIENT_ID, "clientId can't be an empty string");
    return 0;
}

/* The common prologue of the blocking forms: not from our own callback, valid arguments,
 * opts imported into *o (when given). */
static int prologue(rta_auth *a, const rta_token_params *params, const rta_auth_options *opts,
                    rta__auth_opts *o, rta_error *err)
{
    if (opts) memset(o, 0, sizeof(*o)); /* untouched otherwise: the fast path stays fast */
    if (!a) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL auth");
    int rc = rta__check_not_in_callback(a->client, err);
    if (!rc) rc = check_params(params, err);
    if (!rc && opts) rc = rta__auth_opts_import(opts, o, err);
    return rc;
}

/* What a realtime client does after authorize obtained a token (rc 0: use it on the
 * connection, RTC8a) or failed to (RSA4d, RSA15c: a 403, an incompatible clientId included,
 * fails the connection, as ably-js's actOnErrorFromAuthorize; RTC8a2). err is not NULL. */
static int authorize_done(rta_auth *a, int rc, rta_error *err)
{
    if (!rc && a->rt_hook) return a->rt_hook(a->rt_hook_ctx, err);
    if (rc && a->rt_fail_hook && rta__auth_forbidden(err)) {
        if (rc == RTA_ERR_INCOMPATIBLE_CREDENTIALS || rc == RTA_ERR_NO_RENEWAL) {
            a->rt_fail_hook(a->rt_hook_ctx, err);
        } else { /* the token source said forbidden: 80019/403 with its error as the cause */
            rta_error w;
            rta__auth_connection_error(&w, err, 403);
            a->rt_fail_hook(a->rt_hook_ctx, &w);
        }
    }
    return rc;
}

static int auth_authorize_impl(rta_auth *a, const rta_token_params *params,
                               const rta_auth_options *opts, rta_token_details *details,
                               rta_error *err)
{
    if (details) memset(details, 0, sizeof(*details));
    rta__auth_opts o;
    rta_error e = {0};
    int rc = prologue(a, params, opts, &o, &e);
    if (!rc) rc = rta__auth_authorize(a, params, opts ? &o : NULL, details, &e);
    if (opts) rta__auth_opts_clear(&o); /* only imported ones hold anything */
    if (a) rc = authorize_done(a, rc, &e);
    if (rc && details) rta_token_details_clear(details);
    if (rc && err) *err = e;
    return rc;
}

int rta_auth_authorize(rta_auth *a, const rta_token_params *params, const rta_auth_options *opts,
                       rta_token_details *details, rta_error *err)
{
    return rta__finish(err, auth_authorize_impl(a, params, opts, details, err));
}

static int auth_create_token_request_impl(rta_auth *a, const rta_token_params *params,
                                          const rta_auth_options *opts, rta_token_request *request,
                                          rta_error *err)
{
    if (!request) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL request");
    memset(request, 0, sizeof(*request));
    rta__auth_opts o;
    int rc = prologue(a, params, opts, &o, err);
    if (!rc) rc = rta__auth_create_token_request(a, params, opts ? &o : NULL, request, err);
    if (opts) rta__auth_opts_clear(&o); /* only imported ones hold anything */
    return rc;
}

int rta_auth_create_token_request(rta_auth *a, const rta_token_params *params,
                                  const rta_auth_options *opts, rta_token_request *request,
                                  rta_error *err)
{
    return rta__finish(err, auth_create_token_request_impl(a, params, opts, request, err));
}

static int auth_request_token_impl(rta_auth *a, const rta_token_params *params,
                                   const rta_auth_options *opts, rta_token_details *details,
                                   rta_error *err)
{
    if (!details) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL details");
    memset(details, 0, sizeof(*details));
    rta__auth_opts o;
    int rc = prologue(a, params, opts, &o, err);
    if (!rc) rc = rta__auth_request_token(a, params, opts ? &o : NULL, details, err);
    if (opts) rta__auth_opts_clear(&o); /* only imported ones hold anything */
    return rc;
}

int rta_auth_request_token(rta_auth *a, const rta_token_params *params,
                           const rta_auth_options *opts, rta_token_details *details, rta_error *err)
{
    return rta__finish(err, auth_request_token_impl(a, params, opts, details, err));
}

/* RSA17b: targets as "type:value" strings; 1..100 of them (S-67). */
static int make_revoke_request(const rta_revocation_target *targets, size_t count,
                               const rta_revoke_options *opts, rta_revoke_request *out,
                               rta_error *err)
{
    memset(out, 0, sizeof(*out));
    out->allow_reauth_margin = -1;
    if (!targets) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL targets");
    if (count == 0 || count > 100)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Between 1 and 100 targets needed");
    if (!(out->targets = calloc(count, sizeof(char *))))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t i = 0; i < count; i++) {
        const rta_revocation_target *t = &targets[i];
        if (!t->type || !t->type[0] || strchr(t->type, ':') || !t->value || !t->value[0]) {
            rta_revoke_request_clear(out);
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid revocation target %zu",
                                 i);
        }
        if (asprintf(&out->targets[i], "%s:%s", t->type, t->value) < 0) {
            out->targets[i] = NULL;
            rta_revoke_request_clear(out);
            return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        }
        out->target_count = i + 1;
    }
    if (opts) {
        out->issued_before = opts->issued_before;
        if (opts->allow_reauth_margin) out->allow_reauth_margin = 1;
    }
    return 0;
}

static int auth_revoke_tokens_impl(rta_auth *a, const rta_revocation_target *targets, size_t count,
                                   const rta_revoke_options *opts, rta_revocation_batch *result,
                                   rta_error *err)
{
    if (!result) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL result");
    memset(result, 0, sizeof(*result));
    if (!a) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL auth");
    int rc = rta__check_not_in_callback(a->client, err);
    if (rc) return rc;
    rta_revoke_request req;
    if ((rc = make_revoke_request(targets, count, opts, &req, err))) return rc;
    rc = rta__auth_revoke_tokens(a, &req, result, err);
    rta_revoke_request_clear(&req);
    return rc;
}

int rta_auth_revoke_tokens(rta_auth *a, const rta_revocation_target *targets, size_t count,
                           const rta_revoke_options *opts, rta_revocation_batch *result,
                           rta_error *err)
{
    return rta__finish(err, auth_revoke_tokens_impl(a, targets, count, opts, result, err));
}

/* ---- _async forms -------------------------------------------------------------------------- */

typedef enum { JOB_AUTHORIZE, JOB_CREATE_REQUEST, JOB_REQUEST_TOKEN, JOB_REVOKE } job_kind;

typedef struct auth_job {
    rta__job job;
    rta_auth *auth;
    job_kind kind;
    int rc; /* an error found while queuing, reported through the callback */
    rta_error err;
    int has_params, has_opts;
    rta_token_params params;
    rta__auth_opts opts;
    rta_revoke_request revoke;
    void (*cb)(void);
    void *user_data;
} auth_job;

static void run_job(rta__job *job)
{
    auth_job *j = (auth_job *)job;
    rta_auth *a = j->auth;
    rta_error err = j->err;
    int rc = j->rc;
    const rta_token_params *p = j->has_params ? &j->params : NULL;
    const rta__auth_opts *o = j->has_opts ? &j->opts : NULL;
    union {
        rta_token_details details;
        rta_token_request request;
        rta_revocation_batch batch;
    } out;
    memset(&out, 0, sizeof(out));
    if (!rc) {
        switch (j->kind) {
        case JOB_AUTHORIZE:
            rc = authorize_done(a, rta__auth_authorize(a, p, o, &out.details, &err), &err);
            if (rc) rta_token_details_clear(&out.details);
            break;
        case JOB_CREATE_REQUEST:
            rc = rta__auth_create_token_request(a, p, o, &out.request, &err);
            break;
        case JOB_REQUEST_TOKEN:
            rc = rta__auth_request_token(a, p, o, &out.details, &err);
            break;
        case JOB_REVOKE:
            rc = rta__auth_revoke_tokens(a, &j->revoke, &out.batch, &err);
            break;
        }
    }
    if (!rc) rta_error_clear(&err);
    const void *prev = rta__callback_enter(a->client);
    switch (j->kind) {
    case JOB_AUTHORIZE:
    case JOB_REQUEST_TOKEN:
        ((rta_token_details_callback)j->cb)(rc, rc ? NULL : &out.details, &err, j->user_data);
        rta_token_details_clear(&out.details);
        break;
    case JOB_CREATE_REQUEST:
        ((rta_token_request_callback)j->cb)(rc, rc ? NULL : &out.request, &err, j->user_data);
        rta_token_request_clear(&out.request);
        break;
    case JOB_REVOKE:
        ((rta_revoke_callback)j->cb)(rc, rc ? NULL : &out.batch, &err, j->user_data);
        rta_revocation_batch_clear(&out.batch);
        break;
    }
    rta__callback_leave(prev);
    rta_token_params_clear(&j->params);
    rta__auth_opts_clear(&j->opts);
    rta_revoke_request_clear(&j->revoke);
    free(j);
}

static int submit(auth_job *j, rta_error *err)
{
    j->job.run = run_job;
    int rc = rta__worker_submit(&j->auth->client->worker, &j->job);
    if (rc) {
        rta_token_params_clear(&j->params);
        rta__auth_opts_clear(&j->opts);
        rta_revoke_request_clear(&j->revoke);
        free(j);
        return rta_error_set(err, rc, "Cannot start the client's worker thread");
    }
    return 0;
}

/* A job for the token calls, with copies of params and opts (or the error copying them). */
static int token_job(rta_auth *a, job_kind kind, const rta_token_params *params,
                     const rta_auth_options *opts, void (*cb)(void), void *user_data,
                     rta_error *err)
{
    if (!a || !cb)
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, a ? "NULL callback" : "NULL auth");
    auth_job *j = calloc(1, sizeof(*j));
    if (!j) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    j->auth = a;
    j->kind = kind;
    j->cb = cb;
    j->user_data = user_data;
    j->rc = check_params(params, &j->err);
    if (!j->rc && params) {
        j->has_params = 1;
        if (rta_token_params_copy(params, &j->params))
            j->rc = rta_error_set(&j->err, RTA_ERR_INTERNAL, "Out of memory");
    }
    if (!j->rc && opts) {
        j->has_opts = 1;
        j->rc = rta__auth_opts_import(opts, &j->opts, &j->err);
    }
    return submit(j, err);
}

static int auth_authorize_async_impl(rta_auth *a, const rta_token_params *params,
                                     const rta_auth_options *opts, rta_token_details_callback cb,
                                     void *user_data, rta_error *err)
{
    return token_job(a, JOB_AUTHORIZE, params, opts, (void (*)(void))cb, user_data, err);
}

int rta_auth_authorize_async(rta_auth *a, const rta_token_params *params,
                             const rta_auth_options *opts, rta_token_details_callback cb,
                             void *user_data, rta_error *err)
{
    return rta__finish(err, auth_authorize_async_impl(a, params, opts, cb, user_data, err));
}

static int auth_create_token_request_async_impl(rta_auth *a, const rta_token_params *params,
                                                const rta_auth_options *opts,
                                                rta_token_request_callback cb, void *user_data,
                                                rta_error *err)
{
    return token_job(a, JOB_CREATE_REQUEST, params, opts, (void (*)(void))cb, user_data, err);
}

int rta_auth_create_token_request_async(rta_auth *a, const rta_token_params *params,
                                        const rta_auth_options *opts, rta_token_request_callback cb,
                                        void *user_data, rta_error *err)
{
    return rta__finish(err,
                       auth_create_token_request_async_impl(a, params, opts, cb, user_data, err));
}

static int auth_request_token_async_impl(rta_auth *a, const rta_token_params *params,
                                         const rta_auth_options *opts,
                                         rta_token_details_callback cb, void *user_data,
                                         rta_error *err)
{
    return token_job(a, JOB_REQUEST_TOKEN, params, opts, (void (*)(void))cb, user_data, err);
}

int rta_auth_request_token_async(rta_auth *a, const rta_token_params *params,
                                 const rta_auth_options *opts, rta_token_details_callback cb,
                                 void *user_data, rta_error *err)
{
    return rta__finish(err, auth_request_token_async_impl(a, params, opts, cb, user_data, err));
}

static int auth_revoke_tokens_async_impl(rta_auth *a, const rta_revocation_target *targets,
                                         size_t count, const rta_revoke_options *opts,
                                         rta_revoke_callback cb, void *user_data, rta_error *err)
{
    if (!a || !cb || !targets)
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL %s",
                             !a    ? "auth"
                             : !cb ? "callback"
                                   : "targets");
    auth_job *j = calloc(1, sizeof(*j));
    if (!j) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    j->auth = a;
    j->kind = JOB_REVOKE;
    j->cb = (void (*)(void))cb;
    j->user_data = user_data;
    j->rc = make_revoke_request(targets, count, opts, &j->revoke, &j->err);
    return submit(j, err);
}

int rta_auth_revoke_tokens_async(rta_auth *a, const rta_revocation_target *targets, size_t count,
                                 const rta_revoke_options *opts, rta_revoke_callback cb,
                                 void *user_data, rta_error *err)
{
    return rta__finish(err,
                       auth_revoke_tokens_async_impl(a, targets, count, opts, cb, user_data, err));
}
