/* store/redis_revocations.c: revocations in Redis. A write is one rt_rev_apply call per key:
 * the records merged into rt:{g}:rev:<appId> (the earlier appliesAt, the later expiry for
 * the same key, target and issuedBefore, as the SQLite store merges them), their expiry index,
 * and one control-log entry whose doorbell tells every node at once. With replicas, the call
 * returns only after WAIT 1 saw a replica take it: a revocation acknowledged with 201
 * survives a failover.
 *
 * Must never: acknowledge before the Function's reply (and WAIT's, with replicas) was read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/redis_functions.h"
#include "server/store/redis_internal.h"

/* The appId of "appId.keyId" into out. */
static int app_of(const char *key_name, char *out, size_t size)
{
    const char *dot = key_name ? strchr(key_name, '.') : NULL;
    if (!dot || dot == key_name || (size_t)(dot - key_name) >= size) return -1;
    memcpy(out, key_name, (size_t)(dot - key_name));
    out[dot - key_name] = '\0';
    return 0;
}

/* The records r[0..n) all of one key. */
static int apply_one_key(rta_redis_store *s, const rta_revocation_record *r, size_t n,
                         rta_error *err)
{
    char app[RTA_KEY_ID_MAX + 1], rev[RTA_RK_MAX];
    if (app_of(r[0].key_name, app, sizeof(app)) || strchr(r[0].key_name, ' '))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid key name");
    rta_rk_rev(rev, sizeof(rev), app);
    char *body = NULL;
    int rc = rta_ctl_rev_body_encode(r[0].key_name, r, n, &body);
    if (rc) return rta_error_set(err, rc, "Out of memory");
    char (*nums)[3][24] = calloc(n, sizeof(*nums));
    if (!nums) {
        free(body);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    const char *head[] = {"FCALL", RTA_REDIS_FN("rt_rev_apply"), "4", rev, RTA_RK_REV_EXPIRY, RTA_RK_CTL_SEQ,
                          RTA_RK_CTL_LOG, RTA_RK_CTL_CHANNEL};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++) rta__redis_arg_str(&a, head[i]);
    rta__redis_arg_i64(&a, s->o.ctl_log_max);
    rta__redis_arg_str(&a, r[0].key_name);
    rta__redis_arg_str(&a, body);
    rta__redis_arg_i64(&a, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        snprintf(nums[i][0], 24, "%lld", (long long)r[i].issued_before);
        snprintf(nums[i][1], 24, "%lld", (long long)r[i].applies_at);
        snprintf(nums[i][2], 24, "%lld", (long long)r[i].expires);
        rta__redis_arg_str(&a, r[i].target);
        for (int k = 0; k < 3; k++) rta__redis_arg_str(&a, nums[i][k]);
    }
    redisReply *rep = rta__redis_run(s, &a, err);
    if (!rep) {
        rc = RTA_ERR_INTERNAL;
    } else {
        rc = rep->type == REDIS_REPLY_ARRAY ? 0 : rta__redis_reply_fail(rep, "revoke", err);
        freeReplyObject(rep);
    }
    if (!rc) rc = rta__redis_wait_replica(s, 1, err);
    rta__redis_argv_free(&a);
    free(nums);
    free(body);
    return rc;
}

int rta__redis_add_revocations(rta_store *st, const rta_revocation_record *r, size_t count,
                               rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    size_t i = 0;
    while (i < count) { /* runs of one key (a request revokes for one key) */
        size_t j = i + 1;
        while (j < count && !strcmp(r[j].key_name, r[i].key_name)) j++;
        int rc = apply_one_key(s, r + i, j - i, err);
        if (rc) return rc;
        i = j;
    }
    return 0;
}

int rta__redis_list_revocations(rta_store *st, int64_t now,
                                void (*cb)(void *ctx, const rta_revocation_record *r), void *ctx,
                                rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    rta__redis_strings apps;
    int rc = rta__redis_smembers_sorted(s, RTA_RK_APPS, &apps, err);
    if (rc) return rc;
    redisReply **h = calloc(apps.n + 1, sizeof(*h));
    if (!h) rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (!rc) rc = rta_redis_conn_ensure(s->conn, err);
    for (size_t i = 0; !rc && i < apps.n; i++) {
        char k[RTA_RK_MAX];
        rta_rk_rev(k, sizeof(k), apps.v[i]);
        rc = rta_redis_conn_appendf(s->conn, err, "HGETALL %s", k);
    }
    for (size_t i = 0; !rc && i < apps.n; i++)
        if (!(h[i] = rta_redis_conn_read(s->conn, err))) rc = RTA_ERR_INTERNAL;
    char key_name[RTA_KEY_NAME_MAX + 1];
    char *target = NULL;
    size_t target_cap = 0;
    for (size_t i = 0; !rc && i < apps.n; i++) {
        if (h[i]->type != REDIS_REPLY_ARRAY) continue;
        for (size_t j = 0; !rc && j + 1 < h[i]->elements; j += 2) {
            const redisReply *f = h[i]->element[j], *v = h[i]->element[j + 1];
            int64_t ib, aa, exp;
            const char *t;
            size_t tl;
            if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
                rta_rk_rev_field_parse(f->str, f->len, key_name, sizeof(key_name), &ib, &t, &tl) ||
                rta_rk_rev_value_parse(v->str, v->len, &aa, &exp) || exp <= now ||
                memchr(t, '\0', tl))
                continue;
            if (tl + 1 > target_cap) {
                char *grown = realloc(target, tl + 1);
                if (!grown) {
                    rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
                    break;
                }
                target = grown;
                target_cap = tl + 1;
            }
            memcpy(target, t, tl);
            target[tl] = '\0';
            rta_revocation_record r = {key_name, target, ib, aa, exp};
            cb(ctx, &r);
        }
    }
    free(target);
    for (size_t i = 0; h && i < apps.n; i++)
        if (h[i]) freeReplyObject(h[i]);
    free(h);
    rta__redis_strings_free(&apps);
    return rc;
}

int rta__redis_purge(rta_store *st, int64_t now, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    for (int round = 0; round < 20; round++) { /* 1000 a call: never one long script */
        rta__redis_argv a;
        rta__redis_argv_init(&a);
        const char *args[] = {"FCALL", RTA_REDIS_FN("rt_rev_purge"), "1", RTA_RK_REV_EXPIRY};
        for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
            rta__redis_arg_str(&a, args[i]);
        rta__redis_arg_i64(&a, now);
        rta__redis_arg_str(&a, RTA_RK_REV_PREFIX);
        rta__redis_arg_i64(&a, 1000);
        redisReply *r = rta__redis_run(s, &a, err);
        rta__redis_argv_free(&a);
        if (!r) return RTA_ERR_INTERNAL;
        long long removed = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        int rc = removed < 0 ? rta__redis_reply_fail(r, "purge", err) : 0;
        freeReplyObject(r);
        if (rc || removed < 1000) return rc;
    }
    return 0;
}
