/* bench_realtime.c: librtauth's realtime client through its public API, the C side of
 * scripts/bench-realtime (issue 6); bench/ablyjs_realtime.mjs does the same with ably-js.
 *
 *   bench_realtime connect HOST PORT KEY N
 *       N times, one after the other: a client (key, Basic auth, JSON) created with
 *       auto_connect off, then the time from rta_realtime_connect() to the CONNECTED state
 *       (WebSocket open + CONNECTED frame); the client is destroyed between samples. Prints the
 *       median "rt_connect_ms".
 *   bench_realtime auth HOST PORT KEY N
 *       One client connected with a token; N tokens requested beforehand (not timed); then N
 *       times rta_auth_authorize() with the next token (AuthOptions.token, RSA10e), i.e. AUTH
 *       sent on the live connection until its CONNECTED reply (RTC8a). Prints the median
 *       "rt_auth_ms".
 *   bench_realtime authkey HOST PORT KEY N
 *       authorize() as a key client does it: a TokenRequest signed locally, POST
 *       /keys/{keyName}/requestToken, then AUTH on the live connection until its CONNECTED reply
 *       (RSA10, RTC8a); one warm-up call switches the Basic connection to token auth first.
 *       N times. Prints the median "rt_authkey_ms".
 *   bench_realtime memory HOST PORT KEY N
 *       N idle clients connected at once in this process: (RSS after - RSS before) / N, read
 *       from /proc/self/statm after all are connected and 1 s of quiet. Prints
 *       "rt_idle_conn_kib".
 *   bench_realtime rawauth HOST PORT KEY N
 *       The floor in C, no SDK and no event loop: a blocking socket speaking just enough
 *       WebSocket to send the same AUTH frame and read up to the CONNECTED reply. What the kernel
 *       and rtauthd cost, which no client can go under. Prints the median "rawc_auth_ms".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtauth/rtauth.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *host, *key;
static int port;

static void options(rta_client_options *o)
{
    rta_client_options_init(o);
    o->endpoint = host;
    o->port = port;
    o->tls = 0;
    o->use_binary_protocol = 0; /* JSON, as ably-js is run (useBinaryProtocol: false) */
    o->log_level = RTA_CLIENT_LOG_NONE;
    o->realtime.auto_connect = 0;
}

static rta_realtime *create(const rta_client_options *o)
{
    rta_realtime *rt = NULL;
    rta_error err;
    if (rta_realtime_create(o, &rt, &err)) {
        fprintf(stderr, "create: %d %s\n", err.code, err.message);
        exit(1);
    }
    return rt;
}

static void wait_connected(rta_realtime *rt)
{
    rta_error err;
    if (rta_realtime_wait_state(rt, RTA_CONN_CONNECTED, 10000, &err)) {
        fprintf(stderr, "connect: %d %s\n", err.code, err.message);
        exit(1);
    }
}

/* n tokens from the key over REST, requested before any timing starts */
static char **request_tokens(int n)
{
    rta_client_options o;
    options(&o);
    o.auth.key = key;
    rta_rest *rest;
    rta_error err;
    if (rta_rest_create(&o, &rest, &err)) exit(1);
    char **tokens = calloc((size_t)n, sizeof(char *));
    for (int i = 0; i < n; i++) {
        rta_token_details d;
        if (rta_auth_request_token(rta_rest_auth(rest), NULL, NULL, &d, &err)) {
            fprintf(stderr, "requestToken: %d %s\n", err.code, err.message);
            exit(1);
        }
        tokens[i] = strdup(d.token);
        rta_token_details_clear(&d);
    }
    rta_rest_destroy(rest);
    return tokens;
}

static void free_tokens(char **tokens, int n)
{
    for (int i = 0; i < n; i++)
        free(tokens[i]);
    free(tokens);
}

static int bench_connect(int n)
{
    double *v = calloc((size_t)n, sizeof(double));
    rta_client_options o;
    options(&o);
    o.auth.key = key;
    for (int i = 0; i < n; i++) {
        rta_realtime *rt = create(&o);
        double t0 = now_ms();
        rta_realtime_connect(rt, NULL);
        wait_connected(rt);
        v[i] = now_ms() - t0;
        rta_realtime_destroy(rt);
    }
    printf("rt_connect_ms %.3f\n", median(v, n));
    free(v);
    return 0;
}

static int bench_auth(int n)
{
    char **tokens = request_tokens(n + 1);
    rta_client_options o;
    rta_error err;
    options(&o);
    o.auth.token = tokens[0];
    rta_realtime *rt = create(&o);
    rta_realtime_connect(rt, NULL);
    wait_connected(rt);
    double *v = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
        rta_auth_options ao;
        rta_auth_options_init(&ao);
        ao.token = tokens[i + 1];
        double t0 = now_ms();
        if (rta_auth_authorize(rta_realtime_auth(rt), NULL, &ao, NULL, &err)) {
            fprintf(stderr, "authorize: %d %s\n", err.code, err.message);
            return 1;
        }
        v[i] = now_ms() - t0;
    }
    printf("rt_auth_ms %.3f\n", median(v, n));
    rta_realtime_destroy(rt);
    free_tokens(tokens, n + 1);
    free(v);
    return 0;
}

/* ---- rawauth: a blocking WebSocket client, just enough for one AUTH round trip ---------- */

static void die_io(const char *what)
{
    perror(what);
    exit(1);
}

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w <= 0) die_io("write");
        p += w, len -= (size_t)w;
    }
}

static void read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len) {
        ssize_t r = read(fd, p, len);
        if (r <= 0) die_io("read");
        p += r, len -= (size_t)r;
    }
}

/* One masked text frame (RFC 6455 5.3: a client masks; a zero key keeps the payload as is). */
static void raw_send(int fd, const char *text)
{
    size_t n = strlen(text);
    unsigned char hdr[8] = {0x81};
    size_t h = 2;
    if (n < 126) {
        hdr[1] = (unsigned char)(0x80 | n);
    } else {
        hdr[1] = 0x80 | 126;
        hdr[2] = (unsigned char)(n >> 8), hdr[3] = (unsigned char)n;
        h = 4;
    }
    char *f = malloc(h + 4 + n);
    memcpy(f, hdr, h);
    memset(f + h, 0, 4);
    memcpy(f + h + 4, text, n);
    write_all(fd, f, h + 4 + n);
    free(f);
}

/* Reads server frames (unmasked) until a text frame holding action 4 (CONNECTED). */
static void raw_until_connected(int fd)
{
    static char buf[1 << 16];
    for (;;) {
        unsigned char h[2];
        read_all(fd, h, 2);
        uint64_t n = h[1] & 0x7f;
        if (n == 126) {
            unsigned char e[2];
            read_all(fd, e, 2);
            n = (uint64_t)e[0] << 8 | e[1];
        } else if (n == 127) {
            fprintf(stderr, "rawauth: frame too large\n");
            exit(1);
        }
        if (n >= sizeof(buf)) exit(1);
        read_all(fd, buf, (size_t)n);
        buf[n] = 0;
        if ((h[0] & 0x0f) == 1 && strstr(buf, "\"action\":4")) return;
    }
}

static int raw_open(const char *token)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) die_io("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "GET /?v=6&format=json&heartbeats=false&access_token=%s HTTP/1.1\r\n"
                     "Host: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     token, host, port);
    write_all(fd, req, (size_t)n);
    char c, last[4] = {0};
    while (memcmp(last, "\r\n\r\n", 4)) { /* the 101 response's headers */
        read_all(fd, &c, 1);
        memmove(last, last + 1, 3);
        last[3] = c;
    }
    raw_until_connected(fd);
    return fd;
}

static int bench_rawauth(int n)
{
    char **tokens = request_tokens(n + 1);
    int fd = raw_open(tokens[0]);
    double *v = calloc((size_t)n, sizeof(double));
    char frame[1024];
    for (int i = 0; i < n; i++) {
        snprintf(frame, sizeof(frame), "{\"action\":17,\"auth\":{\"accessToken\":\"%s\"}}",
                 tokens[i + 1]);
        double t0 = now_ms();
        raw_send(fd, frame);
        raw_until_connected(fd);
        v[i] = now_ms() - t0;
    }
    printf("rawc_auth_ms %.3f\n", median(v, n));
    close(fd);
    free_tokens(tokens, n + 1);
    free(v);
    return 0;
}

static int bench_authkey(int n)
{
    rta_client_options o;
    rta_error err;
    options(&o);
    o.auth.key = key;
    rta_realtime *rt = create(&o);
    rta_realtime_connect(rt, NULL);
    wait_connected(rt);
    double *v = calloc((size_t)n, sizeof(double));
    for (int i = -1; i < n; i++) { /* i == -1: the warm-up, Basic to token auth */
        double t0 = now_ms();
        if (rta_auth_authorize(rta_realtime_auth(rt), NULL, NULL, NULL, &err)) {
            fprintf(stderr, "authorize: %d %s\n", err.code, err.message);
            return 1;
        }
        if (i >= 0) v[i] = now_ms() - t0;
    }
    printf("rt_authkey_ms %.3f\n", median(v, n));
    rta_realtime_destroy(rt);
    free(v);
    return 0;
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    if (f) fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int bench_memory(int n)
{
    rta_client_options o;
    options(&o);
    o.auth.key = key;
    /* one client first, so one-time costs (libraries, TLS/lws globals) are not counted */
    rta_realtime *warm = create(&o);
    rta_realtime_connect(warm, NULL);
    wait_connected(warm);
    usleep(200000);
    long before = rss_kib();
    rta_realtime **rts = calloc((size_t)n, sizeof(*rts));
    for (int i = 0; i < n; i++) {
        rts[i] = create(&o);
        rta_realtime_connect(rts[i], NULL);
    }
    for (int i = 0; i < n; i++)
        wait_connected(rts[i]);
    sleep(1);
    long after = rss_kib();
    printf("rt_idle_conn_kib %.1f\n", (double)(after - before) / n);
    for (int i = 0; i < n; i++)
        rta_realtime_destroy(rts[i]);
    rta_realtime_destroy(warm);
    free(rts);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr,
                "usage: bench_realtime connect|auth|authkey|memory|rawauth HOST PORT KEY N\n");
        return 2;
    }
    host = argv[2];
    port = atoi(argv[3]);
    key = argv[4];
    int n = atoi(argv[5]);
    if (n < 1) n = 1;
    if (!strcmp(argv[1], "connect")) return bench_connect(n);
    if (!strcmp(argv[1], "auth")) return bench_auth(n);
    if (!strcmp(argv[1], "memory")) return bench_memory(n);
    if (!strcmp(argv[1], "rawauth")) return bench_rawauth(n);
    if (!strcmp(argv[1], "authkey")) return bench_authkey(n);
    return 2;
}
