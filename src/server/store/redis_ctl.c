/* store/redis_ctl.c: reading and appending the control log, and a node's head check (epoch,
 * log head, replicas, heartbeat); see store/redis.h and store/control_log.h. Store thread.
 *
 * Must never: hand the caller an entry it could not parse as one of ours (such entries are
 * skipped, but still counted in the sequence, so a cursor never waits for them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/redis_functions.h"
#include "server/store/redis_internal.h"

int rta_store_redis_head(rta_store *st, rta_redis_head *out, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    memset(out, 0, sizeof(*out));
    int rc = rta_redis_conn_ensure(s->conn, err);
    if (!rc) rc = rta__redis_append_epoch(s, err);
    if (!rc) rc = rta_redis_conn_appendf(s->conn, err, "GET %s", RTA_RK_CTL_SEQ);
    if (!rc) rc = rta_redis_conn_appendf(s->conn, err, "ROLE");
    if (!rc && s->node_channel[0])
        rc = rta_redis_conn_appendf(s->conn, err, "PUBLISH %s hb", s->node_channel);
    redisReply *r[4] = {0};
    size_t want = s->node_channel[0] ? 4 : 3;
    for (size_t i = 0; !rc && i < want; i++)
        if (!(r[i] = rta_redis_conn_read(s->conn, err))) rc = RTA_ERR_INTERNAL;
    if (!rc) rc = rta__redis_take_epoch(s, r[0], err);
    if (!rc) {
        if (r[1]->type == REDIS_REPLY_STRING)
            out->seq = strtoull(r[1]->str, NULL, 10);
        else if (r[1]->type != REDIS_REPLY_NIL)
            rc = rta__redis_reply_fail(r[1], "log head", err);
    }
    if (!rc && r[2]->type == REDIS_REPLY_ARRAY && r[2]->elements >= 3 &&
        r[2]->element[2]->type == REDIS_REPLY_ARRAY)
        s->replicas = (int)r[2]->element[2]->elements;
    for (size_t i = 0; i < 4; i++)
        if (r[i]) freeReplyObject(r[i]);
    if (rc) return rc;
    /* each channel shard: its replicas, and the heartbeat its subscriber's watchdog hears
     * (server/cluster_channels.c); a shard that fails is reported, not an error: only its
     * channels are affected */
    for (size_t i = 0; i < s->nshards && i < 32; i++) {
        rta_redis_shard *sh = &s->shards[i];
        rta_error e;
        redisReply *sr[2] = {0};
        size_t sent = 0;
        int ok = !rta_redis_conn_ensure(sh->conn, &e);
        if (ok && (ok = !rta_redis_conn_appendf(sh->conn, &e, "ROLE"))) sent++;
        if (ok && s->node_channel[0] &&
            (ok = !rta_redis_conn_appendf(sh->conn, &e, "PUBLISH %s hb", s->node_channel)))
            sent++;
        for (size_t k = 0; k < sent; k++) { /* every reply read: none left for the next user */
            if (!(sr[k] = rta_redis_conn_read(sh->conn, &e))) {
                ok = 0;
                break;
            }
            if (sr[k]->type == REDIS_REPLY_ERROR) ok = 0;
        }
        if (ok && sr[0]->type == REDIS_REPLY_ARRAY && sr[0]->elements >= 3 &&
            sr[0]->element[2]->type == REDIS_REPLY_ARRAY)
            sh->replicas = (int)sr[0]->element[2]->elements;
        for (size_t k = 0; k < 2; k++)
            if (sr[k]) freeReplyObject(sr[k]);
        if (!ok) out->shard_down |= 1u << i;
    }
    snprintf(out->epoch_id, sizeof(out->epoch_id), "%s", s->epoch.id);
    out->epoch_changes = s->epoch_changes;
    out->replicas = s->replicas;
    return 0;
}

/* An XRANGE element: [id, [field, value, ...]]. */
static int parse_entry(const redisReply *e, rta_ctl_entry *out)
{
    memset(out, 0, sizeof(*out));
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return -1;
    out->seq = strtoull(e->element[0]->str, NULL, 10);
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        if (!strcmp(k->str, "t") && v->len < sizeof(out->type))
            memcpy(out->type, v->str, v->len + 1);
        else if (!strcmp(k->str, "s") && v->len < sizeof(out->stamp))
            memcpy(out->stamp, v->str, v->len + 1);
        else if (!strcmp(k->str, "b"))
            out->body = v->str, out->body_len = v->len;
    }
    return out->seq && out->type[0] ? 0 : -1;
}

int rta_store_redis_ctl_read(rta_store *st, uint64_t from, size_t max,
                             void (*cb)(void *ctx, const rta_ctl_entry *e), void *ctx,
                             size_t *count, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    *count = 0;
    char start[32], n[24];
    if (from)
        snprintf(start, sizeof(start), "%llu-0", (unsigned long long)from);
    else
        strcpy(start, "-");
    snprintf(n, sizeof(n), "%zu", max ? max : 1);
    const char *argv[] = {"XRANGE", RTA_RK_CTL_LOG, start, "+", "COUNT", n};
    redisReply *r = rta_redis_conn_command(s->conn, err, 6, argv, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = r->type == REDIS_REPLY_ARRAY ? 0 : rta__redis_reply_fail(r, "read the log", err);
    for (size_t i = 0; !rc && i < r->elements; i++) {
        rta_ctl_entry e;
        if (parse_entry(r->element[i], &e)) continue;
        cb(ctx, &e);
        (*count)++;
    }
    freeReplyObject(r);
    return rc;
}

int rta_store_redis_ctl_append(rta_store *st, const char *type, const char *body, size_t len,
                               uint64_t *seq, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    if (!type || !*type || strchr(type, ' ') || strlen(type) >= RTA_CTL_TYPE_MAX)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid log entry type");
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    const char *head[] = {"FCALL", RTA_REDIS_FN("rt_ctl_append"), "2", RTA_RK_CTL_SEQ, RTA_RK_CTL_LOG,
                          RTA_RK_CTL_CHANNEL};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++) rta__redis_arg_str(&a, head[i]);
    rta__redis_arg_i64(&a, s->o.ctl_log_max);
    rta__redis_arg_str(&a, type);
    rta__redis_arg(&a, body, len);
    redisReply *r = rta__redis_run(s, &a, err);
    rta__redis_argv_free(&a);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
                     r->element[0]->type == REDIS_REPLY_INTEGER
                 ? 0
                 : rta__redis_reply_fail(r, "append to the log", err);
    if (!rc && seq) *seq = (uint64_t)r->element[0]->integer;
    freeReplyObject(r);
    return rc ? rc : rta__redis_wait_replica(s, 1, err);
}

int rta_store_redis_publish(rta_store *st, const char *channel, const char *msg, size_t len,
                            rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    rta__redis_arg_str(&a, "PUBLISH");
    rta__redis_arg_str(&a, channel);
    rta__redis_arg(&a, msg, len);
    redisReply *r = rta__redis_run(s, &a, err);
    rta__redis_argv_free(&a);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = r->type == REDIS_REPLY_INTEGER ? 0 : rta__redis_reply_fail(r, "PUBLISH", err);
    freeReplyObject(r);
    return rc;
}
