/* gateway/conn.c: a realtime connection's life: the gateway's init and free; open at the
 * upgrade (rta_gateway_open: the server's connection cap, authentication in gateway/auth.c,
 * resume or admission, CONNECTED); frames in (rta_gateway_receive: fragments, the frame and
 * message size limits, the inbound rate, msgSerial de-duplication, dispatch of every action:
 * HEARTBEAT, CLOSE, DISCONNECT, ATTACH/DETACH, MESSAGE, PRESENCE, AUTH); the transport's
 * close; and free. Frames out are gateway/frames.c. Never logs tokens or keys: connections
 * are named by connectionId and key name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/gateway/internal.h"
#include "server/metrics.h"
#include "server/stats.h"
#include "server/log.h"
#include "server/auth/provision.h"
#include "server/clock.h"

#define MAX_QUERY_VALUE 8192

int rta_gateway_init(rta_gateway *gw, const rta_gateway_deps *deps)
{
    memset(gw, 0, sizeof(*gw));
    gw->hooks = deps->hooks; /* first: rta_gateway_free cleans up after a failure too */
    gw->tokens = deps->tokens;
    gw->basic_over_http = deps->basic_over_http;
    gw->skip_capability_checks = deps->skip_capability_checks;
    gw->server_id = deps->server_id;
    gw->now = deps->now ? deps->now : rta_clock_now;
    gw->limits = deps->limits;
    if (rta_history_init(&gw->history, &deps->history)) return RTA_ERR_INTERNAL;
    if (rta_history_init(&gw->presence_history, &deps->history)) return RTA_ERR_INTERNAL;
    /* one order for messages and presence events: an ATTACHED's channelSerial bounds both
     * histories' untilAttach (RTL10b, RTP12) */
    gw->presence_history.shared_seq = &gw->history.next_seq;
    int rc = rta_dedup_init(&gw->dedup, NULL);
    if (!rc) rc = rta_hmap_init(&gw->channels);
    if (!rc) rc = rta__gw_conn_counts_init(&gw->held);
    if (!rc) rc = rta_hmap_init(&gw->revindex);
    return rc ? rc : rta_hmap_init(&gw->by_id);
}

void rta_gateway_stop(rta_gateway *gw)
{
    gw->stopping = 1;
    rta__gw_timers_stop(gw);
}

void rta_gateway_free(rta_gateway *gw)
{
    gw->stopping = 1;
    while (gw->conns) rta__gw_conn_free(gw->conns); /* detached ones; transports are gone */
    rta__gw_channels_free(gw);
    rta__gw_conn_counts_free(&gw->held);
    rta_hmap_free(&gw->by_id);
    rta_hmap_free(&gw->revindex); /* empty by now: every connection unlinked itself */
    rta_history_free(&gw->history);
    rta_history_free(&gw->presence_history);
    rta_dedup_free(&gw->dedup);
    rta__gw_timers_free(gw);
    for (size_t i = 0; i < sizeof(gw->ending) / sizeof(gw->ending[0]); i++)
        rta_buf_free(&gw->ending[i].bytes);
    if (gw->hooks.cleanup) gw->hooks.cleanup(gw->hooks.data);
    memset(&gw->hooks, 0, sizeof(gw->hooks));
}

void rta__gw_conn_send_connected(rta_conn *c, const rta_error *err, int first)
{
    rta_gateway *gw = c->gw;
    rta_protocol_message m = {.action = RTA_ACTION_CONNECTED,
                              .has = RTA_PM_HAS_CONNECTION_DETAILS,
                              .connection_id = c->id};
    rta_connection_details *d = &m.details;
    d->client_id = c->client_id;
    d->connection_key = c->key;
    d->server_id = (char *)gw->server_id; /* only read: encoded below */
    d->max_message_size = gw->limits.max_message_size;
    d->max_frame_size = gw->limits.max_frame_size;
    d->max_inbound_rate = gw->limits.max_inbound_rate;
    d->connection_state_ttl = gw->limits.connection_state_ttl;
    d->max_idle_interval = gw->limits.max_idle_interval;
    if (err) { /* connected, but not as asked (e.g. 80008: a new connection, not resumed) */
        m.has |= RTA_PM_HAS_ERROR;
        m.error = *err;
    }
    if (first)
        rta__gw_conn_send_first(c, &m);
    else
        rta__gw_conn_send(c, &m);
    c->connected = 1;
}

/* ---- connect ------------------------------------------------------------------------------ */

static char *query_arg(rta_gateway *gw, rta_gateway_transport *t, const char *name)
{
    char *buf = malloc(MAX_QUERY_VALUE);
    if (!buf) return NULL;
    const char *v = gw->hooks.query_arg(gw->hooks.data, t, name, buf, MAX_QUERY_VALUE);
    char *out = v ? strdup(v) : NULL;
    free(buf);
    return out;
}

char *rta__gw_conn_query_arg(const rta_conn *c, const char *name)
{
    return query_arg(c->gw, c->transport, name);
}

/* A fresh connectionId (12 random alphanumerics) and key "<id>!<secret>" (2.9). */
static int assign_id(rta_conn *c)
{
    char rnd[16];
    do {
        rta_random_alnum(rnd, 12);
    } while (rta_hmap_get(&c->gw->by_id, rnd, 12));
    memcpy(c->id, rnd, 13);
    rta_random_alnum(rnd, 12);
    snprintf(c->key, sizeof(c->key), "%s!%s", c->id, rnd);
    return rta_hmap_put(&c->gw->by_id, c->id, strlen(c->id), c, NULL);
}

rta_conn *rta__gw_conn_create(rta_gateway *gw, rta_format fmt)
{
    rta_conn *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->gw = gw;
    c->fmt = fmt;
    c->echo = 1;
    c->next = gw->conns;
    if (gw->conns) gw->conns->prev = c;
    gw->conns = c;
    c->rate_at = gw->now();
    c->rate_tokens = gw->limits.max_inbound_rate * 1000;
    if (assign_id(c)) {
        rta__gw_conn_free(c);
        return NULL;
    }
    return c;
}

static void conn_open(rta_gateway *gw, rta_gateway_transport *t, rta_conn **slot)
{
    char *fmt = query_arg(gw, t, "format=");
    rta_conn *c = rta__gw_conn_create(gw, fmt && !strcmp(fmt, "msgpack") ? RTA_FORMAT_MSGPACK
                                                                         : RTA_FORMAT_JSON);
    free(fmt);
    if (!c) {
        gw->hooks.close_now(gw->hooks.data, t); /* out of memory */
        return;
    }
    *slot = c;
    c->slot = slot;
    c->transport = t;
    gw->live_count++;
    /* Detached connections count too (issue 11): the oldest make room for a new one. */
    while (gw->live_count + gw->detached_count > (size_t)gw->limits.max_connections &&
           rta__gw_detached_evict_oldest(gw, c))
        ;
    char *echo = query_arg(gw, t, "echo=");
    c->echo = !(echo && !strcmp(echo, "false"));
    free(echo);
    /* RTN23b, wire doc 2.5: a browser cannot see WebSocket pings, so ably-js there asks for
     * HEARTBEAT messages (heartbeats=true); in Node it asks for pings (heartbeats=false). */
    char *heartbeats = query_arg(gw, t, "heartbeats=");
    c->heartbeats = heartbeats && !strcmp(heartbeats, "true");
    free(heartbeats);
    rta_error e;
    int action = 0;
    if (gw->live_count > (size_t)gw->limits.max_connections) {
        /* retryable: ably-js waits disconnectedRetryTimeout and tries again */
        rta_error_set(&e, RTA_ERR_CONNECTION_LIMIT, "Server connection limit (%lld) reached",
                      gw->limits.max_connections);
        action = RTA_ACTION_DISCONNECTED;
    } else {
        action = rta__gw_conn_authenticate(c, &e);
    }
    if (action) {
        rta__gw_conn_fail(c, action, &e); /* after the upgrade, never an HTTP 401 (1.3) */
        return;
    }
    /* resume (RTN15b1) after a dropped transport, or recover (RTN16k) from a recovery key
     * after a page reload: the same operation (RTN16l) */
    char *resume = query_arg(gw, t, "resume=");
    int recover = 0;
    if (!resume) recover = (resume = query_arg(gw, t, "recover=")) != NULL;
    rta_error resume_err = {0};
    if (resume && rta__gw_conn_resume(c, resume, recover, &resume_err)) { /* c is gone */
        free(resume);
        return;
    }
    if (resume && resume_err.code == RTA_ERR_INTERNAL) { /* adopting it ran out of memory */
        free(resume);
        rta__gw_conn_fail(c, RTA_ACTION_DISCONNECTED, &resume_err);
        return;
    }
    if (rta__gw_conn_admit(c, &e)) { /* a new connection: the per-app and per-clientId caps */
        free(resume);
        rta__gw_conn_fail(c, RTA_ACTION_DISCONNECTED, &e); /* retryable, like the server's cap */
        return;
    }
    int adopted = resume && !resume_err.code; /* another node's, taken over (adopt.c) */
    if (!adopted) rta__gw_conn_key_assign(c);
    rta_log_event(RTA_LOG_INFO, adopted ? "connection.resumed" : "connection.opened",
                  RTA__GW_LOG_FIELDS(c, .code = 0), "connection %s %s (key %s)", c->id,
                  adopted ? "resumed from another node" : "opened", c->auth.key_name);
    rta__gw_conn_send_connected(c, resume && !adopted ? &resume_err : NULL, 0);
    free(resume);
    rta__gw_conn_arm_timers(c);
}

void rta_gateway_count_connections(const rta_gateway *gw,
                                   void (*each)(void *arg, const char *app_id, int awaiting),
                                   void *arg)
{
    for (const rta_conn *c = gw->conns; c; c = c->next) {
        if (!c->admitted || !c->connected) continue;
        if (!c->transport)
            each(arg, c->auth.app_id, 1);
        else if (!c->closing)
            each(arg, c->auth.app_id, 0);
    }
}

void rta__gw_conn_free(rta_conn *c)
{
    rta_gateway *gw = c->gw;
    if (c->admitted && !gw->stopping) rta_metrics_connection_closed(c->end_reason);
    if (c->admitted) rta_stats_connection(c->auth.app_id, 0, gw->now());
    rta__gw_conn_release(c);
    rta__gw_timer_cancel(c->gw, &c->end_timer);
    rta__gw_timer_cancel(c->gw, &c->notice_timer);
    rta__gw_detached_remove(c);
    rta__gw_liveness_forget(c);
    rta__gw_flush_forget(c);
    rta__gw_linger_forget(c);
    rta__gw_revindex_remove(c);
    rta__gw_channels_leave_all(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        gw->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->id[0] && rta_hmap_get(&gw->by_id, c->id, strlen(c->id)) == c)
        rta_hmap_del(&gw->by_id, c->id, strlen(c->id));
    rta__gw_conn_drop_frames(c);
    rta_buf_free(&c->rx);
    rta_auth_context_clear(&c->auth);
    free(c->client_id);
    free(c->attached);
    free(c);
}

/* ---- frames in ------------------------------------------------------------------------------- */

/* The messages' total size (TO3l8). Presence entries are checked one by one in
 * gateway/presence.c. */
static size_t message_size(const rta_protocol_message *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->message_count; i++) n += rta_message_size(&m->messages[i]);
    return n;
}

/* Inbound rate (maxInboundRate messages/s, a token bucket with one second of burst).
 * Returns 0 to go on, 1 when this message is over the rate, -1 when the connection has
 * been dropped for ignoring it. */
static int rate_check(rta_conn *c)
{
    int64_t rate = c->gw->limits.max_inbound_rate, now = c->gw->now();
    int64_t elapsed = now - c->rate_at;
    if (elapsed > 0) {
        c->rate_tokens += elapsed * rate; /* tokens in 1/1000: rate per ms x 1000 */
        if (c->rate_tokens > rate * 1000) c->rate_tokens = rate * 1000;
        c->rate_at = now;
    }
    c->rate_tokens -= 1000;
    if (c->rate_tokens >= 0) return 0;
    if (c->rate_tokens < -rate * 1000) { /* a second's worth over: not a burst but a flood */
        rta_error e;
        rta_error_set(&e, RTA_ERR_RATE_LIMIT, "Inbound message rate over %lld/s", (long long)rate);
        rta__gw_conn_fail(c, RTA_ACTION_DISCONNECTED, &e);
        return -1;
    }
    return 1;
}

/* The checks every MESSAGE and PRESENCE goes through before its channel sees it: resends
 * after a resume (2.6: same msgSerial, ACKed again, not delivered twice), the inbound rate
 * and maxMessageSize (40009). Returns 1 when m was answered here. */
static int publish_gate(rta_conn *c, const rta_protocol_message *m)
{
    if (m->has & RTA_PM_HAS_MSG_SERIAL) {
        if (m->msg_serial < c->next_serial) {
            rta__gw_conn_reply(c, m, 0, NULL);
            return 1;
        }
        c->next_serial = m->msg_serial + 1;
    }
    int over = rate_check(c);
    if (over) {
        if (over > 0) rta__gw_conn_reply(c, m, RTA_ERR_RATE_LIMIT, "Inbound message rate exceeded");
        return 1;
    }
    if (message_size(m) > (size_t)c->gw->limits.max_message_size) {
        char why[96];
        snprintf(why, sizeof(why), "Message size exceeds maxMessageSize (%lld bytes)",
                 c->gw->limits.max_message_size);
        rta__gw_conn_reply(c, m, RTA_ERR_MESSAGE_TOO_LARGE, why);
        return 1;
    }
    return 0;
}

static void handle(rta_conn *c, const void *data, size_t len)
{
    rta_protocol_message m;
    rta_error e;
    rta_parse_limits limits = {(size_t)c->gw->limits.max_frame_size, 0};
    if (rta_protocol_message_decode(data, len, c->fmt, &limits, &m, &e)) {
        rta__gw_conn_fail(c, RTA_ACTION_ERROR, &e);
        return;
    }
    switch (m.action) {
    case RTA_ACTION_HEARTBEAT: { /* connection.ping(): echo the id (2.5) */
        rta_protocol_message r = {.action = RTA_ACTION_HEARTBEAT, .id = m.id};
        rta__gw_conn_send(c, &r);
        break;
    }
    case RTA_ACTION_CLOSE: { /* RTN12: the client is done; nothing is kept */
        rta_protocol_message r = {.action = RTA_ACTION_CLOSED};
        rta__gw_conn_send(c, &r);
        c->final = 1;
        rta__gw_conn_close_when_flushed(c);
        break;
    }
    case RTA_ACTION_DISCONNECT: rta__gw_conn_close_when_flushed(c); break; /* resumable (2.9) */
    case RTA_ACTION_ATTACH:
        if (rate_check(c) < 0) break;
        rta__gw_channel_attach(c, &m);
        if (m.channel && !rta__gw_catch_up_pending(c, m.channel)) /* else once it is read */
            rta__gw_conn_release_held(c, m.channel, rta__gw_conn_attached_to(c, m.channel));
        break;
    case RTA_ACTION_DETACH:
        rta__gw_channel_detach(c, &m);
        if (m.channel) rta__gw_conn_release_held(c, m.channel, 0);
        break;
    case RTA_ACTION_MESSAGE:
        if (!publish_gate(c, &m)) rta__gw_channel_publish(c, &m);
        break;
    case RTA_ACTION_AUTH: rta__gw_conn_reauth(c, &m); break; /* gateway/auth.c */
    case RTA_ACTION_SYNC: /* a SYNC request (RTP19): the presence set again */
        if (rate_check(c) == 0) rta__gw_presence_sync_request(c, &m);
        break;
    case RTA_ACTION_PRESENCE: /* sizes are checked per entry there: ably-js batches enters */
        if (!publish_gate(c, &m)) rta__gw_presence_handle(c, &m);
        break;
    default: break; /* ACTIVATE and anything newer: ignored */
    }
    rta_protocol_message_clear(&m);
}

static int frame_too_big(rta_conn *c, size_t len)
{
    size_t max = (size_t)c->gw->limits.max_frame_size;
    if (len <= max) return 0;
    rta_error e;
    rta_error_set(&e, RTA_ERR_MESSAGE_TOO_LARGE, "WebSocket message over maxFrameSize (%zu)", max);
    rta_buf_free(&c->rx);
    rta__gw_conn_fail(c, RTA_ACTION_ERROR, &e);
    return 1;
}

void rta__gw_conn_handle_message(rta_conn *c, const void *data, size_t len)
{
    if (!c->closing && !frame_too_big(c, len)) handle(c, data, len);
}

/* ---- the transport's side ---------------------------------------------------------------- */

void rta_gateway_open(rta_gateway *gw, rta_gateway_transport *t, rta_conn **slot)
{
    conn_open(gw, t, slot);
    if (*slot) rta__gw_liveness_seen(*slot);
}

void rta_gateway_receive(rta_conn *c, const void *data, size_t len, int last)
{
    rta__gw_liveness_seen(c);
    if (c->closing) return;
    if (frame_too_big(c, c->rx.len + len)) return;
    if (last && !c->rx.len) {
        handle(c, data, len); /* the common case: one frame, no copy */
        return;
    }
    rta_buf_append(&c->rx, data, len);
    if (last) {
        handle(c, c->rx.data, c->rx.len);
        rta_buf_free(&c->rx); /* a big message's buffer is not kept for the connection's life */
    }
}

void rta_gateway_pong(rta_conn *c)
{
    rta__gw_liveness_seen(c);
}

void rta_gateway_closed(rta_conn *c)
{
    rta__gw_conn_transport_closed(c); /* gateway/resume.c */
}
