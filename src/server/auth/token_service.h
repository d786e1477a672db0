/* auth/token_service.h: issuing, verifying and revoking tokens: the auth rules of rtauthd, with no
 * I/O. The HTTP routes and the realtime gateway call it; it calls nothing but the core and
 * its in-memory indexes. Persistence (nonces, revocations) is the caller's job: the service
 * says what must be stored before the reply goes out.
 *
 * Spec: checklist Part B (S-1..S-70), wire protocol 4.2 and 4.4.
 */
#ifndef RTA_SERVER_TOKEN_SERVICE_H
#define RTA_SERVER_TOKEN_SERVICE_H

#include <stdint.h>

#include "core/capability.h"
#include "core/native_token.h"
#include "core/token_codec.h" /* rta_revoke_request, the revokeTokens body */
#include "server/auth/nonce_cache.h"
#include "server/auth/registry.h"
#include "server/auth/revocations.h"
#include "rtauth/token.h"

typedef struct rta_token_limits {
    int64_t default_ttl;       /* 3 600 000 ms (RSA5, TK2a) */
    int64_t max_ttl;           /* 86 400 000 ms (24 h) */
    int64_t max_ttl_revocable; /* 3 600 000 ms for keys with revocable tokens */
    int64_t timestamp_window;  /* 120 000 ms either side of now (S-20) */
    size_t max_nonces;         /* in-memory replay cache capacity */
} rta_token_limits;

void rta_token_limits_default(rta_token_limits *l);

typedef struct rta_token_service {
    rta_token_limits limits;
    rta_registry *registry; /* borrowed: owned by the server */
    rta_keyring keyring;    /* server secrets for native tokens */
    rta_nonce_cache nonces;
    rta_revocations revocations;
    /* The earliest `issued` a new token may carry: a revocation without issuedBefore covers
     * every token issued up to and including the millisecond it was received (issue 11: a
     * token minted in that millisecond escaped), so tokens minted after it, in the same
     * millisecond, are stamped one millisecond later and stay valid. */
    int64_t issue_floor;
    /* Cluster mode: this node has been cut off from the shared store for longer than the
     * partition grace, so revocations made elsewhere may be missing here: every token of a
     * key with revocable tokens counts as revoked (40141, retried through another node)
     * until it is set back to 0 (docs/cluster.md, partitions). */
    int revocations_unchecked;
} rta_token_service;

int rta_token_service_init(rta_token_service *ts, rta_registry *registry,
                           const rta_token_limits *limits);
void rta_token_service_free(rta_token_service *ts);

typedef enum {
    RTA_BASIC_HTTP_LOOPBACK = 0, /* allowed from loopback peers only */
    RTA_BASIC_HTTP_ALWAYS,
    RTA_BASIC_HTTP_NEVER,
} rta_basic_over_http;

/* S-2: may Basic auth be used on this connection? Always over TLS; without it, as the policy
 * says (by default only from loopback peers). REST and WebSocket alike. */
int rta_basic_allowed(rta_basic_over_http policy, int tls, int loopback);

/* What a credential grants: the outcome of authenticating a request or connection. */
typedef enum { RTA_AUTH_BASIC = 1, RTA_AUTH_TOKEN, RTA_AUTH_JWT } rta_auth_method;

/* A JWT that wraps a token (x-ably-token, S-37): the inner token decides what is granted, and
 * the wrapper's own identity is kept beside it so that revoking either (token:<JWT>, its
 * revocationKey or clientId) ends the credential, on REST and on live connections. */
typedef struct rta_auth_wrapper {
    char key_name[RTA_KEY_NAME_MAX + 1];
    char token_ref[40];
    char *client_id;      /* x-ably-clientId, owned, NULL if none */
    char *revocation_key; /* x-ably-revocation-key, owned, NULL if none */
    int64_t issued;       /* iat, ms */
    int revocable;        /* its key has revocable tokens */
} rta_auth_wrapper;

typedef struct rta_auth_context {
    rta_auth_method method;
    char key_name[RTA_KEY_NAME_MAX + 1];
    char app_id[RTA_KEY_ID_MAX + 1];
    rta_capability capability; /* owned */
    char *client_id;           /* owned; NULL anonymous, "*" wildcard (Basic: NULL) */
    char *revocation_key;      /* JWT x-ably-revocation-key, owned */
    char token_ref[40];        /* see rta_token_ref(); "" for Basic */
    int revocable;             /* issued by a key with revocable tokens */
    int64_t issued;            /* ms; 0 for Basic */
    int64_t expires;           /* ms; 0 for Basic (never expires) */
    rta_auth_wrapper *wrapper; /* owned; NULL unless a JWT wrapped the token */
} rta_auth_context;

/* 1 when the credential a was issued by key_name, directly or as a wrapping JWT. */
int rta_auth_context_uses_key(const rta_auth_context *a, const char *key_name);

void rta_auth_context_clear(rta_auth_context *a);

/* A stable reference to one token, for revocation by token and for logs: the hex of a native
 * token's tokenId, or for a JWT the hex of the first 12 bytes of SHA-256 of the JWT text.
 * Not secret. out gets at most 24 hex characters + NUL; *issued and *expires (ms) the token's
 * own times. Returns 0 or 40145/40143/40144. */
int rta_token_ref(rta_token_service *ts, const char *token, size_t len, char out[40],
                  char key_name[RTA_KEY_NAME_MAX + 1], int64_t *issued, int64_t *expires,
                  rta_error *err);

/* Verifies a token string (native or Ably JWT, raw, as on the WebSocket) at time now:
 * 40145/40143 (native malformed/forged), 40144 (JWT malformed), 40101 (JWT signature),
 * 40400 (unknown key), 40131 (key disabled), 40142 (expired), 40141 (revoked), 40160 (JWT
 * capability outside the key's). Fills *out on success. */
int rta_token_service_verify(rta_token_service *ts, const char *token, size_t len, int64_t now,
                             rta_auth_context *out, rta_error *err);

/* Basic auth (S-1): key name and secret, compared in constant time. 40101 for an unknown key
 * or a wrong secret (the same message: no key enumeration through Basic), 40131 disabled. */
int rta_token_service_basic(rta_token_service *ts, const char *key_name, size_t name_len,
                            const char *secret, size_t secret_len, rta_auth_context *out,
                            rta_error *err);

/* A token issued by requestToken, and the nonce that must be stored durably before it is
 * handed out (nonce_key_name empty when there is none: the Basic-auth path). */
typedef struct rta_issued_token {
    rta_token_details details; /* owned */
    char nonce_key_name[RTA_KEY_NAME_MAX + 1];
    char *nonce; /* owned */
    int64_t nonce_expires;
} rta_issued_token;

void rta_issued_token_clear(rta_issued_token *t);

/* POST /keys/{keyName}/requestToken with a signed TokenRequest (S-17..S-27). path_key_name
 * is the key name from the URL. Checks, in order: keyName (40101 if it differs from the path,
 * 40400 unknown, 40131 disabled); nonce present and >= 16 characters (40001/40003); MAC
 * (40101); timestamp within the window (40104); ttl (40003); clientId "" (40012);
 * capability (40000 invalid, 40160 empty intersection); nonce unused (40105). Then mints. */
int rta_token_service_request_signed(rta_token_service *ts, const char *path_key_name,
                                     const rta_token_request *req, int64_t now,
                                     rta_issued_token *out, rta_error *err);

/* The same with TokenParams, for a request authenticated with Basic auth of that key
 * (`basic` must be the key's own context: 40101 otherwise). header_client_id is the
 * X-Ably-ClientId header's clientId (NULL if none): a different params clientId is 40102. */
int rta_token_service_request_basic(rta_token_service *ts, const char *path_key_name,
                                    const rta_auth_context *basic, const rta_token_params *params,
                                    const char *header_client_id, int64_t now,
                                    rta_issued_token *out, rta_error *err);

/* One revocation to store and index (revokeTokens success result). */
typedef struct rta_revocation_plan {
    char *target; /* as stored: clientId:x, revocationKey:x, token:<ref> */
    char *requested_target; /* as the client wrote it (echoed in the result) */
    int64_t issued_before;
    int64_t applies_at;
    int64_t expires;
} rta_revocation_plan;

/* The stored targets of plans (at most RTA_MAX_REVOCATION_TARGETS, pointers into plans) into
 * out, for acting on the live connections they name; returns how many. */
size_t rta_revocation_plan_targets(const rta_revocation_plan *plans, size_t n,
                                   const char *out[RTA_MAX_REVOCATION_TARGETS]);

/* Validates a revokeTokens request (S-66..S-70) made with `basic` (must be Basic auth of
 * path_key_name: 40162 for token auth, 40133 for another key; the key must have revocable
 * tokens: 40163). Produces the batch result (per-target failures for bad targets, 40000)
 * and the plans to persist and apply for the successes. issuedBefore in the future or more
 * than an hour old is a whole-request 40003.
 *
 * Boundaries (issue 11): a token: target revokes that one token whatever its issue time. A
 * clientId or revocationKey target without issuedBefore covers every token issued up to and
 * including the millisecond the request is planned (issuedBefore = now + 1), and none minted
 * after it (ts->issue_floor). Each plan expires when nothing it covers can still be valid. */
int rta_token_service_plan_revocation(rta_token_service *ts, const char *path_key_name,
                                      const rta_auth_context *basic,
                                      const rta_revoke_request *req, int64_t now,
                                      rta_revocation_batch *result, rta_revocation_plan **plans,
                                      size_t *plan_count, rta_error *err);
void rta_revocation_plans_free(rta_revocation_plan *plans, size_t count);

/* Store thread: writes key_name's plans to the store, durably, before they are applied
 * (revokeTokens and the console). 0, or the store's error. */
struct rta_store;
int rta_revocation_plans_store(struct rta_store *store, const char *key_name,
                               const rta_revocation_plan *plans, size_t count, rta_error *err);

/* Adds persisted revocations to the index. */
int rta_token_service_apply_revocations(rta_token_service *ts, const char *key_name,
                                        const rta_revocation_plan *plans, size_t count);

/* Who a publisher speaks for (S-51..S-53): `own` is stamped on its messages that name no
 * clientId (NULL: nothing is stamped); may_choose: it may name any clientId (unidentified
 * Basic auth, a wildcard token). Everyone else may name only `own`. The realtime MESSAGE and
 * PRESENCE paths and REST publish all decide with this. */
typedef struct rta_speaker {
    const char *own;
    int may_choose;
} rta_speaker;

/* 1 when a message from sp may carry client_id (NULL: it names none). */
int rta_speaker_may_name(const rta_speaker *sp, const char *client_id);

/* The clientId a realtime connection or a REST request acts as (RSA7, RSA12, S-51..S-53),
 * from the one it asks for (`requested`: the connection's clientId param or X-Ably-ClientId;
 * NULL when none) and its credentials: Basic auth or a wildcard token may take any, a token
 * with a clientId only that one. *out borrows requested or a->client_id (NULL: none; "*": a
 * wildcard token with none requested). Returns 0, 40012 (requested "*", which is reserved) or
 * 40102 (requested but the token names another or none); the caller words the error. */
int rta_client_id_resolve(const rta_auth_context *a, const char *requested, const char **out);
/* Who an identity resolved that way speaks for: its clientId unless a wildcard; any clientId
 * for a wildcard or an unidentified Basic one; an anonymous token none. */
rta_speaker rta_speaker_for(const rta_auth_context *a, const char *client_id);

/* 1 when a live context is revoked at now; *pending_at as in rta_revocations_check. */
int rta_token_service_is_revoked(rta_token_service *ts, const rta_auth_context *a, int64_t now,
                                 int64_t *pending_at);

#endif
