/* store/redis_stats.c: app statistics in Redis (store.h add_stats / list_stats; GET /stats,
 * server/stats.h), shared by every node so that any node answers for the cluster.
 *
 *   rt:{g}:stats:<appId>:<minute>  hash: each sum column (HINCRBY), and each peak column per
 *                                  node as "<column>@<nodeId>" (HSET: a node's peak for the
 *                                  minute only grows, and each flush sends it whole)
 *   rt:{g}:stats:<appId>           sorted set of the app's minutes (score = member = minute)
 *
 * Both expire RTA_STATS_RETENTION_MS after their minute (PEXPIREAT; the index is trimmed on
 * each write), so no purge pass is needed and deleted apps' statistics go the same way. A
 * minute's peak for the cluster is the sum of the nodes' peaks (docs/operations.md: an upper
 * bound of the true peak, exact when the nodes peak together). One flush is one pipelined round
 * trip.
 *
 * Must never: leave a pipeline half read (the connection is dropped instead). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/redis_internal.h"

static void stats_keys(const char *app_id, int64_t minute, char *k, size_t ks, char *idx,
                       size_t is)
{
    snprintf(k, ks, "rt:{g}:stats:%s:%lld", app_id, (long long)minute);
    snprintf(idx, is, "rt:{g}:stats:%s", app_id);
}

int rta__redis_add_stats(rta_store *st, const rta_stats_row *rows, size_t n, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    const char *node = s->o.node_id[0] ? s->o.node_id : "node";
    int rc = rta_redis_conn_ensure(s->conn, err);
    size_t sent = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const rta_stats_row *r = &rows[i];
        char k[RTA_RK_MAX], idx[RTA_RK_MAX], v[24], m[24], at[24], ttl[24], cut[24], f[96];
        stats_keys(r->app_id, r->minute, k, sizeof(k), idx, sizeof(idx));
        snprintf(m, sizeof(m), "%lld", (long long)r->minute);
        snprintf(at, sizeof(at), "%lld", (long long)(r->minute * 60000 + RTA_STATS_RETENTION_MS));
        snprintf(ttl, sizeof(ttl), "%lld", (long long)RTA_STATS_RETENTION_MS);
        snprintf(cut, sizeof(cut), "(%lld",
                 (long long)(r->minute - RTA_STATS_RETENTION_MS / 60000));
        for (int c = 0; !rc && c < RTA_SF_COUNT; c++) {
            if (!r->v[c]) continue; /* a peak of 0 adds nothing to a sum over nodes */
            snprintf(v, sizeof(v), "%lld", (long long)r->v[c]);
            if (rta_stats_field_is_peak((rta_stats_field)c)) {
                snprintf(f, sizeof(f), "%s@%s", rta_stats_field_column((rta_stats_field)c), node);
                const char *argv[] = {"HSET", k, f, v};
                rc = rta_redis_conn_append(s->conn, 4, argv, NULL, err);
            } else {
                const char *argv[] = {"HINCRBY", k, rta_stats_field_column((rta_stats_field)c),
                                      v};
                rc = rta_redis_conn_append(s->conn, 4, argv, NULL, err);
            }
            sent += !rc;
        }
        const char *expire[] = {"PEXPIREAT", k, at};
        const char *zadd[] = {"ZADD", idx, m, m};
        const char *trim[] = {"ZREMRANGEBYSCORE", idx, "-inf", cut};
        const char *idx_ttl[] = {"PEXPIRE", idx, ttl};
        if (!rc && !(rc = rta_redis_conn_append(s->conn, 3, expire, NULL, err))) sent++;
        if (!rc && !(rc = rta_redis_conn_append(s->conn, 4, zadd, NULL, err))) sent++;
        if (!rc && !(rc = rta_redis_conn_append(s->conn, 4, trim, NULL, err))) sent++;
        if (!rc && !(rc = rta_redis_conn_append(s->conn, 3, idx_ttl, NULL, err))) sent++;
    }
    for (size_t i = 0; i < sent; i++) {
        redisReply *r = rta_redis_conn_read(s->conn, err);
        if (!r) return RTA_ERR_INTERNAL; /* the connection is dropped */
        if (!rc && r->type == REDIS_REPLY_ERROR) rc = rta__redis_reply_fail(r, "add stats", err);
        freeReplyObject(r);
    }
    if (rc) rta_redis_conn_drop(s->conn);
    return rc;
}

/* One minute's hash (HGETALL reply) into r: sums as they are, peaks summed over nodes. */
static void parse_hash(const redisReply *h, rta_stats_row *r)
{
    memset(r->v, 0, sizeof(r->v));
    for (size_t i = 0; h->type == REDIS_REPLY_ARRAY && i + 1 < h->elements; i += 2) {
        const redisReply *f = h->element[i], *v = h->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        int64_t n;
        if (rta_rk_parse_i64(v->str, v->len, &n)) continue;
        const char *at = memchr(f->str, '@', f->len);
        size_t name_len = at ? (size_t)(at - f->str) : f->len;
        for (int c = 0; c < RTA_SF_COUNT; c++) {
            const char *col = rta_stats_field_column((rta_stats_field)c);
            if (strlen(col) != name_len || memcmp(col, f->str, name_len)) continue;
            if ((at != NULL) != (rta_stats_field_is_peak((rta_stats_field)c) != 0))
                break; /* a sum with a node, or a peak without: not ours */
            r->v[c] += n;
            break;
        }
    }
}

int rta__redis_list_stats(rta_store *st, const char *app_id, int64_t from_minute,
                          int64_t to_minute, void (*cb)(void *ctx, const rta_stats_row *r),
                          void *ctx, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    char k[RTA_RK_MAX], idx[RTA_RK_MAX], from[24], to[24];
    stats_keys(app_id, 0, k, sizeof(k), idx, sizeof(idx));
    snprintf(from, sizeof(from), "%lld", (long long)from_minute);
    snprintf(to, sizeof(to), "%lld", (long long)to_minute);
    const char *range[] = {"ZRANGEBYSCORE", idx, from, to};
    redisReply *mins = rta_redis_conn_command(s->conn, err, 4, range, NULL);
    if (!mins) return RTA_ERR_INTERNAL;
    int rc = 0;
    if (mins->type != REDIS_REPLY_ARRAY) rc = rta__redis_reply_fail(mins, "list stats", err);
    size_t sent = 0;
    for (size_t i = 0; !rc && i < mins->elements; i++) {
        const redisReply *m = mins->element[i];
        int64_t minute;
        if (m->type != REDIS_REPLY_STRING || rta_rk_parse_i64(m->str, m->len, &minute)) continue;
        stats_keys(app_id, minute, k, sizeof(k), idx, sizeof(idx));
        const char *argv[] = {"HGETALL", k};
        if (!(rc = rta_redis_conn_append(s->conn, 2, argv, NULL, err))) sent++;
    }
    rta_stats_row row;
    memset(&row, 0, sizeof(row));
    snprintf(row.app_id, sizeof(row.app_id), "%s", app_id);
    size_t read = 0;
    for (size_t i = 0; read < sent && i < mins->elements; i++) {
        const redisReply *m = mins->element[i];
        int64_t minute;
        if (m->type != REDIS_REPLY_STRING || rta_rk_parse_i64(m->str, m->len, &minute)) continue;
        redisReply *h = rta_redis_conn_read(s->conn, err);
        read++;
        if (!h) {
            freeReplyObject(mins);
            return RTA_ERR_INTERNAL;
        }
        if (!rc && h->type == REDIS_REPLY_ERROR) rc = rta__redis_reply_fail(h, "list stats", err);
        if (!rc && h->type == REDIS_REPLY_ARRAY && h->elements) { /* empty: it expired */
            row.minute = minute;
            parse_hash(h, &row);
            cb(ctx, &row);
        }
        freeReplyObject(h);
    }
    freeReplyObject(mins);
    if (rc && read < sent) rta_redis_conn_drop(s->conn);
    return rc;
}
