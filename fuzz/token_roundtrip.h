/* token_roundtrip.h: the body shared by fuzz_token_json.c and fuzz_token_msgpack.c.
 *
 * Input: one selector byte (mod 5: params, request, details, revoke request, batch result),
 * then a body in the fuzzer's format. Whatever decodes must survive encoding into both
 * formats and decoding again unchanged, and encode to the same bytes the second time;
 * anything else is a bug and aborts. Sanitizers catch the memory errors and leaks.
 */
#ifndef RTA_FUZZ_TOKEN_ROUNDTRIP_H
#define RTA_FUZZ_TOKEN_ROUNDTRIP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/token_codec.h"

static int fz_streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int fz_params_eq(const rta_token_params *a, const rta_token_params *b)
{
    return a->ttl == b->ttl && a->timestamp == b->timestamp &&
           fz_streq(a->capability, b->capability) && fz_streq(a->client_id, b->client_id);
}

static int fz_request_eq(const rta_token_request *a, const rta_token_request *b)
{
    return a->ttl == b->ttl && a->timestamp == b->timestamp && fz_streq(a->key_name, b->key_name) &&
           fz_streq(a->capability, b->capability) && fz_streq(a->client_id, b->client_id) &&
           fz_streq(a->nonce, b->nonce) && fz_streq(a->mac, b->mac);
}

static int fz_details_eq(const rta_token_details *a, const rta_token_details *b)
{
    return a->issued == b->issued && a->expires == b->expires && fz_streq(a->token, b->token) &&
           fz_streq(a->key_name, b->key_name) && fz_streq(a->capability, b->capability) &&
           fz_streq(a->client_id, b->client_id);
}

static int fz_revoke_eq(const rta_revoke_request *a, const rta_revoke_request *b)
{
    if (a->target_count != b->target_count || a->issued_before != b->issued_before ||
        a->allow_reauth_margin != b->allow_reauth_margin)
        return 0;
    for (size_t i = 0; i < a->target_count; i++)
        if (!fz_streq(a->targets[i], b->targets[i])) return 0;
    return 1;
}

static int fz_batch_eq(const rta_revocation_batch *a, const rta_revocation_batch *b)
{
    if (a->success_count != b->success_count || a->failure_count != b->failure_count ||
        a->result_count != b->result_count)
        return 0;
    for (size_t i = 0; i < a->result_count; i++) {
        const rta_revocation_result *x = &a->results[i], *y = &b->results[i];
        if (!fz_streq(x->target, y->target) || x->failed != y->failed) return 0;
        if (x->failed
                ? (x->error_code != y->error_code || x->error_status_code != y->error_status_code ||
                   !fz_streq(x->error_message, y->error_message))
                : (x->issued_before != y->issued_before || x->applies_at != y->applies_at))
            return 0;
    }
    return 1;
}

/* For one type T: decode the input; on success, for each format encode, decode, compare,
 * encode again and compare the bytes. */
#define FZ_ROUNDTRIP(T, decode, encode, eq, clear)                                                 \
    do {                                                                                           \
        T first, again;                                                                            \
        rta_error err;                                                                             \
        if (decode(body, len, fmt, &first, &err) != 0) {                                           \
            if (err.code == 0) abort(); /* a failure must say why */                               \
            break;                                                                                 \
        }                                                                                          \
        for (int f = 0; f < 2; f++) {                                                              \
            rta_buf b1 = RTA_BUF_INIT, b2 = RTA_BUF_INIT;                                          \
            if (encode(&first, (rta_format)f, &b1) != 0) abort();                                  \
            if (decode(b1.data, b1.len, (rta_format)f, &again, &err) != 0) abort();                \
            if (!eq(&first, &again)) abort();                                                      \
            if (encode(&again, (rta_format)f, &b2) != 0) abort();                                  \
            if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) abort();                \
            clear(&again);                                                                         \
            rta_buf_free(&b1);                                                                     \
            rta_buf_free(&b2);                                                                     \
        }                                                                                          \
        clear(&first);                                                                             \
    } while (0)

static int rta_fuzz_token_roundtrip(const uint8_t *data, size_t size, rta_format fmt)
{
    if (size < 1) return 0;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    switch (data[0] % 5) {
    case 0:
        FZ_ROUNDTRIP(rta_token_params, rta_token_params_decode, rta_token_params_encode,
                     fz_params_eq, rta_token_params_clear);
        break;
    case 1:
        FZ_ROUNDTRIP(rta_token_request, rta_token_request_decode, rta_token_request_encode,
                     fz_request_eq, rta_token_request_clear);
        break;
    case 2:
        FZ_ROUNDTRIP(rta_token_details, rta_token_details_decode, rta_token_details_encode,
                     fz_details_eq, rta_token_details_clear);
        break;
    case 3:
        FZ_ROUNDTRIP(rta_revoke_request, rta_revoke_request_decode, rta_revoke_request_encode,
                     fz_revoke_eq, rta_revoke_request_clear);
        break;
    default:
        FZ_ROUNDTRIP(rta_revocation_batch, rta_revocation_batch_decode, rta_revocation_batch_encode,
                     fz_batch_eq, rta_revocation_batch_clear);
        break;
    }
    return 0;
}

#endif
