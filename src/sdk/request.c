/* request.c: see request.h. */
#include "request.h"

#include <stdio.h>
#include <string.h>

int rta__request(rta_auth *a, const char *method, const char *path, const void *body,
                 size_t body_len, rta__http_resp *resp, rta_error *err)
{
    rta__client *c = a->client;
    memset(resp, 0, sizeof(*resp));
    rta_buf url = RTA_BUF_INIT;
    rta_buf_printf(&url, "%s%s", c->base_url, path);
    if (url.oom) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    const char *media =
        c->format == RTA_FORMAT_MSGPACK ? "application/x-msgpack" : "application/json";
    uint64_t stale = 0;
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        rta__headers h = {0};
        uint64_t gen = 0;
        rta__headers_add(&h, "Accept: %s", media);
        if (body) rta__headers_add(&h, "Content-Type: %s", media);
        rta__headers_add(&h, "X-Ably-Version: " RTA__PROTOCOL_VERSION);
        rta__headers_add(&h, "Ably-Agent: " RTA__AGENT);
        rc = rta__auth_add_credentials(a, stale, &h, &gen, err);
        if (rc) {
            rta__headers_free(&h);
            break;
        }
        rta__http_resp_free(resp);
        rta__http_req req = {method,
                             url.data,
                             (const char *const *)h.lines,
                             body,
                             body_len,
                             c->timeouts.http_request_ms,
                             c->timeouts.http_open_ms,
                             0};
        rc = rta__http_perform(c->http, &req, resp, err);
        rta__headers_free(&h);
        rta__log(c, RTA_CLIENT_LOG_DEBUG, "%s %.*s -> %ld", method, (int)strcspn(path, "?"), path,
                 rc ? 0L : resp->status); /* no query string: it is the app's */
        if (rc) break;
        if (resp->status >= 200 && resp->status < 300) break;
        rta_error e = {0};
        rc = rta__error_from_response(resp, &e);
        if (err) *err = e;
        if (!gen || !rta_error_is_token_error(rc)) break; /* RSC10b: only token errors renew */
        int can_renew = rta__auth_token_rejected(a, gen); /* RSA16d: forgotten either way */
        if (attempt == 1) break; /* RSA4b: renewed once already; the error stands */
        if (!can_renew) {        /* RSA4a2 */
            rc = rta_error_set_status(err, RTA_ERR_NO_RENEWAL, 403,
                                      "Token rejected (%d) and no key, authCallback or authUrl "
                                      "to obtain a new one",
                                      e.code);
            rta_error_set_cause(err, &e);
            break;
        }
        rta__log(c, RTA_CLIENT_LOG_INFO, "token rejected with %d: renewing once (RSA4b)", rc);
        stale = gen;
    }
    rta_buf_free(&url);
    return rc;
}
