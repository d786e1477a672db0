/* native_token.h: rtauth's own token strings, self-contained and MAC-protected, so that any
 * node verifies a token with no store lookup (DESIGN 5; checklist S-28, S-29). The format is
 * documented in docs/token-format.md; in short:
 *
 *     token = appId "." base64url(body || tag)
 *     body  = version(1) secretId(4) flags(1) issued(8) expires(8) tokenId(12)
 *             keyIdLen(1) keyId  clientIdLen(2) clientId  capabilityLen(2) capability
 *     tag   = first 16 bytes of HMAC-SHA256(serverSecret[secretId], appId "." body)
 *
 * Integers are big-endian; flags bit 0 = issued by a key with revocable tokens, bit 1 = the
 * token has a clientId (so "" is distinguishable from absent, though issuing refuses "").
 * The token has exactly one '.', never ':', only URL-safe characters, and cannot be mistaken
 * for a JWT (which has three segments). The server secret is identified by secretId, so a
 * new secret can be introduced for new tokens while old ones verify until they expire.
 *
 * Contents are authenticated, not encrypted: clientId and capability are readable by the
 * holder, as they are in a JWT and in TokenDetails.
 */
#ifndef RTA_CORE_NATIVE_TOKEN_H
#define RTA_CORE_NATIVE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "crypto.h"
#include "key.h"
#include "rtauth/error.h"

#define RTA_TOKEN_VERSION 1
#define RTA_TOKEN_ID_LEN 12
#define RTA_TOKEN_TAG_LEN 16
#define RTA_TOKEN_MAX_CAPABILITY (4 * 1024) /* canonical capability bytes inside a token: the
                                              * token must fit in a WebSocket URL (8 KiB of
                                              * headers in rtauthd) */
#define RTA_TOKEN_MAX_LEN 16384               /* longest token string we issue or accept */

#define RTA_TOKEN_FLAG_REVOCABLE 0x01
#define RTA_TOKEN_FLAG_HAS_CLIENT_ID 0x02

/* What a token says. Strings are owned by the struct after decode; for minting, the caller's
 * struct is only read. */
typedef struct rta_native_token {
    char app_id[RTA_KEY_ID_MAX + 1];
    char key_name[RTA_KEY_NAME_MAX + 1]; /* appId.keyId */
    uint32_t secret_id;
    uint8_t flags;
    int64_t issued;  /* ms */
    int64_t expires; /* ms */
    unsigned char token_id[RTA_TOKEN_ID_LEN];
    char *client_id;  /* NULL when the token is anonymous; "*" for a wildcard token */
    char *capability; /* canonical JSON text */
} rta_native_token;

/* The server secrets a node knows, by id. Minting uses `current`. Not thread-safe for
 * mutation; verify only reads (but rta_hmac is stateful: one keyring per thread). */
#define RTA_KEYRING_MAX 8
typedef struct rta_keyring {
    uint32_t ids[RTA_KEYRING_MAX];
    rta_hmac *macs[RTA_KEYRING_MAX];
    size_t count;
    uint32_t current;
} rta_keyring;

/* Adds secret `id` (copied into OpenSSL's context). Returns 0, 40003 when full or the id is
 * already present, 50000 on allocation failure. The last one added becomes current. */
int rta_keyring_add(rta_keyring *ring, uint32_t id, const void *secret, size_t secret_len);
void rta_keyring_clear(rta_keyring *ring);

/* Mints a token for t (token_id is taken from t: the caller fills it from the CSPRNG) under
 * the keyring's current secret, appending the token string to out. t->secret_id is ignored.
 * Returns 0, 40003 (capability or clientId too large for a token) or 50000. */
int rta_native_token_mint(const rta_native_token *t, rta_keyring *ring, rta_buf *out);

/* Verifies the tag and decodes the token. Does NOT check expiry or revocation (the caller
 * decides the time and the revocation index). Errors, all status 401:
 *   40145 not a well-formed rtauth token (wrong shape, version, lengths);
 *   40143 unrecognised: unknown secret id or a tag that does not verify (forged, corrupted).
 * On success fills *out (free with rta_native_token_clear). */
int rta_native_token_verify(const char *s, size_t len, rta_keyring *ring, rta_native_token *out,
                            rta_error *err);

void rta_native_token_clear(rta_native_token *t);

#endif
