/* store/redis_shards.c: channel shards (--redis-shard; docs/cluster.md, "Channel shards"):
 * one blocking connection per shard, each loaded with the Functions library and checked like
 * the main Redis at every (re)connect; a channel's commands go to the shard its hash tag
 * picks (rta_ck_shard), auth state stays on the main connection. At a node's start the shard
 * list is compared with the one the cluster recorded in the main Redis (RTA_RK_SHARDS): nodes
 * that placed channels differently would each sequence a channel on another Redis, so a
 * differing list is refused before the node serves anything.
 *
 * Must never: route a channel by anything but its hash tag (every node must agree); put a
 * password into the recorded list or a message (addresses only). Store thread, except the
 * read-only accessors (fixed after open). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/log.h"
#include "server/store/channel_keys.h"
#include "server/store/redis_functions.h"
#include "server/store/redis_internal.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every (re)connect of a shard: the Functions (rt_ch_publish lives there now), and for a
 * node the settings and replicas, as for the main Redis. */
static int shard_on_connect(void *ctx, rta_redis_conn *c, rta_error *err)
{
    rta_redis_shard *sh = ctx;
    const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", rta_redis_functions_source};
    redisReply *r = rta_redis_conn_command(c, err, 4, argv, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = r->type == REDIS_REPLY_ERROR ? rta__redis_reply_fail(r, "FUNCTION LOAD", err) : 0;
    freeReplyObject(r);
    if (rc || !sh->s->o.node_id[0]) return rc;
    char label[sizeof(sh->where) + 32];
    snprintf(label, sizeof(label), "Redis shard %zu (%s)", sh->index, sh->where);
    if ((rc = rta__redis_check_settings(sh->s, c, label, err))) return rc;
    return rta__redis_read_replicas(c, &sh->replicas, err);
}

rta_redis_conn *rta__redis_channel_conn(rta_redis_store *s, const char *name, size_t len,
                                        int **replicas)
{
    if (!s->nshards) {
        if (replicas) *replicas = &s->replicas;
        return s->conn;
    }
    rta_redis_shard *sh = &s->shards[rta_ck_shard(name, len, (uint32_t)s->nshards)];
    if (replicas) *replicas = &sh->replicas;
    return sh->conn;
}

/* The list as recorded: "<n> <host:port/db>,..." ("0": no shards). */
static void list_text(const rta_redis_store *s, char *out, size_t size)
{
    size_t at = (size_t)snprintf(out, size, "%zu", s->nshards);
    for (size_t i = 0; i < s->nshards && at < size; i++)
        at += (size_t)snprintf(out + at, size - at, "%s%s", i ? "," : " ", s->shards[i].where);
}

/* SET NX the list, then compare: the first node records it, every later one must match. */
static int check_list(rta_redis_store *s, rta_error *err)
{
    char mine[RTA_REDIS_MAX_SHARDS * (RTA_REDIS_HOST_MAX + 24) + 16];
    list_text(s, mine, sizeof(mine));
    const char *set[] = {"SET", RTA_RK_SHARDS, mine, "NX"};
    const char *get[] = {"GET", RTA_RK_SHARDS};
    redisReply *r = rta_redis_conn_command(s->conn, err, 4, set, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int rc =
        r->type == REDIS_REPLY_ERROR ? rta__redis_reply_fail(r, "record the shard list", err) : 0;
    freeReplyObject(r);
    if (rc) return rc;
    if (!(r = rta_redis_conn_command(s->conn, err, 2, get, NULL))) return RTA_ERR_INTERNAL;
    if (r->type == REDIS_REPLY_STRING && strcmp(r->str, mine) != 0)
        /* the advice first: a long list is what the message's bound cuts */
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                           "Redis shards differ from the cluster's (%s in the main Redis): give "
                           "every node the same --redis-shard list in the same order "
                           "(docs/cluster.md); this node: \"%.300s\", the cluster: \"%.300s\"",
                           RTA_RK_SHARDS, mine, r->str);
    else if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)
        rc = rta__redis_reply_fail(r, "read the shard list", err);
    freeReplyObject(r);
    return rc;
}

int rta__redis_shards_open(rta_redis_store *s, const rta_redis_options *o, rta_error *err)
{
    int rc = 0;
    if (o->shard_count > RTA_REDIS_MAX_SHARDS)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "at most %d --redis-shard",
                             RTA_REDIS_MAX_SHARDS);
    if (o->shard_count) {
        s->shards = calloc(o->shard_count, sizeof(*s->shards));
        if (!s->shards) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        s->nshards = o->shard_count;
    }
    for (size_t i = 0; !rc && i < s->nshards; i++) {
        rta_redis_shard *sh = &s->shards[i];
        sh->s = s;
        sh->index = i;
        char addr[RTA_REDIS_HOST_MAX + 16];
        rta_redis_addr_format(&o->shards[i].addr, addr, sizeof(addr));
        snprintf(sh->where, sizeof(sh->where), "%s/%d", addr, o->shards[i].db);
        rta_redis_conn_options co = {.target = o->shards[i],
                                     .connect_timeout_ms = o->connect_timeout_ms,
                                     .command_timeout_ms = o->command_timeout_ms,
                                     .on_connect = shard_on_connect,
                                     .ctx = sh};
        rc = rta_redis_conn_create(&co, &sh->conn, err);
        rta_redis_target_clear(&co.target);
    }
    /* every shard reachable and fit at start, as the main Redis: a node that started without
     * one would fail that shard's channels from its first attach */
    int64_t deadline = mono_ms() + (o->start_wait_ms > 0 ? o->start_wait_ms : 0);
    for (size_t i = 0; !rc && i < s->nshards; i++) {
        while ((rc = rta_redis_conn_ensure(s->shards[i].conn, err)) == RTA_ERR_INTERNAL &&
               mono_ms() < deadline)
            usleep(100 * 1000);
        if (rc && rc != RTA_ERR_INVALID_PARAMETER) {
            char msg[sizeof(err->message)];
            snprintf(msg, sizeof(msg), "%s", err->message);
            rc = rta_error_set(err, rc, "Redis shard %zu (%s): %s", i, s->shards[i].where, msg);
        }
    }
    for (size_t i = 0; !rc && i < s->nshards; i++)
        for (size_t k = 0; !rc && k < i; k++)
            if (!strcmp(s->shards[i].where, s->shards[k].where))
                rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                   "--redis-shard %s is listed twice", s->shards[i].where);
    if (!rc && o->node_id[0]) rc = check_list(s, err);
    if (!rc && s->nshards)
        rta_log_event(RTA_LOG_INFO, "store.state", NULL,
                      "redis: channels spread over %zu shard(s); auth state on the main Redis",
                      s->nshards);
    return rc;
}

void rta__redis_shards_close(rta_redis_store *s)
{
    for (size_t i = 0; i < s->nshards; i++)
        rta_redis_conn_free(s->shards[i].conn);
    free(s->shards);
    s->shards = NULL;
    s->nshards = 0;
}

size_t rta_store_redis_shard_count(const rta_store *st)
{
    return ((const rta_redis_store *)st)->nshards;
}

uint32_t rta_store_redis_shard_of(const rta_store *st, const char *name, size_t len)
{
    return rta_ck_shard(name, len, (uint32_t)((const rta_redis_store *)st)->nshards);
}

const rta_redis_target *rta_store_redis_shard_target(const rta_store *st, size_t i)
{
    const rta_redis_store *s = (const rta_redis_store *)st;
    return i < s->nshards ? rta_redis_conn_target(s->shards[i].conn) : NULL;
}

const char *rta_store_redis_shard_where(const rta_store *st, size_t i)
{
    const rta_redis_store *s = (const rta_redis_store *)st;
    return i < s->nshards ? s->shards[i].where : "";
}
