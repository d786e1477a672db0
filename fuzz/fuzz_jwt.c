/* fuzz_jwt.c: libFuzzer target for the JWT parser and verifier (src/core/jwt.c).
 *
 * Every input is parsed; a parsed JWT is verified with a fixed secret at a fixed time and
 * must give one of the documented codes. Invariants checked (abort on violation):
 *   - whatever parses also passes rta_jwt_looks_like (routing never hides a JWT);
 *   - for about one input in four that parses, re-signing its claims gives a JWT that
 *     parses back with the same kid, iat, exp and optional claims, whose signature verifies
 *     and whose time verdict matches the original's.
 * The seeds in fuzz/corpus/jwt/ are signed with FUZZ_SECRET and valid at FUZZ_NOW_MS, so the
 * verify success path is reached too.
 *
 * Mutating base64 rarely yields new JSON, so an input holding a NUL byte is also read as
 * "<header JSON>\0<payload JSON>": both are base64url-encoded and signed with FUZZ_SECRET,
 * and the resulting JWT goes through the same checks. That puts the claim checks (types,
 * duplicates, numbers, escapes) directly under the fuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/crypto.h"
#include "core/jwt.h"

#define FUZZ_SECRET "fuzz-secret"
#define FUZZ_NOW_MS 1700000010000LL

static int same_opt(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcmp(a, b) == 0;
}

static void resign_round_trip(const rta_jwt *j, int verdict)
{
    rta_jwt_claims c = {
        j->kid, j->iat, j->exp, j->capability, j->client_id, j->revocation_key, j->embedded_token};
    rta_buf out = RTA_BUF_INIT;
    if (rta_jwt_sign(&c, FUZZ_SECRET, strlen(FUZZ_SECRET), &out)) abort();
    rta_jwt back;
    rta_error err;
    /* A re-signed token can exceed RTA_JWT_MAX_LEN only if the input nearly did (the new
     * header adds "typ", and escapes may be spelled longer); that is a length refusal, not a
     * round-trip failure. */
    int rc = rta_jwt_parse(out.data, out.len, &back, &err);
    if (rc) {
        if (!(rc == RTA_ERR_INVALID_JWT && out.len > RTA_JWT_MAX_LEN)) abort();
        rta_buf_free(&out);
        return;
    }
    if (strcmp(back.kid, j->kid) != 0 || back.iat != j->iat || back.exp != j->exp) abort();
    if (!same_opt(back.capability, j->capability) || !same_opt(back.client_id, j->client_id) ||
        !same_opt(back.revocation_key, j->revocation_key) ||
        !same_opt(back.embedded_token, j->embedded_token))
        abort();
    /* Same claims, same secret, same clock: the same verdict as the original, except that a
     * signature mismatch on the original says nothing about the times. */
    rc = rta_jwt_verify(&back, FUZZ_SECRET, strlen(FUZZ_SECRET), FUZZ_NOW_MS, &err);
    if (rc == RTA_ERR_INVALID_CREDENTIALS) abort();
    if (verdict != RTA_ERR_INVALID_CREDENTIALS && rc != verdict) abort();
    rta_jwt_clear(&back);
    rta_buf_free(&out);
}

static void check_one(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int looks = rta_jwt_looks_like(s, size);
    rta_jwt j;
    rta_error err;
    int rc = rta_jwt_parse(s, size, &j, &err);
    if (rc) {
        if (rc != RTA_ERR_INVALID_JWT || j.kid || j.signing_input) abort();
        return;
    }
    if (!looks) abort();
    rc = rta_jwt_verify(&j, FUZZ_SECRET, strlen(FUZZ_SECRET), FUZZ_NOW_MS, &err);
    if (rc != 0 && rc != RTA_ERR_INVALID_CREDENTIALS && rc != RTA_ERR_TOKEN_EXPIRED &&
        rc != RTA_ERR_INVALID_JWT)
        abort();

    unsigned sum = 0;
    for (size_t i = 0; i < size; i++)
        sum += data[i];
    if (sum % 4 == 0) resign_round_trip(&j, rc);
    rta_jwt_clear(&j);
}

/* Builds base64url(header).base64url(payload).HS256 from the two raw parts. */
static void check_signed_json(const uint8_t *header, size_t h_len, const uint8_t *payload,
                              size_t p_len)
{
    rta_buf t = RTA_BUF_INIT;
    rta_base64_encode(&t, header, h_len, RTA_BASE64_URL);
    rta_buf_putc(&t, '.');
    rta_base64_encode(&t, payload, p_len, RTA_BASE64_URL);
    unsigned char mac[RTA_SHA256_LEN];
    if (t.oom || rta_hmac_sha256(FUZZ_SECRET, strlen(FUZZ_SECRET), t.data, t.len, mac)) abort();
    rta_buf_putc(&t, '.');
    rta_base64_encode(&t, mac, sizeof(mac), RTA_BASE64_URL);
    if (t.oom) abort();
    check_one((const uint8_t *)t.data, t.len);
    rta_buf_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_one(data, size);
    const uint8_t *nul = memchr(data, 0, size);
    if (nul)
        check_signed_json(data, (size_t)(nul - data), nul + 1, size - (size_t)(nul - data) - 1);
    return 0;
}
