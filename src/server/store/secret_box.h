/* store/secret_box.h: envelope encryption of the secrets kept at rest (API key secrets, server
 * secrets) under an operator's key-encryption key (KEK), so that a copy of the data
 * directory alone does not reveal them. Used by the SQLite store (store/sqlite*.c), which
 * rtauthd and the rtauth CLI share.
 *
 * Format (version "kek1"): AES-256-GCM with a fresh random 96-bit nonce per value and the
 * caller's AAD, which names the record the value belongs to (e.g. "key:appId.keyId"), so a
 * sealed value copied into another row fails to open. Binary form (BLOB columns):
 *   "kek1" (4 bytes) | nonce (12) | ciphertext (as long as the plaintext) | tag (16)
 * Text form (TEXT columns): "kek1:" base64url-without-padding(nonce | ciphertext | tag).
 * The version prefix tells a sealed value from a plaintext one: a plaintext server secret is
 * exactly 32 bytes (a sealed one 64), and a plaintext key secret never contains ':'.
 *
 * Ownership: a box owns a private copy of the KEK, wiped by rta_secret_box_free(); callers'
 * plaintext buffers stay theirs (wipe them with OPENSSL_cleanse). A box is read-only after
 * creation: one box may serve several threads at once.
 *
 * Error contract: 0 on success; 40003 for a KEK that cannot be loaded (file unreadable,
 * accessible to group/others, wrong length or not hex; both a file and a hex value given);
 * 50000 when a value does not open (wrong KEK, tampered or swapped value, bad format) or
 * OpenSSL fails. Messages name files, lengths and the caller's AAD, never KEK bytes,
 * plaintext, or ciphertext. On failure, output buffers hold no plaintext.
 *
 * Must never: reuse a nonce on purpose (each seal draws 12 bytes from the CSPRNG; at the
 * rate secrets are written, a collision is out of reach), return unauthenticated plaintext,
 * or log. */
#ifndef RTA_SERVER_SECRET_BOX_H
#define RTA_SERVER_SECRET_BOX_H

#include <stddef.h>

#include "rtauth/error.h"

#define RTA_KEK_LEN                32
#define RTA_SECRET_BOX_VERSION     "kek1" /* the first 4 bytes of every sealed value */
#define RTA_SECRET_BOX_VERSION_LEN 4
#define RTA_SECRET_BOX_NONCE_LEN   12
#define RTA_SECRET_BOX_TAG_LEN     16
/* Binary form: sealed length = plaintext length + overhead. */
#define RTA_SECRET_BOX_OVERHEAD                                                                    \
    (RTA_SECRET_BOX_VERSION_LEN + RTA_SECRET_BOX_NONCE_LEN + RTA_SECRET_BOX_TAG_LEN)
/* Text form of an n-byte plaintext: "kek1:" + base64url, plus the NUL. */
#define RTA_SECRET_BOX_TEXT_SIZE(n)                                                                \
    (RTA_SECRET_BOX_VERSION_LEN + 1 +                                                              \
     ((n) + RTA_SECRET_BOX_NONCE_LEN + RTA_SECRET_BOX_TAG_LEN + 2) / 3 * 4 + 1)

typedef struct rta_secret_box rta_secret_box;

/* A box for kek (copied). Returns 0 and *out, or 50000. */
int rta_secret_box_new(const unsigned char kek[RTA_KEK_LEN], rta_secret_box **out, rta_error *err);

/* The KEK from file (32 raw bytes, or 64 hex digits with optional trailing whitespace; the
 * file must be a regular file that group/others cannot access) or from hex (64 hex digits,
 * e.g. an environment variable). Neither given (NULL or ""): *out = NULL and 0, no KEK.
 * Both: 40003. what_hex names the source of hex in messages (e.g. "RTAUTHD_KEK"). */
int rta_secret_box_load(const char *file, const char *hex, const char *what_hex,
                        rta_secret_box **out, rta_error *err);

/* Wipes the KEK and frees. NULL is a no-op. */
void rta_secret_box_free(rta_secret_box *b);

/* Binary form: out receives n + RTA_SECRET_BOX_OVERHEAD bytes. */
int rta_secret_box_seal(const rta_secret_box *b, const char *aad, const void *plain, size_t n,
                        unsigned char *out, rta_error *err);
/* Opens n sealed bytes into out (n - RTA_SECRET_BOX_OVERHEAD bytes); 50000 if they are not
 * a sealed value made by this KEK with this aad. */
int rta_secret_box_open(const rta_secret_box *b, const char *aad, const unsigned char *sealed,
                        size_t n, unsigned char *out, rta_error *err);
/* 1 when p[0..n) has the binary form's prefix and room for nonce and tag. */
int rta_secret_box_is_sealed(const void *p, size_t n);

/* Text form: out (size >= RTA_SECRET_BOX_TEXT_SIZE(n)) receives the NUL-terminated text. */
int rta_secret_box_seal_text(const rta_secret_box *b, const char *aad, const void *plain, size_t n,
                             char *out, size_t size, rta_error *err);
/* Opens text into out (cap bytes) and sets *len; 50000 as rta_secret_box_open, or if the
 * plaintext would not fit. */
int rta_secret_box_open_text(const rta_secret_box *b, const char *aad, const char *text,
                             unsigned char *out, size_t cap, size_t *len, rta_error *err);
/* 1 when s starts with the text form's prefix "kek1:". */
int rta_secret_box_is_sealed_text(const char *s);

#endif
