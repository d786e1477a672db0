/* test_kek.c: secrets sealed at rest under a key-encryption key, black box: rtauthd and the
 * rtauth CLI with --kek-file or RTAUTHD_KEK share a sealed data directory, keys made by the
 * CLI sign TokenRequests the server accepts, no file in the data directory holds a secret in
 * plaintext, and a sealed directory is refused without its KEK or with another one. A
 * plaintext directory from before is sealed when rtauthd first starts with a KEK. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/key.h"
#include "core/token_codec.h"
#include "core/token_signer.h"
#include "harness.h"

#define KEK_HEX   "6f1d0a5e93c84b27a1f0e2d3c4b5a69788796a5b4c3d2e1f00112233445566ff"
#define OTHER_HEX "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static char base[64], dir[128], kek_file[128];
static rta_test_server s;

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/rtauth-test-XXXXXX");
    if (!mkdtemp(base)) return -1;
    snprintf(dir, sizeof(dir), "%s/data", base);
    snprintf(kek_file, sizeof(kek_file), "%s/kek", base); /* outside the data directory */
    FILE *f = fopen(kek_file, "w");
    if (!f) return -1;
    fprintf(f, "%s\n", KEK_HEX);
    fclose(f);
    return chmod(kek_file, 0600);
}

static int teardown(void **state)
{
    (void)state;
    if (s.pid > 0) rta_test_server_stop(&s);
    unsetenv("RTAUTHD_KEK");
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : -1;
}

/* Runs `rtauth ARGS --data-dir DIR` (env: extra environment assignments, may be ""), returns
 * stdout and stderr together (caller frees) and the exit status. */
static char *cli(const char *env, const char *args, int *status)
{
    const char *bd = getenv("RTA_BUILD_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s/rtauth %s --data-dir %s 2>&1", env, bd ? bd : "build", args,
             dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    rta_buf out = RTA_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        rta_buf_append(&out, chunk, n);
    rta_buf_append(&out, "", 0);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    return rta_buf_detach(&out, NULL);
}

/* `rtauth app create --json` with the KEK as given by kek_args/env: the new key string. */
static void create_app(const char *env, const char *kek_args, char key[256], char app[64])
{
    char args[256];
    snprintf(args, sizeof(args), "app create --json %s", kek_args);
    int st;
    char *out = cli(env, args, &st);
    if (st != 0) fail_msg("app create: %s", out);
    json_t *root = json_loads(out, 0, NULL);
    assert_non_null(root);
    json_t *k0 = json_array_get(json_object_get(root, "keys"), 0);
    snprintf(key, 256, "%s", json_string_value(json_object_get(k0, "key")));
    if (app) snprintf(app, 64, "%s", json_string_value(json_object_get(root, "appId")));
    json_decref(root);
    free(out);
}

/* A signed TokenRequest for key_str: 0 when rtauthd issued a token, else the error code. */
static int request_token(const char *key_str)
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
    assert_int_equal(rta_test_http(&s, "POST", path, hdrs, b.data, b.len, &r), 0);
    int code = r.status == 200 ? 0 : r.error_code ? r.error_code : -1;
    rta_test_response_free(&r);
    rta_buf_free(&b);
    rta_token_request_clear(&req);
    rta_token_signer_free(signer);
    return code;
}

/* The server reloads keys the CLI made within about a second. */
static void expect_token_soon(const char *key_str)
{
    int code = -1;
    for (int i = 0; i < 50 && code != 0; i++) {
        code = request_token(key_str);
        if (code) usleep(100 * 1000);
    }
    if (code) fail_msg("no token for a key the CLI made: %d", code);
}

/* Whether any file under path (recursively) contains needle: `grep -r` of the data dir. */
static int tree_has(const char *path, const char *needle)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        assert_non_null(d);
        int found = 0;
        for (struct dirent *e; !found && (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[1024];
            snprintf(sub, sizeof(sub), "%s/%.600s", path, e->d_name);
            found = tree_has(sub, needle);
        }
        closedir(d);
        return found;
    }
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    rta_buf b = RTA_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rta_buf_append(&b, chunk, n);
    fclose(f);
    int found = b.len >= strlen(needle) && memmem(b.data, b.len, needle, strlen(needle)) != NULL;
    rta_buf_free(&b);
    return found;
}

/* rtauthd run by hand (no harness; stopped after 3 s if it starts): its exit status and
 * stderr (caller frees). */
static char *run_server(const char *env, const char *args, int *status)
{
    const char *bd = getenv("RTA_BUILD_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "%s timeout 3 %s/rtauthd --listen 127.0.0.1:0 --data-dir %s %s "
             "2>&1 >/dev/null",
             env, bd ? bd : "build", dir, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    rta_buf out = RTA_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        rta_buf_append(&out, chunk, n);
    rta_buf_append(&out, "", 0);
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    return rta_buf_detach(&out, NULL);
}

static void test_sealed_data_dir(void **state)
{
    (void)state;
    char kek_args[200];
    snprintf(kek_args, sizeof(kek_args), "--kek-file %s", kek_file);
    const char *with_kek[] = {"--kek-file", kek_file, NULL};
    assert_int_equal(rta_test_server_start(&s, dir, with_kek), 0);
    char devkey[200];
    snprintf(devkey, sizeof(devkey), "%s/dev-key", dir);
    assert_int_not_equal(access(devkey, F_OK), 0); /* with a KEK, no plaintext dev-key */

    /* a key made by the CLI with the same KEK (file, then environment) serves tokens */
    char key[256], key2[256], app[64];
    create_app("", kek_args, key, app);
    expect_token_soon(key);
    char args[256];
    snprintf(args, sizeof(args), "key create %s --json", app);
    int st;
    char *out = cli("RTAUTHD_KEK=" KEK_HEX, args, &st);
    if (st != 0) fail_msg("key create with RTAUTHD_KEK: %s", out);
    json_t *root = json_loads(out, 0, NULL);
    snprintf(key2, sizeof(key2), "%s", json_string_value(json_object_get(root, "key")));
    json_decref(root);
    free(out);
    expect_token_soon(key2);
    /* a server secret rotated by the CLI is sealed too, and the server uses it */
    snprintf(args, sizeof(args), "secret rotate %s", kek_args);
    out = cli("", args, &st);
    if (st != 0) fail_msg("secret rotate: %s", out);
    free(out);
    expect_token_soon(key);

    /* the CLI without the KEK, or with another, is refused and shows no secret */
    const char *secret = strchr(key, ':') + 1, *secret2 = strchr(key2, ':') + 1;
    out = cli("", "key list", &st);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "encrypted"));
    free(out);
    out = cli("RTAUTHD_KEK=" OTHER_HEX, "key list", &st);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "not the one"));
    assert_null(strstr(out, secret));
    free(out);
    out = cli("RTAUTHD_KEK=" KEK_HEX, "key list", &st);
    assert_int_equal(st, 0);
    assert_null(strstr(out, secret)); /* key list never shows secrets anyway */
    free(out);

    /* nothing in the data directory holds a key secret in plaintext (nor the KEK) */
    assert_int_equal(rta_test_server_stop(&s), 0);
    assert_false(tree_has(dir, secret));
    assert_false(tree_has(dir, secret2));
    assert_false(tree_has(dir, KEK_HEX));

    /* without the KEK, or with another, rtauthd refuses to start, naming the database */
    out = run_server("", "", &st);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "encrypted"));
    assert_non_null(strstr(out, "rtauth.db"));
    assert_null(strstr(out, secret));
    free(out);
    out = run_server("RTAUTHD_KEK=" OTHER_HEX, "", &st);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "not the one"));
    free(out);
    /* a KEK file that others can read is refused */
    assert_int_equal(chmod(kek_file, 0644), 0);
    out = run_server("", kek_args, &st);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "0644"));
    assert_null(strstr(out, KEK_HEX));
    free(out);
    assert_int_equal(chmod(kek_file, 0600), 0);

    /* with the KEK again: the same keys work (RTAUTHD_KEK form) */
    setenv("RTAUTHD_KEK", KEK_HEX, 1);
    assert_int_equal(rta_test_server_start(&s, dir, NULL), 0);
    assert_int_equal(request_token(key), 0);
    assert_int_equal(request_token(key2), 0);
}

/* A data directory written without a KEK (secrets in plaintext, as before KEKs existed) is
 * sealed in place when rtauthd first starts with one; the dev-key file it left is reported. */
static void test_plaintext_dir_sealed_at_start(void **state)
{
    (void)state;
    assert_int_equal(rta_test_server_start(&s, dir, NULL), 0);
    char key[256];
    create_app("", "", key, NULL);
    expect_token_soon(key);
    assert_int_equal(rta_test_server_stop(&s), 0);
    const char *secret = strchr(key, ':') + 1;
    char db[200];
    snprintf(db, sizeof(db), "%s/rtauth.db", dir);
    assert_true(tree_has(db, secret)); /* the premise: plaintext on disk */

    int st;
    char args[200];
    snprintf(args, sizeof(args), "--kek-file %s", kek_file);
    char *out = run_server("", args, &st); /* starts, seals, is stopped by timeout */
    assert_non_null(strstr(out, "encrypted"));
    assert_non_null(strstr(out, "dev-key holds a key secret in plaintext"));
    assert_null(strstr(out, secret));
    free(out);
    char devkey[200];
    snprintf(devkey, sizeof(devkey), "%s/dev-key", dir);
    unlink(devkey); /* as the warning says */
    assert_false(tree_has(dir, secret));

    const char *with_kek[] = {"--kek-file", kek_file, NULL};
    assert_int_equal(rta_test_server_start(&s, dir, with_kek), 0);
    assert_int_equal(request_token(key), 0);
    rta_test_server_stop(&s);
    out = run_server("", "", &st);
    assert_int_equal(st, 1);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sealed_data_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plaintext_dir_sealed_at_start, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
