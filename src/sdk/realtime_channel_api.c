/* realtime_channel_api.c: the public channel functions (rtauth/realtime.h): argument checks,
 * copies of what is kept, requests for the I/O thread, and the blocking forms, which wait for
 * the _async completion (bounded) and never run on the client's own callbacks.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "realtime_internal.h"

static rta_channel *realtime_channel_impl(rta_realtime *rt, const char *name, rta_error *err);

rta_channel *rta_realtime_channel(rta_realtime *rt, const char *name, rta_error *err)
{
    rta_channel *ch = realtime_channel_impl(rt, name, err);
    rta__finish(err, ch ? 0 : 1);
    return ch;
}

static rta_channel *realtime_channel_impl(rta_realtime *rt, const char *name, rta_error *err)
{
    if (!rt || !name) {
        rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
        return NULL;
    }
    size_t n = strlen(name);
    if (!n || n > RTA__RT_MAX_CHANNEL_NAME || !rta_utf8_valid(name, n)) {
        rta_error_set(err, RTA_ERR_INVALID_CHANNEL, "Invalid channel name");
        return NULL;
    }
    pthread_mutex_lock(&rt->mu);
    rta_channel *ch = rt->channels;
    while (ch && strcmp(ch->name, name))
        ch = ch->next;
    if (!ch && (ch = calloc(1, sizeof(*ch)))) {
        if (!(ch->name = strdup(name))) {
            free(ch);
            ch = NULL;
        } else {
            ch->rt = rt;
            ch->next = rt->channels;
            rt->channels = ch;
        }
    }
    pthread_mutex_unlock(&rt->mu);
    if (!ch) rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    return ch;
}

const char *rta_channel_name(rta_channel *ch)
{
    return ch ? ch->name : NULL;
}

rta_channel_state rta_channel_get_state(rta_channel *ch, rta_error *reason)
{
    if (!ch) return RTA_CHANNEL_FAILED;
    pthread_mutex_lock(&ch->rt->mu);
    rta_channel_state s = ch->state;
    if (reason) *reason = ch->reason;
    pthread_mutex_unlock(&ch->rt->mu);
    return s;
}

int rta_channel_on(rta_channel *ch, rta_channel_listener cb, void *user_data)
{
    return ch ? rta__listener_add(ch->rt, &ch->listeners, (void (*)(void))cb, user_data) : 0;
}

void rta_channel_off(rta_channel *ch, int id)
{
    if (ch) rta__listener_remove(ch->rt, &ch->listeners, id);
}

int rta_channel_subscribe(rta_channel *ch, rta_message_listener cb, void *user_data)
{
    return ch ? rta__listener_add(ch->rt, &ch->subscribers, (void (*)(void))cb, user_data) : 0;
}

void rta_channel_unsubscribe(rta_channel *ch, int id)
{
    if (ch) rta__listener_remove(ch->rt, &ch->subscribers, id);
}

/* ---- attach, detach ---------------------------------------------------------------------------- */

static int request(rta_channel *ch, int attach, rta_completion_callback cb, void *ud,
                   rta_error *err)
{
    if (!ch || !cb)
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL %s", ch ? "callback" : "channel");
    rta_realtime *rt = ch->rt;
    pthread_mutex_lock(&rt->mu);
    int rc = rta__ops_add(attach ? &ch->attach_ops : &ch->detach_ops, cb, ud);
    if (!rc) {
        if (attach)
            ch->want_attach = 1, ch->want_detach = 0;
        else
            ch->want_detach = 1, ch->want_attach = 0;
    }
    pthread_mutex_unlock(&rt->mu);
    rta__rt_wake(rt);
    return rc ? rta_error_set(err, rc, "Out of memory") : 0;
}

static int channel_attach_async_impl(rta_channel *ch, rta_completion_callback cb, void *user_data,
                                     rta_error *err)
{
    return request(ch, 1, cb, user_data, err);
}

int rta_channel_attach_async(rta_channel *ch, rta_completion_callback cb, void *user_data,
                             rta_error *err)
{
    return rta__finish(err, channel_attach_async_impl(ch, cb, user_data, err));
}

static int channel_detach_async_impl(rta_channel *ch, rta_completion_callback cb, void *user_data,
                                     rta_error *err)
{
    return request(ch, 0, cb, user_data, err);
}

int rta_channel_detach_async(rta_channel *ch, rta_completion_callback cb, void *user_data,
                             rta_error *err)
{
    return rta__finish(err, channel_detach_async_impl(ch, cb, user_data, err));
}

/* A blocking call waiting for its completion callback. Shared by the waiting thread and the
 * callback, freed by whichever lets go last (the wait is bounded, the callback may be late). */
typedef struct waiter {
    rta_realtime *rt;
    int refs;
    int done;
    int rc;
    rta_error err;
} waiter;

static void waiter_release(waiter *w)
{
    if (--w->refs == 0) free(w);
}

static void waiter_done(int rc, const rta_error *err, void *ud)
{
    waiter *w = ud;
    rta_realtime *rt = w->rt;
    pthread_mutex_lock(&rt->mu);
    w->done = 1;
    w->rc = rc;
    if (rc && err) w->err = *err;
    pthread_cond_broadcast(&rt->cv);
    waiter_release(w);
    pthread_mutex_unlock(&rt->mu);
}

static int wait_for(rta_realtime *rt, waiter *w, int64_t ms, rta_error *err)
{
    struct timespec dl = rta__deadline_ms(ms);
    pthread_mutex_lock(&rt->mu);
    int rc = 0;
    while (!w->done)
        if (pthread_cond_timedwait(&rt->cv, &rt->mu, &dl)) {
            rc = rta_error_set(err, RTA_ERR_TIMEOUT, "Timed out");
            break;
        }
    if (w->done && (rc = w->rc) && err) *err = w->err;
    waiter_release(w);
    pthread_mutex_unlock(&rt->mu);
    return rc;
}

static waiter *waiter_new(rta_realtime *rt)
{
    waiter *w = calloc(1, sizeof(*w));
    if (w) {
        w->rt = rt;
        w->refs = 2;
    }
    return w;
}

/* The blocking forms: queue the _async form with a waiter and wait for it. */
static int blocking(rta_channel *ch, int attach, rta_error *err)
{
    if (!ch) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL channel");
    rta_realtime *rt = ch->rt;
    int rc = rta__check_not_in_callback(&rt->client, err);
    if (rc) return rc;
    waiter *w = waiter_new(rt);
    if (!w) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if ((rc = request(ch, attach, waiter_done, w, err))) {
        free(w);
        return rc;
    }
    /* A connection attempt plus the reply: the attach itself times out before this. */
    return wait_for(rt, w, 4 * rt->set.realtime_request_ms, err);
}

static int channel_attach_impl(rta_channel *ch, rta_error *err)
{
    return blocking(ch, 1, err);
}

int rta_channel_attach(rta_channel *ch, rta_error *err)
{
    return rta__finish(err, channel_attach_impl(ch, err));
}

static int channel_detach_impl(rta_channel *ch, rta_error *err)
{
    return blocking(ch, 0, err);
}

int rta_channel_detach(rta_channel *ch, rta_error *err)
{
    return rta__finish(err, channel_detach_impl(ch, err));
}

/* ---- publish ----------------------------------------------------------------------------------- */

static char *dup_opt(const char *s, int *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = 1;
    return d;
}

/* Why rta_channel_publish_async refused m before sending, in words. */
static const char *refusal(int rc, const rta_publish_message *m)
{
    if (rc == RTA_ERR_CHANNEL_FAILED) return "Channel failed";
    if (rc == RTA_ERR_MESSAGE_TOO_LARGE) return "Message larger than maxMessageSize";
    if (rc == RTA_ERR_INVALID_CLIENT_ID) return "Invalid clientId for a message";
    if (rc == RTA_ERR_INVALID_PARAMETER)
        return m->json ? "json data must be the JSON text of an object or array, not binary"
                       : "Message data is not valid UTF-8 (set binary for bytes)";
    return rta_strerror(rc);
}

static int publish_async(rta_channel *ch, const rta_publish_message *m, rta_completion_callback cb,
                         void *user_data)
{
    rta_realtime *rt = ch->rt;
    size_t len = m->data ? (m->data_len || m->binary ? m->data_len : strlen(m->data)) : 0;
    if (m->data && !m->binary && !rta_utf8_valid(m->data, len)) return RTA_ERR_INVALID_PARAMETER;
    if (m->json && (m->binary || !m->data || !rta__json_text_valid(m->data, len, 1)))
        return RTA_ERR_INVALID_PARAMETER;
    if (m->client_id && (!*m->client_id || !strcmp(m->client_id, "*")))
        return RTA_ERR_INVALID_CLIENT_ID;
    size_t total =
        len + (m->name ? strlen(m->name) : 0) + (m->client_id ? strlen(m->client_id) : 0);
    rta__pub *p = calloc(1, sizeof(*p));
    if (!p) return RTA_ERR_INTERNAL;
    int oom = 0;
    p->msg.name = dup_opt(m->name, &oom);
    p->msg.client_id = dup_opt(m->client_id, &oom);
    p->msg.encoding = dup_opt(m->json ? "json" : NULL, &oom);
    if (m->data) {
        p->msg.data.type = m->binary ? RTA_DATA_BINARY : RTA_DATA_STRING;
        p->msg.data.len = len;
        if ((p->msg.data.ptr = malloc(len + 1))) {
            memcpy(p->msg.data.ptr, m->data, len);
            p->msg.data.ptr[len] = '\0';
        } else {
            oom = 1;
        }
    }
    p->ch = ch;
    p->serial = -1;
    p->cb = cb;
    p->user_data = user_data;
    if (oom) {
        rta_message_clear(&p->msg);
        free(p);
        return RTA_ERR_INTERNAL;
    }
    pthread_mutex_lock(&rt->mu);
    int rc = 0;
    if ((int64_t)total > rt->max_message_size) /* RSL1i: refused before sending */
        rc = RTA_ERR_MESSAGE_TOO_LARGE;
    else if (ch->state == RTA_CHANNEL_FAILED) /* RTL6c4 */
        rc = RTA_ERR_CHANNEL_FAILED;
    if (!rc) {
        if (rt->pubs_tail)
            rt->pubs_tail->next = p;
        else
            rt->pubs_head = p;
        rt->pubs_tail = p;
        if (rt->state == RTA_CONN_INITIALIZED) rt->want_connect = 1;
    }
    pthread_mutex_unlock(&rt->mu);
    if (rc) {
        rta_message_clear(&p->msg);
        free(p);
        return rc;
    }
    rta__rt_wake(rt);
    return 0;
}

static int channel_publish_async_impl(rta_channel *ch, const rta_publish_message *m,
                                      rta_completion_callback cb, void *user_data, rta_error *err)
{
    if (!ch || !m)
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL %s", ch ? "message" : "channel");
    int rc = publish_async(ch, m, cb, user_data);
    return rc ? rta_error_set(err, rc, "%s", refusal(rc, m)) : 0;
}

int rta_channel_publish_async(rta_channel *ch, const rta_publish_message *m,
                              rta_completion_callback cb, void *user_data, rta_error *err)
{
    return rta__finish(err, channel_publish_async_impl(ch, m, cb, user_data, err));
}

static int channel_publish_message_impl(rta_channel *ch, const rta_publish_message *m,
                                        rta_error *err)
{
    if (!ch || !m) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    rta_realtime *rt = ch->rt;
    int rc = rta__check_not_in_callback(&rt->client, err);
    if (rc) return rc;
    waiter *w = waiter_new(rt);
    if (!w) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if ((rc = rta_channel_publish_async(ch, m, waiter_done, w, err))) {
        free(w);
        return rc;
    }
    /* ably-js has no publish timeout; ours covers reconnection within connectionStateTtl. */
    pthread_mutex_lock(&rt->mu);
    int64_t ms = rt->state_ttl_ms + 4 * rt->set.realtime_request_ms;
    pthread_mutex_unlock(&rt->mu);
    return wait_for(rt, w, ms, err);
}

int rta_channel_publish_message(rta_channel *ch, const rta_publish_message *m, rta_error *err)
{
    return rta__finish(err, channel_publish_message_impl(ch, m, err));
}

static int channel_publish_impl(rta_channel *ch, const char *name, const char *data, rta_error *err)
{
    rta_publish_message m = {name, data, 0, 0, NULL};
    return rta_channel_publish_message(ch, &m, err);
}

int rta_channel_publish(rta_channel *ch, const char *name, const char *data, rta_error *err)
{
    return rta__finish(err, channel_publish_impl(ch, name, data, err));
}
