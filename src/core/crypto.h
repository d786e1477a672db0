/* crypto.h: the few primitives rtauth needs from OpenSSL, behind names that say what they
 * guarantee: HMAC-SHA256 (one-shot, or with a key set up once), a CSPRNG, and constant-time
 * comparison.
 *
 * Why a keyed HMAC object: OpenSSL 3's one-shot HMAC() fetches the algorithm and derives
 * the key pads on every call (about 2.5 us here); an EVP_MAC_CTX keyed once and re-armed per
 * message costs about 0.4 us; rta_hmac keeps the SHA-256 midstates of the padded key and
 * costs about 0.2 us for a 109-byte TokenRequest. createTokenRequest and token verification
 * sign with the same key again and again, so they keep an rta_hmac per key.
 */
#ifndef RTA_CORE_CRYPTO_H
#define RTA_CORE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define RTA_SHA256_LEN 32

/* out = HMAC-SHA256(key, msg). Returns 0, or 50000 if OpenSSL fails. */
int rta_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    unsigned char out[RTA_SHA256_LEN]);

/* A key prepared for repeated HMAC-SHA256. Not thread-safe: one per thread, or guarded. */
typedef struct rta_hmac rta_hmac;

/* Returns NULL on allocation failure. The key bytes are copied into OpenSSL's context. */
rta_hmac *rta_hmac_new(const void *key, size_t key_len);
int rta_hmac_compute(rta_hmac *h, const void *msg, size_t msg_len, unsigned char out[RTA_SHA256_LEN]);
void rta_hmac_free(rta_hmac *h);

/* Fills p with n bytes from OpenSSL's CSPRNG. Returns 0, or 50000 if it is not seeded.
 * Small requests are served from a per-thread pool refilled 4 KiB at a time (one RAND_bytes
 * call costs ~0.9 us whatever its size up to a few KiB); the pool is discarded in a forked
 * child so parent and child never share bytes. */
int rta_random_bytes(void *p, size_t n);

/* 1 when a[0..an) equals b[0..bn). Time depends only on the lengths, never on the content
 * (MACs, secrets, signatures). */
int rta_ct_equal(const void *a, size_t an, const void *b, size_t bn);

#endif
