/* bench_gateway.c: load generator for rtauthd's realtime gateway (issue 5, Benchmarks), a
 * libwebsockets client in its own process against a real rtauthd. Run by scripts/bench-gateway.
 *
 *   bench_gateway load HOST PORT PID [--conns N] [--revoke R] [--samples S] [--inflight K]
 *     1. N token-authenticated connections (tokens minted with Basic requestToken): connect
 *        rate, and rtauthd's VmRSS growth per connection (PID is the server's);
 *     2. in-band AUTH round trips under that load: S connections each send AUTH with a fresh
 *        token, K at a time, timed from the frame's write to the CONNECTED reply;
 *     3. revokeTokens by clientId matching R of the N connections: from sending the request
 *        to the last DISCONNECTED 40141, and how many other connections were dropped.
 *   bench_gateway fanout ...   publish-to-delivery fan-out, see gwbench_fanout.c.
 *   bench_gateway hold ... / revoke ...   revocation latency across a cluster's nodes, see
 *     gwbench_cluster.c.
 *   bench_gateway scale ... / timeprobe ...   one generator of make bench-scale (100,000
 *     connections over several processes), and its GET /time prober: gwbench_scale.c.
 *   bench_gateway floor N ...   the loopback floor under a revocation round: gwbench_floor.c.
 *
 * Prints how each figure was measured, then `BENCH <name> <value> <unit>` lines.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwbench.h"

#define CAPABILITY                                                                                 \
    "{\"bench:*\":[\"publish\",\"subscribe\"],\"private:*\":[\"subscribe\"],"                      \
    "\"presence:*\":[\"presence\",\"subscribe\"]}"

const char *gw_arg(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return def;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double gw_percentile(double *v, size_t n, double p)
{
    if (!n) return 0;
    qsort(v, n, sizeof(*v), cmp_double);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* ---- the load run ------------------------------------------------------------------------ */

typedef enum { PH_CONNECT, PH_AUTH, PH_REVOKE } phase;

typedef struct load {
    phase ph;
    size_t n, revoke_n;
    char *is_revoked;      /* per client: its token has clientId GW_REVOKED_CLIENT_ID */
    gw_auth_sampler auth;
    /* revoke */
    size_t revoked_seen, other_dropped;
    double t_last_revoked;
} load;

static load L;

static void on_message(gw_fleet *f, gw_client *c, const rta_protocol_message *m)
{
    if (L.ph == PH_AUTH && gw_auth_on_message(&L.auth, f, c, m)) return; /* next one sent */
    if (m->action == RTA_ACTION_DISCONNECTED || m->action == RTA_ACTION_ERROR) {
        if (m->channel) return;
        if (L.ph == PH_REVOKE && L.is_revoked[c->index] && m->error.code == 40141) {
            L.revoked_seen++;
            L.t_last_revoked = gw_now_ms();
        } else if (L.ph != PH_CONNECT) {
            L.other_dropped++;
            fprintf(stderr, "client %d: unexpected %s %d %s\n", c->index,
                    m->action == RTA_ACTION_ERROR ? "ERROR" : "DISCONNECTED", m->error.code,
                    m->error.message);
        }
    }
}

static int all_settled(gw_fleet *f) { return f->connected + f->closed >= f->n; }
static int auth_finished(gw_fleet *f) { (void)f; return gw_auth_finished(&L.auth); }
static int revoke_finished(gw_fleet *f) { (void)f; return L.revoked_seen >= L.revoke_n; }

typedef struct revoker {
    gw_http *http;
    const char *key;
    double t0;
    long status;
} revoker;

static void *revoke_thread(void *arg)
{
    revoker *r = arg;
    r->t0 = gw_now_ms(); /* the clock starts as the request is sent */
    r->status = gw_http_revoke(r->http, r->key, "clientId:" GW_REVOKED_CLIENT_ID);
    return NULL;
}

static int load_main(int argc, char **argv)
{
    if (argc < 5) gw_die("usage: bench_gateway load HOST PORT PID [options]");
    const char *host = argv[2];
    int port = atoi(argv[3]), pid = atoi(argv[4]);
    L.n = (size_t)atol(gw_arg(argc, argv, "--conns", "10000"));
    L.revoke_n = (size_t)atol(gw_arg(argc, argv, "--revoke", "1000"));
    size_t samples = (size_t)atol(gw_arg(argc, argv, "--samples", "5000"));
    size_t in_flight = (size_t)atol(gw_arg(argc, argv, "--inflight", "4"));
    size_t handshakes = (size_t)atol(gw_arg(argc, argv, "--handshakes", "256"));
    if (!L.n || !L.revoke_n || L.revoke_n > L.n || samples > L.n - L.revoke_n)
        gw_die("need 0 < revoke <= conns and samples <= conns - revoke");
    gw_raise_fd_limit(L.n + 64);

    gw_http *http = gw_http_new(host, port);
    char *key = gw_http_create_app(http);
    long rss_fresh = gw_vmrss_kib(pid); /* before the requestToken calls, for reference */

    /* Tokens: every (n / revoke_n)-th connection gets clientId GW_REVOKED_CLIENT_ID, the rest
     * clientId c<i>; one token per connection, plus a fresh one per AUTH sample. */
    gw_fleet f;
    gw_fleet_init(&f, host, L.n, handshakes);
    f.ports[0] = port;
    f.on_message = on_message;
    L.is_revoked = calloc(L.n, 1);
    gw_auth_init(&L.auth, L.n, samples, in_flight);
    char *chosen = calloc(L.n, 1);
    if (!L.is_revoked || !chosen) gw_die("out of memory");
    double t_mint = gw_now_ms();
    gw_fleet_token_paths(&f, http, key, CAPABILITY, L.revoke_n, L.is_revoked);
    for (size_t i = 0; L.auth.samples < samples; i++) { /* distinct connections, spread out */
        size_t ci = (i * 7919) % L.n;
        if (L.is_revoked[ci] || chosen[ci]) continue;
        chosen[ci] = 1;
        char cid[32];
        snprintf(cid, sizeof(cid), "c%zu", ci);
        gw_auth_add(&L.auth, (int)ci, gw_http_request_token(http, key, cid, CAPABILITY));
    }
    free(chosen);
    t_mint = gw_now_ms() - t_mint;

    /* 1. connect everything */
    gw_fleet_run_for(&f, 500); /* let the server settle after minting */
    long rss0 = gw_vmrss_kib(pid);
    double t0 = gw_now_ms();
    gw_fleet_pump(&f);
    if (!gw_fleet_run_until(&f, all_settled, 180000))
        gw_die("connect: only %zu of %zu connected within 180 s", f.connected, f.n);
    if (f.connected != f.n)
        gw_die("connect: %zu connected, %zu failed, %zu closed", f.connected, f.failed, f.closed);
    double connect_s = (f.t_last_connected - t0) / 1000;
    size_t connected = f.connected;
    gw_fleet_run_for(&f, 1000);
    long rss1 = gw_vmrss_kib(pid);
    if (rss0 < 0 || rss1 < 0) gw_die("cannot read /proc/%d/status", pid);
    double per_conn_kib = (double)(rss1 - rss0) / (double)L.n;

    /* 2. in-band AUTH round trips under that load */
    L.ph = PH_AUTH;
    double ta = gw_now_ms();
    gw_auth_start(&L.auth, &f);
    if (!gw_fleet_run_until(&f, auth_finished, 120000))
        gw_die("AUTH: %zu of %zu answered within 120 s", L.auth.done, L.auth.samples);
    ta = gw_now_ms() - ta;
    double p50 = gw_percentile(L.auth.ms, L.auth.samples, 0.50);
    double p99 = gw_percentile(L.auth.ms, L.auth.samples, 0.99);
    double pmax = L.auth.ms[L.auth.samples ? L.auth.samples - 1 : 0];
    if (L.auth.wrong)
        gw_die("AUTH: %zu replies were not CONNECTED on the same connection", L.auth.wrong);

    /* 3. revokeTokens by clientId, matching revoke_n connections */
    L.ph = PH_REVOKE;
    size_t closed_before = f.closed;
    revoker r = {gw_http_new(host, port), key, 0, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, revoke_thread, &r)) gw_die("pthread_create");
    int all = gw_fleet_run_until(&f, revoke_finished, 10000);
    pthread_join(th, NULL);
    if (r.status != 201) gw_die("revokeTokens -> %ld", r.status);
    if (!all) gw_die("revoke: %zu of %zu DISCONNECTED 40141 within 10 s", L.revoked_seen, L.revoke_n);
    double revoke_ms = L.t_last_revoked - r.t0;
    gw_fleet_run_for(&f, 1000); /* anything dropped by mistake shows up by now */
    size_t still = 0, others_gone = 0;
    for (size_t i = 0; i < L.n; i++) {
        if (f.clients[i].state == GW_CONNECTED && !L.is_revoked[i]) still++;
        if (f.clients[i].state != GW_CONNECTED && !L.is_revoked[i]) others_gone++;
    }

    printf("gateway load: %zu token connections (capability with 3 patterns; %zu with clientId "
           "%s, the rest c<i>), %zu handshakes in flight; tokens minted in %.1f s (not timed)\n",
           L.n, L.revoke_n, GW_REVOKED_CLIENT_ID, handshakes, t_mint / 1000);
    printf("  connect: %zu CONNECTED in %.2f s (first connect to last CONNECTED)\n", connected,
           connect_s);
    printf("  rss: rtauthd VmRSS %ld KiB before connecting, %ld KiB 1 s after the last "
           "CONNECTED: (after - before) / %zu (from %ld KiB before minting tokens: %.2f KiB)\n",
           rss0, rss1, L.n, rss_fresh, (double)(rss1 - rss_fresh) / (double)L.n);
    printf("  auth: %zu AUTH with fresh tokens on distinct connections, %zu in flight, over %.2f "
           "s; write of AUTH to CONNECTED (same connectionId); max %.2f ms\n",
           L.auth.samples, L.auth.max_in_flight, ta / 1000, pmax);
    printf("  revoke: POST revokeTokens clientId:%s (SQLite-durable before enforcement), "
           "%zu/%zu DISCONNECTED 40141; %zu others still connected 1 s later, %zu others "
           "dropped (%zu closes during the phase)\n",
           GW_REVOKED_CLIENT_ID, L.revoked_seen, L.revoke_n, still, others_gone,
           f.closed - closed_before);
    printf("BENCH gateway_connect_rate %.0f conn/s\n", (double)L.n / connect_s);
    printf("BENCH gateway_rss_per_connection %.2f KiB\n", per_conn_kib);
    printf("BENCH gateway_auth_rtt_p50 %.3f ms\n", p50);
    printf("BENCH gateway_auth_rtt_p99 %.3f ms\n", p99);
    printf("BENCH gateway_revoke_1000_of_10000 %.1f ms\n", revoke_ms);
    printf("BENCH gateway_revoke_other_dropped %zu conns\n", others_gone + L.other_dropped);
    fflush(stdout);

    gw_fleet_free(&f);
    gw_http_free(r.http);
    gw_http_free(http);
    gw_auth_free(&L.auth);
    free(L.is_revoked);
    free(key);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "load")) return load_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "fanout")) return gw_fanout_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "hold")) return gw_cluster_hold_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "revoke")) return gw_cluster_revoke_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "scale")) return gw_scale_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "timeprobe")) return gw_timeprobe_main(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "floor")) return gw_floor_main(argc, argv);
    fprintf(stderr, "usage: bench_gateway load HOST PORT PID [--conns N] [--revoke R] "
                    "[--samples S] [--inflight K]\n"
                    "       bench_gateway fanout HOST PORT_CHECKED PORT_UNCHECKED [options]\n");
    return 2;
}
