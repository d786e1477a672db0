/* cluster_claims.h: connection resume across nodes, the cluster's part (gateway/adopt.c has
 * the gateway's). A node that took over a connection another node had publishes a claim,
 * "<connectionId> <nodeId>", on the cluster's claims channel (store/redis_keys.h); every node
 * hears it on its subscription and any other node that still has the connection drops it
 * (rta_gateway_connection_claimed). PUB/SUB: a node cut off from Redis misses it and keeps a
 * copy nobody can reach until connectionStateTtl (docs/cluster.md).
 *
 * Part of the process room. Loop thread; the PUBLISH runs in a store-thread job. */
#ifndef RTA_SERVER_CLUSTER_CLAIMS_H
#define RTA_SERVER_CLUSTER_CLAIMS_H

#include <stddef.h>

typedef struct rta_server rta_server;

/* Tells the other nodes that conn_id resumed on this node. Failures are logged (the other
 * node then keeps its unreachable copy until its connectionStateTtl). */
void rta_cluster_claims_publish(rta_server *srv, const char *conn_id);

/* A message heard on the claims channel: drops the connection here unless this node made
 * the claim. */
void rta_cluster_claims_heard(rta_server *srv, const char *msg, size_t len);

#endif
