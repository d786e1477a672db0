/* store/redis.h: cluster mode's store: store.h's operations on a Redis 7 primary shared by
 * every rtauthd node and the rtauth CLI (docs/cluster.md), plus the few calls a node needs
 * to stay in step with the others (the control log, the epoch, re-seeding after a loss).
 *
 * Same contract as store.h: every call blocks (hiredis's sync API, with deadlines), is made
 * from the store thread only (except rta_store_redis_primary), and a write returns 0 only
 * when Redis has it (AOF; and, when the primary has replicas, after WAIT 1 confirmed one
 * has it). Nonces: add_nonces answers replayed[i] for a (keyName, nonce) another node or an
 * earlier run recorded (SET NX PX), in one pipelined round trip per batch. With a KEK, key
 * secrets and server secrets are sealed before they reach Redis, as the SQLite store does.
 *
 * Must never: put a secret, a nonce or a password into a message or the log; acknowledge a
 * write whose reply it did not read; accept a nonce it could not check (Redis unreachable:
 * the batch fails, 50000).
 */
#ifndef RTA_SERVER_STORE_REDIS_H
#define RTA_SERVER_STORE_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "server/store/control_log.h"
#include "server/store/redis_keys.h"
#include "server/store/redis_url.h"
#include "server/store/store.h"

typedef struct rta_redis_options {
    rta_redis_target target;
    /* A node's id (--node-id): the store then creates the epoch, checks Redis's settings
     * and publishes the node's heartbeat. "": a client (the CLI), which only reads and
     * writes records. */
    char node_id[RTA_NODE_ID_MAX + 1];
    int64_t nonce_retention_ms; /* R = 2W + S: how long a used nonce is remembered */
    int connect_timeout_ms;     /* 0: 1000 */
    int command_timeout_ms;     /* 0: 2000 */
    int wait_timeout_ms;        /* WAIT 1 <ms> when the primary has replicas; 0: 1000 */
    int start_wait_ms;          /* open keeps trying to reach Redis this long (0: once) */
    long ctl_log_max;           /* the control log keeps about this many entries; 0: 100000 */
    /* --redis-shard (docs/cluster.md, "Channel shards"): every channel's keys, Function calls
     * and PUB/SUB go to shards[rta_ck_shard(its tag, shard_count)] instead of target; auth
     * state stays on target. Borrowed for the open call only. 0: channels live on target. */
    const rta_redis_target *shards;
    size_t shard_count;
} rta_redis_options;

#define RTA_REDIS_MAX_SHARDS 16
/* The key in the main Redis holding the cluster's shard list ("<n> <addr>,<addr>...", "0"
 * without shards): a node whose list differs is refused at start. */
#define RTA_RK_SHARDS "rt:{g}:shards"

void rta_redis_options_init(rta_redis_options *o);

/* Connects (Sentinel or direct), loads the Functions library, checks the KEK mode (a store
 * whose secrets are sealed opens only with their KEK: 40003; a plaintext one opened with a
 * KEK is sealed in place, atomically) and, for a node, Redis's settings (40003 when
 * appendonly is off, or when maxmemory is set with an evicting policy) and the epoch.
 * Takes kek (freed at close or on error). Returns 0 and *out, or an Ably code. */
int rta_store_redis_open(const rta_redis_options *o, rta_secret_box *kek, rta_store **out,
                         rta_error *err);

/* 1 when s is a Redis store. */
int rta_store_is_redis(const rta_store *s);

/* ---- what a node needs to stay in step (store thread) ------------------------------------ */

typedef struct rta_redis_head {
    uint64_t seq;            /* the control log's last sequence number */
    char epoch_id[48];
    unsigned epoch_changes;  /* how many times the epoch was found changed since open */
    int replicas;            /* connected replicas of the primary */
    uint32_t shard_down;     /* bit i: channel shard i did not answer (its heartbeat failed) */
} rta_redis_head;

/* One round trip: the epoch (made anew, with the loss flag, if Redis lost it), the log's
 * head, the replicas, and this node's heartbeat published to its own channel. */
int rta_store_redis_head(rta_store *s, rta_redis_head *out, rta_error *err);

/* PUBLISH msg on channel (no delivery guarantee: PUB/SUB). 0, or 50000 with err. */
int rta_store_redis_publish(rta_store *s, const char *channel, const char *msg, size_t len,
                            rta_error *err);

/* Calls cb for the log's entries from sequence number `from` (0: from the first) in order,
 * at most max of them; *count is how many. Entries are valid during the callback only. */
int rta_store_redis_ctl_read(rta_store *s, uint64_t from, size_t max,
                             void (*cb)(void *ctx, const rta_ctl_entry *e), void *ctx,
                             size_t *count, rta_error *err);

/* Appends an entry of type `type` (no spaces) and rings the doorbell; *seq its number. For
 * effects that carry no record of their own (later slices). Durable as any write. */
int rta_store_redis_ctl_append(rta_store *s, const char *type, const char *body, size_t len,
                               uint64_t *seq, rta_error *err);

/* After an epoch change the store stops reporting admin changes (poll_changes answers 0),
 * so that a node does not replace its apps and keys with an emptied Redis's, until the node
 * has written its state back: rta_store_redis_reseed_secrets (the server secrets this store
 * has seen), then create_app/add_key/add_revocations from memory (duplicates are refused
 * and ignored), then rta_store_redis_reseed_done. */
int rta_store_redis_reseed_pending(const rta_store *s);
int rta_store_redis_reseed_secrets(rta_store *s, rta_error *err);
void rta_store_redis_reseed_done(rta_store *s);

/* Where the primary is now (any thread): the subscriber connects there. Host "" before the
 * first connection. */
void rta_store_redis_primary(rta_store *s, rta_redis_addr *out, unsigned *generation);
/* The credentials and db (for the subscriber; not to be logged). */
const rta_redis_target *rta_store_redis_target(const rta_store *s);

/* Channel shards (--redis-shard; any thread, fixed after open): how many (0: none, channels
 * on the main Redis), a channel's shard from any of its names (store/channel_keys.h), a
 * shard's target (credentials: not to be logged) and its "host:port/db" for messages. */
size_t rta_store_redis_shard_count(const rta_store *s);
uint32_t rta_store_redis_shard_of(const rta_store *s, const char *name, size_t len);
const rta_redis_target *rta_store_redis_shard_target(const rta_store *s, size_t i);
const char *rta_store_redis_shard_where(const rta_store *s, size_t i);

#endif
