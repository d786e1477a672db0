/* codec.h: one reader and one writer over both wire formats, JSON and msgpack.
 *
 * Every Ably type (TokenRequest, TokenDetails, ProtocolMessage, ...) maps its fields once,
 * against these two abstractions, instead of once per format. This is hiredis's
 * "reply object functions" idea: the parser does no I/O and knows nothing of the types.
 *
 * Reading: rta_doc_parse() parses a whole buffer (no trailing bytes allowed) into a tree
 * owned by the rta_doc, checking size, depth and UTF-8 of every string on the way; rta_node
 * values are borrowed views into that tree, valid until rta_doc_free().
 *
 * Writing: rta_writer appends to an rta_buf. JSON output is compact and escapes exactly as
 * JavaScript's JSON.stringify does, so canonical texts (capabilities) match ably-js byte for
 * byte. msgpack output uses the smallest encodings, as @ably/msgpack-js does. Maps and
 * arrays take their element count up front (msgpack needs it; JSON ignores it).
 * Absent is not null: encoders simply do not write absent fields.
 */
#ifndef RTA_CORE_CODEC_H
#define RTA_CORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rtauth/error.h"

typedef enum { RTA_FORMAT_JSON = 0, RTA_FORMAT_MSGPACK = 1 } rta_format;

/* ---- reading ------------------------------------------------------------------------- */

typedef enum {
    RTA_NODE_ABSENT = 0, /* a missing map key, or an index out of range */
    RTA_NODE_NULL,
    RTA_NODE_BOOL,
    RTA_NODE_INT, /* any integer that fits in int64 */
    RTA_NODE_UINT_BIG, /* a non-negative integer above INT64_MAX (msgpack only) */
    RTA_NODE_FLOAT,
    RTA_NODE_STR,
    RTA_NODE_BIN, /* msgpack bin */
    RTA_NODE_ARRAY,
    RTA_NODE_MAP,
} rta_node_type;

typedef struct rta_doc rta_doc;

/* A borrowed view of one value inside an rta_doc. Copy it freely; it is two words. */
typedef struct rta_node {
    const void *p; /* json_t * or msgpack_object *; NULL when absent */
    int fmt;       /* rta_format */
} rta_node;

typedef struct rta_parse_limits {
    size_t max_bytes; /* input larger than this: 40009; 0 = RTA_PARSE_DEFAULT_MAX_BYTES */
    int max_depth;    /* deeper nesting: 40001; 0 = RTA_PARSE_DEFAULT_MAX_DEPTH */
} rta_parse_limits;

#define RTA_PARSE_DEFAULT_MAX_BYTES (1024 * 1024)
#define RTA_PARSE_DEFAULT_MAX_DEPTH 32

/* Parses data into *out. limits may be NULL (defaults). Returns 0, or 40001 (malformed,
 * trailing bytes, invalid UTF-8, too deep) or 40009 (too large) with err filled.
 * The caller frees *out with rta_doc_free(). */
int rta_doc_parse(rta_doc **out, rta_format fmt, const void *data, size_t len,
                  const rta_parse_limits *limits, rta_error *err);
void rta_doc_free(rta_doc *doc);
/* rta_doc_parse for documents that are one object of scalar members (TokenRequest,
 * TokenParams): such a JSON object is read without jansson (codec_flat.c), and its nodes
 * then report RTA_FORMAT_MSGPACK in rta_node.fmt. Same kinds, values and errors as
 * rta_doc_parse otherwise, for callers that never look at rta_node.fmt. */
int rta_doc_parse_scalars(rta_doc **out, rta_format fmt, const void *data, size_t len,
                          const rta_parse_limits *limits, rta_error *err);
/* The transcoder behind it: 1 with the equivalent msgpack map in *out, or 0 (declined). */
int rta__json_flat_to_msgpack(const char *data, size_t len, rta_buf *out);
rta_node rta_doc_root(const rta_doc *doc);

rta_node_type rta_node_kind(rta_node n);
/* Map lookup by key (string keys only); absent when n is not a map or has no such key. */
rta_node rta_node_get(rta_node map, const char *key);
/* Arrays and maps: number of elements (0 for anything else). */
size_t rta_node_len(rta_node n);
rta_node rta_node_at(rta_node array, size_t i);
/* Map iteration: the i-th key (NULL if not a string) and value. */
const char *rta_node_key_at(rta_node map, size_t i, size_t *key_len);
rta_node rta_node_value_at(rta_node map, size_t i);

/* Scalars. Each returns 1 and sets *out when n has that type, else 0. Strings are not
 * NUL-terminated in msgpack: always use the length. */
int rta_node_str(rta_node n, const char **s, size_t *len);
int rta_node_bin(rta_node n, const void **p, size_t *len);
int rta_node_int(rta_node n, int64_t *out); /* integers, and floats with an exact int64 value */
int rta_node_bool(rta_node n, int *out);
int rta_node_double(rta_node n, double *out); /* any number */

/* A string node copied into a fresh NUL-terminated heap string. Returns 0 and sets *out,
 * or 40001 (not a string, embedded NUL, longer than max_len) / 50000 (out of memory),
 * naming `field` in err->message. *out is unchanged on failure. */
int rta_node_strdup(rta_node n, size_t max_len, const char *field, char **out, rta_error *err);

/* ---- writing ------------------------------------------------------------------------- */

#define RTA_WRITER_MAX_DEPTH 32

typedef struct rta_writer {
    rta_format fmt;
    rta_buf *out;
    int depth;
    /* JSON: no comma needed before the next element; [0] is the top level, so up to
     * RTA_WRITER_MAX_DEPTH nested containers (the reader's default depth) fit. */
    uint8_t first[RTA_WRITER_MAX_DEPTH + 1];
    uint8_t after_key;                   /* JSON: the next value follows a key */
    int overflow;                        /* nesting deeper than RTA_WRITER_MAX_DEPTH */
} rta_writer;

void rta_writer_init(rta_writer *w, rta_format fmt, rta_buf *out);
/* 0 when everything was written, else 50000 (out of memory or nesting overflow). */
int rta_writer_status(const rta_writer *w);

void rta_w_map(rta_writer *w, size_t n);
void rta_w_map_end(rta_writer *w);
void rta_w_array(rta_writer *w, size_t n);
void rta_w_array_end(rta_writer *w);
void rta_w_key(rta_writer *w, const char *key);
void rta_w_str(rta_writer *w, const char *s);
void rta_w_strn(rta_writer *w, const char *s, size_t n);
void rta_w_int(rta_writer *w, int64_t v);
void rta_w_double(rta_writer *w, double v);
void rta_w_bool(rta_writer *w, int v);
void rta_w_nil(rta_writer *w);
/* Binary: msgpack bin; in JSON a base64 string (the caller adds encoding "base64"). */
void rta_w_bin(rta_writer *w, const void *p, size_t n);
/* Re-encodes a parsed node (any format) into this writer's format. */
void rta_w_node(rta_writer *w, rta_node n);

/* JSON string escaping exactly as JSON.stringify (used for canonical texts). Appends the
 * quoted string to out. s must be valid UTF-8. */
void rta_json_quote(rta_buf *out, const char *s, size_t n);

/* 1 when s[0..n) is valid UTF-8 with no surrogates and no overlong forms. */
int rta_utf8_valid(const char *s, size_t n);

#endif
