/* test_sdk_cli.c: the client commands of the rtauth tool, black box against rtauthd:
 * `rtauth time`, `token request`, `token create-request`, `token revoke`, readable and --json
 * output, the key from --key or RTAUTH_KEY, and non-zero exits with the Ably code on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/crypto.h"
#include "core/key.h"
#include "core/mac.h"
#include "sdk_test.h"

static char keys[3][256];

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    return 0;
}

/* Runs `rtauth ARGS` with RTAUTH_KEY=env_key (NULL: unset); captures stdout into out. */
static int run(const char *env_key, char *out, size_t size, const char *args)
{
    const char *dir = getenv("RTA_BUILD_DIR");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "%s%s%s RTAUTH_PORT=%d %s/rtauth %s 2>/dev/null",
             env_key ? "RTAUTH_KEY='" : "env -u RTAUTH_KEY", env_key ? env_key : "",
             env_key ? "'" : "", sdk_server.port, dir ? dir : "build", args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static void test_time(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run(NULL, out, sizeof(out), "time --json"), 0);
    long long t = 0;
    assert_int_equal(sscanf(out, "{\"time\":%lld}", &t), 1);
    assert_true(t > sdk_now_ms() - 60000);
    assert_int_equal(run(NULL, out, sizeof(out), "time"), 0);
    assert_non_null(strstr(out, "server time"));
}

static void test_token_request(void **state)
{
    (void)state;
    char out[4096], args[512];
    assert_int_equal(
        run(keys[0], out, sizeof(out), "token request --json --client-id cli --ttl 60000"), 0);
    rta_token_details d;
    assert_int_equal(rta_token_details_from_json(out, strlen(out), &d, NULL), 0);
    assert_string_equal(d.client_id, "cli");
    assert_int_equal(d.expires - d.issued, 60000);
    char kn[256];
    sdk_key_name(keys[0], kn);
    assert_int_equal(sdk_probe_token(kn, d.token), RTA_ERR_REQUIRES_BASIC);
    rta_token_details_clear(&d);
    /* --key beats RTAUTH_KEY; readable output */
    snprintf(args, sizeof(args), "token request --key %s", keys[0]);
    assert_int_equal(run("bad.key:x", out, sizeof(out), args), 0);
    assert_non_null(strstr(out, "token "));
    assert_non_null(strstr(out, "(anonymous)"));
    assert_null(strstr(out, strchr(keys[0], ':') + 1)); /* the secret is never printed */
}

static void test_create_request(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(run(keys[0], out, sizeof(out),
                         "token create-request --json --capability '{\"b\":[\"publish\"]}'"),
                     0);
    rta_token_request t;
    assert_int_equal(rta_token_request_from_json(out, strlen(out), &t, NULL), 0);
    assert_string_equal(t.capability, "{\"b\":[\"publish\"]}");
    rta_key k;
    assert_int_equal(rta_key_parse(keys[0], strlen(keys[0]), &k, NULL), 0);
    rta_hmac *h = rta_hmac_new(k.secret, k.secret_len);
    assert_int_equal(rta_token_request_verify_mac(&t, h, NULL), 0);
    rta_hmac_free(h);
    rta_token_request_clear(&t);
    assert_int_equal(run(keys[0], out, sizeof(out), "token create-request --query-time"), 0);
    assert_non_null(strstr(out, "nonce"));
}

static void test_revoke(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(run(keys[1], out, sizeof(out), "token revoke clientId:gone --json"), 0);
    assert_non_null(strstr(out, "\"successCount\":1"));
    /* a per-target failure: printed, exit status 1 */
    assert_int_equal(run(keys[1], out, sizeof(out), "token revoke clientId:a nope:b"), 1);
    assert_non_null(strstr(out, "1 revoked, 1 failed"));
}

static void test_failures(void **state)
{
    (void)state;
    char out[4096];
    /* no key: 40106, as JSON on stdout with --json */
    assert_int_equal(run(NULL, out, sizeof(out), "token request --json"), 1);
    assert_non_null(strstr(out, "\"code\":40106"));
    /* a key without revocable tokens: the server's 40163 */
    assert_int_equal(run(keys[0], out, sizeof(out), "token revoke clientId:x --json"), 1);
    assert_non_null(strstr(out, "\"code\":40163"));
    /* a ttl over the maximum: 40003 */
    assert_int_equal(run(keys[0], out, sizeof(out), "token request --json --ttl 999999999999"), 1);
    assert_non_null(strstr(out, "\"code\":40003"));
    /* usage errors: 2 */
    assert_int_equal(run(keys[0], out, sizeof(out), "token request --bogus"), 2);
    assert_int_equal(run(keys[0], out, sizeof(out), "token revoke"), 2);
    assert_int_equal(run(keys[0], out, sizeof(out), "token frobnicate"), 2);
    assert_int_equal(run(keys[0], out, sizeof(out), "token request --ttl abc"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),           cmocka_unit_test(test_token_request),
        cmocka_unit_test(test_create_request), cmocka_unit_test(test_revoke),
        cmocka_unit_test(test_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, sdk_teardown);
}
