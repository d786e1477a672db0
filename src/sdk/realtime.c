/* realtime.c: the realtime client's lifetime, its I/O thread, the public connection API
 * (rtauth/realtime.h) and the plumbing the other realtime_*.c files share: waking the I/O
 * thread, queuing user callbacks as events and running them with no lock held, listener lists.
 * The state machine itself is in realtime_conn.c; this file never decides a state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "realtime_internal.h"
#include "realtime_test_hooks.h"

int64_t rta__mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

const char *rta_connection_state_name(rta_connection_state s)
{
    static const char *const names[] = {"initialized",  "connecting", "connected",
                                        "disconnected", "suspended",  "closing",
                                        "closed",       "failed",     "update"};
    return (unsigned)s <= RTA_CONN_UPDATE ? names[s] : "unknown";
}

/* ---- events and listeners ------------------------------------------------------------------ */

void rta__rt_wake(rta_realtime *rt)
{
    if (rt->lws) lws_cancel_service(rt->lws);
}

void rta__rt_emit(rta_realtime *rt, rta__event *ev)
{
    ev->next = NULL;
    if (rt->ev_tail)
        rt->ev_tail->next = ev;
    else
        rt->ev_head = ev;
    rt->ev_tail = ev;
}

/* Wakes the threads waiting on cv. From the I/O thread the wake-up waits until mu is released:
 * a waiter woken while we still hold mu would only block again on it, one more context switch
 * on the way back to the caller of a blocking call (authorize() waits for CONNECTED). */
void rta__rt_notify(rta_realtime *rt)
{
    if (rt->io_holding)
        rt->notify_pending = 1;
    else
        pthread_cond_broadcast(&rt->cv);
}

/* The I/O thread lets go of mu, then makes the deferred wake-up (rt outlives the I/O thread:
 * destroy joins it before freeing). */
static void io_unlock(rta_realtime *rt)
{
    int notify = rt->notify_pending;
    rt->notify_pending = 0;
    rt->io_holding = 0;
    pthread_mutex_unlock(&rt->mu);
    if (notify) pthread_cond_broadcast(&rt->cv);
}

int rta__rt_enter(rta_realtime *rt)
{
    if (rt->io_holding) return 1;
    pthread_mutex_lock(&rt->mu);
    rt->io_holding = 1;
    return 0;
}

void rta__rt_leave(rta_realtime *rt, int nested)
{
    if (nested) return;
    rta__rt_dispatch(rt);
    io_unlock(rt);
}

void rta__rt_dispatch(rta_realtime *rt)
{
    while (rt->ev_head) {
        rta__event *list = rt->ev_head;
        rt->ev_head = rt->ev_tail = NULL;
        io_unlock(rt);
        const void *prev = rta__callback_enter(&rt->client);
        while (list) {
            rta__event *ev = list;
            list = list->next;
            ev->run(rt, ev);
        }
        rta__callback_leave(prev);
        pthread_mutex_lock(&rt->mu);
        rt->io_holding = 1;
    }
}

int rta__listener_add(rta_realtime *rt, rta__listener **list, void (*cb)(void), void *ud)
{
    rta__listener *l = calloc(1, sizeof(*l));
    if (!l || !cb) {
        free(l);
        return 0;
    }
    l->cb = cb;
    l->user_data = ud;
    pthread_mutex_lock(&rt->mu);
    l->id = ++rt->next_listener_id;
    rta__listener **p = list;
    while (*p)
        p = &(*p)->next;
    *p = l;
    pthread_mutex_unlock(&rt->mu);
    return l->id;
}

void rta__listener_remove(rta_realtime *rt, rta__listener **list, int id)
{
    pthread_mutex_lock(&rt->mu);
    for (rta__listener **p = list; *p; p = &(*p)->next)
        if ((*p)->id == id) {
            rta__listener *l = *p;
            *p = l->next;
            free(l);
            break;
        }
    pthread_mutex_unlock(&rt->mu);
}

size_t rta__listener_snapshot(rta_realtime *rt, rta__listener *const *list, rta__listener **out)
{
    pthread_mutex_lock(&rt->mu);
    size_t n = 0;
    for (rta__listener *l = *list; l; l = l->next)
        n++;
    *out = n ? malloc(n * sizeof(**out)) : NULL;
    if (*out) {
        n = 0;
        for (rta__listener *l = *list; l; l = l->next)
            (*out)[n++] = *l;
    } else {
        n = 0;
    }
    pthread_mutex_unlock(&rt->mu);
    return n;
}

typedef struct op_event {
    rta__event ev;
    rta_completion_callback cb;
    void *user_data;
    int rc;
    rta_error err;
} op_event;

static void run_op(rta_realtime *rt, rta__event *ev)
{
    (void)rt;
    op_event *o = (op_event *)ev;
    o->cb(o->rc, &o->err, o->user_data);
    free(o);
}

void rta__ops_complete(rta_realtime *rt, rta__op **ops, int rc, const rta_error *err)
{
    while (*ops) {
        rta__op *op = *ops;
        *ops = op->next;
        op_event *o = calloc(1, sizeof(*o));
        if (o) {
            o->ev.run = run_op;
            o->cb = op->cb;
            o->user_data = op->user_data;
            o->rc = rc;
            if (rc && err) o->err = *err;
            rta__rt_emit(rt, &o->ev);
        }
        free(op);
    }
}

int rta__ops_add(rta__op **ops, rta_completion_callback cb, void *ud)
{
    rta__op *op = calloc(1, sizeof(*op));
    if (!op) return RTA_ERR_INTERNAL;
    op->cb = cb;
    op->user_data = ud;
    while (*ops)
        ops = &(*ops)->next;
    *ops = op;
    return 0;
}

/* ---- requests -------------------------------------------------------------------------------- */

void rta__rt_process(rta_realtime *rt)
{
    if (rt->stopping) { /* destroy: close, fail what is pending, never reconnect */
        rt->want_close = rt->state != RTA_CONN_CLOSED && rt->state != RTA_CONN_CLOSING;
        rt->want_connect = 0;
        rt->reauth_sent = rt->reauth_wanted;
    }
    if (rt->want_close) {
        rt->want_close = 0;
        rt->want_connect = 0;
        rta__conn_close(rt);
    }
    if (rt->want_connect) {
        rt->want_connect = 0;
        rta_connection_state s = rt->state;
        if (s == RTA_CONN_INITIALIZED || s == RTA_CONN_DISCONNECTED || s == RTA_CONN_SUSPENDED ||
            s == RTA_CONN_CLOSED || s == RTA_CONN_FAILED)
            rta__conn_start(rt);
    }
    if (rt->want_drop) {
        int64_t after = rt->want_drop - 1;
        rt->want_drop = 0;
        rta__conn_test_drop(rt, after);
    }
    if (rt->want_server_auth) {
        rt->want_server_auth = 0;
        rta__conn_server_auth(rt);
    }
    if (rt->fail_done != rt->fail_wanted) rta__conn_authorize_failed(rt);
    if (rt->renew_ready) rta__conn_renewed(rt);
    if (rt->reauth_sent != rt->reauth_wanted) rta__conn_reauth(rt);
    rta__chan_process(rt);
}

/* ---- the I/O thread -------------------------------------------------------------------------- */

static void *io_main(void *arg)
{
    rta_realtime *rt = arg;
    for (;;) {
        pthread_mutex_lock(&rt->mu);
        int done = rt->stopping && !rt->wsi;
        pthread_mutex_unlock(&rt->mu);
        if (done || lws_service(rt->lws, 0) < 0) break;
    }
    return NULL;
}

/* ---- lifetime ---------------------------------------------------------------------------------- */

static int64_t or_default(int64_t v, int64_t def)
{
    return v > 0 ? v : def;
}

static int realtime_create_impl(const rta_client_options *o, rta_realtime **out, rta_error *err)
{
    if (out) *out = NULL;
    if (!o || !out) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    rta_realtime *rt = calloc(1, sizeof(*rt));
    if (!rt) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    int rc = rta__client_init(&rt->client, o, err);
    if (rc) {
        free(rt);
        return rc;
    }
    if ((rc = rta__auth_init(&rt->auth, &rt->client, o, err))) {
        rta__worker_dispose(&rt->client.worker);
        rta__client_release(&rt->client);
        free(rt);
        return rc;
    }
    rt->set = o->realtime;
    rt->set.realtime_request_ms = or_default(o->realtime.realtime_request_ms, 10000);
    rt->set.disconnected_retry_ms = or_default(o->realtime.disconnected_retry_ms, 15000);
    rt->set.suspended_retry_ms = or_default(o->realtime.suspended_retry_ms, 30000);
    rt->set.connection_state_ttl_ms = or_default(o->realtime.connection_state_ttl_ms, 120000);
    rt->state_ttl_ms = rt->set.connection_state_ttl_ms;
    rt->max_message_size = 65536;
    pthread_mutex_init(&rt->mu, NULL);
    rta__cond_init_monotonic(&rt->cv); /* waited on with rta__deadline_ms */
    rta__worker_init(&rt->renewer);
    rt->state = RTA_CONN_INITIALIZED;
    rt->want_connect = o->realtime.auto_connect != 0;
    if (o->client_id && !(rt->client_id_param = strdup(o->client_id))) {
        rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    } else if (!(rc = rta__ws_init(rt, o->tls_ca_file, err))) {
        rt->auth.rt_hook = rta__conn_hook;
        rt->auth.rt_fail_hook = rta__conn_fail_hook;
        rt->auth.rt_hook_ctx = rt;
        if (pthread_create(&rt->io_thread, NULL, io_main, rt) == 0) {
            rt->io_started = 1;
            *out = rt;
            return 0;
        }
        rc = rta_error_set(err, RTA_ERR_INTERNAL, "Cannot start the I/O thread");
    }
    rta_realtime_destroy(rt);
    return rc;
}

int rta_realtime_create(const rta_client_options *o, rta_realtime **out, rta_error *err)
{
    return rta__finish(err, realtime_create_impl(o, out, err));
}

void rta_realtime_destroy(rta_realtime *rt)
{
    if (!rt) return;
    /* From our own callback the join below would wait for ourselves: refuse (header). */
    if (rta__check_not_in_callback(&rt->client, NULL)) return;
    if (rt->io_started) {
        pthread_mutex_lock(&rt->mu);
        rt->stopping = 1;
        pthread_mutex_unlock(&rt->mu);
        rta__rt_wake(rt);
        pthread_join(rt->io_thread, NULL);
    }
    pthread_mutex_lock(&rt->mu);
    rt->stopping = 1;
    rt->reauth_failed = rt->reauth_wanted; /* authorize() calls waiting give up */
    rt->fail_done = rt->fail_wanted;
    rta_error_set(&rt->reauth_err, 80017, "Connection closed");
    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
    rta__worker_stop(&rt->renewer);
    rta__worker_stop(&rt->client.worker);
    rta__ws_free(rt);
    pthread_mutex_lock(&rt->mu);
    rta__chan_free_all(rt);
    for (rta__event *e = rt->ev_head, *n; e; e = n) { /* none left after the I/O thread */
        n = e->next;
        free(e);
    }
    for (rta__listener *l = rt->listeners, *n; l; l = n) {
        n = l->next;
        free(l);
    }
    pthread_mutex_unlock(&rt->mu);
    if (rt->renew_token) memset(rt->renew_token, 0, strlen(rt->renew_token));
    free(rt->renew_token);
    free(rt->client_id_param);
    rta_buf_free(&rt->rx);
    pthread_cond_destroy(&rt->cv);
    pthread_mutex_destroy(&rt->mu);
    rta__auth_release(&rt->auth);
    rta__client_release(&rt->client);
    free(rt);
}

rta_auth *rta_realtime_auth(rta_realtime *rt)
{
    return rt ? &rt->auth : NULL;
}

/* ---- public connection API ------------------------------------------------------------------- */

/* Any thread: raises one of the requests rta__rt_process acts on, and wakes the I/O thread. */
static void ask_io(rta_realtime *rt, int *want)
{
    pthread_mutex_lock(&rt->mu);
    *want = 1;
    pthread_mutex_unlock(&rt->mu);
    rta__rt_wake(rt);
}

static int realtime_connect_impl(rta_realtime *rt, rta_error *err)
{
    if (!rt) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL client");
    ask_io(rt, &rt->want_connect);
    return 0;
}

int rta_realtime_connect(rta_realtime *rt, rta_error *err)
{
    return rta__finish(err, realtime_connect_impl(rt, err));
}

int rta__realtime_drop_transport(rta_realtime *rt, int64_t reconnect_after_ms)
{
    if (!rt) return RTA_ERR_BAD_REQUEST;
    pthread_mutex_lock(&rt->mu);
    rt->want_drop = (reconnect_after_ms > 0 ? reconnect_after_ms : 0) + 1;
    pthread_mutex_unlock(&rt->mu);
    rta__rt_wake(rt);
    return 0;
}

int rta__realtime_server_auth(rta_realtime *rt)
{
    if (!rt) return RTA_ERR_BAD_REQUEST;
    ask_io(rt, &rt->want_server_auth);
    return 0;
}

static int realtime_close_impl(rta_realtime *rt, rta_error *err)
{
    if (!rt) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL client");
    ask_io(rt, &rt->want_close);
    return 0;
}

int rta_realtime_close(rta_realtime *rt, rta_error *err)
{
    return rta__finish(err, realtime_close_impl(rt, err));
}

rta_connection_state rta_realtime_state(rta_realtime *rt, rta_error *reason)
{
    if (!rt) return RTA_CONN_FAILED;
    pthread_mutex_lock(&rt->mu);
    rta_connection_state s = rt->state;
    if (reason) *reason = rt->reason;
    pthread_mutex_unlock(&rt->mu);
    return s;
}

static int copy_out(rta_realtime *rt, const char *src, char *buf, size_t size)
{
    if (!rt || !buf) return RTA_ERR_BAD_REQUEST;
    pthread_mutex_lock(&rt->mu);
    int ok = rt->state == RTA_CONN_CONNECTED ? snprintf(buf, size, "%s", src) < (int)size
                                             : (size ? (buf[0] = '\0', 1) : 0);
    pthread_mutex_unlock(&rt->mu);
    return ok ? 0 : RTA_ERR_INVALID_PARAMETER;
}

int rta_realtime_connection_id(rta_realtime *rt, char *buf, size_t size)
{
    return copy_out(rt, rt ? rt->conn_id : "", buf, size);
}

int rta_realtime_connection_key(rta_realtime *rt, char *buf, size_t size)
{
    return copy_out(rt, rt ? rt->conn_key : "", buf, size);
}

int rta_realtime_on(rta_realtime *rt, rta_connection_listener cb, void *user_data)
{
    return rt ? rta__listener_add(rt, &rt->listeners, (void (*)(void))cb, user_data) : 0;
}

void rta_realtime_off(rta_realtime *rt, int id)
{
    if (rt) rta__listener_remove(rt, &rt->listeners, id);
}

int rta_realtime_wait_state(rta_realtime *rt, rta_connection_state want, int64_t timeout_ms,
                            rta_error *err)
{
    if (!rt) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL client");
    int rc = rta__check_not_in_callback(&rt->client, err);
    if (rc) return rc;
    struct timespec dl = rta__deadline_ms(timeout_ms);
    pthread_mutex_lock(&rt->mu);
    for (;;) {
        rta_connection_state s = rt->state;
        if (s == want) {
            if (err) *err = rt->reason; /* the reason of the state reached, if any */
            break;
        }
        if (s == RTA_CONN_FAILED || s == RTA_CONN_CLOSED) {
            if (err) *err = rt->reason;
            rc = rt->reason.code ? rt->reason.code : 80017;
            if (!rt->reason.code) rta_error_set(err, rc, "Connection closed");
            break;
        }
        if (pthread_cond_timedwait(&rt->cv, &rt->mu, &dl)) {
            rc = rta_error_set(err, RTA_ERR_TIMEOUT, "Timed out waiting for state %s (now %s)",
                               rta_connection_state_name(want), rta_connection_state_name(s));
            break;
        }
    }
    pthread_mutex_unlock(&rt->mu);
    return rc;
}
