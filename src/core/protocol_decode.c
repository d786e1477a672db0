/* protocol_decode.c: one ProtocolMessage frame (JSON or msgpack) into an rta_protocol_message.
 *
 * Every field is mapped once, against rta_node, so both formats get identical rules:
 *   - null is absent; a known field of the wrong type is 40001 naming the field; unknown
 *     fields (Message "size"/"action", top-level "connectionKey", ...) are ignored (TR, TM);
 *   - strings must be valid UTF-8 (the readers check) without NUL, at most RTA_PM_MAX_STRING
 *     bytes; message data strings have no length limit of their own (only the frame's);
 *   - Message/PresenceMessage data (TM2d): string, binary (msgpack bin) or object/array (kept
 *     as compact JSON text). A number or boolean is refused with 40001: ably-js never sends
 *     one (it JSON-encodes such data into a string with encoding "json", RSL4c), so it can
 *     only come from a broken client, and relaying it would need a fourth data type;
 *   - extras (TM2i) must be an object; kept as compact JSON text;
 *   - ACK res (2.6): each entry {serials: [string|null, ...]}; a null serial (message
 *     discarded, e.g. by conflation) is kept as a NULL entry, because serials are matched to
 *     messages by position;
 *   - params: string -> string, at most RTA_PM_MAX_PARAMS, no duplicate keys.
 * It never does I/O and never trusts a count it has not checked.
 */
#include "protocol.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BAD(err, ...) rta_error_set((err), RTA_ERR_INVALID_BODY, __VA_ARGS__)

static int is_absent(rta_node n)
{
    rta_node_type k = rta_node_kind(n);
    return k == RTA_NODE_ABSENT || k == RTA_NODE_NULL;
}

/* Prepends "where[i]: " (or "where: " when i is SIZE_MAX) to err's message, so a failure
 * inside a nested object or array says where it is. */
static void prefix_error(rta_error *err, const char *where, size_t i)
{
    if (!err) return;
    char pre[64];
    if (i == SIZE_MAX)
        snprintf(pre, sizeof(pre), "%s: ", where);
    else
        snprintf(pre, sizeof(pre), "%s[%zu]: ", where, i);
    size_t pl = strlen(pre), ml = strnlen(err->message, sizeof(err->message) - 1);
    if (pl + ml > sizeof(err->message) - 1) {
        ml = sizeof(err->message) - 1 - pl;
        while (ml > 0 && ((unsigned char)err->message[ml] & 0xC0) == 0x80)
            ml--;
    }
    memmove(err->message + pl, err->message, ml);
    memcpy(err->message, pre, pl);
    err->message[pl + ml] = '\0';
}

static int opt_str(rta_node obj, const char *key, char **out, rta_error *err)
{
    rta_node n = rta_node_get(obj, key);
    if (is_absent(n)) return 0;
    return rta_node_strdup(n, RTA_PM_MAX_STRING, key, out, err);
}

/* An optional integer within [min, max]; *present (may be NULL) says whether it was there. */
static int opt_int(rta_node obj, const char *key, int64_t min, int64_t max, int64_t *out,
                   int *present, rta_error *err)
{
    rta_node n = rta_node_get(obj, key);
    if (present) *present = 0;
    if (is_absent(n)) return 0;
    int64_t v;
    if (!rta_node_int(n, &v)) return BAD(err, "%s must be an integer", key);
    if (v < min || v > max) return BAD(err, "%s out of range", key);
    *out = v;
    if (present) *present = 1;
    return 0;
}

/* An object or array as compact JSON text. From msgpack, the text is parsed back once:
 * msgpack maps may repeat a key, which JSON readers (ours included) refuse, and data that
 * could not be re-encoded later must be refused now, not when relaying it. */
static int node_to_json(rta_node n, const char *field, char **out, size_t *out_len, rta_error *err)
{
    rta_buf b = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_JSON, &b);
    rta_w_node(&w, n);
    if (w.overflow) {
        rta_buf_free(&b);
        return BAD(err, "%s nested too deeply", field);
    }
    size_t len;
    char *text = rta_buf_detach(&b, &len);
    if (!text) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (n.fmt != RTA_FORMAT_JSON) {
        rta_parse_limits lim = {SIZE_MAX, RTA_PARSE_DEFAULT_MAX_DEPTH};
        rta_doc *doc = NULL;
        rta_error perr;
        if (rta_doc_parse(&doc, RTA_FORMAT_JSON, text, len, &lim, &perr) != 0) {
            free(text);
            return BAD(err, "%s has no JSON form (a duplicate key or a NUL)", field);
        }
        rta_doc_free(doc);
    }
    *out = text;
    *out_len = len;
    return 0;
}

static int read_data(rta_node obj, rta_data *out, rta_error *err)
{
    rta_node n = rta_node_get(obj, "data");
    const char *s;
    const void *p;
    size_t len;
    switch (rta_node_kind(n)) {
    case RTA_NODE_ABSENT:
    case RTA_NODE_NULL:
        return 0;
    case RTA_NODE_STR:
        rta_node_str(n, &s, &len);
        /* Our JSON reader refuses \u0000, so a NUL could not survive a JSON hop. */
        if (memchr(s, '\0', len)) return BAD(err, "data contains a NUL character");
        p = s;
        out->type = RTA_DATA_STRING;
        break;
    case RTA_NODE_BIN:
        rta_node_bin(n, &p, &len);
        out->type = RTA_DATA_BINARY;
        break;
    case RTA_NODE_MAP:
    case RTA_NODE_ARRAY: {
        int rc = node_to_json(n, "data", &out->ptr, &out->len, err);
        if (!rc) out->type = RTA_DATA_JSON;
        return rc;
    }
    default:
        return BAD(err, "data must be a string, binary, object or array");
    }
    out->ptr = malloc(len + 1);
    if (!out->ptr) {
        out->type = RTA_DATA_NONE;
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    if (len) memcpy(out->ptr, p, len);
    out->ptr[len] = '\0';
    out->len = len;
    return 0;
}

/* Message (TM2). Unknown fields (size, action, serial, ...) are ignored. */
static int read_message(rta_node n, rta_message *m, rta_error *err)
{
    if (rta_node_kind(n) != RTA_NODE_MAP) return BAD(err, "must be an object");
    int rc = 0;
    if (!rc) rc = opt_str(n, "id", &m->id, err);
    if (!rc) rc = opt_str(n, "name", &m->name, err);
    if (!rc) rc = opt_str(n, "clientId", &m->client_id, err);
    if (!rc) rc = opt_str(n, "connectionId", &m->connection_id, err);
    if (!rc) rc = opt_str(n, "encoding", &m->encoding, err);
    if (!rc) rc = opt_int(n, "timestamp", INT64_MIN, INT64_MAX, &m->timestamp, NULL, err);
    if (!rc) rc = read_data(n, &m->data, err);
    if (rc) return rc;
    rta_node extras = rta_node_get(n, "extras");
    if (is_absent(extras)) return 0;
    if (rta_node_kind(extras) != RTA_NODE_MAP) return BAD(err, "extras must be an object");
    size_t len;
    return node_to_json(extras, "extras", &m->extras, &len, err);
}

/* PresenceMessage (TP3). */
static int read_presence(rta_node n, rta_presence_message *p, rta_error *err)
{
    if (rta_node_kind(n) != RTA_NODE_MAP) return BAD(err, "must be an object");
    int64_t action = 0;
    int rc = opt_int(n, "action", 0, INT_MAX, &action, NULL, err);
    p->action = (int)action;
    if (!rc) rc = opt_str(n, "id", &p->id, err);
    if (!rc) rc = opt_str(n, "clientId", &p->client_id, err);
    if (!rc) rc = opt_str(n, "connectionId", &p->connection_id, err);
    if (!rc) rc = opt_str(n, "encoding", &p->encoding, err);
    if (!rc) rc = opt_int(n, "timestamp", INT64_MIN, INT64_MAX, &p->timestamp, NULL, err);
    if (!rc) rc = read_data(n, &p->data, err);
    if (rc) return rc;
    rta_node extras = rta_node_get(n, "extras"); /* TP3i, as a Message's (TM2i) */
    if (is_absent(extras)) return 0;
    if (rta_node_kind(extras) != RTA_NODE_MAP) return BAD(err, "extras must be an object");
    size_t len;
    return node_to_json(extras, "extras", &p->extras, &len, err);
}

/* An optional array of at most max elements; *arr is absent when null or missing. */
static int opt_array(rta_node obj, const char *key, size_t max, rta_node *arr, size_t *count,
                     rta_error *err)
{
    *arr = rta_node_get(obj, key);
    *count = 0;
    if (is_absent(*arr)) return 0;
    if (rta_node_kind(*arr) != RTA_NODE_ARRAY) return BAD(err, "%s must be an array", key);
    *count = rta_node_len(*arr);
    if (*count > max) return BAD(err, "%s has more than %zu entries", key, max);
    return 0;
}

static int read_messages(rta_node root, rta_protocol_message *out, rta_error *err)
{
    rta_node arr;
    size_t n;
    int rc = opt_array(root, "messages", RTA_PM_MAX_MESSAGES, &arr, &n, err);
    if (rc || n == 0) return rc;
    out->messages = calloc(n, sizeof(*out->messages));
    if (!out->messages) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    out->message_count = n; /* all zeroed: clear() is safe whatever happens next */
    for (size_t i = 0; i < n; i++) {
        rc = read_message(rta_node_at(arr, i), &out->messages[i], err);
        if (rc) {
            prefix_error(err, "messages", i);
            return rc;
        }
    }
    return 0;
}

static int read_presence_array(rta_node root, rta_protocol_message *out, rta_error *err)
{
    rta_node arr;
    size_t n;
    int rc = opt_array(root, "presence", RTA_PM_MAX_MESSAGES, &arr, &n, err);
    if (rc || n == 0) return rc;
    out->presence = calloc(n, sizeof(*out->presence));
    if (!out->presence) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    out->presence_count = n;
    for (size_t i = 0; i < n; i++) {
        rc = read_presence(rta_node_at(arr, i), &out->presence[i], err);
        if (rc) {
            prefix_error(err, "presence", i);
            return rc;
        }
    }
    return 0;
}

/* One PublishResult: {serials: [string|null, ...]}; serials may be absent (none). */
static int read_result(rta_node entry, rta_publish_result *r, rta_error *err)
{
    if (rta_node_kind(entry) != RTA_NODE_MAP) return BAD(err, "must be an object");
    rta_node serials;
    size_t count;
    int rc = opt_array(entry, "serials", RTA_PM_MAX_MESSAGES, &serials, &count, err);
    if (rc || count == 0) return rc;
    r->serials = calloc(count, sizeof(*r->serials));
    if (!r->serials) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    r->serial_count = count;
    for (size_t k = 0; k < count && !rc; k++) {
        rta_node s = rta_node_at(serials, k);
        if (!is_absent(s))
            rc = rta_node_strdup(s, RTA_PM_MAX_STRING, "serials", &r->serials[k], err);
    }
    return rc;
}

/* ACK res (2.6): one PublishResult per acknowledged message. */
static int read_res(rta_node root, rta_protocol_message *out, rta_error *err)
{
    rta_node arr;
    size_t n;
    int rc = opt_array(root, "res", RTA_PM_MAX_MESSAGES, &arr, &n, err);
    if (rc || n == 0) return rc;
    out->res = calloc(n, sizeof(*out->res));
    if (!out->res) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    out->res_count = n;
    for (size_t i = 0; i < n; i++) {
        rc = read_result(rta_node_at(arr, i), &out->res[i], err);
        if (rc) {
            prefix_error(err, "res", i);
            return rc;
        }
    }
    return 0;
}

static int read_params(rta_node root, rta_protocol_message *out, rta_error *err)
{
    rta_node map = rta_node_get(root, "params");
    if (is_absent(map)) return 0;
    if (rta_node_kind(map) != RTA_NODE_MAP) return BAD(err, "params must be an object");
    size_t n = rta_node_len(map);
    if (n > RTA_PM_MAX_PARAMS)
        return BAD(err, "params has more than %d entries", RTA_PM_MAX_PARAMS);
    if (n == 0) return 0;
    out->param_keys = calloc(n, sizeof(char *));
    out->param_values = calloc(n, sizeof(char *));
    if (!out->param_keys || !out->param_values)
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    out->param_count = n;
    for (size_t i = 0; i < n; i++) {
        size_t klen;
        const char *key = rta_node_key_at(map, i, &klen);
        if (!key) return BAD(err, "params keys must be strings");
        if (klen > RTA_PM_MAX_STRING) return BAD(err, "params key too long");
        if (memchr(key, '\0', klen)) return BAD(err, "params key contains a NUL character");
        /* msgpack maps may repeat a key; JSON ones cannot (n <= 64, so quadratic is fine). */
        for (size_t k = 0; k < i; k++)
            if (strlen(out->param_keys[k]) == klen && memcmp(out->param_keys[k], key, klen) == 0)
                return BAD(err, "params has a duplicate key");
        out->param_keys[i] = malloc(klen + 1);
        if (!out->param_keys[i]) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        memcpy(out->param_keys[i], key, klen);
        out->param_keys[i][klen] = '\0';
        int rc = rta_node_strdup(rta_node_value_at(map, i), RTA_PM_MAX_STRING, "params value",
                                 &out->param_values[i], err);
        if (rc) return rc;
    }
    return 0;
}

static int read_details(rta_node root, rta_protocol_message *out, rta_error *err)
{
    rta_node n = rta_node_get(root, "connectionDetails");
    if (is_absent(n)) return 0;
    if (rta_node_kind(n) != RTA_NODE_MAP) return BAD(err, "connectionDetails must be an object");
    rta_connection_details *d = &out->details;
    out->has |= RTA_PM_HAS_CONNECTION_DETAILS;
    int rc = 0;
    if (!rc) rc = opt_str(n, "clientId", &d->client_id, err);
    if (!rc) rc = opt_str(n, "connectionKey", &d->connection_key, err);
    if (!rc) rc = opt_str(n, "serverId", &d->server_id, err);
    if (!rc) rc = opt_int(n, "maxMessageSize", 0, INT64_MAX, &d->max_message_size, NULL, err);
    if (!rc) rc = opt_int(n, "maxFrameSize", 0, INT64_MAX, &d->max_frame_size, NULL, err);
    if (!rc) rc = opt_int(n, "maxInboundRate", 0, INT64_MAX, &d->max_inbound_rate, NULL, err);
    if (!rc)
        rc = opt_int(n, "connectionStateTtl", 0, INT64_MAX, &d->connection_state_ttl, NULL, err);
    if (!rc) rc = opt_int(n, "maxIdleInterval", 0, INT64_MAX, &d->max_idle_interval, NULL, err);
    if (rc) prefix_error(err, "connectionDetails", SIZE_MAX);
    return rc;
}

static int read_auth(rta_node root, rta_protocol_message *out, rta_error *err)
{
    rta_node n = rta_node_get(root, "auth");
    if (is_absent(n)) return 0;
    if (rta_node_kind(n) != RTA_NODE_MAP) return BAD(err, "auth must be an object");
    out->has |= RTA_PM_HAS_AUTH;
    int rc = opt_str(n, "accessToken", &out->auth_access_token, err);
    if (rc) prefix_error(err, "auth", SIZE_MAX);
    return rc;
}

/* Records a has-bit for an optional top-level integer. */
static int opt_top_int(rta_node root, const char *key, int64_t min, int64_t max, int64_t *out,
                       uint32_t bit, rta_protocol_message *m, rta_error *err)
{
    int present;
    int rc = opt_int(root, key, min, max, out, &present, err);
    if (present) m->has |= bit;
    return rc;
}

static int read_root(rta_node root, rta_protocol_message *out, rta_error *err)
{
    if (rta_node_kind(root) != RTA_NODE_MAP) return BAD(err, "ProtocolMessage must be an object");
    rta_node action = rta_node_get(root, "action");
    int64_t v;
    if (is_absent(action)) return BAD(err, "action is missing");
    if (!rta_node_int(action, &v)) return BAD(err, "action must be an integer");
    if (v < 0 || v > INT_MAX) return BAD(err, "action out of range");
    out->action = (int)v;

    int64_t flags = 0;
    int rc = opt_top_int(root, "flags", 0, UINT32_MAX, &flags, RTA_PM_HAS_FLAGS, out, err);
    out->flags = (uint32_t)flags;
    if (!rc)
        rc = opt_top_int(root, "count", INT64_MIN, INT64_MAX, &out->count, RTA_PM_HAS_COUNT, out,
                         err);
    if (!rc)
        rc = opt_top_int(root, "msgSerial", INT64_MIN, INT64_MAX, &out->msg_serial,
                         RTA_PM_HAS_MSG_SERIAL, out, err);
    if (!rc)
        rc = opt_top_int(root, "timestamp", INT64_MIN, INT64_MAX, &out->timestamp,
                         RTA_PM_HAS_TIMESTAMP, out, err);
    if (!rc) rc = opt_str(root, "id", &out->id, err);
    if (!rc) rc = opt_str(root, "channel", &out->channel, err);
    if (!rc) rc = opt_str(root, "channelSerial", &out->channel_serial, err);
    if (!rc) rc = opt_str(root, "connectionId", &out->connection_id, err);
    if (!rc && !is_absent(rta_node_get(root, "error"))) {
        rc = rta_error_info_read(rta_node_get(root, "error"), &out->error, err);
        if (!rc) out->has |= RTA_PM_HAS_ERROR;
    }
    if (!rc) rc = read_auth(root, out, err);
    if (!rc) rc = read_details(root, out, err);
    if (!rc) rc = read_messages(root, out, err);
    if (!rc) rc = read_presence_array(root, out, err);
    if (!rc) rc = read_params(root, out, err);
    if (!rc) rc = read_res(root, out, err);
    return rc;
}

int rta_message_decode_node(rta_node n, rta_message *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = read_message(n, out, err);
    if (rc) rta_message_clear(out);
    return rc;
}

int rta_protocol_message_decode(const void *data, size_t len, rta_format fmt,
                                const rta_parse_limits *limits, rta_protocol_message *out,
                                rta_error *err)
{
    memset(out, 0, sizeof(*out));
    rta_doc *doc = NULL;
    int rc = rta_doc_parse(&doc, fmt, data, len, limits, err);
    if (rc) return rc;
    rc = read_root(rta_doc_root(doc), out, err);
    rta_doc_free(doc);
    if (rc) rta_protocol_message_clear(out);
    return rc;
}
