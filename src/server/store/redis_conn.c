/* store/redis_conn.c: the store thread's blocking Redis connection; see store/redis_conn.h.
 * Messages name addresses and Redis's own error words, never credentials, arguments or data. */
#include "server/store/redis_conn.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000

struct rta_redis_conn {
    rta_redis_conn_options o;
    redisContext *ctx;
    size_t pending;    /* replies appended and not read yet */
    int broken;        /* drop before the next use (I/O error, or the server cannot serve) */
    int64_t retry_at;  /* monotonic ms: no attempt before (back-off) */
    int backoff_ms;
    char last_error[640];
    int was_up;        /* connected at least once: a later loss is logged once */
    pthread_mutex_t lock; /* guards primary and generation */
    rta_redis_addr primary;
    unsigned generation;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval tv_ms(int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    return tv;
}

const char *rta_redis_reply_error(const redisReply *r)
{
    static const char none[] = "no reply";
    if (!r) return none;
    if (r->type != REDIS_REPLY_ERROR) return "unexpected reply";
    return r->str;
}

int rta_redis_conn_create(const rta_redis_conn_options *o, rta_redis_conn **out, rta_error *err)
{
    *out = NULL;
    rta_redis_conn *c = calloc(1, sizeof(*c));
    if (!c) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    c->o = *o;
    if (c->o.connect_timeout_ms <= 0) c->o.connect_timeout_ms = 1000;
    if (c->o.command_timeout_ms <= 0) c->o.command_timeout_ms = 2000;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return 0;
}

void rta_redis_conn_drop(rta_redis_conn *c)
{
    if (c->ctx) redisFree(c->ctx);
    c->ctx = NULL;
    c->pending = 0;
    c->broken = 0;
}

void rta_redis_conn_free(rta_redis_conn *c)
{
    if (!c) return;
    rta_redis_conn_drop(c);
    rta_redis_target_clear(&c->o.target);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int rta_redis_conn_connected(const rta_redis_conn *c)
{
    return c->ctx && !c->broken;
}

const rta_redis_target *rta_redis_conn_target(const rta_redis_conn *c)
{
    return &c->o.target;
}

void rta_redis_conn_primary(rta_redis_conn *c, rta_redis_addr *out, unsigned *generation)
{
    pthread_mutex_lock(&c->lock);
    *out = c->primary;
    if (generation) *generation = c->generation;
    pthread_mutex_unlock(&c->lock);
}

/* A context connected to a, with deadlines, or NULL with why filled. */
static redisContext *dial(const rta_redis_addr *a, int connect_ms, int command_ms, char *why,
                          size_t why_size)
{
    char where[RTA_REDIS_HOST_MAX + 16];
    rta_redis_addr_format(a, where, sizeof(where));
    redisContext *ctx = redisConnectWithTimeout(a->host, a->port, tv_ms(connect_ms));
    if (!ctx || ctx->err) {
        snprintf(why, why_size, "%.270s: %.120s", where, ctx ? ctx->errstr : "out of memory");
        if (ctx) redisFree(ctx);
        return NULL;
    }
    redisSetTimeout(ctx, tv_ms(command_ms));
    redisEnableKeepAlive(ctx);
    return ctx;
}

/* One command on a bare context (during connect). */
static redisReply *bare(redisContext *ctx, int argc, const char **argv, const size_t *lens)
{
    return redisCommandArgv(ctx, argc, argv, lens);
}

/* Asks the Sentinels, in order, where the primary is. */
static int resolve(rta_redis_conn *c, rta_redis_addr *out)
{
    const rta_redis_target *t = &c->o.target;
    for (size_t i = 0; i < t->sentinel_count; i++) {
        char why[400];
        redisContext *s = dial(&t->sentinels[i], c->o.connect_timeout_ms,
                               c->o.connect_timeout_ms, why, sizeof(why));
        if (!s) {
            snprintf(c->last_error, sizeof(c->last_error), "Sentinel %.400s", why);
            continue;
        }
        const char *argv[] = {"SENTINEL", "get-master-addr-by-name", t->master_name};
        redisReply *r = bare(s, 3, argv, NULL);
        int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                 r->element[0]->type == REDIS_REPLY_STRING &&
                 r->element[1]->type == REDIS_REPLY_STRING &&
                 r->element[0]->len <= RTA_REDIS_HOST_MAX;
        if (ok) {
            memcpy(out->host, r->element[0]->str, r->element[0]->len);
            out->host[r->element[0]->len] = '\0';
            out->port = atoi(r->element[1]->str);
            ok = out->port > 0 && out->port < 65536;
        } else {
            char where[RTA_REDIS_HOST_MAX + 16];
            rta_redis_addr_format(&t->sentinels[i], where, sizeof(where));
            snprintf(c->last_error, sizeof(c->last_error),
                     "Sentinel %.270s does not know a primary named %.255s", where,
                     t->master_name);
        }
        if (r) freeReplyObject(r);
        redisFree(s);
        if (ok) return 0;
    }
    return -1;
}

/* AUTH and SELECT on a fresh context; with Sentinel, also checks that it is the primary
 * (during a failover a Sentinel may still name the old one). */
static int handshake(rta_redis_conn *c, redisContext *ctx)
{
    const rta_redis_target *t = &c->o.target;
    redisReply *r = NULL;
    if (t->password[0]) {
        const char *argv[] = {"AUTH", t->user, t->password};
        r = t->user[0] ? bare(ctx, 3, argv, NULL)
                       : bare(ctx, 2, (const char *[]){"AUTH", t->password}, NULL);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(c->last_error, sizeof(c->last_error), "AUTH failed: %s",
                     r ? rta_redis_reply_error(r) : ctx->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (t->db) {
        char db[16];
        snprintf(db, sizeof(db), "%d", t->db);
        r = bare(ctx, 2, (const char *[]){"SELECT", db}, NULL);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(c->last_error, sizeof(c->last_error), "SELECT %d failed: %s", t->db,
                     r ? rta_redis_reply_error(r) : ctx->errstr);
            goto fail;
        }
        freeReplyObject(r);
    }
    if (t->sentinel_count) {
        r = bare(ctx, 1, (const char *[]){"ROLE"}, NULL);
        int master = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
                     r->element[0]->type == REDIS_REPLY_STRING &&
                     !strcmp(r->element[0]->str, "master");
        if (!master) {
            snprintf(c->last_error, sizeof(c->last_error),
                     "the server Sentinel named is not a primary (yet)");
            goto fail;
        }
        freeReplyObject(r);
    }
    return 0;
fail:
    if (r) freeReplyObject(r);
    return -1;
}

static void backoff(rta_redis_conn *c)
{
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (c->backoff_ms > BACKOFF_MAX_MS) c->backoff_ms = BACKOFF_MAX_MS;
    c->retry_at = mono_ms() + c->backoff_ms;
}

int rta_redis_conn_ensure(rta_redis_conn *c, rta_error *err)
{
    if (c->ctx && !c->broken) return 0;
    if (c->ctx) {
        if (c->was_up) rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "redis: connection to the primary lost; reconnecting");
        rta_redis_conn_drop(c);
    }
    if (c->retry_at && mono_ms() < c->retry_at)
        return rta_error_set(err, RTA_ERR_INTERNAL, "Redis unreachable (%s); retrying",
                             c->last_error[0] ? c->last_error : "not connected");
    rta_redis_addr a = c->o.target.addr;
    redisContext *ctx = NULL;
    if (c->o.target.sentinel_count && resolve(c, &a)) goto fail;
    char why[400];
    if (!(ctx = dial(&a, c->o.connect_timeout_ms, c->o.command_timeout_ms, why, sizeof(why)))) {
        snprintf(c->last_error, sizeof(c->last_error), "%.400s", why);
        goto fail;
    }
    if (handshake(c, ctx)) goto fail;
    c->ctx = ctx;
    ctx = NULL;
    c->pending = 0;
    c->broken = 0;
    rta_error hook_err;
    if (c->o.on_connect && c->o.on_connect(c->o.ctx, c, &hook_err)) {
        snprintf(c->last_error, sizeof(c->last_error), "%.256s", hook_err.message);
        rta_redis_conn_drop(c);
        /* a refusal by the hook (settings, KEK) is not a network error: keep its code */
        c->retry_at = 0;
        backoff(c);
        return rta_error_set(err, hook_err.code, "%s", hook_err.message);
    }
    pthread_mutex_lock(&c->lock);
    if (strcmp(c->primary.host, a.host) || c->primary.port != a.port) {
        char where[RTA_REDIS_HOST_MAX + 16];
        rta_redis_addr_format(&a, where, sizeof(where));
        if (c->o.target.sentinel_count) rta_log_event(RTA_LOG_INFO, "store.state", NULL, "redis: primary is %s", where);
    }
    c->primary = a;
    c->generation++;
    pthread_mutex_unlock(&c->lock);
    if (c->was_up && c->backoff_ms) rta_log_event(RTA_LOG_INFO, "store.state", NULL, "redis: reconnected");
    c->was_up = 1;
    c->backoff_ms = 0;
    c->retry_at = 0;
    c->last_error[0] = '\0';
    return 0;
fail:
    if (ctx) redisFree(ctx);
    backoff(c);
    return rta_error_set(err, RTA_ERR_INTERNAL, "Redis unreachable (%s)", c->last_error);
}

static int io_fail(rta_redis_conn *c, rta_error *err, const char *what)
{
    const char *why = c->ctx && c->ctx->errstr[0] ? c->ctx->errstr : "not connected";
    snprintf(c->last_error, sizeof(c->last_error), "%s: %s", what, why);
    int rc = rta_error_set(err, RTA_ERR_INTERNAL, "Redis %s failed: %s", what, why);
    c->broken = 1;
    return rc;
}

int rta_redis_conn_append(rta_redis_conn *c, int argc, const char **argv, const size_t *lens,
                          rta_error *err)
{
    if (!c->ctx || c->broken) return io_fail(c, err, "write");
    if (redisAppendCommandArgv(c->ctx, argc, argv, lens) != REDIS_OK)
        return io_fail(c, err, "write");
    c->pending++;
    return 0;
}

int rta_redis_conn_appendf(rta_redis_conn *c, rta_error *err, const char *fmt, ...)
{
    if (!c->ctx || c->broken) return io_fail(c, err, "write");
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(c->ctx, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) return io_fail(c, err, "write");
    c->pending++;
    return 0;
}

/* Error replies after which this server cannot serve us: drop it once the pipeline is read. */
static int unusable(const redisReply *r)
{
    static const char *const words[] = {"READONLY", "LOADING", "MASTERDOWN"};
    if (r->type != REDIS_REPLY_ERROR || !r->str) return 0;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (!strncmp(r->str, words[i], strlen(words[i]))) return 1;
    return 0;
}

redisReply *rta_redis_conn_read(rta_redis_conn *c, rta_error *err)
{
    if (!c->ctx || !c->pending) {
        io_fail(c, err, "read");
        return NULL;
    }
    void *reply = NULL;
    if (redisGetReply(c->ctx, &reply) != REDIS_OK || !reply) {
        io_fail(c, err, errno == EAGAIN || errno == EWOULDBLOCK ? "reply (deadline)" : "read");
        return NULL;
    }
    c->pending--;
    redisReply *r = reply;
    if (unusable(r)) {
        snprintf(c->last_error, sizeof(c->last_error), "%.40s", r->str);
        c->broken = 1; /* the pipeline's other replies can still be read */
    }
    return r;
}

redisReply *rta_redis_conn_command(rta_redis_conn *c, rta_error *err, int argc, const char **argv,
                                   const size_t *lens)
{
    if (rta_redis_conn_ensure(c, err) || rta_redis_conn_append(c, argc, argv, lens, err))
        return NULL;
    return rta_redis_conn_read(c, err);
}

redisReply *rta_redis_conn_commandf(rta_redis_conn *c, rta_error *err, const char *fmt, ...)
{
    if (rta_redis_conn_ensure(c, err)) return NULL;
    va_list ap;
    va_start(ap, fmt);
    int rc = redisvAppendCommand(c->ctx, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK) {
        io_fail(c, err, "write");
        return NULL;
    }
    c->pending++;
    return rta_redis_conn_read(c, err);
}
