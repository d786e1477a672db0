/* rest/batch.c: the batch REST endpoints (RSC22, RSC24; BAR2, BPR, BGR):
 *   POST /messages               batch publish: one BatchPublishSpec {channels, messages} or
 *                                an array of them; each channel published as a REST publish
 *                                (RSL1), its capability checked on its own: a channel outside
 *                                it (40160) or with an invalid name (40010) fails alone;
 *   GET  /presence?channels=a,b  batch presence: each channel's presence set (RSP3), checked
 *                                as GET /channels/{name}/presence (capability subscribe).
 * Reply shapes follow X-Ably-Version (wire doc 4.8): from version 2 (ably-js 2.x sends 6), a
 * BatchResult {successCount, failureCount, results} per spec (201 for publish, 200 for
 * presence) whatever the outcome; before it (legacy, no header), a plain array of per-channel
 * results on success and, when any channel failed, 400 {error: 40020, batchResponse: array}.
 * A malformed body, or messages the request's credentials may not publish, fail the whole
 * request as POST /channels/{name}/messages does. Message contents are never logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/capability.h"
#include "server/auth/provision.h"
#include "server/rest/batch_spec.h"
#include "server/rest/channel_common.h"
#include "server/rest/routes.h"
#include "server/rest/rest.h"

#define MAX_CHANNELS          RTA_BATCH_MAX_CHANNELS /* per batch presence request */
#define BATCH_PARTIAL_FAILURE 40020

typedef struct channel_result {
    char *channel;
    char id[32]; /* the publish's messageId; empty for a presence result */
    size_t n;    /* messages published */
    int code;    /* 0: success */
    char message[RTA_ERROR_MESSAGE_MAX];
    rta_presence_message *presence; /* batch presence: borrowed views (array owned) */
    size_t presence_count;
} channel_result;

typedef struct batch {
    rta_http_pending *pending; /* cluster mode: set while publishes are with the relay */
    int version;
    int single;   /* the body was one spec, not an array */
    int presence; /* a batch presence reply */
    size_t specs;
    size_t *spec_end; /* results of spec i end at spec_end[i] */
    channel_result *results;
    size_t count, outstanding;
    int submitted; /* every publish was handed over */
} batch;

static void batch_free(batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        free(b->results[i].channel);
        free(b->results[i].presence);
    }
    free(b->results);
    free(b->spec_end);
    free(b);
}

static void fail(channel_result *r, int code, const char *message)
{
    rta_error e;
    rta_error_set(&e, code, "%s", message);
    r->code = code;
    snprintf(r->message, sizeof(r->message), "%s", e.message);
}

static void write_result(rta_writer *w, const batch *b, const channel_result *r)
{
    if (r->code) {
        rta_error e;
        rta_error_set(&e, r->code, "%s", r->message);
        rta_w_map(w, 2);
        rta_w_key(w, "channel");
        rta_w_str(w, r->channel);
        rta_w_key(w, "error");
        rta_error_info_write(&e, w);
        rta_w_map_end(w);
        return;
    }
    if (b->presence) {
        rta_w_map(w, 2);
        rta_w_key(w, "channel");
        rta_w_str(w, r->channel);
        rta_w_key(w, "presence");
        rta__rest_write_presence(w, r->presence, r->presence_count);
        rta_w_map_end(w);
        return;
    }
    rta_w_map(w, 3);
    rta_w_key(w, "channel");
    rta_w_str(w, r->channel);
    rta_w_key(w, "messageId");
    rta_w_str(w, r->id);
    rta_w_key(w, "serials");
    rta_w_array(w, r->n);
    for (size_t i = 0; i < r->n; i++) {
        char serial[96];
        snprintf(serial, sizeof(serial), "%s:%zu", r->id, i);
        rta_w_str(w, serial);
    }
    rta_w_array_end(w);
    rta_w_map_end(w);
}

/* BatchResult (BAR2) of results [from, to). */
static void write_batch_result(rta_writer *w, const batch *b, size_t from, size_t to)
{
    size_t failed = 0;
    for (size_t i = from; i < to; i++)
        failed += b->results[i].code != 0;
    rta_w_map(w, 3);
    rta_w_key(w, "successCount");
    rta_w_int(w, (int64_t)(to - from - failed));
    rta_w_key(w, "failureCount");
    rta_w_int(w, (int64_t)failed);
    rta_w_key(w, "results");
    rta_w_array(w, to - from);
    for (size_t i = from; i < to; i++)
        write_result(w, b, &b->results[i]);
    rta_w_array_end(w);
    rta_w_map_end(w);
}

static void reply(rta_http_session *s, const batch *b)
{
    int ok_status = b->presence ? 200 : 201;
    rta_writer w;
    rta_http_begin_reply(s, &w);
    if (b->version >= 2) {
        if (b->single) {
            write_batch_result(&w, b, 0, b->count);
        } else {
            rta_w_array(&w, b->specs);
            for (size_t i = 0; i < b->specs; i++)
                write_batch_result(&w, b, i ? b->spec_end[i - 1] : 0, b->spec_end[i]);
            rta_w_array_end(&w);
        }
        rta_http_reply_encoded(s, ok_status);
        return;
    }
    size_t failed = 0;
    for (size_t i = 0; i < b->count; i++)
        failed += b->results[i].code != 0;
    if (failed) { /* legacy partial failure: 400, 40020, the per-channel results alongside */
        rta_error e;
        rta_error_set(&e, BATCH_PARTIAL_FAILURE, "Batched response includes errors");
        e.status_code = 400;
        rta_w_map(&w, 2);
        rta_w_key(&w, "error");
        rta_error_info_write(&e, &w);
        rta_w_key(&w, "batchResponse");
    }
    rta_w_array(&w, b->count);
    for (size_t i = 0; i < b->count; i++)
        write_result(&w, b, &b->results[i]);
    rta_w_array_end(&w);
    if (failed) {
        rta_w_map_end(&w);
        s->error_code = BATCH_PARTIAL_FAILURE;
        snprintf(s->error_message, sizeof(s->error_message), "Batched response includes errors");
    }
    rta_http_reply_encoded(s, failed ? 400 : ok_status);
}

/* ---- POST /messages ------------------------------------------------------------------------ */

static void maybe_finish(batch *b)
{
    if (!b->submitted || b->outstanding) return;
    rta_http_session *s = b->pending->session;
    if (s) reply(s, b);
    rta_http_finish(b->pending);
    batch_free(b);
}

typedef struct relay_wait {
    batch *b;
    channel_result *r;
} relay_wait;

static void published(void *arg, int code, const char *message)
{
    relay_wait *rw = arg;
    if (code) fail(rw->r, code, message ? message : "Publish failed");
    rw->b->outstanding--;
    maybe_finish(rw->b);
    free(rw);
}

/* Publishes msgs on one channel of the batch (its result r). */
static void publish_one(rta_http_session *s, const rta_auth_context *auth, batch *b,
                        channel_result *r, rta_message *msgs, size_t n)
{
    char base[13];
    if (!rta_channel_name_valid(r->channel)) {
        fail(r, RTA_ERR_INVALID_CHANNEL, "Invalid channel name");
        return;
    }
    if (!rta_capability_allows(&auth->capability, r->channel, strlen(r->channel), RTA_OP_PUBLISH)) {
        fail(r, RTA_ERR_CAPABILITY_DENIED, "Permission denied: no publish capability");
        return;
    }
    if (rta_random_alnum(base, 12)) {
        fail(r, RTA_ERR_INTERNAL, "No randomness");
        return;
    }
    snprintf(r->id, sizeof(r->id), "%s:0", base);
    r->n = n;
    if (!s->env->publish_async) {
        s->env->publish(s->env->ctx, auth->app_id, r->channel, r->id, msgs, n);
        return;
    }
    relay_wait *rw = malloc(sizeof(*rw));
    if (!rw) {
        fail(r, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    *rw = (relay_wait){b, r};
    b->outstanding++;
    s->env->publish_async(s->env->ctx, auth->app_id, r->channel, r->id, msgs, n, published, rw);
}

/* One result per channel, in request order; spec_end[i] ends spec i's. */
static int plan(const rta_batch_request *req, batch *b, rta_error *err)
{
    b->single = req->single;
    b->specs = req->count;
    b->results = calloc(req->channels_total ? req->channels_total : 1, sizeof(*b->results));
    b->spec_end = calloc(req->count ? req->count : 1, sizeof(*b->spec_end));
    if (!b->results || !b->spec_end) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t i = 0; i < req->count; i++) {
        for (size_t k = 0; k < req->specs[i].channel_count; k++) {
            b->results[b->count].channel = req->specs[i].channels[k];
            req->specs[i].channels[k] = NULL; /* moved */
            b->count++;
        }
        b->spec_end[i] = b->count;
    }
    return 0;
}

void rta__rest_batch_publish(rta_http_session *s)
{
    if (!s->body_format_known) {
        rta_http_reply_code(s, RTA_ERR_UNSUPPORTED_MEDIA,
                            "Content-Type must be application/json or application/x-msgpack");
        return;
    }
    rta_auth_context auth;
    if (rta_route_authenticate(s, &auth)) return;
    rta_error err;
    rta_batch_request req;
    batch *b = calloc(1, sizeof(*b));
    int decoded = 0;
    int rc = b ? 0 : rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    if (!rc) {
        rc = rta_batch_request_decode(s->body.data, s->body.len, s->body_format, s->env->max_body,
                                      &req, &err);
        decoded = !rc;
    }
    /* every spec's messages are checked before anything is published: all or nothing */
    for (size_t i = 0; !rc && i < req.count; i++)
        rc = rta__rest_check_messages(s, &auth, req.specs[i].messages, req.specs[i].message_count,
                                      &err);
    if (!rc) rc = plan(&req, b, &err);
    if (!rc && s->env->publish_async && !(b->pending = rta_http_go_async(s)))
        rc = rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    if (rc) {
        rta_http_reply_error(s, &err);
    } else {
        b->version = rta__rest_ably_version(s);
        for (size_t i = 0; i < b->specs; i++)
            for (size_t k = i ? b->spec_end[i - 1] : 0; k < b->spec_end[i]; k++)
                publish_one(s, &auth, b, &b->results[k], req.specs[i].messages,
                            req.specs[i].message_count);
    }
    if (decoded) rta_batch_request_clear(&req);
    rta_auth_context_clear(&auth);
    if (!b) return;
    if (rc) {
        batch_free(b);
    } else if (b->pending) { /* cluster mode: the reply once the relay answered them all */
        b->submitted = 1;
        maybe_finish(b);
    } else {
        reply(s, b);
        batch_free(b);
    }
}

/* ---- GET /presence?channels=a,b ---------------------------------------------------------------
 */

void rta__rest_batch_presence(rta_http_session *s)
{
    rta_auth_context auth;
    if (rta_route_authenticate(s, &auth)) return;
    rta_error err;
    int rc = 0;
    size_t cap = MAX_CHANNELS * (RTA_CHANNEL_NAME_MAX + 1);
    char *list = malloc(cap);
    batch *b = calloc(1, sizeof(*b));
    const char *v = list && b ? lws_get_urlarg_by_name(s->wsi, "channels=", list, (int)cap) : NULL;
    if (!list || !b)
        rc = rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    else if (!v || !*v)
        rc = rta_error_set(&err, RTA_ERR_INVALID_PARAMETER, "channels is required");
    size_t n = 1;
    for (const char *p = v; !rc && *p; p++)
        n += *p == ',';
    if (!rc && n > MAX_CHANNELS)
        rc = rta_error_set(&err, RTA_ERR_INVALID_PARAMETER, "At most %d channels", MAX_CHANNELS);
    if (!rc && !(b->results = calloc(n, sizeof(*b->results))))
        rc = rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    if (rc) {
        rta_http_reply_error(s, &err);
    } else {
        b->presence = 1;
        b->single = 1;
        b->version = rta__rest_ably_version(s);
        for (const char *p = v;; p++) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            channel_result *r = &b->results[b->count];
            r->channel = strndup(p, len);
            if (!r->channel) break;
            b->count++;
            if (!rta_channel_name_valid(r->channel))
                fail(r, RTA_ERR_INVALID_CHANNEL, "Invalid channel name");
            else if (!rta_capability_allows(&auth.capability, r->channel, len, RTA_OP_SUBSCRIBE))
                fail(r, RTA_ERR_CAPABILITY_DENIED, "Permission denied: no subscribe capability");
            else
                r->presence_count =
                    rta__rest_presence_all(s, auth.app_id, r->channel, &r->presence);
            if (!end) break;
            p = end;
        }
        reply(s, b);
    }
    if (b) batch_free(b);
    free(list);
    rta_auth_context_clear(&auth);
}
