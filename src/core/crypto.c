/* crypto.c: OpenSSL-backed primitives; see crypto.h. */
#include "crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "rtauth/error.h"

int rta_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    unsigned char out[RTA_SHA256_LEN])
{
    unsigned int len = RTA_SHA256_LEN;
    /* One-shot HMAC(): a static key per call, no context to manage. */
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &len)) return RTA_ERR_INTERNAL;
    return 0;
}

int rta_random_bytes(void *p, size_t n)
{
    return RAND_bytes(p, (int)n) == 1 ? 0 : RTA_ERR_INTERNAL;
}

int rta_ct_equal(const void *a, size_t an, const void *b, size_t bn)
{
    if (an != bn) return 0; /* lengths are public (a MAC is always 44 base64 characters) */
    return CRYPTO_memcmp(a, b, an) == 0;
}
