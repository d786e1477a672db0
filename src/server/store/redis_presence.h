/* store/redis_presence.h: presence members across nodes on the Redis store (cluster mode;
 * docs/cluster.md, "Presence across nodes"; design 6.9). Key names:
 *
 *   rt:{c:<app>:<name>}:p     HASH  "<connectionId>\n<clientId>" -> "<owner>\n<member>"
 *   rt:{g}:pres:<owner>       SET   "<appId>\n<channel>": the channels owner wrote members to
 *   rt:{g}:pres:nodes         ZSET  owner -> its last heartbeat (Redis TIME, ms)
 *   rt:{g}:pres:reap:<owner>  STRING the node reaping a dead owner's members (SET NX PX)
 *
 * An owner is one process of a node: "<nodeId>.<16 hex>" (a restarted node is a new owner,
 * so its predecessor's members are still reaped). A member is the msgpack PRESENCE
 * ProtocolMessage holding it (server/cluster_presence.c writes and reads them).
 *
 * Threads: the store thread only (every call blocks on Redis, with the connection's
 * deadlines). Errors: 50000 with err filled when Redis cannot be reached or refused. */
#ifndef RTA_SERVER_STORE_REDIS_PRESENCE_H
#define RTA_SERVER_STORE_REDIS_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "rtauth/error.h"
#include "server/store/store.h"

#define RTA_PRES_OWNER_MAX 96

/* One member to store (value set) or remove (value NULL). Strings borrowed for the call. */
typedef struct rta_pres_write {
    const char *app_id, *channel, *conn_id, *client_id;
    const void *value;
    size_t len;
} rta_pres_write;

/* Writes every item, in order, in one pipelined round trip, as `owner`'s. */
int rta_store_redis_pres_write(rta_store *s, const char *owner, const rta_pres_write *w, size_t n,
                               rta_error *err);

/* Every member of the channel: cb(ctx, owner, member bytes), borrowed for the call. */
int rta_store_redis_pres_read(rta_store *s, const char *app_id, const char *channel,
                              void (*cb)(void *ctx, const char *owner, size_t owner_len,
                                         const char *member, size_t len),
                              void *ctx, rta_error *err);

/* owner's heartbeat (Redis's clock); cb(ctx, other) for each owner silent for dead_after_ms. */
int rta_store_redis_pres_beat(rta_store *s, const char *owner, int64_t dead_after_ms,
                              void (*cb)(void *ctx, const char *other, size_t len), void *ctx,
                              rta_error *err);

/* Removes members of `owner` and hands each to cb(ctx, app, channel, member) once removed:
 * - app_id NULL: a dead owner's, on every channel, by the one node (`me`) that wins its
 *   reaping lock (*won 1; 0: another node has it); the owner is then forgotten;
 * - else those of connection conn_id on (app_id, channel) still owner's (an orphan).
 * Each channel's removal is atomic (a member taken over meanwhile by another owner stays). */
int rta_store_redis_pres_reap(rta_store *s, const char *me, const char *owner, const char *app_id,
                              const char *channel, const char *conn_id,
                              void (*cb)(void *ctx, const char *app_id, const char *channel,
                                         const char *member, size_t len),
                              void *ctx, int *won, rta_error *err);

#endif
