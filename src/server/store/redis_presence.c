/* store/redis_presence.c: presence members, node heartbeats and the reaping of a dead node's
 * members in Redis; see store/redis_presence.h. Store thread.
 *
 * The scripts are sent with EVAL (Redis caches them by digest), not added to the Functions
 * library: they are private to this file, and a node of another release never calls them,
 * so they need no version of their own (docs/cluster.md, "Rolling upgrades").
 *
 * Must never: remove a member another owner has taken over (the removal compares the owner
 * inside one script), or hand out a member it did not remove. */
#include "server/store/redis_presence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/channel_keys.h"
#include "server/store/redis_internal.h"

#define NODES_KEY   "rt:{g}:pres:nodes"
#define LOCK_MS     60000 /* a reaper that dies mid-way leaves the rest to another after this */
#define MEMBERS_MAX 1000  /* fields read per channel (RTA_PRESENCE_MAX_MEMBERS) */

/* HGETALL, then HDEL of the fields whose value starts with ARGV[1] (the owner) and whose
 * name starts with ARGV[2] (a connection, or "" for any); returns their values. */
static const char REAP_LUA[] =
    "local out = {}\n"
    "local h = redis.call('HGETALL', KEYS[1])\n"
    "for i = 1, #h, 2 do\n"
    "  local f, v = h[i], h[i + 1]\n"
    "  if string.sub(v, 1, #ARGV[1]) == ARGV[1] and string.sub(f, 1, #ARGV[2]) == ARGV[2] then\n"
    "    redis.call('HDEL', KEYS[1], f)\n"
    "    out[#out + 1] = v\n"
    "  end\n"
    "end\n"
    "return out\n";

/* ZADD the owner at Redis's TIME; returns the owners silent for ARGV[2] ms. */
static const char BEAT_LUA[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "redis.call('ZADD', KEYS[1], now, ARGV[1])\n"
    "return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))\n";

static size_t index_key(char *out, size_t size, const char *owner)
{
    int n = snprintf(out, size, "rt:{g}:pres:%s", owner);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

int rta_store_redis_pres_write(rta_store *st, const char *owner, const rta_pres_write *w, size_t n,
                               rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    char idx[RTA_RK_MAX];
    if (!index_key(idx, sizeof(idx), owner))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid presence owner");
    int rc = rta_redis_conn_ensure(s->conn, err);
    size_t sent = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        char key[RTA_CK_MAX];
        if (!rta_ck_key(key, sizeof(key), w[i].app_id, w[i].channel, ":p")) continue;
        rta__redis_argv a;
        rta__redis_argv_init(&a);
        char *field = NULL, *value = NULL, *where = NULL;
        size_t fl = strlen(w[i].conn_id) + 1 + strlen(w[i].client_id);
        size_t ol = strlen(owner), wl = strlen(w[i].app_id) + 1 + strlen(w[i].channel);
        field = malloc(fl + 1);
        if (field) snprintf(field, fl + 1, "%s\n%s", w[i].conn_id, w[i].client_id);
        if (w[i].value) {
            value = malloc(ol + 1 + w[i].len);
            where = malloc(wl + 1);
            if (value) {
                memcpy(value, owner, ol);
                value[ol] = '\n';
                memcpy(value + ol + 1, w[i].value, w[i].len);
            }
            if (where) snprintf(where, wl + 1, "%s\n%s", w[i].app_id, w[i].channel);
        }
        if (!field || (w[i].value && (!value || !where))) {
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        } else if (w[i].value) {
            /* the index first: a reaper that finds the channel finds the member or nothing */
            const char *sa[] = {"SADD", idx, where};
            rc = rta_redis_conn_append(s->conn, 3, sa, NULL, err);
            rta__redis_arg_str(&a, "HSET");
            rta__redis_arg_str(&a, key);
            rta__redis_arg(&a, field, fl);
            rta__redis_arg(&a, value, ol + 1 + w[i].len);
            if (!rc) rc = rta_redis_conn_append(s->conn, a.argc, a.argv, a.lens, err);
            sent += 2;
        } else {
            const char *hd[] = {"HDEL", key, field};
            rc = rta_redis_conn_append(s->conn, 3, hd, NULL, err);
            sent++;
        }
        rta__redis_argv_free(&a);
        free(field);
        free(value);
        free(where);
    }
    for (size_t i = 0; !rc && i < sent; i++) {
        redisReply *r = rta_redis_conn_read(s->conn, err);
        if (!r) return RTA_ERR_INTERNAL;
        if (r->type == REDIS_REPLY_ERROR) rc = rta__redis_reply_fail(r, "presence write", err);
        freeReplyObject(r);
    }
    if (rc) rta_redis_conn_drop(s->conn); /* replies may be unread: never misread them */
    return rc;
}

int rta_store_redis_pres_read(rta_store *st, const char *app_id, const char *channel,
                              void (*cb)(void *ctx, const char *owner, size_t owner_len,
                                         const char *member, size_t len),
                              void *ctx, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    char key[RTA_CK_MAX];
    if (!rta_ck_key(key, sizeof(key), app_id, channel, ":p"))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid channel");
    const char *argv[] = {"HGETALL", key};
    redisReply *r = rta_redis_conn_command(s->conn, err, 2, argv, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = rta__redis_reply_fail(r, "presence read", err);
    } else {
        for (size_t i = 1; i < r->elements && i / 2 < MEMBERS_MAX; i += 2) {
            const redisReply *v = r->element[i];
            const char *nl = v->type == REDIS_REPLY_STRING ? memchr(v->str, '\n', v->len) : NULL;
            if (!nl) continue; /* not one of ours */
            size_t ol = (size_t)(nl - v->str);
            cb(ctx, v->str, ol, nl + 1, v->len - ol - 1);
        }
    }
    freeReplyObject(r);
    return rc;
}

int rta_store_redis_pres_beat(rta_store *st, const char *owner, int64_t dead_after_ms,
                              void (*cb)(void *ctx, const char *other, size_t len), void *ctx,
                              rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    char after[24];
    snprintf(after, sizeof(after), "%lld", (long long)dead_after_ms);
    const char *argv[] = {"EVAL", BEAT_LUA, "1", NODES_KEY, owner, after};
    redisReply *r = rta_redis_conn_command(s->conn, err, 6, argv, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = rta__redis_reply_fail(r, "presence heartbeat", err);
    } else {
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *e = r->element[i];
            if (e->type == REDIS_REPLY_STRING && e->len < RTA_PRES_OWNER_MAX &&
                (e->len != strlen(owner) || memcmp(e->str, owner, e->len)))
                cb(ctx, e->str, e->len);
        }
    }
    freeReplyObject(r);
    return rc;
}

/* The atomic removal on one channel. */
static int reap_channel(rta_redis_store *s, const char *owner, const char *app_id,
                        const char *channel, const char *conn_id,
                        void (*cb)(void *, const char *, const char *, const char *, size_t),
                        void *ctx, rta_error *err)
{
    char key[RTA_CK_MAX], who[RTA_PRES_OWNER_MAX + 2], conn[32];
    if (!rta_ck_key(key, sizeof(key), app_id, channel, ":p")) return 0; /* not ours: skipped */
    snprintf(who, sizeof(who), "%s\n", owner);
    snprintf(conn, sizeof(conn), "%s%s", conn_id ? conn_id : "", conn_id ? "\n" : "");
    const char *argv[] = {"EVAL", REAP_LUA, "1", key, who, conn};
    redisReply *r = rta_redis_conn_command(s->conn, err, 6, argv, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY) {
        rc = rta__redis_reply_fail(r, "presence reap", err);
    } else {
        size_t wl = strlen(who);
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *v = r->element[i];
            if (v->type == REDIS_REPLY_STRING && v->len > wl)
                cb(ctx, app_id, channel, v->str + wl, v->len - wl);
        }
    }
    freeReplyObject(r);
    return rc;
}

int rta_store_redis_pres_reap(rta_store *st, const char *me, const char *owner, const char *app_id,
                              const char *channel, const char *conn_id,
                              void (*cb)(void *ctx, const char *app_id, const char *channel,
                                         const char *member, size_t len),
                              void *ctx, int *won, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    *won = 0;
    if (app_id) {
        *won = 1;
        return reap_channel(s, owner, app_id, channel, conn_id, cb, ctx, err);
    }
    char idx[RTA_RK_MAX], lock[RTA_RK_MAX], px[24];
    if (!index_key(idx, sizeof(idx), owner) ||
        snprintf(lock, sizeof(lock), "rt:{g}:pres:reap:%s", owner) >= (int)sizeof(lock))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid presence owner");
    snprintf(px, sizeof(px), "%d", LOCK_MS);
    const char *set[] = {"SET", lock, me, "NX", "PX", px};
    redisReply *r = rta_redis_conn_command(s->conn, err, 6, set, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int got = r->type == REDIS_REPLY_STATUS;
    int rc = r->type == REDIS_REPLY_ERROR ? rta__redis_reply_fail(r, "presence lock", err) : 0;
    freeReplyObject(r);
    if (!rc && !got) { /* ours already: an earlier attempt of this node that failed mid-way */
        const char *get[] = {"GET", lock};
        if (!(r = rta_redis_conn_command(s->conn, err, 2, get, NULL))) return RTA_ERR_INTERNAL;
        got = r->type == REDIS_REPLY_STRING && r->len == strlen(me) && !memcmp(r->str, me, r->len);
        freeReplyObject(r);
    }
    if (rc || !got) return rc; /* another node reaps it */
    *won = 1;
    const char *sm[] = {"SMEMBERS", idx};
    redisReply *chans = rta_redis_conn_command(s->conn, err, 2, sm, NULL);
    if (!chans) return RTA_ERR_INTERNAL;
    for (size_t i = 0; !rc && chans->type == REDIS_REPLY_ARRAY && i < chans->elements; i++) {
        const redisReply *e = chans->element[i];
        const char *nl = e->type == REDIS_REPLY_STRING ? memchr(e->str, '\n', e->len) : NULL;
        if (!nl) continue;
        char *app = strndup(e->str, (size_t)(nl - e->str));
        char *name = strndup(nl + 1, e->len - (size_t)(nl - e->str) - 1);
        if (!app || !name)
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        else
            rc = reap_channel(s, owner, app, name, NULL, cb, ctx, err);
        free(app);
        free(name);
    }
    freeReplyObject(chans);
    if (rc) return rc;
    const char *del[] = {"DEL", idx};
    const char *zrem[] = {"ZREM", NODES_KEY, owner};
    redisReply *d = rta_redis_conn_command(s->conn, err, 2, del, NULL);
    if (d) freeReplyObject(d);
    redisReply *z = d ? rta_redis_conn_command(s->conn, err, 3, zrem, NULL) : NULL;
    if (z) freeReplyObject(z);
    return d && z ? 0 : RTA_ERR_INTERNAL;
}
