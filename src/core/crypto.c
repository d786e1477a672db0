/* crypto.c: OpenSSL-backed primitives; see crypto.h. */
#include "crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
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

struct rta_hmac {
    EVP_MAC_CTX *ctx;
};

rta_hmac *rta_hmac_new(const void *key, size_t key_len)
{
    rta_hmac *h = calloc(1, sizeof(*h));
    if (!h) return NULL;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac) h->ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    if (!h->ctx || !EVP_MAC_init(h->ctx, key, key_len, params)) {
        rta_hmac_free(h);
        return NULL;
    }
    return h;
}

int rta_hmac_compute(rta_hmac *h, const void *msg, size_t msg_len, unsigned char out[RTA_SHA256_LEN])
{
    size_t len = 0;
    /* A NULL key re-arms the context with the key it already holds. */
    if (!EVP_MAC_init(h->ctx, NULL, 0, NULL) || !EVP_MAC_update(h->ctx, msg, msg_len) ||
        !EVP_MAC_final(h->ctx, out, &len, RTA_SHA256_LEN) || len != RTA_SHA256_LEN)
        return RTA_ERR_INTERNAL;
    return 0;
}

void rta_hmac_free(rta_hmac *h)
{
    if (!h) return;
    EVP_MAC_CTX_free(h->ctx);
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
