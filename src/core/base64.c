/* base64.c: strict RFC 4648 base64; see base64.h. */
#include "base64.h"

#include <stdint.h>

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t rta_base64_encoded_len(size_t n, rta_base64_variant v)
{
    if (v == RTA_BASE64_STD) return (n + 2) / 3 * 4;
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void rta_base64_encode(rta_buf *out, const void *src, size_t n, rta_base64_variant v)
{
    const unsigned char *p = src;
    const char *a = v == RTA_BASE64_STD ? std_alphabet : url_alphabet;
    char *dst = rta_buf_reserve(out, rta_base64_encoded_len(n, v));
    if (!dst) return;
    char *d = dst;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t x = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *d++ = a[x >> 18], *d++ = a[(x >> 12) & 63], *d++ = a[(x >> 6) & 63], *d++ = a[x & 63];
    }
    if (n - i == 1) {
        uint32_t x = (uint32_t)p[i] << 16;
        *d++ = a[x >> 18], *d++ = a[(x >> 12) & 63];
        if (v == RTA_BASE64_STD) *d++ = '=', *d++ = '=';
    } else if (n - i == 2) {
        uint32_t x = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *d++ = a[x >> 18], *d++ = a[(x >> 12) & 63], *d++ = a[(x >> 6) & 63];
        if (v == RTA_BASE64_STD) *d++ = '=';
    }
    rta_buf_commit(out, (size_t)(d - dst));
}

static int sextet(char c, rta_base64_variant v)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (v == RTA_BASE64_STD) return c == '+' ? 62 : c == '/' ? 63 : -1;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

long rta_base64_decode(const char *s, size_t n, void *dst, rta_base64_variant v)
{
    unsigned char *out = dst;
    size_t pad = 0;
    if (v == RTA_BASE64_STD) {
        if (n % 4) return -1;
        while (pad < 2 && n > pad && s[n - 1 - pad] == '=') pad++;
        n -= pad;
    } else if (n % 4 == 1) {
        return -1;
    }
    if (v == RTA_BASE64_STD && pad && (n + pad) % 4) return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int x = sextet(s[i], v);
        if (x < 0) return -1;
        acc = (acc << 6) | (uint32_t)x;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) return -1; /* non-canonical: leftover bits must be zero */
    if (v == RTA_BASE64_STD && pad != (4 - n % 4) % 4) return -1;
    return (long)o;
}
