/* revocation_codec.c: JSON and msgpack codecs of the revokeTokens body (RSA17b/e/f) and its
 * BatchResult reply (BAR2, TRS2, TRF2). See token_codec.h for the shapes and rules.
 *
 * Targets stay "type:value" strings here: an unknown or malformed type is a per-target failure
 * in the reply (S-68), not a reason to reject the whole body, so the token service judges them.
 */
#include "token_codec.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token_codec_internal.h"

/* ErrorInfo.message inside a failure result. Nothing in the protocol bounds it; this only
 * keeps one field from taking the whole body. */
#define MAX_ERROR_MESSAGE_LEN (16 * 1024)

/* A field name with an index for error messages ("results[3].error.code"). */
typedef struct {
    char s[64];
} field_name;

static const char *fname(field_name *n, const char *list, size_t i, const char *sub)
{
    snprintf(n->s, sizeof(n->s), "%s[%zu]%s%s", list, i, sub ? "." : "", sub ? sub : "");
    return n->s;
}

/* ---- RevokeRequest ---------------------------------------------------------------------- */

int rta_revoke_request_encode(const rta_revoke_request *r, rta_format fmt, rta_buf *out)
{
    rta_writer w;
    rta_writer_init(&w, fmt, out);
    size_t targets = 0;
    for (size_t i = 0; r->targets && i < r->target_count; i++)
        targets += r->targets[i] != NULL;
    /* Options are spread in only when given, as ably-js does (wire protocol 4.4). */
    rta_w_map(&w, 1 + (r->issued_before != 0) + (r->allow_reauth_margin >= 0));
    rta_w_key(&w, "targets");
    rta_w_array(&w, targets);
    for (size_t i = 0; r->targets && i < r->target_count; i++)
        if (r->targets[i]) rta_w_str(&w, r->targets[i]);
    rta_w_array_end(&w);
    if (r->issued_before != 0) {
        rta_w_key(&w, "issuedBefore");
        rta_w_int(&w, r->issued_before);
    }
    if (r->allow_reauth_margin >= 0) {
        rta_w_key(&w, "allowReauthMargin");
        rta_w_bool(&w, r->allow_reauth_margin != 0);
    }
    rta_w_map_end(&w);
    return rta_writer_status(&w);
}

static int read_revoke_request(rta_node n, rta_revoke_request *out, rta_error *err)
{
    if (rta_node_kind(n) != RTA_NODE_MAP)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "revokeTokens body must be an object");
    rta_node targets = rta_node_get(n, "targets");
    if (rta__node_absent(targets))
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "targets is required");
    if (rta_node_kind(targets) != RTA_NODE_ARRAY)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "targets must be an array");
    size_t count = rta_node_len(targets);
    if (count > RTA_MAX_REVOCATION_TARGETS) /* S-67 */
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "targets: at most %d allowed",
                             RTA_MAX_REVOCATION_TARGETS);
    if (count > 0) {
        out->targets = calloc(count, sizeof(*out->targets));
        if (!out->targets) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    field_name fn;
    for (size_t i = 0; i < count; i++) {
        int rc = rta_node_strdup(rta_node_at(targets, i), RTA_MAX_TARGET_LEN,
                                 fname(&fn, "targets", i, NULL), &out->targets[i], err);
        if (rc) return rc;
        out->target_count = i + 1; /* so a clear frees exactly what was copied */
    }

    int present, rc;
    rc = rta__read_int(n, "issuedBefore", NULL, RTA__F_RANGE, &out->issued_before, &present, err);
    if (rc) return rc;

    out->allow_reauth_margin = -1;
    rta_node margin = rta_node_get(n, "allowReauthMargin");
    if (!rta__node_absent(margin) && !rta_node_bool(margin, &out->allow_reauth_margin))
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "allowReauthMargin must be a boolean");
    return 0;
}

int rta_revoke_request_decode(const void *data, size_t len, rta_format fmt, rta_revoke_request *out,
                              rta_error *err)
{
    rta_doc *doc;
    memset(out, 0, sizeof(*out));
    int rc = rta_doc_parse(&doc, fmt, data, len, NULL, err);
    if (rc) return rc;
    rc = read_revoke_request(rta_doc_root(doc), out, err);
    if (rc) rta_revoke_request_clear(out);
    rta_doc_free(doc);
    return rc;
}

/* ---- BatchResult ------------------------------------------------------------------------ */

/* ErrorInfo on the wire must have message, code and statusCode or ably-js drops it (wire
 * protocol 2.3); href is what ably-js would fill in anyway. */
static void write_error_info(rta_writer *w, const rta_revocation_result *res)
{
    char href[64];
    rta_error_href(res->error_code, href, sizeof(href));
    rta_w_map(w, 4);
    rta_w_key(w, "message");
    rta_w_str(w, res->error_message ? res->error_message : rta_strerror(res->error_code));
    rta_w_key(w, "code");
    rta_w_int(w, res->error_code);
    rta_w_key(w, "statusCode");
    rta_w_int(w, res->error_status_code);
    rta_w_key(w, "href");
    rta_w_str(w, href);
    rta_w_map_end(w);
}

int rta_revocation_batch_encode(const rta_revocation_batch *b, rta_format fmt, rta_buf *out)
{
    rta_writer w;
    rta_writer_init(&w, fmt, out);
    rta_w_map(&w, 3);
    rta_w_key(&w, "successCount");
    rta_w_int(&w, b->success_count);
    rta_w_key(&w, "failureCount");
    rta_w_int(&w, b->failure_count);
    rta_w_key(&w, "results");
    rta_w_array(&w, b->result_count);
    for (size_t i = 0; i < b->result_count; i++) {
        const rta_revocation_result *res = &b->results[i];
        rta_w_map(&w, (res->target != NULL) + (res->failed ? 1 : 2));
        if (res->target) {
            rta_w_key(&w, "target");
            rta_w_str(&w, res->target);
        }
        if (res->failed) { /* TRF2 */
            rta_w_key(&w, "error");
            write_error_info(&w, res);
        } else { /* TRS2: both times always, they are the point of the result */
            rta_w_key(&w, "issuedBefore");
            rta_w_int(&w, res->issued_before);
            rta_w_key(&w, "appliesAt");
            rta_w_int(&w, res->applies_at);
        }
        rta_w_map_end(&w);
    }
    rta_w_array_end(&w);
    rta_w_map_end(&w);
    return rta_writer_status(&w);
}

/* A required integer that must fit an int (counts, error codes). */
static int read_small_int(rta_node map, const char *key, const char *name, int *out, rta_error *err)
{
    int64_t v;
    int present;
    int rc = rta__read_int(map, key, name, RTA__F_REQUIRED, &v, &present, err);
    if (rc) return rc;
    if (v < INT_MIN || v > INT_MAX)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s out of range", name ? name : key);
    *out = (int)v;
    return 0;
}

static int read_result(rta_node n, size_t i, rta_revocation_result *res, rta_error *err)
{
    field_name fn;
    if (rta_node_kind(n) != RTA_NODE_MAP)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s must be an object",
                             fname(&fn, "results", i, NULL));
    int rc = rta__read_str(n, "target", fname(&fn, "results", i, "target"), RTA__F_REQUIRED,
                           RTA_MAX_TARGET_LEN, &res->target, err);
    if (rc) return rc;

    /* BAR2c: an entry with an error is a failure (TRF), any other a success (TRS). */
    rta_node e = rta_node_get(n, "error");
    if (rta__node_absent(e)) {
        int present;
        rc = rta__read_int(n, "issuedBefore", fname(&fn, "results", i, "issuedBefore"),
                           RTA__F_REQUIRED, &res->issued_before, &present, err);
        if (!rc)
            rc = rta__read_int(n, "appliesAt", fname(&fn, "results", i, "appliesAt"),
                               RTA__F_REQUIRED, &res->applies_at, &present, err);
        return rc;
    }
    res->failed = 1;
    if (rta_node_kind(e) != RTA_NODE_MAP)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s must be an object",
                             fname(&fn, "results", i, "error"));
    /* The same strictness ably-js applies to an ErrorInfo (wire protocol 2.3). */
    rc = rta__read_str(e, "message", fname(&fn, "results", i, "error.message"), RTA__F_REQUIRED,
                       MAX_ERROR_MESSAGE_LEN, &res->error_message, err);
    if (!rc)
        rc = read_small_int(e, "code", fname(&fn, "results", i, "error.code"), &res->error_code,
                            err);
    if (!rc)
        rc = read_small_int(e, "statusCode", fname(&fn, "results", i, "error.statusCode"),
                            &res->error_status_code, err);
    return rc;
}

static int read_batch(rta_node n, rta_revocation_batch *out, rta_error *err)
{
    if (rta_node_kind(n) != RTA_NODE_MAP)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "BatchResult must be an object");
    int rc = read_small_int(n, "successCount", NULL, &out->success_count, err);
    if (!rc) rc = read_small_int(n, "failureCount", NULL, &out->failure_count, err);
    if (rc) return rc;
    rta_node results = rta_node_get(n, "results");
    if (rta__node_absent(results))
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "results is required");
    if (rta_node_kind(results) != RTA_NODE_ARRAY)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "results must be an array");
    /* No count limit of our own (the parser bounds the body), but the array grows as entries
     * prove valid: sizing it from the declared count would let a body of one-byte empty maps
     * ask for ~50 times its size before the first entry fails. */
    size_t count = rta_node_len(results), cap = 0;
    for (size_t i = 0; i < count; i++) {
        if (i == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            if (ncap > count) ncap = count;
            rta_revocation_result *p = realloc(out->results, ncap * sizeof(*p));
            if (!p) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
            memset(p + cap, 0, (ncap - cap) * sizeof(*p));
            out->results = p;
            cap = ncap;
        }
        out->result_count = i + 1; /* a clear then frees whatever this entry got */
        rc = read_result(rta_node_at(results, i), i, &out->results[i], err);
        if (rc) return rc;
    }
    return 0;
}

int rta_revocation_batch_decode(const void *data, size_t len, rta_format fmt,
                                rta_revocation_batch *out, rta_error *err)
{
    rta_doc *doc;
    memset(out, 0, sizeof(*out));
    int rc = rta_doc_parse(&doc, fmt, data, len, NULL, err);
    if (rc) return rc;
    rc = read_batch(rta_doc_root(doc), out, err);
    if (rc) rta_revocation_batch_clear(out);
    rta_doc_free(doc);
    return rc;
}
