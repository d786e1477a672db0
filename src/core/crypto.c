/* crypto.c: OpenSSL-backed primitives; see crypto.h. */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_* midstates, see rta_hmac below */
#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rtauth/error.h"

int rta_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    unsigned char out[RTA_SHA256_LEN])
{
    unsigned int len = RTA_SHA256_LEN;
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &len)) return RTA_ERR_INTERNAL;
    return 0;
}

/* HMAC with precomputed midstates (RFC 2104): the SHA-256 states after absorbing
 * key^ipad and key^opad are computed once per key; each message then costs only its own
 * blocks plus one outer block, with no allocation and no EVP dispatch. OpenSSL 3 marks the
 * SHA256_* functions deprecated in favour of EVP, whose per-call overhead is what this
 * avoids; they remain supported, so the deprecation warning is silenced for this file. */
struct rta_hmac {
    SHA256_CTX inner;
    SHA256_CTX outer;
};

rta_hmac *rta_hmac_new(const void *key, size_t key_len)
{
    rta_hmac *h = calloc(1, sizeof(*h));
    if (!h) return NULL;
    unsigned char k[SHA256_CBLOCK] = {0}, pad[SHA256_CBLOCK];
    if (key_len > SHA256_CBLOCK)
        SHA256(key, key_len, k); /* long keys are hashed first */
    else if (key_len)
        memcpy(k, key, key_len);
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = k[i] ^ 0x36;
    SHA256_Init(&h->inner);
    SHA256_Update(&h->inner, pad, sizeof(pad));
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = k[i] ^ 0x5c;
    SHA256_Init(&h->outer);
    SHA256_Update(&h->outer, pad, sizeof(pad));
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    return h;
}

int rta_hmac_compute(rta_hmac *h, const void *msg, size_t msg_len, unsigned char out[RTA_SHA256_LEN])
{
    SHA256_CTX c = h->inner;
    unsigned char inner[RTA_SHA256_LEN];
    if (!SHA256_Update(&c, msg, msg_len) || !SHA256_Final(inner, &c)) return RTA_ERR_INTERNAL;
    c = h->outer;
    if (!SHA256_Update(&c, inner, sizeof(inner)) || !SHA256_Final(out, &c)) return RTA_ERR_INTERNAL;
    OPENSSL_cleanse(&c, sizeof(c));
    return 0;
}

void rta_hmac_free(rta_hmac *h)
{
    if (!h) return;
    OPENSSL_cleanse(h, sizeof(*h));
    free(h);
}

/* ---- CSPRNG pool ----------------------------------------------------------------------- */

#define POOL_SIZE 4096
#define POOL_MAX_REQUEST 256 /* larger requests go straight to RAND_bytes */

static _Thread_local struct {
    unsigned char bytes[POOL_SIZE];
    size_t left; /* unused bytes at the end of `bytes` */
    unsigned generation;
} pool;

static unsigned fork_generation = 1; /* bumped in every forked child */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    __atomic_add_fetch(&fork_generation, 1, __ATOMIC_RELAXED);
}

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

int rta_random_bytes(void *p, size_t n)
{
    if (n > POOL_MAX_REQUEST) return RAND_bytes(p, (int)n) == 1 ? 0 : RTA_ERR_INTERNAL;
    pthread_once(&atfork_once, install_atfork);
    unsigned gen = __atomic_load_n(&fork_generation, __ATOMIC_RELAXED);
    if (pool.generation != gen || pool.left < n) {
        if (RAND_bytes(pool.bytes, POOL_SIZE) != 1) return RTA_ERR_INTERNAL;
        pool.left = POOL_SIZE;
        pool.generation = gen;
    }
    unsigned char *src = pool.bytes + POOL_SIZE - pool.left;
    memcpy(p, src, n);
    OPENSSL_cleanse(src, n); /* a byte handed out once is never kept */
    pool.left -= n;
    return 0;
}

int rta_ct_equal(const void *a, size_t an, const void *b, size_t bn)
{
    if (an != bn) return 0; /* lengths are public (a MAC is always 44 base64 characters) */
    return CRYPTO_memcmp(a, b, an) == 0;
}
