/* rtauth/rest.h: the REST client (spec RSC): holds the options, the HTTP connections (libcurl,
 * reused across requests), the Auth object and the worker thread of the _async calls.
 *
 * Lifetime: rta_rest_create / rta_rest_destroy. The rta_auth from rta_rest_auth() lives as
 * long as the client. Threads, ownership and errors follow the rules in auth.h: blocking forms
 * run on the caller's thread, callbacks of the _async forms run on the client's worker thread,
 * a blocking call from a callback of the same client returns 40000.
 *
 * Authenticated requests (RSC9, RSC10): every request but /time and requestToken carries
 * Authorization (Basic base64(key), or Bearer base64(token), RSA11, RSA3b), X-Ably-Version 6
 * (RSC7e) and, when a clientId is configured, X-Ably-ClientId base64(clientId) (RSA7e2). With
 * token auth the token is obtained on first use; a 401 with a token error (40140-40149) makes
 * the client obtain a new token once and retry once (RSA4b); with no key, authCallback or
 * authUrl to renew, the call fails with 40171/403 (RSA4a2) whose err->cause_code is the
 * server's token error (e.g. 40141 revoked, 40142 expired); a renewal that fails is 40170
 * with the authCallback's or authUrl's failure as the cause (RSA4e, error.h).
 */
#ifndef RTAUTH_REST_H
#define RTAUTH_REST_H

#include "rtauth/export.h"

#include <stddef.h>
#include <stdint.h>

#include "rtauth/auth.h"
#include "rtauth/error.h"
#include "rtauth/options.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rta_rest rta_rest;

/* Creates a client from options (copied). Chooses the auth method (RSA1-RSA4, RSA14, RSC1):
 * token auth when use_token_auth is 1, or unset and a token, token_details, auth_url or
 * auth_callback is given; otherwise Basic with the key. Makes no request.
 * Errors: 40106 no usable way to authenticate (RSC1b, RSA14); 40005 malformed key; 40012
 * client_id "" or "*" (RSA7c); 40102 token_details' clientId differs from client_id (RSA15a);
 * 40003 an invalid option (auth_url not http(s), a header with CR/LF, a bad port);
 * 50000 out of memory. On success *out is the new client. */
RTA_EXTERN int rta_rest_create(const rta_client_options *options, rta_rest **out, rta_error *err);

/* Destroys the client. Queued _async calls run to completion first (their callbacks run), then
 * the worker thread is joined. Called from one of this client's callbacks, the destruction is
 * finished by the worker thread once that callback returns. Don't use the client afterwards.
 * NULL is a no-op. */
RTA_EXTERN void rta_rest_destroy(rta_rest *rest);

/* The client's Auth object (RSC5). Never NULL for a valid client; don't free it. */
RTA_EXTERN rta_auth *rta_rest_auth(rta_rest *rest);

/* time (RSC16): GET /time, the server's clock in ms since the epoch. No authentication.
 * Also sets the client's server-time offset used by query_time (RSA10k). */
typedef void (*rta_time_callback)(int rc, int64_t time_ms, const rta_error *err, void *user_data);
RTA_EXTERN int rta_rest_time(rta_rest *rest, int64_t *time_ms, rta_error *err);
RTA_EXTERN int rta_rest_time_async(rta_rest *rest, rta_time_callback cb, void *user_data,
                                   rta_error *err);

/* A REST response: status and body. body is NUL-terminated text: JSON, converted from msgpack
 * when the server answered in msgpack, else the raw body. Owned by whoever holds the struct:
 * rta_rest_response_clear() frees it. */
typedef struct rta_rest_response {
    int status_code;
    char *body;
    size_t body_len;
} rta_rest_response;

RTA_EXTERN void rta_rest_response_clear(rta_rest_response *resp);

/* request (RSC19): an authenticated request with the configured auth method (RSC19b) and the
 * renewal rule above. method is "GET", "POST", "PUT", "PATCH" or "DELETE"; path starts with '/'
 * (the query string, if any, already encoded). json_body (may be NULL) is JSON text, sent as is
 * or as msgpack per use_binary_protocol. Returns 0 for a 2xx reply; otherwise the Ably error
 * (from the error body, else the x-ably-errorcode header, else status * 100) and *resp still
 * holds the reply when one arrived. resp may be NULL. */
RTA_EXTERN int rta_rest_request(rta_rest *rest, const char *method, const char *path, const char *json_body,
                     rta_rest_response *resp, rta_error *err);
/* Callback form: resp is NULL only when no reply arrived (network failure, timeout, auth).
 * A NULL rest, method, path or cb is 40000 without queuing, explained in err (auth.h). */
typedef void (*rta_response_callback)(int rc, const rta_rest_response *resp, const rta_error *err,
                                      void *user_data);
RTA_EXTERN int rta_rest_request_async(rta_rest *rest, const char *method, const char *path,
                                      const char *json_body, rta_response_callback cb,
                                      void *user_data, rta_error *err);

/* ---- the calls apps make right after auth ------------------------------------------------ */

/* Each is one authenticated request as rta_rest_request makes it (auth, renewal, wire format),
 * with the channel name percent-encoded by the library (as encodeURIComponent: "a/b c" is one
 * channel). Channel names: 1..1024 bytes of UTF-8, no leading ':' (else 40010, no request). */

/* publish (RSL1): POST /channels/{channel}/messages with one message. name and data (text)
 * may be NULL. Returns 0 once the server has accepted it, or its error (e.g. 40160 without
 * publish capability, 40012 a clientId that is not ours). */
RTA_EXTERN int rta_rest_publish(rta_rest *rest, const char *channel, const char *name,
                                const char *data, rta_error *err);

/* Query of history and stats (RSL2b, RSC6b). Zero fields are absent (the server's default:
 * newest first, limit 100). */
typedef struct rta_rest_query {
    int64_t start;    /* ms since the epoch; 0: unbounded */
    int64_t end;      /* ms since the epoch; 0: unbounded (now) */
    int limit;        /* 0: the server's default (100); rtauthd allows up to 1000 */
    int forwards;     /* 0: backwards (newest first), non-zero: forwards */
    const char *unit; /* stats only: "minute", "hour", "day", "month"; NULL: the default */
} rta_rest_query;

/* history (RSL2): GET /channels/{channel}/messages. q may be NULL (all defaults). On success
 * resp->body is the page as JSON text: an array of messages (name, data, encoding, clientId,
 * connectionId, timestamp, id), converted from msgpack when the client uses it; the caller
 * clears resp. Errors: 40160 without history capability, 40003 a bad query. */
RTA_EXTERN int rta_rest_history(rta_rest *rest, const char *channel, const rta_rest_query *q,
                                rta_rest_response *resp, rta_error *err);

/* stats (RSC6): GET /stats, the app's statistics as JSON text in resp->body (an array of
 * Stats objects, TS12). q may be NULL. Errors: 40160 without the stats capability on *, 40003
 * a bad query. */
RTA_EXTERN int rta_rest_stats(rta_rest *rest, const rta_rest_query *q, rta_rest_response *resp,
                              rta_error *err);

#ifdef __cplusplus
}
#endif
#endif
