/* gateway_fixture.h: the realtime gateway with no libwebsockets at all, for
 * tests/unit/test_gateway_*.c and fuzz/fuzz_gateway.c. A real rta_gateway over a real
 * registry and token service (app "app" with three keys), given fake hooks (gateway.h): a
 * clock the test advances (fx_advance), the gateway's one timer fired by it, and transports
 * that record what the gateway writes.
 *
 * Two kinds of connection:
 *   - bare (fx_conn): no transport, as the gateway keeps a detached connection; what it sends
 *     stays in c->out_head (replies) and c->held_head (channel messages): fx_pop();
 *   - over a fake transport (fx_open): opened by rta_gateway_open() with query arguments, so
 *     authentication runs as at a real upgrade; fx_loop() plays the event loop (writes what
 *     the gateway asked to write, closes what it asked to close, fires due timers) and
 *     fx_next() decodes what was written.
 * Header-only; include it once per program. */
#ifndef RTA_TESTS_GATEWAY_FIXTURE_H
#define RTA_TESTS_GATEWAY_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "server/auth/registry.h"
#include "server/auth/token_service.h"
#include "server/config.h" /* rta_config_defaults: the server's default limits */
#include "server/gateway/internal.h"
#include "server/log.h"

/* The fake clock's start (2026-01-01): tokens are minted and checked against it. */
#define FX_EPOCH 1767225600000LL

/* A fake transport: what the gateway asked of it. */
typedef struct fx_transport {
    struct fx_transport *next;     /* fx.transports */
    rta_conn *conn;                /* the slot: set by the gateway, NULL once it let go */
    char *query;                   /* "key=...&format=msgpack" (a copy) */
    int tls, loopback;
    int want_write;                /* a rta_gateway_writeable() is wanted */
    int choked;                    /* direct writes: can_write_now says no while set */
    int kill;                      /* close_now: closed at the next fx_loop() */
    int closed;                    /* rta_gateway_closed() was called: nothing more */
    int close_normal;              /* it closed with RTA_GATEWAY_WRITE_CLOSE */
    int pings;
    int auto_pong;                 /* the client answers each ping at the next fx_loop() */
    int pong_due;
    int fail_writes;               /* the next writes fail (-1) */
    int keep;                      /* keep written frames for fx_next (else count only) */
    size_t written;                /* frames written */
    struct fx_frame *head, *tail;  /* kept frames, oldest first */
} fx_transport;

typedef struct fx_frame {
    struct fx_frame *next;
    int binary;
    size_t len;
    unsigned char bytes[];
} fx_frame;

static struct {
    rta_registry registry;
    rta_token_service tokens;
    rta_gateway gateway;
    rta_gateway_deps deps;
    int64_t now;
    int64_t timer_at; /* the gateway's one timer; -1 when not armed */
    fx_transport *transports;
} fx;

/* ---- the fake hooks -------------------------------------------------------------------- */

static inline fx_transport *fx_t(rta_gateway_transport *t)
{
    return (fx_transport *)t;
}

static inline void fx_want_write(void *data, rta_gateway_transport *t)
{
    (void)data;
    fx_t(t)->want_write = 1;
}

static inline int fx_can_write_now(void *data, rta_gateway_transport *t)
{
    (void)data;
    return !fx_t(t)->choked;
}

static inline int fx_write(void *data, rta_gateway_transport *t, unsigned char *bytes, size_t len,
                           int binary)
{
    (void)data;
    fx_transport *x = fx_t(t);
    if (x->fail_writes) return -1;
    x->written++;
    if (!x->keep) return 0;
    fx_frame *f = malloc(sizeof(*f) + len + 1);
    if (!f) abort();
    f->next = NULL;
    f->binary = binary;
    f->len = len;
    memcpy(f->bytes, bytes, len);
    if (x->tail)
        x->tail->next = f;
    else
        x->head = f;
    x->tail = f;
    return 0;
}

static inline int fx_ping(void *data, rta_gateway_transport *t)
{
    (void)data;
    fx_t(t)->pings++;
    fx_t(t)->pong_due = fx_t(t)->auto_pong;
    return fx_t(t)->fail_writes ? -1 : 0;
}

static inline void fx_close_now(void *data, rta_gateway_transport *t)
{
    (void)data;
    fx_t(t)->kill = 1;
}

/* As lws_get_urlarg_by_name: the first '&'-separated argument starting with name (which ends
 * in '='), copied into buf; returns what follows name. */
static inline const char *fx_query_arg(void *data, rta_gateway_transport *t, const char *name,
                                       char *buf, size_t size)
{
    (void)data;
    const char *q = fx_t(t)->query;
    size_t nl = strlen(name);
    while (q && *q) {
        const char *end = strchr(q, '&');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len >= nl && !strncmp(q, name, nl) && len < size) {
            memcpy(buf, q, len);
            buf[len] = '\0';
            return buf + nl;
        }
        q = end ? end + 1 : NULL;
    }
    return NULL;
}

static inline int fx_is_tls(void *data, rta_gateway_transport *t)
{
    (void)data;
    return fx_t(t)->tls;
}

static inline int fx_is_loopback(void *data, rta_gateway_transport *t)
{
    (void)data;
    return fx_t(t)->loopback;
}

static inline int fx_timer_arm(void *data, int64_t delay_ms)
{
    (void)data;
    fx.timer_at = fx.now + delay_ms;
    return 0;
}

static inline void fx_timer_cancel(void *data)
{
    (void)data;
    fx.timer_at = -1;
}

static inline int64_t fx_clock(void)
{
    return fx.now;
}

/* ---- set-up ------------------------------------------------------------------------------ */

/* App "app" and its keys, enabled (again): "app.all" may do everything; "app.limited" only
 * publish/subscribe on "chan:*"; "app.rev" everything, with revocable tokens. */
static inline int fx_put_keys(void)
{
    rta_app_record app = {"app", "acct", 1, 0};
    rta_key_record all = {"app.all", "app", "secret-all", "{\"*\":[\"*\"]}", 0, 1, 1};
    rta_key_record lim = {"app.limited", "app", "secret-lim",
                          "{\"chan:*\":[\"publish\",\"subscribe\"]}", 0, 1, 1};
    rta_key_record rev = {"app.rev", "app", "secret-rev", "{\"*\":[\"*\"]}", 1, 1, 1};
    return rta_registry_put_app(&fx.registry, &app, NULL) ||
           rta_registry_put_key(&fx.registry, &all, NULL) ||
           rta_registry_put_key(&fx.registry, &lim, NULL) ||
           rta_registry_put_key(&fx.registry, &rev, NULL);
}

/* The fixture's keys (fx_put_keys), a token service with a server secret, and a gateway with
 * the server's default limits on the fake hooks. */
static inline int fx_init(void)
{
    memset(&fx, 0, sizeof(fx));
    fx.now = FX_EPOCH;
    fx.timer_at = -1;
    rta_log_set_level(RTA_LOG_ERROR);
    if (rta_registry_init(&fx.registry) || fx_put_keys() ||
        rta_token_service_init(&fx.tokens, &fx.registry, NULL) ||
        rta_keyring_add(&fx.tokens.keyring, 1, "fixture-server-secret", 21))
        return -1;
    rta_config cfg;
    rta_config_defaults(&cfg);
    cfg.gateway.max_connections = 1000; /* the server derives it from the descriptor limit */
    fx.deps = (rta_gateway_deps){
        .tokens = &fx.tokens,
        .limits = cfg.gateway,
        .history = cfg.history,
        .basic_over_http = RTA_BASIC_HTTP_LOOPBACK,
        .server_id = "fixture",
        .now = fx_clock,
        .hooks = {.headroom = 16, /* not 0: frames must not assume where they start */
                  .want_write = fx_want_write,
                  .write = fx_write,
                  .ping = fx_ping,
                  .close_now = fx_close_now,
                  .query_arg = fx_query_arg,
                  .is_tls = fx_is_tls,
                  .is_loopback = fx_is_loopback,
                  .timer_arm = fx_timer_arm,
                  .timer_cancel = fx_timer_cancel},
    };
    return rta_gateway_init(&fx.gateway, &fx.deps);
}

static inline void fx_transport_free(fx_transport *t)
{
    free(t->query);
    while (t->head) {
        fx_frame *f = t->head;
        t->head = f->next;
        free(f);
    }
    free(t);
}

/* Transports whose connection has closed are forgotten. */
static inline void fx_reap(void)
{
    for (fx_transport **p = &fx.transports; *p;) {
        fx_transport *t = *p;
        if (t->closed) {
            *p = t->next;
            fx_transport_free(t);
        } else {
            p = &t->next;
        }
    }
}

/* Its transport closed (the client or the network): the gateway keeps the connection for a
 * resume or frees it. */
static inline void fx_close(fx_transport *t)
{
    if (t->closed) return;
    t->closed = 1;
    if (t->conn) rta_gateway_closed(t->conn); /* clears t->conn */
    t->conn = NULL;
}

static inline void fx_free(void)
{
    for (fx_transport *t = fx.transports; t; t = t->next) fx_close(t);
    fx_reap();
    rta_gateway_stop(&fx.gateway);
    rta_gateway_free(&fx.gateway);
    rta_token_service_free(&fx.tokens);
    rta_registry_free(&fx.registry);
}

/* cmocka setup and teardown for a test that needs a fresh gateway and nothing else. */
static inline int fx_setup(void **state)
{
    (void)state;
    return fx_init();
}

/* As fx_setup, with direct writes (hooks.can_write_now, as rtauthd): fx_loop() ends each turn
 * with rta_gateway_flush(), as rtauthd's loop does. */
static inline int fx_setup_direct(void **state)
{
    (void)state;
    if (fx_init()) return -1;
    fx.gateway.hooks.can_write_now = fx_can_write_now;
    return 0;
}

static inline int fx_teardown(void **state)
{
    (void)state;
    fx_free();
    return 0;
}

/* ---- connections ------------------------------------------------------------------------- */

/* A bare connection authenticated with a key (Basic), with an optional clientId. */
static inline rta_conn *fx_conn(const char *key_name, const char *secret, const char *client_id,
                                rta_format fmt)
{
    rta_conn *c = rta__gw_conn_create(&fx.gateway, fmt);
    if (!c) return NULL;
    if (rta_token_service_basic(&fx.tokens, key_name, strlen(key_name), secret, strlen(secret),
                                &c->auth, NULL)) {
        rta__gw_conn_free(c);
        return NULL;
    }
    c->client_id = client_id ? strdup(client_id) : NULL;
    c->connected = 1;
    return c;
}

/* A WebSocket upgrade with these query arguments over a fake transport that keeps what is
 * written, and whose client answers pings. t->conn is the connection (NULL if it could not
 * even start); its CONNECTED or ending is queued: fx_loop() writes it. */
static inline fx_transport *fx_open_peer(const char *query, int tls, int loopback)
{
    fx_transport *t = calloc(1, sizeof(*t));
    if (!t) abort();
    if (!(t->query = strdup(query))) abort();
    t->tls = tls;
    t->loopback = loopback;
    t->keep = 1;
    t->auto_pong = 1;
    t->next = fx.transports;
    fx.transports = t;
    rta_gateway_open(&fx.gateway, (rta_gateway_transport *)t, &t->conn);
    if (!t->conn) t->closed = 1; /* the gateway asked for a close at once */
    return t;
}

/* The same from a loopback peer without TLS (where Basic auth is allowed by default). */
static inline fx_transport *fx_open(const char *query)
{
    return fx_open_peer(query, 0, 1);
}

/* A token of key_name (one of the fixture's) for client_id (NULL: none), ttl ms (0: the
 * default hour), issued now; malloc'd, NULL on failure. */
static inline char *fx_token(const char *key_name, const char *secret, const char *client_id,
                             int64_t ttl)
{
    rta_auth_context basic;
    if (rta_token_service_basic(&fx.tokens, key_name, strlen(key_name), secret, strlen(secret),
                                &basic, NULL))
        return NULL;
    rta_token_params p = {.ttl = ttl, .client_id = (char *)client_id};
    rta_issued_token it;
    rta_error e;
    char *out = NULL;
    if (!rta_token_service_request_basic(&fx.tokens, key_name, &basic, &p, NULL, fx.now, &it, &e)) {
        out = strdup(it.details.token);
        rta_issued_token_clear(&it);
    }
    rta_auth_context_clear(&basic);
    return out;
}

/* revokeTokens on key_name (revocable) for one target ("clientId:alice"), as the REST route
 * does once the revocation is durable: indexed, then rta_gateway_revoked(). margin: the
 * request's allowReauthMargin. Returns 0 or an Ably error code. */
static inline int fx_revoke(const char *key_name, const char *secret, const char *target,
                            int margin)
{
    rta_auth_context basic;
    int rc = rta_token_service_basic(&fx.tokens, key_name, strlen(key_name), secret,
                                     strlen(secret), &basic, NULL);
    if (rc) return rc;
    char *targets[1] = {(char *)target};
    rta_revoke_request req = {.targets = targets, .target_count = 1, .allow_reauth_margin = margin};
    rta_revocation_batch batch;
    rta_revocation_plan *plans = NULL;
    size_t n = 0;
    rta_error e;
    rc = rta_token_service_plan_revocation(&fx.tokens, key_name, &basic, &req, fx.now, &batch,
                                           &plans, &n, &e);
    if (!rc) {
        rc = rta_token_service_apply_revocations(&fx.tokens, key_name, plans, n);
        rta_revocation_batch_clear(&batch);
        /* as rtauthd does: only the connections the targets name (gateway/revindex.c) */
        const char *stored[RTA_MAX_REVOCATION_TARGETS];
        size_t k = rta_revocation_plan_targets(plans, n, stored);
        if (!rc) rta_gateway_revoked_targets(&fx.gateway, key_name, stored, k);
        rta_revocation_plans_free(plans, n);
    }
    rta_auth_context_clear(&basic);
    return rc;
}

/* ---- the fake event loop ----------------------------------------------------------------- */

/* Fires the gateway's timer while it is due at fx.now. */
static inline void fx_fire(void)
{
    for (int turns = 0; fx.timer_at >= 0 && fx.timer_at <= fx.now && turns < 1000; turns++) {
        fx.timer_at = -1;
        rta_gateway_timers_due(&fx.gateway);
    }
}

/* One pass over the transports as lws would make it: closes what was to close, writes what
 * was to write (until the gateway wants nothing more), then fires due timers; repeats while
 * anything happened. */
static inline void fx_loop(void)
{
    for (int again = 1, turns = 0; again && turns < 1000; turns++) {
        again = 0;
        fx_fire();
        if (fx.gateway.flush_head) { /* direct writes (fx_setup_direct) */
            rta_gateway_flush(&fx.gateway);
            again = 1;
        }
        for (fx_transport *t = fx.transports; t; t = t->next) {
            if (t->closed) continue;
            if (t->kill) {
                fx_close(t);
                again = 1;
                continue;
            }
            if (t->pong_due && t->conn) {
                t->pong_due = 0;
                rta_gateway_pong(t->conn);
            }
            while (t->want_write && t->conn) {
                t->want_write = 0;
                again = 1;
                int r = rta_gateway_writeable(t->conn);
                if (r != RTA_GATEWAY_WRITE_OK) {
                    t->close_normal = r == RTA_GATEWAY_WRITE_CLOSE;
                    fx_close(t);
                    break;
                }
            }
        }
        if (fx.gateway.flush_head) { /* what this turn queued: the end of rtauthd's loop turn */
            rta_gateway_flush(&fx.gateway);
            again = 1;
        }
    }
}

/* Advances the fake clock by ms, running the loop at each of the gateway's deadlines on the
 * way (in order, as the real timer would fire them). */
static inline void fx_advance(int64_t ms)
{
    int64_t end = fx.now + ms;
    fx_loop();
    while (fx.timer_at >= 0 && fx.timer_at <= end) {
        if (fx.timer_at > fx.now) fx.now = fx.timer_at;
        fx_loop();
    }
    fx.now = end;
    fx_loop();
}

/* ---- what was sent ----------------------------------------------------------------------- */

/* Decodes the frame f (without its headroom) in fmt into *m (0; clear it after). */
static inline int fx_decode(const void *bytes, size_t len, rta_format fmt, rta_protocol_message *m)
{
    rta_error e;
    return rta_protocol_message_decode(bytes, len, fmt, NULL, m, &e) ? -1 : 0;
}

/* Removes t's oldest written frame and decodes it (0), or returns -1 when there is none. */
static inline int fx_next(fx_transport *t, rta_protocol_message *m)
{
    fx_frame *f = t->head;
    if (!f) return -1;
    t->head = f->next;
    if (!t->head) t->tail = NULL;
    int rc = fx_decode(f->bytes, f->len, f->binary ? RTA_FORMAT_MSGPACK : RTA_FORMAT_JSON, m);
    free(f);
    return rc;
}

/* Removes c's oldest reply (held: its oldest held channel message) and decodes it into *m
 * (0; clear it after), or returns -1 when there is none. For bare connections. */
static inline int fx_pop(rta_conn *c, int held, rta_protocol_message *m)
{
    rta_frame **head = held ? &c->held_head : &c->out_head;
    rta_frame **tail = held ? &c->held_tail : &c->out_tail;
    rta_frame *f = *head;
    if (!f) return -1;
    *head = f->next;
    if (!*head) *tail = NULL;
    if (f == c->close_after) c->close_after = NULL;
    c->out_bytes -= f->bytes.len + sizeof(*f);
    c->gw->queued_bytes -= f->bytes.len + sizeof(*f);
    size_t headroom = c->gw->hooks.headroom;
    int rc = fx_decode(f->bytes.data + headroom, f->bytes.len - headroom, c->fmt, m);
    free(f->channel);
    rta_buf_free(&f->bytes);
    free(f);
    return rc;
}

/* A JSON frame from c's client, handled as if it arrived (a bare connection). */
static inline void fx_send_json(rta_conn *c, const char *json)
{
    rta__gw_conn_handle_message(c, json, strlen(json));
}

/* Drops everything queued and held for c. */
static inline void fx_drain(rta_conn *c)
{
    rta_protocol_message m;
    while (!fx_pop(c, 0, &m))
        rta_protocol_message_clear(&m);
    while (!fx_pop(c, 1, &m))
        rta_protocol_message_clear(&m);
}

#endif
