/* crypto.h: the few primitives rtauth needs from OpenSSL, behind names that say what they
 * guarantee: HMAC-SHA256, a CSPRNG, and constant-time comparison. */
#ifndef RTA_CORE_CRYPTO_H
#define RTA_CORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define RTA_SHA256_LEN 32

/* out = HMAC-SHA256(key, msg). Returns 0, or 50000 if OpenSSL fails. */
int rta_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    unsigned char out[RTA_SHA256_LEN]);

/* Fills p with n bytes from OpenSSL's CSPRNG. Returns 0, or 50000 if it is not seeded. */
int rta_random_bytes(void *p, size_t n);

/* 1 when a[0..an) equals b[0..bn). Time depends only on the lengths, never on the content
 * (MACs, secrets, signatures). */
int rta_ct_equal(const void *a, size_t an, const void *b, size_t bn);

#endif
