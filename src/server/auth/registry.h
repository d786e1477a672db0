/* auth/registry.h: the server's in-memory view of apps and keys, loaded from the store and
 * reloaded when the store changes. Lookups are O(1) and never touch the store (DESIGN 5:
 * no store round-trip on the hot path).
 *
 * Each key entry holds its parsed capability and a prepared HMAC of its secret (for
 * TokenRequest MACs and JWT signatures). Entries are owned by the registry; a pointer from
 * rta_registry_key() is valid until the next change to the registry (same thread).
 */
#ifndef RTA_SERVER_REGISTRY_H
#define RTA_SERVER_REGISTRY_H

#include <stdint.h>

#include "core/capability.h"
#include "core/crypto.h"
#include "core/hmap.h"
#include "core/key.h"
#include "server/store/store.h"

typedef struct rta_key_entry {
    char key_name[RTA_KEY_NAME_MAX + 1];
    char app_id[RTA_KEY_ID_MAX + 1];
    char secret[RTA_KEY_SECRET_MAX + 1];
    size_t secret_len;
    rta_hmac *hmac;
    rta_capability capability;
    char *capability_text; /* canonical */
    int revocable;
    int enabled;
    int64_t created;
} rta_key_entry;

typedef struct rta_app_entry {
    char app_id[RTA_KEY_ID_MAX + 1];
    char *account_id;
    int sandbox;
    int64_t created;
    long long max_connections;            /* the app's own caps; 0: the server's default */
    long long max_connections_per_client;
} rta_app_entry;

typedef struct rta_registry {
    rta_hmap keys; /* key name -> rta_key_entry* */
    rta_hmap apps; /* app id -> rta_app_entry* */
} rta_registry;

int rta_registry_init(rta_registry *r);
void rta_registry_free(rta_registry *r);

/* Adds or replaces. A key's capability must parse (40000 otherwise). */
int rta_registry_put_app(rta_registry *r, const rta_app_record *app, rta_error *err);
int rta_registry_put_key(rta_registry *r, const rta_key_record *key, rta_error *err);
/* Removes the app and all its keys. */
void rta_registry_remove_app(rta_registry *r, const char *app_id);

const rta_key_entry *rta_registry_key(const rta_registry *r, const char *name, size_t len);
const rta_app_entry *rta_registry_app(const rta_registry *r, const char *app_id);

/* Loads everything from the store into an empty registry. */
int rta_registry_load(rta_registry *r, rta_store *store, rta_error *err);

#endif
