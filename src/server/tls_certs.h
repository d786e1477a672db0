/* tls_certs.h: the listener's certificate and key, loaded again on SIGHUP (server/reload.c)
 * so that a rotated certificate is served without dropping a connection.
 *
 * rta_tls_certs_load reads the PEM chain and key once, into memory, and checks them in a
 * throwaway OpenSSL context set up with the listener's TLS policy (tls_policy.h): the key
 * must match the certificate and the certificate must not have expired. Only then does
 * rta_tls_certs_apply put them into the live SSL_CTX (the one libwebsockets made for the
 * listener, server.c): handshakes from then on present the new certificate; sessions already
 * established keep theirs (each SSL holds its own reference).
 *
 * Must never: apply anything that was not checked first; prompt for a passphrase (an
 * encrypted key is refused); log or return key material. */
#ifndef RTA_SERVER_TLS_CERTS_H
#define RTA_SERVER_TLS_CERTS_H

#include "rtauth/error.h"

typedef struct rta_tls_certs {
    void *cert;   /* X509*, the leaf */
    void *chain;  /* STACK_OF(X509)*, the intermediates (may be empty) */
    void *key;    /* EVP_PKEY* */
    char sha256[100];    /* the leaf's SHA-256 fingerprint, hex pairs joined by ':' */
    char not_after[32];  /* "YYYY-MM-DD HH:MM:SS UTC" */
} rta_tls_certs;

/* Reads and checks cert_path (PEM: leaf, then intermediates) and key_path (PEM, not
 * encrypted) under the TLS policy. Returns 0 with out filled (free with rta_tls_certs_free),
 * or 40003 with err naming the file and the problem. */
int rta_tls_certs_load(const char *cert_path, const char *key_path, int min_version,
                       const char *ciphers, const char *ciphersuites, rta_tls_certs *out,
                       rta_error *err);

/* Puts certs into ssl_ctx (an SSL_CTX*). The key's type (RSA, EC, Ed25519...) must be the one
 * the context serves now: OpenSSL keeps one certificate per key type, so another type would
 * leave the old certificate served beside the new one. Returns 0, or 40003 (ssl_ctx
 * unchanged) or 50000. */
int rta_tls_certs_apply(void *ssl_ctx, const rta_tls_certs *certs, rta_error *err);

void rta_tls_certs_free(rta_tls_certs *certs);

#endif
