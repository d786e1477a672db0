/* codec_write.c: the rta_writer for JSON (hand-written, JSON.stringify-compatible) and
 * msgpack (msgpack-c's packer). See codec.h. */
#include "base64.h"
#include "codec.h"

#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

static int buf_write_cb(void *data, const char *p, size_t n)
{
    rta_buf_append((rta_buf *)data, p, n);
    return ((rta_buf *)data)->oom ? -1 : 0;
}

/* msgpack-c's packer is a struct of two pointers; build it on the stack per call. */
static msgpack_packer packer(rta_writer *w)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, w->out, buf_write_cb);
    return pk;
}

void rta_writer_init(rta_writer *w, rta_format fmt, rta_buf *out)
{
    memset(w, 0, sizeof(*w));
    w->fmt = fmt;
    w->out = out;
    w->first[0] = 1;
}

int rta_writer_status(const rta_writer *w)
{
    return (w->out->oom || w->overflow) ? RTA_ERR_INTERNAL : 0;
}

/* JSON: comma before every element but the first of its container, none after a key. */
static void json_sep(rta_writer *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->first[w->depth]) rta_buf_putc(w->out, ',');
    w->first[w->depth] = 0;
}

static void open_container(rta_writer *w, char c)
{
    json_sep(w);
    rta_buf_putc(w->out, c);
    if (w->depth >= RTA_WRITER_MAX_DEPTH) {
        w->overflow = 1;
        return;
    }
    w->first[++w->depth] = 1;
}

static void close_container(rta_writer *w, char c)
{
    rta_buf_putc(w->out, c);
    if (w->depth > 0) w->depth--;
}

void rta_w_map(rta_writer *w, size_t n)
{
    if (w->fmt == RTA_FORMAT_JSON) {
        open_container(w, '{');
    } else {
        msgpack_packer pk = packer(w);
        msgpack_pack_map(&pk, n);
    }
}

void rta_w_map_end(rta_writer *w)
{
    if (w->fmt == RTA_FORMAT_JSON) close_container(w, '}');
}

void rta_w_array(rta_writer *w, size_t n)
{
    if (w->fmt == RTA_FORMAT_JSON) {
        open_container(w, '[');
    } else {
        msgpack_packer pk = packer(w);
        msgpack_pack_array(&pk, n);
    }
}

void rta_w_array_end(rta_writer *w)
{
    if (w->fmt == RTA_FORMAT_JSON) close_container(w, ']');
}

void rta_json_quote(rta_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    rta_buf_putc(out, '"');
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        rta_buf_append(out, s + run, i - run);
        run = i + 1;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[c >> 4], esc[5] = hex[c & 15];
            len = 6;
        }
        rta_buf_append(out, esc, len);
    }
    rta_buf_append(out, s + run, n - run);
    rta_buf_putc(out, '"');
}

void rta_w_key(rta_writer *w, const char *key)
{
    size_t n = strlen(key);
    if (w->fmt == RTA_FORMAT_JSON) {
        json_sep(w);
        rta_json_quote(w->out, key, n);
        rta_buf_putc(w->out, ':');
        w->after_key = 1;
    } else {
        msgpack_packer pk = packer(w);
        msgpack_pack_str(&pk, n);
        msgpack_pack_str_body(&pk, key, n);
    }
}

void rta_w_strn(rta_writer *w, const char *s, size_t n)
{
    if (w->fmt == RTA_FORMAT_JSON) {
        json_sep(w);
        rta_json_quote(w->out, s, n);
    } else {
        msgpack_packer pk = packer(w);
        msgpack_pack_str(&pk, n);
        msgpack_pack_str_body(&pk, s, n);
    }
}

void rta_w_str(rta_writer *w, const char *s)
{
    rta_w_strn(w, s, strlen(s));
}

void rta_w_int(rta_writer *w, int64_t v)
{
    if (w->fmt == RTA_FORMAT_JSON) {
        json_sep(w);
        rta_buf_printf(w->out, "%lld", (long long)v);
    } else {
        msgpack_packer pk = packer(w);
        msgpack_pack_int64(&pk, v);
    }
}

void rta_w_double(rta_writer *w, double v)
{
    if (w->fmt == RTA_FORMAT_JSON) {
        json_sep(w);
        if (!isfinite(v))
            rta_buf_puts(w->out, "null"); /* as JSON.stringify */
        else if (v == floor(v) && fabs(v) < 9007199254740992.0)
            rta_buf_printf(w->out, "%.0f", v == 0 ? 0.0 : v); /* -0 is "0", as JSON.stringify */
        else
            rta_buf_printf(w->out, "%.17g", v);
    } else {
        msgpack_packer pk = packer(w);
        msgpack_pack_double(&pk, v);
    }
}

void rta_w_bool(rta_writer *w, int v)
{
    if (w->fmt == RTA_FORMAT_JSON) {
        json_sep(w);
        rta_buf_puts(w->out, v ? "true" : "false");
    } else {
        msgpack_packer pk = packer(w);
        if (v)
            msgpack_pack_true(&pk);
        else
            msgpack_pack_false(&pk);
    }
}

void rta_w_nil(rta_writer *w)
{
    if (w->fmt == RTA_FORMAT_JSON) {
        json_sep(w);
        rta_buf_puts(w->out, "null");
    } else {
        msgpack_packer pk = packer(w);
        msgpack_pack_nil(&pk);
    }
}

void rta_w_bin(rta_writer *w, const void *p, size_t n)
{
    if (w->fmt == RTA_FORMAT_JSON) {
        json_sep(w);
        rta_buf_putc(w->out, '"');
        rta_base64_encode(w->out, p, n, RTA_BASE64_STD);
        rta_buf_putc(w->out, '"');
    } else {
        msgpack_packer pk = packer(w);
        msgpack_pack_bin(&pk, n);
        msgpack_pack_bin_body(&pk, p, n);
    }
}

/* A jansson object in one pass. rta_node_key_at/value_at must walk a jansson object from
 * its first key on every call (it has no indexed access), which made re-encoding a map of
 * n keys cost O(n^2): a 400 KB extras object took 16 s. */
static void w_json_object(rta_writer *w, rta_node n)
{
    json_t *obj = (json_t *)n.p;
    const char *key;
    json_t *value;
    rta_w_map(w, json_object_size(obj));
    json_object_foreach(obj, key, value)
    {
        rta_node child = {value, RTA_FORMAT_JSON};
        rta_w_key(w, key); /* jansson keys never contain NUL */
        rta_w_node(w, child);
    }
    rta_w_map_end(w);
}

void rta_w_node(rta_writer *w, rta_node n)
{
    const char *s;
    const void *p;
    size_t len;
    int64_t i;
    double d;
    int b;
    switch (rta_node_kind(n)) {
    case RTA_NODE_MAP: {
        if (n.fmt == RTA_FORMAT_JSON) {
            w_json_object(w, n);
            break;
        }
        size_t count = rta_node_len(n), written = 0;
        for (size_t k = 0; k < count; k++) written += rta_node_key_at(n, k, &len) != NULL;
        rta_w_map(w, written);
        for (size_t k = 0; k < count; k++) {
            s = rta_node_key_at(n, k, &len);
            if (!s) continue; /* msgpack non-string keys have no JSON form: dropped */
            if (w->fmt == RTA_FORMAT_JSON) {
                json_sep(w);
                rta_json_quote(w->out, s, len);
                rta_buf_putc(w->out, ':');
                w->after_key = 1;
            } else {
                rta_w_strn(w, s, len);
            }
            rta_w_node(w, rta_node_value_at(n, k));
        }
        rta_w_map_end(w);
        break;
    }
    case RTA_NODE_ARRAY: {
        size_t count = rta_node_len(n);
        rta_w_array(w, count);
        for (size_t k = 0; k < count; k++) rta_w_node(w, rta_node_at(n, k));
        rta_w_array_end(w);
        break;
    }
    case RTA_NODE_STR: rta_node_str(n, &s, &len), rta_w_strn(w, s, len); break;
    case RTA_NODE_BIN: rta_node_bin(n, &p, &len), rta_w_bin(w, p, len); break;
    case RTA_NODE_INT: rta_node_int(n, &i), rta_w_int(w, i); break;
    case RTA_NODE_UINT_BIG:
    case RTA_NODE_FLOAT: rta_node_double(n, &d), rta_w_double(w, d); break;
    case RTA_NODE_BOOL: rta_node_bool(n, &b), rta_w_bool(w, b); break;
    case RTA_NODE_NULL: rta_w_nil(w); break;
    case RTA_NODE_ABSENT: break;
    }
}
