/* auth_server.c: the app backend of the usual Ably pattern, with librtauth.
 *
 * The backend holds the API key; browsers, phones and devices never see it. They call this
 * server's authUrl, which answers with a TokenRequest signed here by
 * rta_auth_create_token_request (no round trip to rtauthd); the client exchanges it with
 * rtauthd for a token (the SDK does that by itself, see client.c).
 *
 *   RTAUTH_KEY=appId.keyId:secret ./example_auth_server [--listen PORT] [--capability JSON]
 *                                                       [--ttl MS]
 *   GET /auth?user=alice  ->  200 application/json {"keyName":...,"clientId":"alice",...,"mac":...}
 *
 * A real backend takes the user's identity from its own session (a cookie, a bearer token of
 * its own), never from a query parameter as this demo does; and it would serve over HTTPS.
 * A deliberately small blocking loop, one request per connection, so the whole HTTP side fits
 * on a page; anything bigger should use a real HTTP server library.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, timeval, nanosleep: built out of tree with -std=c11 */

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <rtauth/rtauth.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void reply(int fd, int status, const char *content_type, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     status, status == 200 ? "OK" : "Error", content_type, strlen(body));
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n) send(fd, body, strlen(body), MSG_NOSIGNAL);
}

/* The value of query parameter `name` in target ("/auth?user=alice&..."), undecoded: this
 * demo accepts [A-Za-z0-9_-] only, so nothing needs decoding. */
static int query_param(const char *target, const char *name, char *out, size_t size)
{
    const char *q = strchr(target, '?');
    size_t n = strlen(name);
    for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, name, n) != 0 || p[1 + n] != '=') continue;
        const char *v = p + 2 + n;
        size_t len = strcspn(v, "& ");
        if (len == 0 || len >= size) return 0;
        for (size_t i = 0; i < len; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", v[i]))
                return 0;
        memcpy(out, v, len);
        out[len] = '\0';
        return 1;
    }
    return 0;
}

static void handle(int fd, rta_rest *rest, const char *capability, int64_t ttl)
{
    char req[8192];
    ssize_t got = recv(fd, req, sizeof(req) - 1, 0);
    if (got <= 0) return;
    req[got] = '\0';
    char method[8], target[4096];
    if (sscanf(req, "%7s %4095s", method, target) != 2) return;
    if (strncmp(target, "/auth", 5) != 0 || (target[5] != '\0' && target[5] != '?')) {
        reply(fd, 404, "text/plain", "not found\n");
        return;
    }
    char user[65];
    if (!query_param(target, "user", user, sizeof(user))) strcpy(user, "example-user");

    /* The pattern itself: sign a TokenRequest for this user. The SDK fills in the nonce and
     * timestamp; ttl absent (0) means the server's default (60 minutes). */
    rta_token_params params = {.client_id = user, .capability = (char *)capability, .ttl = ttl};
    rta_token_request tr;
    rta_error err;
    if (rta_auth_create_token_request(rta_rest_auth(rest), &params, NULL, &tr, &err)) {
        fprintf(stderr, "auth_server: createTokenRequest failed: %d %s\n", err.code, err.message);
        reply(fd, 500, "text/plain", "could not sign a token request\n");
        return;
    }
    char *json = NULL;
    if (rta_token_request_to_json(&tr, &json) == 0) {
        reply(fd, 200, "application/json", json);
        printf("auth_server: TokenRequest for %s\n", user);
        fflush(stdout);
    }
    free(json);
    rta_token_request_clear(&tr);
}

int main(int argc, char **argv)
{
    int port = 8090;
    const char *capability = NULL;
    int64_t ttl = 0; /* short-lived tokens show renewal (examples/device.c) */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--ttl")) ttl = atoll(argv[i + 1]);
        if (!strcmp(argv[i], "--listen")) port = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--capability")) capability = argv[i + 1];
    }
    const char *key = getenv("RTAUTH_KEY");
    if (!key) {
        fprintf(stderr, "auth_server: set RTAUTH_KEY to an API key\n");
        return 2;
    }

    /* A client that only ever signs locally: it never contacts rtauthd, so endpoint and TLS
     * settings don't matter here. */
    rta_client_options o;
    rta_client_options_init(&o);
    o.auth.key = key;
    rta_rest *rest;
    rta_error err;
    if (rta_rest_create(&o, &rest, &err)) {
        fprintf(stderr, "auth_server: %d %s\n", err.code, err.message);
        return 1;
    }

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
        getsockname(fd, (struct sockaddr *)&a, &alen)) {
        perror("auth_server: listen");
        return 1;
    }
    printf("auth_server: authUrl http://127.0.0.1:%d/auth\n", ntohs(a.sin_port));
    fflush(stdout);

    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: accept() returns */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!stop) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) continue;
        struct timeval tv = {5, 0}; /* a silent client must not stall the loop forever */
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        handle(c, rest, capability, ttl);
        close(c);
    }
    close(fd);
    rta_rest_destroy(rest);
    return 0;
}
