/* cluster_channels.h: realtime channels across the nodes of a cluster (docs/cluster.md,
 * "Channels across nodes"; design 6.7). It is the gateway's relay (gateway.h,
 * rta_gateway_relay): a publish, realtime or REST, goes to Redis as a store-thread job
 * (rt_ch_publish gives it the channel's next serial, appends it to the channel's stream and
 * publishes it), and is acknowledged once Redis replied; every node, the publisher's too,
 * delivers to its local subscribers what it hears on the channel's PUB/SUB channel, in serial
 * order, once each (server/channel_order.h), reading the stream for gaps and, after its
 * subscription came back, from its last serial on. A node subscribes on a channel's first
 * local attach and unsubscribes a while after its last local detach.
 *
 * Part of the process room, beside cluster.c, which owns the subscriber and forwards to this
 * module what concerns channels. Loop thread only; Redis is only ever called from store-thread
 * jobs. Must never: acknowledge a publish Redis did not confirm; deliver a serial twice or
 * out of order; log message contents.
 */
#ifndef RTA_SERVER_CLUSTER_CHANNELS_H
#define RTA_SERVER_CLUSTER_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct rta_server rta_server;
typedef struct rta_redis_sub rta_redis_sub;
typedef struct rta_cluster_channels rta_cluster_channels;

/* Creates the relay and installs it in the server's gateway. Returns 0 or 50000. */
int rta_cluster_channels_create(rta_server *srv, rta_cluster_channels **out);

/* The subscriber to use (owned by cluster.c), and its events. */
void rta_cluster_channels_set_sub(rta_cluster_channels *cc, rta_redis_sub *sub);
void rta_cluster_channels_sub_up(rta_cluster_channels *cc);
void rta_cluster_channels_sub_down(rta_cluster_channels *cc);
void rta_cluster_channels_subscribed(rta_cluster_channels *cc, const char *channel, size_t len);
void rta_cluster_channels_unsubscribed(rta_cluster_channels *cc, const char *channel, size_t len);
/* A PUB/SUB message: 1 when it was a channel's (handled), 0 when not ours. */
int rta_cluster_channels_message(rta_cluster_channels *cc, const char *channel, size_t channel_len,
                                 const char *msg, size_t len);
/* From cluster.c's timer (monotonic ms): retries and delayed unsubscribes. */
void rta_cluster_channels_tick(rta_cluster_channels *cc, int64_t now);

/* With --redis-shard (store/redis.h): starts one subscriber per channel shard (owned, closed
 * by rta_cluster_channels_stop); each also subscribes node_channel, the heartbeat every tick
 * publishes to every shard, as its watchdog. No shards: nothing (channels use the subscriber
 * of rta_cluster_channels_set_sub). Returns 0 or 50000. */
int rta_cluster_channels_start_shards(rta_cluster_channels *cc, const char *node_channel);
/* The last tick's shard health (rta_redis_head.shard_down): logged when it changes. */
void rta_cluster_channels_shards_seen(rta_cluster_channels *cc, uint32_t down);
/* 1 when every channel shard answers and is subscribed; else 0 and why (GET /ready). */
int rta_cluster_channels_ready(const rta_cluster_channels *cc, char *why, size_t size);

/* Where this node is in (app_id, channel): 1 with the last serial it delivered and the epoch
 * it follows, 0 when it does not follow the channel (or not yet from a known head). */
int rta_cluster_channels_position(rta_cluster_channels *cc, const char *app_id,
                                  const char *channel, uint64_t *last, char *epoch);
/* 1 once rta_cluster_channels_stop ran. */
int rta_cluster_channels_stopping(const rta_cluster_channels *cc);

/* Before the store thread stops: nothing new is submitted; publishes still queued fail
 * (50000). Jobs in flight complete normally. */
void rta_cluster_channels_stop(rta_cluster_channels *cc);
/* After the store thread drained. NULL is a no-op. */
void rta_cluster_channels_free(rta_cluster_channels *cc);

#endif
