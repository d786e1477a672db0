/* store/redis_internal.h: private to the Redis store's files (store/redis*.c): the store's
 * state and the helpers they share. Nothing outside src/server/store/ includes it. */
#ifndef RTA_SERVER_STORE_REDIS_INTERNAL_H
#define RTA_SERVER_STORE_REDIS_INTERNAL_H

#include <hiredis/hiredis.h>

#include "core/native_token.h"
#include "server/store/redis.h"
#include "server/store/redis_conn.h"
#include "server/store/secret_box.h"

typedef struct rta_redis_store {
    rta_store base; /* first: an rta_store * is an rta_redis_store * */
    rta_redis_options o;
    rta_redis_conn *conn;
    rta_secret_box *box; /* owned; NULL: secrets stored as they are */
    int opened;          /* open finished: later (re)connects only log bad settings */
    char node_channel[RTA_RK_MAX];
    char epoch_candidate[24]; /* the id this node proposes if it has to make the epoch */
    /* the epoch as last seen (nodes) */
    int have_epoch;
    rta_rk_epoch epoch;
    unsigned epoch_changes;
    int reseed_pending;
    int64_t nonce_floor; /* after a loss: nonces whose expiry is at or before it are refused */
    /* admin version at open or the last poll_changes that reported */
    char ver[32];
    int replicas; /* connected replicas (ROLE), at the last connect or head */
    /* --redis-shard: where channels live (store/redis_shards.c); none: on conn */
    struct rta_redis_shard *shards;
    size_t nshards;
    /* server secrets seen (listed or added), in plaintext, for re-seeding an emptied Redis */
    rta_secret_record secrets[RTA_KEYRING_MAX];
    size_t secret_count;
} rta_redis_store;

/* One channel shard (--redis-shard): its own connection, loaded with the Functions and
 * checked like the main one at every (re)connect. */
typedef struct rta_redis_shard {
    rta_redis_store *s;
    size_t index;
    rta_redis_conn *conn;
    int replicas;   /* at its last connect or ping */
    char where[RTA_REDIS_HOST_MAX + 24]; /* "host:port/db": for messages and the fingerprint */
} rta_redis_shard;

/* The connection a channel's commands go to (its shard's, or the main one), from any of the
 * channel's names (store/channel_keys.h); *replicas its replica count when not NULL. */
rta_redis_conn *rta__redis_channel_conn(rta_redis_store *s, const char *name, size_t len,
                                        int **replicas);
/* Opens the shards of o (connects each, within the start wait), then, for a node, records or
 * compares the shard list in the main Redis. 0, or an Ably code with err (40003 when the list
 * differs from the one the cluster's other nodes use). */
int rta__redis_shards_open(rta_redis_store *s, const rta_redis_options *o, rta_error *err);
void rta__redis_shards_close(rta_redis_store *s);
/* The Redis settings (start checks); label names the instance in messages. */
int rta__redis_check_settings(rta_redis_store *s, rta_redis_conn *c, const char *label,
                              rta_error *err);
int rta__redis_read_replicas(rta_redis_conn *c, int *replicas, rta_error *err);
/* WAIT 1 on c when replicas > 0 (as rta__redis_wait_replica, for a shard). */
int rta__redis_wait_replica_on(rta_redis_store *s, rta_redis_conn *c, int replicas,
                               rta_error *err);

/* An argument vector that grows; strings are borrowed (they must outlive the command). */
typedef struct rta__redis_argv {
    const char **argv;
    size_t *lens;
    int argc, cap;
    int oom;
    char numbers[64][24]; /* storage for formatted numbers */
    int numbers_used;
} rta__redis_argv;

void rta__redis_argv_init(rta__redis_argv *a);
void rta__redis_argv_free(rta__redis_argv *a);
void rta__redis_arg(rta__redis_argv *a, const char *s, size_t len);
void rta__redis_arg_str(rta__redis_argv *a, const char *s);
void rta__redis_arg_i64(rta__redis_argv *a, int64_t v);

/* ensure + the command + its reply (freeReplyObject it), or NULL with err (50000). */
redisReply *rta__redis_run(rta_redis_store *s, rta__redis_argv *a, rta_error *err);
/* WAIT 1 <ms> when the primary has replicas, failing (50000) when no replica acknowledged in
 * time. Call after reading the write's own replies. With fresh, asks the primary for its
 * replicas first (ROLE): a revocation must not miss a replica that connected since the last
 * tick; the nonce path uses the count the last tick saw. */
int rta__redis_wait_replica(rta_redis_store *s, int fresh, rta_error *err);
/* Maps an error reply of our Functions to an Ably code: RTA_EXISTS -> 40003, RTA_NOTFOUND ->
 * 40400, anything else -> 50000. */
int rta__redis_reply_fail(const redisReply *r, const char *what, rta_error *err);

/* The epoch from an rt_epoch reply: updates the store (epoch change, loss floor). */
int rta__redis_take_epoch(rta_redis_store *s, const redisReply *r, rta_error *err);
/* FCALL rt_epoch now, its reply taken in: the two below in one round trip of its own. */
int rta__redis_run_epoch(rta_redis_store *s, rta_error *err);
/* Appends FCALL rt_epoch (its reply then goes to rta__redis_take_epoch). */
int rta__redis_append_epoch(rta_redis_store *s, rta_error *err);

/* The store's record operations (store/redis_records.c, redis_revocations.c,
 * redis_nonces.c). */
int rta__redis_create_app(rta_store *st, const rta_app_record *app, const rta_key_record *keys,
                          size_t key_count, rta_error *err);
int rta__redis_delete_app(rta_store *st, const char *app_id, rta_error *err);
int rta__redis_add_key(rta_store *st, const rta_key_record *key, rta_error *err);
int rta__redis_set_app_limits(rta_store *st, const char *app_id, long long max_connections,
                              long long max_connections_per_client, rta_error *err);
int rta__redis_set_key_enabled(rta_store *st, const char *key_name, int enabled, rta_error *err);
int rta__redis_set_key_capability(rta_store *st, const char *key_name, const char *capability,
                                  rta_error *err);
int rta__redis_list_apps(rta_store *st, void (*cb)(void *ctx, const rta_app_record *app),
                         void *ctx, rta_error *err);
int rta__redis_list_keys(rta_store *st, void (*cb)(void *ctx, const rta_key_record *key),
                         void *ctx, rta_error *err);
int rta__redis_add_secret(rta_store *st, const rta_secret_record *secret, rta_error *err);
int rta__redis_list_secrets(rta_store *st,
                            void (*cb)(void *ctx, const rta_secret_record *secret), void *ctx,
                            rta_error *err);
int rta__redis_poll_changes(rta_store *st, int *changed, rta_error *err);
int rta__redis_read_version(rta_redis_store *s, char out[32], rta_error *err);
int rta__redis_add_revocations(rta_store *st, const rta_revocation_record *r, size_t count,
                               rta_error *err);
int rta__redis_list_revocations(rta_store *st, int64_t now,
                                void (*cb)(void *ctx, const rta_revocation_record *r), void *ctx,
                                rta_error *err);
int rta__redis_purge(rta_store *st, int64_t now, rta_error *err);
/* App statistics (store/redis_stats.c). */
int rta__redis_add_stats(rta_store *st, const rta_stats_row *rows, size_t n, rta_error *err);
int rta__redis_list_stats(rta_store *st, const char *app_id, int64_t from_minute,
                          int64_t to_minute, void (*cb)(void *ctx, const rta_stats_row *r),
                          void *ctx, rta_error *err);
int rta__redis_add_nonces(rta_store *st, const rta_nonce_record *n, size_t count,
                          unsigned char *replayed, rta_error *err);
int rta__redis_list_nonces(rta_store *st, int64_t now,
                           void (*cb)(void *ctx, const rta_nonce_record *n), void *ctx,
                           rta_error *err);

/* The set members of key, sorted (for listings in a stable order). Free with
 * rta__redis_strings_free. */
typedef struct rta__redis_strings {
    char **v;
    size_t n;
} rta__redis_strings;
int rta__redis_smembers_sorted(rta_redis_store *s, const char *key, rta__redis_strings *out,
                               rta_error *err);
void rta__redis_strings_free(rta__redis_strings *l);

/* The secret cache for re-seeding (store/redis_records.c). */
void rta__redis_cache_secret(rta_redis_store *s, const rta_secret_record *r);

#endif
