/* test_cli_admin.c: `rtauth app|key|secret` on a data directory, and a running rtauthd
 * picking the changes up (issue 3 "Operators"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/key.h"
#include "core/token_codec.h"
#include "core/token_signer.h"
#include "harness.h"

static char dir[64];

/* Runs `rtauth ARGS --data-dir DIR`, returns stdout (caller frees) and the exit status. */
static char *cli(const char *args, int *status)
{
    const char *bd = getenv("RTA_BUILD_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s/rtauth %s --data-dir %s 2>/dev/null", bd ? bd : "build", args,
             dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    rta_buf out = RTA_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) rta_buf_append(&out, chunk, n);
    int st = pclose(p);
    *status = WEXITSTATUS(st);
    return rta_buf_detach(&out, NULL);
}

static char *last_token;

static int request_token(rta_test_server *s, const char *key_str)
{
    rta_key key;
    assert_int_equal(rta_key_parse(key_str, strlen(key_str), &key, NULL), 0);
    rta_token_signer *signer = rta_token_signer_new(&key);
    rta_token_request req;
    assert_int_equal(rta_token_signer_sign(signer, NULL, rta_test_now_ms(), &req, NULL), 0);
    rta_buf b = RTA_BUF_INIT;
    rta_token_request_encode(&req, RTA_FORMAT_JSON, &b);
    char path[256];
    snprintf(path, sizeof(path), "/keys/%s/requestToken", key.key_name);
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    rta_test_response r;
    assert_int_equal(rta_test_http(s, "POST", path, hdrs, b.data, b.len, &r), 0);
    int code = r.status == 200 ? 0 : r.error_code;
    if (code == 0) {
        json_t *root = json_loads(r.body, 0, NULL);
        free(last_token);
        last_token = strdup(json_string_value(json_object_get(root, "token")));
        json_decref(root);
    }
    rta_test_response_free(&r);
    rta_buf_free(&b);
    rta_token_request_clear(&req);
    rta_token_signer_free(signer);
    return code;
}

/* The secret id inside an rtauth token (docs/token-format.md: bytes 1..4 of the body). */
static unsigned secret_id_of(const char *token)
{
    const char *enc = strchr(token, '.') + 1;
    unsigned char raw[4096];
    long n = rta_base64_decode(enc, strlen(enc), raw, RTA_BASE64_URL);
    assert_true(n > 5);
    return (unsigned)raw[1] << 24 | (unsigned)raw[2] << 16 | (unsigned)raw[3] << 8 | raw[4];
}

/* revokeTokens answers 40162 to any valid token: a probe that the token verifies. */
static int bearer_probe(rta_test_server *s, const char *key_str, const char *token)
{
    char path[256], auth[4096];
    snprintf(path, sizeof(path), "/keys/%.*s/revokeTokens", (int)(strchr(key_str, ':') - key_str),
             key_str);
    rta_test_bearer_header(token, auth, sizeof(auth));
    const char *hdrs[] = {"Content-Type: application/json", auth, NULL};
    rta_test_response r;
    const char *body = "{\"targets\":[\"clientId:x\"]}";
    assert_int_equal(rta_test_http(s, "POST", path, hdrs, body, strlen(body), &r), 0);
    int code = r.error_code;
    rta_test_response_free(&r);
    return code;
}

static void test_cli_and_live_reload(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/rtauth-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    int st;
    char *out = cli("app create --json --capability '{\"chat:*\":[\"publish\"]}' --revocable", &st);
    assert_int_equal(st, 0);
    json_t *root = json_loads(out, 0, NULL);
    assert_non_null(root);
    json_t *k0 = json_array_get(json_object_get(root, "keys"), 0);
    char key[256], app[64];
    snprintf(key, sizeof(key), "%s", json_string_value(json_object_get(k0, "key")));
    snprintf(app, sizeof(app), "%s", json_string_value(json_object_get(root, "appId")));
    assert_string_equal(json_string_value(json_object_get(k0, "capability")),
                        "{\"chat:*\":[\"publish\"]}");
    json_decref(root);
    free(out);
    const char *secret = strchr(key, ':') + 1;

    /* key list never shows a secret */
    out = cli("key list", &st);
    assert_int_equal(st, 0);
    assert_null(strstr(out, secret));
    assert_non_null(strstr(out, app));
    free(out);
    out = cli("key create nosuchapp", &st);
    assert_int_not_equal(st, 0);
    free(out);
    out = cli("app create --capability '{\"x\":[\"nope\"]}'", &st);
    assert_int_not_equal(st, 0); /* invalid capability: refused */
    free(out);

    rta_test_server s;
    assert_int_equal(rta_test_server_start(&s, dir, NULL), 0);
    assert_int_equal(request_token(&s, key), 0);

    /* a second key made while the server runs, then disabling the first: both seen live */
    char args[256];
    snprintf(args, sizeof(args), "key create %s --json", app);
    out = cli(args, &st);
    assert_int_equal(st, 0);
    root = json_loads(out, 0, NULL);
    char key2[256];
    snprintf(key2, sizeof(key2), "%s", json_string_value(json_object_get(root, "key")));
    json_decref(root);
    free(out);
    char name[128];
    snprintf(name, sizeof(name), "%.*s", (int)(strchr(key, ':') - key), key);
    snprintf(args, sizeof(args), "key disable %s", name);
    out = cli(args, &st);
    assert_int_equal(st, 0);
    free(out);
    int disabled = 0, second = 0;
    for (int i = 0; i < 50 && !(disabled && second); i++) { /* reload within ~1 s */
        usleep(100 * 1000);
        disabled = request_token(&s, key) == 40131;
        second = request_token(&s, key2) == 0;
    }
    assert_true(disabled);
    assert_true(second);

    /* rotation: tokens minted after it use the new secret, older ones still verify */
    assert_int_equal(request_token(&s, key2), 0);
    char *old_token = strdup(last_token);
    assert_int_equal(secret_id_of(old_token), 1);
    out = cli("secret rotate --json", &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"secretId\":2"));
    free(out);
    int rotated = 0;
    for (int i = 0; i < 50 && !rotated; i++) {
        usleep(100 * 1000);
        assert_int_equal(request_token(&s, key2), 0);
        rotated = secret_id_of(last_token) == 2;
    }
    assert_true(rotated);
    assert_int_equal(bearer_probe(&s, key2, old_token), 40162); /* still a valid token */
    assert_int_equal(bearer_probe(&s, key2, last_token), 40162);
    free(old_token);
    free(last_token);
    last_token = NULL;
    rta_test_server_stop(&s);
    rta_test_server_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_and_live_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
