/* test_tls_policy.c: rtauthd's TLS policy, black box, with `openssl s_client` as the peer:
 * by default TLS 1.0/1.1 are refused, TLS 1.2 offers only forward-secret ECDHE with AEAD
 * (no RSA key exchange, no CBC), TLS 1.3 works; --tls-min-version, --tls-ciphers and
 * --tls-ciphersuites (and their environment and config-file forms) narrow it, and lists that
 * match nothing are refused at start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "harness.h"

static rta_test_server s;
static char dir[64], cert[128], key[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/rtauth-test-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    int rc = s.pid > 0 ? rta_test_server_stop(&s) : 0;
    rta_test_server_cleanup(&s);
    unsetenv("RTAUTHD_TLS_MIN_VERSION");
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", dir);
    return rc;
}

/* One handshake: `openssl s_client -brief ARGS`. Returns 1 and the negotiated protocol and
 * cipher when it completed, 0 when the server refused it. */
static int handshake(const char *args, char *proto, char *cipher)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl s_client -brief -connect 127.0.0.1:%d -servername localhost %s "
             "</dev/null 2>&1",
             s.port, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512];
    proto[0] = cipher[0] = '\0';
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!strncmp(line, "Protocol version: ", 18)) snprintf(proto, 32, "%.31s", line + 18);
        if (!strncmp(line, "Ciphersuite: ", 13)) snprintf(cipher, 64, "%.63s", line + 13);
    }
    int st = pclose(p);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 && cipher[0];
}

static void expect_refused(const char *args)
{
    char proto[32], cipher[64];
    if (handshake(args, proto, cipher)) fail_msg("accepted %s: %s %s", args, proto, cipher);
}

static void expect_accepted(const char *args, const char *want_proto, const char *want_cipher)
{
    char proto[32], cipher[64];
    if (!handshake(args, proto, cipher)) fail_msg("refused %s", args);
    assert_string_equal(proto, want_proto);
    if (want_cipher) assert_string_equal(cipher, want_cipher);
}

/* Spawns rtauthd with TLS plus extra (NULL-terminated, may be NULL) and waits until a
 * default TLS handshake completes. */
static void start_tls(const char *const *extra)
{
    const char *args[24] = {"--tls-cert", cert, "--tls-key", key};
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 23; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    assert_int_equal(rta_test_server_spawn(&s, NULL, args), 0);
    char proto[32], cipher[64];
    for (int i = 0; i < 100; i++) {
        if (handshake("", proto, cipher)) return;
        usleep(100 * 1000);
    }
    fail_msg("rtauthd did not answer TLS on port %d", s.port);
}

static void test_default_policy(void **state)
{
    (void)state;
    start_tls(NULL);
    /* Old protocols, even when the client would allow anything (SECLEVEL=0). */
    expect_refused("-tls1 -cipher DEFAULT@SECLEVEL=0");
    expect_refused("-tls1_1 -cipher DEFAULT@SECLEVEL=0");
    /* TLS 1.2: RSA key exchange (no forward secrecy), CBC with SHA-1 or SHA-2, DHE, and
     * RSA key exchange with GCM. */
    static const char *const refused12[] = {
        "AES128-SHA",
        "AES256-SHA",
        "AES128-SHA256",
        "AES256-SHA256",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-RSA-AES256-SHA",
        "ECDHE-RSA-AES128-SHA256",
        "ECDHE-RSA-AES256-SHA384",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-SHA",
    };
    char args[256];
    for (size_t i = 0; i < sizeof(refused12) / sizeof(refused12[0]); i++) {
        snprintf(args, sizeof(args), "-tls1_2 -cipher %s@SECLEVEL=0", refused12[i]);
        expect_refused(args);
    }
    /* ECDHE with AEAD: accepted. */
    expect_accepted("-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2",
                    "ECDHE-RSA-AES128-GCM-SHA256");
    expect_accepted("-tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2",
                    "ECDHE-RSA-AES256-GCM-SHA384");
    expect_accepted("-tls1_2 -cipher ECDHE-RSA-CHACHA20-POLY1305", "TLSv1.2",
                    "ECDHE-RSA-CHACHA20-POLY1305");
    /* A client that offers everything gets a forward-secret AEAD suite. */
    expect_accepted("-tls1_2 -cipher ALL@SECLEVEL=0", "TLSv1.2", NULL);
    char proto[32], cipher[64];
    assert_true(handshake("-tls1_2 -cipher ALL@SECLEVEL=0", proto, cipher));
    assert_non_null(strstr(cipher, "ECDHE-"));
    assert_true(strstr(cipher, "GCM") || strstr(cipher, "CHACHA20"));
    /* TLS 1.3 with each of its default suites. */
    expect_accepted("-tls1_3", "TLSv1.3", NULL);
    expect_accepted("-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256", "TLSv1.3",
                    "TLS_AES_128_GCM_SHA256");
    expect_accepted("-tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384", "TLSv1.3",
                    "TLS_AES_256_GCM_SHA384");
    expect_accepted("-tls1_3 -ciphersuites TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3",
                    "TLS_CHACHA20_POLY1305_SHA256");
}

/* --tls-min-version 1.3 refuses TLS 1.2 whatever the cipher. */
static void test_min_version_13(void **state)
{
    (void)state;
    const char *extra[] = {"--tls-min-version", "1.3", NULL};
    start_tls(extra);
    expect_refused("-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256");
    expect_refused("-tls1_2");
    expect_accepted("-tls1_3", "TLSv1.3", NULL);
}

/* The same from the environment. */
static void test_min_version_env(void **state)
{
    (void)state;
    setenv("RTAUTHD_TLS_MIN_VERSION", "1.3", 1);
    start_tls(NULL);
    expect_refused("-tls1_2");
    expect_accepted("-tls1_3", "TLSv1.3", NULL);
}

/* --tls-ciphers and --tls-ciphersuites replace the lists; the config file forms too. */
static void test_custom_lists(void **state)
{
    (void)state;
    const char *extra[] = {"--tls-ciphers", "ECDHE-RSA-AES256-GCM-SHA384", "--tls-ciphersuites",
                           "TLS_CHACHA20_POLY1305_SHA256", NULL};
    start_tls(extra);
    expect_refused("-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256");
    expect_accepted("-tls1_2", "TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384");
    expect_refused("-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256");
    expect_accepted("-tls1_3", "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256");
    rta_test_server_stop(&s);
    rta_test_server_cleanup(&s);

    char file[160];
    snprintf(file, sizeof(file), "%s/rtauthd.conf", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "tls_ciphers = ECDHE-RSA-CHACHA20-POLY1305\ntls_min_version = 1.2\n");
    fclose(f);
    const char *from_file[] = {"--config", file, NULL};
    start_tls(from_file);
    expect_refused("-tls1_2 -cipher ECDHE-RSA-AES256-GCM-SHA384");
    expect_accepted("-tls1_2", "TLSv1.2", "ECDHE-RSA-CHACHA20-POLY1305");
}

/* Lists that match no cipher, or a version we do not offer, are a clear refusal (exit 2),
 * not a server that silently falls back to OpenSSL's defaults. */
static void test_bad_tls_settings_refused(void **state)
{
    (void)state;
    const char *bd = getenv("RTA_BUILD_DIR");
    static const char *bad[] = {
        "--tls-ciphers NO-SUCH-CIPHER", "--tls-ciphersuites TLS_NO_SUCH_SUITE",
        "--tls-min-version 1.1",        "--tls-min-version 1.0",
        "--tls-min-version tls13",      "--tls-min-version 1.3 --tls-ciphersuites ''"};
    char cmd[1024];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(cmd, sizeof(cmd),
                 "%s/rtauthd --tls-cert %s --tls-key %s %s --data-dir %s/never "
                 ">/dev/null 2>&1",
                 bd ? bd : "build", cert, key, bad[i], dir);
        int st = system(cmd);
        assert_true(WIFEXITED(st));
        if (WEXITSTATUS(st) != 2) fail_msg("%s: exit %d, want 2", bad[i], WEXITSTATUS(st));
    }
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_default_policy), T(test_min_version_13),           T(test_min_version_env),
        T(test_custom_lists),   T(test_bad_tls_settings_refused),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
