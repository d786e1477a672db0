/* token_json.c: rtauth/token_json.h, the token types as JSON text, over the core codecs. */
#include <string.h>

#include "core/token_codec.h"
#include "rtauth/token_json.h"
#include "client.h" /* rta__finish */

/* The public functions check their pointers (token_json.h): 40000, never a crash. */
static int finish(int rc, rta_buf *b, char **json)
{
    *json = rc ? NULL : rta_buf_detach(b, NULL);
    rta_buf_free(b);
    return *json ? 0 : RTA_ERR_INTERNAL;
}

int rta_token_request_to_json(const rta_token_request *request, char **json)
{
    if (json) *json = NULL;
    if (!request || !json) return RTA_ERR_BAD_REQUEST;
    rta_buf b = RTA_BUF_INIT;
    return finish(rta_token_request_encode(request, RTA_FORMAT_JSON, &b), &b, json);
}

int rta_token_details_to_json(const rta_token_details *details, char **json)
{
    if (json) *json = NULL;
    if (!details || !json) return RTA_ERR_BAD_REQUEST;
    rta_buf b = RTA_BUF_INIT;
    return finish(rta_token_details_encode(details, RTA_FORMAT_JSON, &b), &b, json);
}

int rta_revocation_batch_to_json(const rta_revocation_batch *batch, char **json)
{
    if (json) *json = NULL;
    if (!batch || !json) return RTA_ERR_BAD_REQUEST;
    rta_buf b = RTA_BUF_INIT;
    return finish(rta_revocation_batch_encode(batch, RTA_FORMAT_JSON, &b), &b, json);
}

static int token_request_from_json_impl(const char *json, size_t len, rta_token_request *out,
                                        rta_error *err)
{
    if (out) memset(out, 0, sizeof(*out));
    if (!json || !out) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    return rta_token_request_decode(json, len, RTA_FORMAT_JSON, out, err);
}

int rta_token_request_from_json(const char *json, size_t len, rta_token_request *out,
                                rta_error *err)
{
    return rta__finish(err, token_request_from_json_impl(json, len, out, err));
}

static int token_details_from_json_impl(const char *json, size_t len, rta_token_details *out,
                                        rta_error *err)
{
    if (out) memset(out, 0, sizeof(*out));
    if (!json || !out) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    return rta_token_details_decode(json, len, RTA_FORMAT_JSON, out, err);
}

int rta_token_details_from_json(const char *json, size_t len, rta_token_details *out,
                                rta_error *err)
{
    return rta__finish(err, token_details_from_json_impl(json, len, out, err));
}
