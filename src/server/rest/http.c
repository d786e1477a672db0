/* http.c: HTTP sessions over libwebsockets; see http.h. Never logs request bodies or
 * Authorization headers. */
#include "server/rest/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/base64.h"
#include "core/protocol.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/stats.h"
#include "server/rest/routes.h"
#include "server/rest/rest.h"

#define MAX_HEADER 16384
#define EARLY_REJECT_FACTOR 16 /* bodies announced this far over the limit are not even read */

static char *copy_header(struct lws *wsi, enum lws_token_indexes h)
{
    int n = lws_hdr_total_length(wsi, h);
    if (n <= 0 || n > MAX_HEADER) return NULL;
    char *v = malloc((size_t)n + 1);
    if (v && lws_hdr_copy(wsi, v, n + 1, h) < 0) {
        free(v);
        v = NULL;
    }
    return v;
}

static void reset(rta_http_session *s)
{
    free(s->authorization);
    free(s->client_id_header);
    free(s->link);
    free(s->extra_headers);
    rta_cors_clear(&s->cors);
    rta_buf_free(&s->body);
    rta_buf_free(&s->reply);
    if (s->route_state_free) s->route_state_free(s->route_state);
    if (s->pending) s->pending->session = NULL;
    const rta_route_env *env = s->env;
    struct rta_conn *ws = s->ws; /* owned by the gateway, which clears it on close */
    memset(s, 0, sizeof(*s));
    s->env = env;
    s->ws = ws;
}

int rta_http_peer_is_loopback(struct lws *wsi)
{
    char ip[64];
    const char *peer = lws_get_peer_simple(wsi, ip, sizeof(ip));
    if (!peer) return 0;
    return !strncmp(peer, "127.", 4) || !strcmp(peer, "::1") || !strncmp(peer, "::ffff:127.", 11);
}

static void read_headers(rta_http_session *s, struct lws *wsi)
{
    s->authorization = copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
    char ct[256] = "", accept[512] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE) < (int)sizeof(ct))
        lws_hdr_copy(wsi, ct, sizeof(ct), WSI_TOKEN_HTTP_CONTENT_TYPE);
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_ACCEPT) < (int)sizeof(accept))
        lws_hdr_copy(wsi, accept, sizeof(accept), WSI_TOKEN_HTTP_ACCEPT);
    s->body_format = RTA_FORMAT_JSON;
    s->body_format_known = 1;
    if (strstr(ct, "application/x-msgpack"))
        s->body_format = RTA_FORMAT_MSGPACK;
    else if (ct[0] && !strstr(ct, "application/json"))
        s->body_format_known = 0;
    s->reply_format = strstr(accept, "application/x-msgpack") ? RTA_FORMAT_MSGPACK : RTA_FORMAT_JSON;

    /* X-Ably-ClientId: base64 of the UTF-8 clientId (RSA7e2, S-6) */
    static const char name[] = "x-ably-clientid:";
    int n = lws_hdr_custom_length(wsi, name, (int)sizeof(name) - 1);
    if (n > 0 && n < 4096) {
        char enc[4096];
        lws_hdr_custom_copy(wsi, enc, sizeof(enc), name, (int)sizeof(name) - 1);
        char *dec = malloc(rta_base64_decoded_max((size_t)n) + 1);
        long len = dec ? rta_base64_decode(enc, (size_t)n, dec, RTA_BASE64_STD) : -1;
        if (len > 0 && !memchr(dec, '\0', (size_t)len) && rta_utf8_valid(dec, (size_t)len)) {
            dec[len] = '\0';
            s->client_id_header = dec;
        } else {
            free(dec);
            s->client_id_header_bad = 1;
        }
    } else if (n >= 4096) {
        s->client_id_header_bad = 1;
    }
    int q = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS);
    if (q > 0 && q < (int)sizeof(s->query)) lws_hdr_copy(wsi, s->query, sizeof(s->query),
                                                         WSI_TOKEN_HTTP_URI_ARGS);
    rta_cors_read(&s->cors, s->env->cors, wsi, s->method == RTA_HTTP_OPTIONS);
}

static rta_http_method method_of(struct lws *wsi)
{
    char *uri;
    int len;
    switch (lws_http_get_uri_and_method(wsi, &uri, &len)) {
    case LWSHUMETH_GET: return RTA_HTTP_GET;
    case LWSHUMETH_POST: return RTA_HTTP_POST;
    case LWSHUMETH_DELETE: return RTA_HTTP_DELETE;
    case LWSHUMETH_PUT: return RTA_HTTP_PUT;
    case LWSHUMETH_OPTIONS: return RTA_HTTP_OPTIONS;
    default: return RTA_HTTP_OTHER;
    }
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int access_log_on(const rta_http_session *s)
{
    return s->env && s->env->access_log && s->env->access_log->f;
}

/* The query for the access log, argument by argument as lws decoded them (a decoded value may
 * hold '&'), each credential's value redacted. */
static void read_log_query(rta_http_session *s, struct lws *wsi)
{
    char arg[1024];
    size_t at = 0;
    for (int i = 0; i < 64; i++) {
        int len = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (len >= (int)sizeof(arg)) { /* too long to show: not even its name */
            at = rta_access_log_query_add(s->log_query, sizeof(s->log_query), at, "(long)", 6);
            continue;
        }
        int n = lws_hdr_copy_fragment(wsi, arg, sizeof(arg), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0) break; /* no more */
        at = rta_access_log_query_add(s->log_query, sizeof(s->log_query), at, arg, (size_t)n);
    }
}

void rta_http_note_auth(rta_http_session *s, const char *key_name, const char *client_id)
{
    if (key_name) snprintf(s->log_key_name, sizeof(s->log_key_name), "%s", key_name);
    if (client_id) snprintf(s->log_client_id, sizeof(s->log_client_id), "%s", client_id);
}

static const char *method_name(rta_http_method m)
{
    static const char *names[] = {"GET", "POST", "DELETE", "PUT", "OPTIONS", "OTHER"};
    return names[m];
}

static void access_log_write(rta_http_session *s, size_t body_len)
{
    char ip[64] = "";
    const char *peer = lws_get_peer_simple(s->wsi, ip, sizeof(ip));
    rta_access_entry e = {.remote = peer,
                          .method = method_name(s->method),
                          .path = s->path,
                          .query = s->log_query,
                          .status = s->status,
                          .bytes = body_len,
                          .duration_ms = s->started_us
                                             ? (double)(mono_us() - s->started_us) / 1000.0
                                             : 0,
                          .key_name = s->log_key_name,
                          .client_id = s->log_client_id,
                          .code = s->error_code};
    rta_access_log_write(s->env->access_log, &e);
}

/* x-ably-errormessage must be a single printable ASCII line. */
static void header_safe(const char *in, char *out, size_t size)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < size; i++) {
        unsigned char c = (unsigned char)in[i];
        out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    out[j] = '\0';
}

/* Writes the reply. Returns -1 when the connection must close. */
static int write_reply(rta_http_session *s)
{
    struct lws *wsi = s->wsi;
    unsigned char hdr[LWS_PRE + 4096]; /* error or Link headers, and CORS's (cors.h) */
    unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    size_t body_len = s->reply.len > LWS_PRE ? s->reply.len - LWS_PRE : 0;
    s->replied = 1;
    if (lws_add_http_common_headers(wsi, (unsigned)s->status, s->content_type, body_len, &p, end))
        return -1;
    if (s->error_code) {
        char code[16], msg[RTA_ERROR_MESSAGE_MAX];
        int n = snprintf(code, sizeof(code), "%d", s->error_code);
        header_safe(s->error_message, msg, sizeof(msg));
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"x-ably-errorcode:",
                                        (unsigned char *)code, n, &p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *)"x-ably-errormessage:",
                                        (unsigned char *)msg, (int)strlen(msg), &p, end))
            return -1;
    }
    if (s->link && lws_add_http_header_by_name(wsi, (const unsigned char *)"link:",
                                               (unsigned char *)s->link, (int)strlen(s->link),
                                               &p, end))
        return -1;
    if (s->close_after &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
                                    (const unsigned char *)"close", 5, &p, end))
        return -1;
    if (s->allow_methods &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
                                    (const unsigned char *)s->allow_methods,
                                    (int)strlen(s->allow_methods), &p, end))
        return -1;
    for (size_t i = 0; i < s->extra_len;) { /* rta_http_add_header's "name:\0value\0" pairs */
        const char *name = s->extra_headers + i, *value = name + strlen(name) + 1;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                        (const unsigned char *)value, (int)strlen(value), &p, end))
            return -1;
        i = (size_t)(value - s->extra_headers) + strlen(value) + 1;
    }
    if (rta_cors_add_headers(&s->cors, s->allow_methods, wsi, &p, end)) return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end)) return -1;
    if (body_len &&
        lws_write(wsi, (unsigned char *)s->reply.data + LWS_PRE, body_len, LWS_WRITE_HTTP_FINAL) <
            (int)body_len)
        return -1;
    /* no body (a 204): HTTP/2 still needs the stream ended, or the client waits for it */
    if (!body_len && lws_write(wsi, start, 0, LWS_WRITE_HTTP_FINAL) < 0) return -1;
    if (access_log_on(s)) access_log_write(s, body_len);
    int close_after = s->close_after || s->body_too_large == 2; /* body not read: unusable */
    if (s->stats_app[0] && !s->stats_counted)
        rta_stats_api_request(s->stats_app, s->status, rta_clock_now());
    reset(s);
    if (close_after) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int dispatch(rta_http_session *s)
{
    s->in_dispatch = 1;
    rta_route_dispatch(s); /* which also answers a body over the limit, by route */
    s->in_dispatch = 0;
    if (s->pending) return 0; /* async: written when it finishes */
    if (!s->status) rta_http_reply_code(s, RTA_ERR_INTERNAL, "No reply");
    return write_reply(s);
}

/* Ends the connection after an error reply: the request stream cannot be trusted further. */
static int refuse_and_close(rta_http_session *s, int status, int code, const char *message)
{
    rta_error e;
    rta_error_set(&e, code, "%s", message);
    e.status_code = status;
    rta_http_reply_error(s, &e);
    s->close_after = 1;
    write_reply(s);
    return -1;
}

/* The body a request announces: its Content-Length (0 when absent), or -1 for one it cannot
 * take: a Transfer-Encoding (chunked), which libwebsockets 4.1 does not decode for a server, or
 * a Content-Length that is not a number. */
static long long announced_body(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) return -1;
    char cl[32] = "";
    int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (n <= 0) return 0;
    if (n >= (int)sizeof(cl) || lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0)
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(cl, &end, 10);
    return errno || end == cl || *end || v < 0 ? -1 : v;
}

/* A new request's headers are complete. Returns what the lws callback must return. */
static int begin_request(const rta_route_env *env, rta_http_session *s, struct lws *wsi, const char *uri,
                         size_t len)
{
    reset(s);
    s->env = env;
    s->wsi = wsi;
    s->method = method_of(wsi);
    size_t n = len < sizeof(s->path) - 1 ? len : sizeof(s->path) - 1;
    memcpy(s->path, uri, n);
    s->path[n] = '\0';
    s->tls = lws_is_ssl(wsi);
    read_headers(s, wsi);
    if (access_log_on(s)) {
        s->started_us = mono_us();
        read_log_query(s, wsi);
    }
    long long body = announced_body(wsi);
    /* libwebsockets 4.1.6 cannot serve a request with a body that it parses from its own
     * buffer, i.e. one pipelined behind an earlier request on a keep-alive connection: in
     * lws_http_action() (roles/http/server/server.c, the loop after "consuming") it hands our
     * body callback the buffered request's header bytes instead of its body, and once our
     * reply completes the transaction that loop consumes nothing and spins forever (issue 11:
     * one such request froze the server). lws serves its buffer from an idle handler, never
     * from socket I/O, so such a request is one that arrives outside the loop's I/O phase. The
     * requests before it were answered; this one is refused and the connection closed. A
     * pipelined request without a body is parsed correctly and served. */
    if (body != 0 && !env->in_io_phase(env->ctx))
        return refuse_and_close(s, 400, RTA_ERR_BAD_REQUEST,
                                "Pipelined requests with a body are not supported: send each "
                                "request after the reply to the previous one");
    if (body < 0)
        return refuse_and_close(s, 411, RTA_ERR_BAD_REQUEST,
                                "Send the request body with a Content-Length (chunked transfer "
                                "encoding is not supported)");
    if (body == 0 || (s->method != RTA_HTTP_POST && s->method != RTA_HTTP_PUT))
        return dispatch(s); /* a body on another method is read and dropped by lws */
    if ((unsigned long long)body > env->max_body * EARLY_REJECT_FACTOR) {
        s->body_too_large = 2;
        return dispatch(s);
    }
    return 0; /* the body follows */
}

int rta_http_callback(const rta_route_env *env, struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len)
{
    rta_http_session *s = user;
    /* No HTTP/2, by ALPN or by h2c upgrade (server.c says why): an h2c upgrade closes the
     * connection. WebSocket upgrades go on. */
    if (reason == LWS_CALLBACK_HTTP_CONFIRM_UPGRADE) return in && !strcmp(in, "h2c") ? -1 : 0;
    if (!s) return 0; /* not a connection with session data (vhost/protocol events) */
    switch (reason) {
    case LWS_CALLBACK_HTTP: return begin_request(env, s, wsi, in, len);
    case LWS_CALLBACK_HTTP_BODY:
        if (s->body_too_large) return 0;
        if (s->body.len + len > env->max_body) {
            s->body_too_large = 1; /* keep reading (and dropping) so the reply can be sent */
            rta_buf_free(&s->body);
            return 0;
        }
        rta_buf_append(&s->body, in, len);
        return s->body.oom ? -1 : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return dispatch(s);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (s->status && !s->pending && !s->replied) return write_reply(s);
        return 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        reset(s);
        return 0;
    default:
        return 0;
    }
}

static void set_reply_start(rta_http_session *s)
{
    rta_buf_free(&s->reply);
    char *room = rta_buf_reserve(&s->reply, LWS_PRE);
    if (room) {
        memset(room, 0, LWS_PRE);
        rta_buf_commit(&s->reply, LWS_PRE);
    }
}

void rta_http_reply_body(rta_http_session *s, int status, const char *content_type,
                         const void *body, size_t len)
{
    set_reply_start(s);
    rta_buf_append(&s->reply, body, len);
    s->status = status;
    s->content_type = content_type;
}

rta_writer *rta_http_begin_reply(rta_http_session *s, rta_writer *w)
{
    set_reply_start(s);
    rta_writer_init(w, s->reply_format, &s->reply);
    return w;
}

static const char *mime(rta_format f)
{
    return f == RTA_FORMAT_MSGPACK ? "application/x-msgpack" : "application/json";
}

void rta_http_reply_encoded(rta_http_session *s, int status)
{
    if (s->reply.oom) {
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    s->status = status;
    s->content_type = mime(s->reply_format);
}

void rta_http_reply_error(rta_http_session *s, const rta_error *e)
{
    rta_writer w;
    rta_http_begin_reply(s, &w);
    rta_w_map(&w, 1);
    rta_w_key(&w, "error");
    rta_error_info_write(e, &w);
    rta_w_map_end(&w);
    s->status = e->status_code ? e->status_code : rta_error_status(e->code);
    s->content_type = mime(s->reply_format);
    s->error_code = e->code;
    snprintf(s->error_message, sizeof(s->error_message), "%s", e->message);
    if (s->status < 400) s->status = 500;
    rta_log_event(RTA_LOG_DEBUG, "http.error",
                  &(rta_log_fields){.code = e->code,
                                    .key_name = s->log_key_name[0] ? s->log_key_name : NULL},
                  "%s %s -> %d %d %s", method_name(s->method), s->path, s->status, e->code,
                  e->message);
}

void rta_http_reply_code(rta_http_session *s, int code, const char *message)
{
    rta_error e;
    rta_error_set(&e, code, message ? "%s" : NULL, message);
    rta_http_reply_error(s, &e);
}

void rta_http_reply_options(rta_http_session *s, const char *methods)
{
    rta_http_reply_body(s, 204, NULL, "", 0);
    s->allow_methods = methods;
}

int rta_http_add_header(rta_http_session *s, const char *name, const char *value)
{
    size_t n = strlen(name) + 1, v = strlen(value) + 1;
    char *grown = realloc(s->extra_headers, s->extra_len + n + v);
    if (!grown) return -1;
    memcpy(grown + s->extra_len, name, n);
    memcpy(grown + s->extra_len + n, value, v);
    s->extra_headers = grown;
    s->extra_len += n + v;
    return 0;
}

rta_http_pending *rta_http_go_async(rta_http_session *s)
{
    rta_http_pending *p = calloc(1, sizeof(*p));
    if (!p) return NULL;
    p->session = s;
    s->pending = p;
    return p;
}

void rta_http_finish(rta_http_pending *p)
{
    rta_http_session *s = p->session;
    if (s) {
        s->pending = NULL;
        if (!s->status) rta_http_reply_code(s, RTA_ERR_INTERNAL, "No reply");
        struct lws *wsi = s->wsi; /* write_reply() resets the session */
        /* Written now rather than on the next POLLOUT: lws on libuv turns POLLOUT on and off
         * as an epoll DEL and ADD each: 8 us of an async requestToken's 63 in cluster mode
         * (docs/performance.md). What the socket does not take stays in lws's buffer,
         * which lws flushes on POLLOUT itself. Finished before the route returned: dispatch()
         * writes it. */
        if (!s->in_dispatch && write_reply(s))
            /* the connection cannot go on; this is not its callback, so lws closes it from
             * the loop */
            lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
    }
    free(p);
}
