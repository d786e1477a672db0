/* cluster_publish.h: the publishes of a cluster node, in line for Redis (docs/cluster.md,
 * "Channels across nodes"). Publishes queue on the loop thread; one store-thread job at a
 * time sends all that queued meanwhile as one pipeline (group commit: with appendfsync
 * always, one fsync covers the batch), and each one's callback runs, in the order they were
 * queued, once Redis answered: 0 with its serial, or an Ably error (50000, saying that the
 * cluster's store did not confirm it). Nothing is retried here: the client decides.
 *
 * Loop thread only (the job's run excepted). Must never: call a callback before Redis
 * answered for that publish, or out of order; log message contents.
 */
#ifndef RTA_SERVER_CLUSTER_PUBLISH_H
#define RTA_SERVER_CLUSTER_PUBLISH_H

#include <stddef.h>

#include "server/gateway/gateway.h"
#include "server/store/redis_channels.h"

typedef struct rta_server rta_server;
typedef struct rta_cluster_publisher rta_cluster_publisher;

int rta_cluster_publisher_create(rta_server *srv, const rta_ch_limits *lim,
                                 rta_cluster_publisher **out);

/* Queues a publish of payload (copied; msgpack MESSAGE) under msg_id, or, with app_id NULL,
 * only a callback that keeps its place in line. done(arg, code, message) runs later, exactly
 * once, on the loop thread. */
void rta_cluster_publisher_push(rta_cluster_publisher *p, const char *app_id, const char *channel,
                                const char *msg_id, const void *payload, size_t len,
                                rta_gateway_published_cb done, void *arg);

/* Nothing new goes to the store thread; what is queued fails now (in order). */
void rta_cluster_publisher_stop(rta_cluster_publisher *p);
void rta_cluster_publisher_free(rta_cluster_publisher *p);

#endif
