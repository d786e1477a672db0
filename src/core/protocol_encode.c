/* protocol_encode.c: an rta_protocol_message into one JSON or msgpack frame.
 *
 * Written once against rta_writer. Only present fields are written (ably-js's msgpack
 * encoder omits null entries too, 1.4), with Ably's field names. The field order is free in
 * both formats; the one chosen here reproduces the frames of wire-protocol 2.10 byte for
 * byte, which keeps logs and tests readable:
 *   action, channel, flags, id, connectionId, connectionKey, timestamp, channelSerial,
 *   messages, presence, msgSerial, count, res, error, auth, connectionDetails, params.
 * A CONNECTED also carries a top-level connectionKey copied from connectionDetails, as
 * real Ably does for legacy clients (ably-js ignores it).
 *
 * Data (RSL4): binary written as JSON becomes base64 with "base64" appended to encoding
 * (RSL4d); JSON-typed data (held as text) is parsed and re-emitted, so msgpack peers get a
 * real map/array. msgpack map headers need the entry count first, so each object's present
 * fields are decided once, counted, then written under the same conditions.
 */
#include "protocol.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    rta_writer w;
    int failed; /* something could not be written (bad JSON text, out of memory) */
} enc;

/* JSON-typed data and extras are stored as text: parse and re-emit in the output format. */
static void write_json_text(enc *e, const char *text, size_t len)
{
    rta_parse_limits lim = {SIZE_MAX, RTA_PARSE_DEFAULT_MAX_DEPTH};
    rta_doc *doc = NULL;
    rta_error perr;
    if (!text || rta_doc_parse(&doc, RTA_FORMAT_JSON, text, len, &lim, &perr) != 0) {
        e->failed = 1;
        rta_w_nil(&e->w); /* keeps the container's element count right; the result is
                           * discarded anyway */
        return;
    }
    rta_w_node(&e->w, rta_doc_root(doc));
    rta_doc_free(doc);
}

static void write_data(enc *e, const rta_data *d)
{
    switch (d->type) {
    case RTA_DATA_STRING:
        rta_w_strn(&e->w, d->ptr ? d->ptr : "", d->ptr ? d->len : 0);
        break;
    case RTA_DATA_BINARY:
        rta_w_bin(&e->w, d->ptr, d->ptr ? d->len : 0);
        break;
    case RTA_DATA_JSON:
        write_json_text(e, d->ptr, d->len);
        break;
    default:
        rta_w_nil(&e->w);
        break;
    }
}

/* 1 when this data needs "base64" appended to its encoding (binary in JSON, RSL4d). */
static int needs_base64(const enc *e, const rta_data *d)
{
    return e->w.fmt == RTA_FORMAT_JSON && d->type == RTA_DATA_BINARY;
}

static void write_encoding(enc *e, const char *encoding, int add_base64)
{
    if (!add_base64) {
        rta_w_str(&e->w, encoding);
        return;
    }
    if (!encoding || !*encoding) {
        rta_w_str(&e->w, "base64");
        return;
    }
    rta_buf tmp = RTA_BUF_INIT;
    rta_buf_puts(&tmp, encoding);
    rta_buf_puts(&tmp, "/base64");
    if (tmp.oom) e->failed = 1;
    rta_w_strn(&e->w, tmp.oom ? "" : tmp.data, tmp.oom ? 0 : tmp.len);
    rta_buf_free(&tmp);
}

static void key_str(enc *e, const char *key, const char *v)
{
    if (!v) return;
    rta_w_key(&e->w, key);
    rta_w_str(&e->w, v);
}

static void key_int(enc *e, const char *key, int present, int64_t v)
{
    if (!present) return;
    rta_w_key(&e->w, key);
    rta_w_int(&e->w, v);
}

/* Message (TM2): id, name, data, encoding, clientId, connectionId, timestamp, extras. */
static void write_message(enc *e, const rta_message *m)
{
    int has_data = m->data.type != RTA_DATA_NONE, b64 = needs_base64(e, &m->data);
    int has_encoding = m->encoding != NULL || b64;
    size_t n = (m->id != NULL) + (m->name != NULL) + has_data + has_encoding +
               (m->client_id != NULL) + (m->connection_id != NULL) + (m->timestamp != 0) +
               (m->extras != NULL);
    rta_w_map(&e->w, n);
    key_str(e, "id", m->id);
    key_str(e, "name", m->name);
    if (has_data) {
        rta_w_key(&e->w, "data");
        write_data(e, &m->data);
    }
    if (has_encoding) {
        rta_w_key(&e->w, "encoding");
        write_encoding(e, m->encoding, b64);
    }
    key_str(e, "clientId", m->client_id);
    key_str(e, "connectionId", m->connection_id);
    key_int(e, "timestamp", m->timestamp != 0, m->timestamp);
    if (m->extras) {
        rta_w_key(&e->w, "extras");
        write_json_text(e, m->extras, strlen(m->extras));
    }
    rta_w_map_end(&e->w);
}

/* PresenceMessage (TP3): action, id, clientId, connectionId, data, encoding, timestamp,
 * extras (TP3i). */
static void write_presence(enc *e, const rta_presence_message *p)
{
    int has_data = p->data.type != RTA_DATA_NONE, b64 = needs_base64(e, &p->data);
    int has_encoding = p->encoding != NULL || b64;
    size_t n = (p->action != 0) + (p->id != NULL) + (p->client_id != NULL) +
               (p->connection_id != NULL) + has_data + has_encoding + (p->timestamp != 0) +
               (p->extras != NULL);
    rta_w_map(&e->w, n);
    key_int(e, "action", p->action != 0, p->action);
    key_str(e, "id", p->id);
    key_str(e, "clientId", p->client_id);
    key_str(e, "connectionId", p->connection_id);
    if (has_data) {
        rta_w_key(&e->w, "data");
        write_data(e, &p->data);
    }
    if (has_encoding) {
        rta_w_key(&e->w, "encoding");
        write_encoding(e, p->encoding, b64);
    }
    key_int(e, "timestamp", p->timestamp != 0, p->timestamp);
    if (p->extras) {
        rta_w_key(&e->w, "extras");
        write_json_text(e, p->extras, strlen(p->extras));
    }
    rta_w_map_end(&e->w);
}

/* ConnectionDetails (CD2); strings when set, numbers when non-zero. */
static void write_details(enc *e, const rta_connection_details *d)
{
    size_t n = (d->connection_key != NULL) + (d->client_id != NULL) + (d->max_idle_interval != 0) +
               (d->connection_state_ttl != 0) + (d->max_message_size != 0) +
               (d->max_inbound_rate != 0) + (d->max_frame_size != 0) + (d->server_id != NULL);
    rta_w_map(&e->w, n);
    key_str(e, "connectionKey", d->connection_key);
    key_str(e, "clientId", d->client_id);
    key_int(e, "maxIdleInterval", d->max_idle_interval != 0, d->max_idle_interval);
    key_int(e, "connectionStateTtl", d->connection_state_ttl != 0, d->connection_state_ttl);
    key_int(e, "maxMessageSize", d->max_message_size != 0, d->max_message_size);
    key_int(e, "maxInboundRate", d->max_inbound_rate != 0, d->max_inbound_rate);
    key_int(e, "maxFrameSize", d->max_frame_size != 0, d->max_frame_size);
    key_str(e, "serverId", d->server_id);
    rta_w_map_end(&e->w);
}

static void write_res(enc *e, const rta_protocol_message *m)
{
    rta_w_array(&e->w, m->res_count);
    for (size_t i = 0; i < m->res_count; i++) {
        const rta_publish_result *r = &m->res[i];
        rta_w_map(&e->w, 1);
        rta_w_key(&e->w, "serials");
        rta_w_array(&e->w, r->serial_count);
        for (size_t k = 0; k < r->serial_count; k++) {
            if (r->serials[k])
                rta_w_str(&e->w, r->serials[k]);
            else
                rta_w_nil(&e->w); /* a discarded message keeps its position (2.6) */
        }
        rta_w_array_end(&e->w);
        rta_w_map_end(&e->w);
    }
    rta_w_array_end(&e->w);
}

static void write_root(enc *e, const rta_protocol_message *m)
{
    const rta_connection_details *d = &m->details;
    int has_details = (m->has & RTA_PM_HAS_CONNECTION_DETAILS) != 0;
    int top_key = m->action == RTA_ACTION_CONNECTED && has_details && d->connection_key;
    int has_messages = m->message_count > 0 && m->messages;
    int has_presence = m->presence_count > 0 && m->presence;
    int has_params = m->param_count > 0 && m->param_keys && m->param_values;
    int has_res = m->res_count > 0 && m->res;
    size_t n = 1 + (m->channel != NULL) + !!(m->has & RTA_PM_HAS_FLAGS) + (m->id != NULL) +
               (m->connection_id != NULL) + top_key + !!(m->has & RTA_PM_HAS_TIMESTAMP) +
               (m->channel_serial != NULL) + has_messages + has_presence +
               !!(m->has & RTA_PM_HAS_MSG_SERIAL) + !!(m->has & RTA_PM_HAS_COUNT) + has_res +
               !!(m->has & RTA_PM_HAS_ERROR) + !!(m->has & RTA_PM_HAS_AUTH) + has_details +
               has_params;

    rta_w_map(&e->w, n);
    key_int(e, "action", 1, m->action);
    key_str(e, "channel", m->channel);
    key_int(e, "flags", m->has & RTA_PM_HAS_FLAGS, m->flags);
    key_str(e, "id", m->id);
    key_str(e, "connectionId", m->connection_id);
    if (top_key) key_str(e, "connectionKey", d->connection_key);
    key_int(e, "timestamp", m->has & RTA_PM_HAS_TIMESTAMP, m->timestamp);
    key_str(e, "channelSerial", m->channel_serial);
    if (has_messages) {
        rta_w_key(&e->w, "messages");
        rta_w_array(&e->w, m->message_count);
        for (size_t i = 0; i < m->message_count; i++)
            write_message(e, &m->messages[i]);
        rta_w_array_end(&e->w);
    }
    if (has_presence) {
        rta_w_key(&e->w, "presence");
        rta_w_array(&e->w, m->presence_count);
        for (size_t i = 0; i < m->presence_count; i++)
            write_presence(e, &m->presence[i]);
        rta_w_array_end(&e->w);
    }
    key_int(e, "msgSerial", m->has & RTA_PM_HAS_MSG_SERIAL, m->msg_serial);
    key_int(e, "count", m->has & RTA_PM_HAS_COUNT, m->count);
    if (has_res) {
        rta_w_key(&e->w, "res");
        write_res(e, m);
    }
    if (m->has & RTA_PM_HAS_ERROR) {
        rta_w_key(&e->w, "error");
        rta_error_info_write(&m->error, &e->w);
    }
    if (m->has & RTA_PM_HAS_AUTH) {
        /* An AUTH without a token is still an "auth" object (the header's has-bit). */
        rta_w_key(&e->w, "auth");
        rta_w_map(&e->w, m->auth_access_token != NULL);
        key_str(e, "accessToken", m->auth_access_token);
        rta_w_map_end(&e->w);
    }
    if (has_details) {
        rta_w_key(&e->w, "connectionDetails");
        write_details(e, d);
    }
    if (has_params) {
        rta_w_key(&e->w, "params");
        rta_w_map(&e->w, m->param_count);
        for (size_t i = 0; i < m->param_count; i++) {
            rta_w_key(&e->w, m->param_keys[i] ? m->param_keys[i] : "");
            rta_w_str(&e->w, m->param_values[i] ? m->param_values[i] : "");
        }
        rta_w_map_end(&e->w);
    }
    rta_w_map_end(&e->w);
}

int rta_protocol_message_encode(const rta_protocol_message *m, rta_format fmt, rta_buf *out)
{
    size_t start = out->len;
    enc e;
    rta_writer_init(&e.w, fmt, out);
    e.failed = 0;
    write_root(&e, m);
    if (!e.failed && rta_writer_status(&e.w) == 0) return 0;
    /* Take back the partial frame, so the buffer holds only whole frames. */
    if (!out->oom && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return RTA_ERR_INTERNAL;
}

int rta_message_write(const rta_message *m, rta_writer *w)
{
    enc e = {.w = *w, .failed = 0}; /* the writer is plain state: borrow it, then hand it back */
    write_message(&e, m);
    *w = e.w;
    return e.failed || rta_writer_status(w) ? RTA_ERR_INTERNAL : 0;
}

int rta_presence_message_write(const rta_presence_message *p, rta_writer *w)
{
    enc e = {.w = *w, .failed = 0};
    write_presence(&e, p);
    *w = e.w;
    return e.failed || rta_writer_status(w) ? RTA_ERR_INTERNAL : 0;
}
