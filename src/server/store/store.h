/* store.h: rtauthd's storage interface: apps, keys, server secrets, revocations and used
 * TokenRequest nonces. Nothing above this interface knows which implementation runs: SQLite
 * (store/sqlite.c, the embedded default) or Redis (scale-out).
 *
 * Contract for every implementation:
 *   - Durability: when a write call returns 0, the data survives a kill -9 of the process
 *     at any later moment (SQLite: WAL, committed before returning). Acknowledge nothing
 *     before it is durable: callers reply to clients only after the call returns.
 *   - Blocking: calls block on I/O. rtauthd makes them from its store thread, never from
 *     the event loop. A store handle is used by one thread at a time.
 *   - Errors: 0, or an Ably code (50000 for I/O or database errors) with err filled; the
 *     message never contains a key secret or server secret.
 *   - Ownership: records passed in are only read. Records passed to callbacks are valid only
 *     during the callback; copy what you keep.
 *   - Expiry: nonces and revocations carry an expiry time; load_* skip expired rows and
 *     purge() deletes them.
 */
#ifndef RTA_SERVER_STORE_H
#define RTA_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/key.h"
#include "rtauth/error.h"
#include "server/stats.h" /* rta_stats_row: plain data, no dependency upward */

#define RTA_SERVER_SECRET_LEN 32

typedef struct rta_app_record {
    const char *app_id;
    const char *account_id;
    int64_t created; /* ms */
    int sandbox;     /* created through the --sandbox provisioning API */
    /* The app's own connection caps (gateway/limits.c), >= 0; 0: the server's default. */
    long long max_connections;
    long long max_connections_per_client;
} rta_app_record;

typedef struct rta_key_record {
    const char *key_name; /* "appId.keyId" */
    const char *app_id;
    const char *secret;
    const char *capability; /* canonical JSON text */
    int revocable_tokens;
    int enabled;
    int64_t created; /* ms */
} rta_key_record;

typedef struct rta_revocation_record {
    const char *key_name;
    const char *target; /* "type:value", e.g. "clientId:bob", "token:<tokenId hex>" */
    int64_t issued_before;
    int64_t applies_at;
    int64_t expires; /* when the record can be forgotten (no matching token can be alive) */
} rta_revocation_record;

typedef struct rta_nonce_record {
    const char *key_name;
    const char *nonce;
    int64_t expires; /* end of the replay window for this nonce */
} rta_nonce_record;

typedef struct rta_secret_record {
    uint32_t id;
    unsigned char secret[RTA_SERVER_SECRET_LEN];
    int64_t created;
} rta_secret_record;

typedef struct rta_store rta_store;

typedef struct rta_store_ops {
    /* Creates the app and its keys atomically (all or nothing). 40003 if the app exists. */
    int (*create_app)(rta_store *s, const rta_app_record *app, const rta_key_record *keys,
                      size_t key_count, rta_error *err);
    /* Deletes the app, its keys, and their revocations and nonces. 40400 if unknown. */
    int (*delete_app)(rta_store *s, const char *app_id, rta_error *err);
    /* Adds a key to an existing app (40400 if the app is unknown). */
    int (*add_key)(rta_store *s, const rta_key_record *key, rta_error *err);
    /* Sets an app's own connection caps (rta_app_record); a negative value leaves that one
     * unchanged. 40400 if the app is unknown. */
    int (*set_app_limits)(rta_store *s, const char *app_id, long long max_connections,
                          long long max_connections_per_client, rta_error *err);
    /* Enables or disables a key (40400 if unknown). */
    int (*set_key_enabled)(rta_store *s, const char *key_name, int enabled, rta_error *err);
    /* Replaces a key's capability (canonical JSON text, already validated: the operator
     * console, issue 18). 40400 if the key is unknown. Counts as a change for poll_changes. */
    int (*set_key_capability)(rta_store *s, const char *key_name, const char *capability,
                              rta_error *err);
    int (*list_apps)(rta_store *s, void (*cb)(void *ctx, const rta_app_record *app), void *ctx,
                     rta_error *err);
    int (*list_keys)(rta_store *s, void (*cb)(void *ctx, const rta_key_record *key), void *ctx,
                     rta_error *err);

    /* Server secrets for token tags (docs/token-format.md). */
    int (*add_secret)(rta_store *s, const rta_secret_record *secret, rta_error *err);
    int (*list_secrets)(rta_store *s, void (*cb)(void *ctx, const rta_secret_record *secret),
                        void *ctx, rta_error *err);

    /* Revocations: durable before the call returns (issue 3: persisted before acknowledged). */
    int (*add_revocations)(rta_store *s, const rta_revocation_record *r, size_t count,
                           rta_error *err);
    int (*list_revocations)(rta_store *s, int64_t now,
                            void (*cb)(void *ctx, const rta_revocation_record *r), void *ctx,
                            rta_error *err);

    /* Used nonces: a batch in one transaction (many requests share one commit). Durable on
     * return like every write. replayed[i] = 1 flags a nonce that another writer already
     * recorded and that has not expired: a store shared by several rtauthd nodes (Redis)
     * must detect that atomically. The SQLite store serves a single rtauthd, whose in-memory
     * cache (filled from list_nonces at start) is authoritative, so it always answers 0.
     * list_nonces returns each (key, nonce) once, with its latest expiry. */
    int (*add_nonces)(rta_store *s, const rta_nonce_record *n, size_t count,
                      unsigned char *replayed, rta_error *err);
    /* Optional: add_nonces for a store whose nonce write is a local append (no network, no
     * fsync), cheap and safe to call on the event loop thread while the store thread runs
     * other calls. rtauthd then records each nonce inline and replies at once, without a
     * thread round trip. NULL (e.g. Redis): add_nonces on the store thread. */
    int (*add_nonces_local)(rta_store *s, const rta_nonce_record *n, size_t count,
                            unsigned char *replayed, rta_error *err);
    int (*list_nonces)(rta_store *s, int64_t now, void (*cb)(void *ctx, const rta_nonce_record *n),
                       void *ctx, rta_error *err);

    /* App statistics (GET /stats, server/stats.h), optional (NULL: not kept). add_stats
     * adds each row's sums to its (app, minute) and keeps the larger peaks, durable on return;
     * list_stats calls cb for the app's rows with from <= minute <= to, oldest first, one row
     * per minute (a shared store sums its nodes' peaks). purge also deletes rows older than
     * RTA_STATS_RETENTION_MS, and delete_app the app's. */
    int (*add_stats)(rta_store *s, const rta_stats_row *rows, size_t n, rta_error *err);
    int (*list_stats)(rta_store *s, const char *app_id, int64_t from_minute, int64_t to_minute,
                      void (*cb)(void *ctx, const rta_stats_row *r), void *ctx, rta_error *err);

    /* Deletes nonces and revocations that expired before now. */
    int (*purge)(rta_store *s, int64_t now, rta_error *err);
    /* Sets *changed to 1 when apps, keys or server secrets changed since the last call (or
     * since open), by any connection or process (the rtauth CLI), so the server reloads
     * them. Nonce and revocation writes do not count. */
    int (*poll_changes)(rta_store *s, int *changed, rta_error *err);
    void (*close)(rta_store *s);
} rta_store_ops;

struct rta_store {
    const rta_store_ops *ops;
};

/* Opens (creating if needed) the SQLite store in dir (created with mode 0700 if missing):
 * dir/rtauth.db, WAL mode. Returns 0 and *out, or 50000. */
int rta_store_sqlite_open(const char *dir, rta_store **out, rta_error *err);

/* The same, with key secrets and server secrets sealed at rest under a key-encryption key
 * (store/secret_box.h; NULL: none, as rta_store_sqlite_open). The store takes kek: it frees it at
 * close, or before returning an error. A database whose secrets are sealed opens only with
 * their KEK (40003 without it or with another); a plaintext one opened with a KEK is sealed
 * in place, all of it in one transaction (store/sqlite_kek.h). */
typedef struct rta_secret_box rta_secret_box;
int rta_store_sqlite_open_kek(const char *dir, rta_secret_box *kek, rta_store **out,
                              rta_error *err);

#endif
