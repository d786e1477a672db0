/* cluster.h: a node of an rtauthd cluster keeping in step with the others through Redis
 * (docs/cluster.md): it follows the control log (doorbells over PUB/SUB, gaps filled from the
 * log, a full reload when the log cannot be trusted), applies other nodes' revocations to its
 * token service and its live connections, writes its state back when Redis lost its data
 * (epoch change), says whether it is ready to serve, and, cut off from Redis for longer than
 * the partition grace, stops vouching for revocable tokens.
 *
 * Part of the process room: it holds the server and calls into the auth room
 * (rta_token_service_apply_revocations), the gateway (rta_gateway_revoked) and the store
 * (store/redis.h, through store-thread jobs). Loop thread only.
 */
#ifndef RTA_SERVER_CLUSTER_H
#define RTA_SERVER_CLUSTER_H

#include <stddef.h>

#include "rtauth/error.h"

typedef struct rta_server rta_server;
typedef struct rta_cluster rta_cluster;

/* After the Redis store opened, before the server loads its state (so that nothing logged
 * meanwhile is missed): reads the control log's head. Returns 0 and *out, or an Ably code. */
int rta_cluster_create(rta_server *srv, rta_cluster **out, rta_error *err);

/* Once the event loop exists: subscribes to the doorbells and starts the timer. */
int rta_cluster_start(rta_cluster *c, rta_error *err);

/* Before the store thread stops: no new job, no hook; closes the subscriber and the timer
 * (their memory goes when the loop runs its close callbacks). */
void rta_cluster_stop(rta_cluster *c);

/* After the loop closed and the store thread drained. NULL is a no-op. */
void rta_cluster_free(rta_cluster *c);

/* 1 when the node can serve; else 0 and why (for GET /ready). */
int rta_cluster_ready(const rta_cluster *c, char *why, size_t size);

#endif
