/* token_signer.h: the core of createTokenRequest (spec RSA9): turn TokenParams into a
 * signed TokenRequest with a key, without contacting the server.
 *
 * A signer holds one key's name and its prepared HMAC, plus a one-entry memo of the last
 * capability it canonicalised: applications sign the same capability again and again, and
 * canonicalising (a JSON parse and sort) costs more than the MAC itself.
 *
 * What sign() does, in order:
 *   - clientId "" is 40012 (RSA9 error cases; "*" is the wildcard and allowed);
 *   - ttl < 0 is 40003; 0 means absent (RSA5: never filled in client-side);
 *   - capability: canonicalised (RSA9f), absent stays absent (RSA6), invalid is 40000;
 *   - timestamp: params->timestamp when non-zero, else now_ms (RSA9d; the caller applies the
 *     queryTime offset, RSA10k);
 *   - nonce: 24 characters of base64url from the CSPRNG, 144 bits (RSA9c: at least 16);
 *   - mac: RSA9g over the fields above.
 * Not thread-safe: one signer per thread, or guard it (the SDK's auth object does).
 */
#ifndef RTA_CORE_TOKEN_SIGNER_H
#define RTA_CORE_TOKEN_SIGNER_H

#include <stdint.h>

#include "key.h"
#include "rtauth/error.h"
#include "rtauth/token.h"

#define RTA_NONCE_LEN 24

typedef struct rta_token_signer rta_token_signer;

/* Returns NULL on allocation failure. The key is copied. */
rta_token_signer *rta_token_signer_new(const rta_key *key);
void rta_token_signer_free(rta_token_signer *s);

/* Fills *out (owned strings; clear with rta_token_request_clear) or returns an Ably code
 * with *out empty. params may be NULL (all absent). */
int rta_token_signer_sign(rta_token_signer *s, const rta_token_params *params, int64_t now_ms,
                          rta_token_request *out, rta_error *err);

/* Writes a fresh nonce (RTA_NONCE_LEN characters of base64url, NUL-terminated). */
int rta_nonce_generate(char out[RTA_NONCE_LEN + 1]);

#endif
