/* rest/routes.c: routing, credentials, /time, requestToken and revokeTokens; see rest.h.
 * Logs name keys by key name only; bodies, tokens, MACs and secrets are never logged. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/token_codec.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/stats.h"
#include "server/rest/routes.h"
#include "server/rest/rest.h"
#include "server/console/console.h"

/* ---- credentials -------------------------------------------------------------------- */

int rta_route_authenticate(rta_http_session *s, rta_auth_context *out)
{
    rta_error err;
    int rc;
    memset(out, 0, sizeof(*out));
    const char *h = s->authorization;
    if (!h) {
        rc = rta_error_set(&err, RTA_ERR_INVALID_CREDENTIALS, "No authentication credentials");
    } else if (!strncasecmp(h, "Basic ", 6)) {
        const char *enc = h + 6;
        size_t n = strlen(enc);
        char dec[1024];
        long len = n < 1300 ? rta_base64_decode(enc, n, dec, RTA_BASE64_STD) : -1;
        const char *colon = len > 0 ? memchr(dec, ':', (size_t)len) : NULL;
        if (!colon) {
            rc = rta_error_set(&err, RTA_ERR_INVALID_CREDENTIAL, "Invalid Basic credentials");
        } else if (!rta_basic_allowed(s->env->basic_over_http, s->tls,
                                             /* asked only here: getpeername costs a syscall */
                                             !s->tls && rta_http_peer_is_loopback(s->wsi))) {
            rc = rta_error_set(&err, RTA_ERR_BASIC_OVER_NON_TLS, NULL);
        } else {
            size_t name_len = (size_t)(colon - dec);
            rc = rta_token_service_basic(s->env->tokens, dec, name_len, colon + 1,
                                         (size_t)len - name_len - 1, out, &err);
        }
        OPENSSL_cleanse(dec, sizeof(dec));
    } else if (!strncasecmp(h, "Bearer ", 7)) {
        /* S-3: raw when it has a '.', else base64 of the token (ably-js sends base64) */
        const char *tok = h + 7;
        size_t n = strlen(tok);
        char *dec = NULL;
        if (!memchr(tok, '.', n)) {
            dec = malloc(rta_base64_decoded_max(n) + 1);
            long len = dec ? rta_base64_decode(tok, n, dec, RTA_BASE64_STD) : -1;
            if (len < 0) len = dec ? rta_base64_decode(tok, n, dec, RTA_BASE64_URL) : -1;
            if (len >= 0) tok = dec, n = (size_t)len;
        }
        rc = rta_token_service_verify(s->env->tokens, tok, n, rta_clock_now(), out, &err);
        free(dec);
    } else {
        rc = rta_error_set(&err, RTA_ERR_INVALID_CREDENTIALS, "Unsupported Authorization scheme");
    }
    if (rc) {
        rta_log_event(RTA_LOG_INFO, "auth.refused", &(rta_log_fields){.code = err.code},
                      "%s %s: credentials refused: %d %s", s->method == RTA_HTTP_GET ? "GET" : "request",
                      s->path, err.code, err.message);
        rta_http_reply_error(s, &err);
    } else {
        rta_http_note_auth(s, out->key_name, out->client_id);
        memcpy(s->stats_app, out->app_id, sizeof(s->stats_app)); /* apiRequests (stats.h) */
    }
    return rc;
}

/* ---- GET /time ------------------------------------------------------------------------ */

static void route_time(rta_http_session *s)
{
    rta_writer w;
    rta_http_begin_reply(s, &w);
    rta_w_array(&w, 1);
    rta_w_int(&w, rta_clock_now());
    rta_w_array_end(&w);
    rta_http_reply_encoded(s, 200);
}

/* ---- GET /health, GET /ready (for load balancers and orchestrators) ------------------------ */

/* Alive: the loop answers. No auth, no store, no work. */
static void route_health(rta_http_session *s)
{
    static const char body[] = "{\"status\":\"ok\"}";
    rta_http_reply_body(s, 200, "application/json", body, sizeof(body) - 1);
}

/* Serving: 200, or 503 with the reason (a node cut off from Redis, not yet caught up...). */
static void route_ready(rta_http_session *s)
{
    char why[160] = "";
    int ready = !s->env->ready || s->env->ready(s->env->ctx, why, sizeof(why));
    rta_buf b = RTA_BUF_INIT;
    if (ready) {
        static const char yes[] = "{\"ready\":true}";
        rta_buf_append(&b, yes, sizeof(yes) - 1);
    } else {
        static const char no[] = "{\"ready\":false,\"reason\":";
        rta_buf_append(&b, no, sizeof(no) - 1);
        rta_json_quote(&b, why, strlen(why));
        rta_buf_append(&b, "}", 1);
    }
    rta_http_reply_body(s, ready ? 200 : 503, "application/json", b.data, b.len);
    rta_buf_free(&b);
}

/* ---- GET /metrics (issue 17; server/metrics.h) ---------------------------------------------- */

static void route_metrics(rta_http_session *s)
{
    rta_error err;
    char ip[64] = "";
    const char *peer = lws_get_peer_simple(s->wsi, ip, sizeof(ip));
    if (!s->env->metrics) {
        rta_http_reply_code(s, RTA_ERR_NOT_FOUND, "No such resource");
        return;
    }
    if (rta_metrics_access_check(s->env->metrics, s->authorization, peer, &err)) {
        s->reply_format = RTA_FORMAT_JSON;
        rta_http_reply_error(s, &err);
        return;
    }
    rta_buf b = RTA_BUF_INIT;
    if (rta_metrics_render(&b)) {
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
    } else {
        rta_http_reply_body(s, 200, RTA_METRICS_CONTENT_TYPE, b.data, b.len);
    }
    rta_buf_free(&b);
}

/* ---- POST /keys/{keyName}/requestToken --------------------------------------------------- */

typedef struct token_job {
    rta_store_job job;
    rta_http_pending *pending;
    rta_issued_token issued;
    uint64_t started_ns, submitted_ns; /* metrics: the request, the nonce's store job */
    const rta_route_env *env;
} token_job;

/* A requestToken in its app's statistics (RSC6), when key_name is a known key: apps are
 * never named by an unverified request. status: the HTTP status of the answer. */
static void count_for_stats(const rta_route_env *env, const char *key_name, int status)
{
    const rta_key_entry *k = key_name ? rta_registry_key(env->registry, key_name,
                                                         strlen(key_name))
                                      : NULL;
    if (k) rta_stats_token_request(k->app_id, status, rta_clock_now());
}

static void token_issued(rta_http_session *s, const rta_token_details *d);

static void reply_token(rta_http_session *s, const rta_token_details *d)
{
    token_issued(s, d);
    rta_writer w;
    rta_http_begin_reply(s, &w);
    rta_token_details_write(d, &w);
    rta_http_reply_encoded(s, 200);
}

/* The reply once the nonce is stored (rc 0), failed to store, or found replayed (by another
 * node, or before a restart). */
static void reply_after_nonce(rta_http_session *s, int rc, const rta_error *err, int replayed,
                              const rta_token_details *d)
{
    if (rc) {
        rta_log_event(RTA_LOG_ERROR, "store.error", &(rta_log_fields){.code = rc},
                      "storing a nonce failed: %s", err->message);
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Could not record the token request");
    } else if (replayed) {
        rta_http_reply_code(s, RTA_ERR_NONCE_REPLAYED, NULL);
    } else {
        reply_token(s, d);
    }
}

static void token_job_done(rta_store_job *job)
{
    token_job *j = (token_job *)job;
    rta_metrics_observe_since(RTA_H_NONCE_CHECK, j->submitted_ns);
    rta_metrics_token_request(job->rc ? RTA_ERR_INTERNAL
                                      : job->replayed ? RTA_ERR_NONCE_REPLAYED : 0);
    rta_metrics_observe_since(RTA_H_REQUEST_TOKEN, j->started_ns);
    count_for_stats(j->env, j->issued.nonce_key_name,
                    job->rc ? 500 : job->replayed ? 401 : 200);
    rta_http_session *s = j->pending->session;
    if (s) reply_after_nonce(s, job->rc, &job->err, job->replayed, &j->issued.details);
    rta_http_finish(j->pending);
    rta_issued_token_clear(&j->issued);
    free(j);
}

/* The path's key name is only a claim, but not a secret: logged as given (escaped). */
static void token_refused(rta_http_session *s, const char *key_name, const rta_error *err)
{
    rta_log_event(RTA_LOG_INFO, "token.refused",
                  &(rta_log_fields){.key_name = key_name, .code = err->code},
                  "requestToken for key %s refused: %d %s", key_name, err->code, err->message);
    rta_http_reply_error(s, err);
}

static void token_issued(rta_http_session *s, const rta_token_details *d)
{
    rta_http_note_auth(s, d->key_name, d->client_id);
    rta_log_event(RTA_LOG_INFO, "token.issued",
                  &(rta_log_fields){.key_name = d->key_name, .client_id = d->client_id},
                  "token issued by key %s to clientId %s, expires %lld", d->key_name,
                  d->client_id ? d->client_id : "(none)", (long long)d->expires);
}

static void request_token(rta_http_session *s, const char *key_name, uint64_t started_ns)
{
    rta_error err;
    if (!s->body_format_known) {
        rta_http_reply_code(s, RTA_ERR_UNSUPPORTED_MEDIA,
                            "Content-Type must be application/json or application/x-msgpack");
        return;
    }
    rta_doc *doc = NULL;
    /* flat JSON bodies skip jansson (codec_flat.c; 15% of a requestToken when profiled) */
    if (rta_doc_parse_scalars(&doc, s->body_format, s->body.data ? s->body.data : "", s->body.len, NULL,
                      &err)) {
        token_refused(s, key_name, &err);
        return;
    }
    rta_node root = rta_doc_root(doc);
    rta_issued_token issued;
    int rc;
    int64_t now = rta_clock_now();
    if (rta_node_kind(rta_node_get(root, "mac")) != RTA_NODE_ABSENT) {
        /* A signed TokenRequest; an Authorization header alongside is tolerated (4.2). */
        rta_token_request req;
        rc = rta_token_request_decode_node(root, &req, &err);
        if (!rc) {
            rc = rta_token_service_request_signed(s->env->tokens, key_name, &req, now, &issued,
                                                  &err);
            rta_token_request_clear(&req);
        }
    } else {
        rta_token_params params;
        rta_auth_context auth;
        rc = rta_token_params_decode_node(root, &params, &err);
        if (!rc && s->client_id_header_bad)
            rc = rta_error_set(&err, RTA_ERR_INVALID_CLIENT_ID, "Invalid X-Ably-ClientId header");
        if (rc) {
            rta_doc_free(doc);
            token_refused(s, key_name, &err);
            return;
        }
        rc = rta_route_authenticate(s, &auth);
        if (rc) { /* replied */
            rta_token_params_clear(&params);
            rta_doc_free(doc);
            return;
        }
        rc = rta_token_service_request_basic(s->env->tokens, key_name, &auth, &params,
                                             s->client_id_header, now, &issued, &err);
        rta_auth_context_clear(&auth);
        rta_token_params_clear(&params);
    }
    rta_doc_free(doc);
    if (rc) {
        token_refused(s, key_name, &err);
        return;
    }
    if (!issued.nonce) { /* Basic path: nothing to persist */
        reply_token(s, &issued.details);
        rta_issued_token_clear(&issued);
        return;
    }
    /* The nonce is durable before the token goes out (issue 3: also across a restart). A
     * local journal takes it right here, one write(2): measured 25% more tokens/s than a
     * batched hand-off; a shared store (Redis) goes through the store thread. */
    rta_store *store = s->env->store;
    if (store->ops->add_nonces_local) {
        rta_nonce_record rec = {issued.nonce_key_name, issued.nonce, issued.nonce_expires};
        unsigned char replayed = 0;
        uint64_t t0 = rta_metrics_now_ns();
        rc = store->ops->add_nonces_local(store, &rec, 1, &replayed, &err);
        rta_metrics_observe_since(RTA_H_NONCE_CHECK, t0);
        reply_after_nonce(s, rc, &err, replayed, &issued.details);
        rta_issued_token_clear(&issued);
        return;
    }
    token_job *j = calloc(1, sizeof(*j));
    if (!j || !(j->pending = rta_http_go_async(s))) {
        free(j);
        rta_issued_token_clear(&issued);
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    j->issued = issued;
    j->started_ns = started_ns;
    j->env = s->env;
    j->submitted_ns = rta_metrics_now_ns();
    j->job.is_nonce = 1;
    j->job.done = token_job_done;
    j->job.nonce.key_name = j->issued.nonce_key_name;
    j->job.nonce.nonce = j->issued.nonce;
    j->job.nonce.expires = j->issued.nonce_expires;
    s->env->submit(s->env->ctx, &j->job);
}

/* Counts the request (issued, or refused with its code) and its latency once it is answered
 * here; an answer that waits for the store is counted by token_job_done. */
static void route_request_token(rta_http_session *s, const char *key_name)
{
    uint64_t t0 = rta_metrics_now_ns();
    s->stats_counted = 1; /* apiRequests.tokenRequests, by count_for_stats */
    request_token(s, key_name, t0);
    if (s->pending) return;
    rta_metrics_token_request(s->status == 200 ? 0 : s->error_code ? s->error_code
                                                                    : RTA_ERR_INTERNAL);
    count_for_stats(s->env, key_name, s->status);
    rta_metrics_observe_since(RTA_H_REQUEST_TOKEN, t0);
}

/* ---- POST /keys/{keyName}/revokeTokens ---------------------------------------------------- */

typedef struct revoke_job {
    rta_store_job job;
    rta_http_pending *pending;
    char key_name[RTA_KEY_NAME_MAX + 1];
    rta_revocation_batch result;
    rta_revocation_plan *plans;
    size_t plan_count;
    const rta_route_env *env;
    uint64_t received_ns; /* metrics: receipt of the request */
} revoke_job;

static void reply_batch(rta_http_session *s, const rta_revocation_batch *b)
{
    rta_writer w;
    rta_http_begin_reply(s, &w); /* sets up the headroom; the codec appends after it */
    rta_revocation_batch_encode(b, s->reply_format, &s->reply);
    rta_http_reply_encoded(s, 201);
}

static void revoke_job_run(rta_store_job *job, rta_store *store)
{
    revoke_job *j = (revoke_job *)job;
    job->rc = rta_revocation_plans_store(store, j->key_name, j->plans, j->plan_count, &job->err);
}

static void revoke_job_done(rta_store_job *job)
{
    revoke_job *j = (revoke_job *)job;
    if (!job->rc) {
        /* Durable now: enforce it (and, with the gateway, act on live connections). */
        rta_token_service_apply_revocations(j->env->tokens, j->key_name, j->plans,
                                            j->plan_count);
        const char *targets[RTA_MAX_REVOCATION_TARGETS];
        size_t n = rta_revocation_plan_targets(j->plans, j->plan_count, targets);
        j->env->revoked(j->env->ctx, j->key_name, targets, n); /* live connections too */
        rta_metrics_add(RTA_M_REVOCATIONS, j->plan_count);
        rta_metrics_observe_since(RTA_H_REVOCATION_APPLY, j->received_ns);
        rta_log_event(RTA_LOG_INFO, "revocation.applied", &(rta_log_fields){.key_name = j->key_name},
                      "revoked %zu target(s) of key %s", j->plan_count, j->key_name);
    }
    rta_http_session *s = j->pending->session;
    if (s) {
        if (job->rc) {
            rta_log_event(RTA_LOG_ERROR, "store.error",
                          &(rta_log_fields){.key_name = j->key_name, .code = job->rc},
                          "storing a revocation of key %s failed: %s", j->key_name,
                          job->err.message);
            rta_http_reply_code(s, RTA_ERR_INTERNAL, "Could not store the revocation");
        }
        else
            reply_batch(s, &j->result);
    }
    rta_http_finish(j->pending);
    rta_revocation_batch_clear(&j->result);
    rta_revocation_plans_free(j->plans, j->plan_count);
    free(j);
}

static void route_revoke_tokens(rta_http_session *s, const char *key_name)
{
    rta_error err;
    if (!s->body_format_known) {
        rta_http_reply_code(s, RTA_ERR_UNSUPPORTED_MEDIA, NULL);
        return;
    }
    uint64_t received_ns = rta_metrics_now_ns();
    rta_auth_context auth;
    if (rta_route_authenticate(s, &auth)) return;
    rta_revoke_request req;
    int rc = rta_revoke_request_decode(s->body.data ? s->body.data : "", s->body.len,
                                       s->body_format, &req, &err);
    int decoded = rc == 0;
    revoke_job *j = rc ? NULL : calloc(1, sizeof(*j));
    if (!rc && !j) rc = rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    if (!rc)
        rc = rta_token_service_plan_revocation(s->env->tokens, key_name, &auth, &req,
                                               rta_clock_now(), &j->result, &j->plans,
                                               &j->plan_count, &err);
    if (!rc)
        rta_log_event(RTA_LOG_INFO, "revocation.received",
                      &(rta_log_fields){.key_name = key_name},
                      "revokeTokens for key %s: %zu target(s) to store", key_name, j->plan_count);
    else
        rta_log_event(RTA_LOG_INFO, "revocation.refused",
                      &(rta_log_fields){.key_name = key_name, .code = err.code},
                      "revokeTokens for key %s refused: %d %s", key_name, err.code, err.message);
    if (decoded) rta_revoke_request_clear(&req);
    rta_auth_context_clear(&auth);
    if (rc) {
        free(j);
        rta_http_reply_error(s, &err);
        return;
    }
    if (j->plan_count == 0) { /* every target failed: nothing to store */
        reply_batch(s, &j->result);
        rta_revocation_batch_clear(&j->result);
        free(j);
        return;
    }
    if (!(j->pending = rta_http_go_async(s))) {
        rta_revocation_batch_clear(&j->result);
        rta_revocation_plans_free(j->plans, j->plan_count);
        free(j);
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    memcpy(j->key_name, key_name, strnlen(key_name, RTA_KEY_NAME_MAX)); /* validated by plan */
    j->env = s->env;
    j->received_ns = received_ns;
    j->job.run = revoke_job_run;
    j->job.done = revoke_job_done;
    s->env->submit(s->env->ctx, &j->job);
}

/* ---- routing ------------------------------------------------------------------------ */

/* Matches "/prefix/<segment>/suffix" and copies <segment> (no '/', not empty). */
static int match_segment(const char *path, const char *prefix, const char *suffix, char *out,
                         size_t size)
{
    size_t pl = strlen(prefix), sl = strlen(suffix), n = strlen(path);
    if (n <= pl + sl || strncmp(path, prefix, pl) || strcmp(path + n - sl, suffix)) return 0;
    size_t seg = n - pl - sl;
    if (seg >= size || memchr(path + pl, '/', seg)) return 0;
    memcpy(out, path + pl, seg);
    out[seg] = '\0';
    return 1;
}

/* 1 when the request has the route's one method m (named name); else answers an OPTIONS
 * (CORS preflight, http.h) or 40500, both with Allow. */
static int method_is(rta_http_session *s, rta_http_method m, const char *name)
{
    if (s->method == m) return 1;
    if (s->method == RTA_HTTP_OPTIONS) {
        rta_http_reply_options(s, name);
    } else {
        rta_http_reply_code(s, RTA_ERR_METHOD_NOT_ALLOWED, NULL);
        s->allow_methods = name;
    }
    return 0;
}

void rta_route_dispatch(rta_http_session *s)
{
    rta_metrics_add(RTA_M_HTTP_REQUESTS, 1);
    char seg[RTA_KEY_NAME_MAX + 64];
    const char *path = s->path;
    int channels = !strncmp(path, "/channels/", 10);
    if (s->body_too_large) { /* a publish over the body limit is a message too large (RSL1i) */
        rta_http_reply_code(s, channels ? RTA_ERR_MESSAGE_TOO_LARGE : RTA_ERR_BODY_TOO_LARGE, NULL);
        return;
    }
    if (!strcmp(path, "/time")) {
        if (method_is(s, RTA_HTTP_GET, "GET")) route_time(s);
    } else if (!strcmp(path, "/health")) {
        if (method_is(s, RTA_HTTP_GET, "GET")) route_health(s);
    } else if (!strcmp(path, "/ready")) {
        if (method_is(s, RTA_HTTP_GET, "GET")) route_ready(s);
    } else if (!strcmp(path, "/stats")) {
        if (method_is(s, RTA_HTTP_GET, "GET")) rta_route_stats(s);
    } else if (!strcmp(path, "/metrics")) {
        if (method_is(s, RTA_HTTP_GET, "GET")) route_metrics(s);
    } else if (match_segment(path, "/keys/", "/requestToken", seg, sizeof(seg))) {
        if (method_is(s, RTA_HTTP_POST, "POST")) route_request_token(s, seg);
    } else if (match_segment(path, "/keys/", "/revokeTokens", seg, sizeof(seg))) {
        if (method_is(s, RTA_HTTP_POST, "POST")) route_revoke_tokens(s, seg);
    } else if (channels) {
        rta_route_channels(s);
    } else if (!strcmp(path, "/messages")) { /* RSC22 */
        if (method_is(s, RTA_HTTP_POST, "POST")) rta__rest_batch_publish(s);
    } else if (!strcmp(path, "/presence")) { /* RSC24 */
        if (method_is(s, RTA_HTTP_GET, "GET")) rta__rest_batch_presence(s);
    } else if (s->env->sandbox && !strcmp(path, "/apps")) {
        if (method_is(s, RTA_HTTP_POST, "POST")) rta_route_create_app(s);
    } else if (s->env->sandbox && match_segment(path, "/apps/", "", seg, sizeof(seg))) {
        if (method_is(s, RTA_HTTP_DELETE, "DELETE")) rta_route_delete_app(s, seg);
    } else if (s->env->console && (!strcmp(path, "/console") || !strncmp(path, "/console/", 9))) {
        /* served from rtauthd's own origin only: never CORS (console.h) */
        rta_cors_clear(&s->cors);
        rta_console_route(s->env->console, s);
    } else if (s->method == RTA_HTTP_OPTIONS) {
        /* no such route, but a preflight that fails would hide the 404 from the page */
        rta_http_reply_options(s, "GET, POST, PUT, PATCH, DELETE");
    } else {
        rta_http_reply_code(s, RTA_ERR_NOT_FOUND, "No such resource");
    }
}
