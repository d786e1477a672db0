/* gateway/catch_up.c: a re-attach that names the last message its client saw (cluster mode).
 *
 * ably-js keeps a channel's channelSerial (the last MESSAGE's, or the last ATTACHED's)
 * across transports and sends it with every ATTACH (RTL4c1), also when its connection could
 * not be resumed: its node died, or connectionStateTtl ran out. A node that did not have the
 * connection then knows from the serial alone what the client missed:
 * - the connection joins the channel at once, and its live messages there are held (as after
 *   a resume, gateway/frames.c), so nothing delivered from now on is missed;
 * - the relay reads the backlog from Redis (the stream every node shares): the serials after
 *   the client's, up to the last one this node delivered before the join (ch->serial);
 * - then ATTACHED with RESUMED and channelSerial = the client's serial (its attach point:
 *   history untilAttach means "before it"), the backlog in order, and the held messages.
 * So a subscriber whose node was killed misses nothing that was acknowledged, as long as the
 * stream still holds it (--history-max-messages, --history-max-age), and gets nothing twice.
 *
 * When the backlog cannot be had whole (trimmed, expired, a new epoch, the read failed), the
 * attach is a fresh one from the join: ATTACHED without RESUMED (ably-js reports the loss of
 * continuity, RTL2f) and channelSerial = the join's serial, then the held messages. A serial
 * equal to the channel's last one needs no read: RESUMED at once.
 *
 * Loop thread only. The records are found again by connection id when the relay answers
 * (the connection may have gone); a DETACH meanwhile cancels its record. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/gateway/internal.h"
#include "server/log.h"

#define MAX_PENDING 10000 /* backlog reads in flight for the whole gateway */

typedef struct rta_catch_up {
    struct rta_catch_up *next;
    rta_gateway *gw;
    char conn_id[24];
    char *app_id, *channel;
    uint64_t after, upto; /* the backlog: serials after..upto (ch->serial at the join) */
    int has_flags;
    uint32_t flags; /* the (latest) ATTACH's flags */
    int cancelled;
    char *rewind;  /* a rewind (RTL4k): the param's value, for the ATTACHED; else NULL */
    int64_t since; /* a rewind of the last ms: messages from this time on (0: all) */
    /* while its attach is completed (gw->catch_up_now) */
    int complete;
    rta_gateway_backlog *msgs;
    size_t n;
} rta_catch_up;

static rta_catch_up *find_pending(rta_gateway *gw, const char *conn_id, const char *channel)
{
    for (rta_catch_up *r = gw->catch_ups; r; r = r->next)
        if (!r->cancelled && !strcmp(r->conn_id, conn_id) && !strcmp(r->channel, channel))
            return r;
    return NULL;
}

static void unlink_record(rta_gateway *gw, rta_catch_up *cu)
{
    for (rta_catch_up **p = &gw->catch_ups; *p; p = &(*p)->next)
        if (*p == cu) {
            *p = cu->next;
            gw->catch_up_count--;
            return;
        }
}

static void record_free(rta_catch_up *cu)
{
    free(cu->app_id);
    free(cu->channel);
    free(cu->rewind);
    free(cu);
}

uint64_t rta__gw_catch_up_parse_serial(const char *s)
{
    if (!s || !*s || strlen(s) > 20 || (s[0] == '0' && s[1])) return 0;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    return errno ? 0 : (uint64_t)v;
}

static void backlog_done(void *arg, int code, int complete, rta_gateway_backlog *msgs, size_t n)
{
    rta_catch_up *cu = arg;
    rta_gateway *gw = cu->gw;
    unlink_record(gw, cu);
    rta_channel *ch = rta__gw_channel_find(gw, cu->app_id, cu->channel);
    if (ch && ch->catching_up) ch->catching_up--;
    rta_conn *c = rta_hmap_get(&gw->by_id, cu->conn_id, strlen(cu->conn_id));
    if (!cu->cancelled && !gw->stopping && c && !c->closing &&
        !strcmp(c->auth.app_id, cu->app_id) && rta__gw_conn_attached_to(c, cu->channel)) {
        if (code)
            rta_log_debug("connection %s: a channel's backlog could not be read (%d); "
                          "attached without it",
                          c->id, code);
        else if (!complete)
            rta_log_debug("connection %s: a channel's backlog after serial %llu is not whole "
                          "any more; attached without it",
                          c->id, (unsigned long long)cu->after);
        cu->complete = !code && complete;
        cu->msgs = msgs;
        cu->n = cu->complete ? n : 0;
        rta_protocol_message m = {.action = RTA_ACTION_ATTACH, .channel = cu->channel};
        char rewind_name[] = "rewind", *rewind_key = rewind_name;
        if (cu->rewind) { /* echoed in the ATTACHED (RTL4k1) */
            m.param_keys = &rewind_key;
            m.param_values = &cu->rewind;
            m.param_count = 1;
        }
        if (cu->has_flags) {
            m.has = RTA_PM_HAS_FLAGS;
            m.flags = cu->flags;
        }
        gw->catch_up_now = cu;
        rta__gw_channel_attach(c, &m); /* ATTACHED, the backlog, the held messages */
        gw->catch_up_now = NULL;
    }
    if ((ch = rta__gw_channel_find(gw, cu->app_id, cu->channel)))
        rta__gw_channel_release_if_empty(gw, ch);
    record_free(cu);
}

uint64_t rta__gw_catch_up_wanted(const rta_channel *ch, const rta_protocol_message *m,
                                 uint32_t *resumed)
{
    uint64_t after = rta__gw_catch_up_parse_serial(m->channel_serial);
    if (!after || after > ch->serial) return 0; /* none, or another epoch's: a fresh attach */
    if (after == ch->serial) {                  /* nothing missed */
        *resumed = RTA_FLAG_RESUMED;
        return 0;
    }
    return after;
}

static int begin(rta_conn *c, rta_channel *ch, const rta_protocol_message *m, uint64_t after,
                 const rta_rewind *rw)
{
    rta_gateway *gw = c->gw;
    if (gw->catch_up_now || gw->catch_up_count >= MAX_PENDING) return 0;
    rta_catch_up *cu = find_pending(gw, c->id, ch->name);
    if (cu) { /* the ATTACH again (a client's retry): the read under way answers both */
        cu->has_flags = (m->has & RTA_PM_HAS_FLAGS) != 0;
        cu->flags = m->flags;
        return 1;
    }
    cu = calloc(1, sizeof(*cu));
    if (cu) {
        cu->app_id = strndup(ch->key, (size_t)(ch->name - ch->key - 1));
        cu->channel = strdup(ch->name);
        if (rw) {
            cu->rewind = strdup(rw->value);
            cu->since = rw->ms ? gw->now() - rw->ms : 0;
        }
    }
    if (!cu || !cu->app_id || !cu->channel || (rw && !cu->rewind) ||
        rta__gw_conn_hold_channel(c, ch->name)) {
        if (cu) record_free(cu);
        return 0; /* out of memory: a fresh attach rather than none */
    }
    cu->gw = gw;
    snprintf(cu->conn_id, sizeof(cu->conn_id), "%s", c->id);
    cu->after = after;
    cu->upto = ch->serial;
    cu->has_flags = (m->has & RTA_PM_HAS_FLAGS) != 0;
    cu->flags = m->flags;
    cu->next = gw->catch_ups;
    gw->catch_ups = cu;
    gw->catch_up_count++;
    ch->catching_up++;
    gw->relay.backlog(gw->relay.ctx, cu->app_id, cu->channel, after, cu->upto, backlog_done, cu);
    return 1;
}

int rta__gw_catch_up_begin(rta_conn *c, rta_channel *ch, const rta_protocol_message *m,
                           uint64_t after)
{
    return begin(c, ch, m, after, NULL);
}

int rta__gw_rewind_begin(rta_conn *c, rta_channel *ch, const rta_protocol_message *m,
                         const rta_rewind *rw)
{
    if (!rw->count || !rw->value || !ch->serial) return 0; /* nothing to rewind to */
    uint64_t after = ch->serial > rw->count ? ch->serial - rw->count : 0;
    return begin(c, ch, m, after, rw);
}

/* A rewind of the last ms leaves out what is older (a catch-up sends everything). */
static int in_rewind(const rta_catch_up *cu, const rta_protocol_message *pm)
{
    return !cu->since || pm->timestamp >= cu->since;
}

int rta__gw_catch_up_has_backlog(const rta_catch_up *cu)
{
    if (!cu->rewind) return 0;
    for (size_t i = 0; i < cu->n; i++)
        if (in_rewind(cu, &cu->msgs[i].pm)) return 1;
    return 0;
}

int rta__gw_catch_up_pending(const rta_conn *c, const char *channel)
{
    return c->gw->catch_ups && find_pending(c->gw, c->id, channel) != NULL;
}

const rta_catch_up *rta__gw_catch_up_current(const rta_conn *c, const char *channel,
                                             uint32_t *resumed)
{
    const rta_catch_up *cu = c->gw->catch_up_now;
    if (!cu || strcmp(cu->conn_id, c->id) || strcmp(cu->channel, channel)) return NULL;
    /* a rewind is a first attach: its backlog is no continuation (HAS_BACKLOG instead) */
    *resumed = cu->complete && !cu->rewind ? RTA_FLAG_RESUMED : 0;
    return cu;
}

uint64_t rta__gw_catch_up_attach_serial(const rta_catch_up *cu)
{
    return cu->complete ? cu->after : cu->upto;
}

void rta__gw_catch_up_send(rta_conn *c, const rta_catch_up *cu, uint32_t granted)
{
    for (size_t i = 0; (granted & RTA_MODE_SUBSCRIBE) && i < cu->n; i++) {
        const rta_protocol_message *pm = &cu->msgs[i].pm;
        if (pm->action == RTA_ACTION_PRESENCE) continue; /* the SYNC after ATTACHED has them */
        if (!c->echo && pm->connection_id && !strcmp(pm->connection_id, c->id)) continue;
        if (!in_rewind(cu, pm)) continue;
        char serial[32];
        snprintf(serial, sizeof(serial), "%llu", (unsigned long long)cu->msgs[i].serial);
        rta_protocol_message out = {.action = RTA_ACTION_MESSAGE,
                                    .has = RTA_PM_HAS_TIMESTAMP,
                                    .timestamp = pm->timestamp,
                                    .id = pm->id,
                                    .channel = cu->channel,
                                    .channel_serial = serial,
                                    .connection_id = pm->connection_id,
                                    .messages = pm->messages,
                                    .message_count = pm->message_count};
        rta__gw_conn_send(c, &out);
    }
    rta__gw_conn_release_held(c, cu->channel, 1); /* what came live meanwhile, after it */
}

void rta__gw_catch_up_cancel(rta_conn *c, const char *channel)
{
    rta_catch_up *cu = find_pending(c->gw, c->id, channel);
    if (cu) cu->cancelled = 1; /* freed when the relay answers */
}
