/* realtime_conn.c: the connection state machine (RTN4, RTN14, RTN15), its timers (connect
 * timeout, disconnectedRetryTimeout, suspendedRetryTimeout, connectionStateTtl, idle detection
 * from maxIdleInterval, wire doc 1.6 and 2.5), and inbound connection-level messages. Auth on
 * the connection is in realtime_conn_auth.c.
 *
 * Runs on the I/O thread with rt->mu held, except rta__conn_hook (any user thread, no lock).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realtime_internal.h"

int rta__rt_is_token_error(int code)
{
    return code >= 40140 && code < 40150;
}

/* ---- events ----------------------------------------------------------------------------------- */

typedef struct change_event {
    rta__event ev;
    rta_connection_state_change change;
    rta_error reason;
} change_event;

static void run_change(rta_realtime *rt, rta__event *ev)
{
    change_event *c = (change_event *)ev;
    rta__listener *ls;
    size_t n = rta__listener_snapshot(rt, &rt->listeners, &ls);
    c->change.reason = c->reason.code ? &c->reason : NULL;
    for (size_t i = 0; i < n; i++)
        ((rta_connection_listener)ls[i].cb)(&c->change, ls[i].user_data);
    free(ls);
    free(c);
}

static void emit_change(rta_realtime *rt, rta_connection_state prev, rta_connection_state event,
                        const rta_error *reason, int64_t retry_in_ms)
{
    change_event *c = calloc(1, sizeof(*c));
    if (!c) return;
    c->ev.run = run_change;
    c->change.previous = prev;
    c->change.current = rt->state;
    c->change.event = event;
    c->change.retry_in_ms = retry_in_ms;
    if (reason) c->reason = *reason;
    rta__rt_emit(rt, &c->ev);
}

typedef struct log_event {
    rta__event ev;
    rta_client_log_level level;
    char line[300];
} log_event;

static void run_log(rta_realtime *rt, rta__event *ev)
{
    log_event *l = (log_event *)ev;
    rta__log(&rt->client, l->level, "%s", l->line);
    free(l);
}

/* Logging through an event: a log handler runs with no lock held (options.h). */
void rta__rt_log(rta_realtime *rt, rta_client_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rta__rt_log(rta_realtime *rt, rta_client_log_level level, const char *fmt, ...)
{
    if (level > rt->client.log_level) return;
    log_event *l = calloc(1, sizeof(*l));
    if (!l) return;
    l->ev.run = run_log;
    l->level = level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->line, sizeof(l->line), fmt, ap);
    va_end(ap);
    rta__rt_emit(rt, &l->ev);
}

void rta__conn_set_state(rta_realtime *rt, rta_connection_state s, const rta_error *reason,
                         int64_t retry_in_ms)
{
    rta_connection_state prev = rt->state;
    if (prev == s && s != RTA_CONN_DISCONNECTED) return;
    rt->state = s;
    if (reason)
        rt->reason = *reason;
    else if (s == RTA_CONN_CONNECTING || s == RTA_CONN_CONNECTED)
        ; /* keep the last errorReason while retrying, as ably-js does */
    else
        rta_error_clear(&rt->reason);
    if (s == RTA_CONN_FAILED || s == RTA_CONN_CLOSED || s == RTA_CONN_SUSPENDED) {
        /* authorize() calls waiting for a CONNECTED give up (wire doc 3.3) */
        rt->reauth_failed = rt->reauth_wanted;
        rt->reauth_err = reason && reason->code ? *reason : rt->reason;
        if (!rt->reauth_err.code)
            rta_error_set(&rt->reauth_err, RTA_ERR_CONNECTION_CLOSED, "Connection %s",
                          rta_connection_state_name(s));
    }
    rta__rt_notify(rt);
    rta__rt_log(rt, RTA_CLIENT_LOG_INFO, "realtime: %s -> %s%s%s", rta_connection_state_name(prev),
           rta_connection_state_name(s), reason ? ": " : "", reason ? reason->message : "");
    emit_change(rt, prev, s, reason, retry_in_ms);
}

/* ---- timers ------------------------------------------------------------------------------------ */

static void on_state_timer(lws_sorted_usec_list_t *sul);
static void on_idle_timer(lws_sorted_usec_list_t *sul);

void rta__rt_arm_state(rta_realtime *rt, int64_t ms)
{
    lws_sul_schedule(rt->lws, 0, &rt->sul_state, on_state_timer, (lws_usec_t)ms * 1000);
}

static void arm_idle(rta_realtime *rt)
{
    if (rt->state != RTA_CONN_CONNECTED || rt->max_idle_ms <= 0) {
        lws_sul_cancel(&rt->sul_idle);
        return;
    }
    int64_t now = rta__mono_ms();
    int64_t next = rt->last_activity + rt->max_idle_ms + rt->set.realtime_request_ms;
    if (!rt->ping_outstanding && rt->last_activity + rt->max_idle_ms / 2 < next)
        next = rt->last_activity + rt->max_idle_ms / 2;
    int64_t in = next - now < 20 ? 20 : next - now;
    lws_sul_schedule(rt->lws, 0, &rt->sul_idle, on_idle_timer, (lws_usec_t)in * 1000);
}

/* ---- dropping and retrying ---------------------------------------------------------------------- */

static void forget_connection(rta_realtime *rt)
{
    rt->conn_id[0] = rt->conn_key[0] = '\0';
    rt->msg_serial = 0;
}

/* The connection is over (CLOSED from the server, or our CLOSE answered or timed out): no
 * transport, no resume, no state timer. */
static void go_closed(rta_realtime *rt)
{
    rta__ws_drop(rt, 0);
    forget_connection(rt);
    lws_sul_cancel(&rt->sul_state);
    rta__conn_set_state(rt, RTA_CONN_CLOSED, NULL, 0);
}

void rta__rt_fail(rta_realtime *rt, const rta_error *why)
{
    lws_sul_cancel(&rt->sul_state);
    lws_sul_cancel(&rt->sul_idle);
    rta__ws_drop(rt, 0);
    forget_connection(rt);
    rta__conn_set_state(rt, RTA_CONN_FAILED, why, 0);
    rta__chan_connection_ended(rt, why, 1);
}

/* Disconnected (RTN14, RTN15), then a retry after delay_ms; suspended once the connection has
 * been down for connectionStateTtl (RTN14e), which also ends any chance of resume. */
void rta__rt_go_disconnected(rta_realtime *rt, const rta_error *why, int64_t delay_ms)
{
    int64_t now = rta__mono_ms();
    lws_sul_cancel(&rt->sul_idle);
    if (!rt->disconnected_since) rt->disconnected_since = now;
    rta__chan_connection_ended(rt, why, 0);
    if (now - rt->disconnected_since >= rt->state_ttl_ms) {
        rta_error e;
        rta_error_set(&e, RTA_ERR_CONNECTION_SUSPENDED,
                      "Connection to server unavailable for %lld ms",
                      (long long)(now - rt->disconnected_since));
        forget_connection(rt);
        rta__conn_set_state(rt, RTA_CONN_SUSPENDED, &e, rt->set.suspended_retry_ms);
        rta__chan_connection_ended(rt, &e, 1);
        rta__rt_arm_state(rt, rt->set.suspended_retry_ms);
        return;
    }
    int64_t until_ttl = rt->disconnected_since + rt->state_ttl_ms - now;
    if (delay_ms > until_ttl) delay_ms = until_ttl;
    rta__conn_set_state(rt, RTA_CONN_DISCONNECTED, why, delay_ms);
    if (delay_ms <= 0)
        rta__conn_start(rt);
    else
        rta__rt_arm_state(rt, delay_ms);
}

/* The current attempt or connection ended with why (a DISCONNECTED, a token ERROR, a closed
 * WebSocket, a timeout). */
void rta__rt_dropped(rta_realtime *rt, const rta_error *why)
{
    rta_connection_state s = rt->state;
    if (s == RTA_CONN_CLOSING) {
        go_closed(rt);
        return;
    }
    if (s != RTA_CONN_CONNECTING && s != RTA_CONN_CONNECTED) return;
    rta__ws_drop(rt, 0);
    lws_sul_cancel(&rt->sul_state);
    if (rta__rt_is_token_error(why->code)) {
        /* RTN15h, RTN14b: forget the token; renew once at once, a second time in a row only
         * after the retry timeout; with nothing to renew it with, failed 40171 (RSA4a2). */
        if (!rta__auth_token_rejected(&rt->auth, rt->attempt_gen)) {
            rta_error e;
            rta_error_set_status(&e, RTA_ERR_NO_RENEWAL, 403,
                                 "Token rejected (%d) and no means to renew it", why->code);
            rta_error_set_cause(&e, why);
            rta__rt_fail(rt, &e);
            return;
        }
        rt->token_error_streak++;
        rta__rt_go_disconnected(rt, why, rt->token_error_streak > 1 ? rt->set.disconnected_retry_ms : 0);
        return;
    }
    rt->token_error_streak = 0;
    /* Connected: reconnect at once (RTN15a), unless the last attempt was also immediate and
     * recent (a server that drops us at once must not make us spin). */
    int immediate = s == RTA_CONN_CONNECTED && rt->retry_count == 0;
    rt->retry_count++;
    rta__rt_go_disconnected(rt, why, immediate ? 0 : rt->set.disconnected_retry_ms);
}

void rta__conn_test_drop(rta_realtime *rt, int64_t retry_in_ms)
{
    if (rt->state != RTA_CONN_CONNECTED) return;
    rta_error e;
    rta_error_set(&e, RTA_ERR_DISCONNECTED, "Transport dropped (test hook)");
    rta__ws_drop(rt, 0);
    lws_sul_cancel(&rt->sul_state);
    rta__rt_go_disconnected(rt, &e, retry_in_ms);
}

void rta__conn_close(rta_realtime *rt)
{
    lws_sul_cancel(&rt->sul_idle);
    lws_sul_cancel(&rt->sul_state);
    rta_error closed;
    rta_error_set(&closed, RTA_ERR_CONNECTION_CLOSED, "Connection closed");
    if (rt->state == RTA_CONN_CONNECTED && rt->transport_open) { /* RTN12a */
        rta_protocol_message m = {.action = RTA_ACTION_CLOSE};
        rta__ws_send(rt, &m);
        rta__ws_drop(rt, 1);
        rta__conn_set_state(rt, RTA_CONN_CLOSING, NULL, 0);
        rta__rt_arm_state(rt, rt->set.realtime_request_ms);
    } else if (rt->state != RTA_CONN_CLOSED && rt->state != RTA_CONN_FAILED) {
        go_closed(rt);
    }
    rta__chan_connection_ended(rt, &closed, 1);
}

void rta__conn_opened(rta_realtime *rt)
{
    rta__rt_log(rt, RTA_CLIENT_LOG_DEBUG, "realtime: WebSocket open to %s:%d", rt->client.host,
           rt->client.port);
}

/* ---- timers ------------------------------------------------------------------------------------ */

static void on_state_timer(lws_sorted_usec_list_t *sul)
{
    rta_realtime *rt = lws_container_of(sul, rta_realtime, sul_state);
    int nested = rta__rt_enter(rt);
    rta_error e;
    switch (rt->state) {
    case RTA_CONN_CONNECTING:
        rta_error_set(&e, RTA_ERR_TIMEOUT, "Connection to server timed out");
        rta__rt_dropped(rt, &e);
        break;
    case RTA_CONN_DISCONNECTED:
    case RTA_CONN_SUSPENDED:
        rta__conn_start(rt);
        break;
    case RTA_CONN_CLOSING:
        go_closed(rt);
        break;
    default:
        break;
    }
    rta__rt_leave(rt, nested);
}

/* Idle detection (wire doc 2.5): nothing received for maxIdleInterval + realtimeRequestTimeout
 * drops the transport (80003/408) and reconnects with resume. Halfway there we ping (HEARTBEAT
 * with an id, echoed by the server): libwebsockets does not report the server's WebSocket
 * pings, so this is how a quiet but healthy connection shows activity. */
static void on_idle_timer(lws_sorted_usec_list_t *sul)
{
    rta_realtime *rt = lws_container_of(sul, rta_realtime, sul_idle);
    int nested = rta__rt_enter(rt);
    if (rt->state == RTA_CONN_CONNECTED && rt->max_idle_ms > 0) {
        int64_t quiet = rta__mono_ms() - rt->last_activity;
        if (quiet > rt->max_idle_ms + rt->set.realtime_request_ms) {
            rta_error e;
            rta_error_set_status(&e, RTA_ERR_DISCONNECTED, 408,
                                 "No activity seen from realtime in %lld ms", (long long)quiet);
            rta_protocol_message m = {.action = RTA_ACTION_DISCONNECT};
            rta__ws_send(rt, &m);
            rt->retry_count = 0;
            rta__rt_dropped(rt, &e);
        } else {
            if (quiet >= rt->max_idle_ms / 2 && !rt->ping_outstanding) {
                rta_protocol_message m = {.action = RTA_ACTION_HEARTBEAT};
                m.id = (char *)"idle";
                rta__ws_send(rt, &m);
                rt->ping_outstanding = 1;
            }
            arm_idle(rt);
        }
    }
    rta__rt_leave(rt, nested);
}

/* ---- inbound connection-level messages --------------------------------------------------------- */

static void on_connected(rta_realtime *rt, rta_protocol_message *m)
{
    const rta_error *why = m->has & RTA_PM_HAS_ERROR ? &m->error : NULL;
    if (rt->state == RTA_CONN_CONNECTED) { /* reply to AUTH, or unsolicited: update (RTN24) */
        rt->reauth_done = rt->reauth_sent;
        rta__rt_notify(rt);
        if (why) rt->reason = *why;
        emit_change(rt, RTA_CONN_CONNECTED, RTA_CONN_UPDATE, why, 0);
        return;
    }
    if (rt->state != RTA_CONN_CONNECTING) return;
    rta_error e;
    if (rta__auth_connection_client_id(&rt->auth, m->details.client_id, &e)) { /* RSA15c */
        rta_protocol_message d = {.action = RTA_ACTION_DISCONNECT};
        rta__ws_send(rt, &d);
        rta__rt_fail(rt, &e);
        return;
    }
    const char *id = m->connection_id ? m->connection_id : "";
    int resumed = rt->conn_id[0] && !strcmp(rt->conn_id, id);
    if (!resumed) rt->msg_serial = 0; /* RTN15c7: a new connection */
    snprintf(rt->conn_id, sizeof(rt->conn_id), "%s", id);
    snprintf(rt->conn_key, sizeof(rt->conn_key), "%s",
             m->details.connection_key ? m->details.connection_key : "");
    rt->max_idle_ms = m->details.max_idle_interval;
    if (m->details.connection_state_ttl > 0) rt->state_ttl_ms = m->details.connection_state_ttl;
    if (m->details.max_message_size > 0) rt->max_message_size = m->details.max_message_size;
    rt->disconnected_since = 0;
    rt->retry_count = 0;
    rt->token_error_streak = 0;
    rt->ping_outstanding = 0;
    lws_sul_cancel(&rt->sul_state);
    rt->reauth_done = rt->reauth_sent;
    rta__conn_set_state(rt, RTA_CONN_CONNECTED, why, 0);
    arm_idle(rt);
    rta__chan_connected(rt, resumed);
}

void rta__conn_on_message(rta_realtime *rt, rta_protocol_message *m)
{
    rt->ping_outstanding = 0;
    if (rt->state == RTA_CONN_CONNECTED) arm_idle(rt);
    rta_error e;
    switch (m->action) {
    case RTA_ACTION_CONNECTED:
        on_connected(rt, m);
        break;
    case RTA_ACTION_DISCONNECTED:
        if (!(m->has & RTA_PM_HAS_ERROR))
            rta_error_set(&m->error, RTA_ERR_DISCONNECTED, "Disconnected by the server");
        rt->retry_count = 0;
        rta__rt_dropped(rt, &m->error);
        break;
    case RTA_ACTION_ERROR:
        if (m->channel) {
            rta__chan_on_message(rt, m);
            break;
        }
        if (!(m->has & RTA_PM_HAS_ERROR))
            rta_error_set(&m->error, RTA_ERR_INTERNAL, "Connection error from the server");
        if (rta__rt_is_token_error(m->error.code)) { /* wire doc 2.8: as a DISCONNECTED */
            rta__rt_dropped(rt, &m->error);
        } else { /* fatal: 40101, 40102, 40012, ... */
            /* RSA15c, RTC8a2: an incompatible clientId is a permanently failed client, 403
             * whoever found it (the client's own check says 403, as ably-js; rtauthd 401). */
            if (m->error.code == RTA_ERR_INCOMPATIBLE_CREDENTIALS) m->error.status_code = 403;
            rta__rt_fail(rt, &m->error);
        }
        break;
    case RTA_ACTION_CLOSED:
        go_closed(rt);
        rta_error_set(&e, RTA_ERR_CONNECTION_CLOSED, "Connection closed by the server");
        rta__chan_connection_ended(rt, &e, 1);
        break;
    case RTA_ACTION_AUTH: /* RTN22: the server wants fresh credentials */
        rta__conn_server_auth(rt);
        break;
    case RTA_ACTION_ACK:
    case RTA_ACTION_NACK:
        rta__chan_on_ack(rt, m, m->action == RTA_ACTION_NACK);
        break;
    case RTA_ACTION_HEARTBEAT:
        break;
    default:
        if (m->channel) rta__chan_on_message(rt, m);
        break;
    }
}
