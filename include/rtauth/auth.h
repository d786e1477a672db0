/* rtauth/auth.h: the Auth object (spec RSA), one to one with ably-js's `client.auth`.
 *
 * Get it from its client (rta_rest_auth); it lives exactly as long as the client and is never
 * freed on its own.
 *
 * Arguments, as in Ably (RSA8e, RSA9h, RSA10j): a NULL params or opts means "use the stored
 * defaults" (the ClientOptions, or what the last authorize saved); a non-NULL one replaces
 * them entirely for that call, without merging. Inputs are only read during the call (the
 * _async forms copy them before returning).
 *
 * Results: functions return 0 or an Ably error code and, when err is not NULL, fill it (code,
 * status, message) and clear it on success (error.h). A failure with an underlying error
 * keeps it in err->cause_code/cause_status_code/cause_message: 40170 carries the
 * authCallback's or authUrl's failure (RSA4e), 40171 the token error the server gave (e.g.
 * 40141 inside a 40171, RSA4a2). On a realtime connection the same token failures show as
 * 80019 with that cause in the connection's errorReason (RSA4c, realtime.h); the calls below
 * still return 40170. Outputs (rta_token_details, rta_token_request,
 * rta_revocation_batch) are filled on success, owned by the caller and released with their
 * _clear() function; on failure they are left empty (zeroed), so clearing them is always safe.
 *
 * Threads: every function is thread-safe. Blocking forms run on the caller's thread and may do
 * network I/O (bounded by the timeouts in the options). Each _async form queues the call on the
 * client's worker thread (started on first use), returns 0 once queued, and later calls its
 * callback exactly once on that worker thread. It returns an error code without queuing (and
 * the callback is never called) only when the auth, the callback or (revokeTokens) targets is
 * NULL (40000), when out of memory or when the thread cannot start (50000); its last argument,
 * an rta_error *err (may be NULL), then explains the refusal as the blocking forms do. Every
 * other error, a bad argument included, comes through the callback's err.
 * Callback arguments are borrowed: valid until the callback returns; copy what you keep.
 * A blocking call on a client made from one of that client's callbacks (completion callbacks,
 * authCallback, log handler) returns 40000 instead of deadlocking: use the _async forms there.
 *
 * Secrets: no key secret, token or MAC ever appears in an error message or a log line.
 */
#ifndef RTAUTH_AUTH_H
#define RTAUTH_AUTH_H

#include "rtauth/export.h"

#include <stddef.h>
#include <stdint.h>

#include "rtauth/error.h"
#include "rtauth/options.h"
#include "rtauth/token.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rta_auth rta_auth;

/* Completion callbacks of the _async forms. rc is 0 or the Ably error code; on success the
 * result is non-NULL and err is "no error"; on failure the result is NULL. */
typedef void (*rta_token_details_callback)(int rc, const rta_token_details *details,
                                           const rta_error *err, void *user_data);
typedef void (*rta_token_request_callback)(int rc, const rta_token_request *request,
                                           const rta_error *err, void *user_data);
typedef void (*rta_revoke_callback)(int rc, const rta_revocation_batch *result,
                                    const rta_error *err, void *user_data);

/* auth.clientId (RSA7, RSA12): the configured ClientOptions.client_id, else the clientId of
 * the token in use ("*" for a wildcard token, RSA7b4), else NULL (anonymous, or not known yet,
 * RSA12a/b). The string stays valid until the client is destroyed. Never blocks. */
RTA_EXTERN const char *rta_auth_client_id(rta_auth *auth);

/* auth.tokenDetails (RSA16): a copy of the TokenDetails in use into *out (caller clears it).
 * out->token is NULL when there is none: Basic auth, or the last token was rejected (RSA16d).
 * A token given as a string only has its token field set (RSA16b). Returns 0 or 50000.
 * Never blocks. */
RTA_EXTERN int rta_auth_token_details(rta_auth *auth, rta_token_details *out, rta_error *err);

/* authorize (RSA10): obtains a new token now, always (even if the current one is valid),
 * from opts (or the stored options): a token or token_details in opts is used as is (RSA10e),
 * else authCallback, then authUrl, then the key (RSA8). The client then uses token auth for
 * every later request, Basic included (RSA10a), and params/opts become the stored defaults,
 * except params->timestamp and opts->query_time (RSA10g). Errors: 40102 when opts has a
 * different key than the client; 40102 with status 403 when the token's clientId is
 * incompatible with the client's (RSA15a, RSA15c: on a realtime client the connection then
 * goes FAILED, realtime.h); the requestToken errors below. details may be NULL. */
RTA_EXTERN int rta_auth_authorize(rta_auth *auth, const rta_token_params *params, const rta_auth_options *opts,
                       rta_token_details *details, rta_error *err);
RTA_EXTERN int rta_auth_authorize_async(rta_auth *auth, const rta_token_params *params,
                                        const rta_auth_options *opts,
                                        rta_token_details_callback cb, void *user_data,
                                        rta_error *err);

/* createTokenRequest (RSA9): a signed TokenRequest made locally with the key, without
 * contacting the server (unless query_time needs the server's clock once, RSA10k).
 * The nonce is random (RSA9c), the timestamp params->timestamp or now (RSA9d), the capability
 * canonicalised (RSA9f); an absent ttl or capability stays absent (RSA5, RSA6). When params has
 * no clientId the client's configured clientId is used (RSA7d). Errors: 40101 no key in
 * opts/options, 40012 clientId "", 40003 ttl < 0, 40000 invalid capability. */
RTA_EXTERN int rta_auth_create_token_request(rta_auth *auth, const rta_token_params *params,
                                  const rta_auth_options *opts, rta_token_request *request,
                                  rta_error *err);
RTA_EXTERN int rta_auth_create_token_request_async(rta_auth *auth,
                                                   const rta_token_params *params,
                                                   const rta_auth_options *opts,
                                                   rta_token_request_callback cb, void *user_data,
                                                   rta_error *err);

/* requestToken (RSA8): obtains TokenDetails from authCallback, authUrl or the key (a locally
 * signed TokenRequest exchanged with the server), in that order of preference. Does not change
 * the token the client uses nor the stored defaults. Errors: 40170 (with the cause) when the
 * authCallback or authUrl fails, times out or answers something unusable (RSA4e, RSA4f);
 * the server's error when a TokenRequest exchange is refused (e.g. 40101, 40104, 40160);
 * 40171 when there is no key, authCallback or authUrl. */
RTA_EXTERN int rta_auth_request_token(rta_auth *auth, const rta_token_params *params,
                           const rta_auth_options *opts, rta_token_details *details,
                           rta_error *err);
RTA_EXTERN int rta_auth_request_token_async(rta_auth *auth, const rta_token_params *params,
                                            const rta_auth_options *opts,
                                            rta_token_details_callback cb, void *user_data,
                                            rta_error *err);

/* Options of revokeTokens (RSA17e, RSA17f). */
typedef struct rta_revoke_options {
    int64_t issued_before;   /* ms since the epoch; 0: not sent (the server uses now) */
    int allow_reauth_margin; /* non-zero: sent as true (revocation applies 30 s later) */
} rta_revoke_options;

/* revokeTokens (RSA17): revokes the tokens matching targets (TRT: type
 * RTA_REVOKE_TARGET_CLIENT_ID, _REVOCATION_KEY, or rtauth's _TOKEN, token.h; sent as
 * "type:value", RSA17b) issued by the client's
 * key. Needs Basic auth: a client using token auth gets 40162 without any request (RSA17d).
 * On success *result holds one TRS or TRF entry per target (RSA17c); per-target failures are
 * not an error of the call. opts may be NULL. count must be 1..100 (else 40003). */
RTA_EXTERN int rta_auth_revoke_tokens(rta_auth *auth, const rta_revocation_target *targets, size_t count,
                           const rta_revoke_options *opts, rta_revocation_batch *result,
                           rta_error *err);
RTA_EXTERN int rta_auth_revoke_tokens_async(rta_auth *auth,
                                            const rta_revocation_target *targets, size_t count,
                                            const rta_revoke_options *opts, rta_revoke_callback cb,
                                            void *user_data, rta_error *err);

#ifdef __cplusplus
}
#endif
#endif
