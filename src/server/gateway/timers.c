/* gateway/timers.c: the gateway's clocks, built to stay cheap at 10,000+ connections.
 *
 * Every deadline (token expiry, the RTN22 reauth hint, a revocation's appliesAt, resume's
 * discard and presence grace, and the liveness sweep) lives in one binary min-heap, with a
 * single transport timer (hooks timer_arm / timer_cancel, gateway.h) set for the earliest.
 * libwebsockets keeps its timers in one sorted linked list whose every insertion walks it
 * from the head: with one or two far-future timers per connection, each connect or AUTH
 * walked the whole list (issue 5 benchmarks: 84% of rtauthd's CPU, a connect rate of ~300/s
 * and AUTH p99 in seconds at 10,000 connections). Here it is O(log n).
 *
 * Liveness (wire doc 2.5) is a sweep for the same reason: lws's own ping/hang-up policy
 * re-inserts a per-connection timer into that list on every pong. Every SWEEP_MS (short, so
 * 10,000 connections' pings go out ~100 at a time, not in bursts that stall the loop) the
 * connections silent for PING_AFTER_MS get a WebSocket ping (ably-js in Node asks for
 * heartbeats=false and counts pings as activity; in a browser it asks for heartbeats=true and
 * gets a HEARTBEAT message too), and those silent for HANGUP_AFTER_MS lose
 * their transport (they stay resumable, as after any dropped transport). The connections
 * with a transport sit in one list ordered by their last activity (a frame or pong received,
 * or a ping sent): each activity moves its connection to the tail in O(1), so the sweep walks
 * from the head only over those due. Walking every connection instead cost 28% of each
 * worker's CPU while 100,000 idle connections were held (make bench-scale, issue 19).
 *
 * Never calls libwebsockets: time comes from the gateway's clock and the one timer from its
 * hooks (gateway/transport_lws.c in rtauthd, a fake clock in tests/gateway_fixture.h).
 */
#include <stdlib.h>

#include "server/gateway/internal.h"
#include "server/log.h"

/* Pings go out after PING_AFTER_MS of silence, or two thirds of maxIdleInterval when that is
 * shorter: ably-js gives up after maxIdleInterval + realtimeRequestTimeout (15 + 10 s by
 * default) without a frame, so a ping at 10 s leaves it 15 s for the ping to arrive. Each
 * ping and pong costs both ends CPU: holding 100,000 idle connections at one ping per 5 s
 * kept 1.6 of this machine's 2 cores busy (make bench-scale, issue 19). */
#define PING_AFTER_MS 10000
#define HANGUP_AFTER_MS 60000
#define SWEEP_MS 50 /* spreads pings out: a sweep pings only those due since the last one */

/* ---- the heap ------------------------------------------------------------------------------- */

static void place(rta_timers *ts, rta_timer *t, size_t i)
{
    ts->heap[i] = t;
    t->pos = i + 1;
}

static void sift_up(rta_timers *ts, size_t i)
{
    rta_timer *t = ts->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (ts->heap[parent]->at <= t->at) break;
        place(ts, ts->heap[parent], i);
        i = parent;
    }
    place(ts, t, i);
}

static void sift_down(rta_timers *ts, size_t i)
{
    rta_timer *t = ts->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= ts->len) break;
        if (child + 1 < ts->len && ts->heap[child + 1]->at < ts->heap[child]->at) child++;
        if (ts->heap[child]->at >= t->at) break;
        place(ts, ts->heap[child], i);
        i = child;
    }
    place(ts, t, i);
}

/* A heap that held the deadlines of 16,000 connections (two each) gives its array back once
 * they are gone: 256 KiB per worker after make bench-scale's close (issue 19). Halves at
 * load 1/8, as core/hmap.c does, so a heap hovering around one size never resizes back and
 * forth; a failed realloc keeps the larger array. */
#define HEAP_MIN_CAP 64
static void maybe_shrink(rta_timers *ts)
{
    if (ts->cap <= HEAP_MIN_CAP || ts->len * 8 >= ts->cap) return;
    rta_timer **h = realloc(ts->heap, ts->cap / 2 * sizeof(*h));
    if (!h) return;
    ts->heap = h;
    ts->cap /= 2;
}

void rta__gw_timer_cancel(rta_gateway *gw, rta_timer *t)
{
    rta_timers *ts = &gw->timers;
    if (!t->pos) return;
    size_t i = t->pos - 1;
    t->pos = 0;
    rta_timer *last = ts->heap[--ts->len];
    maybe_shrink(ts);
    if (i == ts->len) return;
    place(ts, last, i);
    sift_down(ts, i);
    sift_up(ts, last->pos - 1);
    /* The transport timer may now fire early: it finds nothing due and re-arms. */
}

/* The transport timer at the earliest deadline (unless it is already set no later). */
static void rearm(rta_gateway *gw)
{
    rta_timers *ts = &gw->timers;
    if (!ts->len || gw->stopping) return;
    int64_t at = ts->heap[0]->at;
    if (ts->armed_at && ts->armed_at <= at) return;
    int64_t delay = at - gw->now();
    if (delay < 0) delay = 0;
    if (gw->hooks.timer_arm(gw->hooks.data, delay)) return; /* no event loop (yet) */
    ts->armed_at = at;
}

void rta__gw_schedule(rta_gateway *gw, rta_timer *t, rta_timer_cb cb, int64_t at)
{
    rta_timers *ts = &gw->timers;
    rta__gw_timer_cancel(gw, t);
    if (ts->len == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 64;
        rta_timer **h = realloc(ts->heap, cap * sizeof(*h));
        if (!h) { /* out of memory: say so, a lost expiry or revocation deadline matters */
            rta_log_error("gateway: out of memory for a connection deadline");
            return;
        }
        ts->heap = h;
        ts->cap = cap;
    }
    t->at = at;
    t->cb = cb;
    ts->heap[ts->len++] = t;
    sift_up(ts, ts->len - 1);
    rearm(gw);
}

void rta_gateway_timers_due(rta_gateway *gw)
{
    rta_timers *ts = &gw->timers;
    ts->armed_at = 0;
    int64_t now = gw->now();
    /* A callback may schedule again (even at once): bounded, the rest waits a loop turn. */
    for (size_t budget = ts->len + 64; ts->len && ts->heap[0]->at <= now && budget; budget--) {
        rta_timer *t = ts->heap[0];
        rta__gw_timer_cancel(gw, t);
        t->cb(t);
    }
    rearm(gw);
}

/* ---- liveness -------------------------------------------------------------------------------- */

static void idle_unlink(rta_timers *ts, rta_conn *c)
{
    if (!c->idle_linked) return;
    if (c->idle_prev) c->idle_prev->idle_next = c->idle_next;
    else ts->idle_head = c->idle_next;
    if (c->idle_next) c->idle_next->idle_prev = c->idle_prev;
    else ts->idle_tail = c->idle_prev;
    c->idle_prev = c->idle_next = NULL;
    c->idle_linked = 0;
}

/* The most recently active goes last: the list stays ordered by activity time, since the
 * clock never goes back. */
static void idle_touch(rta_timers *ts, rta_conn *c)
{
    idle_unlink(ts, c);
    c->idle_prev = ts->idle_tail;
    c->idle_next = NULL;
    if (ts->idle_tail) ts->idle_tail->idle_next = c;
    else ts->idle_head = c;
    ts->idle_tail = c;
    c->idle_linked = 1;
}

static void sweep(rta_timer *t)
{
    rta_timers *ts = rta__gw_container_of(t, rta_timers, liveness);
    rta_gateway *gw = rta__gw_container_of(ts, rta_gateway, timers);
    int64_t now = gw->now();
    int64_t two_thirds = gw->limits.max_idle_interval * 2 / 3;
    int64_t ping_after = two_thirds < PING_AFTER_MS ? two_thirds : PING_AFTER_MS;
    /* Each connection visited is either unlinked or moved to the tail behind the boundary,
     * so the walk ends at the first connection active within ping_after, or at the end. */
    rta_conn *stop = ts->idle_tail;
    for (rta_conn *c = ts->idle_head, *next; c; c = next) {
        next = c->idle_next;
        int last = c == stop;
        if (!c->transport) { /* detached: its discard timer runs */
            idle_unlink(ts, c);
        } else {
            int64_t active = c->last_seen > c->last_ping ? c->last_seen : c->last_ping;
            if (now - active < ping_after) break; /* and so are all behind it */
            if (now - c->last_seen >= HANGUP_AFTER_MS) {
                idle_unlink(ts, c);
                gw->hooks.close_now(gw->hooks.data, c->transport);
            } else {
                c->last_ping = now;
                c->ping_due = 1; /* a browser cannot see it, but answers it: liveness */
                idle_touch(ts, c);
                if (c->heartbeats) { /* what the client's idle timer sees (RTN23b) */
                    rta_protocol_message hb = {.action = RTA_ACTION_HEARTBEAT};
                    rta__gw_conn_send(c, &hb);
                }
                rta__gw_want_write(c);
            }
        }
        if (last) break;
    }
    ts->liveness_on = 0;
    if (!gw->stopping) {
        rta__gw_schedule(gw, &ts->liveness, sweep, gw->now() + SWEEP_MS);
        ts->liveness_on = ts->liveness.pos != 0; /* out of memory: the next frame retries */
    }
}

void rta__gw_liveness_seen(rta_conn *c)
{
    rta_gateway *gw = c->gw;
    c->last_seen = gw->now();
    rta_timers *ts = &gw->timers;
    if (!c->transport) {
        idle_unlink(ts, c);
        return;
    }
    idle_touch(ts, c);
    if (!ts->liveness_on && !gw->stopping) {
        rta__gw_schedule(gw, &ts->liveness, sweep, c->last_seen + SWEEP_MS);
        ts->liveness_on = ts->liveness.pos != 0;
    }
}

void rta__gw_liveness_forget(rta_conn *c)
{
    idle_unlink(&c->gw->timers, c);
}

/* ---- lingering: one deadline for all ---------------------------------------------------------
 * After its ending frame a connection waits a fixed time for its client to close
 * (gateway/frames.c). The same wait for all keeps them in deadline order in the order they
 * began: a list, with a single heap entry for its first. On the heap itself each linger's
 * deadline, a second away and ahead of nearly every token expiry, rose from the bottom to the
 * top: 15 levels and as many cache misses at 16,700 connections a worker, for each of the
 * thousands of connections one revocation ends at once (make bench-scale, issue 19). */

static void lingers_due(rta_timer *t)
{
    rta_gateway *gw = rta__gw_container_of(t, rta_gateway, timers.linger);
    rta_timers *ts = &gw->timers;
    int64_t now = gw->now();
    /* closing one may end others (forgotten then): the head is read again each time */
    while (ts->linger_head && ts->linger_head->linger_until <= now) {
        rta_conn *c = ts->linger_head;
        rta__gw_linger_forget(c);
        rta__gw_linger_over(c);
    }
    if (ts->linger_head && !ts->linger.pos)
        rta__gw_schedule(gw, &ts->linger, lingers_due, ts->linger_head->linger_until);
}

int rta__gw_linger(rta_conn *c, int64_t until)
{
    rta_gateway *gw = c->gw;
    rta_timers *ts = &gw->timers;
    rta__gw_linger_forget(c);
    /* The wall clock stepped back: wait behind the last one (longer by the step at most),
     * so the list stays in deadline order. */
    if (ts->linger_tail && until < ts->linger_tail->linger_until) until = ts->linger_tail->linger_until;
    if (!ts->linger.pos) {
        rta__gw_schedule(gw, &ts->linger, lingers_due, ts->linger_head ? ts->linger_head->linger_until : until);
        if (!ts->linger.pos) return -1; /* no memory for the heap entry */
    }
    c->linger_until = until;
    c->linger_next = NULL;
    c->linger_prev = ts->linger_tail;
    if (ts->linger_tail) ts->linger_tail->linger_next = c;
    else ts->linger_head = c;
    ts->linger_tail = c;
    c->linger_linked = 1;
    return 0;
}

void rta__gw_linger_forget(rta_conn *c)
{
    if (!c->linger_linked) return;
    rta_timers *ts = &c->gw->timers;
    if (c->linger_prev) c->linger_prev->linger_next = c->linger_next;
    else ts->linger_head = c->linger_next;
    if (c->linger_next) c->linger_next->linger_prev = c->linger_prev;
    else ts->linger_tail = c->linger_prev;
    c->linger_prev = c->linger_next = NULL;
    c->linger_linked = 0;
    if (!ts->linger_head) rta__gw_timer_cancel(c->gw, &ts->linger);
}

void rta__gw_timers_stop(rta_gateway *gw)
{
    rta_timers *ts = &gw->timers;
    rta__gw_timer_cancel(gw, &ts->liveness);
    rta__gw_timer_cancel(gw, &ts->linger);
    if (gw->hooks.timer_cancel) gw->hooks.timer_cancel(gw->hooks.data);
    ts->armed_at = 0;
    ts->liveness_on = 0;
}

void rta__gw_timers_free(rta_gateway *gw)
{
    free(gw->timers.heap);
    gw->timers.heap = NULL;
    gw->timers.len = gw->timers.cap = 0;
}
