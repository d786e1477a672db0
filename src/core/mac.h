/* mac.h: the TokenRequest MAC (spec RSA9g; Ably docs api/token-request-spec#hmac; checklist
 * S-19 and the MAC recipe in A5).
 *
 * Signing text: keyName LF ttl LF capability LF clientId LF timestamp LF nonce LF, every field
 * followed by LF including the last, absent fields (NULL, or 0 for ttl) as empty strings,
 * integers in plain decimal. mac = standard padded base64 of HMAC-SHA256(secret, text).
 * The server rebuilds the text from the fields as received (capability exactly as sent,
 * never re-canonicalised) and compares MACs in constant time.
 */
#ifndef RTA_CORE_MAC_H
#define RTA_CORE_MAC_H

#include "buf.h"
#include "crypto.h"
#include "rtauth/error.h"
#include "rtauth/token.h"

#define RTA_MAC_B64_LEN 44 /* base64 of 32 bytes, padded */

/* Appends r's signing text to out. */
void rta_token_request_sign_text(const rta_token_request *r, rta_buf *out);

/* Writes the NUL-terminated base64 MAC of r under the prepared key h. Returns 0 or 50000. */
int rta_token_request_compute_mac(const rta_token_request *r, rta_hmac *h,
                                  char mac[RTA_MAC_B64_LEN + 1]);

/* 0 when r->mac is the MAC of r under h, else 40101 "Invalid MAC" (status 401). The
 * comparison takes the same time wherever the MACs differ. */
int rta_token_request_verify_mac(const rta_token_request *r, rta_hmac *h, rta_error *err);

#endif
