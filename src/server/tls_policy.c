/* tls_policy.c: protocol versions and cipher suites of rtauthd's TLS listener; see
 * tls_policy.h. Holds no key material and logs nothing. */
#include "server/tls_policy.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

int rta_tls_min_version_parse(const char *s)
{
    if (!strcmp(s, "1.2")) return RTA_TLS_MIN_12;
    if (!strcmp(s, "1.3")) return RTA_TLS_MIN_13;
    return -1;
}

/* Options instead of SSL_CTX_set_min_proto_version: libwebsockets creates the SSL_CTX and
 * exposes only these. SSLv3 is off in lws already; said again so the policy reads whole. */
static long version_options(int min_version)
{
    long o = (long)(SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1);
    if (min_version >= RTA_TLS_MIN_13) o |= (long)SSL_OP_NO_TLSv1_2;
    return o;
}

int rta_tls_policy_check(int min_version, const char *ciphers, const char *ciphersuites,
                         rta_error *err)
{
    if (min_version != RTA_TLS_MIN_12 && min_version != RTA_TLS_MIN_13)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "tls_min_version must be 1.2 or 1.3");
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot create a TLS context");
    int rc = 0;
    /* SSL_CTX_set_cipher_list fails when no TLS 1.2 cipher matches. An empty TLS 1.3 list is
     * valid (it turns TLS 1.3 off), unless TLS 1.3 is all we offer. */
    if (SSL_CTX_set_cipher_list(ctx, ciphers) != 1)
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                           "tls_ciphers \"%s\" matches no TLS 1.2 cipher", ciphers);
    else if (SSL_CTX_set_ciphersuites(ctx, ciphersuites) != 1)
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                           "tls_ciphersuites \"%s\" is not a valid TLS 1.3 suite list",
                           ciphersuites);
    if (rc == 0 && min_version >= RTA_TLS_MIN_13) {
        int n13 = 0;
        STACK_OF(SSL_CIPHER) *all = SSL_CTX_get_ciphers(ctx);
        for (int i = 0; i < sk_SSL_CIPHER_num(all); i++)
            n13 += !strcmp(SSL_CIPHER_get_version(sk_SSL_CIPHER_value(all, i)), "TLSv1.3");
        if (n13 == 0)
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                               "tls_min_version 1.3 with an empty tls_ciphersuites offers no "
                               "cipher");
    }
    SSL_CTX_free(ctx);
    ERR_clear_error(); /* nothing of this attempt may show up in a later connection's error */
    return rc;
}

void rta_tls_policy_apply(int min_version, const char *ciphers, const char *ciphersuites,
                          struct lws_context_creation_info *info)
{
    info->ssl_cipher_list = ciphers;
    info->tls1_3_plus_cipher_list = ciphersuites;
    info->ssl_options_set |= version_options(min_version);
}
