/* token_codec.h: JSON and msgpack encode/decode of the token types, with Ably's field names.
 *
 * Wire shapes (docs/wire-protocol.md 4.2, 4.4; auth-spec-checklist B3):
 *   TokenParams   {ttl?, capability?, clientId?, timestamp?}             (capability: string)
 *   TokenRequest  {keyName, ttl?, capability?, clientId?, timestamp, nonce, mac}
 *   TokenDetails  {token, keyName?, issued, expires, capability?, clientId?}
 *   RevokeRequest {targets: ["type:value", ...], issuedBefore?, allowReauthMargin?}
 *   BatchResult   {successCount, failureCount, results: [
 *                    {target, issuedBefore, appliesAt} | {target, error: ErrorInfo}]}
 * Absent fields are not written (an anonymous TokenDetails has no clientId key at all).
 *
 * Decoding is strict about types and lenient about extra fields (ignored, as Ably is):
 *   - numbers must be integers (a float with an integral value is accepted, as JavaScript
 *     has one number type); `ttl` may also arrive as a string of decimal digits, which is
 *     what ably-js signs when the app passes ttl as a string; any other string -> 40003;
 *   - capability must be a string (TE3, TD5): the exact text that was signed; it is not
 *     parsed here (the token service validates it with capability.h);
 *   - strings must be valid UTF-8 without NUL; lengths are bounded (below);
 *   - null is treated as absent;
 *   - a wrong type is 40001 (40003 for ttl/timestamp/issuedBefore values out of range),
 *     with a message naming the field.
 * `rta_*_decode_node` variants read from an already parsed node (embedded objects, e.g. an
 * authUrl reply or a JWT claim set); the plain ones parse a whole body first.
 */
#ifndef RTA_CORE_TOKEN_CODEC_H
#define RTA_CORE_TOKEN_CODEC_H

#include "codec.h"
#include "rtauth/token.h"

#define RTA_MAX_KEY_NAME_LEN 256
#define RTA_MAX_CLIENT_ID_LEN 1024
#define RTA_MAX_NONCE_LEN 256
#define RTA_MAX_MAC_LEN 128
#define RTA_MAX_TOKEN_LEN (128 * 1024) /* RSA4f */
#define RTA_MAX_REVOCATION_TARGETS 100 /* S-67 */
#define RTA_MAX_TARGET_LEN 2048

/* Encoders append to out in fmt; they return 0 or 50000 (out of memory). */
int rta_token_params_encode(const rta_token_params *p, rta_format fmt, rta_buf *out);
int rta_token_request_encode(const rta_token_request *r, rta_format fmt, rta_buf *out);
int rta_token_details_encode(const rta_token_details *d, rta_format fmt, rta_buf *out);
/* The body of POST /keys/{keyName}/revokeTokens (RSA17b, RSA17e, RSA17f), as the wire has it.
 * Private: applications describe a revocation with rta_revocation_target and
 * rta_revoke_options (rtauth/auth.h); the SDK builds this from them and the server decodes
 * it (issue 15: one public revocation type, not two). */
typedef struct rta_revoke_request {
    char **targets; /* "type:value" strings */
    size_t target_count;
    int64_t issued_before;   /* ms; 0 = absent (server uses now) */
    int allow_reauth_margin; /* -1 absent, 0 false, 1 true */
} rta_revoke_request;

void rta_revoke_request_clear(rta_revoke_request *r);

int rta_revoke_request_encode(const rta_revoke_request *r, rta_format fmt, rta_buf *out);
int rta_revocation_batch_encode(const rta_revocation_batch *b, rta_format fmt, rta_buf *out);
/* Writer-level forms, for embedding in a larger document. */
void rta_token_details_write(const rta_token_details *d, rta_writer *w);
void rta_token_request_write(const rta_token_request *r, rta_writer *w);

/* Decoders fill *out (caller clears it) and return 0, or an Ably code with err filled.
 * On failure *out holds nothing (already cleared). */
int rta_token_params_decode(const void *data, size_t len, rta_format fmt, rta_token_params *out,
                            rta_error *err);
int rta_token_request_decode(const void *data, size_t len, rta_format fmt,
                             rta_token_request *out, rta_error *err);
int rta_token_details_decode(const void *data, size_t len, rta_format fmt,
                             rta_token_details *out, rta_error *err);
int rta_revoke_request_decode(const void *data, size_t len, rta_format fmt,
                              rta_revoke_request *out, rta_error *err);
int rta_revocation_batch_decode(const void *data, size_t len, rta_format fmt,
                                rta_revocation_batch *out, rta_error *err);

int rta_token_params_decode_node(rta_node n, rta_token_params *out, rta_error *err);
int rta_token_request_decode_node(rta_node n, rta_token_request *out, rta_error *err);
int rta_token_details_decode_node(rta_node n, rta_token_details *out, rta_error *err);

#endif
