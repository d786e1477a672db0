/* rtauth/token_json.h: the token types as JSON text, with Ably's field names (TE6, TD7).
 *
 * What an auth server needs to answer an authUrl (a TokenRequest from
 * rta_auth_create_token_request, as application/json) and what a program needs to read one it
 * received. Absent fields are omitted (an anonymous TokenDetails has no clientId key).
 *
 * Ownership: _to_json returns a heap string the caller frees with free(); _from_json fills
 * *out (caller clears it with the type's _clear()) or leaves it empty on failure.
 */
#ifndef RTAUTH_TOKEN_JSON_H
#define RTAUTH_TOKEN_JSON_H

#include "rtauth/export.h"

#include <stddef.h>

#include "rtauth/error.h"
#include "rtauth/token.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Return 0 and set *json, or 40000 when an argument is NULL (*json NULL when json is not), or
 * 50000 (out of memory). */
RTA_EXTERN int rta_token_request_to_json(const rta_token_request *request, char **json);
RTA_EXTERN int rta_token_details_to_json(const rta_token_details *details, char **json);
RTA_EXTERN int rta_revocation_batch_to_json(const rta_revocation_batch *batch, char **json);

/* Parse JSON text of len bytes. Return 0, 40000 when json or out is NULL, or 40001/40003
 * naming the bad field. */
RTA_EXTERN int rta_token_request_from_json(const char *json, size_t len, rta_token_request *out,
                                rta_error *err);
RTA_EXTERN int rta_token_details_from_json(const char *json, size_t len, rta_token_details *out,
                                rta_error *err);

#ifdef __cplusplus
}
#endif
#endif
