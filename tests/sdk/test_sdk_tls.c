/* test_sdk_tls.c: librtauth over HTTPS (RSC18, TO3d: TLS is the default; RSA1: Basic auth over
 * TLS) against rtauthd with --tls-cert/--tls-key and --basic-over-http never, with a throw-away
 * self-signed certificate; the certificate is verified (tls_ca_file), and an untrusted one is
 * a connection failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk_test.h"

static rta_test_server tls_server;
static char dir[64], cert[128], keyfile[128];

static void tls_options(rta_client_options *o, const char *key)
{
    sdk_options(o);
    o->tls = 1; /* the default, restated */
    o->port = tls_server.port;
    o->tls_ca_file = cert;
    o->auth.key = key;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/rtauth-test-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(keyfile, sizeof(keyfile), "%s/key.pem", dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             keyfile, cert);
    if (system(cmd) != 0) return -1;
    const char *extra[] = {"--tls-cert",        cert,    "--tls-key", keyfile,
                           "--basic-over-http", "never", NULL};
    return rta_test_server_spawn(&tls_server, dir, extra);
}

static int teardown(void **state)
{
    (void)state;
    rta_test_server_stop(&tls_server);
    rta_test_server_cleanup(&tls_server);
    return 0;
}

static void test_https(void **state)
{
    (void)state;
    rta_client_options o;
    tls_options(&o, "boot.strap:secret");
    rta_rest *boot = sdk_rest(&o);
    rta_error err;
    int64_t t = 0;
    int rc = -1;
    for (int i = 0; i < 100 && rc; i++) /* the server is starting */
        if ((rc = rta_rest_time(boot, &t, &err))) usleep(100 * 1000);
    assert_int_equal(rc, 0);
    assert_true(t > sdk_now_ms() - 60000);

    /* provision an app through the SDK's own request() (the sandbox ignores the credentials) */
    rta_rest_response resp;
    assert_int_equal(rta_rest_request(boot, "POST", "/apps",
                                      "{\"keys\":[{\"revocableTokens\":true}]}", &resp, &err),
                     0);
    const char *ks = strstr(resp.body, "\"keyStr\":\"");
    assert_non_null(ks);
    ks += 10;
    char key[256];
    snprintf(key, sizeof(key), "%.*s", (int)(strchr(ks, '"') - ks), ks);
    sdk_add_secret(strchr(key, ':') + 1);
    rta_rest_response_clear(&resp);
    rta_rest_destroy(boot);

    tls_options(&o, key);
    rta_rest *r = sdk_rest(&o);
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), NULL, NULL, &d, &err), 0);
    sdk_add_secret(d.token);
    rta_token_details_clear(&d);
    /* Basic over TLS is accepted (the server refuses it over plain HTTP here) */
    rta_revocation_target target = {"clientId", "tls-user"};
    rta_revocation_batch b;
    assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), &target, 1, NULL, &b, &err), 0);
    assert_int_equal(b.success_count, 1);
    rta_revocation_batch_clear(&b);
    rta_rest_destroy(r);

    /* without the CA: the certificate is not trusted */
    o.tls_ca_file = NULL;
    r = sdk_rest(&o);
    assert_int_equal(rta_rest_time(r, &t, &err), RTA_ERR_CONNECTION_FAILED);
    rta_rest_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_https)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
