/* test_server_config.c: rtauthd's settings, black box: HTTPS with --tls-cert/--tls-key,
 * Basic auth over plain HTTP refused by configuration (40103, S-2), the config file and
 * environment variables, refusing bad settings, and the data directory's permissions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static rta_test_server s;

static int teardown(void **state)
{
    (void)state;
    int rc = s.pid > 0 ? rta_test_server_stop(&s) : 0;
    rta_test_server_cleanup(&s);
    unsetenv("RTAUTHD_BASIC_OVER_HTTP");
    return rc;
}

static long basic_request_token(const char *key, int *code)
{
    char basic[512], path[256];
    rta_test_basic_header(key, basic, sizeof(basic));
    snprintf(path, sizeof(path), "/keys/%.*s/requestToken", (int)(strchr(key, ':') - key), key);
    const char *hdrs[] = {"Content-Type: application/json", basic, NULL};
    rta_test_response r;
    assert_int_equal(rta_test_http(&s, "POST", path, hdrs, "{}", 2, &r), 0);
    long status = r.status;
    *code = r.error_code;
    rta_test_response_free(&r);
    return status;
}

/* S-2: --basic-over-http never refuses Basic without TLS even from loopback; token auth
 * (a signed request needs no Basic) still works. */
static void test_basic_over_http_never(void **state)
{
    (void)state;
    const char *extra[] = {"--basic-over-http", "never", NULL};
    assert_int_equal(rta_test_server_start(&s, NULL, extra), 0);
    char keys[1][256];
    assert_int_equal(rta_test_create_app(&s, "{\"keys\":[{}]}", keys, 1, NULL), 0);
    int code;
    assert_int_equal(basic_request_token(keys[0], &code), 401);
    assert_int_equal(code, 40103);
}

/* The same setting from the environment, and from a config file (flags > env > file). */
static void test_env_and_config_file(void **state)
{
    (void)state;
    char file[128];
    snprintf(file, sizeof(file), "/tmp/rtauth-test-conf-%d", (int)getpid());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "# rtauthd settings\nbasic_over_http = never   # as the flag\nmax_body = 2048\n");
    fclose(f);
    const char *extra[] = {"--config", file, NULL};
    assert_int_equal(rta_test_server_start(&s, NULL, extra), 0);
    char keys[1][256];
    assert_int_equal(rta_test_create_app(&s, "{\"keys\":[{}]}", keys, 1, NULL), 0);
    int code;
    assert_int_equal(basic_request_token(keys[0], &code), 401);
    assert_int_equal(code, 40103);
    /* max_body = 2048 from the file */
    char body[4096];
    memset(body, ' ', sizeof(body));
    body[0] = '{', body[sizeof(body) - 1] = '}';
    const char *hdrs[] = {"Content-Type: application/json", NULL};
    rta_test_response r;
    assert_int_equal(rta_test_http(&s, "POST", "/apps", hdrs, body, sizeof(body), &r), 0);
    assert_int_equal(r.status, 413);
    rta_test_response_free(&r);
    rta_test_server_stop(&s);

    /* environment overrides the file */
    setenv("RTAUTHD_BASIC_OVER_HTTP", "loopback", 1);
    assert_int_equal(rta_test_server_start(&s, s.data_dir, extra), 0);
    assert_int_equal(basic_request_token(keys[0], &code), 200);
    unlink(file);
}

static void test_bad_settings_refused(void **state)
{
    (void)state;
    const char *bd = getenv("RTA_BUILD_DIR");
    char cmd[512];
    static const char *bad[] = {"--listen nocolon", "--basic-over-http sometimes",
                                "--log-level loud", "--tls-cert /nonexistent", "--no-such-flag"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(cmd, sizeof(cmd), "%s/rtauthd %s --data-dir /tmp/rtauth-test-never >/dev/null 2>&1",
                 bd ? bd : "build", bad[i]);
        int st = system(cmd);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 2); /* a clear refusal, not a crash or a start */
    }
    snprintf(cmd, sizeof(cmd), "%s/rtauthd --help >/dev/null 2>&1", bd ? bd : "build");
    assert_int_equal(system(cmd), 0);
}

static size_t sink(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    *(size_t *)ctx += size * n;
    return size * n;
}

/* HTTPS: --tls-cert/--tls-key serve TLS on the same port; Basic auth over TLS is fine even
 * with --basic-over-http never. */
static void test_tls(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/rtauth-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char cmd[1024], cert[128], key[128];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    assert_int_equal(system(cmd), 0);
    const char *extra[] = {"--tls-cert", cert, "--tls-key", key, "--basic-over-http", "never",
                           NULL};
    /* the harness polls plain-HTTP /time, which a TLS listener won't answer: spawn only */
    assert_int_equal(rta_test_server_spawn(&s, dir, extra), 0);
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/time", s.port);
    long status = 0;
    size_t got = 0;
    for (int i = 0; i < 100 && status != 200; i++) {
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CAINFO, cert);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
        if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (status != 200) usleep(100 * 1000);
    }
    assert_int_equal(status, 200); /* verified against the certificate */
    assert_true(got > 2);
}

static size_t collect_headers(char *p, size_t size, size_t n, void *ctx)
{
    char *all = ctx;
    size_t have = strlen(all), len = size * n;
    if (have + len < 4096) {
        memcpy(all + have, p, len);
        all[have + len] = '\0';
    }
    return len;
}

/* A console login over HTTPS from an origin (NULL: none): the status, the headers in hdrs. */
static long console_login_tls(const char *cert, const char *origin, char hdrs[4096])
{
    char url[128], o[160];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/console/api/login", s.port);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (origin) {
        snprintf(o, sizeof(o), "Origin: %s", origin);
        h = curl_slist_append(h, o);
    }
    hdrs[0] = '\0';
    size_t got = 0;
    long status = 0;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CAINFO, cert);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"password\":\"a console password for tests\"}");
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_headers);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return status;
}

/* The console under TLS (issue 18): the session cookie is Secure, and the same-origin rule
 * takes the scheme into account (https://host:port is ours, http://host:port is not). */
static void test_console_tls(void **state)
{
    (void)state;
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/rtauth-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char cmd[1024], cert[128], key[128], pw[128];
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(pw, sizeof(pw), "%s/console-password", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 1 "
             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
             key, cert);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(pw, "w");
    assert_non_null(f);
    fputs("a console password for tests\n", f);
    fclose(f);
    assert_int_equal(chmod(pw, 0600), 0);
    const char *extra[] = {"--tls-cert", cert, "--tls-key", key, "--console",
                           "--console-password-file", pw, NULL};
    assert_int_equal(rta_test_server_spawn(&s, dir, extra), 0);
    char hdrs[4096], origin[96];
    long status = 0;
    for (int i = 0; i < 100 && status != 200; i++) {
        status = console_login_tls(cert, NULL, hdrs);
        if (status != 200) usleep(100 * 1000);
    }
    assert_int_equal(status, 200);
    const char *cookie = strcasestr(hdrs, "set-cookie: rtauthd_console=");
    assert_non_null(cookie);
    const char *eol = strchr(cookie, '\r');
    assert_non_null(eol);
    char line[512];
    snprintf(line, sizeof(line), "%.*s", (int)(eol - cookie), cookie);
    assert_non_null(strstr(line, "; Secure"));
    assert_non_null(strstr(line, "; HttpOnly"));
    assert_non_null(strstr(line, "; SameSite=Strict"));
    assert_non_null(strstr(line, "; Path=/console"));
    snprintf(origin, sizeof(origin), "https://127.0.0.1:%d", s.port);
    assert_int_equal(console_login_tls(cert, origin, hdrs), 200);
    snprintf(origin, sizeof(origin), "http://127.0.0.1:%d", s.port);
    assert_int_equal(console_login_tls(cert, origin, hdrs), 403);
}

static unsigned mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* The data directory holds key secrets: an existing one that others can access is made
 * owner-only at start (it stayed 0755 before), and so is the dev-key file in it. One that is
 * not ours is refused: rtauthd exits non-zero naming the directory and its mode. */
static void test_data_dir_permissions(void **state)
{
    (void)state;
    assert_int_equal(rta_test_server_start(&s, NULL, NULL), 0);
    assert_int_equal(rta_test_server_stop(&s), 0);
    char devkey[300];
    snprintf(devkey, sizeof(devkey), "%s/dev-key", s.data_dir);
    assert_int_equal(mode_of(devkey), 0600);
    assert_int_equal(chmod(s.data_dir, 0755), 0);
    assert_int_equal(chmod(devkey, 0644), 0);
    assert_int_equal(rta_test_server_start(&s, s.data_dir, NULL), 0);
    assert_int_equal(mode_of(s.data_dir), 0700);
    assert_int_equal(mode_of(devkey), 0600);
    assert_int_equal(rta_test_server_stop(&s), 0);

    if (geteuid() != 0) return; /* only root can give a directory away */
    assert_int_equal(chown(s.data_dir, 65534, 65534), 0);
    assert_int_equal(chmod(s.data_dir, 0755), 0);
    const char *bd = getenv("RTA_BUILD_DIR");
    char cmd[1024], log[300];
    snprintf(log, sizeof(log), "/tmp/rtauth-test-perm-%d.log", (int)getpid());
    snprintf(cmd, sizeof(cmd), "%s/rtauthd --listen 127.0.0.1:0 --data-dir %s >/dev/null 2>%s",
             bd ? bd : "build", s.data_dir, log);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_not_equal(WEXITSTATUS(st), 0);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char text[2048] = "";
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(log);
    if (!strstr(text, s.data_dir) || !strstr(text, "0755")) fail_msg("message: %s", text);
    assert_int_equal(mode_of(s.data_dir), 0755); /* not ours: left as it was */
    assert_int_equal(chown(s.data_dir, 0, 0), 0);
}

/* --console (issue 18): never without a credential; the password file must be owner-only
 * (as --kek-file); with both, from a config file, /console serves the page and no CORS. */
static void test_console_settings(void **state)
{
    (void)state;
    const char *bd = getenv("RTA_BUILD_DIR");
    char cmd[1024], pw[128], conf[128];
    snprintf(pw, sizeof(pw), "/tmp/rtauth-test-console-pw-%d", (int)getpid());
    snprintf(conf, sizeof(conf), "/tmp/rtauth-test-console-conf-%d", (int)getpid());
    /* no credential: a refusal at the command line (2), by flag and by environment */
    static const char *no_credential[] = {"--console", "RTAUTHD_CONSOLE=1"};
    for (size_t i = 0; i < 2; i++) {
        int env = i == 1;
        snprintf(cmd, sizeof(cmd), "%s %s/rtauthd %s --listen 127.0.0.1:0 --data-dir "
                 "/tmp/rtauth-test-never >/dev/null 2>&1", env ? no_credential[i] : "",
                 bd ? bd : "build", env ? "" : no_credential[i]);
        int st = system(cmd);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 2);
    }
    /* a password file others can read: rtauthd does not start */
    FILE *f = fopen(pw, "w");
    assert_non_null(f);
    fputs("a console password for tests\n", f);
    fclose(f);
    assert_int_equal(chmod(pw, 0644), 0);
    char dir[128];
    snprintf(dir, sizeof(dir), "/tmp/rtauth-test-console-dir-%d", (int)getpid());
    snprintf(cmd, sizeof(cmd), "%s/rtauthd --listen 127.0.0.1:0 --data-dir %s --console "
             "--console-password-file %s >/dev/null 2>&1", bd ? bd : "build", dir, pw);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_not_equal(WEXITSTATUS(st), 0);
    /* owner-only, from the config file: the page is served, without CORS headers */
    assert_int_equal(chmod(pw, 0600), 0);
    f = fopen(conf, "w");
    assert_non_null(f);
    fprintf(f, "console = true\nconsole_password_file = %s\n", pw);
    fclose(f);
    const char *extra[] = {"--config", conf, NULL};
    assert_int_equal(rta_test_server_start(&s, NULL, extra), 0);
    const char *hdrs[] = {"Origin: http://elsewhere.example", NULL};
    rta_test_response r;
    assert_int_equal(rta_test_http(&s, "GET", "/console/", hdrs, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.content_type, "text/html"));
    assert_non_null(strstr(r.body, "/console/console.js"));
    rta_test_response_free(&r);
    assert_int_equal(rta_test_http(&s, "GET", "/console/api/apps", hdrs, NULL, 0, &r), 0);
    assert_int_equal(r.status, 401);
    assert_int_equal(r.error_code, 40101);
    rta_test_response_free(&r);
    unlink(pw);
    unlink(conf);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_basic_over_http_never, teardown),
        cmocka_unit_test_teardown(test_env_and_config_file, teardown),
        cmocka_unit_test(test_bad_settings_refused),
        cmocka_unit_test_teardown(test_tls, teardown),
        cmocka_unit_test_teardown(test_data_dir_permissions, teardown),
        cmocka_unit_test_teardown(test_console_settings, teardown),
        cmocka_unit_test_teardown(test_console_tls, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
