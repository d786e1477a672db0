/* gwbench_cluster.c: revocation latency across a cluster (issue 14: 1,000 of 30,000
 * connections over 3 nodes within 200 ms), for scripts/bench-cluster-revoke. A process can
 * hold fewer descriptors than 30,000 connections need, so the connections are held by one
 * process per node and the revocation is sent by another; they share CLOCK_MONOTONIC, so
 * their times compare.
 *
 *   bench_gateway hold HOST PORT KEY --conns N --revoke R
 *     mints N tokens on PORT (Basic requestToken; R with clientId "revoke-me", spread out),
 *     opens N connections to PORT, prints "READY", then waits for R DISCONNECTED 40141 and
 *     prints "LAST <ms> SEEN <r> OTHERS_DROPPED <n> STILL <n>" (<ms>: CLOCK_MONOTONIC of the
 *     last one).
 *   bench_gateway revoke HOST PORT KEY
 *     prints "T0 <ms>" (CLOCK_MONOTONIC as the request is sent) and "STATUS <http status>" of
 *     revokeTokens clientId:revoke-me.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "gwbench.h"

#define CAPABILITY "{\"bench:*\":[\"publish\",\"subscribe\"]}"

static struct {
    char *is_revoked;
    size_t revoke_n, seen, others;
    double t_last;
    int armed; /* connected: a drop now counts */
} H;

static void on_message(gw_fleet *f, gw_client *c, const rta_protocol_message *m)
{
    (void)f;
    if ((m->action != RTA_ACTION_DISCONNECTED && m->action != RTA_ACTION_ERROR) || m->channel)
        return;
    if (H.is_revoked[c->index] && m->error.code == 40141) {
        H.seen++;
        H.t_last = gw_now_ms();
    } else if (H.armed) {
        H.others++;
    }
}

static int settled(gw_fleet *f) { return f->connected + f->closed >= f->n; }
static int all_seen(gw_fleet *f) { (void)f; return H.seen >= H.revoke_n; }

int gw_cluster_hold_main(int argc, char **argv)
{
    if (argc < 5) gw_die("usage: bench_gateway hold HOST PORT KEY --conns N --revoke R");
    const char *host = argv[2], *key = argv[4];
    int port = atoi(argv[3]);
    size_t n = (size_t)atol(gw_arg(argc, argv, "--conns", "10000"));
    H.revoke_n = (size_t)atol(gw_arg(argc, argv, "--revoke", "333"));
    if (!n || !H.revoke_n || H.revoke_n > n) gw_die("need 0 < revoke <= conns");
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < n + 64) gw_die("need %zu descriptors, the limit is %llu", n + 64,
                                         (unsigned long long)rl.rlim_cur);
    }
    gw_http *http = gw_http_new(host, port);
    gw_fleet f;
    gw_fleet_init(&f, host, n, 256);
    f.ports[0] = port;
    f.on_message = on_message;
    H.is_revoked = calloc(n, 1);
    if (!H.is_revoked) gw_die("out of memory");
    gw_fleet_token_paths(&f, http, key, CAPABILITY, H.revoke_n, H.is_revoked);
    gw_fleet_pump(&f);
    if (!gw_fleet_run_until(&f, settled, 300000) || f.connected != n)
        gw_die("connect: %zu of %zu connected (%zu failed, %zu closed)", f.connected, n, f.failed,
               f.closed);
    H.armed = 1;
    printf("READY\n");
    fflush(stdout);
    int all = gw_fleet_run_until(&f, all_seen, 120000);
    gw_fleet_run_for(&f, 1000); /* anything dropped by mistake shows up by now */
    size_t still = 0;
    for (size_t i = 0; i < n; i++)
        if (f.clients[i].state == GW_CONNECTED && !H.is_revoked[i]) still++;
    if (!all) fprintf(stderr, "hold: only %zu of %zu revoked connections saw 40141\n", H.seen,
                      H.revoke_n);
    printf("LAST %.3f SEEN %zu OTHERS_DROPPED %zu STILL %zu\n", H.t_last, H.seen, H.others, still);
    fflush(stdout);
    gw_fleet_free(&f);
    gw_http_free(http);
    free(H.is_revoked);
    return all ? 0 : 1;
}

int gw_cluster_revoke_main(int argc, char **argv)
{
    if (argc < 5) gw_die("usage: bench_gateway revoke HOST PORT KEY");
    gw_http *http = gw_http_new(argv[2], atoi(argv[3]));
    double t0 = gw_now_ms();
    long st = gw_http_revoke(http, argv[4], "clientId:" GW_REVOKED_CLIENT_ID);
    double t1 = gw_now_ms();
    printf("T0 %.3f\nACK %.3f\nSTATUS %ld\n", t0, t1, st);
    gw_http_free(http);
    return st == 201 ? 0 : 1;
}
