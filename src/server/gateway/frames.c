/* gateway/frames.c: a connection's outgoing frame queue. Frames are encoded once, kept with
 * the headroom the transport needs (hooks.headroom: LWS_PRE with libwebsockets), and written
 * one per rta_gateway_writeable() through the transport's hooks.
 *
 * The queue is bounded (limits.max_queue bytes): a client that stops reading, or a detached
 * connection nobody resumes while its channels are busy, loses its queue and its transport
 * and is never resumed, so the client starts afresh (80008) and re-attaches instead of
 * silently missing messages. Closing frames (DISCONNECTED, ERROR, CLOSED) mark where the
 * socket closes; channel messages queued after them wait for a resume.
 *
 * All queues together are bounded too (limits.max_queue_total, issue 11: 500 detached
 * connections held 503 MB): when a frame would go over, the oldest detached connections are
 * discarded first (a resume then gets 80008), then the receiving connection if it is itself
 * behind (more than SLOW_SHARE queued); a connection that keeps up is never dropped for the
 * backlog of others. */
#include <stdlib.h>
#include <string.h>

#include "server/gateway/internal.h"
#include "server/metrics.h"
#include "server/log.h"

#define LINGER_MS 1000 /* after an ending frame, for the client to read it and close */
#define SLOW_SHARE(gw) ((size_t)(gw)->limits.max_queue / 16)

/* Every change to a connection's queued bytes goes through here: the server-wide total. */
static void count_in(rta_conn *c, size_t n)
{
    c->out_bytes += n;
    c->gw->queued_bytes += n;
}

static void count_out(rta_conn *c, size_t n)
{
    c->out_bytes -= n;
    c->gw->queued_bytes -= n;
}

/* A frame holding the transport's headroom, with room for `body` bytes more (a guess: the
 * buffer grows if needed). */
static rta_frame *frame_new(const rta_gateway *gw, size_t body)
{
    rta_frame *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    size_t headroom = gw->hooks.headroom;
    char *room = rta_buf_reserve(&f->bytes, headroom + body);
    if (!room) {
        free(f);
        return NULL;
    }
    memset(room, 0, headroom);
    rta_buf_commit(&f->bytes, headroom);
    return f;
}

static void frame_free(rta_frame *f)
{
    free(f->channel);
    rta_buf_free(&f->bytes);
    free(f);
}

static size_t frame_size(const rta_frame *f)
{
    return f->bytes.len + sizeof(*f);
}

typedef struct {
    rta_frame **head, **tail;
} frame_list;

static void list_push(frame_list l, rta_frame *f)
{
    f->next = NULL;
    if (*l.tail)
        (*l.tail)->next = f;
    else
        *l.head = f;
    *l.tail = f;
}

/* Removes from l every frame for which pick(f, ctx) holds, in order, passing it to take. */
static void list_take(frame_list l, int (*pick)(const rta_frame *, const void *), const void *ctx,
                      void (*take)(rta_conn *, rta_frame *), rta_conn *c)
{
    rta_frame **p = l.head;
    *l.tail = NULL;
    while (*p) {
        rta_frame *f = *p;
        if (!pick(f, ctx)) {
            *l.tail = f;
            p = &f->next;
            continue;
        }
        *p = f->next;
        take(c, f);
    }
}

static int pick_all(const rta_frame *f, const void *ctx)
{
    (void)f, (void)ctx;
    return 1;
}

static int pick_control(const rta_frame *f, const void *ctx)
{
    (void)ctx;
    return !f->channel;
}

static int pick_data(const rta_frame *f, const void *ctx)
{
    (void)ctx;
    return f->channel != NULL;
}

static int pick_channel(const rta_frame *f, const void *name)
{
    return !strcmp(f->channel, name);
}

static void take_free(rta_conn *c, rta_frame *f)
{
    if (f == c->close_after) c->close_after = NULL;
    count_out(c, frame_size(f));
    frame_free(f);
}

static void take_hold(rta_conn *c, rta_frame *f)
{
    list_push((frame_list){&c->held_head, &c->held_tail}, f);
}

static void take_send(rta_conn *c, rta_frame *f)
{
    list_push((frame_list){&c->out_head, &c->out_tail}, f);
}

#define OUT(c) ((frame_list){&(c)->out_head, &(c)->out_tail})

/* ---- writing: at the end of the loop turn, or on the writeable callback ---------------- */

/* c's transport (there must be one) has something to write. */
void rta__gw_want_write(rta_conn *c)
{
    rta_gateway *gw = c->gw;
    if (!gw->hooks.can_write_now || c->peer_closing) {
        gw->hooks.want_write(gw->hooks.data, c->transport);
        return;
    }
    if (c->flush_linked) return;
    c->flush_prev = gw->flush_tail;
    c->flush_next = NULL;
    if (gw->flush_tail) gw->flush_tail->flush_next = c;
    else gw->flush_head = c;
    gw->flush_tail = c;
    c->flush_linked = 1;
}

void rta__gw_flush_forget(rta_conn *c)
{
    if (!c->flush_linked) return;
    rta_gateway *gw = c->gw;
    if (c->flush_prev) c->flush_prev->flush_next = c->flush_next;
    else gw->flush_head = c->flush_next;
    if (c->flush_next) c->flush_next->flush_prev = c->flush_prev;
    else gw->flush_tail = c->flush_prev;
    c->flush_prev = c->flush_next = NULL;
    c->flush_linked = 0;
}

void rta_gateway_peer_closing(rta_conn *c)
{
    c->peer_closing = 1;
    if (c->flush_linked) { /* what it still takes, lws offers */
        rta__gw_flush_forget(c);
        c->gw->hooks.want_write(c->gw->hooks.data, c->transport);
    }
}

/* Why the writeable callback rather than a write now: lingering (nothing to write), or
 * closing with nothing left to write, which lws does from its callback (a close frame with
 * status 1000, then the socket). A connection whose client began closing is never listed
 * (rta__gw_want_write, rta_gateway_peer_closing). */
static int write_now_possible(const rta_conn *c)
{
    return !c->lingering && !(c->closing && !c->close_after);
}

/* Written here rather than on POLLOUT: lws on libuv turns POLLOUT on and off for each
 * callback_on_writable as an epoll_ctl each (the HTTP replies' reason too, rest/http.c). A
 * revocation of 10,000 connections, an AUTH's CONNECTED and every liveness ping went through
 * that dance (make bench-scale, issue 19). Each connection writes one frame per pass and goes
 * to the back of the list while it has more, so one with a long queue does not hold up the
 * others; once its transport buffered part of a frame (the socket is full), the rest waits
 * for the writeable callback. */
void rta_gateway_flush(rta_gateway *gw)
{
    const rta_gateway_hooks *h = &gw->hooks;
    rta_conn *c;
    while ((c = gw->flush_head)) {
        rta__gw_flush_forget(c);
        if (!c->transport) continue;
        if (!write_now_possible(c) || !h->can_write_now(h->data, c->transport)) {
            h->want_write(h->data, c->transport);
            continue;
        }
        /* rta_gateway_writeable lists c again when it has more to write */
        if (rta_gateway_writeable(c) == RTA_GATEWAY_WRITE_FAILED && c->transport)
            h->close_now(h->data, c->transport);
    }
}

#define HELD(c) ((frame_list){&(c)->held_head, &(c)->held_tail})

static void reattach_clear(rta_conn *c)
{
    for (size_t i = 0; i < c->reattach_count; i++) free(c->reattach[i]);
    free(c->reattach);
    c->reattach = NULL;
    c->reattach_count = 0;
}

void rta__gw_conn_drop_frames(rta_conn *c)
{
    list_take(OUT(c), pick_all, NULL, take_free, c);
    list_take(HELD(c), pick_all, NULL, take_free, c);
    reattach_clear(c);
}

void rta__gw_conn_hold_unsent(rta_conn *c)
{
    list_take(OUT(c), pick_control, NULL, take_free, c);
    list_take(OUT(c), pick_data, NULL, take_hold, c);
    reattach_clear(c); /* while detached everything is held anyway */
}

static int awaiting(const rta_conn *c, const char *channel)
{
    for (size_t i = 0; i < c->reattach_count; i++)
        if (!strcmp(c->reattach[i], channel)) return 1;
    return 0;
}

static int pick_unattached(const rta_frame *f, const void *conn)
{
    return !rta__gw_conn_attached_to(conn, f->channel);
}

void rta__gw_conn_await_reattach(rta_conn *c)
{
    reattach_clear(c);
    list_take(HELD(c), pick_unattached, c, take_free, c);
    if (!c->attached_count) return;
    c->reattach = calloc(c->attached_count, sizeof(char *));
    for (size_t i = 0; c->reattach && i < c->attached_count; i++)
        if ((c->reattach[c->reattach_count] = strdup(c->attached[i]->name))) c->reattach_count++;
}

int rta__gw_conn_hold_channel(rta_conn *c, const char *channel)
{
    if (awaiting(c, channel)) return 0;
    char **r = realloc(c->reattach, (c->reattach_count + 1) * sizeof(*r));
    if (!r) return -1;
    c->reattach = r;
    if (!(r[c->reattach_count] = strdup(channel))) return -1;
    c->reattach_count++;
    return 0;
}

void rta__gw_conn_release_held(rta_conn *c, const char *channel, int deliver)
{
    for (size_t i = 0; i < c->reattach_count; i++)
        if (!strcmp(c->reattach[i], channel)) {
            free(c->reattach[i]);
            c->reattach[i] = c->reattach[--c->reattach_count];
            break;
        }
    list_take(HELD(c), pick_channel, channel, deliver ? take_send : take_free, c);
    if (deliver && c->out_head && c->transport) rta__gw_want_write(c);
}

/* The client is not keeping up: drop everything and end the connection for good. Runs
 * inside fan-out loops, so nothing is freed here: the transport is killed asynchronously,
 * a detached connection is discarded by its timer. */
static void overflow(rta_conn *c)
{
    rta_log_event(RTA_LOG_WARN, "connection.overflow", RTA__GW_LOG_FIELDS(c, .code = 0),
                  "connection %s: outgoing queue over its limit (%lld bytes, %lld for all), "
                  "dropping it", c->id, c->gw->limits.max_queue, c->gw->limits.max_queue_total);
    rta__gw_conn_drop_frames(c);
    rta_metrics_add(RTA_M_GATEWAY_QUEUE_DROPS, 1);
    c->end_reason = RTA_METRICS_REASON_OVERFLOW;
    c->final = 1;
    c->closing = 1;
    if (c->transport)
        c->gw->hooks.close_now(c->gw->hooks.data, c->transport);
    else
        rta__gw_conn_discard_soon(c);
}

/* Room for n more bytes under max_queue_total, made by discarding the oldest detached
 * connections. 0 when there is none left to discard and c is behind itself. */
static int room_for(rta_conn *c, size_t n)
{
    rta_gateway *gw = c->gw;
    while (gw->queued_bytes + n > (size_t)gw->limits.max_queue_total)
        if (!rta__gw_detached_evict_oldest(gw, c)) return c->out_bytes < SLOW_SHARE(gw);
    return 1;
}

static void queue(rta_conn *c, rta_frame *f, int first)
{
    if (c->final && c->closing) { /* ending for good: nobody will read it */
        frame_free(f);
        return;
    }
    size_t n = frame_size(f);
    if (c->out_bytes + n > (size_t)c->gw->limits.max_queue || !room_for(c, n)) {
        frame_free(f);
        if (!c->final) overflow(c);
        return;
    }
    f->binary = c->fmt == RTA_FORMAT_MSGPACK; /* msgpack only in binary frames (1.4) */
    count_in(c, n);
    if (f->channel && (!c->transport || awaiting(c, f->channel))) {
        take_hold(c, f);
        return;
    }
    if (first) {
        f->next = c->out_head;
        c->out_head = f;
        if (!c->out_tail) c->out_tail = f;
    } else {
        take_send(c, f);
    }
    if (c->transport) rta__gw_want_write(c);
}

static rta_frame *encode(rta_conn *c, const rta_protocol_message *m)
{
    rta_frame *f = frame_new(c->gw, 0);
    if (!f) return NULL;
    if (rta_protocol_message_encode(m, c->fmt, &f->bytes) || f->bytes.oom) {
        frame_free(f);
        return NULL;
    }
    return f;
}

void rta__gw_conn_send(rta_conn *c, const rta_protocol_message *m)
{
    rta_frame *f = encode(c, m);
    if (f) queue(c, f, 0);
}

void rta__gw_conn_send_first(rta_conn *c, const rta_protocol_message *m)
{
    rta_frame *f = encode(c, m);
    if (f) queue(c, f, 1);
}

void rta__gw_conn_send_encoded(rta_conn *c, const char *channel, const void *bytes, size_t len)
{
    rta_frame *f = frame_new(c->gw, 0);
    if (!f) return;
    rta_buf_append(&f->bytes, bytes, len);
    if (f->bytes.oom || !(f->channel = strdup(channel))) {
        frame_free(f);
        return;
    }
    queue(c, f, 0);
}

static int same_error(const rta_error *a, const rta_error *b)
{
    return a->code == b->code && a->status_code == b->status_code && !a->cause_code &&
           !b->cause_code && strcmp(a->message, b->message) == 0;
}

void rta__gw_conn_send_error(rta_conn *c, int action, const char *channel, const rta_error *e)
{
    rta_protocol_message m = {.action = action, .has = RTA_PM_HAS_ERROR, .error = *e};
    m.channel = (char *)channel;
    if (channel || e->cause_code) {
        rta__gw_conn_send(c, &m);
        return;
    }
    /* A connection's ending: encoded once for all the connections one revocation (or expiry
     * wave, or key change) ends, 5% of rtauthd's CPU revoking 10,000 (issue 19). */
    rta_gateway *gw = c->gw;
    struct rta_gateway_ending *k = &gw->ending[c->fmt == RTA_FORMAT_MSGPACK];
    if (!k->bytes.len || k->action != action || !same_error(&k->error, e)) {
        rta_buf_reset(&k->bytes);
        if (rta_protocol_message_encode(&m, c->fmt, &k->bytes) || k->bytes.oom) {
            rta_buf_free(&k->bytes);
            rta__gw_conn_send(c, &m);
            return;
        }
        k->action = action;
        k->error = *e;
    }
    rta_frame *f = frame_new(gw, k->bytes.len);
    if (!f) return;
    rta_buf_append(&f->bytes, k->bytes.data, k->bytes.len);
    if (f->bytes.oom) {
        frame_free(f);
        return;
    }
    queue(c, f, 0);
}

void rta__gw_conn_reply(rta_conn *c, const rta_protocol_message *m, int code, const char *msg)
{
    if (!(m->has & RTA_PM_HAS_MSG_SERIAL)) return;
    if (c->relay_inflight && rta__gw_relay_defer_reply(c, m, code, msg)) return; /* cluster */
    rta__gw_conn_reply_now(c, m, code, msg);
}

void rta__gw_conn_reply_now(rta_conn *c, const rta_protocol_message *m, int code, const char *msg)
{
    if (!(m->has & RTA_PM_HAS_MSG_SERIAL)) return;
    rta_protocol_message r = {.action = code ? RTA_ACTION_NACK : RTA_ACTION_ACK,
                              .has = RTA_PM_HAS_MSG_SERIAL | RTA_PM_HAS_COUNT,
                              .msg_serial = m->msg_serial,
                              .count = 1};
    if (code) {
        r.has |= RTA_PM_HAS_ERROR;
        rta_error_set(&r.error, code, "%s", msg);
    }
    rta__gw_conn_send(c, &r);
}

void rta__gw_conn_fail(rta_conn *c, int action, const rta_error *e)
{
    if (c->closing) return; /* one ending per transport */
    c->end_code = e->code;
    /* Before CONNECTED, an ending is a refusal: for a cap (40111) or a server fault, or else
     * of the credentials */
    const char *event = c->connected ? "connection.ending"
                        : e->code == RTA_ERR_CONNECTION_LIMIT || e->code >= 50000
                            ? "connection.refused"
                            : "auth.refused";
    rta_log_event(c->connected ? RTA_LOG_DEBUG : RTA_LOG_INFO, event, RTA__GW_LOG_FIELDS(c, .code = e->code),
                  "connection %s: %s %d %s", c->id,
                  action == RTA_ACTION_ERROR ? "ERROR" : "DISCONNECTED", e->code, e->message);
    if (action == RTA_ACTION_ERROR && !rta_error_is_token_error(e->code))
        c->final = 1; /* fatal: the client fails and will not resume (2.8) */
    c->end_reason = e->code; /* the reason it ends, unless it is resumed */
    if (!c->admitted) rta_metrics_connection_refused(e->code); /* never got in */
    rta__gw_conn_send_error(c, action, NULL, e);
    c->closing = 1;
    c->close_after = c->out_tail; /* NULL if it could not be queued: close at once */
    if (c->transport) rta__gw_want_write(c);
}

void rta__gw_conn_close_when_flushed(rta_conn *c)
{
    if (c->closing) return;
    c->closing = 1;
    c->close_after = c->out_tail;
    if (c->transport) rta__gw_want_write(c);
}

void rta__gw_linger_over(rta_conn *c)
{
    if (c->transport && c->lingering) c->gw->hooks.close_now(c->gw->hooks.data, c->transport);
}

/* The ending frame is out: the socket closes when the client closes it, or after LINGER_MS.
 * The deadline is the gateway's linger list (gateway/timers.c), not lws_set_timeout: lws
 * keeps its timeouts in a sorted list that each insert walks from the head, and a revocation
 * makes thousands of connections linger at once (16% of rtauthd's CPU revoking 10,000 of
 * 100,000 connections, make bench-scale, issue 19). The token's expiry no longer matters. */
static void linger(rta_conn *c)
{
    rta_gateway *gw = c->gw;
    c->close_after = NULL;
    c->lingering = 1;
    rta__gw_timer_cancel(gw, &c->notice_timer);
    rta__gw_timer_cancel(gw, &c->end_timer);
    if (rta__gw_linger(c, gw->now() + LINGER_MS)) /* no memory */
        gw->hooks.close_now(gw->hooks.data, c->transport);
}

int rta_gateway_writeable(rta_conn *c)
{
    const rta_gateway_hooks *h = &c->gw->hooks;
    if (c->lingering) return RTA_GATEWAY_WRITE_OK; /* the ending frame is out: nothing more */
    if (c->closing && !c->close_after) return RTA_GATEWAY_WRITE_CLOSE;
    if (c->ping_due && !c->closing) { /* liveness (gateway/timers.c) */
        c->ping_due = 0;
        if (h->ping(h->data, c->transport)) return RTA_GATEWAY_WRITE_FAILED;
        if (c->out_head) rta__gw_want_write(c);
        return RTA_GATEWAY_WRITE_OK;
    }
    rta_frame *f = c->out_head;
    if (!f) return RTA_GATEWAY_WRITE_OK;
    c->out_head = f->next;
    if (!c->out_head) c->out_tail = NULL;
    count_out(c, frame_size(f));
    size_t headroom = h->headroom;
    int failed = h->write(h->data, c->transport, (unsigned char *)f->bytes.data + headroom,
                          f->bytes.len - headroom, f->binary);
    int last = c->closing && f == c->close_after;
    frame_free(f);
    if (failed) return RTA_GATEWAY_WRITE_FAILED;
    if (last) {
        /* Let the client read it and close (ably-js does on DISCONNECTED, ERROR and
         * CLOSED): closing now with unread input in our socket would make the kernel send
         * a RST, and the client's kernel drop this very frame. Input is ignored meanwhile. */
        linger(c);
        return RTA_GATEWAY_WRITE_OK;
    }
    if (c->out_head) rta__gw_want_write(c);
    return RTA_GATEWAY_WRITE_OK;
}
