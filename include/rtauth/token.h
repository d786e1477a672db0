/* rtauth/token.h: the Ably token types: TokenParams, TokenRequest, TokenDetails and the
 * revocation types (spec TK, TE, TD, TRT, TRS, TRF, BAR).
 *
 * Ownership: these are plain structs with public fields. A struct the library fills
 * (decode, requestToken, createTokenRequest, copies) owns every string in it: release them
 * with the matching _clear() function, which frees the strings (not the struct itself) and
 * zeroes it. A struct you fill yourself to pass into a call is only read by the library,
 * which copies what it keeps; don't _clear() one whose strings you didn't malloc.
 * The structs you pass in (TokenParams, TokenRequest, revocation targets) have const char *
 * fields, as rta_auth_options: string literals need no cast, in C with -Wwrite-strings and in
 * C++. TokenDetails, which the library hands out, keeps char *.
 *
 * Absent is not null: a NULL string or a 0 number means "absent" and is never sent.
 * The _clear() functions accept NULL (a no-op).
 */
#ifndef RTAUTH_TOKEN_H
#define RTAUTH_TOKEN_H

#include "rtauth/export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TokenParams (TK2). */
typedef struct rta_token_params {
    int64_t ttl;            /* ms; 0 = absent: the server applies 60 minutes (RSA5, TK2a) */
    const char *capability; /* JSON text; NULL = absent: the key's capability (RSA6, TK2b) */
    const char *client_id;  /* NULL = anonymous token; "*" = wildcard (TK2c) */
    int64_t timestamp; /* ms; 0 = absent: now (TK2d); never kept as a default (RSA10g) */
} rta_token_params;

/* TokenRequest (TE1-TE6): a signed request a key holder makes for somebody else. */
typedef struct rta_token_request {
    const char *key_name;   /* "appId.keyId" */
    int64_t ttl;            /* 0 = absent */
    const char *capability; /* canonical JSON text exactly as signed; NULL = absent */
    const char *client_id;  /* NULL = absent */
    int64_t timestamp;      /* ms */
    const char *nonce;      /* at least 16 characters (RSA9c) */
    const char *mac;        /* base64 HMAC-SHA256 (RSA9g) */
} rta_token_request;

/* TokenDetails (TD1-TD7): what requestToken returns. */
typedef struct rta_token_details {
    char *token;      /* opaque token string (TN1); for a JWT the whole JWT */
    char *key_name;   /* NULL when unknown (JWT supplied by the app) */
    int64_t issued;   /* ms; 0 when unknown */
    int64_t expires;  /* ms; 0 when unknown */
    char *capability; /* JSON text; NULL when unknown */
    char *client_id;  /* NULL = anonymous, "*" = wildcard */
} rta_token_details;

/* Revocation target types (TRT2a), for rta_revocation_target.type: tokens issued to a clientId,
 * tokens carrying a revocationKey, and rtauth's own: one token, by its token string. */
#define RTA_REVOKE_TARGET_CLIENT_ID      "clientId"
#define RTA_REVOKE_TARGET_REVOCATION_KEY "revocationKey"
#define RTA_REVOKE_TARGET_TOKEN          "token"

/* One revocation target, "type:value" on the wire (RSA17b). type is one of the
 * RTA_REVOKE_TARGET_* names above (any other is sent as is and answered with a per-target
 * failure, TRF). */
typedef struct rta_revocation_target {
    const char *type;
    const char *value;
} rta_revocation_target;

/* TRS (success) or TRF (failure) for one target. */
typedef struct rta_revocation_result {
    char *target;
    int failed; /* 0: TRS with issued_before/applies_at; 1: TRF with the error fields */
    int64_t issued_before;
    int64_t applies_at;
    int error_code;
    int error_status_code;
    char *error_message;
} rta_revocation_result;

/* BatchResult (BAR2a-c). */
typedef struct rta_revocation_batch {
    int success_count;
    int failure_count;
    rta_revocation_result *results;
    size_t result_count;
} rta_revocation_batch;

RTA_EXTERN void rta_token_params_clear(rta_token_params *p);
RTA_EXTERN void rta_token_request_clear(rta_token_request *r);
RTA_EXTERN void rta_token_details_clear(rta_token_details *d);
RTA_EXTERN void rta_revocation_target_clear(rta_revocation_target *t);
RTA_EXTERN void rta_revocation_batch_clear(rta_revocation_batch *b);

/* Deep copies into dst (which is overwritten, not freed). Return 0, 40000 when src or dst is
 * NULL (dst, if any, is emptied), or 50000. */
RTA_EXTERN int rta_token_params_copy(const rta_token_params *src, rta_token_params *dst);
RTA_EXTERN int rta_token_request_copy(const rta_token_request *src, rta_token_request *dst);
RTA_EXTERN int rta_token_details_copy(const rta_token_details *src, rta_token_details *dst);

#ifdef __cplusplus
}
#endif
#endif
