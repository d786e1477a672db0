/* store/redis_channels.c: publish through rt_ch_publish, read a channel's stream; see
 * store/redis_channels.h. Store thread.
 *
 * Must never: report a publish as done before its reply was read; hand out an entry that is
 * not one of ours (entries without a payload are skipped); log message contents. */
#include "server/store/redis_channels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/redis_functions.h"
#include "server/store/redis_internal.h"

#define META_TTL_MS (24LL * 3600 * 1000) /* a channel's serial outlives its stream by far */

/* The connection of item's channel (its shard's with --redis-shard) and its index among
 * the store's connections: 0 the main one, 1 + i shard i. */
static rta_redis_conn *item_conn(rta_redis_store *s, const rta_ch_publish_item *it, size_t *slot,
                                 int **replicas)
{
    char tag[RTA_CK_MAX];
    size_t len = rta_ck_key(tag, sizeof(tag), it->app_id, it->channel, "");
    rta_redis_conn *c = rta__redis_channel_conn(s, tag, len, replicas);
    *slot = 0;
    if (s->nshards) *slot = 1 + rta_ck_shard(tag, len, (uint32_t)s->nshards);
    return c;
}

static int append_publish(rta_redis_conn *conn, const rta_ch_limits *lim,
                          const rta_ch_publish_item *it, rta_error *err)
{
    char m[RTA_CK_MAX], log[RTA_CK_MAX], idem[RTA_CK_MAX], chan[RTA_CK_MAX];
    char suffix[RTA_CK_ID_MAX + 4];
    size_t idlen = it->msg_id ? strlen(it->msg_id) : 0;
    if (!idlen || idlen > RTA_CK_ID_MAX)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid message id");
    snprintf(suffix, sizeof(suffix), ":i:%s", it->msg_id);
    if (!rta_ck_key(m, sizeof(m), it->app_id, it->channel, ":m") ||
        !rta_ck_key(log, sizeof(log), it->app_id, it->channel, ":log") ||
        !rta_ck_key(idem, sizeof(idem), it->app_id, it->channel, suffix) ||
        !rta_ck_key(chan, sizeof(chan), it->app_id, it->channel, ""))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid channel");
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    const char *head[] = {"FCALL", RTA_REDIS_FN("rt_ch_publish"), "3", m, log, idem, chan};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        rta__redis_arg_str(&a, head[i]);
    rta__redis_arg(&a, it->payload, it->len);
    rta__redis_arg_i64(&a, lim->log_max > 0 ? lim->log_max : 1000);
    rta__redis_arg_i64(&a, lim->log_ttl_ms > 0 ? lim->log_ttl_ms : 120000);
    rta__redis_arg_i64(&a, lim->id_window_ms > 0 ? lim->id_window_ms : 120000);
    rta__redis_arg_i64(&a, META_TTL_MS);
    int rc = a.oom ? rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory")
                   : rta_redis_conn_append(conn, a.argc, a.argv, a.lens, err);
    rta__redis_argv_free(&a);
    return rc;
}

/* One pipeline per connection (the main one, or each shard a batch touches): items go out in
 * order, their replies are read in the same order, connection by connection. A connection
 * that fails fails only its own items (the others' shards answered): with shards, one Redis
 * down NACKs only its channels' publishes. */
int rta_store_redis_ch_publish(rta_store *st, const rta_ch_limits *lim, rta_ch_publish_item *items,
                               size_t n, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    enum { SLOTS = RTA_REDIS_MAX_SHARDS + 1 };
    rta_redis_conn *conns[SLOTS] = {0};
    int *replicas[SLOTS] = {0};
    int used[SLOTS] = {0}, rcs[SLOTS] = {0};
    rta_error errs[SLOTS];
    size_t *slot_of = calloc(n ? n : 1, sizeof(*slot_of));
    if (!slot_of) {
        int rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        for (size_t i = 0; i < n; i++) {
            items[i].rc = rc;
            items[i].err = *err;
        }
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k;
        int *rep;
        rta_redis_conn *c = item_conn(s, &items[i], &k, &rep);
        slot_of[i] = k;
        if (!used[k]) {
            used[k] = 1;
            conns[k] = c;
            replicas[k] = rep;
            rcs[k] = rta_redis_conn_ensure(c, &errs[k]);
        }
        if (rcs[k]) continue;
        items[i].rc = append_publish(c, lim, &items[i], &items[i].err);
        if (items[i].rc == RTA_ERR_INTERNAL) { /* the pipeline itself failed */
            rcs[k] = items[i].rc;
            errs[k] = items[i].err;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = slot_of[i];
        if (rcs[k] || items[i].rc) continue; /* its connection failed, or refused before sent */
        redisReply *r = rta_redis_conn_read(conns[k], &errs[k]);
        if (!r) {
            rcs[k] = RTA_ERR_INTERNAL;
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer > 0) {
            items[i].serial = (uint64_t)r->element[0]->integer;
            items[i].duplicate =
                r->element[2]->type == REDIS_REPLY_INTEGER && r->element[2]->integer == 1;
        } else {
            items[i].rc = rta__redis_reply_fail(r, "publish", &items[i].err);
        }
        freeReplyObject(r);
    }
    int rc = 0, all_failed = n > 0;
    for (size_t k = 0; k < SLOTS; k++) {
        if (!used[k]) continue;
        if (!rcs[k]) rcs[k] = rta__redis_wait_replica_on(s, conns[k], *replicas[k], &errs[k]);
        if (!rcs[k])
            all_failed = 0;
        else if (!rc) {
            rc = rcs[k];
            *err = errs[k];
        }
    }
    for (size_t i = 0; i < n; i++)
        if (rcs[slot_of[i]]) {
            items[i].rc = rcs[slot_of[i]];
            items[i].err = errs[slot_of[i]];
        }
    free(slot_of);
    /* 0 when some Redis answered (each item's rc says how it went); else every item failed */
    return all_failed ? rc : 0;
}

/* An XRANGE element [id, [field, value, ...]] with its "d" field. */
static int parse_entry(const redisReply *e, rta_ch_entry *out)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return -1;
    out->serial = strtoull(e->element[0]->str, NULL, 10);
    out->payload = NULL;
    const redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2)
        if (f->element[i]->type == REDIS_REPLY_STRING && !strcmp(f->element[i]->str, "d") &&
            f->element[i + 1]->type == REDIS_REPLY_STRING) {
            out->payload = f->element[i + 1]->str;
            out->len = f->element[i + 1]->len;
        }
    return out->serial && out->payload ? 0 : -1;
}

/* Hands every entry of an XRANGE/XREVRANGE reply to cb. */
static int take_range(redisReply *r, void (*cb)(void *ctx, const rta_ch_entry *e), void *ctx,
                      size_t *count, rta_error *err)
{
    if (r->type != REDIS_REPLY_ARRAY) return rta__redis_reply_fail(r, "read a channel", err);
    for (size_t i = 0; i < r->elements; i++) {
        rta_ch_entry e;
        if (parse_entry(r->element[i], &e)) continue;
        cb(ctx, &e);
        (*count)++;
    }
    return 0;
}

static redisReply *xrange(rta_redis_conn *c, const char *log, uint64_t from, size_t max,
                          rta_error *err)
{
    char start[32], n[24];
    snprintf(start, sizeof(start), "%llu-0", (unsigned long long)from);
    snprintf(n, sizeof(n), "%zu", max ? max : 1);
    const char *argv[] = {"XRANGE", log, start, "+", "COUNT", n};
    return rta_redis_conn_command(c, err, 6, argv, NULL);
}

int rta_store_redis_ch_read(rta_store *st, rta_ch_read *q,
                            void (*cb)(void *ctx, const rta_ch_entry *e), void *ctx, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    char m[RTA_CK_MAX], log[RTA_CK_MAX];
    q->head = 0;
    q->head_epoch[0] = '\0';
    q->restarted = 0;
    q->count = 0;
    if (!rta_ck_key(m, sizeof(m), q->app_id, q->channel, ":m") ||
        !rta_ck_key(log, sizeof(log), q->app_id, q->channel, ":log"))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid channel");
    rta_redis_conn *c = rta__redis_channel_conn(s, m, strlen(m), NULL);
    const char *argv[] = {"HMGET", m, "s", "e"};
    redisReply *r = rta_redis_conn_command(c, err, 4, argv, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        if (r->element[0]->type == REDIS_REPLY_STRING)
            q->head = strtoull(r->element[0]->str, NULL, 10);
        if (r->element[1]->type == REDIS_REPLY_STRING && r->element[1]->len < RTA_CK_EPOCH_MAX)
            memcpy(q->head_epoch, r->element[1]->str, r->element[1]->len + 1);
    } else {
        rc = rta__redis_reply_fail(r, "read a channel's head", err);
    }
    freeReplyObject(r);
    if (rc || !q->from) return rc;
    uint64_t from = q->from;
    if (q->epoch && q->epoch[0] && q->head_epoch[0] && strcmp(q->epoch, q->head_epoch)) {
        q->restarted = 1; /* Redis made the channel anew: its serials start again */
        from = 1;
    }
    if (q->head && from > q->head) return 0; /* nothing newer: spare the round trip */
    if (!(r = xrange(c, log, from, q->max, err))) return RTA_ERR_INTERNAL;
    rc = take_range(r, cb, ctx, &q->count, err);
    freeReplyObject(r);
    return rc;
}

int rta_store_redis_ch_history(rta_store *st, const char *app_id, const char *channel,
                               int backwards, uint64_t bound, size_t max,
                               void (*cb)(void *ctx, const rta_ch_entry *e), void *ctx,
                               size_t *count, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    char log[RTA_CK_MAX], lo[32], hi[32], n[24];
    *count = 0;
    if (!rta_ck_key(log, sizeof(log), app_id, channel, ":log"))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid channel");
    snprintf(n, sizeof(n), "%zu", max ? max : 1);
    if (backwards) {
        if (bound)
            snprintf(hi, sizeof(hi), "%llu-0", (unsigned long long)bound);
        else
            snprintf(hi, sizeof(hi), "+");
        snprintf(lo, sizeof(lo), "-");
    } else {
        if (bound)
            snprintf(lo, sizeof(lo), "%llu-0", (unsigned long long)bound);
        else
            snprintf(lo, sizeof(lo), "-");
        snprintf(hi, sizeof(hi), "+");
    }
    const char *argv[] = {backwards ? "XREVRANGE" : "XRANGE",
                          log,
                          backwards ? hi : lo,
                          backwards ? lo : hi,
                          "COUNT",
                          n};
    rta_redis_conn *c = rta__redis_channel_conn(s, log, strlen(log), NULL);
    redisReply *r = rta_redis_conn_command(c, err, 6, argv, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = take_range(r, cb, ctx, count, err);
    freeReplyObject(r);
    return rc;
}

int rta_ch_copies_add(rta_ch_copies *c, const rta_ch_entry *e)
{
    if (c->n >= c->max) return 1;
    if (!c->v && !(c->v = calloc(c->max, sizeof(*c->v)))) return -1;
    char *copy = malloc(e->len ? e->len : 1);
    if (!copy) return -1;
    memcpy(copy, e->payload, e->len);
    c->v[c->n++] = (rta_ch_copy){e->serial, copy, e->len};
    return 0;
}

void rta_ch_copies_free(rta_ch_copies *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].payload);
    free(c->v);
    *c = (rta_ch_copies){0};
}
