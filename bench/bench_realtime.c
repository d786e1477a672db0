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
 *   bench_realtime memory HOST PORT KEY N
 *       N idle clients connected at once in this process: (RSS after - RSS before) / N, read
 *       from /proc/self/statm after all are connected and 1 s of quiet. Prints
 *       "rt_idle_conn_kib".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    rta_client_options o;
    options(&o);
    o.auth.key = key;
    rta_rest *rest;
    rta_error err;
    if (rta_rest_create(&o, &rest, &err)) return 1;
    char **tokens = calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i <= n; i++) {
        rta_token_details d;
        if (rta_auth_request_token(rta_rest_auth(rest), NULL, NULL, &d, &err)) {
            fprintf(stderr, "requestToken: %d %s\n", err.code, err.message);
            return 1;
        }
        tokens[i] = strdup(d.token);
        rta_token_details_clear(&d);
    }
    rta_rest_destroy(rest);
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
    for (int i = 0; i <= n; i++)
        free(tokens[i]);
    free(tokens);
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
        fprintf(stderr, "usage: bench_realtime connect|auth|memory HOST PORT KEY N\n");
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
    return 2;
}
