/* key.h: Ably API keys, "appId.keyId:keySecret" (spec RSC1a, TO3j1; checklist S-13).
 *
 * keyName ("appId.keyId") is public: it names the key in URLs and TokenRequests. The secret
 * is private: it never appears in logs or error messages (errors name the key name only).
 * Accepted characters follow ably-js's key pattern /^([^:\s]+):([^:.\s]+)$/, narrowed so the
 * key name is safe in a URL path: appId and keyId are 1..64 characters of [A-Za-z0-9_-];
 * the secret is 1..128 printable ASCII characters other than ':' and '.'.
 */
#ifndef RTA_CORE_KEY_H
#define RTA_CORE_KEY_H

#include <stddef.h>

#include "rtauth/error.h"

#define RTA_KEY_ID_MAX 64
#define RTA_KEY_NAME_MAX (2 * RTA_KEY_ID_MAX + 1)
#define RTA_KEY_SECRET_MAX 128

/* A parsed key. Plain data, fixed size; wipe it with rta_key_wipe() when done. */
typedef struct rta_key {
    char app_id[RTA_KEY_ID_MAX + 1];
    char key_name[RTA_KEY_NAME_MAX + 1]; /* "appId.keyId" */
    char secret[RTA_KEY_SECRET_MAX + 1];
    size_t secret_len;
} rta_key;

/* Parses a full API key. Returns 0, or 40005 (status 400) with a message that never
 * includes the secret. */
int rta_key_parse(const char *s, size_t len, rta_key *out, rta_error *err);

/* Validates a key name alone ("appId.keyId", e.g. from a URL path or a JWT kid). Returns 0
 * or 40005, and copies the app id into app_id when it is not NULL. */
int rta_key_name_check(const char *s, size_t len, char app_id[RTA_KEY_ID_MAX + 1], rta_error *err);

/* 1 when s[0..n) is a valid appId or keyId: 1..RTA_KEY_ID_MAX characters of [A-Za-z0-9_-]. */
int rta_key_id_ok(const char *s, size_t n);

/* Zeroes the key, secret included, in a way the compiler cannot drop. */
void rta_key_wipe(rta_key *key);

#endif
