/* jwt.h: Ably JWTs, HS256 only (spec TN3; Ably docs auth/token/jwt; checklist S-31..S-37).
 *
 * An Ably JWT is three base64url segments header.payload.signature with
 *   header  {"typ":"JWT","alg":"HS256","kid":"<keyName>"}
 *   payload {"iat":<s>,"exp":<s>,"x-ably-capability":"<JSON text>","x-ably-clientId":"..",
 *            "x-ably-revocation-key":".."}
 * signed with HMAC-SHA256 under the key's secret. The embedded form carries an Ably token
 * (or Ably JWT) under "x-ably-token", in the header or as a payload claim; the server then
 * validates the inner token (S-37).
 *
 * Verification is two steps because the secret depends on the header: rta_jwt_parse() checks
 * structure and reads kid, the server looks the key up, rta_jwt_verify() checks the
 * signature (constant time) and the times. Only "alg":"HS256" is ever accepted ("none",
 * RS256, anything else: 40144). Nothing here trusts a claim before the signature is checked,
 * except kid, which only selects the key.
 *
 * Errors: malformed (segments, base64url, JSON, types, missing kid/iat/exp, alg) 40144/401;
 * bad signature 40101/401; exp in the past 40142/401; iat in the future beyond the leeway
 * 40144/401; exp <= iat 40144/401; iat or exp outside [0, RTA_JWT_MAX_SECONDS] 40144/401.
 */
#ifndef RTA_CORE_JWT_H
#define RTA_CORE_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rtauth/error.h"

#define RTA_JWT_MAX_LEN (16 * 1024)
#define RTA_JWT_IAT_LEEWAY_S 60 /* clock skew tolerated on iat */
/* iat and exp must lie in [0, RTA_JWT_MAX_SECONDS] (the end of year 9999), so that every
 * millisecond computed from them fits an int64 (issue 11: (exp - iat) * 1000 overflowed). */
#define RTA_JWT_MAX_SECONDS 253402300799LL

typedef struct rta_jwt {
    char *kid;            /* header kid: the key name; owned */
    int64_t iat;          /* seconds since the epoch */
    int64_t exp;          /* seconds since the epoch */
    char *capability;     /* x-ably-capability JSON text, NULL when absent */
    char *client_id;      /* x-ably-clientId, NULL when absent */
    char *revocation_key; /* x-ably-revocation-key, NULL when absent */
    char *embedded_token; /* x-ably-token (header or payload), NULL when absent */
    /* Private: what the signature covers, and the signature. */
    char *signing_input; /* "header.payload" */
    size_t signing_input_len;
    unsigned char signature[32];
    size_t signature_len;
} rta_jwt;

/* 1 when s looks like a JWT (three non-empty dot-separated base64url segments): a cheap
 * test used to route a token string to JWT or native-token validation. */
int rta_jwt_looks_like(const char *s, size_t len);

/* Parses and structurally validates a JWT. Fills *out (free with rta_jwt_clear) or returns
 * 40144 with *out empty. Does not check the signature or the times. For an embedded-token
 * JWT, iat/exp are still required (S-37). */
int rta_jwt_parse(const char *s, size_t len, rta_jwt *out, rta_error *err);

/* Checks the HS256 signature under secret in constant time, then the times against now_ms:
 * 0 if valid, else 40101 / 40142 / 40144 as above. */
int rta_jwt_verify(const rta_jwt *jwt, const char *secret, size_t secret_len, int64_t now_ms,
                   rta_error *err);

void rta_jwt_clear(rta_jwt *jwt);

/* Signs a JWT (used by tests, the CLI and examples). Claims that are NULL are omitted;
 * iat/exp are seconds. Appends the compact JWT to out. Returns 0 or 50000. */
typedef struct rta_jwt_claims {
    const char *key_name; /* kid */
    int64_t iat;
    int64_t exp;
    const char *capability;
    const char *client_id;
    const char *revocation_key;
    const char *embedded_token; /* written as a payload claim */
} rta_jwt_claims;

int rta_jwt_sign(const rta_jwt_claims *claims, const char *secret, size_t secret_len,
                 rta_buf *out);

#endif
