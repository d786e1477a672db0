/* auth_token.c: obtaining TokenDetails (RSA8): from the authCallback, the authUrl (auth_url.c)
 * or the key (a TokenRequest signed here, RSA9, and exchanged with the server, RSA8a), and
 * judging what a callback or authUrl produced (RSA8d, RSA4f, checklist D.3).
 *
 * Failures of the authCallback or authUrl become 40170 with the underlying error as the cause
 * (RSA4e); errors from the server's TokenRequest exchange are Ably's own and pass through.
 * Error messages never quote a token, a MAC or the key secret.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_internal.h"
#include "core/capability.h"
#include "core/token_codec.h"

/* 40170/401 with a message, and cause (code, status, message) when cause_code is not 0. */
static int fail(rta_error *err, int cause_code, int cause_status, const char *cause_msg,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(rta_error *err, int cause_code, int cause_status, const char *cause_msg,
                const char *fmt, ...)
{
    if (!err) return RTA_ERR_AUTH_CALLBACK;
    va_list ap;
    va_start(ap, fmt);
    char msg[RTA_ERROR_MESSAGE_MAX];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rta_error cause = {0};
    if (cause_code)
        rta_error_set_status(&cause, cause_code, cause_status, "%s",
                             cause_msg ? cause_msg : rta_strerror(cause_code));
    rta_error_set(err, RTA_ERR_AUTH_CALLBACK, "%s", msg);
    if (cause_code) rta_error_set_cause(err, &cause);
    return RTA_ERR_AUTH_CALLBACK;
}

/* ---- createTokenRequest (RSA9) ------------------------------------------------------------ */

/* The cached signer for opts' key (rebuilt when an app signs with another key). mu held. */
static int ensure_signer(rta_auth *a, const rta__auth_opts *opts, rta_error *err)
{
    if (a->signer && !strcmp(a->signer_key, opts->key)) return 0;
    rta_token_signer *s = rta_token_signer_new(&opts->parsed_key);
    char *k = strdup(opts->key);
    if (!s || !k) {
        rta_token_signer_free(s);
        free(k);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    rta_token_signer_free(a->signer);
    if (a->signer_key) memset(a->signer_key, 0, strlen(a->signer_key));
    free(a->signer_key);
    a->signer = s;
    a->signer_key = k;
    return 0;
}

int rta__sign_token_request(rta_auth *a, const rta_token_params *params, const rta__auth_opts *opts,
                            rta_token_request *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    /* The timestamp first: with queryTime it may need GET /time, never under the lock. The
     * stored params never hold a timestamp (RSA10g). */
    int64_t ts = params ? params->timestamp : 0;
    int rc, query_time;
    if (opts) {
        query_time = opts->query_time;
    } else {
        pthread_mutex_lock(&a->mu);
        query_time = a->opts.query_time;
        pthread_mutex_unlock(&a->mu);
    }
    if (!ts && (rc = rta__client_timestamp(a->client, query_time, &ts, err))) return rc;
    /* Then sign under the lock, reading the stored key and params in place (no copies). */
    pthread_mutex_lock(&a->mu);
    const rta__auth_opts *src = opts ? opts : &a->opts;
    rta_token_params q = params ? *params : a->params;       /* shallow: only read */
    if (!q.client_id) q.client_id = a->configured_client_id; /* RSA7d */
    q.timestamp = ts;
    if (!src->key) /* RSA9g needs a key; ably-js says 40101 too */
        rc = rta_error_set(err, RTA_ERR_INVALID_CREDENTIALS,
                           "createTokenRequest needs a key: none in the AuthOptions or the "
                           "ClientOptions (a passed AuthOptions replaces the stored one)");
    else if (!(rc = ensure_signer(a, src, err)))
        rc = rta_token_signer_sign(a->signer, &q, ts, out, err);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* ---- the TokenRequest exchange (RSA8a; wire protocol 4.2) --------------------------------- */

static int exchange(rta_auth *a, const rta_token_request *req, rta_token_details *out,
                    rta_error *err)
{
    rta__client *c = a->client;
    rta_buf body = RTA_BUF_INIT, url = RTA_BUF_INIT;
    /* JSON, no Authorization: the mac authenticates it, as ably-js sends it. */
    int rc = rta_token_request_encode(req, RTA_FORMAT_JSON, &body);
    rta_buf_printf(&url, "%s/keys/%s/requestToken", c->base_url, req->key_name);
    if (rc || url.oom) {
        rta_buf_free(&body);
        rta_buf_free(&url);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    const char *hdrs[] = {"Accept: application/json", "Content-Type: application/json",
                          "X-Ably-Version: " RTA__PROTOCOL_VERSION, "Ably-Agent: " RTA__AGENT,
                          NULL};
    rta__http_req hr = {"POST",
                        url.data,
                        hdrs,
                        body.data,
                        body.len,
                        c->timeouts.http_request_ms,
                        c->timeouts.http_open_ms,
                        0};
    rta__http_resp resp;
    rc = rta__http_perform(c->http, &hr, &resp, err);
    rta__log(c, RTA_CLIENT_LOG_DEBUG, "auth: POST /keys/%s/requestToken -> %ld", req->key_name,
             rc ? 0L : resp.status);
    rta_buf_free(&body);
    rta_buf_free(&url);
    if (rc) return rc;
    if (resp.status < 200 || resp.status >= 300) {
        rc = rta__error_from_response(&resp, err);
    } else {
        int fmt = rta__content_type_is(resp.content_type, "application/x-msgpack")
                      ? RTA_FORMAT_MSGPACK
                      : RTA_FORMAT_JSON;
        rta_error e;
        rc = rta_token_details_decode(resp.body.data, resp.body.len, (rta_format)fmt, out, &e);
        if (rc)
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Invalid TokenDetails from the server: %s",
                               e.message);
    }
    rta__http_resp_free(&resp);
    return rc;
}

/* ---- judging an authCallback / authUrl value (RSA8d, RSA4f, D.3) -------------------------- */

static int from_request(rta_auth *a, const rta_token_request *req, const char *src,
                        rta_token_details *out, rta_error *err)
{
    rta_error e;
    if (!req->key_name || rta_key_name_check(req->key_name, strlen(req->key_name), NULL, &e))
        return fail(err, 0, 0, NULL, "%s returned a TokenRequest without a valid keyName", src);
    return exchange(a, req, out, err); /* Ably's errors pass through (RSA4e) */
}

static int from_json(rta_auth *a, const char *json, const char *src, rta_token_details *out,
                     rta_error *err)
{
    size_t len = json ? strlen(json) : 0;
    if (!json) return fail(err, 0, 0, NULL, "%s returned no JSON", src);
    if (len > RTA__MAX_TOKEN_LEN)
        return fail(err, 0, 0, NULL, "%s JSON exceeded the maximum permitted length of 128 KiB",
                    src);
    rta_doc *doc = NULL;
    rta_error e;
    if (rta_doc_parse(&doc, RTA_FORMAT_JSON, json, len, NULL, &e))
        return fail(err, e.code, e.status_code, e.message, "%s returned invalid JSON", src);
    rta_node root = rta_doc_root(doc);
    int rc;
    if (rta_node_kind(root) != RTA_NODE_MAP) {
        rc = fail(err, 0, 0, NULL, "%s JSON is not an object", src);
    } else if (rta_node_kind(rta_node_get(root, "token")) != RTA_NODE_ABSENT ||
               rta_node_kind(rta_node_get(root, "issued")) != RTA_NODE_ABSENT) {
        if ((rc = rta_token_details_decode_node(root, out, &e)))
            rc = fail(err, e.code, e.status_code, e.message, "%s returned invalid TokenDetails",
                      src);
        else if (!out->token[0]) {
            rta_token_details_clear(out);
            rc = fail(err, 0, 0, NULL, "%s returned TokenDetails with an empty token", src);
        }
    } else if (rta_node_kind(rta_node_get(root, "keyName")) != RTA_NODE_ABSENT) {
        rta_token_request req;
        if ((rc = rta_token_request_decode_node(root, &req, &e))) {
            rc = fail(err, e.code, e.status_code, e.message, "%s returned an invalid TokenRequest",
                      src);
        } else {
            rc = from_request(a, &req, src, out, err);
            rta_token_request_clear(&req);
        }
    } else {
        rc = fail(err, 0, 0, NULL,
                  "%s returned an object that is neither TokenDetails (token) nor a TokenRequest "
                  "(keyName)",
                  src);
    }
    rta_doc_free(doc);
    return rc;
}

static int from_token_string(char **text, int jwt_content_type, const char *src,
                             rta_token_details *out, rta_error *err)
{
    const char *t = *text;
    if (!t) return fail(err, 0, 0, NULL, "%s returned no token", src);
    size_t n = strlen(t);
    if (n == 0) return fail(err, 0, 0, NULL, "%s returned an empty token string", src);
    if (n > RTA__MAX_TOKEN_LEN)
        return fail(err, 0, 0, NULL, "%s token exceeded the maximum permitted length of 128 KiB",
                    src);
    if (!strcmp(t, "null") || !strcmp(t, "undefined"))
        return fail(err, 0, 0, NULL, "%s returned the literal \"%s\" as a token", src, t);
    if (t[0] == '{' && !jwt_content_type) /* JSON sent as a string (as ably-js judges it) */
        return fail(err, 0, 0, NULL, "%s returned a double-encoded token", src);
    out->token = *text; /* TN1: opaque, used as is */
    *text = NULL;
    return 0;
}

static int resolve_value(rta_auth *a, rta__auth_value *v, const char *src, rta_token_details *out,
                         rta_error *err)
{
    switch (v->kind) {
    case RTA__VAL_TOKEN:
        return from_token_string(&v->text, v->jwt_content_type, src, out, err);
    case RTA__VAL_JSON:
        return from_json(a, v->text, src, out, err);
    case RTA__VAL_REQUEST:
        if (!v->request.key_name) return fail(err, 0, 0, NULL, "%s returned no TokenRequest", src);
        return from_request(a, &v->request, src, out, err);
    case RTA__VAL_DETAILS:
        if (!v->details.token || !v->details.token[0])
            return fail(err, 0, 0, NULL, "%s returned TokenDetails without a token", src);
        if (strlen(v->details.token) > RTA__MAX_TOKEN_LEN)
            return fail(err, 0, 0, NULL, "%s token exceeded the maximum permitted length", src);
        *out = v->details;
        memset(&v->details, 0, sizeof(v->details));
        return 0;
    case RTA__VAL_ERROR: {
        int code = v->error_code ? v->error_code : RTA_ERR_AUTH_CALLBACK;
        return fail(err, code, rta_error_status(code), v->error_message, "%s failed%s%s", src,
                    v->error_message ? ": " : "", v->error_message ? v->error_message : "");
    }
    default:
        return fail(err, 0, 0, NULL, "%s returned nothing", src);
    }
}

/* ---- the authCallback (RSA8d) ------------------------------------------------------------- */

/* RSA4c, RSA4e: the wait is auth_request_ms from the call, whichever thread the callback
 * blocks. So the callback runs on a thread of its own (callback_thread.h) and this thread only
 * waits for its result; a callback still busy at the deadline is 40170 (the connection makes
 * it 80019) and its late answer is discarded. */
static int call_callback(rta_auth *a, const rta__auth_opts *o, const rta_token_params *p,
                         rta__auth_value *v, rta_error *err)
{
    rta_auth_result *r = rta__auth_result_new();
    if (!r) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (rta__cb_threads_run(&a->client->cb_threads, a->client, o->callback, o->callback_data, p,
                            r)) {
        /* the result's second reference belongs to the callback that was never called */
        rta_auth_result_set_error(r, RTA_ERR_INTERNAL, "Cannot start the authCallback's thread");
    }
    int64_t ms = a->client->timeouts.auth_request_ms;
    int timed_out = rta__auth_result_wait(r, ms, v);
    rta__auth_result_release(r);
    if (timed_out)
        return fail(err, RTA_ERR_TIMEOUT, 504, "Timeout",
                    "authCallback did not complete within %lld ms", (long long)ms);
    return 0;
}

int rta__obtain_token(rta_auth *a, const rta_token_params *params, const rta__auth_opts *opts,
                      rta_token_details *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc;
    if (!opts->callback && !opts->auth_url) {
        if (!opts->key) /* RSA4a2; ably-js uses status 403 */
            return rta_error_set_status(err, RTA_ERR_NO_RENEWAL, 403,
                                        "Need a new token, but there is no key, authCallback or "
                                        "authUrl to obtain one");
        rta_token_request req;
        if ((rc = rta__sign_token_request(a, params, opts, &req, err))) return rc;
        rc = exchange(a, &req, out, err);
        rta_token_request_clear(&req);
        return rc;
    }
    /* The callback and the authUrl see the capability canonicalised, as ably-js passes it. */
    rta_token_params p = *params;
    char *canonical = NULL;
    if (p.capability) {
        if ((rc = rta_capability_canonicalise(p.capability, strlen(p.capability), &canonical, err)))
            return rc;
        p.capability = canonical;
    }
    rta__auth_value v = {0};
    const char *src = opts->callback ? "authCallback" : "authUrl";
    rc = opts->callback ? call_callback(a, opts, &p, &v, err)
                        : rta__authurl_fetch(a, opts, &p, &v, err);
    if (!rc) rc = resolve_value(a, &v, src, out, err);
    rta__auth_value_clear(&v);
    free(canonical);
    return rc;
}
