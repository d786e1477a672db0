/* rtauth/auth_result.h: what an authCallback hands back (spec TO3j5, AO2b, RSA8d).
 *
 * The library calls your rta_auth_callback (see options.h) with the TokenParams it needs a
 * token for and a fresh rta_auth_result. Your callback completes that result exactly once, with
 * one of the setters below, either before it returns or later from any thread (for example when
 * your own HTTP call to your backend finishes). The library waits for the result until
 * rta_timeouts.auth_request_ms after it invoked the callback, whether or not the callback has
 * returned (it runs on a thread of its own, options.h); if it is not completed by then the
 * token request fails with 40170 (RSA4e; a realtime connection's errorReason is then 80019
 * with the 40170's cause, 50003, as its cause, RSA4c1), and a late completion is accepted and
 * discarded.
 *
 * Ownership: every setter copies what it is given; the caller keeps and frees its own data.
 * After the setter returns the result belongs to the library again: don't touch it. A result
 * that is never completed is never freed (always complete it, even with an error).
 *
 * What each value means (RSA8d, checklist D.3):
 *   - a token string: an Ably/rtauth token or a JWT, used as is (TN1);
 *   - TokenDetails: used as is;
 *   - a TokenRequest: exchanged with the server for a token (POST /keys/{keyName}/requestToken);
 *   - JSON text: an object with "token" is TokenDetails, one with "keyName" is a TokenRequest;
 *     anything else is 40170.
 * Bad values (an empty token, "null", a token or object over 128 KiB, a double-encoded token
 * starting with '{', malformed JSON) fail the token request with 40170 (RSA4f).
 */
#ifndef RTAUTH_AUTH_RESULT_H
#define RTAUTH_AUTH_RESULT_H

#include "rtauth/export.h"

#include "rtauth/token.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rta_auth_result rta_auth_result;

/* Each returns 0, or 40000 when result is NULL. A NULL token, details, request or json completes
 * the result with nothing usable: the token request fails with 40170 (RSA4f). */
RTA_EXTERN int rta_auth_result_set_token(rta_auth_result *result, const char *token);
RTA_EXTERN int rta_auth_result_set_token_details(rta_auth_result *result, const rta_token_details *details);
RTA_EXTERN int rta_auth_result_set_token_request(rta_auth_result *result, const rta_token_request *request);
RTA_EXTERN int rta_auth_result_set_json(rta_auth_result *result, const char *json);

/* The callback could not produce a token. code is an Ably error code (0: unspecified) and
 * message a description (may be NULL); the token request then fails with 40170 whose cause
 * carries this code, its status (rta_error_status(code): pass 40300 to say "forbidden") and
 * message (RSA4e). On a realtime connection a 403 status fails the connection (80019/403 with
 * this as the cause, RSA4d); any other is 80019/401 and a retry (RSA4c1). Messages are copied;
 * keep secrets out of them. */
RTA_EXTERN int rta_auth_result_set_error(rta_auth_result *result, int code, const char *message);

#ifdef __cplusplus
}
#endif
#endif
