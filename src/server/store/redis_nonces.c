/* store/redis_nonces.c: used TokenRequest nonces shared by every node (research 4, 6.6). A
 * batch is one pipelined round trip: the epoch first, then SET rt:n:<keyName>:<h> 1 NX PX R
 * for each nonce (R = 2W + S: a marker outlives every node's acceptance window whatever the
 * clocks' skew), then WAIT when the primary has replicas. A nil reply means another node, or
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

int rta__redis_add_nonces(rta_store *st, const rta_nonce_record *n, size_t count,
                          unsigned char *replayed, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    if (count == 0) return 0;
    memset(replayed, 0, count);
    int rc = rta_redis_conn_ensure(s->conn, err);
    int node = s->o.node_id[0] != 0;
    if (!rc && node) rc = rta__redis_append_epoch(s, err);
    char px[24];
    snprintf(px, sizeof(px), "%lld", (long long)s->o.nonce_retention_ms);
    for (size_t i = 0; !rc && i < count; i++) {
        char k[RTA_RK_MAX];
        size_t kl = rta_rk_nonce(k, sizeof(k), n[i].key_name, n[i].nonce);
        if (!kl) return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid nonce key");
        const char *argv[] = {"SET", k, "1", "NX", "PX", px};
        rc = rta_redis_conn_append(s->conn, 6, argv, NULL, err);
    }
    if (!rc && node) {
        redisReply *e = rta_redis_conn_read(s->conn, err);
        rc = e ? rta__redis_take_epoch(s, e, err) : RTA_ERR_INTERNAL;
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
        if (s->nonce_floor && n[i].expires <= s->nonce_floor) replayed[i] = 1;
    }
    if (rc) {
        /* the rest of the pipeline is unread: drop the connection rather than misread it */
        rta_redis_conn_drop(s->conn);
        return rc;
    }
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
