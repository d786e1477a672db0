/* rtauth/error.h: Ably error codes and the ErrorInfo carried by every failing call.
 *
 * Every rtauth function that can fail returns an int: 0 on success, otherwise the Ably
 * error code (40142, 40160, ...). When the caller passes an rta_error, it is filled with
 * the code, the HTTP-style status code and a message that never contains a secret.
 *
 * On success err is cleared ("no error": code 0, empty message, no cause), even when an
 * attempt on the way failed and was retried (a token renewed, RSA4b): after any call, err
 * describes that call and nothing older. The one exception says so in its header:
 * rta_realtime_wait_state fills err with the errorReason of the state reached (which may be
 * set on success, e.g. 80008 after a failed resume). Functions returning a pointer
 * (rta_realtime_channel) clear err when they return non-NULL. Callbacks get "no error" with
 * rc 0. Out-parameters named reason (rta_realtime_state, rta_channel_get_state) are a copy
 * of the errorReason, not a call's error.
 * The same table drives what the server puts on the wire, so SDK and server agree.
 *
 * Arguments: every public function checks its pointer arguments. A NULL where the function
 * needs a pointer is 40000 (RTA_ERR_BAD_REQUEST, and err says which) for functions that return
 * a status; the others say what they do instead (return NULL, 0 or RTA_CONN_FAILED, or do
 * nothing). err may always be NULL, and so may every argument a header calls optional ("may
 * be NULL", "NULL means ..."). tests/sdk/test_sdk_null_args.c calls every public function
 * with NULL for each other pointer.
 */
#ifndef RTAUTH_ERROR_H
#define RTAUTH_ERROR_H

#include "rtauth/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, code, statusCode, default message). One row per code rtauth emits.
 * Codes and statuses follow ably-common's errors.json (spec TI1); see
 * docs/spec-checklist.md section C. */
#define RTA_ERROR_TABLE(X)                                                                         \
    X(RTA_OK, 0, 200, "OK")                                                                        \
    X(RTA_ERR_BAD_REQUEST, 40000, 400, "Bad request")                                              \
    X(RTA_ERR_INVALID_BODY, 40001, 400, "Invalid request body")                                    \
    X(RTA_ERR_INVALID_PARAMETER, 40003, 400, "Invalid parameter value")                            \
    X(RTA_ERR_INVALID_CREDENTIAL, 40005, 400, "Invalid key or token in request")                   \
    X(RTA_ERR_MESSAGE_TOO_LARGE, 40009, 400, "Maximum message length exceeded")                    \
    X(RTA_ERR_INVALID_CHANNEL, 40010, 400, "Invalid channel name")                                 \
    X(RTA_ERR_INVALID_CLIENT_ID, 40012, 400, "Invalid clientId")                                   \
    X(RTA_ERR_PROTOCOL_VERSION, 40017, 400, "Unsupported protocol version")                        \
    X(RTA_ERR_UNAUTHORIZED, 40100, 401, "Unauthorized")                                            \
    X(RTA_ERR_INVALID_CREDENTIALS, 40101, 401, "Invalid credentials")                              \
    X(RTA_ERR_INCOMPATIBLE_CREDENTIALS, 40102, 401, "Incompatible credentials")                    \
    X(RTA_ERR_BASIC_OVER_NON_TLS, 40103, 401,                                                      \
      "Invalid use of Basic authentication over non-TLS transport")                                \
    X(RTA_ERR_TIMESTAMP_NOT_CURRENT, 40104, 401, "Timestamp not current")                          \
    X(RTA_ERR_NONCE_REPLAYED, 40105, 401, "Nonce value replayed")                                  \
    X(RTA_ERR_NO_AUTH_METHOD, 40106, 401, "No valid authentication method provided")               \
    X(RTA_ERR_CONNECTION_LIMIT, 40111, 403, "Connection limit exceeded")                           \
    X(RTA_ERR_KEY_DISABLED, 40131, 401, "API key revoked or disabled")                             \
    X(RTA_ERR_WRONG_REVOCATION_KEY, 40133, 401,                                                    \
      "Tokens can only be revoked with the key that issued them")                                  \
    X(RTA_ERR_TOKEN, 40140, 401, "Token not accepted")                                             \
    X(RTA_ERR_TOKEN_REVOKED, 40141, 401, "Token revoked")                                          \
    X(RTA_ERR_TOKEN_EXPIRED, 40142, 401, "Token expired")                                          \
    X(RTA_ERR_TOKEN_UNRECOGNISED, 40143, 401, "Token not recognised")                              \
    X(RTA_ERR_INVALID_JWT, 40144, 401, "Invalid JWT format")                                       \
    X(RTA_ERR_INVALID_TOKEN, 40145, 401, "Invalid token format")                                   \
    X(RTA_ERR_CAPABILITY_DENIED, 40160, 401, "Operation not permitted with provided capability")   \
    X(RTA_ERR_IDENTIFIED_ONLY, 40161, 401, "Operation requires an identified client")              \
    X(RTA_ERR_REQUIRES_BASIC, 40162, 401, "Operation requires Basic authentication")               \
    X(RTA_ERR_NOT_REVOCABLE, 40163, 401, "Key does not have revocable tokens enabled")             \
    X(RTA_ERR_MODE_NOT_REQUESTED, 40165, 401, "Channel mode not requested at attach")             \
    X(RTA_ERR_AUTH_CALLBACK, 40170, 401, "Error from client token callback")                       \
    X(RTA_ERR_NO_RENEWAL, 40171, 403, "No means provided to renew auth token")                     \
    X(RTA_ERR_FORBIDDEN, 40300, 403, "Forbidden")                                                  \
    X(RTA_ERR_NOT_FOUND, 40400, 404, "Not found")                                                  \
    X(RTA_ERR_METHOD_NOT_ALLOWED, 40500, 405, "Method not allowed")                                \
    X(RTA_ERR_BODY_TOO_LARGE, 41300, 413, "Request body too large")                                \
    X(RTA_ERR_UNSUPPORTED_MEDIA, 41500, 415, "Unsupported content type")                           \
    X(RTA_ERR_RATE_LIMIT, 42910, 429, "Rate limit exceeded; request rejected")                     \
    X(RTA_ERR_INTERNAL, 50000, 500, "Internal error")                                              \
    X(RTA_ERR_TIMEOUT, 50003, 504, "Timeout")                                                      \
    X(RTA_ERR_CONNECTION_FAILED, 80000, 400, "Connection failed")                                  \
    X(RTA_ERR_DISCONNECTED, 80003, 400, "Connection disconnected")                                 \
    X(RTA_ERR_CONNECTION_SUSPENDED, 80002, 400, "Connection suspended")                            \
    X(RTA_ERR_CONNECTION_CLOSED, 80017, 400, "Connection closed")                                  \
    X(RTA_ERR_RESUME_FAILED, 80008, 400, "Unable to recover connection")                           \
    X(RTA_ERR_INVALID_CONNECTION_KEY, 80018, 400, "Invalid connection key")                        \
    X(RTA_ERR_TOKEN_REQUEST_FAILED, 80019, 401, "Token request failed")                            \
    X(RTA_ERR_CHANNEL_FAILED, 90001, 400, "Channel operation failed")                              \
    X(RTA_ERR_CHANNEL_TIMEOUT, 90007, 408, "No response from the server in time")               \
    X(RTA_ERR_TOO_MANY_CHANNELS, 90010, 400, "Maximum number of channels per connection exceeded") \
    X(RTA_ERR_PRESENCE_NO_CLIENT_ID, 91000, 400, "Cannot enter presence without a clientId")       \
    X(RTA_ERR_PRESENCE_LIMIT, 91003, 400, "Maximum number of presence members exceeded")

enum rta_error_code {
#define RTA__ERR_ENUM(name, code, status, msg) name = code,
    RTA_ERROR_TABLE(RTA__ERR_ENUM)
#undef RTA__ERR_ENUM
};

#define RTA_ERROR_MESSAGE_MAX 256

/* ErrorInfo (TI1): code, statusCode, message, and an optional cause, one level deep (the
 * cause's own cause is not kept). Where the library sets a cause:
 *   - 40170/401, a token request whose authCallback or authUrl failed, timed out or answered
 *     something unusable (RSA4e: REST requests, requestToken, authorize): the cause is that
 *     failure (the callback's code, the authUrl's status * 100 or its error body, 50003, 80000);
 *   - 80019 on a realtime connection for the same failures (RSA4c1: status 401, the connection
 *     disconnected and retrying; RSA4d: status 403 when the source said forbidden, the
 *     connection failed): the cause is the same underlying failure as the 40170's, not the
 *     40170 itself;
 *   - 40171/403, a token rejected with nothing to renew it with (RSA4a2): the cause is the
 *     server's token error (40140-40149, e.g. 40141 revoked, 40142 expired).
 * The href is derived from the code with rta_error_href(). Plain data: the caller owns it,
 * nothing to free. */
typedef struct rta_error {
    int code;        /* Ably error code; 0 when no error */
    int status_code; /* HTTP-style status, e.g. 401 */
    char message[RTA_ERROR_MESSAGE_MAX];
    int cause_code; /* 0 when there is no cause */
    int cause_status_code;
    char cause_message[RTA_ERROR_MESSAGE_MAX];
} rta_error;

/* Default message for a code ("Unknown error" for a code not in the table). Never NULL. */
RTA_EXTERN const char *rta_strerror(int code);

/* Default HTTP status for a code: the table's, else code / 100 for 4xxxx and 5xxxx codes,
 * else 500. */
RTA_EXTERN int rta_error_status(int code);

/* Fills err (which may be NULL) and returns code, so callers can write
 * `return rta_error_set(err, RTA_ERR_TOKEN_EXPIRED, "Token expired at %lld", t);`.
 * fmt NULL uses the default message. The status is the code's default. */
RTA_EXTERN int rta_error_set(rta_error *err, int code, const char *fmt, ...)
    RTA_PRINTF(3, 4);

/* As rta_error_set with an explicit status code (ErrorInfo relayed from the wire). */
RTA_EXTERN int rta_error_set_status(rta_error *err, int code, int status_code, const char *fmt, ...)
    RTA_PRINTF(4, 5);

/* Records cause as err's cause (RSA4c1, RSA4e): its code, status and message. Either may be
 * NULL. */
RTA_EXTERN void rta_error_set_cause(rta_error *err, const rta_error *cause);

/* Resets err to "no error". */
RTA_EXTERN void rta_error_clear(rta_error *err);

/* Writes "https://help.ably.io/error/<code>" into buf (snprintf rules; NULL buf writes nothing);
 * returns the length it needed. */
RTA_EXTERN size_t rta_error_href(int code, char *buf, size_t size);

/* Token errors (40140..40149) are the only ones that make a client renew (RSA4b, RSC10). */
static inline int rta_error_is_token_error(int code)
{
    return code >= 40140 && code < 40150;
}

#ifdef __cplusplus
}
#endif
#endif
