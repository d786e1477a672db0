/* protocol.c: ProtocolMessage memory (the clear functions) and the ErrorInfo mapping (TI1,
 * wire-protocol 2.3) that the decoder, the encoder and REST error bodies share.
 *
 * ErrorInfo is strict both ways: ably-js drops a whole ProtocolMessage whose error lacks a
 * string message or a numeric code/statusCode, so we never write one without them and we
 * refuse to read one without them. It never allocates: rta_error is plain data.
 */
#include "protocol.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- clear ----------------------------------------------------------------------------- */

static void data_clear(rta_data *d)
{
    free(d->ptr);
    memset(d, 0, sizeof(*d));
}

void rta_message_clear(rta_message *m)
{
    if (!m) return;
    free(m->id);
    free(m->name);
    free(m->client_id);
    free(m->connection_id);
    free(m->encoding);
    data_clear(&m->data);
    free(m->extras);
    memset(m, 0, sizeof(*m));
}

static int dup_str(char **dst, const char *src)
{
    if (!src) return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

int rta_data_copy(rta_data *dst, const rta_data *src)
{
    *dst = (rta_data){0};
    if (src->type == RTA_DATA_NONE) return 0;
    /* data.ptr holds len bytes plus a NUL (binary data too, see protocol_decode.c) */
    char *p = malloc(src->len + 1);
    if (!p) return -1;
    if (src->len) memcpy(p, src->ptr, src->len);
    p[src->len] = '\0';
    *dst = (rta_data){src->type, p, src->len};
    return 0;
}

int rta_message_copy(rta_message *dst, const rta_message *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->timestamp = src->timestamp;
    int bad = dup_str(&dst->id, src->id) | dup_str(&dst->name, src->name) |
              dup_str(&dst->client_id, src->client_id) |
              dup_str(&dst->connection_id, src->connection_id) |
              dup_str(&dst->encoding, src->encoding) | dup_str(&dst->extras, src->extras) |
              rta_data_copy(&dst->data, &src->data);
    if (!bad) return 0;
    rta_message_clear(dst);
    return RTA_ERR_INTERNAL;
}

void rta_presence_message_clear(rta_presence_message *p)
{
    if (!p) return;
    free(p->id);
    free(p->client_id);
    free(p->connection_id);
    free(p->encoding);
    free(p->extras);
    data_clear(&p->data);
    memset(p, 0, sizeof(*p));
}

void rta_protocol_message_clear(rta_protocol_message *m)
{
    if (!m) return;
    free(m->id);
    free(m->channel);
    free(m->channel_serial);
    free(m->connection_id);
    free(m->auth_access_token);
    free(m->details.client_id);
    free(m->details.connection_key);
    free(m->details.server_id);
    for (size_t i = 0; m->messages && i < m->message_count; i++)
        rta_message_clear(&m->messages[i]);
    free(m->messages);
    for (size_t i = 0; m->presence && i < m->presence_count; i++)
        rta_presence_message_clear(&m->presence[i]);
    free(m->presence);
    for (size_t i = 0; i < m->param_count; i++) {
        if (m->param_keys) free(m->param_keys[i]);
        if (m->param_values) free(m->param_values[i]);
    }
    free(m->param_keys);
    free(m->param_values);
    for (size_t i = 0; m->res && i < m->res_count; i++) {
        for (size_t k = 0; m->res[i].serials && k < m->res[i].serial_count; k++)
            free(m->res[i].serials[k]);
        free(m->res[i].serials);
    }
    free(m->res);
    memset(m, 0, sizeof(*m));
}

/* ---- ErrorInfo ------------------------------------------------------------------------- */

/* Length of the longest valid UTF-8 prefix of s[0..n). An rta_error message may have been
 * cut mid-character by snprintf; a writer must never emit invalid UTF-8 (JSON.parse would
 * mangle it, and our own reader rejects it). */
static size_t utf8_prefix(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t l = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (!l || l > n - i || !rta_utf8_valid(s + i, l)) break;
        i += l;
    }
    return i;
}

static void write_error_object(rta_writer *w, const char *message, size_t cap, int code,
                               int status_code, const rta_error *cause)
{
    char href[64];
    rta_error_href(code, href, sizeof(href));
    rta_w_map(w, cause ? 5 : 4);
    rta_w_key(w, "message");
    rta_w_strn(w, message, utf8_prefix(message, strnlen(message, cap)));
    rta_w_key(w, "code");
    rta_w_int(w, code);
    rta_w_key(w, "statusCode");
    rta_w_int(w, status_code);
    rta_w_key(w, "href");
    rta_w_str(w, href);
    if (cause) {
        rta_w_key(w, "cause");
        write_error_object(w, cause->cause_message, sizeof(cause->cause_message), cause->cause_code,
                           cause->cause_status_code, NULL);
    }
    rta_w_map_end(w);
}

void rta_error_info_write(const rta_error *e, rta_writer *w)
{
    write_error_object(w, e->message, sizeof(e->message), e->code, e->status_code,
                       e->cause_code != 0 ? e : NULL);
}

static int read_int_field(rta_node obj, const char *key, const char *what, int *out, rta_error *err)
{
    int64_t v;
    if (!rta_node_int(rta_node_get(obj, key), &v))
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s.%s must be a number", what, key);
    if (v < INT_MIN || v > INT_MAX)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s.%s out of range", what, key);
    *out = (int)v;
    return 0;
}

/* message, code and statusCode of one ErrorInfo object. The message is truncated to fit,
 * at a character boundary (the input is valid UTF-8: both readers check it). */
static int read_error_fields(rta_node obj, const char *what, char *message, size_t cap, int *code,
                             int *status_code, rta_error *err)
{
    if (rta_node_kind(obj) != RTA_NODE_MAP)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s must be an object", what);
    const char *s;
    size_t len;
    if (!rta_node_str(rta_node_get(obj, "message"), &s, &len))
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s.message must be a string", what);
    if (memchr(s, '\0', len))
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s.message contains a NUL character",
                             what);
    int rc = read_int_field(obj, "code", what, code, err);
    if (!rc) rc = read_int_field(obj, "statusCode", what, status_code, err);
    if (rc) return rc;
    if (len > cap - 1) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(message, s, len);
    message[len] = '\0';
    return 0;
}

int rta_error_info_read(rta_node n, rta_error *out, rta_error *err)
{
    rta_error e;
    memset(&e, 0, sizeof(e));
    int rc =
        read_error_fields(n, "error", e.message, sizeof(e.message), &e.code, &e.status_code, err);
    if (rc) return rc;
    /* The cause is informative only (RSA4c1): kept when well-formed, otherwise ignored
     * rather than failing the whole message over it. */
    rta_node cause = rta_node_get(n, "cause");
    if (rta_node_kind(cause) == RTA_NODE_MAP &&
        read_error_fields(cause, "cause", e.cause_message, sizeof(e.cause_message), &e.cause_code,
                          &e.cause_status_code, NULL) != 0) {
        e.cause_code = e.cause_status_code = 0;
        e.cause_message[0] = '\0';
    }
    *out = e;
    return 0;
}

size_t rta_message_size(const rta_message *m)
{
    return (m->name ? strlen(m->name) : 0) + (m->client_id ? strlen(m->client_id) : 0) +
           (m->data.type != RTA_DATA_NONE ? m->data.len : 0) + (m->extras ? strlen(m->extras) : 0);
}

int rta_channel_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (!len || len > RTA_CHANNEL_NAME_MAX || name[0] == ':') return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x20) return 0;
    return 1;
}
