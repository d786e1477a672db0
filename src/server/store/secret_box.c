/* store/secret_box.c: AES-256-GCM envelopes under the KEK, and loading the KEK; see store/secret_box.h.
 * Never logs, never puts key bytes, plaintext or ciphertext in a message, and wipes every
 * buffer that held plaintext or KEK bytes. */
#include "server/store/secret_box.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/crypto.h"

struct rta_secret_box {
    unsigned char kek[RTA_KEK_LEN];
    EVP_CIPHER *cipher; /* fetched once; EVP_CIPHER objects may be shared between threads */
};

int rta_secret_box_new(const unsigned char kek[RTA_KEK_LEN], rta_secret_box **out, rta_error *err)
{
    *out = NULL;
    rta_secret_box *b = calloc(1, sizeof(*b));
    if (!b) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    b->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (!b->cipher) {
        free(b);
        ERR_clear_error();
        return rta_error_set(err, RTA_ERR_INTERNAL, "AES-256-GCM is not available");
    }
    memcpy(b->kek, kek, RTA_KEK_LEN);
    *out = b;
    return 0;
}

void rta_secret_box_free(rta_secret_box *b)
{
    if (!b) return;
    OPENSSL_cleanse(b->kek, sizeof(b->kek));
    EVP_CIPHER_free(b->cipher);
    free(b);
}

/* ---- loading the KEK -------------------------------------------------------------------- */

static int hex_value(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* s[0..n) must be exactly 2 * RTA_KEK_LEN hex digits. Returns 0 or -1. */
static int from_hex(const char *s, size_t n, unsigned char kek[RTA_KEK_LEN])
{
    if (n != 2 * RTA_KEK_LEN) return -1;
    for (size_t i = 0; i < RTA_KEK_LEN; i++) {
        int hi = hex_value((unsigned char)s[2 * i]), lo = hex_value((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        kek[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Reads the KEK file: a regular file nobody but its owner may access (the check is on the
 * open descriptor, so the file checked is the file read). */
static int read_kek_file(const char *path, unsigned char kek[RTA_KEK_LEN], rta_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Cannot open the KEK file %s: %s",
                             path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Cannot stat the KEK file %s: %s", path,
                           strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "The KEK file %s is not a regular file",
                           path);
    else if (st.st_mode & 077)
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                           "The KEK file %s is mode %04o: group/others can access it; make it "
                           "owner-only (chmod 600 %s)",
                           path, (unsigned)(st.st_mode & 07777), path);
    /* Room for 64 hex digits, a line end and one byte more, to tell "too long". */
    char buf[2 * RTA_KEK_LEN + 4];
    size_t n = 0;
    while (rc == 0 && n < sizeof(buf)) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Cannot read the KEK file %s: %s",
                               path, strerror(errno));
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (rc == 0) {
        if (n == RTA_KEK_LEN) {
            memcpy(kek, buf, RTA_KEK_LEN); /* raw bytes */
        } else {
            size_t len = n;
            while (len > 0 && isspace((unsigned char)buf[len - 1]))
                len--;
            if (from_hex(buf, len, kek) != 0)
                rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                   "The KEK file %s must hold %d random bytes or %d hexadecimal "
                                   "digits (it holds %zu bytes)",
                                   path, RTA_KEK_LEN, 2 * RTA_KEK_LEN, n);
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

int rta_secret_box_load(const char *file, const char *hex, const char *what_hex,
                        rta_secret_box **out, rta_error *err)
{
    *out = NULL;
    int have_file = file && *file, have_hex = hex && *hex;
    if (!have_file && !have_hex) return 0;
    if (have_file && have_hex)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "Give the KEK once: a KEK file and %s are both set", what_hex);
    unsigned char kek[RTA_KEK_LEN];
    int rc = 0;
    if (have_file) {
        rc = read_kek_file(file, kek, err);
    } else {
        size_t n = strlen(hex);
        while (n > 0 && isspace((unsigned char)hex[n - 1]))
            n--;
        if (from_hex(hex, n, kek) != 0)
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                               "%s must be %d hexadecimal digits (it has %zu characters)", what_hex,
                               2 * RTA_KEK_LEN, n);
    }
    if (rc == 0) rc = rta_secret_box_new(kek, out, err);
    OPENSSL_cleanse(kek, sizeof(kek));
    return rc;
}

/* ---- sealing and opening ------------------------------------------------------------------ */

static int crypto_fail(rta_error *err, const char *what)
{
    ERR_clear_error();
    return rta_error_set(err, RTA_ERR_INTERNAL, "%s failed", what);
}

int rta_secret_box_seal(const rta_secret_box *b, const char *aad, const void *plain, size_t n,
                        unsigned char *out, rta_error *err)
{
    if (n > INT32_MAX) return rta_error_set(err, RTA_ERR_INTERNAL, "Value too large to seal");
    unsigned char *nonce = out + RTA_SECRET_BOX_VERSION_LEN;
    unsigned char *ct = nonce + RTA_SECRET_BOX_NONCE_LEN;
    memcpy(out, RTA_SECRET_BOX_VERSION, RTA_SECRET_BOX_VERSION_LEN);
    if (rta_random_bytes(nonce, RTA_SECRET_BOX_NONCE_LEN))
        return rta_error_set(err, RTA_ERR_INTERNAL, "CSPRNG unavailable");
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = ctx != NULL;
    /* GCM's default IV length is 12 bytes, the nonce's length. */
    ok = ok && EVP_EncryptInit_ex2(ctx, b->cipher, b->kek, nonce, NULL) == 1;
    ok =
        ok && EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1;
    ok = ok && EVP_EncryptUpdate(ctx, ct, &len, plain, (int)n) == 1;
    ok = ok && EVP_EncryptFinal_ex(ctx, ct + len, &fin) == 1 && (size_t)(len + fin) == n;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, RTA_SECRET_BOX_TAG_LEN, ct + n) == 1;
    EVP_CIPHER_CTX_free(ctx); /* wipes the expanded key */
    return ok ? 0 : crypto_fail(err, "Sealing a secret");
}

int rta_secret_box_is_sealed(const void *p, size_t n)
{
    return n >= RTA_SECRET_BOX_OVERHEAD &&
           memcmp(p, RTA_SECRET_BOX_VERSION, RTA_SECRET_BOX_VERSION_LEN) == 0;
}

int rta_secret_box_open(const rta_secret_box *b, const char *aad, const unsigned char *sealed,
                        size_t n, unsigned char *out, rta_error *err)
{
    if (!rta_secret_box_is_sealed(sealed, n) || n > INT32_MAX)
        return rta_error_set(err, RTA_ERR_INTERNAL, "%s: not a sealed value", aad);
    const unsigned char *nonce = sealed + RTA_SECRET_BOX_VERSION_LEN;
    const unsigned char *ct = nonce + RTA_SECRET_BOX_NONCE_LEN;
    size_t ct_len = n - RTA_SECRET_BOX_OVERHEAD;
    unsigned char tag[RTA_SECRET_BOX_TAG_LEN];
    memcpy(tag, ct + ct_len, sizeof(tag)); /* the ctrl takes a non-const pointer */
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0, fin = 0, ok = ctx != NULL;
    ok = ok && EVP_DecryptInit_ex2(ctx, b->cipher, b->kek, nonce, NULL) == 1;
    ok =
        ok && EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad, (int)strlen(aad)) == 1;
    ok = ok && EVP_DecryptUpdate(ctx, out, &len, ct, (int)ct_len) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, sizeof(tag), tag) == 1;
    /* The tag check: fails for a wrong KEK, a changed byte, or another record's value. */
    ok = ok && EVP_DecryptFinal_ex(ctx, out + len, &fin) == 1 && (size_t)(len + fin) == ct_len;
    EVP_CIPHER_CTX_free(ctx);
    if (ok) return 0;
    OPENSSL_cleanse(out, ct_len); /* unauthenticated plaintext never leaves */
    ERR_clear_error();
    return rta_error_set(err, RTA_ERR_INTERNAL,
                         "%s does not decrypt with this KEK (a different KEK, or the stored "
                         "value was altered or copied from another record)",
                         aad);
}

/* ---- text form ---------------------------------------------------------------------------- */

#define TEXT_PREFIX     RTA_SECRET_BOX_VERSION ":"
#define TEXT_PREFIX_LEN (RTA_SECRET_BOX_VERSION_LEN + 1)

int rta_secret_box_is_sealed_text(const char *s)
{
    return strncmp(s, TEXT_PREFIX, TEXT_PREFIX_LEN) == 0;
}

int rta_secret_box_seal_text(const rta_secret_box *b, const char *aad, const void *plain, size_t n,
                             char *out, size_t size, rta_error *err)
{
    if (size < RTA_SECRET_BOX_TEXT_SIZE(n))
        return rta_error_set(err, RTA_ERR_INTERNAL, "%s: no room for the sealed value", aad);
    size_t sealed_len = n + RTA_SECRET_BOX_OVERHEAD;
    unsigned char *sealed = malloc(sealed_len);
    if (!sealed) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    int rc = rta_secret_box_seal(b, aad, plain, n, sealed, err);
    if (rc == 0) {
        rta_buf t;
        rta_buf_init_borrowed(&t, out, size);
        rta_buf_puts(&t, TEXT_PREFIX);
        rta_base64_encode(&t, sealed + RTA_SECRET_BOX_VERSION_LEN,
                          sealed_len - RTA_SECRET_BOX_VERSION_LEN, RTA_BASE64_URL);
        if (t.data != out || t.oom) /* it outgrew out: cannot happen with the size checked */
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "%s: no room for the sealed value", aad);
        rta_buf_free(&t);
    }
    free(sealed); /* ciphertext only: nothing to wipe */
    return rc;
}

int rta_secret_box_open_text(const rta_secret_box *b, const char *aad, const char *text,
                             unsigned char *out, size_t cap, size_t *len, rta_error *err)
{
    *len = 0;
    if (!rta_secret_box_is_sealed_text(text))
        return rta_error_set(err, RTA_ERR_INTERNAL, "%s: not a sealed value", aad);
    const char *enc = text + TEXT_PREFIX_LEN;
    size_t enc_len = strlen(enc);
    unsigned char *sealed = malloc(RTA_SECRET_BOX_VERSION_LEN + rta_base64_decoded_max(enc_len));
    if (!sealed) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    memcpy(sealed, RTA_SECRET_BOX_VERSION, RTA_SECRET_BOX_VERSION_LEN);
    long dec = rta_base64_decode(enc, enc_len, sealed + RTA_SECRET_BOX_VERSION_LEN, RTA_BASE64_URL);
    size_t n = dec < 0 ? 0 : (size_t)dec + RTA_SECRET_BOX_VERSION_LEN;
    int rc;
    if (n < RTA_SECRET_BOX_OVERHEAD)
        rc = rta_error_set(err, RTA_ERR_INTERNAL, "%s: not a sealed value", aad);
    else if (n - RTA_SECRET_BOX_OVERHEAD > cap)
        rc = rta_error_set(err, RTA_ERR_INTERNAL, "%s: the sealed value is too long", aad);
    else
        rc = rta_secret_box_open(b, aad, sealed, n, out, err);
    if (rc == 0) *len = n - RTA_SECRET_BOX_OVERHEAD;
    free(sealed);
    return rc;
}
