/* rest.c: the REST client (rtauth/rest.h): lifetime, time() and request(), blocking and _async.
 * The client core (client.c) and the Auth object (auth*.c) do the work; this file ties them
 * to one handle. */
#include <stdlib.h>
#include <string.h>

#include "auth_internal.h"
#include "request.h"
#include "rtauth/rest.h"

struct rta_rest {
    rta__client client;
    rta_auth auth;
    int deferred; /* destroyed from its own worker thread */
};

static int rest_create_impl(const rta_client_options *options, rta_rest **out, rta_error *err)
{
    if (out) *out = NULL;
    if (!options || !out) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    rta_rest *r = calloc(1, sizeof(*r));
    if (!r) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    int rc = rta__client_init(&r->client, options, err);
    if (rc) {
        free(r);
        return rc;
    }
    if ((rc = rta__auth_init(&r->auth, &r->client, options, err))) {
        rta__worker_dispose(&r->client.worker);
        rta__client_release(&r->client);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int rta_rest_create(const rta_client_options *options, rta_rest **out, rta_error *err)
{
    return rta__finish(err, rest_create_impl(options, out, err));
}

static void free_rest(void *p)
{
    rta_rest *r = p;
    if (r->deferred) rta__worker_dispose(&r->client.worker);
    rta__auth_release(&r->auth);
    rta__client_release(&r->client);
    free(r);
}

void rta_rest_destroy(rta_rest *r)
{
    if (!r) return;
    if (rta__worker_is_current(&r->client.worker)) {
        r->deferred = 1; /* the worker frees us when the current callback returns */
        rta__worker_stop_deferred(&r->client.worker, free_rest, r);
        return;
    }
    rta__worker_stop(&r->client.worker);
    free_rest(r);
}

rta_auth *rta_rest_auth(rta_rest *r)
{
    return r ? &r->auth : NULL;
}

static int rest_time_impl(rta_rest *r, int64_t *time_ms, rta_error *err)
{
    if (!r || !time_ms) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    *time_ms = 0;
    int rc = rta__check_not_in_callback(&r->client, err);
    return rc ? rc : rta__client_fetch_time(&r->client, time_ms, err);
}

int rta_rest_time(rta_rest *r, int64_t *time_ms, rta_error *err)
{
    return rta__finish(err, rest_time_impl(r, time_ms, err));
}

void rta_rest_response_clear(rta_rest_response *resp)
{
    if (!resp) return;
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

/* The reply as the caller sees it: msgpack turned into JSON text, anything else as is. */
static int to_response(rta__http_resp *h, rta_rest_response *out)
{
    out->status_code = (int)h->status;
    rta_doc *doc = NULL;
    if (rta__content_type_is(h->content_type, "application/x-msgpack") &&
        rta_doc_parse(&doc, RTA_FORMAT_MSGPACK, h->body.data, h->body.len, NULL, NULL) == 0) {
        rta_buf json = RTA_BUF_INIT;
        rta_writer w;
        rta_writer_init(&w, RTA_FORMAT_JSON, &json);
        rta_w_node(&w, rta_doc_root(doc));
        rta_doc_free(doc);
        if (rta_writer_status(&w)) {
            rta_buf_free(&json);
            return RTA_ERR_INTERNAL;
        }
        out->body = rta_buf_detach(&json, &out->body_len);
    } else {
        out->body = rta_buf_detach(&h->body, &out->body_len);
    }
    return out->body ? 0 : RTA_ERR_INTERNAL;
}

static int valid_method(const char *m)
{
    static const char *const ok[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; m && i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!strcmp(m, ok[i])) return 1;
    return 0;
}

static int valid_path(const char *p)
{
    if (!p || p[0] != '/') return 0;
    for (; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 127) return 0;
    return 1;
}

static int do_request(rta_rest *r, const char *method, const char *path, const char *json_body,
                      rta_rest_response *resp, int *have_resp, rta_error *err)
{
    *have_resp = 0;
    if (!valid_method(method) || !valid_path(path))
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "Invalid method or path");
    rta_buf body = RTA_BUF_INIT;
    if (json_body) {
        if (r->client.format == RTA_FORMAT_MSGPACK) { /* JSON in, the wire format out */
            rta_doc *doc = NULL;
            int rc = rta_doc_parse(&doc, RTA_FORMAT_JSON, json_body, strlen(json_body), NULL, err);
            if (rc) return rc;
            rta_writer w;
            rta_writer_init(&w, RTA_FORMAT_MSGPACK, &body);
            rta_w_node(&w, rta_doc_root(doc));
            rta_doc_free(doc);
        } else {
            rta_buf_puts(&body, json_body);
        }
        if (body.oom) {
            rta_buf_free(&body);
            return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        }
    }
    rta__http_resp h;
    int rc = rta__request(&r->auth, method, path, json_body ? body.data : NULL, body.len, &h, err);
    rta_buf_free(&body);
    if (h.body.data) { /* a reply arrived, success or not */
        if (to_response(&h, resp) == 0)
            *have_resp = 1;
        else if (!rc)
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    rta__http_resp_free(&h);
    return rc;
}

static int rest_request_impl(rta_rest *r, const char *method, const char *path,
                             const char *json_body, rta_rest_response *resp, rta_error *err)
{
    rta_rest_response local;
    if (!resp) resp = &local;
    memset(resp, 0, sizeof(*resp));
    if (!r) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL client");
    int have, rc = rta__check_not_in_callback(&r->client, err);
    if (!rc) rc = do_request(r, method, path, json_body, resp, &have, err);
    if (resp == &local) rta_rest_response_clear(&local);
    return rc;
}

int rta_rest_request(rta_rest *r, const char *method, const char *path, const char *json_body,
                     rta_rest_response *resp, rta_error *err)
{
    return rta__finish(err, rest_request_impl(r, method, path, json_body, resp, err));
}

/* ---- _async forms -------------------------------------------------------------------------- */

typedef struct rest_job {
    rta__job job;
    rta_rest *rest;
    int is_time;
    char *method, *path, *body;
    void (*cb)(void);
    void *user_data;
} rest_job;

static void run_rest_job(rta__job *job)
{
    rest_job *j = (rest_job *)job;
    rta_error err = {0};
    rta_rest_response resp = {0};
    int64_t t = 0;
    int have = 0, rc;
    if (j->is_time)
        rc = rta__client_fetch_time(&j->rest->client, &t, &err);
    else
        rc = do_request(j->rest, j->method, j->path, j->body, &resp, &have, &err);
    if (!rc) rta_error_clear(&err);
    const void *prev = rta__callback_enter(&j->rest->client);
    if (j->is_time)
        ((rta_time_callback)j->cb)(rc, t, &err, j->user_data);
    else
        ((rta_response_callback)j->cb)(rc, have ? &resp : NULL, &err, j->user_data);
    rta__callback_leave(prev);
    rta_rest_response_clear(&resp);
    free(j->method);
    free(j->path);
    free(j->body);
    free(j);
}

static int submit(rest_job *j, rta_error *err)
{
    j->job.run = run_rest_job;
    int rc = rta__worker_submit(&j->rest->client.worker, &j->job);
    if (rc) {
        free(j->method);
        free(j->path);
        free(j->body);
        free(j);
        return rta_error_set(err, rc, "Cannot start the client's worker thread");
    }
    return 0;
}

static int rest_time_async_impl(rta_rest *r, rta_time_callback cb, void *user_data, rta_error *err)
{
    if (!r || !cb)
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL %s", r ? "callback" : "client");
    rest_job *j = calloc(1, sizeof(*j));
    if (!j) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    *j = (rest_job){.rest = r, .is_time = 1, .cb = (void (*)(void))cb, .user_data = user_data};
    return submit(j, err);
}

int rta_rest_time_async(rta_rest *r, rta_time_callback cb, void *user_data, rta_error *err)
{
    return rta__finish(err, rest_time_async_impl(r, cb, user_data, err));
}

static int rest_request_async_impl(rta_rest *r, const char *method, const char *path,
                                   const char *json_body, rta_response_callback cb, void *user_data,
                                   rta_error *err)
{
    if (!r || !cb || !method || !path)
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL %s",
                             !r        ? "client"
                             : !cb     ? "callback"
                             : !method ? "method"
                                       : "path");
    rest_job *j = calloc(1, sizeof(*j));
    if (!j) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    *j = (rest_job){.rest = r, .cb = (void (*)(void))cb, .user_data = user_data};
    /* An invalid method or path is judged by do_request, through the callback. */
    if (!(j->method = strdup(method)) || !(j->path = strdup(path)) ||
        (json_body && !(j->body = strdup(json_body)))) {
        free(j->method);
        free(j->path);
        free(j->body);
        free(j);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    return submit(j, err);
}

int rta_rest_request_async(rta_rest *r, const char *method, const char *path, const char *json_body,
                           rta_response_callback cb, void *user_data, rta_error *err)
{
    return rta__finish(err,
                       rest_request_async_impl(r, method, path, json_body, cb, user_data, err));
}
