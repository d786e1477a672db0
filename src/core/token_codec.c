/* token_codec.c: JSON and msgpack codecs of TokenParams, TokenRequest and TokenDetails (spec TK,
 * TE, TD), plus the field readers the revocation codec shares. See token_codec.h.
 *
 * These three types are flat records of strings and integers, so each is described once by a
 * table of fields (wire name, kind, rules, offset) in wire order; one reader and one writer
 * walk the tables, over either format through codec.h. The table order is the key order
 * ably-js produces (wire protocol 4.2): changing it changes bytes on the wire.
 */
#include "token_codec.h"

#include <stddef.h>
#include <string.h>

#include "capability.h"
#include "token_codec_internal.h"

/* ---- shared field readers --------------------------------------------------------------- */

int rta__node_absent(rta_node n)
{
    rta_node_type k = rta_node_kind(n);
    return k == RTA_NODE_ABSENT || k == RTA_NODE_NULL;
}

/* A ttl given as a string: only plain decimal digits that fit in int64 (no sign, spaces or
 * fraction), the forms whose number, printed back in decimal, is the text ably-js signed and
 * the token service rebuilds for the MAC. (Zero padding, "0060000", decodes too, but only the
 * number is kept, so a MAC over the padded text will not verify.) */
static int parse_decimal(const char *s, size_t len, int64_t *out)
{
    if (len == 0) return 0;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

int rta__read_int(rta_node map, const char *key, const char *name, unsigned flags, int64_t *out,
                  int *present, rta_error *err)
{
    rta_node v = rta_node_get(map, key);
    const char *field = name ? name : key;
    const char *s;
    size_t len;
    *present = 0;
    switch (rta_node_kind(v)) {
    case RTA_NODE_ABSENT:
    case RTA_NODE_NULL:
        if (flags & RTA__F_REQUIRED)
            return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s is required", field);
        return 0;
    case RTA_NODE_INT:
    case RTA_NODE_UINT_BIG:
    case RTA_NODE_FLOAT:
        if (rta_node_int(v, out)) {
            *present = 1;
            return 0;
        }
        return rta_error_set(
            err, (flags & RTA__F_RANGE) ? RTA_ERR_INVALID_PARAMETER : RTA_ERR_INVALID_BODY,
            "%s must be an integer within the 64-bit range", field);
    case RTA_NODE_STR:
        if (flags & RTA__F_TTL) {
            rta_node_str(v, &s, &len);
            if (!parse_decimal(s, len, out))
                return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                     "%s must be a number of milliseconds", field);
            *present = 1;
            return 0;
        }
        break;
    default:
        break;
    }
    return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s must be a number", field);
}

int rta__read_str(rta_node map, const char *key, const char *name, unsigned flags, size_t max_len,
                  char **out, rta_error *err)
{
    rta_node v = rta_node_get(map, key);
    const char *field = name ? name : key;
    if (rta__node_absent(v)) {
        if (flags & RTA__F_REQUIRED)
            return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s is required", field);
        return 0;
    }
    return rta_node_strdup(v, max_len, field, out, err);
}

/* ---- field tables ----------------------------------------------------------------------- */

typedef enum { FIELD_STR, FIELD_INT } field_kind;

#define FIELD_ALWAYS 0x100u /* written even when 0 (a required number) */

typedef struct field {
    const char *name; /* wire name */
    field_kind kind;
    unsigned flags; /* RTA__F_* and FIELD_ALWAYS */
    size_t offset;  /* of a char * or an int64_t inside the struct */
    size_t max_len; /* strings only */
} field;

/* clang-format off */
#define FSTR(type, member, wire, flags, max) {wire, FIELD_STR, flags, offsetof(type, member), max}
#define FINT(type, member, wire, flags) {wire, FIELD_INT, flags, offsetof(type, member), 0}
/* clang-format on */

/* TK2: TokenParams. All optional; capability is JSON text carried as a string (TK2b). */
static const field params_fields[] = {
    FINT(rta_token_params, ttl, "ttl", RTA__F_RANGE | RTA__F_TTL),
    FSTR(rta_token_params, capability, "capability", 0, RTA_CAPABILITY_MAX_BYTES),
    FSTR(rta_token_params, client_id, "clientId", 0, RTA_MAX_CLIENT_ID_LEN),
    FINT(rta_token_params, timestamp, "timestamp", RTA__F_RANGE),
};

/* TE1-TE6: TokenRequest. keyName and timestamp are always required (S-18); nonce and mac
 * are checked together after the table (a signed request needs both). */
static const field request_fields[] = {
    FSTR(rta_token_request, key_name, "keyName", RTA__F_REQUIRED, RTA_MAX_KEY_NAME_LEN),
    FINT(rta_token_request, ttl, "ttl", RTA__F_RANGE | RTA__F_TTL),
    FSTR(rta_token_request, capability, "capability", 0, RTA_CAPABILITY_MAX_BYTES),
    FSTR(rta_token_request, client_id, "clientId", 0, RTA_MAX_CLIENT_ID_LEN),
    FINT(rta_token_request, timestamp, "timestamp", RTA__F_REQUIRED | RTA__F_RANGE | FIELD_ALWAYS),
    FSTR(rta_token_request, nonce, "nonce", 0, RTA_MAX_NONCE_LEN),
    FSTR(rta_token_request, mac, "mac", 0, RTA_MAX_MAC_LEN),
};

/* TD1-TD7: TokenDetails. Only token is required: an authCallback may hand back
 * {"token": "..."} alone, and issued/expires are 0 ("unknown") for app-supplied JWTs. */
static const field details_fields[] = {
    FSTR(rta_token_details, token, "token", RTA__F_REQUIRED, RTA_MAX_TOKEN_LEN),
    FSTR(rta_token_details, key_name, "keyName", 0, RTA_MAX_KEY_NAME_LEN),
    FINT(rta_token_details, issued, "issued", 0),
    FINT(rta_token_details, expires, "expires", 0),
    FSTR(rta_token_details, capability, "capability", 0, RTA_CAPABILITY_MAX_BYTES),
    FSTR(rta_token_details, client_id, "clientId", 0, RTA_MAX_CLIENT_ID_LEN),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static char **str_slot(void *obj, const field *f)
{
    return (char **)((char *)obj + f->offset);
}

static int64_t *int_slot(void *obj, const field *f)
{
    return (int64_t *)((char *)obj + f->offset);
}

static const char *str_at(const void *obj, const field *f)
{
    return *(const char *const *)((const char *)obj + f->offset);
}

static int64_t int_at(const void *obj, const field *f)
{
    return *(const int64_t *)((const char *)obj + f->offset);
}

/* Absent is not null: a NULL string or a 0 number is simply not written (RSA5, RSA6). */
static int field_present(const void *obj, const field *f)
{
    if (f->kind == FIELD_STR) return str_at(obj, f) != NULL;
    return (f->flags & FIELD_ALWAYS) || int_at(obj, f) != 0;
}

static void write_fields(rta_writer *w, const void *obj, const field *fields, size_t count)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++)
        n += (size_t)field_present(obj, &fields[i]);
    rta_w_map(w, n); /* msgpack needs the entry count before the entries */
    for (size_t i = 0; i < count; i++) {
        const field *f = &fields[i];
        if (!field_present(obj, f)) continue;
        rta_w_key(w, f->name);
        if (f->kind == FIELD_STR)
            rta_w_str(w, str_at(obj, f));
        else
            rta_w_int(w, int_at(obj, f));
    }
    rta_w_map_end(w);
}

/* Fills obj (already zeroed) from map; on failure obj may hold some strings: the caller
 * clears it. */
static int read_fields(rta_node map, const char *type_name, void *obj, const field *fields,
                       size_t count, rta_error *err)
{
    if (rta_node_kind(map) != RTA_NODE_MAP)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "%s must be an object", type_name);
    for (size_t i = 0; i < count; i++) {
        const field *f = &fields[i];
        unsigned flags = f->flags & ~FIELD_ALWAYS;
        int rc, present;
        if (f->kind == FIELD_STR)
            rc = rta__read_str(map, f->name, NULL, flags, f->max_len, str_slot(obj, f), err);
        else
            rc = rta__read_int(map, f->name, NULL, flags, int_slot(obj, f), &present, err);
        if (rc) return rc;
    }
    return 0;
}

static int encode_fields(const void *obj, const field *fields, size_t count, rta_format fmt,
                         rta_buf *out)
{
    rta_writer w;
    rta_writer_init(&w, fmt, out);
    write_fields(&w, obj, fields, count);
    return rta_writer_status(&w);
}

/* ---- TokenParams ------------------------------------------------------------------------ */

int rta_token_params_encode(const rta_token_params *p, rta_format fmt, rta_buf *out)
{
    return encode_fields(p, params_fields, COUNT(params_fields), fmt, out);
}

int rta_token_params_decode_node(rta_node n, rta_token_params *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = read_fields(n, "TokenParams", out, params_fields, COUNT(params_fields), err);
    if (rc) rta_token_params_clear(out);
    return rc;
}

int rta_token_params_decode(const void *data, size_t len, rta_format fmt, rta_token_params *out,
                            rta_error *err)
{
    rta_doc *doc;
    memset(out, 0, sizeof(*out));
    int rc = rta_doc_parse(&doc, fmt, data, len, NULL, err);
    if (rc) return rc;
    rc = rta_token_params_decode_node(rta_doc_root(doc), out, err);
    rta_doc_free(doc);
    return rc;
}

/* ---- TokenRequest ----------------------------------------------------------------------- */

void rta_token_request_write(const rta_token_request *r, rta_writer *w)
{
    write_fields(w, r, request_fields, COUNT(request_fields));
}

int rta_token_request_encode(const rta_token_request *r, rta_format fmt, rta_buf *out)
{
    return encode_fields(r, request_fields, COUNT(request_fields), fmt, out);
}

int rta_token_request_decode_node(rta_node n, rta_token_request *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = read_fields(n, "TokenRequest", out, request_fields, COUNT(request_fields), err);
    /* S-18: a signed request (one with a mac) also needs its nonce, which is in the signed
     * text; an unsigned one (checklist D.13) carries neither. */
    if (!rc && out->mac && !out->nonce)
        rc = rta_error_set(err, RTA_ERR_INVALID_BODY, "nonce is required with mac");
    if (rc) rta_token_request_clear(out);
    return rc;
}

int rta_token_request_decode(const void *data, size_t len, rta_format fmt, rta_token_request *out,
                             rta_error *err)
{
    rta_doc *doc;
    memset(out, 0, sizeof(*out));
    int rc = rta_doc_parse(&doc, fmt, data, len, NULL, err);
    if (rc) return rc;
    rc = rta_token_request_decode_node(rta_doc_root(doc), out, err);
    rta_doc_free(doc);
    return rc;
}

/* ---- TokenDetails ----------------------------------------------------------------------- */

void rta_token_details_write(const rta_token_details *d, rta_writer *w)
{
    write_fields(w, d, details_fields, COUNT(details_fields));
}

int rta_token_details_encode(const rta_token_details *d, rta_format fmt, rta_buf *out)
{
    return encode_fields(d, details_fields, COUNT(details_fields), fmt, out);
}

int rta_token_details_decode_node(rta_node n, rta_token_details *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = read_fields(n, "TokenDetails", out, details_fields, COUNT(details_fields), err);
    if (rc) rta_token_details_clear(out);
    return rc;
}

int rta_token_details_decode(const void *data, size_t len, rta_format fmt, rta_token_details *out,
                             rta_error *err)
{
    rta_doc *doc;
    memset(out, 0, sizeof(*out));
    int rc = rta_doc_parse(&doc, fmt, data, len, NULL, err);
    if (rc) return rc;
    rc = rta_token_details_decode_node(rta_doc_root(doc), out, err);
    rta_doc_free(doc);
    return rc;
}
