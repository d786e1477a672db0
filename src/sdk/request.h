/* request.h: one authenticated REST request with the renewal rule, shared by rta_rest_request
 * and revokeTokens (RSC9, RSC10, RSA4b, RSC19b). */
#ifndef RTA_SDK_REQUEST_H
#define RTA_SDK_REQUEST_H

#include "auth_internal.h"

/* Sends method path (path starts with '/') with body (already in the client's format, may be
 * NULL) and the client's credentials. A 401 with a token error makes the client obtain a new
 * token once and send again once (RSA4b); with no way to renew: 40171 with the server's error
 * as the cause (RSA4a2). Returns 0 for a 2xx reply, else the Ably error; *resp holds the last
 * reply when one arrived (free it with rta__http_resp_free in every case). */
int rta__request(rta_auth *a, const char *method, const char *path, const void *body,
                 size_t body_len, rta__http_resp *resp, rta_error *err);

#endif
