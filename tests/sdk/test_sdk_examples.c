/* test_sdk_examples.c: the examples work end to end against rtauthd: example_auth_server signs
 * TokenRequests for its authUrl, example_client gets its token through that authUrl and is
 * accepted by rtauthd's realtime gateway with the clientId the backend chose. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sdk_test.h"

static void test_auth_server_and_client(void **state)
{
    (void)state;
    char keys[3][256];
    sdk_new_app(keys);
    const char *dir = getenv("RTA_BUILD_DIR");
    if (!dir) dir = "build";
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/example_auth_server", dir);
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        setenv("RTAUTH_KEY", keys[2], 1);
        execl(bin, bin, "--listen", "0", "--capability", "{\"chan\":[\"subscribe\"]}",
              (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    assert_non_null(fgets(line, sizeof(line), f));
    const char *url = strstr(line, "http://");
    assert_non_null(url);
    char auth_url[128];
    snprintf(auth_url, sizeof(auth_url), "%.*s", (int)strcspn(url, "\n"), url);

    char cmd[1024], reply[4096];
    snprintf(cmd, sizeof(cmd), "%s/example_client --auth-url %s --port %d --user zoe", dir,
             auth_url, sdk_server.port);
    FILE *p = popen(cmd, "r");
    size_t n = fread(reply, 1, sizeof(reply) - 1, p);
    reply[n] = '\0';
    int st = pclose(p);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_non_null(strstr(reply, "token for zoe, capability {\"chan\":[\"subscribe\"]}"));
    assert_non_null(strstr(reply, "\"clientId\":\"zoe\""));
    assert_non_null(fgets(line, sizeof(line), f));
    assert_non_null(strstr(line, "TokenRequest for zoe"));

    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* clean shutdown */
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_auth_server_and_client)};
    return cmocka_run_group_tests(tests, sdk_setup, sdk_teardown);
}
