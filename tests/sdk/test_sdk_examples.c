/* test_sdk_examples.c: the examples work end to end against rtauthd: example_auth_server signs
 * TokenRequests for its authUrl, example_client gets its token through that authUrl and is
 * accepted by rtauthd's realtime gateway with the clientId the backend chose; example_device
 * stays connected on 3-second tokens from that authUrl across several renewals (each a resume
 * of the same connection) and a restart of rtauthd (a new connection), its messages flowing
 * after each. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sdk_test.h"

/* Children still running when a test fails are killed by its teardown. */
static pid_t children[2];

static int kill_children(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++)
        if (children[i] > 0) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
    return 0;
}

/* Starts example_auth_server for keys with extra args; its authUrl into auth_url. */
static pid_t start_auth_server(const char *key, const char *ttl, FILE **out, char auth_url[128])
{
    const char *dir = getenv("RTA_BUILD_DIR");
    if (!dir) dir = "build";
    char bin[512];
    snprintf(bin, sizeof(bin), "%s/example_auth_server", dir);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        setenv("RTAUTH_KEY", key, 1);
        execl(bin, bin, "--listen", "0", "--ttl", ttl, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    *out = fdopen(fds[0], "r");
    char line[256] = "";
    assert_non_null(fgets(line, sizeof(line), *out));
    const char *url = strstr(line, "http://");
    assert_non_null(url);
    snprintf(auth_url, 128, "%.*s", (int)strcspn(url, "\n"), url);
    return pid;
}

/* A child's stdout read line by line with a deadline (the child may hang: never block). */
typedef struct lines {
    int fd;
    char buf[16384];
    size_t len;
} lines;

static int next_line(lines *l, char *line, size_t size, long long until_ms)
{
    for (;;) {
        char *nl = memchr(l->buf, '\n', l->len);
        if (nl) {
            size_t n = (size_t)(nl - l->buf);
            snprintf(line, size, "%.*s", (int)n, l->buf);
            memmove(l->buf, nl + 1, l->len - n - 1);
            l->len -= n + 1;
            return 1;
        }
        long long left = until_ms - sdk_now_ms();
        struct pollfd pf = {.fd = l->fd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0 || l->len == sizeof(l->buf)) return 0;
        ssize_t got = read(l->fd, l->buf + l->len, sizeof(l->buf) - l->len);
        if (got <= 0) return 0;
        l->len += (size_t)got;
    }
}

/* What the device printed since the last call, summed up. */
typedef struct device_log {
    int connected;        /* "connection connected" lines */
    int expired;          /* disconnected with 40142 */
    int resume_failed;    /* connected with 80008 */
    int messages;         /* "message tick" lines */
    int failed_publishes; /* "publish failed" lines */
    int failed;           /* the connection went failed */
    char last_id[128];    /* connection id of the last connected line */
} device_log;

/* Reads the device's output until pred(d) holds or ms pass. Returns 1 when it held. */
static int device_until(lines *l, device_log *d, int (*pred)(const device_log *), int ms)
{
    long long until = sdk_now_ms() + ms;
    char line[512];
    while (!pred(d)) {
        if (!next_line(l, line, sizeof(line), until)) return 0;
        if (getenv("RTA_SDK_TEST_LOG")) fprintf(stderr, "device: %s\n", line);
        const char *id = strstr(line, " id=");
        if (!strncmp(line, "connection connected", 20)) {
            d->connected++;
            if (strstr(line, "reason=80008")) d->resume_failed++;
            if (id)
                snprintf(d->last_id, sizeof(d->last_id), "%.*s", (int)strcspn(id + 4, " "), id + 4);
        } else if (!strncmp(line, "connection disconnected", 23) && strstr(line, "=40142")) {
            d->expired++;
        } else if (!strncmp(line, "connection failed", 17)) {
            d->failed++;
        } else if (!strncmp(line, "message tick ", 13)) {
            d->messages++;
        } else if (!strncmp(line, "publish failed", 14)) {
            d->failed_publishes++;
        }
    }
    return 1;
}

static int got_message(const device_log *d)
{
    return d->messages > 0;
}

static int got_connected(const device_log *d)
{
    return d->connected > 0;
}

static int got_expiry(const device_log *d)
{
    return d->expired > 0;
}

/* One renewal: the token expires (40142), the device reconnects (a resume: same id), and its
 * own ticks come back through rtauthd afterwards. */
static void renewal(lines *l, const char *id)
{
    device_log d = {0};
    assert_true(device_until(l, &d, got_expiry, 10000));
    d = (device_log){0};
    assert_true(device_until(l, &d, got_connected, 10000));
    assert_int_equal(d.resume_failed, 0);
    assert_string_equal(d.last_id, id);
    d = (device_log){0};
    assert_true(device_until(l, &d, got_message, 5000));
    assert_int_equal(d.failed, 0);
}

static void test_device_renewals_and_restart(void **state)
{
    (void)state;
    char keys[3][256], auth_url[128];
    sdk_new_app(keys);
    FILE *auth_out;
    pid_t auth = children[0] = start_auth_server(keys[0], "3000", &auth_out, auth_url);
    const char *dir = getenv("RTA_BUILD_DIR");
    if (!dir) dir = "build";
    char bin[512], port[16];
    snprintf(bin, sizeof(bin), "%s/example_device", dir);
    snprintf(port, sizeof(port), "%d", sdk_server.port);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t dev = children[1] = fork();
    assert_true(dev >= 0);
    if (dev == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        execl(bin, bin, "--auth-url", auth_url, "--port", port, "--channel", "dev",
              "--publish-every", "200", "--retry-ms", "300", "--duration", "120", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    lines l = {.fd = fds[0]};
    device_log d = {0};
    assert_true(device_until(&l, &d, got_connected, 10000));
    char id[128];
    snprintf(id, sizeof(id), "%s", d.last_id);
    assert_true(id[0] != '\0');
    d = (device_log){0};
    assert_true(device_until(&l, &d, got_message, 5000));
    for (int i = 0; i < 3; i++) /* three renewals, one connection */
        renewal(&l, id);

    /* rtauthd restarts: the resume fails, a new connection, the channel re-attached */
    assert_int_equal(rta_test_server_restart(&sdk_server, NULL), 0);
    d = (device_log){0};
    assert_true(device_until(&l, &d, got_connected, 15000));
    assert_int_equal(d.resume_failed, 1);
    assert_string_not_equal(d.last_id, id);
    snprintf(id, sizeof(id), "%s", d.last_id);
    d = (device_log){0};
    assert_true(device_until(&l, &d, got_message, 5000));
    renewal(&l, id); /* and renewals go on on the new connection */

    kill(dev, SIGTERM);
    int st;
    assert_int_equal(waitpid(dev, &st, 0), dev);
    children[1] = 0;
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fds[0]);
    kill(auth, SIGTERM);
    assert_int_equal(waitpid(auth, &st, 0), auth);
    children[0] = 0;
    fclose(auth_out);
}

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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_server_and_client),
        cmocka_unit_test_teardown(test_device_renewals_and_restart, kill_children)};
    return cmocka_run_group_tests(tests, sdk_setup, sdk_teardown);
}
