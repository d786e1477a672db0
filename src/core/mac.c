/* mac.c: TokenRequest signing text and MAC; see mac.h. */
#include "mac.h"

#include <stdio.h>
#include <string.h>

#include "base64.h"

static void put_field(rta_buf *out, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char *dst = rta_buf_reserve(out, n + 1);
    if (!dst) return;
    if (n) memcpy(dst, s, n);
    dst[n] = '\n';
    rta_buf_commit(out, n + 1);
}

/* Decimal as JavaScript's String(n) writes an integer; 0 is written as "" (ably-js signs
 * `ttl || ''`). Hand-rolled: snprintf was a fifth of the signing time. */
static void put_int_field(rta_buf *out, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof(tmp);
    *--p = '\n';
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    while (u) *--p = (char)('0' + u % 10), u /= 10;
    if (v < 0) *--p = '-';
    rta_buf_append(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

void rta_token_request_sign_text(const rta_token_request *r, rta_buf *out)
{
    put_field(out, r->key_name);
    put_int_field(out, r->ttl); /* ably-js: `ttl || ''`, so 0 signs as empty */
    put_field(out, r->capability);
    put_field(out, r->client_id);
    put_int_field(out, r->timestamp);
    put_field(out, r->nonce);
}

/* The text is usually ~100 bytes: build it on the stack and only fall back to the heap for
 * large capabilities. */
static int mac_bytes(const rta_token_request *r, rta_hmac *h, unsigned char out[RTA_SHA256_LEN])
{
    char stack[1024];
    rta_buf text;
    rta_buf_init_borrowed(&text, stack, sizeof(stack));
    rta_token_request_sign_text(r, &text);
    int rc = text.oom ? RTA_ERR_INTERNAL : rta_hmac_compute(h, text.data, text.len, out);
    rta_buf_free(&text);
    return rc;
}

int rta_token_request_compute_mac(const rta_token_request *r, rta_hmac *h,
                                  char mac[RTA_MAC_B64_LEN + 1])
{
    unsigned char digest[RTA_SHA256_LEN];
    int rc = mac_bytes(r, h, digest);
    if (rc) return rc;
    rta_buf b64;
    rta_buf_init_borrowed(&b64, mac, RTA_MAC_B64_LEN + 1); /* exactly fits: never grows */
    rta_base64_encode(&b64, digest, sizeof(digest), RTA_BASE64_STD);
    return b64.oom ? RTA_ERR_INTERNAL : 0;
}

int rta_token_request_verify_mac(const rta_token_request *r, rta_hmac *h, rta_error *err)
{
    char expected[RTA_MAC_B64_LEN + 1];
    int rc = rta_token_request_compute_mac(r, h, expected);
    if (rc) return rta_error_set(err, rc, NULL);
    const char *got = r->mac ? r->mac : "";
    if (!rta_ct_equal(expected, RTA_MAC_B64_LEN, got, strlen(got)))
        return rta_error_set(err, RTA_ERR_INVALID_CREDENTIALS, "Invalid MAC in token request");
    return 0;
}
