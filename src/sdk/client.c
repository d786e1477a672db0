/* client.c: the shared client core; see client.h. */
#include "client.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int64_t rta__now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct timespec rta__timespec_add_ms(struct timespec t, int64_t ms)
{
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000;
    if (t.tv_nsec >= 1000000000) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000;
    }
    return t;
}

struct timespec rta__deadline_ms(int64_t ms)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return rta__timespec_add_ms(now, ms);
}

void rta__cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &ca);
    pthread_condattr_destroy(&ca);
}

/* 127.0.0.0/8, ::1 and "localhost": the hosts Basic auth may reach without TLS, the same rule
 * as rtauthd's default --basic-over-http loopback. */
static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcasecmp(host, "localhost")) return 1;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

/* A host we can put in a URL: a name, an IPv4 address or a bare IPv6 address. */
static int host_ok(const char *h)
{
    if (!*h || strlen(h) > 253) return 0;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':' || *p == '_'))
            return 0;
    return 1;
}

int rta__client_init(rta__client *c, const rta_client_options *o, rta_error *err)
{
    memset(c, 0, sizeof(*c));
    const char *host = o->endpoint ? o->endpoint : "127.0.0.1";
    if (!host_ok(host)) return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid endpoint");
    if (o->port < 0 || o->port > 65535)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid port %d", o->port);
    c->tls = o->tls != 0;
    c->port = o->port ? o->port : (c->tls ? 443 : 80);
    c->loopback = is_loopback(host);
    c->format = o->use_binary_protocol ? RTA_FORMAT_MSGPACK : RTA_FORMAT_JSON;
    c->timeouts = o->timeouts;
    if (c->timeouts.http_open_ms <= 0) c->timeouts.http_open_ms = 4000;
    if (c->timeouts.http_request_ms <= 0) c->timeouts.http_request_ms = 10000;
    if (c->timeouts.auth_request_ms <= 0) c->timeouts.auth_request_ms = 10000;
    c->log_level = o->log_level;
    c->log_handler = o->log_handler;
    c->log_data = o->log_data;
    c->host = strdup(host);
    size_t n = strlen(host) + 32;
    c->base_url = malloc(n);
    c->http = rta__http_new(o->tls_ca_file);
    if (!c->host || !c->base_url || !c->http) {
        rta__client_release(c);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    int v6 = strchr(host, ':') != NULL;
    snprintf(c->base_url, n, "%s://%s%s%s:%d", c->tls ? "https" : "http", v6 ? "[" : "", host,
             v6 ? "]" : "", c->port);
    pthread_mutex_init(&c->time_mu, NULL);
    atomic_init(&c->have_offset, 0);
    atomic_init(&c->offset_ms, 0);
    rta__worker_init(&c->worker);
    rta__cb_threads_init(&c->cb_threads);
    return 0;
}

void rta__client_release(rta__client *c)
{
    rta__cb_threads_release(&c->cb_threads);             /* waits for authCallbacks still running */
    if (c->base_url) pthread_mutex_destroy(&c->time_mu); /* initialised only on success */
    rta__http_free(c->http);
    free(c->host);
    free(c->base_url);
    c->http = NULL;
    c->host = c->base_url = NULL;
}

/* ---- logging ------------------------------------------------------------------------- */

static const char *level_name(rta_client_log_level l)
{
    switch (l) {
    case RTA_CLIENT_LOG_ERROR:
        return "error";
    case RTA_CLIENT_LOG_WARN:
        return "warn";
    case RTA_CLIENT_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void rta__log(const rta__client *c, rta_client_log_level level, const char *fmt, ...)
{
    if (level == RTA_CLIENT_LOG_NONE || level > c->log_level) return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (c->log_handler) {
        const void *prev = rta__callback_enter(c);
        c->log_handler(level, line, c->log_data);
        rta__callback_leave(prev);
    } else {
        fprintf(stderr, "librtauth %s: %s\n", level_name(level), line);
    }
}

/* ---- callbacks ----------------------------------------------------------------------- */

/* The client whose callback this thread is running, if any. Nested callbacks of different
 * clients restore the outer one on leave. */
static _Thread_local const void *in_callback_of;

const void *rta__callback_enter(const void *owner)
{
    const void *prev = in_callback_of;
    in_callback_of = owner;
    return prev;
}

void rta__callback_leave(const void *previous)
{
    in_callback_of = previous;
}

int rta__check_not_in_callback(const void *owner, rta_error *err)
{
    if (in_callback_of && in_callback_of == owner)
        return rta_error_set(err, RTA_ERR_BAD_REQUEST,
                             "Blocking call from a callback of the same client (it could "
                             "deadlock); use the _async form");
    return 0;
}

/* ---- headers and errors ---------------------------------------------------------------- */

void rta__headers_add(rta__headers *h, const char *fmt, ...)
{
    if (h->count >= RTA__MAX_HEADERS) {
        h->oom = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    if (vasprintf(&line, fmt, ap) < 0) line = NULL;
    va_end(ap);
    if (!line) {
        h->oom = 1;
        return;
    }
    h->lines[h->count++] = line;
    h->lines[h->count] = NULL;
}

void rta__headers_free(rta__headers *h)
{
    for (int i = 0; i < h->count; i++) {
        /* Authorization lines carry credentials: wipe before freeing. */
        memset(h->lines[i], 0, strlen(h->lines[i]));
        free(h->lines[i]);
    }
    memset(h, 0, sizeof(*h));
}

int rta__content_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    while (*ct == ' ')
        ct++;
    return !strncasecmp(ct, type, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

int rta__error_from_response(const rta__http_resp *r, rta_error *err)
{
    int fmt = -1;
    if (rta__content_type_is(r->content_type, "application/json")) fmt = RTA_FORMAT_JSON;
    if (rta__content_type_is(r->content_type, "application/x-msgpack")) fmt = RTA_FORMAT_MSGPACK;
    rta_doc *doc = NULL;
    if (fmt >= 0 && r->body.len &&
        rta_doc_parse(&doc, (rta_format)fmt, r->body.data, r->body.len, NULL, NULL) == 0) {
        rta_node e = rta_node_get(rta_doc_root(doc), "error");
        int64_t code = 0, status = 0;
        const char *msg = NULL;
        size_t msg_len = 0;
        if (rta_node_int(rta_node_get(e, "code"), &code) && code > 0 && code < 100000) {
            if (!rta_node_int(rta_node_get(e, "statusCode"), &status) || status < 100 ||
                status > 599)
                status = r->status;
            if (!rta_node_str(rta_node_get(e, "message"), &msg, &msg_len)) msg = NULL;
            if (msg)
                rta_error_set_status(err, (int)code, (int)status, "%.*s", (int)msg_len, msg);
            else
                rta_error_set_status(err, (int)code, (int)status, NULL);
            rta_doc_free(doc);
            return (int)code;
        }
        rta_doc_free(doc);
    }
    if (r->error_code > 0)
        return rta_error_set_status(err, r->error_code, (int)r->status, "%s",
                                    r->error_message[0] ? r->error_message
                                                        : rta_strerror(r->error_code));
    int code = r->status >= 400 && r->status < 600 ? (int)r->status * 100 : RTA_ERR_INTERNAL;
    return rta_error_set_status(err, code, (int)r->status, "HTTP status %ld", r->status);
}

/* ---- server time (RSC16, RSA10k) ---------------------------------------------------------- */

int rta__client_fetch_time(rta__client *c, int64_t *out, rta_error *err)
{
    char url[600];
    snprintf(url, sizeof(url), "%s/time", c->base_url);
    /* ably-js asks /time in JSON whatever the client's format (wire protocol 4.5). */
    const char *hdrs[] = {"Accept: application/json", "X-Ably-Version: " RTA__PROTOCOL_VERSION,
                          "Ably-Agent: " RTA__AGENT, NULL};
    rta__http_req req = {
        "GET", url, hdrs, NULL, 0, c->timeouts.http_request_ms, c->timeouts.http_open_ms, 4096};
    rta__http_resp resp;
    int64_t before = rta__now_ms();
    int rc = rta__http_perform(c->http, &req, &resp, err);
    if (rc) return rc;
    if (resp.status < 200 || resp.status >= 300) {
        rc = rta__error_from_response(&resp, err);
        rta__http_resp_free(&resp);
        return rc;
    }
    rta_doc *doc = NULL;
    int64_t t = 0;
    if (rta_doc_parse(&doc, RTA_FORMAT_JSON, resp.body.data, resp.body.len, NULL, NULL) == 0)
        rta_node_int(rta_node_at(rta_doc_root(doc), 0), &t);
    rta_doc_free(doc);
    rta__http_resp_free(&resp);
    if (t <= 0) return rta_error_set(err, RTA_ERR_INTERNAL, "Invalid reply from /time");
    /* The reply was made somewhere between sending and receiving: take the midpoint. */
    int64_t after = rta__now_ms();
    atomic_store(&c->offset_ms, t - (before + after) / 2);
    atomic_store(&c->have_offset, 1);
    *out = t;
    return 0;
}

int rta__client_server_now(rta__client *c, int64_t *now_server)
{
    if (!atomic_load(&c->have_offset)) return 0;
    *now_server = rta__now_ms() + atomic_load(&c->offset_ms);
    return 1;
}

int rta__client_timestamp(rta__client *c, int query_time, int64_t *out, rta_error *err)
{
    if (query_time && !atomic_load(&c->have_offset)) {
        /* One /time per client even when several threads want it at once (RSA10k). */
        pthread_mutex_lock(&c->time_mu);
        int rc = 0;
        int64_t t;
        if (!atomic_load(&c->have_offset)) rc = rta__client_fetch_time(c, &t, err);
        pthread_mutex_unlock(&c->time_mu);
        if (rc) return rc;
    }
    int64_t now = rta__now_ms();
    *out = atomic_load(&c->have_offset) ? now + atomic_load(&c->offset_ms) : now;
    return 0;
}
