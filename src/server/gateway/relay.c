/* gateway/relay.c: the gateway in cluster mode (docs/cluster.md, "Channels across nodes"):
 * a checked publish goes to the relay (server/cluster_channels.c: Redis gives it its
 * channel serial) and is ACKed only once the relay answers (RTL6, 2.6), or NACKed with its
 * error; messages come back through rta_gateway_deliver, on every node alike, and go to the
 * local subscribers. An ATTACH of a channel the relay is not yet following waits until it
 * is (rta_gateway_channel_ready), so that nothing published after the ATTACHED is missed.
 *
 * Replies stay in msgSerial order per connection: ably-js completes every pending message
 * up to an ACK's or NACK's serial, so a reply (a refusal, a presence ACK) that comes while
 * earlier publishes are with the relay is queued behind them through the relay.
 *
 * Connections are found again by id when the relay answers (they may have gone meanwhile).
 * Loop thread only. Must never: ACK a publish the relay did not confirm; log message
 * contents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/gateway/internal.h"
#include "server/metrics.h"
#include "server/stats.h"
#include "server/log.h"

#define RELAY_HAS_FLAGS (1u << 31)
#define MAX_WAITING     10000 /* attaches waiting on one channel (distinct connections) */

void rta_gateway_set_relay(rta_gateway *gw, const rta_gateway_relay *relay)
{
    gw->relay = *relay;
}

/* ---- publish and replies ------------------------------------------------------------------- */

typedef struct relay_reply {
    rta_gateway *gw;
    char conn_id[24];
    int64_t msg_serial;
    int has_serial;
    size_t n;     /* messages: ACK res serials "<id>:<i>" */
    char id[64];  /* "<connectionId>:<msgSerial>" */
    int deferred; /* only a reply: code and message below */
    int presence; /* a PRESENCE: a plain ACK (no serials) */
    int code;
    char message[160];
} relay_reply;

static void relay_answered(void *arg, int code, const char *message)
{
    relay_reply *r = arg;
    rta_gateway *gw = r->gw;
    rta_conn *c = rta_hmap_get(&gw->by_id, r->conn_id, strlen(r->conn_id));
    if (c) {
        if (c->relay_inflight) c->relay_inflight--;
        if (r->deferred) {
            code = r->code;
            message = r->message;
        }
        if (!r->has_serial) {
            /* nothing waits for an answer */
        } else if (!code && !r->deferred && !r->presence) {
            rta__gw_send_publish_ack(c, r->msg_serial, r->id, r->n);
        } else {
            rta_protocol_message m = {.has = RTA_PM_HAS_MSG_SERIAL, .msg_serial = r->msg_serial};
            rta__gw_conn_reply_now(c, &m, code, message ? message : "");
        }
    }
    free(r);
}

static relay_reply *new_reply(rta_conn *c, const rta_protocol_message *m)
{
    relay_reply *r = calloc(1, sizeof(*r));
    if (!r) return NULL;
    r->gw = c->gw;
    snprintf(r->conn_id, sizeof(r->conn_id), "%s", c->id);
    r->has_serial = (m->has & RTA_PM_HAS_MSG_SERIAL) != 0;
    r->msg_serial = m->msg_serial;
    return r;
}

/* The MESSAGE the relay sequences: what every node's subscribers get, less the serial. */
static void relay_message(rta_protocol_message *out, const char *channel, const char *id,
                          const char *conn_id, int64_t now, rta_message *msgs, size_t n)
{
    /* The ProtocolMessage's connectionId is the truth (TM2c): drop any a client wrote. */
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].connection_id);
        msgs[i].connection_id = NULL;
    }
    *out = (rta_protocol_message){.action = RTA_ACTION_MESSAGE,
                                  .has = RTA_PM_HAS_TIMESTAMP,
                                  .timestamp = now,
                                  .id = (char *)id,
                                  .channel = (char *)channel,
                                  .connection_id = (char *)conn_id,
                                  .messages = msgs,
                                  .message_count = n};
}

void rta__gw_relay_publish(rta_conn *c, const rta_protocol_message *m, const char *id)
{
    relay_reply *r = new_reply(c, m);
    if (!r) {
        rta__gw_conn_reply(c, m, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    r->n = m->message_count;
    snprintf(r->id, sizeof(r->id), "%s", id);
    rta_protocol_message pm;
    relay_message(&pm, m->channel, id, c->id, c->gw->now(), m->messages, m->message_count);
    c->relay_inflight++;
    c->gw->relay.publish(c->gw->relay.ctx, c->auth.app_id, m->channel, &pm, relay_answered, r);
}

void rta__gw_relay_presence(rta_conn *c, const rta_protocol_message *m, const rta_channel *ch,
                            const rta_presence_message *ev, size_t n)
{
    relay_reply *r = new_reply(c, m);
    if (!r) { /* out of memory: the others still hear of it; the answer goes now */
        c->gw->relay.presence(c->gw->relay.ctx, c->auth.app_id, ch->name, ev, n, NULL, NULL);
        rta__gw_conn_reply(c, m, 0, NULL);
        return;
    }
    r->presence = 1;
    c->relay_inflight++;
    c->gw->relay.presence(c->gw->relay.ctx, c->auth.app_id, ch->name, ev, n, relay_answered, r);
}

int rta__gw_relay_defer_reply(rta_conn *c, const rta_protocol_message *m, int code, const char *msg)
{
    if (!c->gw->relay.publish || !c->relay_inflight) return 0;
    relay_reply *r = new_reply(c, m);
    if (!r) return 0; /* out of memory: reply now, out of line rather than never */
    r->deferred = 1;
    r->code = code;
    snprintf(r->message, sizeof(r->message), "%s", msg ? msg : "");
    c->relay_inflight++;
    c->gw->relay.publish(c->gw->relay.ctx, c->auth.app_id, NULL, NULL, relay_answered, r);
    return 1;
}

void rta_gateway_publish_async(rta_gateway *gw, const char *app_id, const char *channel,
                               const char *id, rta_message *msgs, size_t n,
                               rta_gateway_published_cb done, void *arg)
{
    rta_protocol_message pm;
    rta_metrics_add(RTA_M_MESSAGES_IN, n);
    rta_stats_message_in(app_id, 1, n, rta__gw_messages_size(msgs, n), gw->now());
    relay_message(&pm, channel, id, NULL, gw->now(), msgs, n);
    gw->relay.publish(gw->relay.ctx, app_id, channel, &pm, done, arg);
}

/* ---- delivery ---------------------------------------------------------------------------- */

void rta_gateway_deliver(rta_gateway *gw, const char *app_id, const char *channel, uint64_t serial,
                         rta_protocol_message *pm)
{
    rta_channel *ch = rta__gw_channel_find(gw, app_id, channel);
    if (!ch || !ch->count) return; /* nobody attached here (any more) */
    ch->serial = serial;
    char chan_serial[32];
    snprintf(chan_serial, sizeof(chan_serial), "%llu", (unsigned long long)serial);
    rta_conn *from = pm->connection_id
                         ? rta_hmap_get(&gw->by_id, pm->connection_id, strlen(pm->connection_id))
                         : NULL;
    rta_protocol_message out = {.action = RTA_ACTION_MESSAGE,
                                .has = RTA_PM_HAS_TIMESTAMP,
                                .timestamp = pm->timestamp,
                                .id = pm->id,
                                .channel = (char *)channel,
                                .channel_serial = chan_serial,
                                .connection_id = pm->connection_id,
                                .messages = pm->messages,
                                .message_count = pm->message_count};
    rta__gw_channel_broadcast(ch, &out, RTA_MODE_SUBSCRIBE, from && !from->echo ? from : NULL);
}

/* ---- attaches waiting for the relay --------------------------------------------------------- */

/* The ATTACH's rewind param (RTL4k), copied; NULL when it has none (or out of memory). */
static char *rewind_of(const rta_protocol_message *m)
{
    for (size_t i = 0; i < m->param_count; i++)
        if (m->param_keys[i] && m->param_values[i] && !strcmp(m->param_keys[i], "rewind"))
            return strdup(m->param_values[i]);
    return NULL;
}

static int wait_for_relay(rta_channel *ch, const rta_conn *c, const rta_protocol_message *m)
{
    uint32_t flags = (m->has & RTA_PM_HAS_FLAGS) ? RELAY_HAS_FLAGS | m->flags : 0;
    uint64_t after = rta__gw_catch_up_parse_serial(m->channel_serial); /* RTL4c1 */
    for (size_t i = 0; i < ch->waiting_count; i++)
        if (!strcmp(ch->waiting_ids[i], c->id)) { /* the latest ATTACH counts */
            ch->waiting_flags[i] = flags;
            ch->waiting_after[i] = after;
            free(ch->waiting_rewind[i]);
            ch->waiting_rewind[i] = rewind_of(m);
            return 0;
        }
    if (ch->waiting_count >= MAX_WAITING) return -1;
    if (ch->waiting_count == ch->waiting_cap) {
        size_t cap = ch->waiting_cap ? ch->waiting_cap * 2 : 4;
        char **ids = realloc(ch->waiting_ids, cap * sizeof(*ids));
        if (ids) ch->waiting_ids = ids;
        uint32_t *f = ids ? realloc(ch->waiting_flags, cap * sizeof(*f)) : NULL;
        if (f) ch->waiting_flags = f;
        uint64_t *a = f ? realloc(ch->waiting_after, cap * sizeof(*a)) : NULL;
        if (a) ch->waiting_after = a;
        char **rw = a ? realloc(ch->waiting_rewind, cap * sizeof(*rw)) : NULL;
        if (rw) ch->waiting_rewind = rw;
        if (!ids || !f || !a || !rw) return -1;
        ch->waiting_cap = cap;
    }
    char *id = strdup(c->id);
    if (!id) return -1;
    ch->waiting_ids[ch->waiting_count] = id;
    ch->waiting_after[ch->waiting_count] = after;
    ch->waiting_rewind[ch->waiting_count] = rewind_of(m);
    ch->waiting_flags[ch->waiting_count++] = flags;
    return 0;
}

int rta__gw_relay_attach_ready(rta_conn *c, rta_channel *ch, const rta_protocol_message *m)
{
    rta_gateway *gw = c->gw;
    if (!ch->relay_open) {
        ch->relay_open = 1;
        if (gw->relay.presence) rta__gw_presence_seed_begin(ch); /* open reads the members */
        uint64_t serial = 0;
        ch->relay_waiting = !gw->relay.open(gw->relay.ctx, c->auth.app_id, ch->name, &serial);
        if (!ch->relay_waiting && serial > ch->serial) ch->serial = serial;
    }
    if (!ch->relay_waiting) return 1;
    if (wait_for_relay(ch, c, m)) {
        rta_error e;
        rta_error_set(&e, RTA_ERR_INTERNAL, "Too many attaches waiting for this channel");
        rta__gw_conn_send_error(c, RTA_ACTION_ERROR, m->channel, &e);
        rta__gw_channel_release_if_empty(gw, ch);
    }
    return 0;
}

void rta_gateway_channel_ready(rta_gateway *gw, const char *app_id, const char *channel,
                               uint64_t serial)
{
    rta_channel *ch = rta__gw_channel_find(gw, app_id, channel);
    if (!ch || !ch->relay_waiting) return;
    ch->relay_waiting = 0;
    if (serial > ch->serial) ch->serial = serial;
    /* Take the list first: the attaches below may free ch (a connection gone meanwhile). */
    char **ids = ch->waiting_ids;
    uint32_t *flags = ch->waiting_flags;
    uint64_t *after = ch->waiting_after;
    char **rewind = ch->waiting_rewind;
    size_t n = ch->waiting_count;
    ch->waiting_ids = NULL;
    ch->waiting_flags = NULL;
    ch->waiting_after = NULL;
    ch->waiting_rewind = NULL;
    ch->waiting_count = ch->waiting_cap = 0;
    char *name = strdup(channel);
    char *app = strdup(app_id);
    for (size_t i = 0; name && app && i < n; i++) {
        rta_conn *c = rta_hmap_get(&gw->by_id, ids[i], strlen(ids[i]));
        if (c && !c->closing && !strcmp(c->auth.app_id, app)) {
            rta_protocol_message m = {.action = RTA_ACTION_ATTACH, .channel = name};
            if (flags[i] & RELAY_HAS_FLAGS) {
                m.has = RTA_PM_HAS_FLAGS;
                m.flags = flags[i] & ~RELAY_HAS_FLAGS;
            }
            char from[24];
            if (after[i]) {
                snprintf(from, sizeof(from), "%llu", (unsigned long long)after[i]);
                m.channel_serial = from;
            }
            char rewind_name[] = "rewind", *rewind_key = rewind_name;
            if (rewind[i]) { /* RTL4k: the ATTACH's rewind, as it was sent */
                m.param_keys = &rewind_key;
                m.param_values = &rewind[i];
                m.param_count = 1;
            }
            rta__gw_channel_attach(c, &m);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
        free(rewind[i]);
    }
    free(ids);
    free(flags);
    free(after);
    free(rewind);
    /* nobody attached after all (their connections went): forget the channel */
    if (name && app && (ch = rta__gw_channel_find(gw, app, name)))
        rta__gw_channel_release_if_empty(gw, ch);
    free(name);
    free(app);
}

void rta__gw_relay_forget_waiting(rta_channel *ch, const rta_conn *c)
{
    for (size_t i = 0; i < ch->waiting_count; i++)
        if (!strcmp(ch->waiting_ids[i], c->id)) {
            free(ch->waiting_ids[i]);
            free(ch->waiting_rewind[i]);
            ch->waiting_ids[i] = ch->waiting_ids[--ch->waiting_count];
            ch->waiting_flags[i] = ch->waiting_flags[ch->waiting_count];
            ch->waiting_after[i] = ch->waiting_after[ch->waiting_count];
            ch->waiting_rewind[i] = ch->waiting_rewind[ch->waiting_count];
            return;
        }
}

void rta__gw_relay_channel_free(rta_channel *ch)
{
    for (size_t i = 0; i < ch->waiting_count; i++) {
        free(ch->waiting_ids[i]);
        free(ch->waiting_rewind[i]);
    }
    free(ch->waiting_ids);
    free(ch->waiting_flags);
    free(ch->waiting_after);
    free(ch->waiting_rewind);
}
