/* store/redis_nonces.c: used TokenRequest nonces shared by every node (research 4, 6.6). A
 * batch is one pipelined round trip: the epoch first (a GET once this node knows it), then
 * SET rt:n:<keyName>:<h> 1 NX PX R for each nonce (R = 2W + S: a marker outlives every
 * node's acceptance window whatever the clocks' skew), then WAIT when the primary has
 * replicas. A nil reply means another node, or
 * this one before a restart, used the nonce: replayed[i] = 1 (40105).
 *
 * After Redis lost its data (the epoch was made anew with the loss flag), a nonce whose
 * TokenRequest could have been used before the loss (its expiry within R of the new epoch's
 * birth) is refused as replayed, since the marker that would have said so is gone.
 *
 * Must never: accept a nonce whose SET reply it did not read (an I/O error fails the whole
 * batch: the caller answers 5xx), or put a nonce in a message (markers hold only its hash). */
#include <stdio.h>
#include <string.h>

#include "server/store/redis_internal.h"

/* Whether a GET of the epoch says what this node already knows. */
static int epoch_unchanged(const rta_redis_store *s, const redisReply *r)
{
    rta_rk_epoch e;
    return r->type == REDIS_REPLY_STRING && !rta_rk_epoch_parse(r->str, r->len, &e) &&
           !strcmp(e.id, s->epoch.id) && e.birth == s->epoch.birth && e.loss == s->epoch.loss;
}

int rta__redis_add_nonces(rta_store *st, const rta_nonce_record *n, size_t count,
                          unsigned char *replayed, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    if (count == 0) return 0;
    memset(replayed, 0, count);
    int rc = rta_redis_conn_ensure(s->conn, err);
    int node = s->o.node_id[0] != 0;
    /* Once the node knows the epoch, a plain GET checks it: the Function, which can also
     * make a lost epoch anew, cost Redis 17.7 us a call against 1.8 us for the GET
     * (INFO commandstats under the requestToken benchmark), once per batch. Only when the
     * GET shows a change does the Function run, after the SETs (below). */
    int quick = node && s->have_epoch, recheck = 0;
    if (!rc && quick) {
        const char *argv[] = {"GET", RTA_RK_EPOCH};
        rc = rta_redis_conn_append(s->conn, 2, argv, NULL, err);
    } else if (!rc && node) {
        rc = rta__redis_append_epoch(s, err);
    }
    char px[24];
    snprintf(px, sizeof(px), "%lld", (long long)s->o.nonce_retention_ms);
    for (size_t i = 0; !rc && i < count; i++) {
        char k[RTA_RK_MAX];
        size_t kl = rta_rk_nonce(k, sizeof(k), n[i].key_name, n[i].nonce);
        if (!kl) { /* the commands appended so far are dropped with the connection, below */
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid nonce key");
            break;
        }
        const char *argv[] = {"SET", k, "1", "NX", "PX", px};
        rc = rta_redis_conn_append(s->conn, 6, argv, NULL, err);
    }
    if (!rc && node) {
        redisReply *e = rta_redis_conn_read(s->conn, err);
        if (!e)
            rc = RTA_ERR_INTERNAL;
        else if (quick)
            recheck = !epoch_unchanged(s, e);
        else
            rc = rta__redis_take_epoch(s, e, err);
        if (e) freeReplyObject(e);
    }
    for (size_t i = 0; !rc && i < count; i++) {
        redisReply *r = rta_redis_conn_read(s->conn, err);
        if (!r) return RTA_ERR_INTERNAL; /* nothing acknowledged: the connection is dropped */
        if (r->type == REDIS_REPLY_STATUS)
            replayed[i] = 0;
        else if (r->type == REDIS_REPLY_NIL)
            replayed[i] = 1;
        else
            rc = rta__redis_reply_fail(r, "record nonce", err);
        freeReplyObject(r);
    }
    if (!rc && recheck) {
        /* The epoch is gone or another: the Function takes the change in (a new epoch made
         * now, with the loss flag, if none is there yet) and sets the floor, which then
         * covers this batch too: its markers were written after the loss either way. */
        rc = rta__redis_run_epoch(s, err);
    }
    if (rc) {
        /* the rest of the pipeline is unread: drop the connection rather than misread it */
        rta_redis_conn_drop(s->conn);
        return rc;
    }
    for (size_t i = 0; i < count; i++)
        if (s->nonce_floor && n[i].expires <= s->nonce_floor) replayed[i] = 1;
    return rta__redis_wait_replica(s, 0, err);
}

/* Nothing to load: every node asks Redis for every nonce, so an in-memory copy would add
 * nothing (the node's own cache still catches a replay to itself before the round trip). */
int rta__redis_list_nonces(rta_store *st, int64_t now,
                           void (*cb)(void *ctx, const rta_nonce_record *n), void *ctx,
                           rta_error *err)
{
    (void)st;
    (void)now;
    (void)cb;
    (void)ctx;
    (void)err;
    return 0;
}
