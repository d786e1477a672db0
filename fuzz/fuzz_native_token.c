/* fuzz_native_token.c: rtauth token verification on arbitrary input.
 * First byte even: the input is a token string, verified as received (the shape checks and
 * the tag check). First byte odd: the rest is an arbitrary *body*, which the harness signs
 * with the fuzzing keyring's secret so that the decoder behind the tag check is reached too;
 * a body that decodes must re-mint to a token that verifies to the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/native_token.h"

static rta_keyring ring;

static void forge_and_verify(const uint8_t *body, size_t n)
{
    /* tag = HMAC(secret, "app." body)[0..16), exactly as the minter computes it */
    rta_buf msg = RTA_BUF_INIT;
    rta_buf_puts(&msg, "app.");
    rta_buf_append(&msg, body, n);
    unsigned char tag[RTA_SHA256_LEN];
    rta_hmac_sha256("fuzz-secret", 11, msg.data, msg.len, tag);
    rta_buf_free(&msg);
    rta_buf raw = RTA_BUF_INIT;
    rta_buf_append(&raw, body, n);
    rta_buf_append(&raw, tag, RTA_TOKEN_TAG_LEN);
    rta_buf tok = RTA_BUF_INIT;
    rta_buf_puts(&tok, "app.");
    rta_base64_encode(&tok, raw.data, raw.len, RTA_BASE64_URL);
    rta_native_token t;
    if (rta_native_token_verify(tok.data, tok.len, &ring, &t, NULL) == 0) {
        rta_buf again = RTA_BUF_INIT;
        if (rta_native_token_mint(&t, &ring, &again) == 0) {
            rta_native_token u;
            if (rta_native_token_verify(again.data, again.len, &ring, &u, NULL) != 0) abort();
            if (strcmp(t.key_name, u.key_name) || strcmp(t.capability, u.capability) ||
                t.issued != u.issued || t.expires != u.expires ||
                !t.client_id != !u.client_id || (t.client_id && strcmp(t.client_id, u.client_id)))
                abort();
            rta_native_token_clear(&u);
        }
        rta_buf_free(&again);
        rta_native_token_clear(&t);
    }
    rta_buf_free(&raw);
    rta_buf_free(&tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ring.count) rta_keyring_add(&ring, 1, "fuzz-secret", 11);
    if (size < 1) return 0;
    if (data[0] & 1) {
        /* pin the secret id to 1 so the body can verify */
        if (size >= 6) {
            uint8_t *body = malloc(size - 1);
            memcpy(body, data + 1, size - 1);
            body[1] = body[2] = body[3] = 0, body[4] = 1;
            forge_and_verify(body, size - 1);
            free(body);
        }
        return 0;
    }
    rta_native_token t;
    if (rta_native_token_verify((const char *)data + 1, size - 1, &ring, &t, NULL) == 0)
        rta_native_token_clear(&t);
    return 0;
}
