/* auth/provision.h: creating apps and keys: ids, secrets, validated capabilities. Shared by the
 * sandbox API (POST /apps), the dev app made on first start, and `rtauth app|key create`.
 * Secrets come from the CSPRNG and are returned to the caller once; nothing here logs. */
#ifndef RTA_SERVER_PROVISION_H
#define RTA_SERVER_PROVISION_H

#include <stddef.h>
#include <stdint.h>

#include "core/key.h"
#include "server/auth/registry.h"
#include "server/store/store.h"

#define RTA_DEFAULT_CAPABILITY "{\"*\":[\"*\"]}"
#define RTA_APP_ID_LEN 8
#define RTA_KEY_ID_LEN 8
#define RTA_SECRET_CHARS 43 /* base64url of 32 random bytes */

typedef struct rta_key_spec {
    const char *capability; /* JSON text; NULL = {"*":["*"]} */
    int revocable;
} rta_key_spec;

typedef struct rta_new_key {
    char key_id[RTA_KEY_ID_MAX + 1];
    char key_name[RTA_KEY_NAME_MAX + 1];
    char secret[RTA_KEY_SECRET_MAX + 1];
    char *capability; /* canonical, owned */
    int revocable;
} rta_new_key;

typedef struct rta_new_app {
    char app_id[RTA_KEY_ID_MAX + 1];
    char account_id[RTA_KEY_ID_MAX + 1];
    int sandbox;
    int64_t created;
    long long max_connections; /* the app's own connection caps (rta_app_record); 0: none */
    long long max_connections_per_client;
    rta_new_key *keys;
    size_t key_count;
} rta_new_app;

/* n random characters of [A-Za-z0-9] (unbiased) into out[0..n), NUL-terminated. */
int rta_random_alnum(char *out, size_t n);

/* Generates ids and secrets and validates each capability (40000 if invalid or empty).
 * app_id NULL: a fresh random id. Fills *out (clear with rta_new_app_clear). */
int rta_new_app_prepare(const char *app_id, const rta_key_spec *specs, size_t n, int sandbox,
                        int64_t now, rta_new_app *out, rta_error *err);
/* One more key for an existing app. */
int rta_new_key_prepare(const char *app_id, const rta_key_spec *spec, rta_new_key *out,
                        rta_error *err);
void rta_new_key_clear(rta_new_key *k);
void rta_new_app_clear(rta_new_app *a);

/* Writes the app and its keys to the store (one transaction), or adds them to a registry. */
int rta_new_app_store(rta_store *store, const rta_new_app *app, rta_error *err);
int rta_new_app_register(rta_registry *reg, const rta_new_app *app, rta_error *err);
rta_key_record rta_new_key_record(const rta_new_key *k, const char *app_id, int64_t created);

#endif
