/* gateway/channels.c: channels on the realtime gateway: ATTACH with modes intersected with
 * the capability (wire protocol 2.7, S-46, S-63) and at most max_channels_per_connection per
 * connection (90010), DETACH, and MESSAGE: capability and clientId checks (S-51..S-53),
 * ACK/NACK (2.6), and fan-out to attached subscribers, encoded once per wire format.
 * Membership is kept from both ends in O(1): c->attached[k] and the channel's member entry
 * (gateway/members.c) point at each other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/capability.h"
#include "server/gateway/internal.h"
#include "server/metrics.h"
#include "server/stats.h"
#include "server/log.h"

#define MAX_CHANNEL_NAME 1024
#define ALL_MODES                                                                                  \
    (RTA_MODE_PRESENCE | RTA_MODE_PUBLISH | RTA_MODE_SUBSCRIBE | RTA_MODE_PRESENCE_SUBSCRIBE |     \
     RTA_MODE_ANNOTATION_PUBLISH | RTA_MODE_ANNOTATION_SUBSCRIBE | RTA_MODE_OBJECT_SUBSCRIBE |     \
     RTA_MODE_OBJECT_PUBLISH)

static int name_ok(const char *n)
{
    size_t len = strlen(n);
    if (!len || len > MAX_CHANNEL_NAME || n[0] == ':') return 0; /* ":hell" is invalid (2.7) */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)n[i] < 0x20) return 0;
    return 1;
}

/* The modes a capability permits on a channel. */
static uint32_t allowed_modes(const rta_capability *cap, const char *name)
{
    uint32_t ops = rta_capability_ops_for(cap, name, strlen(name));
    if (ops & RTA_OP_ALL) return ALL_MODES;
    uint32_t m = 0;
    if (ops & RTA_OP_SUBSCRIBE) m |= RTA_MODE_SUBSCRIBE | RTA_MODE_PRESENCE_SUBSCRIBE;
    if (ops & RTA_OP_PUBLISH) m |= RTA_MODE_PUBLISH;
    if (ops & RTA_OP_PRESENCE) m |= RTA_MODE_PRESENCE;
    if (ops & RTA_OP_ANNOTATION_PUBLISH) m |= RTA_MODE_ANNOTATION_PUBLISH;
    if (ops & RTA_OP_ANNOTATION_SUBSCRIBE) m |= RTA_MODE_ANNOTATION_SUBSCRIBE;
    if (ops & RTA_OP_OBJECT_PUBLISH) m |= RTA_MODE_OBJECT_PUBLISH;
    if (ops & RTA_OP_OBJECT_SUBSCRIBE) m |= RTA_MODE_OBJECT_SUBSCRIBE;
    return m;
}

static rta_channel *channel_get(rta_gateway *gw, const char *app_id, const char *name, int create)
{
    char buf[512];
    size_t len;
    char *key = rta_hmap_pair_key(app_id, ':', name, buf, sizeof(buf), &len);
    if (!key) return NULL;
    rta_channel *ch = rta_hmap_get(&gw->channels, key, len);
    if (!ch && create) {
        char *own = key != buf ? key : rta_hmap_pair_key(app_id, ':', name, NULL, 0, &len);
        ch = own ? calloc(1, sizeof(*ch)) : NULL;
        if (!ch || rta_hmap_put(&gw->channels, own, len, ch, NULL)) {
            free(ch);
            free(own);
            return NULL;
        }
        ch->key = own;
        ch->name = own + strlen(app_id) + 1;
        rta_stats_channel(app_id, strlen(app_id), 1, gw->now());
        return ch;
    }
    if (key != buf) free(key);
    return ch;
}

rta_channel *rta__gw_channel_find(rta_gateway *gw, const char *app_id, const char *name)
{
    return channel_get(gw, app_id, name, 0);
}

rta_channel *rta__gw_channel_get_or_create(rta_gateway *gw, const char *app_id, const char *name)
{
    return channel_get(gw, app_id, name, 1);
}

static void channel_free(rta_channel *ch)
{
    rta__gw_relay_channel_free(ch);
    rta__gw_presence_free(ch);
    rta__gw_members_free(ch);
    free(ch->key);
    free(ch);
}

int rta__gw_conn_attached_to(const rta_conn *c, const char *channel)
{
    rta_channel *ch = channel_get(c->gw, c->auth.app_id, channel, 0);
    return ch && rta__gw_channel_member_index(ch, c) >= 0;
}

/* Records c on ch (or updates its modes). Returns 0 or -1 (out of memory). c->attached[k]
 * and ch->links[i] point at each other, so leave() finds both ends in O(1). */
static int join(rta_conn *c, rta_channel *ch, uint32_t modes, uint32_t requested)
{
    long i = rta__gw_channel_member_index(ch, c);
    if (i >= 0) {
        ch->modes[i] = modes;
        ch->requested[i] = requested;
        return 0;
    }
    if (c->attached_count == c->attached_cap) { /* first: a failed add then changes nothing */
        size_t cap = c->attached_cap ? c->attached_cap * 2 : 4;
        rta_channel **a = realloc(c->attached, cap * sizeof(*a));
        if (!a) return -1;
        c->attached = a;
        c->attached_cap = cap;
    }
    if (rta__gw_members_add(ch, c, modes, requested, (uint32_t)c->attached_count) < 0) return -1;
    c->attached[c->attached_count++] = ch;
    rta__gw_presence_joined(c, ch); /* cluster: members it had on another node are its here */
    return 0;
}

/* Takes ch out of c->attached (position k): the last one moves into k, and its link too. */
static void unlink_attached(rta_conn *c, size_t k)
{
    size_t last = --c->attached_count;
    if (k == last) return;
    rta_channel *moved = c->attached[last];
    c->attached[k] = moved;
    long j = rta__gw_channel_member_index(moved, c);
    if (j >= 0) moved->links[j] = (uint32_t)k;
}

static void leave(rta_conn *c, rta_channel *ch)
{
    rta__gw_presence_conn_left(c, ch); /* RTP: its members leave first, while ch exists */
    long i = rta__gw_channel_member_index(ch, c);
    if (i >= 0) {
        size_t k = ch->links[i];
        rta__gw_members_remove(ch, (size_t)i);
        unlink_attached(c, k);
    } else { /* not a member: ch must not stay in c->attached (leave_all would spin) */
        for (size_t k = 0; k < c->attached_count; k++)
            if (c->attached[k] == ch) {
                unlink_attached(c, k);
                break;
            }
    }
    rta__gw_channel_release_if_empty(c->gw, ch);
}

void rta__gw_channel_release_if_empty(rta_gateway *gw, rta_channel *ch)
{
    if (ch->count || ch->waiting_count || ch->catching_up) return;
    /* nobody left: forget the channel (and the relay stops following it, cluster mode) */
    if (ch->relay_open && gw->relay.close) {
        char *app = strndup(ch->key, (size_t)(ch->name - ch->key - 1));
        if (app) gw->relay.close(gw->relay.ctx, app, ch->name);
        free(app);
    }
    rta_stats_channel(ch->key, (size_t)(ch->name - ch->key - 1), 0, gw->now());
    rta_hmap_del(&gw->channels, ch->key, strlen(ch->key));
    channel_free(ch);
}

void rta__gw_channels_leave_all(rta_conn *c)
{
    while (c->attached_count) leave(c, c->attached[c->attached_count - 1]);
}

void rta__gw_channels_free(rta_gateway *gw)
{
    for (size_t i = 0; i < gw->channels.cap; i++)
        if (gw->channels.slots[i].key) channel_free(gw->channels.slots[i].value);
    rta_hmap_free(&gw->channels);
}

static void channel_error(rta_conn *c, const char *channel, int code, const char *msg)
{
    rta_error e;
    rta_error_set(&e, code, msg ? "%s" : NULL, msg);
    rta__gw_conn_send_error(c, RTA_ACTION_ERROR, channel, &e);
}

void rta__gw_channel_attach(rta_conn *c, const rta_protocol_message *m)
{
    if (!m->channel || !name_ok(m->channel)) {
        channel_error(c, m->channel ? m->channel : "", RTA_ERR_INVALID_CHANNEL, NULL);
        return;
    }
    uint32_t allowed = c->gw->skip_capability_checks /* benchmark baseline */
                           ? ALL_MODES
                           : allowed_modes(&c->auth.capability, m->channel);
    uint32_t requested = (m->has & RTA_PM_HAS_FLAGS) && (m->flags & ALL_MODES)
                             ? m->flags & ALL_MODES
                             : RTA_MODES_DEFAULT;
    uint32_t granted = requested & allowed;
    if (!granted) { /* S-63: channel ERROR, the connection stays up */
        channel_error(c, m->channel, RTA_ERR_CAPABILITY_DENIED,
                      "Channel denied access based on given capability");
        return;
    }
    rta_channel *ch = channel_get(c->gw, c->auth.app_id, m->channel, 0);
    int member = ch && rta__gw_channel_member_index(ch, c) >= 0;
    long long most = c->gw->limits.max_channels_per_connection;
    if (!member && c->attached_count >= (size_t)most) { /* checked before the channel exists */
        char why[96];
        snprintf(why, sizeof(why), "Maximum number of channels per connection (%lld) exceeded",
                 most); /* Ably's 90010 and wording; the connection stays up */
        channel_error(c, m->channel, RTA_ERR_TOO_MANY_CHANNELS, why);
        return;
    }
    if (!ch) ch = channel_get(c->gw, c->auth.app_id, m->channel, 1);
    /* cluster mode: not before this node follows the channel (nothing missed after ATTACHED) */
    if (ch && c->gw->relay.publish && !member && !rta__gw_relay_attach_ready(c, ch, m)) return;
    /* Already attached (a re-attach after a resume, RTN15c6): nothing was missed (RTL2f),
     * unless its presence members left while it was away */
    long mi = member ? rta__gw_channel_member_index(ch, c) : -1;
    uint32_t resumed =
        mi >= 0 && !(ch->modes[mi] & RTA_MEMBER_DISCONTINUOUS) ? RTA_FLAG_RESUMED : 0;
    rta_rewind rw; /* RTL4k: the honoured params, echoed in the ATTACHED */
    rta_protocol_message echo = {0};
    rta__gw_attach_params(c, m, &rw, &echo);
    /* Cluster mode, not attached here: its channelSerial says what it missed (RTL4c1) */
    const struct rta_catch_up *backlog = ch ? rta__gw_catch_up_current(c, m->channel, &resumed) : NULL;
    if (!backlog && ch && c->gw->relay.backlog && !member) {
        uint64_t after = rta__gw_catch_up_wanted(ch, m, &resumed);
        if (after && !join(c, ch, granted, requested) && rta__gw_catch_up_begin(c, ch, m, after))
            return; /* a member now, its messages held: ATTACHED once the backlog is read */
        /* a first attach with rewind reads its backlog the same way (nothing to continue) */
        if (!after && !resumed && rw.count && (granted & RTA_MODE_SUBSCRIBE) &&
            !join(c, ch, granted, requested) && rta__gw_rewind_begin(c, ch, m, &rw))
            return;
    }
    if (!ch || join(c, ch, granted, requested)) {
        channel_error(c, m->channel, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    rta__gw_presence_modes_changed(c, ch, granted); /* a re-attach may drop the presence mode */
    /* rewind: only on a first attach (a re-attach resumes), and only to a subscriber; in
     * cluster mode the backlog was read above (catch-up) */
    rta_message rewound[RTA_REWIND_MAX];
    uint64_t start = 0;
    size_t nb = !member && !c->gw->relay.publish && (granted & RTA_MODE_SUBSCRIBE)
                    ? rta__gw_rewind_read(c, m->channel, &rw, rewound, &start)
                    : 0;
    /* The attach serial (RTL15c): where untilAttach history stops (from_serial, RTL10b). In
     * single-node mode the history's position (with a rewind, just before its backlog); in
     * cluster mode the channel's serial, which is what its history is keyed by (with a
     * backlog, where that starts). */
    char serial[32], now_serial[32];
    uint64_t now_at = c->gw->relay.publish ? ch->serial : rta_history_position(&c->gw->history);
    uint64_t at = backlog ? rta__gw_catch_up_attach_serial(backlog) : nb ? start : now_at;
    snprintf(serial, sizeof(serial), "%llu", (unsigned long long)at);
    snprintf(now_serial, sizeof(now_serial), "%llu", (unsigned long long)now_at);
    rta_protocol_message r = {.action = RTA_ACTION_ATTACHED,
                              .has = RTA_PM_HAS_FLAGS,
                              .flags =
                                  granted | resumed | rta__gw_presence_attach_flags(ch, granted),
                              .channel = m->channel,
                              .channel_serial = serial};
    r.param_keys = echo.param_keys;
    r.param_values = echo.param_values;
    r.param_count = echo.param_count;
    if (nb || (backlog && rta__gw_catch_up_has_backlog(backlog))) r.flags |= RTA_FLAG_HAS_BACKLOG;
    rta__gw_conn_send(c, &r);
    if (nb) { /* after it the client's channelSerial is the present one (RTL15b) */
        rta_protocol_message b = {.action = RTA_ACTION_MESSAGE, .channel = m->channel,
                                  .channel_serial = now_serial, .messages = rewound,
                                  .message_count = nb};
        rta__gw_conn_send(c, &b);
    }
    if (backlog) rta__gw_catch_up_send(c, backlog, granted);
    rta__gw_presence_sync(c, ch, granted);
}

void rta__gw_channel_detach(rta_conn *c, const rta_protocol_message *m)
{
    if (!m->channel) return;
    rta_channel *ch = channel_get(c->gw, c->auth.app_id, m->channel, 0);
    if (ch && ch->waiting_count) rta__gw_relay_forget_waiting(ch, c); /* cluster mode */
    if (ch && ch->catching_up) rta__gw_catch_up_cancel(c, m->channel);
    if (ch) leave(c, ch);
    rta_protocol_message r = {.action = RTA_ACTION_DETACHED, .channel = m->channel};
    rta__gw_conn_send(c, &r);
}

void rta__gw_channels_recheck(rta_conn *c)
{
    for (size_t k = c->attached_count; k-- > 0;) {
        rta_channel *ch = c->attached[k];
        long i = rta__gw_channel_member_index(ch, c);
        /* re-grant from what was requested: an upgrade widens, a downgrade narrows (RTC8a) */
        uint32_t granted =
            i >= 0 ? ch->requested[i] & allowed_modes(&c->auth.capability, ch->name) : 0;
        if (granted && i >= 0) {
            ch->modes[i] = granted | (ch->modes[i] & RTA_MEMBER_DISCONTINUOUS);
            rta__gw_presence_modes_changed(c, ch, granted);
            continue;
        }
        char *name = strdup(ch->name);
        leave(c, ch); /* may free ch */
        if (name) channel_error(c, name, RTA_ERR_CAPABILITY_DENIED, /* RTC8a1 */
                                "Capability no longer allows this channel");
        free(name);
    }
}

void rta__gw_channel_publish(rta_conn *c, const rta_protocol_message *in)
{
    rta_protocol_message *m = (rta_protocol_message *)in; /* ours to annotate: decoded for us */
    if (!m->channel || !name_ok(m->channel)) {
        rta__gw_conn_reply(c, m, RTA_ERR_INVALID_CHANNEL, "Invalid channel name");
        return;
    }
    if (!c->gw->skip_capability_checks && /* benchmark baseline only */
        !rta_capability_allows(&c->auth.capability, m->channel, strlen(m->channel),
                               RTA_OP_PUBLISH)) {
        rta__gw_conn_reply(c, m, RTA_ERR_CAPABILITY_DENIED, "Permission denied: no publish capability");
        return;
    }
    /* S-46: attached without *requesting* the publish mode (the capability was checked just
     * above). Publishing without attaching at all stays allowed (2.6). */
    rta_channel *attached = channel_get(c->gw, c->auth.app_id, m->channel, 0);
    long at = attached ? rta__gw_channel_member_index(attached, c) : -1;
    if (at >= 0 && !(attached->requested[at] & RTA_MODE_PUBLISH)) {
        rta__gw_conn_reply(c, m, RTA_ERR_MODE_NOT_REQUESTED, "Channel attached without the publish mode");
        return;
    }
    /* S-51..S-53: identified connections stamp their clientId and may not use another;
     * anonymous token connections may not assert one; wildcard and unidentified Basic
     * connections may set any. */
    rta_speaker sp = rta_speaker_for(&c->auth, c->client_id);
    for (size_t i = 0; i < m->message_count; i++) {
        rta_message *msg = &m->messages[i];
        if (!rta_speaker_may_name(&sp, msg->client_id)) {
            rta__gw_conn_reply(c, m, RTA_ERR_INVALID_CLIENT_ID, "Message clientId does not match the connection");
            return;
        }
        if (!msg->client_id && sp.own) msg->client_id = strdup(sp.own);
    }
    char id[64];
    snprintf(id, sizeof(id), "%s:%lld", c->id, (long long)m->msg_serial);
    rta_metrics_add(RTA_M_MESSAGES_IN, m->message_count);
    rta_stats_message_in(c->auth.app_id, 0, m->message_count,
                         rta__gw_messages_size(m->messages, m->message_count), c->gw->now());
    if (c->gw->relay.publish) { /* cluster mode: Redis sequences it; ACK once it has */
        rta__gw_relay_publish(c, m, id);
        return;
    }

    if (m->has & RTA_PM_HAS_MSG_SERIAL) rta__gw_send_publish_ack(c, m->msg_serial, id, m->message_count);
    rta__gw_channel_fanout(c->gw, c->auth.app_id, c, m->channel, id, m->messages, m->message_count);
}

/* The ACK of a publish (wire doc 2.6): res[0].serials, "<id>:<i>" for each of its n
 * messages, the ids its subscribers and history see. Both the single-node path (before
 * fan-out) and the cluster path (once Redis sequenced it, relay.c) answer with it. */
void rta__gw_send_publish_ack(rta_conn *c, int64_t msg_serial, const char *id, size_t n)
{
    char **serials = calloc(n ? n : 1, sizeof(char *));
    rta_publish_result res = {serials, n};
    for (size_t i = 0; serials && i < n; i++) {
        char s[96];
        snprintf(s, sizeof(s), "%s:%zu", id, i);
        serials[i] = strdup(s);
    }
    rta_protocol_message ack = {.action = RTA_ACTION_ACK,
                                .has = RTA_PM_HAS_MSG_SERIAL | RTA_PM_HAS_COUNT,
                                .msg_serial = msg_serial,
                                .count = 1,
                                .res = serials ? &res : NULL,
                                .res_count = serials ? 1 : 0};
    rta__gw_conn_send(c, &ack);
    for (size_t i = 0; serials && i < n; i++) free(serials[i]);
    free(serials);
}

/* Idempotent publishing (RSL1k, RTL6a1): messages whose client-supplied id was published on
 * this channel within the window move to the end of msgs (the caller still owns and clears
 * all n); returns how many are new, in their order. */
static size_t drop_duplicates(rta_gateway *gw, const char *app_id, const char *channel,
                              rta_message *msgs, size_t n, int64_t now)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].id && rta_dedup_check(&gw->dedup, app_id, channel, msgs[i].id, now))
            continue; /* a duplicate: stays behind the kept ones */
        if (i != kept) {
            rta_message t = msgs[kept];
            msgs[kept] = msgs[i];
            msgs[i] = t;
        }
        kept++;
    }
    return kept;
}

void rta__gw_channel_fanout(rta_gateway *gw, const char *app_id, rta_conn *from,
                         const char *channel, const char *id, rta_message *msgs, size_t n)
{
    int64_t now = gw->now();
    n = drop_duplicates(gw, app_id, channel, msgs, n, now);
    if (!n) return; /* every one a duplicate: acknowledged, not delivered again */
    const char *conn_id = from ? from->id : NULL;
    /* The ProtocolMessage's connectionId is the truth (TM2c): drop any a client wrote. */
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].connection_id);
        msgs[i].connection_id = NULL;
    }
    rta_history_stamp stamp = {id, conn_id, now};
    if (rta_history_append(&gw->history, app_id, channel, msgs, n, &stamp, now))
        rta_log_warn("history: out of memory, messages not recorded");

    rta_channel *ch = channel_get(gw, app_id, channel, 0);
    if (!ch) return; /* nobody attached */
    char chan_serial[32];
    snprintf(chan_serial, sizeof(chan_serial), "%llu", (unsigned long long)++ch->serial);

    rta_protocol_message out = {.action = RTA_ACTION_MESSAGE, .has = RTA_PM_HAS_TIMESTAMP,
                                .timestamp = now, .id = (char *)id,
                                .channel = (char *)channel, .channel_serial = chan_serial,
                                .connection_id = (char *)conn_id, .messages = msgs,
                                .message_count = n};
    rta__gw_channel_broadcast(ch, &out, RTA_MODE_SUBSCRIBE, from && !from->echo ? from : NULL);
}

size_t rta__gw_messages_size(const rta_message *msgs, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) bytes += rta_message_size(&msgs[i]);
    return bytes;
}

void rta__gw_channel_broadcast(rta_channel *ch, const rta_protocol_message *out, uint32_t mode,
                            const rta_conn *skip)
{
    rta_buf enc[2] = {RTA_BUF_INIT, RTA_BUF_INIT}; /* by rta_format */
    int done[2] = {0, 0};
    size_t sent = 0;
    rta_gateway *gw = NULL;
    for (size_t i = 0; i < ch->count; i++) {
        rta_conn *to = ch->members[i];
        if (to == skip || !(ch->modes[i] & mode)) continue;
        sent++;
        gw = to->gw;
        if (!done[to->fmt]) {
            done[to->fmt] = 1;
            rta_protocol_message_encode(out, to->fmt, &enc[to->fmt]);
        }
        if (!enc[to->fmt].oom && enc[to->fmt].len)
            rta__gw_conn_send_encoded(to, ch->name, enc[to->fmt].data, enc[to->fmt].len);
    }
    rta_buf_free(&enc[0]);
    rta_buf_free(&enc[1]);
    if (out->action == RTA_ACTION_MESSAGE && gw) {
        rta_metrics_add(RTA_M_MESSAGES_OUT, sent * out->message_count);
        size_t bytes = rta__gw_messages_size(out->messages, out->message_count);
        rta_stats_message_out(ch->key, (size_t)(ch->name - ch->key - 1),
                              sent * out->message_count, sent * bytes, gw->now());
    }
}

int rta_gateway_channel_name_ok(const char *name)
{
    return name_ok(name);
}

void rta_gateway_publish(rta_gateway *gw, const char *app_id, const char *channel,
                         const char *id, rta_message *msgs, size_t n)
{
    rta_metrics_add(RTA_M_MESSAGES_IN, n);
    rta_stats_message_in(app_id, 1, n, rta__gw_messages_size(msgs, n), gw->now());
    rta__gw_channel_fanout(gw, app_id, NULL, channel, id, msgs, n);
}
