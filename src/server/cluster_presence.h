/* cluster_presence.h: presence across the nodes of a cluster (docs/cluster.md, "Presence
 * across nodes"; design 6.9; RTP2, RTP17, RTP18).
 *
 * Each member lives in Redis (store/redis_presence.h) under the process that holds its
 * connection (its owner), and every change travels as a PRESENCE through the channel's
 * sequence (the relay's publish), written to Redis before it is published: a node that
 * starts following a channel reads the members (seed) and applies what it hears after.
 * Every owner beats in Redis each second; one silent for the presence grace plus a beat is
 * dead, and the one node that wins its reaping lock removes its members and publishes one
 * LEAVE each. A connection resumed on another node keeps its members there (the new node
 * becomes their owner in Redis); the node it left gives up its claim after the grace.
 *
 * Owned by server/cluster_channels.c. Loop thread only; Redis only in store-thread jobs.
 * Must never: publish a LEAVE for a member it did not remove from Redis; log presence data. */
#ifndef RTA_SERVER_CLUSTER_PRESENCE_H
#define RTA_SERVER_CLUSTER_PRESENCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/protocol.h"
#include "server/gateway/gateway.h"

typedef struct rta_server rta_server;
typedef struct rta_cluster_presence rta_cluster_presence;

/* A dead node's members leave --presence-grace (the grace a dropped connection's members get
 * on one node, RTP17: gateway/resume.c) plus one heartbeat after it was last heard. */
#define RTA_CLUSTER_PRESENCE_BEAT_MS 1000

int rta_cluster_presence_create(rta_server *srv, rta_cluster_presence **out);

/* The relay's presence hooks (gateway.h, rta_gateway_relay). */
void rta_cluster_presence_publish(rta_cluster_presence *cp, const char *app_id,
                                  const char *channel, const rta_presence_message *ev, size_t n,
                                  rta_gateway_published_cb done, void *arg);
void rta_cluster_presence_owned(rta_cluster_presence *cp, const char *app_id,
                                const char *channel, const rta_presence_message *m, size_t n);
void rta_cluster_presence_orphaned(rta_cluster_presence *cp, const char *app_id,
                                   const char *channel, const char *conn_id);

/* Reads the channel's members into the gateway (rta_gateway_presence_seed), then
 * done(ctx, app_id, channel), also when the read failed (the attach does not wait forever;
 * a warning says the members of other nodes are missing). */
void rta_cluster_presence_seed(rta_cluster_presence *cp, const char *app_id, const char *channel,
                               void (*done)(void *ctx, const char *app_id, const char *channel),
                               void *ctx);

/* A sequenced PRESENCE heard on the channel (serial): to the gateway's mirror. */
void rta_cluster_presence_heard(rta_cluster_presence *cp, const char *app_id,
                                const char *channel, uint64_t serial,
                                const rta_protocol_message *pm);

/* The owner id of this process in a PRESENCE's id ("<owner>|<n>"), or "-" for a reaper's
 * LEAVEs (every node applies those). Pure: for tests. Returns its length, 0 when absent. */
size_t rta_cluster_presence_origin(const char *pm_id, const char **origin);

/* From cluster_channels' tick (monotonic ms): heartbeats, reaping, orphans. */
void rta_cluster_presence_tick(rta_cluster_presence *cp, int64_t now);
void rta_cluster_presence_stop(rta_cluster_presence *cp);
void rta_cluster_presence_free(rta_cluster_presence *cp);

#endif
