/* demo_server.c: the backend of the web demo (examples/web/, issue 18). It is the app's auth
 * server, as examples/auth_server.c, plus the page and two controls a real backend would keep
 * for its operators:
 *
 *   RTAUTH_KEY=appId.keyId:secret ./example_web_demo [--listen PORT] [--rtauthd HOST:PORT]
 *                                                    [--ttl MS]
 *   GET  /                       the page (index.html, demo.js from --web-dir, default the
 *   GET  /demo.js                 directory of this source file at build time)
 *   GET  /ably.js                ably-js's browser bundle (node_modules/ably/build/ably.js)
 *   GET  /config                 {"endpoint":..,"port":..}: where the page finds rtauthd
 *   GET  /auth?user=NAME         a TokenRequest for NAME (its capability: the user's grant)
 *   POST /admin/revoke?user=NAME revokeTokens clientId:NAME through rtauthd (needs a key with
 *                                revocable tokens): the page is disconnected with 40141
 *   POST /admin/upgrade?user=NAME NAME's grant gains demo:vip; the page calls authorize()
 *                                and keeps its connection (RTC8)
 *
 * The user's identity comes from a query parameter only because this is a demo: a real
 * backend takes it from its own session and never offers /admin to the users themselves.
 * The key stays here; the browser only ever sees TokenRequests and tokens.
 *
 * One thread per HTTP connection (a browser opens several and may leave one idle), each
 * answering one request and closing; the librtauth client is shared (its calls may come from
 * any thread). Users and grants are a small fixed table in memory. */
#define _POSIX_C_SOURCE 200809L /* sigaction, timeval, realpath */

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <rtauth/rtauth.h>

#ifndef DEMO_WEB_DIR
#define DEMO_WEB_DIR "examples/web"
#endif
#ifndef DEMO_ABLY_BUNDLE
#define DEMO_ABLY_BUNDLE "node_modules/ably/build/ably.js"
#endif

/* What every user may do, and what an upgrade adds (capabilities, RSA6). */
#define BASIC_CAPABILITY "{\"demo:public\":[\"publish\",\"subscribe\",\"presence\"]}"
#define VIP_CAPABILITY                                                                         \
    "{\"demo:public\":[\"publish\",\"subscribe\",\"presence\"],\"demo:vip\":[\"publish\","  \
    "\"subscribe\"]}"
#define MAX_USERS 64

static struct {
    pthread_mutex_t lock;
    rta_rest *rest;
    const char *web_dir, *bundle;
    char config[320]; /* GET /config: where the page finds rtauthd */
    int64_t ttl;
    char users[MAX_USERS][65];
    int vip[MAX_USERS];
    int count;
} demo = {.lock = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void reply(int fd, int status, const char *type, const char *body, size_t len)
{
    char head[320];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                     "Connection: close\r\n\r\n",
                     status, status < 300 ? "OK" : "Error", type, len);
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n && len) send(fd, body, len, MSG_NOSIGNAL);
}

static void reply_text(int fd, int status, const char *body)
{
    reply(fd, status, "text/plain; charset=utf-8", body, strlen(body));
}

static void reply_file(int fd, const char *path, const char *type)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        reply_text(fd, 404, "not found\n");
        return;
    }
    char *data = NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (size >= 0 && size < 8 * 1024 * 1024 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)size + 1)) && fread(data, 1, (size_t)size, f) == (size_t)size)
        reply(fd, 200, type, data, (size_t)size);
    else
        reply_text(fd, 500, "cannot read the file\n");
    free(data);
    fclose(f);
}

/* The value of query parameter `name`: [A-Za-z0-9_-]{1,64} only, so nothing needs decoding. */
static int query_param(const char *target, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    for (const char *p = strchr(target, '?'); p && *p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, name, n) != 0 || p[1 + n] != '=') continue;
        const char *v = p + 2 + n;
        size_t len = strcspn(v, "& ");
        if (len == 0 || len >= size || len > 64) return 0;
        for (size_t i = 0; i < len; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", v[i]))
                return 0;
        memcpy(out, v, len);
        out[len] = '\0';
        return 1;
    }
    return 0;
}

/* The user's slot (created on first sight); -1 when the table is full. Under demo.lock. */
static int user_slot(const char *user)
{
    for (int i = 0; i < demo.count; i++)
        if (!strcmp(demo.users[i], user)) return i;
    if (demo.count == MAX_USERS) return -1;
    snprintf(demo.users[demo.count], sizeof(demo.users[0]), "%s", user);
    demo.vip[demo.count] = 0;
    return demo.count++;
}

static void handle_auth(int fd, const char *user)
{
    pthread_mutex_lock(&demo.lock);
    int slot = user_slot(user);
    const char *capability = slot >= 0 && demo.vip[slot] ? VIP_CAPABILITY : BASIC_CAPABILITY;
    pthread_mutex_unlock(&demo.lock);
    if (slot < 0) {
        reply_text(fd, 503, "too many demo users\n");
        return;
    }
    /* The pattern itself (RSA9): sign a TokenRequest for this user with this grant; the SDK
     * fills in the nonce and timestamp. */
    rta_token_params params = {.client_id = (char *)user, .capability = (char *)capability,
                               .ttl = demo.ttl};
    rta_token_request tr;
    rta_error err;
    char *json = NULL;
    if (rta_auth_create_token_request(rta_rest_auth(demo.rest), &params, NULL, &tr, &err)) {
        fprintf(stderr, "demo: createTokenRequest failed: %d %s\n", err.code, err.message);
        reply_text(fd, 500, "could not sign a token request\n");
        return;
    }
    if (rta_token_request_to_json(&tr, &json) == 0) reply(fd, 200, "application/json", json, strlen(json));
    else reply_text(fd, 500, "could not encode the token request\n");
    free(json);
    rta_token_request_clear(&tr);
}

/* revokeTokens clientId:user (RSA17) with the key, through rtauthd. */
static void handle_revoke(int fd, const char *user)
{
    rta_revocation_target t = {.type = (char *)"clientId", .value = (char *)user};
    rta_revocation_batch result;
    rta_error err;
    char body[256];
    if (rta_auth_revoke_tokens(rta_rest_auth(demo.rest), &t, 1, NULL, &result, &err)) {
        snprintf(body, sizeof(body), "{\"error\":{\"code\":%d,\"message\":\"revokeTokens failed\"}}",
                 err.code);
        reply(fd, 502, "application/json", body, strlen(body));
        return;
    }
    snprintf(body, sizeof(body), "{\"revoked\":%d,\"failed\":%d}", result.success_count,
             result.failure_count);
    rta_revocation_batch_clear(&result);
    reply(fd, 200, "application/json", body, strlen(body));
    printf("demo: revoked the tokens of %s\n", user);
    fflush(stdout);
}

static void handle_upgrade(int fd, const char *user)
{
    pthread_mutex_lock(&demo.lock);
    int slot = user_slot(user);
    if (slot >= 0) demo.vip[slot] = 1;
    pthread_mutex_unlock(&demo.lock);
    if (slot < 0) {
        reply_text(fd, 503, "too many demo users\n");
        return;
    }
    static const char body[] = "{\"capability\":" VIP_CAPABILITY "}";
    reply(fd, 200, "application/json", body, sizeof(body) - 1);
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct timeval tv = {5, 0}; /* a connection the browser opened and left idle */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    char req[8192], method[8], target[1024], user[65];
    ssize_t got = recv(fd, req, sizeof(req) - 1, 0);
    if (got > 0) {
        req[got] = '\0';
        if (sscanf(req, "%7s %1023s", method, target) != 2) {
            reply_text(fd, 400, "bad request\n");
        } else if (!strcmp(method, "GET") && (!strcmp(target, "/") || !strncmp(target, "/?", 2))) {
            char path[1100];
            snprintf(path, sizeof(path), "%s/index.html", demo.web_dir);
            reply_file(fd, path, "text/html; charset=utf-8");
        } else if (!strcmp(method, "GET") && !strcmp(target, "/demo.js")) {
            char path[1100];
            snprintf(path, sizeof(path), "%s/demo.js", demo.web_dir);
            reply_file(fd, path, "text/javascript; charset=utf-8");
        } else if (!strcmp(method, "GET") && !strcmp(target, "/config")) {
            reply(fd, 200, "application/json", demo.config, strlen(demo.config));
        } else if (!strcmp(method, "GET") && !strcmp(target, "/ably.js")) {
            reply_file(fd, demo.bundle, "text/javascript; charset=utf-8");
        } else if (!query_param(target, "user", user, sizeof(user))) {
            reply_text(fd, 404, "not found (or no valid ?user=)\n");
        } else if (!strcmp(method, "GET") && !strncmp(target, "/auth?", 6)) {
            handle_auth(fd, user);
        } else if (!strcmp(method, "POST") && !strncmp(target, "/admin/revoke?", 14)) {
            handle_revoke(fd, user);
        } else if (!strcmp(method, "POST") && !strncmp(target, "/admin/upgrade?", 15)) {
            handle_upgrade(fd, user);
        } else {
            reply_text(fd, 404, "not found\n");
        }
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = 8091;
    const char *rtauthd = "127.0.0.1:8080";
    demo.web_dir = DEMO_WEB_DIR;
    demo.bundle = DEMO_ABLY_BUNDLE;
    demo.ttl = 30000; /* short, so the page shows renewals in place */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--listen")) port = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--rtauthd")) rtauthd = argv[i + 1];
        if (!strcmp(argv[i], "--ttl")) demo.ttl = atoll(argv[i + 1]);
        if (!strcmp(argv[i], "--web-dir")) demo.web_dir = argv[i + 1];
        if (!strcmp(argv[i], "--ably-bundle")) demo.bundle = argv[i + 1];
    }
    const char *key = getenv("RTAUTH_KEY");
    if (!key) {
        fprintf(stderr, "demo: set RTAUTH_KEY to an API key with revocable tokens\n");
        return 2;
    }
    char host[256];
    const char *colon = strrchr(rtauthd, ':');
    if (!colon || (size_t)(colon - rtauthd) >= sizeof(host)) {
        fprintf(stderr, "demo: --rtauthd HOST:PORT\n");
        return 2;
    }
    snprintf(host, sizeof(host), "%.*s", (int)(colon - rtauthd), rtauthd);
    for (const char *c = host; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]", *c)) {
            fprintf(stderr, "demo: --rtauthd HOST:PORT\n");
            return 2;
        }
    snprintf(demo.config, sizeof(demo.config), "{\"endpoint\":\"%s\",\"port\":%d}", host,
             atoi(colon + 1));

    rta_client_options o;
    rta_client_options_init(&o);
    o.auth.key = key;
    o.endpoint = host;
    o.port = atoi(colon + 1);
    o.tls = 0; /* Basic auth without TLS: rtauthd allows it from loopback (RSA1) */
    rta_error err;
    if (rta_rest_create(&o, &demo.rest, &err)) {
        fprintf(stderr, "demo: %d %s\n", err.code, err.message);
        return 1;
    }

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64) ||
        getsockname(fd, (struct sockaddr *)&a, &alen)) {
        perror("demo: listen");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: accept() returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("demo: open http://127.0.0.1:%d/?user=alice (rtauthd at %s)\n", ntohs(a.sin_port),
           rtauthd);
    fflush(stdout);
    while (!stop) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(intptr_t)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
    close(fd);
    rta_rest_destroy(demo.rest);
    return 0;
}
