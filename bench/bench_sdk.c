/* bench_sdk.c: librtauth through its public API, the C side of scripts/bench-sdk (issue 4):
 *
 *   bench_sdk create [N] [ROUNDS]
 *       rta_auth_create_token_request() with the same key and params as
 *       bench/ablyjs_create_token_request.mjs (ttl, a two-entry capability, clientId), then
 *       rta_token_request_clear(): ROUNDS rounds of N calls, the median per-call time
 *       ("sdk_create_us").
 *   bench_sdk request-token HOST PORT KEY SECONDS CONCURRENCY
 *       rta_auth_request_token() round trips against a running rtauthd for SECONDS: a locally
 *       signed TokenRequest, POSTed, TokenDetails parsed; CONCURRENCY threads share one client
 *       (its connections are reused). Prints "sdk_request_token_rps" and the failures.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtauth/rtauth.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int bench_create(int n, int rounds)
{
    rta_client_options o;
    rta_client_options_init(&o);
    o.auth.key = "appId.keyId:secretValue";
    o.log_level = RTA_CLIENT_LOG_NONE;
    rta_rest *rest;
    rta_error err;
    if (rta_rest_create(&o, &rest, &err)) {
        fprintf(stderr, "create: %s\n", err.message);
        return 1;
    }
    rta_auth *auth = rta_rest_auth(rest);
    rta_token_params p = {.ttl = 3600000,
                          .capability = "{\"chan2\":[\"subscribe\",\"publish\"],\"*\":[\"*\"]}",
                          .client_id = "alice"};
    rta_token_request req;
    for (int i = 0; i < 20000; i++) { /* warm up as the node side does */
        rta_auth_create_token_request(auth, &p, NULL, &req, NULL);
        rta_token_request_clear(&req);
    }
    double *per = calloc((size_t)rounds, sizeof(double));
    for (int r = 0; r < rounds; r++) {
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            if (rta_auth_create_token_request(auth, &p, NULL, &req, &err)) {
                fprintf(stderr, "createTokenRequest: %s\n", err.message);
                return 1;
            }
            rta_token_request_clear(&req);
        }
        per[r] = (now_s() - t0) * 1e6 / n;
    }
    qsort(per, (size_t)rounds, sizeof(double), cmp_double);
    rta_auth_create_token_request(auth, &p, NULL, &req, NULL);
    char *json = NULL;
    rta_token_request_to_json(&req, &json);
    printf("sdk sample: %s\n", json);
    printf("sdk_create_us %.4f\n", per[rounds / 2]);
    free(json);
    rta_token_request_clear(&req);
    free(per);
    rta_rest_destroy(rest);
    return 0;
}

typedef struct worker {
    rta_rest *rest;
    double until;
    long ok, failed;
    int last_error;
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    rta_auth *auth = rta_rest_auth(w->rest);
    while (now_s() < w->until) {
        rta_token_details d;
        rta_error err;
        if (rta_auth_request_token(auth, NULL, NULL, &d, &err) == 0) {
            w->ok++;
            rta_token_details_clear(&d);
        } else {
            w->failed++;
            w->last_error = err.code;
        }
    }
    return NULL;
}

static int bench_request_token(const char *host, int port, const char *key, double seconds,
                               int conc)
{
    rta_client_options o;
    rta_client_options_init(&o);
    o.auth.key = key;
    o.endpoint = host;
    o.port = port;
    o.tls = 0;
    o.log_level = RTA_CLIENT_LOG_NONE;
    rta_rest *rest;
    rta_error err;
    if (rta_rest_create(&o, &rest, &err)) {
        fprintf(stderr, "create: %s\n", err.message);
        return 1;
    }
    worker *w = calloc((size_t)conc, sizeof(*w));
    pthread_t *t = calloc((size_t)conc, sizeof(*t));
    double t0 = now_s();
    for (int i = 0; i < conc; i++) {
        w[i] = (worker){rest, t0 + seconds, 0, 0, 0};
        pthread_create(&t[i], NULL, run_worker, &w[i]);
    }
    long ok = 0, failed = 0;
    int last = 0;
    for (int i = 0; i < conc; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        failed += w[i].failed;
        if (w[i].last_error) last = w[i].last_error;
    }
    double elapsed = now_s() - t0;
    printf("sdk_request_token_rps %.1f\n", ok / elapsed);
    if (failed)
        printf("sdk_request_token_failed %ld last %d\n", failed, last);
    else
        printf("sdk_request_token_failed 0\n");
    free(w);
    free(t);
    rta_rest_destroy(rest);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "create"))
        return bench_create(argc > 2 ? atoi(argv[2]) : 200000, argc > 3 ? atoi(argv[3]) : 5);
    if (argc >= 7 && !strcmp(argv[1], "request-token"))
        return bench_request_token(argv[2], atoi(argv[3]), argv[4], atof(argv[5]), atoi(argv[6]));
    fprintf(stderr, "usage: bench_sdk create [N] [ROUNDS]\n"
                    "       bench_sdk request-token HOST PORT KEY SECONDS CONCURRENCY\n");
    return 2;
}
