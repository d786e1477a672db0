/* test_rt_cli.c: `rtauth subscribe` and `rtauth publish` against rtauthd: a message published
 * from the command line (key auth) reaches a command-line subscriber (token auth), which prints
 * it and its connection state changes, text and a JSON object (--json-data); a denied publish
 * exits non-zero with 40160, --json-data with no JSON object or array with 40003. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sdk_test.h"

static char keys[3][256];

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    return 0;
}

static const char *bin(void)
{
    const char *dir = getenv("RTA_BUILD_DIR");
    return dir ? dir : "build";
}

static void test_subscribe_and_publish(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    rta_rest *rest = sdk_rest(&o);
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(rest), NULL, NULL, &d, NULL), 0);
    sdk_add_secret(d.token);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "RTAUTH_TOKEN='%s' RTAUTH_PORT=%d timeout 20 %s/rtauth subscribe room --count 2 "
             "2>&1",
             d.token, sdk_server.port, bin());
    FILE *sub = popen(cmd, "r");
    assert_non_null(sub);
    char out[4096] = "";
    size_t n = 0;
    int published = 0;
    /* publish once the subscriber says it is attached, then read until it exits */
    char line[512];
    while (fgets(line, sizeof(line), sub)) {
        if (n + strlen(line) < sizeof(out)) n += (size_t)snprintf(out + n, sizeof(out) - n, "%s", line);
        if (!published && strstr(line, "attached")) {
            char pub[1024];
            snprintf(pub, sizeof(pub),
                     "RTAUTH_KEY='%s' RTAUTH_PORT=%d timeout 20 %s/rtauth publish room "
                     "'hello cli' --name greet >/dev/null 2>&1",
                     keys[0], sdk_server.port, bin());
            assert_int_equal(system(pub), 0);
            snprintf(pub, sizeof(pub),
                     "RTAUTH_KEY='%s' RTAUTH_PORT=%d timeout 20 %s/rtauth publish room "
                     "'{\"a\": [1, 2]}' --name obj --json-data >/dev/null 2>&1",
                     keys[0], sdk_server.port, bin());
            assert_int_equal(system(pub), 0);
            published = 1;
        }
    }
    int st = pclose(sub);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(strstr(out, "connection: connecting"));
    assert_non_null(strstr(out, "connection: connected"));
    assert_non_null(strstr(out, "greet hello cli"));
    assert_non_null(strstr(out, "obj {\"a\": [1, 2]}")); /* --json-data: an object (RSL4c) */
    rta_token_details_clear(&d);
    rta_rest_destroy(rest);
}

/* Runs `rtauth publish ARGS --json` with key, expects exit status 1 and an Ably error with
 * code in its JSON output. */
static void publish_fails(const char *key, const char *args, int code)
{
    char cmd[1024], want[32];
    snprintf(cmd, sizeof(cmd),
             "RTAUTH_KEY='%s' RTAUTH_PORT=%d timeout 20 %s/rtauth publish %s --json 2>/dev/null",
             key, sdk_server.port, bin(), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[1024];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    snprintf(want, sizeof(want), "\"code\":%d", code);
    assert_non_null(strstr(out, want));
}

static void test_publish_denied(void **state)
{
    (void)state;
    publish_fails(keys[2], "nopub x", 40160);
}

/* --json-data takes a JSON object or array only: anything else is 40003, nothing sent */
static void test_publish_json_data_invalid(void **state)
{
    (void)state;
    publish_fails(keys[0], "room 'not json' --json-data", 40003);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscribe_and_publish),
        cmocka_unit_test(test_publish_denied),
        cmocka_unit_test(test_publish_json_data_invalid),
    };
    return cmocka_run_group_tests(tests, group_setup, sdk_teardown);
}
