/* store/redis_channels.h: realtime channels on the Redis store (cluster mode; docs/cluster.md,
 * "Channels across nodes"; design 6.7): a publish is sequenced by Redis (rt_ch_publish: a
 * per-channel serial, the stream, the PUB/SUB message), and a node reads a channel's stream
 * to fill gaps, to catch up after its subscription came back, and for REST history. Key
 * names: store/channel_keys.h.
 *
 * With --redis-shard every call goes to the channel's shard (store/redis_shards.c), the
 * store's main Redis otherwise.
 *
 * Threads: the store thread only (every call blocks on Redis, with the connection's
 * deadlines). Errors: 50000 with err filled when Redis cannot be reached or refused; a
 * publish that failed may still have been applied (its reply was lost): a retry with the
 * same message id gets the same serial back and publishes nothing twice.
 */
#ifndef RTA_SERVER_STORE_REDIS_CHANNELS_H
#define RTA_SERVER_STORE_REDIS_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

#include "rtauth/error.h"
#include "server/store/channel_keys.h"
#include "server/store/store.h"

typedef struct rta_ch_limits {
    long log_max;         /* the stream keeps about this many entries (MAXLEN ~) */
    int64_t log_ttl_ms;   /* the stream expires this long after its last publish */
    int64_t id_window_ms; /* a message id is remembered this long (idempotent re-sends) */
} rta_ch_limits;

/* One publish of a batch. The strings are borrowed for the call. */
typedef struct rta_ch_publish_item {
    const char *app_id, *channel;
    const char *msg_id; /* 1..RTA_CK_ID_MAX bytes */
    const void *payload;
    size_t len;
    /* out */
    int rc; /* 0, or an Ably code with err */
    rta_error err;
    uint64_t serial;
    int duplicate; /* published before under msg_id: nothing new went out */
} rta_ch_publish_item;

/* Publishes every item in one pipelined round trip per Redis (each is its own atomic
 * Function call, in order; with --redis-shard each item goes to its channel's shard). Returns
 * 0 when some Redis answered (each item's rc says how it went: the items of a shard that did
 * not answer have its error), else an Ably code (no item is known to have been applied;
 * every item's rc is that code too). */
int rta_store_redis_ch_publish(rta_store *s, const rta_ch_limits *lim, rta_ch_publish_item *items,
                               size_t n, rta_error *err);

/* An entry of a channel's stream, valid during the callback only. */
typedef struct rta_ch_entry {
    uint64_t serial;
    const char *payload;
    size_t len;
} rta_ch_entry;

/* Entries copied out of a read's callback (to be used on the loop thread after the job). */
typedef struct rta_ch_copy {
    uint64_t serial;
    char *payload; /* owned */
    size_t len;
} rta_ch_copy;
typedef struct rta_ch_copies {
    rta_ch_copy *v; /* room for `max` entries, made at the first */
    size_t n, max;
} rta_ch_copies;
/* Appends a copy of e. Returns 0, 1 when full (max entries: e is not kept), -1 when out of
 * memory. */
int rta_ch_copies_add(rta_ch_copies *c, const rta_ch_entry *e);
void rta_ch_copies_free(rta_ch_copies *c);

typedef struct rta_ch_read {
    /* in */
    const char *app_id, *channel;
    const char *epoch; /* the epoch the caller knows ("" none): another one reads from 1 */
    uint64_t from;     /* the first serial to read (0: only the head, nothing read) */
    size_t max;        /* at most this many entries */
    /* out */
    uint64_t head;                     /* the channel's last serial (0: never published) */
    char head_epoch[RTA_CK_EPOCH_MAX]; /* "" when the channel has no record */
    int restarted;                     /* the epoch differs: entries were read from serial 1 */
    size_t count;                      /* entries handed to cb */
} rta_ch_read;

/* Reads the channel's head, then (from > 0) its stream from `from`, in serial order. */
int rta_store_redis_ch_read(rta_store *s, rta_ch_read *r,
                            void (*cb)(void *ctx, const rta_ch_entry *e), void *ctx,
                            rta_error *err);

/* The newest (backwards) or oldest entries of the stream, at most max, in that order; `below`
 * (backwards) / `above` (forwards) bound the serials when not 0. For REST history (RSL2). */
int rta_store_redis_ch_history(rta_store *s, const char *app_id, const char *channel, int backwards,
                               uint64_t bound, size_t max,
                               void (*cb)(void *ctx, const rta_ch_entry *e), void *ctx,
                               size_t *count, rta_error *err);

#endif
