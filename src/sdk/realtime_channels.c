/* realtime_channels.c: the I/O-thread side of channels (RTL): ATTACH/ATTACHED/DETACH/DETACHED
 * and channel ERROR (wire doc 2.7), re-attach after every new transport (RTN15c), publishes
 * numbered by msgSerial and completed by ACK/NACK (2.6), and incoming messages handed to the
 * subscribers. The public functions that feed it are in realtime_channel_api.c.
 *
 * Runs on the I/O thread with rt->mu held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realtime_internal.h"

const char *rta_channel_state_name(rta_channel_state s)
{
    static const char *const names[] = {"initialized", "attaching", "attached", "detaching",
                                        "detached",    "suspended", "failed",   "update"};
    return (unsigned)s <= RTA_CHANNEL_UPDATE ? names[s] : "unknown";
}

/* ---- events ------------------------------------------------------------------------------------ */

typedef struct chan_event {
    rta__event ev;
    rta_channel *ch;
    rta_channel_state_change change;
    rta_error reason;
} chan_event;

static void run_chan_change(rta_realtime *rt, rta__event *ev)
{
    chan_event *c = (chan_event *)ev;
    rta__listener *ls;
    size_t n = rta__listener_snapshot(rt, &c->ch->listeners, &ls);
    c->change.reason = c->reason.code ? &c->reason : NULL;
    for (size_t i = 0; i < n; i++)
        ((rta_channel_listener)ls[i].cb)(c->ch, &c->change, ls[i].user_data);
    free(ls);
    free(c);
}

static void set_state(rta_channel *ch, rta_channel_state s, const rta_error *reason, int update)
{
    rta_realtime *rt = ch->rt;
    rta_channel_state prev = ch->state;
    if (prev == s && !update) return;
    ch->state = s;
    if (reason)
        ch->reason = *reason;
    else if (!update)
        rta_error_clear(&ch->reason);
    rta__rt_notify(rt);
    chan_event *c = calloc(1, sizeof(*c));
    if (!c) return;
    c->ev.run = run_chan_change;
    c->ch = ch;
    c->change.previous = prev;
    c->change.current = s;
    c->change.event = update ? RTA_CHANNEL_UPDATE : s;
    if (reason) c->reason = *reason;
    rta__rt_emit(rt, &c->ev);
}

typedef struct msg_event {
    rta__event ev;
    rta_channel *ch;
    rta_protocol_message pm; /* owned */
} msg_event;

static void run_messages(rta_realtime *rt, rta__event *ev)
{
    msg_event *e = (msg_event *)ev;
    rta__listener *ls;
    size_t n = rta__listener_snapshot(rt, &e->ch->subscribers, &ls);
    for (size_t k = 0; k < e->pm.message_count; k++) {
        const rta_message *m = &e->pm.messages[k];
        char id[200];
        rta_realtime_message out = {0};
        /* TM2a, TM2c, TM2f: id, connectionId, timestamp from the ProtocolMessage if absent */
        if (m->id)
            out.id = m->id;
        else if (e->pm.id && snprintf(id, sizeof(id), "%s:%zu", e->pm.id, k) < (int)sizeof(id))
            out.id = id;
        out.name = m->name;
        out.client_id = m->client_id;
        out.connection_id = m->connection_id ? m->connection_id : e->pm.connection_id;
        out.encoding = m->encoding;
        out.timestamp = m->timestamp ? m->timestamp : e->pm.timestamp;
        out.data = m->data.ptr;
        out.data_len = m->data.len;
        out.binary = m->data.type == RTA_DATA_BINARY;
        out.json = m->data.type == RTA_DATA_JSON;
        for (size_t i = 0; i < n; i++)
            ((rta_message_listener)ls[i].cb)(e->ch, &out, ls[i].user_data);
    }
    free(ls);
    rta_protocol_message_clear(&e->pm);
    free(e);
}

/* ---- pubs -------------------------------------------------------------------------------------- */

static void pub_complete(rta_realtime *rt, rta__pub *p, int rc, const rta_error *err)
{
    rta__op *op = NULL;
    if (p->cb && !rta__ops_add(&op, p->cb, p->user_data)) rta__ops_complete(rt, &op, rc, err);
    rta_message_clear(&p->msg);
    free(p);
}

static void fail_pubs(rta_realtime *rt, const rta_error *why)
{
    rta__pub *p = rt->pubs_head;
    rt->pubs_head = rt->pubs_tail = NULL;
    while (p) {
        rta__pub *n = p->next;
        pub_complete(rt, p, why->code ? why->code : RTA_ERR_CONNECTION_CLOSED, why);
        p = n;
    }
}

void rta__chan_on_ack(rta_realtime *rt, rta_protocol_message *m, int nack)
{
    int64_t first = m->msg_serial, count = m->has & RTA_PM_HAS_COUNT ? m->count : 1;
    rta_error e = {0};
    if (nack) {
        if (m->has & RTA_PM_HAS_ERROR)
            e = m->error;
        else
            rta_error_set_status(&e, 50001, 500, "Message rejected by the server");
    }
    for (rta__pub **pp = &rt->pubs_head; *pp;) {
        rta__pub *p = *pp;
        if (p->sent && p->serial >= first && p->serial < first + count) {
            *pp = p->next;
            pub_complete(rt, p, nack ? e.code : 0, nack ? &e : NULL);
        } else {
            pp = &p->next;
        }
    }
    rt->pubs_tail = NULL;
    for (rta__pub *p = rt->pubs_head; p; p = p->next)
        rt->pubs_tail = p;
}

/* ---- channel deadlines ---------------------------------------------------------------------------- */

static void on_channel_timer(lws_sorted_usec_list_t *sul)
{
    rta_realtime *rt = lws_container_of(sul, rta_realtime, sul_channels);
    int nested = rta__rt_enter(rt);
    int64_t now = rta__mono_ms();
    for (rta_channel *ch = rt->channels; ch; ch = ch->next) {
        if (!ch->op_deadline || now < ch->op_deadline) continue;
        ch->op_deadline = 0;
        ch->attach_sent = 0;
        rta_error e;
        rta_error_set(&e, RTA_ERR_CHANNEL_TIMEOUT, "No reply from the server to %s",
                      ch->state == RTA_CHANNEL_DETACHING ? "DETACH" : "ATTACH");
        if (ch->state == RTA_CHANNEL_ATTACHING) { /* RTL4f */
            set_state(ch, RTA_CHANNEL_SUSPENDED, &e, 0);
            rta__ops_complete(rt, &ch->attach_ops, e.code, &e);
        } else if (ch->state == RTA_CHANNEL_DETACHING) { /* RTL5f */
            set_state(ch, RTA_CHANNEL_ATTACHED, &e, 0);
            rta__ops_complete(rt, &ch->detach_ops, e.code, &e);
        }
    }
    rta__chan_schedule(rt);
    rta__rt_leave(rt, nested);
}

void rta__chan_schedule(rta_realtime *rt)
{
    int64_t next = 0;
    for (rta_channel *ch = rt->channels; ch; ch = ch->next)
        if (ch->op_deadline && (!next || ch->op_deadline < next)) next = ch->op_deadline;
    if (!next) {
        lws_sul_cancel(&rt->sul_channels);
        return;
    }
    int64_t in = next - rta__mono_ms();
    if (in < 1) in = 1;
    lws_sul_schedule(rt->lws, 0, &rt->sul_channels, on_channel_timer, (lws_usec_t)in * 1000);
}

/* ---- outbound ---------------------------------------------------------------------------------- */

static void send_simple(rta_realtime *rt, rta_channel *ch, int action)
{
    rta_protocol_message m = {.action = action, .channel = ch->name};
    rta__ws_send(rt, &m);
    ch->attach_sent = action == RTA_ACTION_ATTACH;
    ch->op_deadline = rta__mono_ms() + rt->set.realtime_request_ms;
}

static int connected(rta_realtime *rt)
{
    return rt->state == RTA_CONN_CONNECTED && rt->transport_open;
}

static void connection_error(rta_realtime *rt, rta_error *e)
{
    *e = rt->reason;
    if (!e->code)
        rta_error_set(e, rt->state == RTA_CONN_SUSPENDED ? RTA_ERR_CONNECTION_SUSPENDED
                                                         : RTA_ERR_CONNECTION_CLOSED,
                      "Connection %s", rta_connection_state_name(rt->state));
}

void rta__chan_process(rta_realtime *rt)
{
    rta_connection_state cs = rt->state;
    int dead = cs == RTA_CONN_FAILED || cs == RTA_CONN_CLOSED || cs == RTA_CONN_CLOSING ||
               cs == RTA_CONN_SUSPENDED;
    rta_error e;
    for (rta_channel *ch = rt->channels; ch; ch = ch->next) {
        if (ch->want_detach) {
            ch->want_detach = 0;
            if ((ch->state == RTA_CHANNEL_ATTACHED || ch->state == RTA_CHANNEL_ATTACHING) &&
                connected(rt)) {
                rta_error_set(&e, RTA_ERR_CHANNEL_FAILED, "Detached before the attach completed");
                rta__ops_complete(rt, &ch->attach_ops, e.code, &e);
                set_state(ch, RTA_CHANNEL_DETACHING, NULL, 0);
                send_simple(rt, ch, RTA_ACTION_DETACH);
            } else if (ch->state != RTA_CHANNEL_DETACHING) {
                if (ch->state == RTA_CHANNEL_ATTACHED || ch->state == RTA_CHANNEL_ATTACHING ||
                    ch->state == RTA_CHANNEL_SUSPENDED)
                    set_state(ch, RTA_CHANNEL_DETACHED, NULL, 0);
                rta__ops_complete(rt, &ch->detach_ops, 0, NULL);
            }
        }
        if (ch->want_attach) {
            ch->want_attach = 0;
            if (ch->state == RTA_CHANNEL_ATTACHED) {
                rta__ops_complete(rt, &ch->attach_ops, 0, NULL);
            } else if (dead) { /* RTL4b */
                connection_error(rt, &e);
                rta__ops_complete(rt, &ch->attach_ops, e.code, &e);
            } else {
                set_state(ch, RTA_CHANNEL_ATTACHING, NULL, 0);
                if (connected(rt) && !ch->attach_sent) send_simple(rt, ch, RTA_ACTION_ATTACH);
                if (cs == RTA_CONN_INITIALIZED) rt->want_connect = 1; /* RTL4i */
            }
        }
    }
    if (dead && rt->pubs_head) {
        connection_error(rt, &e);
        fail_pubs(rt, &e);
    }
    if (connected(rt))
        for (rta__pub *p = rt->pubs_head; p; p = p->next) {
            if (p->sent) continue;
            if (p->serial < 0) p->serial = rt->msg_serial++;
            rta_protocol_message m = {.action = RTA_ACTION_MESSAGE, .channel = p->ch->name};
            m.has = RTA_PM_HAS_MSG_SERIAL;
            m.msg_serial = p->serial;
            m.messages = &p->msg;
            m.message_count = 1;
            rta__ws_send(rt, &m);
            p->sent = 1;
        }
    rta__chan_schedule(rt);
}

void rta__chan_connected(rta_realtime *rt, int resumed)
{
    for (rta__pub *p = rt->pubs_head; p; p = p->next) {
        p->sent = 0;
        if (!resumed) p->serial = -1; /* RTN15c7: renumbered on the new connection */
    }
    /* RTN15c6, RTN15c7, wire doc 2.7: ATTACH again for every channel that is or wants to be
     * attached, whether or not the connection was resumed. */
    for (rta_channel *ch = rt->channels; ch; ch = ch->next) {
        ch->attach_sent = 0;
        if (ch->state == RTA_CHANNEL_SUSPENDED) set_state(ch, RTA_CHANNEL_ATTACHING, NULL, 0);
        if (ch->state == RTA_CHANNEL_ATTACHING || ch->state == RTA_CHANNEL_ATTACHED)
            send_simple(rt, ch, RTA_ACTION_ATTACH);
        if (ch->state == RTA_CHANNEL_DETACHING) send_simple(rt, ch, RTA_ACTION_DETACH);
    }
    rta__chan_process(rt);
}

void rta__chan_connection_ended(rta_realtime *rt, const rta_error *why, int fatal)
{
    for (rta__pub *p = rt->pubs_head; p; p = p->next)
        p->sent = 0;
    rta_connection_state cs = rt->state;
    for (rta_channel *ch = rt->channels; ch; ch = ch->next) {
        ch->attach_sent = 0;
        ch->op_deadline = 0;
        if (!fatal) continue;
        rta_channel_state to = cs == RTA_CONN_FAILED      ? RTA_CHANNEL_FAILED
                               : cs == RTA_CONN_SUSPENDED ? RTA_CHANNEL_SUSPENDED
                                                          : RTA_CHANNEL_DETACHED;
        if (ch->state == RTA_CHANNEL_ATTACHING || ch->state == RTA_CHANNEL_ATTACHED ||
            ch->state == RTA_CHANNEL_DETACHING)
            set_state(ch, to, cs == RTA_CONN_FAILED || cs == RTA_CONN_SUSPENDED ? why : NULL, 0);
        rta__ops_complete(rt, &ch->attach_ops, why->code, why);
        rta__ops_complete(rt, &ch->detach_ops, 0, NULL);
    }
    if (fatal) fail_pubs(rt, why); /* RTN7e */
    rta__chan_schedule(rt);
}

/* ---- inbound ----------------------------------------------------------------------------------- */

static rta_channel *find(rta_realtime *rt, const char *name)
{
    for (rta_channel *ch = rt->channels; name && ch; ch = ch->next)
        if (!strcmp(ch->name, name)) return ch;
    return NULL;
}

void rta__chan_on_message(rta_realtime *rt, rta_protocol_message *m)
{
    rta_channel *ch = find(rt, m->channel);
    if (!ch) return;
    const rta_error *why = m->has & RTA_PM_HAS_ERROR ? &m->error : NULL;
    rta_error e;
    switch (m->action) {
    case RTA_ACTION_ATTACHED:
        ch->attach_sent = 0;
        if (ch->state == RTA_CHANNEL_ATTACHING || ch->state == RTA_CHANNEL_SUSPENDED) {
            ch->op_deadline = 0;
            set_state(ch, RTA_CHANNEL_ATTACHED, why, 0);
            rta__ops_complete(rt, &ch->attach_ops, 0, NULL);
        } else if (ch->state == RTA_CHANNEL_ATTACHED) {
            ch->op_deadline = 0;
            if (!(m->flags & RTA_FLAG_RESUMED)) set_state(ch, RTA_CHANNEL_ATTACHED, why, 1);
        }
        break;
    case RTA_ACTION_DETACHED:
        if (!why) {
            rta_error_set_status(&e, RTA_ERR_CHANNEL_FAILED, 404, "Channel detached");
            why = &e;
        }
        if (ch->state == RTA_CHANNEL_DETACHING) {
            ch->op_deadline = 0;
            set_state(ch, RTA_CHANNEL_DETACHED, NULL, 0);
            rta__ops_complete(rt, &ch->detach_ops, 0, NULL);
        } else if (ch->state == RTA_CHANNEL_ATTACHED && connected(rt)) { /* RTL13a */
            set_state(ch, RTA_CHANNEL_ATTACHING, why, 0);
            send_simple(rt, ch, RTA_ACTION_ATTACH);
        } else if (ch->state == RTA_CHANNEL_ATTACHING) { /* RTL13b */
            ch->op_deadline = 0;
            set_state(ch, RTA_CHANNEL_SUSPENDED, why, 0);
            rta__ops_complete(rt, &ch->attach_ops, why->code, why);
        }
        break;
    case RTA_ACTION_ERROR: /* RTL14: failed with that error (40160 after a downgrade) */
        if (!why) {
            rta_error_set(&e, RTA_ERR_CHANNEL_FAILED, NULL);
            why = &e;
        }
        ch->op_deadline = 0;
        ch->attach_sent = 0;
        set_state(ch, RTA_CHANNEL_FAILED, why, 0);
        rta__ops_complete(rt, &ch->attach_ops, why->code, why);
        rta__ops_complete(rt, &ch->detach_ops, why->code, why);
        break;
    case RTA_ACTION_MESSAGE:
        if (ch->state == RTA_CHANNEL_ATTACHED && m->message_count && ch->subscribers) {
            msg_event *ev = calloc(1, sizeof(*ev));
            if (!ev) break;
            ev->ev.run = run_messages;
            ev->ch = ch;
            ev->pm = *m; /* taken over: the caller's clear then frees nothing */
            for (size_t k = 0; k < ev->pm.message_count; k++)
                rta__message_decode(&ev->pm.messages[k]);
            memset(m, 0, sizeof(*m));
            rta__rt_emit(rt, &ev->ev);
        }
        break;
    default:
        break;
    }
    rta__chan_schedule(rt);
}

void rta__chan_free_all(rta_realtime *rt)
{
    for (rta__pub *p = rt->pubs_head, *n; p; p = n) {
        n = p->next;
        rta_message_clear(&p->msg);
        free(p);
    }
    rt->pubs_head = rt->pubs_tail = NULL;
    for (rta_channel *ch = rt->channels, *n; ch; ch = n) {
        n = ch->next;
        for (rta__op *o = ch->attach_ops, *x; o; o = x)
            x = o->next, free(o);
        for (rta__op *o = ch->detach_ops, *x; o; o = x)
            x = o->next, free(o);
        for (rta__listener *l = ch->listeners, *x; l; l = x)
            x = l->next, free(l);
        for (rta__listener *l = ch->subscribers, *x; l; l = x)
            x = l->next, free(l);
        free(ch->name);
        free(ch);
    }
    rt->channels = NULL;
}
