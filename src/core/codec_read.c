/* codec_read.c: parse JSON (jansson) or msgpack (msgpack-c) into a tree and read it through
 * one rta_node interface. See codec.h.
 *
 * msgpack-c allocates a container's elements from its declared count before it has seen
 * them, so a 5-byte input claiming 2^32 elements asks for ~100 GB. Every msgpack input is
 * therefore pre-scanned here first: counts must fit in the remaining bytes, nesting is
 * bounded, strings are valid UTF-8, nothing trails. Only then does msgpack-c see it.
 */
#include "codec.h"

#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

struct rta_doc {
    int fmt;
    json_t *json;
    msgpack_unpacked mp;
    char *input; /* msgpack: a copy of the body; msgpack-c's strings point into it */
};

int rta_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned cp, min;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* ---- msgpack pre-scan ------------------------------------------------------------------ */

static uint32_t be(const unsigned char *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

/* Validates one complete msgpack value spanning exactly data[0..len). */
static int msgpack_prescan(const unsigned char *p, size_t len, int max_depth, rta_error *err)
{
    uint64_t pending[RTA_PARSE_DEFAULT_MAX_DEPTH + 1]; /* elements still owed per level */
    if (max_depth > RTA_PARSE_DEFAULT_MAX_DEPTH) max_depth = RTA_PARSE_DEFAULT_MAX_DEPTH;
    int depth = 0;
    uint64_t top = 1; /* the root value */
    size_t i = 0;
    for (;;) {
        while (top == 0) {
            if (depth == 0) goto done;
            top = pending[--depth];
        }
        top--;
        if (i >= len) return rta_error_set(err, RTA_ERR_INVALID_BODY, "Truncated msgpack");
        unsigned c = p[i++];
        size_t skip = 0;      /* payload bytes after the header */
        uint64_t children = 0; /* nested elements (maps count keys and values) */
        int is_str = 0, hdr = 0;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            /* fixint, nil, bool */
        } else if (c >= 0x80 && c <= 0x8f) {
            children = 2ull * (c & 0x0f);
        } else if (c >= 0x90 && c <= 0x9f) {
            children = c & 0x0f;
        } else if (c >= 0xa0 && c <= 0xbf) {
            skip = c & 0x1f, is_str = 1;
        } else {
            switch (c) {
            case 0xc4: case 0xc5: case 0xc6: hdr = 1 << (c - 0xc4); break; /* bin */
            case 0xd9: case 0xda: case 0xdb: hdr = 1 << (c - 0xd9), is_str = 1; break;
            case 0xc7: case 0xc8: case 0xc9: hdr = 1 << (c - 0xc7), skip = 1; break; /* ext */
            case 0xca: skip = 4; break;
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xcd: case 0xce: case 0xcf: skip = 1u << (c - 0xcc); break;
            case 0xd0: case 0xd1: case 0xd2: case 0xd3: skip = 1u << (c - 0xd0); break;
            case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
                skip = 1 + (1u << (c - 0xd4));
                break;
            case 0xdc: case 0xdd: /* array16/32 */
            case 0xde: case 0xdf: { /* map16/32 */
                int n = (c == 0xdc || c == 0xde) ? 2 : 4;
                if (len - i < (size_t)n)
                    return rta_error_set(err, RTA_ERR_INVALID_BODY, "Truncated msgpack");
                children = be(p + i, n) * ((c >= 0xde) ? 2ull : 1ull);
                i += (size_t)n;
                break;
            }
            default: return rta_error_set(err, RTA_ERR_INVALID_BODY, "Invalid msgpack byte");
            }
            if (hdr) {
                if (len - i < (size_t)hdr)
                    return rta_error_set(err, RTA_ERR_INVALID_BODY, "Truncated msgpack");
                skip += be(p + i, hdr);
                i += (size_t)hdr;
            }
        }
        if (skip > len - i) return rta_error_set(err, RTA_ERR_INVALID_BODY, "Truncated msgpack");
        if (is_str && !rta_utf8_valid((const char *)p + i, skip))
            return rta_error_set(err, RTA_ERR_INVALID_BODY, "Invalid UTF-8 in msgpack string");
        i += skip;
        if (children) {
            /* Every element takes at least one byte: a count beyond what is left is a lie. */
            if (children > len - i)
                return rta_error_set(err, RTA_ERR_INVALID_BODY, "Truncated msgpack");
            if (depth >= max_depth)
                return rta_error_set(err, RTA_ERR_INVALID_BODY, "msgpack nested too deeply");
            pending[depth++] = top;
            top = children;
        }
    }
done:
    if (i != len) return rta_error_set(err, RTA_ERR_INVALID_BODY, "Trailing bytes after msgpack");
    return 0;
}

/* ---- JSON depth check (jansson's own limit is 2048) ----------------------------------- */

static int json_depth_ok(const json_t *v, int depth_left)
{
    if (json_is_object(v) || json_is_array(v)) {
        if (depth_left <= 0) return 0;
        if (json_is_array(v)) {
            for (size_t i = 0; i < json_array_size(v); i++)
                if (!json_depth_ok(json_array_get(v, i), depth_left - 1)) return 0;
        } else {
            const char *k;
            json_t *child;
            json_object_foreach((json_t *)v, k, child)
            {
                if (!json_depth_ok(child, depth_left - 1)) return 0;
            }
        }
    }
    return 1;
}

int rta_doc_parse(rta_doc **out, rta_format fmt, const void *data, size_t len,
                  const rta_parse_limits *limits, rta_error *err)
{
    size_t max_bytes = limits && limits->max_bytes ? limits->max_bytes : RTA_PARSE_DEFAULT_MAX_BYTES;
    int max_depth = limits && limits->max_depth ? limits->max_depth : RTA_PARSE_DEFAULT_MAX_DEPTH;
    if (len > max_bytes)
        return rta_error_set(err, RTA_ERR_MESSAGE_TOO_LARGE, "Body of %zu bytes exceeds %zu", len,
                             max_bytes);
    rta_doc *doc = calloc(1, sizeof(*doc));
    if (!doc) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    doc->fmt = fmt;
    if (fmt == RTA_FORMAT_JSON) {
        json_error_t jerr;
        doc->json = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!doc->json) {
            free(doc);
            /* jansson's text may quote the input ("near '...'"): never echo a body, it can
             * hold a MAC or a token. Position only. */
            return rta_error_set(err, RTA_ERR_INVALID_BODY, "Malformed JSON at line %d, column %d",
                                 jerr.line, jerr.column);
        }
        if (!json_depth_ok(doc->json, max_depth)) {
            rta_doc_free(doc);
            return rta_error_set(err, RTA_ERR_INVALID_BODY, "JSON nested too deeply");
        }
    } else {
        int rc = msgpack_prescan(data, len, max_depth, err);
        if (rc) {
            free(doc);
            return rc;
        }
        /* msgpack_unpack_next() leaves str/bin/map-key objects pointing into the buffer it
         * was given; the doc keeps its own copy so nodes stay valid until rta_doc_free()
         * even after the caller reuses or frees its input (e.g. a WebSocket frame). */
        doc->input = malloc(len ? len : 1);
        if (!doc->input) {
            free(doc);
            return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        }
        if (len) memcpy(doc->input, data, len);
        msgpack_unpacked_init(&doc->mp);
        size_t off = 0;
        msgpack_unpack_return r = msgpack_unpack_next(&doc->mp, doc->input, len, &off);
        if (r != MSGPACK_UNPACK_SUCCESS || off != len) {
            rta_doc_free(doc);
            return rta_error_set(err, RTA_ERR_INVALID_BODY, "Malformed msgpack");
        }
    }
    *out = doc;
    return 0;
}

void rta_doc_free(rta_doc *doc)
{
    if (!doc) return;
    if (doc->fmt == RTA_FORMAT_JSON)
        json_decref(doc->json);
    else
        msgpack_unpacked_destroy(&doc->mp);
    free(doc->input);
    free(doc);
}

rta_node rta_doc_root(const rta_doc *doc)
{
    rta_node n = {doc->fmt == RTA_FORMAT_JSON ? (const void *)doc->json : (const void *)&doc->mp.data,
                  doc->fmt};
    return n;
}

/* ---- node access ----------------------------------------------------------------------- */

#define J(n) ((const json_t *)(n).p)
#define M(n) ((const msgpack_object *)(n).p)

static rta_node mk(const void *p, int fmt)
{
    rta_node n = {p, fmt};
    return n;
}

rta_node_type rta_node_kind(rta_node n)
{
    if (!n.p) return RTA_NODE_ABSENT;
    if (n.fmt == RTA_FORMAT_JSON) {
        switch (json_typeof(J(n))) {
        case JSON_OBJECT: return RTA_NODE_MAP;
        case JSON_ARRAY: return RTA_NODE_ARRAY;
        case JSON_STRING: return RTA_NODE_STR;
        case JSON_INTEGER: return RTA_NODE_INT;
        case JSON_REAL: return RTA_NODE_FLOAT;
        case JSON_TRUE:
        case JSON_FALSE: return RTA_NODE_BOOL;
        default: return RTA_NODE_NULL;
        }
    }
    switch (M(n)->type) {
    case MSGPACK_OBJECT_MAP: return RTA_NODE_MAP;
    case MSGPACK_OBJECT_ARRAY: return RTA_NODE_ARRAY;
    case MSGPACK_OBJECT_STR: return RTA_NODE_STR;
    case MSGPACK_OBJECT_BIN: return RTA_NODE_BIN;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return M(n)->via.u64 > (uint64_t)INT64_MAX ? RTA_NODE_UINT_BIG : RTA_NODE_INT;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return RTA_NODE_INT;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return RTA_NODE_FLOAT;
    case MSGPACK_OBJECT_BOOLEAN: return RTA_NODE_BOOL;
    case MSGPACK_OBJECT_NIL: return RTA_NODE_NULL;
    default: return RTA_NODE_NULL; /* ext: tolerated, read as null */
    }
}

size_t rta_node_len(rta_node n)
{
    switch (rta_node_kind(n)) {
    case RTA_NODE_MAP:
        return n.fmt == RTA_FORMAT_JSON ? json_object_size(J(n)) : M(n)->via.map.size;
    case RTA_NODE_ARRAY:
        return n.fmt == RTA_FORMAT_JSON ? json_array_size(J(n)) : M(n)->via.array.size;
    default: return 0;
    }
}

rta_node rta_node_at(rta_node a, size_t i)
{
    if (rta_node_kind(a) != RTA_NODE_ARRAY || i >= rta_node_len(a)) return mk(NULL, a.fmt);
    if (a.fmt == RTA_FORMAT_JSON) return mk(json_array_get(J(a), i), a.fmt);
    return mk(&M(a)->via.array.ptr[i], a.fmt);
}

rta_node rta_node_get(rta_node map, const char *key)
{
    if (rta_node_kind(map) != RTA_NODE_MAP) return mk(NULL, map.fmt);
    if (map.fmt == RTA_FORMAT_JSON) return mk(json_object_get(J(map), key), map.fmt);
    size_t klen = strlen(key);
    const msgpack_object_map *m = &M(map)->via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0)
            return mk(&m->ptr[i].val, map.fmt);
    }
    return mk(NULL, map.fmt);
}

/* jansson has no indexed object access; iterate to the i-th entry (maps here are small). */
static void *json_iter_at(const json_t *obj, size_t i)
{
    void *it = json_object_iter((json_t *)obj);
    while (it && i--) it = json_object_iter_next((json_t *)obj, it);
    return it;
}

const char *rta_node_key_at(rta_node map, size_t i, size_t *key_len)
{
    if (rta_node_kind(map) != RTA_NODE_MAP || i >= rta_node_len(map)) return NULL;
    if (map.fmt == RTA_FORMAT_JSON) {
        void *it = json_iter_at(J(map), i);
        if (!it) return NULL;
        const char *k = json_object_iter_key(it);
        if (key_len) *key_len = strlen(k);
        return k;
    }
    const msgpack_object *k = &M(map)->via.map.ptr[i].key;
    if (k->type != MSGPACK_OBJECT_STR) return NULL;
    if (key_len) *key_len = k->via.str.size;
    return k->via.str.ptr;
}

rta_node rta_node_value_at(rta_node map, size_t i)
{
    if (rta_node_kind(map) != RTA_NODE_MAP || i >= rta_node_len(map)) return mk(NULL, map.fmt);
    if (map.fmt == RTA_FORMAT_JSON) {
        void *it = json_iter_at(J(map), i);
        return mk(it ? json_object_iter_value(it) : NULL, map.fmt);
    }
    return mk(&M(map)->via.map.ptr[i].val, map.fmt);
}

int rta_node_str(rta_node n, const char **s, size_t *len)
{
    if (rta_node_kind(n) != RTA_NODE_STR) return 0;
    if (n.fmt == RTA_FORMAT_JSON) {
        *s = json_string_value(J(n));
        *len = json_string_length(J(n));
    } else {
        *s = M(n)->via.str.ptr;
        *len = M(n)->via.str.size;
    }
    return 1;
}

int rta_node_bin(rta_node n, const void **p, size_t *len)
{
    if (rta_node_kind(n) != RTA_NODE_BIN) return 0;
    *p = M(n)->via.bin.ptr;
    *len = M(n)->via.bin.size;
    return 1;
}

int rta_node_double(rta_node n, double *out)
{
    switch (rta_node_kind(n)) {
    case RTA_NODE_INT:
    case RTA_NODE_UINT_BIG:
    case RTA_NODE_FLOAT:
        if (n.fmt == RTA_FORMAT_JSON) {
            *out = json_number_value(J(n));
        } else {
            const msgpack_object *o = M(n);
            *out = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER   ? (double)o->via.u64
                   : o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (double)o->via.i64
                                                                : o->via.f64;
        }
        return 1;
    default: return 0;
    }
}

int rta_node_int(rta_node n, int64_t *out)
{
    switch (rta_node_kind(n)) {
    case RTA_NODE_INT:
        if (n.fmt == RTA_FORMAT_JSON)
            *out = json_integer_value(J(n));
        else
            *out = M(n)->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)M(n)->via.u64
                                                                 : M(n)->via.i64;
        return 1;
    case RTA_NODE_FLOAT: {
        /* JavaScript has one number type: 3600000.0 is an integer there. */
        double d;
        rta_node_double(n, &d);
        if (!isfinite(d) || d != floor(d) || d < -9.2e18 || d > 9.2e18) return 0;
        *out = (int64_t)d;
        return 1;
    }
    default: return 0;
    }
}

int rta_node_bool(rta_node n, int *out)
{
    if (rta_node_kind(n) != RTA_NODE_BOOL) return 0;
    *out = n.fmt == RTA_FORMAT_JSON ? json_is_true(J(n)) : M(n)->via.boolean;
    return 1;
}

int rta_node_strdup(rta_node n, size_t max_len, const char *field, char **out, rta_error *err)
{
    const char *s;
    size_t len;
    if (!rta_node_str(n, &s, &len))
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s must be a string", field);
    if (len > max_len)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s longer than %zu bytes", field, max_len);
    if (memchr(s, '\0', len))
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s contains a NUL character", field);
    char *copy = malloc(len + 1);
    if (!copy) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    memcpy(copy, s, len);
    copy[len] = '\0';
    *out = copy;
    return 0;
}
