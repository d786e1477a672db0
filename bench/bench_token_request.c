/* bench_token_request.c: the core of createTokenRequest against a bare HMAC-SHA256 of the
 * same signing text, side by side in one process (issue 2's benchmark; scripts/bench adds
 * ably-js for the third column).
 *
 * Each round times N calls of every contender in turn, so machine noise hits all of them
 * alike; the figure reported is the median per-call time over the rounds.
 *   bare_hmac      OpenSSL's HMAC-SHA256 through EVP_MAC, keyed once and re-armed per message:
 *                  the fastest non-deprecated OpenSSL HMAC call, the "bare HMAC"
 *   hmac_midstate  rta_hmac_compute(): the HMAC the signer itself uses (precomputed SHA-256
 *                  midstates), the true floor of sign()
 *   sign           rta_token_signer_sign(): nonce, timestamp, canonical capability (memoised,
 *                  as an application signs the same capability again and again), MAC,
 *                  and the owned TokenRequest strings, then rta_token_request_clear()
 *   sign_uncached  the same with two capabilities alternating, defeating the memo: the cost
 *                  of canonicalising every time
 * Usage: bench_token_request [N] [ROUNDS]
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/crypto.h"
#include "core/key.h"
#include "core/mac.h"
#include "core/token_signer.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return v[n / 2];
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#define MAX_ROUNDS 64

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (n <= 0 || rounds <= 0 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: bench_token_request [N] [ROUNDS<=%d]\n", MAX_ROUNDS);
        return 2;
    }
    const char *key_str = "appId.keyId:secretValue";
    rta_key key;
    if (rta_key_parse(key_str, strlen(key_str), &key, NULL)) return 1;
    rta_token_signer *signer = rta_token_signer_new(&key);
    rta_hmac *hmac = rta_hmac_new(key.secret, key.secret_len);
    rta_token_params params = {.ttl = 3600000,
                               .capability = "{\"chan2\":[\"subscribe\",\"publish\"],\"*\":[\"*\"]}",
                               .client_id = "alice"};
    const char *caps[2] = {params.capability, "{\"chan3\":[\"presence\",\"publish\"],\"*\":[\"*\"]}"};

    /* The signing text the bare HMAC hashes: exactly what sign() signs. */
    rta_token_request sample;
    rta_error err;
    if (rta_token_signer_sign(signer, &params, now_ms(), &sample, &err)) {
        fprintf(stderr, "sign failed: %s\n", err.message);
        return 1;
    }
    rta_buf text = RTA_BUF_INIT;
    rta_token_request_sign_text(&sample, &text);
    printf("signing text: %zu bytes; sample mac %s nonce %s capability %s\n", text.len, sample.mac,
           sample.nonce, sample.capability);
    rta_token_request_clear(&sample);

    EVP_MAC *evp = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(evp);
    OSSL_PARAM mp[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
                       OSSL_PARAM_construct_end()};
    EVP_MAC_init(ctx, (const unsigned char *)key.secret, key.secret_len, mp);
    double t_hmac[MAX_ROUNDS], t_mid[MAX_ROUNDS], t_sign[MAX_ROUNDS], t_uncached[MAX_ROUNDS];
    unsigned char digest[RTA_SHA256_LEN];
    unsigned sink = 0;
    for (int r = 0; r < rounds; r++) {
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            size_t len;
            EVP_MAC_init(ctx, NULL, 0, NULL);
            EVP_MAC_update(ctx, (const unsigned char *)text.data, text.len);
            EVP_MAC_final(ctx, digest, &len, sizeof(digest));
            sink += digest[0];
        }
        t_hmac[r] = (now_s() - t0) / n * 1e6;

        t0 = now_s();
        for (int i = 0; i < n; i++) {
            rta_hmac_compute(hmac, text.data, text.len, digest);
            sink += digest[0];
        }
        t_mid[r] = (now_s() - t0) / n * 1e6;

        t0 = now_s();
        for (int i = 0; i < n; i++) {
            rta_token_request out;
            if (rta_token_signer_sign(signer, &params, now_ms(), &out, &err)) return 1;
            sink += (unsigned char)out.mac[0];
            rta_token_request_clear(&out);
        }
        t_sign[r] = (now_s() - t0) / n * 1e6;

        t0 = now_s();
        for (int i = 0; i < n; i++) {
            rta_token_request out;
            params.capability = (char *)caps[i & 1];
            if (rta_token_signer_sign(signer, &params, now_ms(), &out, &err)) return 1;
            sink += (unsigned char)out.mac[0];
            rta_token_request_clear(&out);
        }
        params.capability = (char *)caps[0];
        t_uncached[r] = (now_s() - t0) / n * 1e6;
    }
    printf("method: %d rounds x %d calls each, contenders interleaved per round; medians\n",
           rounds, n);
    printf("bare_hmac_us %.4f\nhmac_midstate_us %.4f\nsign_us %.4f\nsign_uncached_us %.4f\n"
           "(sink %u)\n",
           median(t_hmac, rounds), median(t_mid, rounds), median(t_sign, rounds),
           median(t_uncached, rounds), sink);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(evp);
    rta_buf_free(&text);
    rta_hmac_free(hmac);
    rta_token_signer_free(signer);
    rta_key_wipe(&key);
    return 0;
}
