/* revoke.c: revokeTokens (RSA17): POST /keys/{keyName}/revokeTokens with Basic auth, the body
 * and the BatchResult in the client's format (wire protocol 4.4). */
#include <stdio.h>
#include <string.h>

#include "auth_internal.h"
#include "core/token_codec.h"
#include "request.h"

int rta__auth_revoke_tokens(rta_auth *a, const rta_revoke_request *req, rta_revocation_batch *out,
                            rta_error *err)
{
    memset(out, 0, sizeof(*out));
    char path[RTA_KEY_NAME_MAX + 32];
    pthread_mutex_lock(&a->mu);
    int token_mode = a->token_mode;
    if (!token_mode)
        snprintf(path, sizeof(path), "/keys/%s/revokeTokens", a->opts.parsed_key.key_name);
    pthread_mutex_unlock(&a->mu);
    if (token_mode) /* RSA17d: refused locally, nothing is sent */
        return rta_error_set(err, RTA_ERR_REQUIRES_BASIC,
                             "revokeTokens needs Basic auth; this client uses token auth");
    rta_format fmt = a->client->format;
    rta_buf body = RTA_BUF_INIT;
    if (rta_revoke_request_encode(req, fmt, &body)) {
        rta_buf_free(&body);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    rta__http_resp resp;
    int rc = rta__request(a, "POST", path, body.data, body.len, &resp, err);
    rta_buf_free(&body);
    if (!rc) {
        /* The reply's own Content-Type decides; the client's format when it names none. */
        if (rta__content_type_is(resp.content_type, "application/json")) fmt = RTA_FORMAT_JSON;
        if (rta__content_type_is(resp.content_type, "application/x-msgpack"))
            fmt = RTA_FORMAT_MSGPACK;
        rta_error e;
        if (rta_revocation_batch_decode(resp.body.data, resp.body.len, fmt, out, &e))
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Invalid revokeTokens reply: %s", e.message);
    }
    rta__http_resp_free(&resp);
    return rc;
}
