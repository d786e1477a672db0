/* rest/batch_spec.c: POST /messages bodies into rta_batch_request; see rest/batch_spec.h.
 * Never logs message contents. */
#include "server/rest/batch_spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rta_batch_request_clear(rta_batch_request *r)
{
    for (size_t i = 0; r->specs && i < r->count; i++) {
        rta_batch_spec *s = &r->specs[i];
        for (size_t k = 0; s->channels && k < s->channel_count; k++)
            free(s->channels[k]);
        free(s->channels);
        for (size_t k = 0; s->messages && k < s->message_count; k++)
            rta_message_clear(&s->messages[k]);
        free(s->messages);
    }
    free(r->specs);
    memset(r, 0, sizeof(*r));
}

static int channels_of(rta_node spec, size_t i, rta_batch_spec *out, size_t *total, rta_error *err)
{
    rta_node chans = rta_node_get(spec, "channels");
    int one = rta_node_kind(chans) == RTA_NODE_STR;
    size_t n = one ? 1 : rta_node_len(chans);
    if (!one && rta_node_kind(chans) != RTA_NODE_ARRAY)
        return rta_error_set(err, RTA_ERR_INVALID_BODY,
                             "spec %zu: channels must be a channel name or an array of them", i);
    if (!n || n > RTA_BATCH_MAX_CHANNELS)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "spec %zu: 1 to %d channels", i,
                             RTA_BATCH_MAX_CHANNELS);
    *total += n;
    if (*total > RTA_BATCH_MAX_CHANNELS_TOTAL)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "At most %d channels per batch",
                             RTA_BATCH_MAX_CHANNELS_TOTAL);
    if (!(out->channels = calloc(n, sizeof(*out->channels))))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t k = 0; k < n; k++) {
        int rc = rta_node_strdup(one ? chans : rta_node_at(chans, k), RTA_CHANNEL_NAME_MAX,
                                 "channels", &out->channels[k], err);
        if (rc) return rc;
        out->channel_count = k + 1;
    }
    return 0;
}

static int messages_of(rta_node spec, size_t i, rta_batch_spec *out, rta_error *err)
{
    rta_node node = rta_node_get(spec, "messages");
    int single = rta_node_kind(node) == RTA_NODE_MAP;
    size_t n = single ? 1 : rta_node_len(node);
    if (!single && rta_node_kind(node) != RTA_NODE_ARRAY)
        return rta_error_set(err, RTA_ERR_INVALID_BODY,
                             "spec %zu: messages must be a Message or an array of them", i);
    if (!n || n > RTA_PM_MAX_MESSAGES)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "spec %zu: 1 to %d messages", i,
                             RTA_PM_MAX_MESSAGES);
    if (!(out->messages = calloc(n, sizeof(*out->messages))))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t k = 0; k < n; k++) {
        int rc =
            rta_message_decode_node(single ? node : rta_node_at(node, k), &out->messages[k], err);
        out->message_count = k + 1; /* so that clear() sees it */
        if (rc) {
            char msg[RTA_ERROR_MESSAGE_MAX];
            snprintf(msg, sizeof(msg), "%s", err->message);
            return rta_error_set(err, rc, "spec %zu, message %zu: %.200s", i, k, msg);
        }
    }
    return 0;
}

int rta_batch_request_decode(const void *body, size_t len, rta_format fmt, size_t max_body,
                             rta_batch_request *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    rta_doc *doc = NULL;
    rta_parse_limits lim = {max_body, 0};
    int rc = rta_doc_parse(&doc, fmt, body ? body : "", len, &lim, err);
    if (rc) return rc;
    rta_node root = rta_doc_root(doc);
    out->single = rta_node_kind(root) == RTA_NODE_MAP;
    size_t n = out->single ? 1 : rta_node_len(root);
    if (!out->single && rta_node_kind(root) != RTA_NODE_ARRAY)
        rc = rta_error_set(err, RTA_ERR_INVALID_BODY,
                           "Expected a BatchPublishSpec or an array of them");
    else if (!n || n > RTA_BATCH_MAX_SPECS)
        rc = rta_error_set(err, RTA_ERR_INVALID_BODY, "1 to %d BatchPublishSpecs",
                           RTA_BATCH_MAX_SPECS);
    else if (!(out->specs = calloc(n, sizeof(*out->specs))))
        rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t i = 0; !rc && i < n; i++) {
        rta_node spec = out->single ? root : rta_node_at(root, i);
        out->count = i + 1;
        if (rta_node_kind(spec) != RTA_NODE_MAP)
            rc = rta_error_set(err, RTA_ERR_INVALID_BODY, "spec %zu: not an object", i);
        if (!rc) rc = channels_of(spec, i, &out->specs[i], &out->channels_total, err);
        if (!rc) rc = messages_of(spec, i, &out->specs[i], err);
    }
    rta_doc_free(doc);
    if (rc) {
        int single = out->single;
        rta_batch_request_clear(out);
        out->single = single;
    }
    return rc;
}
