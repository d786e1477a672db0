/* gateway_conn.c: realtime connections: authentication at the upgrade (wire protocol 3.1,
 * checklist S-4, S-5, S-48, S-56, S-57), the outgoing frame queue, HEARTBEAT/CLOSE, in-band
 * AUTH (RTC8a, S-60, S-61), token expiry (RTN22, S-58) and revocation (S-64).
 * Never logs tokens or keys: connections are named by connectionId and key name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/native_token.h"
#include "gateway_internal.h"
#include "http.h"
#include "log.h"
#include "provision.h"
#include "server.h"

#define AUTH_HINT_BEFORE_MS 30000 /* RTN22: ask for a new token this long before expiry */
#define MAX_FRAME (512 * 1024)
#define MAX_QUERY_VALUE 8192

int rta_gateway_init(rta_gateway *gw, rta_server *srv)
{
    memset(gw, 0, sizeof(*gw));
    gw->srv = srv;
    gw->max_message_size = 65536;
    gw->max_idle_interval = 15000;
    gw->connection_state_ttl = 120000;
    if (rta_history_init(&gw->history, &srv->cfg.history)) return RTA_ERR_INTERNAL;
    return rta_hmap_init(&gw->channels);
}

void rta_gateway_free(rta_gateway *gw)
{
    rta__channels_free(gw);
    rta_history_free(&gw->history);
}

/* ---- frames out ---------------------------------------------------------------------------- */

static rta_frame *frame_new(void)
{
    rta_frame *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    char *room = rta_buf_reserve(&f->data, LWS_PRE);
    if (!room) {
        free(f);
        return NULL;
    }
    memset(room, 0, LWS_PRE);
    rta_buf_commit(&f->data, LWS_PRE);
    return f;
}

static void frame_queue(rta_conn *c, rta_frame *f)
{
    f->binary = c->fmt == RTA_FORMAT_MSGPACK; /* msgpack only in binary frames (1.4) */
    if (c->out_tail)
        c->out_tail->next = f;
    else
        c->out_head = f;
    c->out_tail = f;
    lws_callback_on_writable(c->wsi);
}

void rta__conn_send(rta_conn *c, const rta_protocol_message *m)
{
    rta_frame *f = frame_new();
    if (!f) return;
    if (rta_protocol_message_encode(m, c->fmt, &f->data) || f->data.oom) {
        rta_buf_free(&f->data);
        free(f);
        return;
    }
    frame_queue(c, f);
}

void rta__conn_send_encoded(rta_conn *c, const void *bytes, size_t len)
{
    rta_frame *f = frame_new();
    if (!f) return;
    rta_buf_append(&f->data, bytes, len);
    if (f->data.oom) {
        rta_buf_free(&f->data);
        free(f);
        return;
    }
    frame_queue(c, f);
}

void rta__conn_send_error(rta_conn *c, int action, const char *channel, const rta_error *e)
{
    rta_protocol_message m = {.action = action, .has = RTA_PM_HAS_ERROR, .error = *e};
    m.channel = (char *)channel;
    rta__conn_send(c, &m);
}

void rta__conn_fail(rta_conn *c, int action, const rta_error *e)
{
    rta_log_debug("connection %s: %s %d %s", c->id,
                  action == RTA_ACTION_ERROR ? "ERROR" : "DISCONNECTED", e->code, e->message);
    rta__conn_send_error(c, action, NULL, e);
    c->closing = 1;
}

static void send_connected(rta_conn *c)
{
    rta_gateway *gw = c->gw;
    rta_protocol_message m = {.action = RTA_ACTION_CONNECTED,
                              .has = RTA_PM_HAS_CONNECTION_DETAILS,
                              .connection_id = c->id};
    rta_connection_details *d = &m.details;
    d->client_id = c->client_id;
    d->connection_key = c->key;
    d->server_id = gw->srv->server_id;
    d->max_message_size = gw->max_message_size;
    d->max_frame_size = MAX_FRAME;
    d->max_inbound_rate = 250;
    d->connection_state_ttl = gw->connection_state_ttl;
    d->max_idle_interval = gw->max_idle_interval;
    rta__conn_send(c, &m);
}

/* ---- timers: expiry, reauth hint, revocation ------------------------------------------------ */

static void arm_timers(rta_conn *c);
static int64_t pending_revocation(rta_conn *c);

static void on_expiry(lws_sorted_usec_list_t *sul)
{
    rta_conn *c = lws_container_of(sul, rta_conn, expiry_timer);
    int64_t now = rta_server_now();
    rta_error e;
    if (c->revoke_at && now >= c->revoke_at &&
        rta_token_service_is_revoked(&c->gw->srv->tokens, &c->auth, now, NULL)) {
        rta_error_set(&e, RTA_ERR_TOKEN_REVOKED, NULL);
        rta__conn_fail(c, RTA_ACTION_DISCONNECTED, &e);
    } else if (c->auth.expires && now >= c->auth.expires) {
        rta_error_set(&e, RTA_ERR_TOKEN_EXPIRED, NULL); /* RTN22a, S-58 */
        rta__conn_fail(c, RTA_ACTION_DISCONNECTED, &e);
    } else {
        /* Woken early (the wall clock stepped back, or the revocation was purged): keep the
         * deadlines that remain, so the expiry disconnect is never lost. */
        c->revoke_at = pending_revocation(c);
        arm_timers(c);
    }
}

static void on_hint(lws_sorted_usec_list_t *sul)
{
    rta_conn *c = lws_container_of(sul, rta_conn, hint_timer);
    rta_protocol_message m = {.action = RTA_ACTION_AUTH}; /* RTN22: please reauthenticate */
    rta__conn_send(c, &m);
}

static void schedule(rta_conn *c, lws_sorted_usec_list_t *sul, sul_cb_t cb, int64_t at)
{
    int64_t delay = at - rta_server_now();
    if (delay < 0) delay = 0;
    lws_sul_schedule(lws_get_context(c->wsi), 0, sul, cb, (lws_usec_t)delay * 1000);
}

/* Expiry at `expires`; a hint 30 s before when that moment is still ahead, and only for
 * token connections (an AUTH makes a token-literal client fail at once: 3.4). */
static void arm_timers(rta_conn *c)
{
    lws_sul_cancel(&c->expiry_timer);
    lws_sul_cancel(&c->hint_timer);
    if (c->auth.method == RTA_AUTH_BASIC) return;
    int64_t now = rta_server_now();
    int64_t at = c->auth.expires;
    if (c->revoke_at && (!at || c->revoke_at < at)) at = c->revoke_at;
    if (at) schedule(c, &c->expiry_timer, on_expiry, at);
    if (c->auth.expires && c->auth.expires - AUTH_HINT_BEFORE_MS > now)
        schedule(c, &c->hint_timer, on_hint, c->auth.expires - AUTH_HINT_BEFORE_MS);
}

/* The appliesAt of a revocation that matches c's token but applies later (allowReauthMargin),
 * or 0. A token can be under one when it connects or arrives in an AUTH (e.g. the client
 * answered the AUTH hint with the same token): the disconnect at appliesAt still applies. */
static int64_t pending_revocation(rta_conn *c)
{
    int64_t pending = 0;
    rta_token_service_is_revoked(&c->gw->srv->tokens, &c->auth, rta_server_now(), &pending);
    return pending;
}

void rta_gateway_revoked(rta_gateway *gw, const char *key_name)
{
    int64_t now = rta_server_now();
    for (rta_conn *c = gw->conns; c; c = c->next) {
        if (c->closing || strcmp(c->auth.key_name, key_name) != 0) continue;
        int64_t pending = 0;
        if (rta_token_service_is_revoked(&gw->srv->tokens, &c->auth, now, &pending)) {
            rta_error e;
            rta_error_set(&e, RTA_ERR_TOKEN_REVOKED, NULL); /* S-64 */
            rta__conn_fail(c, RTA_ACTION_DISCONNECTED, &e);
        } else if (pending && pending != c->revoke_at) {
            /* allowReauthMargin: ask for a new token now, disconnect at appliesAt */
            c->revoke_at = pending;
            rta_protocol_message m = {.action = RTA_ACTION_AUTH};
            rta__conn_send(c, &m);
            arm_timers(c);
        }
    }
}

/* ---- connect ------------------------------------------------------------------------------ */

static char *query_arg(struct lws *wsi, const char *name)
{
    char *buf = malloc(MAX_QUERY_VALUE);
    if (!buf) return NULL;
    const char *v = lws_get_urlarg_by_name(wsi, name, buf, MAX_QUERY_VALUE);
    char *out = v ? strdup(v) : NULL;
    free(buf);
    return out;
}

/* Credentials and the clientId parameter into c->auth and c->client_id (S-48). Returns 0,
 * or the action to fail with (ERROR or DISCONNECTED) with e filled. */
static int authenticate(rta_conn *c, rta_error *e)
{
    rta_server *srv = c->gw->srv;
    char *key = query_arg(c->wsi, "key=");
    char *token = query_arg(c->wsi, "access_token=");
    if (!token) token = query_arg(c->wsi, "accessToken="); /* spec spelling, RSA3c */
    char *cid = query_arg(c->wsi, "clientId=");
    int action = 0;
    if (key) {
        const char *colon = strchr(key, ':');
        if (!rta_config_basic_allowed(&srv->cfg, lws_is_ssl(c->wsi),
                                      rta_http_peer_is_loopback(c->wsi))) {
            rta_error_set(e, RTA_ERR_BASIC_OVER_NON_TLS, NULL);
            action = RTA_ACTION_ERROR;
        } else if (!colon) {
            rta_error_set(e, RTA_ERR_INVALID_CREDENTIALS, "Invalid key");
            action = RTA_ACTION_ERROR;
        } else if (rta_token_service_basic(&srv->tokens, key, (size_t)(colon - key), colon + 1,
                                           strlen(colon + 1), &c->auth, e)) {
            action = RTA_ACTION_ERROR; /* a bad key is fatal: 40101 */
        }
    } else if (token) {
        if (rta_token_service_verify(&srv->tokens, token, strlen(token), rta_server_now(),
                                     &c->auth, e))
            action = rta_error_is_token_error(e->code) ? RTA_ACTION_DISCONNECTED : RTA_ACTION_ERROR;
    } else {
        rta_error_set(e, RTA_ERR_INVALID_CREDENTIALS, "No key or token in the connection request");
        action = RTA_ACTION_ERROR;
    }
    if (!action) {
        const char *tc = c->auth.client_id; /* NULL for Basic and anonymous tokens */
        if (cid && !strcmp(cid, "*")) {
            rta_error_set(e, RTA_ERR_INVALID_CLIENT_ID, "clientId \"*\" is reserved");
            action = RTA_ACTION_ERROR;
        } else if (c->auth.method == RTA_AUTH_BASIC || (tc && !strcmp(tc, "*"))) {
            c->client_id = cid ? strdup(cid) : (tc ? strdup(tc) : NULL);
        } else if (cid && (!tc || strcmp(cid, tc))) {
            rta_error_set(e, RTA_ERR_INCOMPATIBLE_CREDENTIALS,
                          "Invalid clientId for credentials");
            action = RTA_ACTION_ERROR;
        } else {
            c->client_id = tc ? strdup(tc) : NULL;
        }
    }
    free(key);
    free(token);
    free(cid);
    return action;
}

static void conn_open(rta_gateway *gw, struct lws *wsi, rta_conn **slot)
{
    rta_conn *c = calloc(1, sizeof(*c));
    if (!c) return;
    *slot = c;
    c->gw = gw;
    c->wsi = wsi;
    c->next = gw->conns;
    if (gw->conns) gw->conns->prev = c;
    gw->conns = c;
    gw->conn_count++;
    char rnd[16];
    rta_random_alnum(rnd, 12);
    snprintf(c->id, sizeof(c->id), "%s", rnd);
    rta_random_alnum(rnd, 12);
    snprintf(c->key, sizeof(c->key), "%s!%s", c->id, rnd);
    char *fmt = query_arg(wsi, "format=");
    c->fmt = fmt && !strcmp(fmt, "msgpack") ? RTA_FORMAT_MSGPACK : RTA_FORMAT_JSON;
    free(fmt);
    char *echo = query_arg(wsi, "echo=");
    c->echo = !(echo && !strcmp(echo, "false"));
    free(echo);
    rta_error e;
    int action = authenticate(c, &e);
    if (action) {
        rta__conn_fail(c, action, &e); /* after the upgrade, never an HTTP 401 (1.3) */
        return;
    }
    rta_log_debug("connection %s open (key %s)", c->id, c->auth.key_name);
    c->revoke_at = pending_revocation(c);
    send_connected(c);
    arm_timers(c);
}

static void conn_close(rta_gateway *gw, rta_conn **slot)
{
    rta_conn *c = *slot;
    if (!c) return;
    *slot = NULL;
    lws_sul_cancel(&c->expiry_timer);
    lws_sul_cancel(&c->hint_timer);
    rta__channels_leave_all(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        gw->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    gw->conn_count--;
    while (c->out_head) {
        rta_frame *f = c->out_head;
        c->out_head = f->next;
        rta_buf_free(&f->data);
        free(f);
    }
    rta_buf_free(&c->rx);
    rta_auth_context_clear(&c->auth);
    free(c->client_id);
    free(c->attached);
    free(c);
}

/* ---- in-band AUTH (RTC8a) --------------------------------------------------------------------- */

/* The connection keeps its clientId (S-50): the new token must carry the same one, or be a
 * wildcard token, which may act as anyone. */
static int client_id_compatible(const char *conn_cid, const char *token_cid)
{
    if (token_cid && !strcmp(token_cid, "*")) return 1;
    if (!conn_cid || !token_cid) return !conn_cid && !token_cid;
    return strcmp(conn_cid, token_cid) == 0;
}

static void reauth(rta_conn *c, const rta_protocol_message *m)
{
    rta_error e;
    rta_auth_context fresh;
    const char *tok = m->auth_access_token;
    if (!tok) {
        rta_error_set(&e, RTA_ERR_INVALID_CREDENTIALS, "AUTH without an accessToken");
        rta__conn_fail(c, RTA_ACTION_ERROR, &e);
        return;
    }
    if (rta_token_service_verify(&c->gw->srv->tokens, tok, strlen(tok), rta_server_now(), &fresh,
                                 &e)) {
        rta__conn_fail(c, RTA_ACTION_ERROR, &e); /* 4014x: ably-js renews (S-61) */
        return;
    }
    /* A connection's identity never changes (S-50); nor does its app. */
    if (strcmp(fresh.app_id, c->auth.app_id) ||
        !client_id_compatible(c->client_id, fresh.client_id)) {
        rta_auth_context_clear(&fresh);
        rta_error_set(&e, RTA_ERR_INCOMPATIBLE_CREDENTIALS,
                      "Incompatible clientId or app for this connection");
        rta__conn_fail(c, RTA_ACTION_ERROR, &e);
        return;
    }
    rta_auth_context_clear(&c->auth);
    c->auth = fresh; /* capability, expiry and key swapped in place */
    c->revoke_at = pending_revocation(c);
    arm_timers(c);
    send_connected(c); /* same connectionId and key: the client sees an update (RTN24) */
    rta__channels_recheck(c);
}

/* ---- frames in ------------------------------------------------------------------------------- */

static void handle(rta_conn *c, const void *data, size_t len)
{
    rta_protocol_message m;
    rta_error e;
    rta_parse_limits limits = {MAX_FRAME, 0};
    if (rta_protocol_message_decode(data, len, c->fmt, &limits, &m, &e)) {
        rta__conn_fail(c, RTA_ACTION_ERROR, &e);
        return;
    }
    switch (m.action) {
    case RTA_ACTION_HEARTBEAT: { /* connection.ping(): echo the id (2.5) */
        rta_protocol_message r = {.action = RTA_ACTION_HEARTBEAT, .id = m.id};
        rta__conn_send(c, &r);
        break;
    }
    case RTA_ACTION_CLOSE: {
        rta_protocol_message r = {.action = RTA_ACTION_CLOSED};
        rta__conn_send(c, &r);
        c->closing = 1;
        break;
    }
    case RTA_ACTION_DISCONNECT: c->closing = 1; break;
    case RTA_ACTION_ATTACH: rta__channel_attach(c, &m); break;
    case RTA_ACTION_DETACH: rta__channel_detach(c, &m); break;
    case RTA_ACTION_MESSAGE: rta__channel_publish(c, &m); break;
    case RTA_ACTION_AUTH: reauth(c, &m); break;
    case RTA_ACTION_PRESENCE: {
        rta_protocol_message r = {.action = RTA_ACTION_NACK, .has = RTA_PM_HAS_MSG_SERIAL |
                                  RTA_PM_HAS_COUNT | RTA_PM_HAS_ERROR,
                                  .msg_serial = m.msg_serial, .count = 1};
        rta_error_set(&r.error, RTA_ERR_CHANNEL_FAILED, "Presence is not supported yet");
        rta__conn_send(c, &r);
        break;
    }
    default: break; /* ACTIVATE and anything newer: ignored */
    }
    rta_protocol_message_clear(&m);
}

int rta_gateway_callback(rta_gateway *gw, struct lws *wsi, enum lws_callback_reasons reason,
                         rta_conn **slot, void *in, size_t len)
{
    rta_conn *c = *slot;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: conn_open(gw, wsi, slot); return 0;
    case LWS_CALLBACK_RECEIVE:
        if (!c || c->closing) return 0;
        if (c->rx.len + len > MAX_FRAME) {
            rta_error e;
            rta_error_set(&e, RTA_ERR_MESSAGE_TOO_LARGE, "Frame larger than %d bytes", MAX_FRAME);
            rta_buf_free(&c->rx);
            rta__conn_fail(c, RTA_ACTION_ERROR, &e);
            return 0;
        }
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi) && !c->rx.len) {
            handle(c, in, len); /* the common case: one frame, no copy */
            return 0;
        }
        rta_buf_append(&c->rx, in, len);
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            handle(c, c->rx.data, c->rx.len);
            rta_buf_reset(&c->rx);
        }
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        if (!c) return -1;
        rta_frame *f = c->out_head;
        if (f) {
            c->out_head = f->next;
            if (!c->out_head) c->out_tail = NULL;
            size_t n = f->data.len - LWS_PRE;
            int w = lws_write(wsi, (unsigned char *)f->data.data + LWS_PRE, n,
                              f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
            rta_buf_free(&f->data);
            free(f);
            if (w < (int)n) return -1;
        }
        if (c->out_head) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        if (c->closing) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        }
        return 0;
    }
    case LWS_CALLBACK_CLOSED: conn_close(gw, slot); return 0;
    default: return 0;
    }
}
