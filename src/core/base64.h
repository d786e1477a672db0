/* base64.h: RFC 4648 base64, standard (MACs, Basic auth, Bearer) and URL-safe without
 * padding (JWT segments, our token strings). Decoding is strict: no whitespace, no stray
 * characters, canonical padding and trailing bits, so one value has exactly one encoding. */
#ifndef RTA_CORE_BASE64_H
#define RTA_CORE_BASE64_H

#include <stddef.h>

#include "buf.h"

typedef enum {
    RTA_BASE64_STD = 0, /* + / and = padding */
    RTA_BASE64_URL = 1, /* - _ and no padding */
} rta_base64_variant;

/* Appends the encoding of p[0..n) to out. */
void rta_base64_encode(rta_buf *out, const void *p, size_t n, rta_base64_variant v);

/* Encoded length (without NUL) of n bytes. */
size_t rta_base64_encoded_len(size_t n, rta_base64_variant v);

/* Decodes s[0..n) into dst (room for rta_base64_decoded_max(n) bytes). Returns the decoded
 * length, or -1 if s is not a valid, canonical encoding in that variant. */
long rta_base64_decode(const char *s, size_t n, void *dst, rta_base64_variant v);

static inline size_t rta_base64_decoded_max(size_t n)
{
    return n / 4 * 3 + 3;
}

#endif
