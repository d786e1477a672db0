/* harness.c: see harness.h. Uses the real binary from RTA_BUILD_DIR. */
#include "harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base64.h"
#include "core/buf.h"

long long rta_test_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Servers still running when the test process exits (an assertion failed before its stop)
 * are killed, so a failing test never leaves a server holding CTest's output pipe open. */
#define MAX_SERVERS 16
static pid_t live[MAX_SERVERS];

static void kill_leftovers(void)
{
    for (int i = 0; i < MAX_SERVERS; i++)
        if (live[i] > 0) {
            kill(live[i], SIGKILL);
            waitpid(live[i], NULL, 0);
            live[i] = 0;
        }
}

static void track(pid_t pid, int add)
{
    static int registered;
    if (!registered) registered = atexit(kill_leftovers) == 0;
    for (int i = 0; i < MAX_SERVERS; i++)
        if (add ? live[i] == 0 : live[i] == pid) {
            live[i] = add ? pid : 0;
            return;
        }
}

static int spawn_on(rta_test_server *s, const char *data_dir, int port, const char *const *extra)
{
    char dir[sizeof(s->data_dir)] = "";
    if (data_dir) snprintf(dir, sizeof(dir), "%s", data_dir); /* may point into *s */
    memset(s, 0, sizeof(*s));
    if (data_dir) {
        snprintf(s->data_dir, sizeof(s->data_dir), "%s", dir);
    } else {
        snprintf(s->data_dir, sizeof(s->data_dir), "/tmp/rtauth-test-XXXXXX");
        if (!mkdtemp(s->data_dir)) return -1;
    }
    s->port = port > 0 ? port : free_port();
    if (s->port < 0) return -1;
    snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%d", s->port);
    const char *build = getenv("RTA_BUILD_DIR");
    char bin[512], listen[64];
    snprintf(bin, sizeof(bin), "%s/rtauthd", build ? build : "build");
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    const char *level = getenv("RTA_TEST_LOG_LEVEL"); /* e.g. debug, to see what a test did */
    const char *argv[32] = {bin, "--listen", listen, "--data-dir", s->data_dir, "--sandbox",
                            "--log-level", level ? level : "warn"};
    int argc = 8;
    for (int i = 0; extra && extra[i] && argc < 31; i++) argv[argc++] = extra[i];
    argv[argc] = NULL;
    s->pid = fork();
    if (s->pid < 0) return -1;
    if (s->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, STDOUT_FILENO); /* the dev-key banner */
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    track(s->pid, 1);
    return 0;
}

int rta_test_server_spawn(rta_test_server *s, const char *data_dir, const char *const *extra)
{
    return spawn_on(s, data_dir, 0, extra);
}

static int wait_ready(rta_test_server *s)
{
    for (int i = 0; i < 200; i++) { /* up to 10 s */
        rta_test_response r;
        int ok = rta_test_http(s, "GET", "/time", NULL, NULL, 0, &r) == 0 && r.status == 200;
        rta_test_response_free(&r);
        if (ok) return 0;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            track(s->pid, 0);
            s->pid = 0;
            return -1;
        }
        usleep(50000);
    }
    return -1;
}

int rta_test_server_start(rta_test_server *s, const char *data_dir, const char *const *extra)
{
    if (rta_test_server_spawn(s, data_dir, extra)) return -1;
    return wait_ready(s);
}

int rta_test_server_restart(rta_test_server *s, const char *const *extra)
{
    int port = s->port;
    char dir[sizeof(s->data_dir)];
    snprintf(dir, sizeof(dir), "%s", s->data_dir);
    if (s->pid > 0) rta_test_server_stop(s);
    for (int i = 0; i < 40; i++) { /* the port may take a moment to be free again */
        if (spawn_on(s, dir, port, extra)) return -1;
        if (wait_ready(s) == 0) return 0;
        if (s->pid > 0) rta_test_server_kill(s);
        usleep(100000);
    }
    return -1;
}

int rta_test_server_stop(rta_test_server *s)
{
    if (s->pid <= 0) return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    waitpid(s->pid, &st, 0);
    track(s->pid, 0);
    s->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void rta_test_server_kill(rta_test_server *s)
{
    if (s->pid <= 0) return;
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    track(s->pid, 0);
    s->pid = 0;
}

void rta_test_server_cleanup(rta_test_server *s)
{
    char cmd[400];
    if (strncmp(s->data_dir, "/tmp/rtauth-test-", 17) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->data_dir);
        if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", s->data_dir);
    }
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    rta_buf_append(ctx, p, size * n);
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    rta_test_response *r = ctx;
    size_t len = size * n;
    char line[512];
    size_t l = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
    memcpy(line, p, l);
    line[l] = '\0';
    char *end = strpbrk(line, "\r\n");
    if (end) *end = '\0';
    if (!strncasecmp(line, "content-type: ", 14))
        snprintf(r->content_type, sizeof(r->content_type), "%.127s", line + 14);
    else if (!strncasecmp(line, "x-ably-errorcode: ", 18))
        r->error_code = atoi(line + 18);
    else if (!strncasecmp(line, "x-ably-errormessage: ", 21))
        snprintf(r->error_message, sizeof(r->error_message), "%.255s", line + 21);
    return len;
}

int rta_test_http(const rta_test_server *s, const char *method, const char *path,
                  const char *const *headers, const void *body, size_t body_len,
                  rta_test_response *out)
{
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    if (!c) return -1;
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", s->base_url, path);
    rta_buf b = RTA_BUF_INIT;
    struct curl_slist *h = NULL;
    for (int i = 0; headers && headers[i]; i++) h = curl_slist_append(h, headers[i]);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (!b.data) rta_buf_append(&b, "", 0);
    out->body = rta_buf_detach(&b, &out->body_len);
    return rc == CURLE_OK ? 0 : -1;
}

void rta_test_response_free(rta_test_response *r)
{
    free(r->body);
    r->body = NULL;
}

void rta_test_basic_header(const char *key, char *out, size_t size)
{
    rta_buf b = RTA_BUF_INIT;
    rta_buf_puts(&b, "Authorization: Basic ");
    rta_base64_encode(&b, key, strlen(key), RTA_BASE64_STD);
    snprintf(out, size, "%s", b.data);
    rta_buf_free(&b);
}

void rta_test_bearer_header(const char *token, char *out, size_t size)
{
    rta_buf b = RTA_BUF_INIT;
    rta_buf_puts(&b, "Authorization: Bearer ");
    rta_base64_encode(&b, token, strlen(token), RTA_BASE64_STD);
    snprintf(out, size, "%s", b.data);
    rta_buf_free(&b);
}

int rta_test_create_app(const rta_test_server *s, const char *body_json, char keys[][256],
                        size_t max, char app_id[64])
{
    const char *hdr[] = {"Content-Type: application/json", NULL};
    rta_test_response r;
    if (rta_test_http(s, "POST", "/apps", hdr, body_json, strlen(body_json), &r) ||
        r.status != 201) {
        fprintf(stderr, "POST /apps: %ld %s\n", r.status, r.body ? r.body : "");
        rta_test_response_free(&r);
        return -1;
    }
    json_t *root = json_loads(r.body, 0, NULL);
    rta_test_response_free(&r);
    if (!root) return -1;
    if (app_id) snprintf(app_id, 64, "%s", json_string_value(json_object_get(root, "appId")));
    json_t *arr = json_object_get(root, "keys");
    for (size_t i = 0; i < json_array_size(arr) && i < max; i++)
        snprintf(keys[i], 256, "%s",
                 json_string_value(json_object_get(json_array_get(arr, i), "keyStr")));
    json_decref(root);
    return 0;
}
