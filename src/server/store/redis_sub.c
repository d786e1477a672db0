/* store/redis_sub.c: the doorbell subscriber on the libuv loop; see store/redis_sub.h.
 *
 * hiredis 0.14's async rules followed here: a context is freed by hiredis itself after a
 * failed connect (onConnect with an error, no onDisconnect) and after a disconnect (the
 * onDisconnect callback, then the free); pending callbacks then run with a NULL reply. We
 * free a context ourselves (redisAsyncFree) only from our own timer, never from inside one
 * of its callbacks.
 *
 * The event-loop glue is ours, not hiredis 0.14's adapters/libuv.h: libuv reports a socket
 * error (a refused connect, a reset) as a negative status rather than as an event, and that
 * adapter then returns without telling hiredis, so a refused connect hung until our deadline.
 * Here the error is handed to hiredis, which finds it on the socket and fails the connection
 * at once. Cleanup closes the poll handle; the loop finishes that close. */
#include "server/store/redis_sub.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"

#define CONNECT_DEADLINE_MS 2000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

typedef enum { SUB_WAITING, SUB_CONNECTING, SUB_UP } sub_state;

struct rta_redis_sub {
    uv_loop_t *loop;
    uv_timer_t timer; /* the retry, or the connect deadline */
    rta_redis_target target;
    char **channels;
    size_t n;
    rta_redis_sub_hooks hooks;
    redisAsyncContext *ac;
    sub_state state;
    size_t confirmed; /* SUBSCRIBE confirmations on this connection */
    int backoff_ms;
    int closing;
    int warned; /* a failure was logged; the next success is logged too */
    rta_redis_addr addr;
};

static void connect_now(rta_redis_sub *s);

/* ---- hiredis on libuv ------------------------------------------------------------------- */

typedef struct uv_glue {
    redisAsyncContext *ac; /* NULL once hiredis cleaned up */
    uv_poll_t poll;
    int events;
} uv_glue;

static void glue_poll(uv_poll_t *h, int status, int events)
{
    uv_glue *g = h->data;
    if (!g->ac) return;
    if (status < 0) { /* let hiredis read the socket's error: connecting, a write; else a read */
        if (!(g->ac->c.flags & REDIS_CONNECTED))
            redisAsyncHandleWrite(g->ac);
        else
            redisAsyncHandleRead(g->ac);
        return;
    }
    if (events & UV_READABLE) redisAsyncHandleRead(g->ac);
    if (g->ac && (events & UV_WRITABLE)) redisAsyncHandleWrite(g->ac);
}

static void glue_update(uv_glue *g, int add, int flag)
{
    g->events = add ? g->events | flag : g->events & ~flag;
    if (g->events)
        uv_poll_start(&g->poll, g->events, glue_poll);
    else
        uv_poll_stop(&g->poll);
}

static void glue_add_read(void *p) { glue_update(p, 1, UV_READABLE); }
static void glue_del_read(void *p) { glue_update(p, 0, UV_READABLE); }
static void glue_add_write(void *p) { glue_update(p, 1, UV_WRITABLE); }
static void glue_del_write(void *p) { glue_update(p, 0, UV_WRITABLE); }

static void glue_closed(uv_handle_t *h)
{
    free(h->data);
}

static void glue_cleanup(void *p)
{
    uv_glue *g = p;
    g->ac = NULL;
    uv_close((uv_handle_t *)&g->poll, glue_closed);
}

static int glue_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    uv_glue *g = calloc(1, sizeof(*g));
    if (!g) return -1;
    if (uv_poll_init(loop, &g->poll, ac->c.fd) != 0) {
        free(g);
        return -1;
    }
    g->ac = ac;
    g->poll.data = g;
    ac->ev.data = g;
    ac->ev.addRead = glue_add_read;
    ac->ev.delRead = glue_del_read;
    ac->ev.addWrite = glue_add_write;
    ac->ev.delWrite = glue_del_write;
    ac->ev.cleanup = glue_cleanup;
    return 0;
}

/* ---- the subscription --------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
    rta_redis_sub *s = t->data;
    if (s->closing) return;
    if (s->state == SUB_CONNECTING) { /* not subscribed within the deadline */
        rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "redis: the subscriber could not subscribe within %d ms; retrying",
                     CONNECT_DEADLINE_MS);
        s->warned = 1;
        rta_redis_sub_restart(s);
        return;
    }
    connect_now(s);
}

static void schedule_retry(rta_redis_sub *s)
{
    if (s->closing) return;
    s->state = SUB_WAITING;
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (s->backoff_ms > BACKOFF_MAX_MS) s->backoff_ms = BACKOFF_MAX_MS;
    /* jitter, so that nodes that lost Redis together do not come back in step */
    uint64_t jitter = s->backoff_ms >= 4 ? uv_hrtime() % (uint64_t)(s->backoff_ms / 4) : 0;
    uv_timer_start(&s->timer, on_timer, (uint64_t)s->backoff_ms + jitter, 0);
}

/* The connection is gone (hiredis frees the context): tell, then try again. */
static void lost(rta_redis_sub *s, const char *why)
{
    int was_up = s->state == SUB_UP;
    s->ac = NULL;
    s->confirmed = 0;
    if (s->closing) return;
    schedule_retry(s);
    if (!s->warned && was_up) {
        rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "redis: subscriber connection lost (%s); reconnecting", why);
        s->warned = 1;
    }
    if (s->hooks.down) s->hooks.down(s->hooks.ctx, why);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    rta_redis_sub *s = ac->data;
    if (status != REDIS_OK) lost(s, ac->errstr[0] ? ac->errstr : "connect failed");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    rta_redis_sub *s = ac->data;
    (void)status;
    lost(s, ac->errstr[0] ? ac->errstr : "disconnected");
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
    rta_redis_sub *s = privdata;
    redisReply *r = reply;
    if (r && r->type == REDIS_REPLY_ERROR && !s->closing) {
        rta_log_event(RTA_LOG_ERROR, "store.error", NULL, "redis: the subscriber's AUTH was refused: %.80s", r->str);
        redisAsyncDisconnect(ac); /* deferred: we are in its callback */
    }
}

static void on_subscription(redisAsyncContext *ac, void *reply, void *privdata)
{
    rta_redis_sub *s = privdata;
    redisReply *r = reply;
    (void)ac;
    if (!r || s->closing || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = r->element[0]->str;
    if (!strcmp(kind, "message") && r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[2]->type == REDIS_REPLY_STRING) {
        if (s->hooks.message)
            s->hooks.message(s->hooks.ctx, r->element[1]->str, r->element[1]->len,
                             r->element[2]->str, r->element[2]->len);
    } else if (!strcmp(kind, "unsubscribe")) {
        if (s->hooks.unsubscribed && r->element[1]->type == REDIS_REPLY_STRING)
            s->hooks.unsubscribed(s->hooks.ctx, r->element[1]->str, r->element[1]->len);
    } else if (!strcmp(kind, "subscribe") && s->state == SUB_UP) { /* one of the moment */
        if (s->hooks.subscribed && r->element[1]->type == REDIS_REPLY_STRING)
            s->hooks.subscribed(s->hooks.ctx, r->element[1]->str, r->element[1]->len);
    } else if (!strcmp(kind, "subscribe") && ++s->confirmed == s->n) {
        uv_timer_stop(&s->timer);
        s->state = SUB_UP;
        s->backoff_ms = 0;
        if (s->warned) {
            char where[RTA_REDIS_HOST_MAX + 16];
            rta_redis_addr_format(&s->addr, where, sizeof(where));
            rta_log_event(RTA_LOG_INFO, "store.state", NULL, "redis: subscriber connected to %s", where);
            s->warned = 0;
        }
        if (s->hooks.up) s->hooks.up(s->hooks.ctx);
    }
}

static void connect_now(rta_redis_sub *s)
{
    rta_redis_addr a = {{0}, 0};
    if (s->hooks.where) s->hooks.where(s->hooks.ctx, &a);
    if (!a.host[0]) {
        schedule_retry(s);
        return;
    }
    s->addr = a;
    redisAsyncContext *ac = redisAsyncConnect(a.host, a.port);
    if (!ac || ac->err || glue_attach(ac, s->loop)) {
        if (ac) redisAsyncFree(ac);
        if (!s->warned) rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "redis: the subscriber cannot connect; retrying");
        s->warned = 1;
        schedule_retry(s);
        return;
    }
    ac->data = s;
    s->ac = ac;
    s->confirmed = 0;
    s->state = SUB_CONNECTING;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (s->target.password[0]) {
        const char *argv[3] = {"AUTH", s->target.user, s->target.password};
        if (s->target.user[0])
            redisAsyncCommandArgv(ac, on_auth, s, 3, argv, NULL);
        else
            redisAsyncCommandArgv(ac, on_auth, s, 2, (const char *[]){"AUTH", s->target.password},
                                  NULL);
    }
    const char **argv = calloc(s->n + 1, sizeof(*argv));
    if (argv) {
        argv[0] = "SUBSCRIBE";
        for (size_t i = 0; i < s->n; i++) argv[i + 1] = s->channels[i];
        redisAsyncCommandArgv(ac, on_subscription, s, (int)s->n + 1, argv, NULL);
        free(argv);
    }
    uv_timer_start(&s->timer, on_timer, CONNECT_DEADLINE_MS, 0);
}

int rta_redis_sub_start(uv_loop_t *loop, const rta_redis_target *target,
                        const char *const *channels, size_t n, const rta_redis_sub_hooks *hooks,
                        rta_redis_sub **out)
{
    *out = NULL;
    rta_redis_sub *s = calloc(1, sizeof(*s));
    if (!s) return RTA_ERR_INTERNAL;
    s->loop = loop;
    s->target = *target;
    s->hooks = *hooks;
    s->channels = calloc(n ? n : 1, sizeof(char *));
    int ok = s->channels != NULL;
    for (size_t i = 0; ok && i < n; i++) ok = (s->channels[s->n++] = strdup(channels[i])) != NULL;
    if (!ok || uv_timer_init(loop, &s->timer)) {
        for (size_t i = 0; s->channels && i < s->n; i++) free(s->channels[i]);
        free(s->channels);
        rta_redis_target_clear(&s->target);
        free(s);
        return RTA_ERR_INTERNAL;
    }
    s->timer.data = s;
    *out = s;
    connect_now(s);
    return 0;
}

static int send_one(rta_redis_sub *s, const char *command, const char *channel)
{
    if (s->closing || s->state != SUB_UP || !s->ac) return -1;
    const char *argv[2] = {command, channel};
    return redisAsyncCommandArgv(s->ac, on_subscription, s, 2, argv, NULL) == REDIS_OK ? 0 : -1;
}

int rta_redis_sub_subscribe(rta_redis_sub *s, const char *channel)
{
    return send_one(s, "SUBSCRIBE", channel);
}

int rta_redis_sub_unsubscribe(rta_redis_sub *s, const char *channel)
{
    return send_one(s, "UNSUBSCRIBE", channel);
}

void rta_redis_sub_restart(rta_redis_sub *s)
{
    if (s->closing) return;
    uv_timer_stop(&s->timer);
    if (s->ac) {
        redisAsyncContext *ac = s->ac;
        int was_connecting = s->state == SUB_CONNECTING;
        /* from our timer, never inside a hiredis callback: freeing now is allowed; a context
         * that was connected gets its onDisconnect (-> lost), one still connecting does not */
        redisAsyncFree(ac);
        if (s->ac == ac) lost(s, was_connecting ? "subscribe deadline" : "restarted");
    }
    s->backoff_ms = 0;
    uv_timer_stop(&s->timer);
    uv_timer_start(&s->timer, on_timer, 0, 0); /* reconnect at once */
}

int rta_redis_sub_up(const rta_redis_sub *s, rta_redis_addr *addr)
{
    if (addr) *addr = s->addr;
    return s->state == SUB_UP && s->ac != NULL;
}

static void on_closed(uv_handle_t *h)
{
    rta_redis_sub *s = h->data;
    for (size_t i = 0; i < s->n; i++) free(s->channels[i]);
    free(s->channels);
    rta_redis_target_clear(&s->target);
    free(s);
}

void rta_redis_sub_close(rta_redis_sub *s)
{
    if (!s) return;
    s->closing = 1;
    if (s->ac) redisAsyncFree(s->ac);
    s->ac = NULL;
    uv_timer_stop(&s->timer);
    uv_close((uv_handle_t *)&s->timer, on_closed);
}
