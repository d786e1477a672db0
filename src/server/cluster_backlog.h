/* cluster_backlog.h: one connection's catch-up on a channel in cluster mode (RTL4c1): the
 * relay's `backlog` hook (gateway.h, gateway/catch_up.c). Reads the channel's stream in
 * Redis, on the store thread, for the serials after..upto (what this node delivered on the
 * channel before the connection joined it; what it delivers since is held for the
 * connection by the gateway), and hands the decoded messages to the gateway.
 *
 * Part of the process room, beside cluster_channels.c (which gives it the epoch the node
 * follows). Loop thread, but for the Redis read in a store-thread job. done runs exactly
 * once, after the call returned (but when out of memory): code 50000 when the store is
 * stopping or Redis failed; complete 0 when the range is not whole in the stream (trimmed
 * or expired), the channel has a new epoch, or the range is longer than `max`. Never logs
 * message contents. */
#ifndef RTA_SERVER_CLUSTER_BACKLOG_H
#define RTA_SERVER_CLUSTER_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

#include "server/gateway/gateway.h"

typedef struct rta_server rta_server;
typedef struct rta_cluster_channels rta_cluster_channels;

typedef struct rta_cluster_backlog_limits {
    size_t max;         /* messages one catch-up may return (the stream keeps about this many) */
    size_t max_payload; /* largest stream entry decoded */
} rta_cluster_backlog_limits;

void rta_cluster_backlog_read(rta_server *srv, rta_cluster_channels *cc,
                              const rta_cluster_backlog_limits *lim, const char *app_id,
                              const char *channel, uint64_t after, uint64_t upto,
                              rta_gateway_backlog_cb done, void *arg);

#endif
