/* tls_policy.h: rtauthd's TLS policy: which protocol versions and cipher suites its HTTPS/WSS
 * listener offers, from the --tls-min-version, --tls-ciphers and --tls-ciphersuites settings
 * (config.h), checked once at start and handed to libwebsockets.
 *
 * Default: TLS 1.2 and 1.3 only; in TLS 1.2 only forward-secret ECDHE key exchange with AEAD
 * ciphers (AES-GCM, ChaCha20-Poly1305), so no RSA key exchange, no CBC, no SHA-1 MACs; TLS
 * 1.3's default suites (all AEAD, all forward-secret). docs/security.md explains the choice.
 *
 * Must never: let a list that matches no cipher through to libwebsockets, which ignores
 * OpenSSL's refusal and would serve OpenSSL's defaults instead. */
#ifndef RTA_SERVER_TLS_POLICY_H
#define RTA_SERVER_TLS_POLICY_H

#include <libwebsockets.h>

#include "rtauth/error.h"

/* TLS 1.2 suites (OpenSSL cipher-list syntax), server preference order. */
#define RTA_TLS_DEFAULT_CIPHERS                                                                    \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
/* TLS 1.3 suites (OpenSSL ciphersuites syntax): OpenSSL's default set. */
#define RTA_TLS_DEFAULT_CIPHERSUITES                                                               \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* The lowest protocol version offered: 12 (TLS 1.2) or 13 (TLS 1.3). */
#define RTA_TLS_MIN_12 12
#define RTA_TLS_MIN_13 13

/* "1.2" -> 12, "1.3" -> 13; -1 for anything else (1.0 and 1.1 are not offered at all). */
int rta_tls_min_version_parse(const char *s);

/* Checks with a throwaway OpenSSL context that each list is valid and that the versions
 * allowed by min_version keep at least one cipher. Returns 0, or 40003 naming the setting. */
int rta_tls_policy_check(int min_version, const char *ciphers, const char *ciphersuites,
                         rta_error *err);

/* Fills the TLS policy fields of info (ssl_cipher_list, tls1_3_plus_cipher_list,
 * ssl_options_set). info keeps pointers to the strings: they must outlive the context's
 * creation. */
void rta_tls_policy_apply(int min_version, const char *ciphers, const char *ciphersuites,
                          struct lws_context_creation_info *info);

#endif
