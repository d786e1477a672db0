/* tls_certs.c: loading, checking and swapping the listener's certificate; see tls_certs.h.
 * Holds key material only in OpenSSL objects, never in a message. */
#include "server/tls_certs.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "server/tls_policy.h"

/* No passphrase: an encrypted key fails instead of prompting on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

static int fail(rta_error *err, rta_tls_certs *c, const char *fmt, const char *path)
{
    rta_tls_certs_free(c);
    ERR_clear_error(); /* nothing of this attempt may show up in a later connection's error */
    return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, fmt, path);
}

static void describe(rta_tls_certs *c)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    c->sha256[0] = '\0';
    if (X509_digest(c->cert, EVP_sha256(), md, &n) == 1) {
        size_t at = 0;
        for (unsigned i = 0; i < n && at + 4 < sizeof(c->sha256); i++)
            at += (size_t)snprintf(c->sha256 + at, sizeof(c->sha256) - at, "%s%02X",
                                   i ? ":" : "", md[i]);
    }
    struct tm tm;
    c->not_after[0] = '\0';
    if (ASN1_TIME_to_tm(X509_get0_notAfter(c->cert), &tm) == 1)
        strftime(c->not_after, sizeof(c->not_after), "%Y-%m-%d %H:%M:%S UTC", &tm);
}

int rta_tls_certs_load(const char *cert_path, const char *key_path, int min_version,
                       const char *ciphers, const char *ciphersuites, rta_tls_certs *out,
                       rta_error *err)
{
    memset(out, 0, sizeof(*out));
    BIO *b = BIO_new_file(cert_path, "r");
    if (!b) return fail(err, out, "Cannot read the TLS certificate %s", cert_path);
    out->cert = PEM_read_bio_X509_AUX(b, NULL, no_passphrase, NULL);
    out->chain = sk_X509_new_null();
    X509 *x;
    while (out->cert && out->chain && (x = PEM_read_bio_X509(b, NULL, no_passphrase, NULL)))
        if (!sk_X509_push(out->chain, x)) X509_free(x);
    BIO_free(b);
    if (!out->cert || !out->chain)
        return fail(err, out, "%s holds no PEM certificate", cert_path);
    if (!(b = BIO_new_file(key_path, "r")))
        return fail(err, out, "Cannot read the TLS key %s", key_path);
    out->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL);
    BIO_free(b);
    if (!out->key)
        return fail(err, out, "%s holds no unencrypted PEM private key", key_path);
    if (X509_check_private_key(out->cert, out->key) != 1)
        return fail(err, out, "The TLS key does not match the certificate %s", cert_path);
    if (X509_cmp_current_time(X509_get0_notAfter(out->cert)) <= 0)
        return fail(err, out, "The TLS certificate %s has expired", cert_path);

    /* As the listener would take it: the same policy, the same calls */
    rta_error perr;
    if (rta_tls_policy_check(min_version, ciphers, ciphersuites, &perr))
        return fail(err, out, "The TLS policy is invalid (%s)", perr.message);
    SSL_CTX *scratch = SSL_CTX_new(TLS_server_method());
    if (!scratch) return fail(err, out, "Cannot create a TLS context for %s", cert_path);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    rta_tls_policy_apply(min_version, ciphers, ciphersuites, &info);
    SSL_CTX_set_options(scratch, (uint64_t)info.ssl_options_set);
    int ok = SSL_CTX_set_cipher_list(scratch, ciphers) == 1 &&
             SSL_CTX_set_ciphersuites(scratch, ciphersuites) == 1 &&
             SSL_CTX_use_cert_and_key(scratch, out->cert, out->key, out->chain, 1) == 1 &&
             SSL_CTX_check_private_key(scratch) == 1;
    SSL_CTX_free(scratch);
    if (!ok) return fail(err, out, "OpenSSL refuses the TLS certificate %s with its key", cert_path);
    ERR_clear_error();
    describe(out);
    return 0;
}

int rta_tls_certs_apply(void *ssl_ctx, const rta_tls_certs *c, rta_error *err)
{
    SSL_CTX *ctx = ssl_ctx;
    EVP_PKEY *now = SSL_CTX_get0_privatekey(ctx);
    if (now && EVP_PKEY_base_id(now) != EVP_PKEY_base_id(c->key))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "The new TLS key is of another type (%s) than the one served (%s): "
                             "restart rtauthd to change it",
                             OBJ_nid2sn(EVP_PKEY_base_id(c->key)),
                             OBJ_nid2sn(EVP_PKEY_base_id(now)));
    /* cert, key and chain replaced together, checked against each other by OpenSSL */
    if (SSL_CTX_use_cert_and_key(ctx, c->cert, c->key, c->chain, 1) != 1) {
        ERR_clear_error();
        return rta_error_set(err, RTA_ERR_INTERNAL, "OpenSSL refused the new TLS certificate");
    }
    return 0;
}

void rta_tls_certs_free(rta_tls_certs *c)
{
    X509_free(c->cert);
    if (c->chain) sk_X509_pop_free((STACK_OF(X509) *)c->chain, X509_free);
    EVP_PKEY_free(c->key);
    memset(c, 0, sizeof(*c));
}
