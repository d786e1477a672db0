/* codec_flat.c: the fast path of rta_doc_parse_scalars() (codec.h). A JSON object whose
 * members are all strings, integers, booleans or null (a TokenRequest, TokenParams) is
 * transcoded to the equivalent msgpack map and read by the msgpack backend: one buffer, no
 * per-value allocation, where jansson allocates every value and builds a hash table
 * (profiled at 15% of a requestToken). Anything the scanner is not certain to read exactly
 * as jansson does (non-ASCII, \u escapes, fractions, exponents, nesting, duplicate keys,
 * malformed input) is declined and goes to jansson, so the results, errors included, are
 * jansson's. fuzz/fuzz_flat_json.c checks that both paths agree. */
#include <stdint.h>
#include <string.h>

#include "codec.h"

#define FLAT_MAX_MEMBERS 32
#define FLAT_MAX_DIGITS 18 /* always fits in int64 */

typedef struct {
    const char *p, *end;
    rta_buf *out;
} scanner;

static void skip_ws(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static void put_u8(rta_buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    rta_buf_append(b, &c, 1);
}

static void put_be(rta_buf *b, uint64_t v, int bytes)
{
    unsigned char t[8];
    for (int i = 0; i < bytes; i++) t[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    rta_buf_append(b, t, (size_t)bytes);
}

/* A string at s->p (on its opening quote), unescaped into out as a msgpack str. Returns 0,
 * or -1 to decline. */
static int scan_string(scanner *s, rta_buf *scratch)
{
    rta_buf_reset(scratch);
    s->p++;
    for (;;) {
        const char *run = s->p;
        while (s->p < s->end && *s->p != '"' && *s->p != '\\') {
            unsigned char c = (unsigned char)*s->p;
            if (c < 0x20 || c >= 0x80) return -1; /* control (invalid) or non-ASCII: jansson */
            s->p++;
        }
        if (s->p > run) rta_buf_append(scratch, run, (size_t)(s->p - run));
        if (s->p >= s->end) return -1;
        if (*s->p == '"') break;
        if (s->end - s->p < 2) return -1;
        char e = s->p[1], c;
        switch (e) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        default: return -1; /* \u and anything invalid */
        }
        rta_buf_append(scratch, &c, 1);
        s->p += 2;
    }
    s->p++; /* closing quote */
    size_t n = scratch->len;
    if (n < 32)
        put_u8(s->out, 0xa0 | (unsigned)n);
    else if (n <= 0xff) {
        put_u8(s->out, 0xd9);
        put_be(s->out, n, 1);
    } else if (n <= 0xffff) {
        put_u8(s->out, 0xda);
        put_be(s->out, n, 2);
    } else {
        put_u8(s->out, 0xdb);
        put_be(s->out, n, 4);
    }
    if (n) rta_buf_append(s->out, scratch->data, n);
    return 0;
}

static int literal(scanner *s, const char *word, unsigned byte)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n)) return -1;
    s->p += n;
    put_u8(s->out, byte);
    return 0;
}

/* An integer -?(0|[1-9][0-9]*) of at most 18 digits, not followed by '.', 'e' or 'E'. */
static int scan_int(scanner *s)
{
    int neg = 0;
    if (*s->p == '-') {
        neg = 1;
        s->p++;
    }
    const char *d = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    size_t n = (size_t)(s->p - d);
    if (!n || n > FLAT_MAX_DIGITS || (n > 1 && *d == '0')) return -1;
    if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E')) return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (d[i] - '0');
    if (neg && v == 0) return -1; /* -0: a float for jansson */
    put_u8(s->out, 0xd3); /* int64: the reader does not care about the smallest form */
    put_be(s->out, (uint64_t)(neg ? -v : v), 8);
    return 0;
}

static int scan_value(scanner *s, rta_buf *scratch)
{
    if (s->p >= s->end) return -1;
    switch (*s->p) {
    case '"': return scan_string(s, scratch);
    case 't': return literal(s, "true", 0xc3);
    case 'f': return literal(s, "false", 0xc2);
    case 'n': return literal(s, "null", 0xc0);
    default: return *s->p == '-' || (*s->p >= '0' && *s->p <= '9') ? scan_int(s) : -1;
    }
}

/* Returns 1 with the msgpack map in *out, or 0 (declined: use jansson). */
int rta__json_flat_to_msgpack(const char *data, size_t len, rta_buf *out)
{
    scanner s = {data, data + len, out};
    char scratch_mem[256]; /* one string at a time: keys and values of a TokenRequest fit */
    rta_buf scratch;
    rta_buf_init_borrowed(&scratch, scratch_mem, sizeof(scratch_mem));
    size_t key_at[FLAT_MAX_MEMBERS], key_len[FLAT_MAX_MEMBERS]; /* offsets into out */
    size_t count = 0;
    int ok = 0;
    rta_buf_reset(out);
    put_u8(out, 0xde); /* map16, count patched at the end */
    put_be(out, 0, 2);
    skip_ws(&s);
    if (s.p >= s.end || *s.p++ != '{') goto done;
    skip_ws(&s);
    if (s.p < s.end && *s.p == '}') {
        s.p++;
    } else {
        for (;;) {
            if (count == FLAT_MAX_MEMBERS || s.p >= s.end || *s.p != '"') goto done;
            if (scan_string(&s, &scratch)) goto done;
            key_at[count] = out->len - scratch.len; /* the key's bytes end the output */
            key_len[count] = scratch.len;
            for (size_t k = 0; k < count; k++) /* jansson rejects duplicates: let it say so */
                if (key_len[k] == scratch.len &&
                    !memcmp(out->data + key_at[k], out->data + key_at[count], scratch.len))
                    goto done;
            count++;
            skip_ws(&s);
            if (s.p >= s.end || *s.p++ != ':') goto done;
            skip_ws(&s);
            if (scan_value(&s, &scratch)) goto done;
            skip_ws(&s);
            if (s.p < s.end && *s.p == ',') {
                s.p++;
                skip_ws(&s);
                continue;
            }
            if (s.p < s.end && *s.p == '}') {
                s.p++;
                break;
            }
            goto done;
        }
    }
    skip_ws(&s);
    if (s.p != s.end || out->oom) goto done;
    out->data[1] = (char)(count >> 8);
    out->data[2] = (char)(count & 0xff);
    ok = 1;
done:
    rta_buf_free(&scratch);
    return ok;
}

int rta_doc_parse_scalars(rta_doc **out, rta_format fmt, const void *data, size_t len,
                          const rta_parse_limits *limits, rta_error *err)
{
    size_t max_bytes = limits && limits->max_bytes ? limits->max_bytes : RTA_PARSE_DEFAULT_MAX_BYTES;
    if (fmt != RTA_FORMAT_JSON || len > max_bytes)
        return rta_doc_parse(out, fmt, data, len, limits, err);
    char stack[1024];
    rta_buf mp;
    rta_buf_init_borrowed(&mp, stack, sizeof(stack));
    int rc = rta__json_flat_to_msgpack(data, len, &mp)
                 ? rta_doc_parse(out, RTA_FORMAT_MSGPACK, mp.data, mp.len, NULL, err)
                 : rta_doc_parse(out, fmt, data, len, limits, err);
    rta_buf_free(&mp);
    return rc;
}
