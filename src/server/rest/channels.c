/* rest/channels.c: the REST channel endpoints, under the realtime gateway's rules:
 *   POST /channels/{name}/messages   publish (RSL1): capability publish (40160), clientId
 *                                    rules of the gateway (40012, S-51..S-53), size (40009),
 *                                    then the gateway's fan-out and history; a
 *                                    connectionKey on the messages publishes on behalf of
 *                                    that realtime connection (RSL1m, TM2h, gateway/query.h);
 *   GET  /channels/{name}/messages   history (RSL2) of the in-memory window
 *                                    (gateway/history.h): capability history (40160),
 *                                    limit/direction/start/end, paged with a cursor in Link.
 * rta_route_channels routes every path under /channels/ (GET /channels/{name} and the presence
 * reads are in rest/channel_info.c).
 * Bodies in JSON or msgpack per Content-Type / Accept (wire doc 4.1, 4.6). Message contents
 * are never logged.
 *
 * The channel name comes URL-decoded from libwebsockets, which also collapses "//", "/./"
 * and "/../" in the path: names containing those sequences cannot be used over REST. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/capability.h"
#include "server/auth/provision.h"
#include "server/clock.h"
#include "server/rest/channel_common.h"
#include "server/rest/routes.h"
#include "server/rest/rest.h"

#define PREFIX                "/channels/"
#define HISTORY_DEFAULT_LIMIT 100 /* RSL2b3 */
#define HISTORY_MAX_LIMIT     1000

/* The channel name of /channels/{name}{suffix} (NULL, 40400 or 40010 otherwise), read from
 * the full URI: the session's path copy is bounded, a channel name may be up to 1024 bytes. */
static int channel_name(rta_http_session *s, const char *suffix, char **out, rta_error *err)
{
    char *uri;
    int len;
    *out = NULL;
    if (lws_http_get_uri_and_method(s->wsi, &uri, &len) < 0 || len < 0)
        return rta_error_set(err, RTA_ERR_NOT_FOUND, "No such resource");
    size_t n = (size_t)len, pl = strlen(PREFIX), sl = strlen(suffix);
    if (n <= pl + sl || strncmp(uri, PREFIX, pl) || memcmp(uri + n - sl, suffix, sl))
        return rta_error_set(err, RTA_ERR_NOT_FOUND, "No such resource");
    size_t name_len = n - pl - sl;
    if (memchr(uri + pl, '\0', name_len) || !rta_utf8_valid(uri + pl, name_len))
        return rta_error_set(err, RTA_ERR_INVALID_CHANNEL, NULL);
    char *name = strndup(uri + pl, name_len);
    if (!name) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (!rta_channel_name_valid(name)) {
        free(name);
        return rta_error_set(err, RTA_ERR_INVALID_CHANNEL, NULL);
    }
    *out = name;
    return 0;
}

/* Authenticates, resolves the channel and checks the capability for op. Returns 0 with
 * *auth and *name to release, or non-zero after replying. */
int rta__rest_channel_prepare(rta_http_session *s, const char *suffix, uint32_t op,
                              const char *what, rta_auth_context *auth, char **name)
{
    rta_error err;
    if (rta_route_authenticate(s, auth)) return -1; /* replied (40101, 4014x, ...) */
    int rc = channel_name(s, suffix, name, &err);
    if (!rc && !rta_capability_allows(&auth->capability, *name, strlen(*name), op))
        rc = rta_error_set(&err, RTA_ERR_CAPABILITY_DENIED, "Permission denied: no %s capability",
                           what);
    if (!rc) return 0;
    free(*name);
    *name = NULL;
    rta_auth_context_clear(auth);
    rta_http_reply_error(s, &err);
    return -1;
}

/* ---- publish ------------------------------------------------------------------------------ */

/* Who the request speaks for (RSA7, S-51..S-53, as the gateway's MESSAGE path): a token's
 * clientId; for Basic auth or a wildcard token, the X-Ably-ClientId header if any (RSA7e2),
 * else any clientId. */
static int identify(const rta_http_session *s, const rta_auth_context *a, rta_speaker *sp,
                    rta_error *err)
{
    const char *who = NULL;
    int rc = s->client_id_header_bad ? RTA_ERR_INVALID_CLIENT_ID
                                     : rta_client_id_resolve(a, s->client_id_header, &who);
    if (rc == RTA_ERR_INVALID_CLIENT_ID)
        return rta_error_set(err, rc, "Invalid X-Ably-ClientId header");
    if (rc)
        return rta_error_set(err, rc, "X-Ably-ClientId does not match the token's clientId");
    *sp = rta_speaker_for(a, who);
    return 0;
}

/* Message.connectionKey (TM2h, RSL1m): a publish on behalf of a realtime connection. Every
 * message of one request must name the same one, or none. *key is set from the first. */
static int connection_key_of(rta_node m, size_t i, char **key, rta_error *err)
{
    rta_node k = rta_node_get(m, "connectionKey");
    if (rta_node_kind(k) == RTA_NODE_ABSENT || rta_node_kind(k) == RTA_NODE_NULL) {
        if (*key) goto mixed;
        return 0;
    }
    char *v = NULL;
    int rc = rta_node_strdup(k, 128, "connectionKey", &v, err);
    if (rc) return rc;
    if (i && (!*key || strcmp(*key, v))) {
        free(v);
        goto mixed;
    }
    if (!*key)
        *key = v;
    else
        free(v);
    return 0;
mixed:
    return rta_error_set(err, RTA_ERR_BAD_REQUEST,
                         "All messages of one publish must have the same connectionKey");
}

/* Decodes the body: one Message or an array of them; *conn_key its connectionKey, if any. */
static int decode_messages(rta_http_session *s, rta_message **out, size_t *count, char **conn_key,
                           rta_error *err)
{
    *out = NULL;
    *count = 0;
    *conn_key = NULL;
    rta_doc *doc = NULL;
    rta_parse_limits lim = {s->env->max_body, 0};
    int rc = rta_doc_parse(&doc, s->body_format, s->body.data ? s->body.data : "", s->body.len,
                           &lim, err);
    if (rc) return rc;
    rta_node root = rta_doc_root(doc);
    int single = rta_node_kind(root) == RTA_NODE_MAP;
    size_t n = single ? 1 : rta_node_len(root);
    if (!single && rta_node_kind(root) != RTA_NODE_ARRAY)
        rc = rta_error_set(err, RTA_ERR_INVALID_BODY, "Expected a Message or an array of them");
    else if (n > RTA_PM_MAX_MESSAGES)
        rc = rta_error_set(err, RTA_ERR_MESSAGE_TOO_LARGE, "More than %d messages",
                           RTA_PM_MAX_MESSAGES);
    rta_message *msgs = rc || !n ? NULL : calloc(n, sizeof(*msgs));
    if (!rc && n && !msgs) rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        rta_node node = single ? root : rta_node_at(root, i);
        rc = rta_message_decode_node(node, &msgs[i], err);
        if (!rc) rc = connection_key_of(node, i, conn_key, err);
        if (rc) {
            char msg[RTA_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof(msg), "%s", err->message);
            rta_error_set(err, rc, "message %zu: %.200s", i, msg);
        }
        *count = i + 1; /* so the caller clears what was decoded */
    }
    *out = msgs;
    rta_doc_free(doc);
    return rc;
}

/* Checks and stamps clientIds (S-51..S-53) and the total size (40009). */
int rta__rest_check_messages(rta_http_session *s, const rta_auth_context *auth,
                             rta_message *msgs, size_t n, rta_error *err)
{
    rta_speaker sp;
    int rc = identify(s, auth, &sp, err);
    if (rc) return rc;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        rta_message *m = &msgs[i];
        if (!rta_speaker_may_name(&sp, m->client_id))
            return rta_error_set(err, RTA_ERR_INVALID_CLIENT_ID,
                                 "Message clientId \"%.64s\" does not match the credentials",
                                 m->client_id);
        if (!m->client_id && sp.own && !(m->client_id = strdup(sp.own)))
            return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        total += rta_message_size(m);
    }
    int64_t max = (int64_t)s->env->max_message_size;
    if (total > (size_t)max)
        return rta_error_set(err, RTA_ERR_MESSAGE_TOO_LARGE,
                             "Maximum size of messages that can be published at once exceeded "
                             "(was %zu bytes, against a limit of %lld bytes)",
                             total, (long long)max);
    return 0;
}

/* 201 {channel, messageId, serials}: ably-js parses the body (empty fails, wire doc 4.6),
 * drops channel and messageId and resolves publish() with the rest (a PublishResult). */
static void reply_published(rta_http_session *s, const char *name, const char *id, size_t n)
{
    rta_writer w;
    rta_http_begin_reply(s, &w);
    rta_w_map(&w, 3);
    rta_w_key(&w, "channel");
    rta_w_str(&w, name);
    rta_w_key(&w, "messageId");
    rta_w_str(&w, id);
    rta_w_key(&w, "serials");
    rta_w_array(&w, n);
    for (size_t i = 0; i < n; i++) {
        char serial[96];
        snprintf(serial, sizeof(serial), "%s:%zu", id, i);
        rta_w_str(&w, serial);
    }
    rta_w_array_end(&w);
    rta_w_map_end(&w);
    rta_http_reply_encoded(s, 201);
}

/* Cluster mode: the publish is answered once the cluster's store sequenced it. */
typedef struct published_wait {
    rta_http_pending *pending;
    char *name;
    char id[32];
    size_t n;
} published_wait;

static void published(void *arg, int code, const char *message)
{
    published_wait *w = arg;
    rta_http_session *s = w->pending->session;
    if (s) { /* NULL: the client went meanwhile */
        if (code)
            rta_http_reply_code(s, code, message);
        else
            reply_published(s, w->name, w->id, w->n);
    }
    rta_http_finish(w->pending);
    free(w->name);
    free(w);
}

/* A publish on behalf of the realtime connection holding key (RSL1m, TM2h): attributed to
 * it (connectionId), under its rules too (gateway/query.h). */
static void publish_as(rta_http_session *s, const rta_auth_context *auth, const char *key,
                       const char *name, const char *id, rta_message *msgs, size_t n)
{
    rta_error err;
    published_wait *w = calloc(1, sizeof(*w));
    if (w) w->name = strdup(name);
    if (!w || !w->name) {
        if (w) free(w->name);
        free(w);
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    snprintf(w->id, sizeof(w->id), "%s", id);
    w->n = n;
    /* the pending handle first: in cluster mode `published` may only run later */
    if (s->env->publish_async && !(w->pending = rta_http_go_async(s))) {
        free(w->name);
        free(w);
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    int rc = rta_gateway_publish_as(s->env->gateway, auth->app_id, key, name, id, msgs, n,
                                    published, w, &err);
    if (!s->env->publish_async || rc) {
        if (w->pending) { /* cluster mode, refused: answer through the pending handle */
            rta_http_session *now = w->pending->session;
            if (now) rta_http_reply_error(now, &err);
            rta_http_finish(w->pending);
        } else if (rc) {
            rta_http_reply_error(s, &err);
        } else {
            reply_published(s, name, id, n);
        }
        free(w->name);
        free(w);
    }
}

static void publish(rta_http_session *s)
{
    if (!s->body_format_known) {
        rta_http_reply_code(s, RTA_ERR_UNSUPPORTED_MEDIA,
                            "Content-Type must be application/json or application/x-msgpack");
        return;
    }
    rta_auth_context auth;
    char *name;
    if (rta__rest_channel_prepare(s, "/messages", RTA_OP_PUBLISH, "publish", &auth, &name))
        return;
    rta_error err;
    rta_message *msgs;
    size_t n;
    char *conn_key = NULL;
    int rc = decode_messages(s, &msgs, &n, &conn_key, &err);
    if (!rc) rc = rta__rest_check_messages(s, &auth, msgs, n, &err);
    char id[32];
    char base[13];
    if (!rc && rta_random_alnum(base, 12))
        rc = rta_error_set(&err, RTA_ERR_INTERNAL, "No randomness");
    if (rc) {
        rta_http_reply_error(s, &err);
    } else {
        /* "<random>:0", so messages without an id are "<random>:0:<index>", as a realtime
         * publish's are "<connectionId>:<msgSerial>:<index>". */
        snprintf(id, sizeof(id), "%s:0", base);
        if (conn_key) {
            publish_as(s, &auth, conn_key, name, id, msgs, n);
        } else if (s->env->publish_async) {
            published_wait *w = calloc(1, sizeof(*w));
            if (w) w->name = strdup(name);
            if (!w || !w->name || !(w->pending = rta_http_go_async(s))) {
                if (w) free(w->name);
                free(w);
                rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
            } else {
                snprintf(w->id, sizeof(w->id), "%s", id);
                w->n = n;
                s->env->publish_async(s->env->ctx, auth.app_id, name, id, msgs, n, published, w);
            }
        } else {
            s->env->publish(s->env->ctx, auth.app_id, name, id, msgs, n);
            reply_published(s, name, id, n);
        }
    }
    for (size_t i = 0; i < n; i++)
        rta_message_clear(&msgs[i]);
    free(msgs);
    free(name);
    if (conn_key) OPENSSL_cleanse(conn_key, strlen(conn_key));
    free(conn_key);
    rta_auth_context_clear(&auth);
}

/* ---- history ------------------------------------------------------------------------------ */

/* A query parameter's URL-decoded value (in buf), or NULL when absent. */
static const char *arg(rta_http_session *s, const char *name_eq, char *buf, int size)
{
    return lws_get_urlarg_by_name(s->wsi, name_eq, buf, size); /* points past "name=" */
}

/* A whole decimal number in [min, max]. */
int rta__rest_parse_int(const char *v, long long min, long long max, long long *out)
{
    char *end;
    if (!*v || *v == '+' || *v == ' ') return 0;
    long long n = strtoll(v, &end, 10);
    if (*end || n < min || n > max) return 0;
    *out = n;
    return 1;
}

/* limit, direction, start, end, cursor (RSL2b); 40003 naming the bad one. */
int rta__rest_history_query(rta_http_session *s, rta_history_query *q, rta_error *err)
{
    char buf[64];
    const char *v;
    long long n;
    memset(q, 0, sizeof(*q));
    q->limit = HISTORY_DEFAULT_LIMIT;
    q->start = INT64_MIN; /* unbounded: a client may have set any timestamp */
    q->end = INT64_MAX;
    if ((v = arg(s, "limit=", buf, sizeof(buf)))) {
        if (!rta__rest_parse_int(v, 1, HISTORY_MAX_LIMIT, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "limit must be an integer from 1 to %d", HISTORY_MAX_LIMIT);
        q->limit = (size_t)n;
    }
    if ((v = arg(s, "direction=", buf, sizeof(buf)))) {
        if (strcmp(v, "backwards") && strcmp(v, "forwards"))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "direction must be backwards or forwards");
        q->forwards = !strcmp(v, "forwards");
    }
    if ((v = arg(s, "start=", buf, sizeof(buf)))) {
        if (!rta__rest_parse_int(v, 0, INT64_MAX, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "start must be a time in milliseconds since the epoch");
        q->start = n;
    }
    if ((v = arg(s, "end=", buf, sizeof(buf)))) {
        if (!rta__rest_parse_int(v, 0, INT64_MAX, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "end must be a time in milliseconds since the epoch");
        q->end = n;
    }
    if (q->start > q->end)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "start must not be after end");
    if ((v = arg(s, "cursor=", buf, sizeof(buf)))) {
        if (!rta__rest_parse_int(v, 1, INT64_MAX, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid cursor");
        q->has_cursor = 1;
        q->cursor = (uint64_t)n;
    }
    /* RTL10b: ably-js turns history({untilAttach: true}) into from_serial = the channel's
     * attachSerial (the ATTACHED's channelSerial): only what was published before it */
    if ((v = arg(s, "from_serial=", buf, sizeof(buf)))) {
        if (!rta__rest_parse_int(v, 0, INT64_MAX, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid from_serial");
        q->has_until = 1;
        q->until = (uint64_t)n;
    }
    return 0;
}

/* One Link entry (wire doc 4.6: `<./messages?...>; rel="x"`, a relative URL that ably-js
 * turns into the next request's query). */
void rta__rest_link_rel(rta_buf *b, const char *resource, const rta_history_query *q,
                        int with_cursor, uint64_t cursor, const char *rel)
{
    if (b->len) rta_buf_puts(b, ", ");
    rta_buf_printf(b, "<./%s?limit=%zu&direction=%s", resource, q->limit,
                   q->forwards ? "forwards" : "backwards");
    if (q->start != INT64_MIN) rta_buf_printf(b, "&start=%lld", (long long)q->start);
    if (q->end != INT64_MAX) rta_buf_printf(b, "&end=%lld", (long long)q->end);
    if (q->has_until) rta_buf_printf(b, "&from_serial=%llu", (unsigned long long)q->until);
    if (with_cursor) rta_buf_printf(b, "&cursor=%llu", (unsigned long long)cursor);
    rta_buf_printf(b, ">; rel=\"%s\"", rel);
}

/* The page (and its Link header) as the reply. */
static void reply_page(rta_http_session *s, const rta_history_query *q, const rta_message **page,
                       size_t n, int more, uint64_t next)
{
    int rc = 0;
    rta_writer w;
    rta_http_begin_reply(s, &w);
    rta_w_array(&w, n);
    for (size_t i = 0; i < n && !rc; i++)
        rc = rta_message_write(page[i], &w);
    rta_w_array_end(&w);
    rta_buf link = RTA_BUF_INIT;
    rta__rest_link_rel(&link, "messages", q, 0, 0, "first");
    rta__rest_link_rel(&link, "messages", q, q->has_cursor, q->cursor, "current");
    if (more) rta__rest_link_rel(&link, "messages", q, 1, next, "next");
    if (rc || link.oom) {
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Could not encode the history");
    } else {
        rta_http_reply_encoded(s, 200);
        size_t len;
        if (s->status == 200) s->link = rta_buf_detach(&link, &len);
    }
    rta_buf_free(&link);
}

/* Cluster mode: the page comes from the cluster's channel log. */
typedef struct history_wait {
    rta_http_pending *pending;
    rta_history_query q;
} history_wait;

static void history_read(void *arg, int rc, const rta_error *err, const rta_message *msgs,
                         size_t n, int more, uint64_t next)
{
    history_wait *w = arg;
    rta_http_session *s = w->pending->session;
    const rta_message **page = n ? malloc(n * sizeof(*page)) : NULL;
    if (s && rc) {
        char why[RTA_ERROR_MESSAGE_MAX + 32];
        snprintf(why, sizeof(why), "History not available: %s", err ? err->message : "");
        rta_http_reply_code(s, rc, why);
    } else if (s && n && !page) {
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
    } else if (s) {
        for (size_t i = 0; i < n; i++) page[i] = &msgs[i];
        reply_page(s, &w->q, page, n, more, next);
    }
    free(page);
    rta_http_finish(w->pending);
    free(w);
}

static void history(rta_http_session *s)
{
    rta_auth_context auth;
    char *name;
    if (rta__rest_channel_prepare(s, "/messages", RTA_OP_HISTORY, "history", &auth, &name))
        return;
    rta_error err;
    rta_history_query q;
    const rta_message **page = NULL;
    int rc = rta__rest_history_query(s, &q, &err);
    if (!rc && s->env->history_async) {
        history_wait *w = calloc(1, sizeof(*w));
        if (!w || !(w->pending = rta_http_go_async(s))) {
            free(w);
            rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
        } else {
            w->q = q;
            s->env->history_async(s->env->ctx, auth.app_id, name, &q, rta_clock_now(),
                                  history_read, w);
        }
    } else if (!rc && !(page = malloc(q.limit * sizeof(*page)))) {
        rc = rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    }
    if (rc) {
        rta_http_reply_error(s, &err);
    } else if (page) {
        int more;
        uint64_t next;
        size_t n = rta_history_read(s->env->history(s->env->ctx), auth.app_id, name, &q,
                                    rta_clock_now(), page, &more, &next);
        reply_page(s, &q, page, n, more, next);
    }
    free(page);
    free(name);
    rta_auth_context_clear(&auth);
}

/* 1 when the full URI ends with suffix after a non-empty name. */
static int ends_with(rta_http_session *s, const char *suffix)
{
    char *uri;
    int len;
    if (lws_http_get_uri_and_method(s->wsi, &uri, &len) < 0 || len < 0) return 0;
    size_t n = (size_t)len, pl = strlen(PREFIX), sl = strlen(suffix);
    return n > pl + sl && !memcmp(uri + n - sl, suffix, sl);
}

/* The request's method is one of `allowed` (GET and, with post, POST); else OPTIONS or 405. */
static int method_ok(rta_http_session *s, int post, const char *allowed)
{
    if (s->method == RTA_HTTP_GET || (post && s->method == RTA_HTTP_POST)) return 1;
    if (s->method == RTA_HTTP_OPTIONS) {
        rta_http_reply_options(s, allowed);
    } else {
        rta_http_reply_code(s, RTA_ERR_METHOD_NOT_ALLOWED, NULL);
        s->allow_methods = allowed;
    }
    return 0;
}

/* A channel name may itself contain '/' (libwebsockets decodes %2F): the longest known
 * suffix wins, and anything else is the channel's status (RSL8). */
void rta_route_channels(rta_http_session *s)
{
    if (ends_with(s, "/messages")) {
        if (!method_ok(s, 1, "GET, POST")) return;
        if (s->method == RTA_HTTP_POST)
            publish(s);
        else
            history(s);
    } else if (ends_with(s, "/presence/history")) {
        if (method_ok(s, 0, "GET")) rta__rest_presence_history(s);
    } else if (ends_with(s, "/presence")) {
        if (method_ok(s, 0, "GET")) rta__rest_presence_get(s);
    } else if (method_ok(s, 0, "GET")) {
        rta__rest_channel_status(s);
    }
}
