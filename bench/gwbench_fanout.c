/* gwbench_fanout.c: publish-to-delivery fan-out with capability checks against the same run
 * without them (issue 5, Benchmarks 4).
 *
 *   bench_gateway fanout HOST PORT_CHECKED PORT_UNCHECKED [--subs S] [--pubs P]
 *                 [--channels C] [--window SECONDS] [--rounds R] [--window-in-flight W]
 *
 * Two rtauthd side by side, the second started with --unsafe-skip-capability-checks (both
 * with --max-inbound-rate lifted: publishers go as fast as their ACKs return); on each,
 * S subscribers attach (token capability: subscribe on bench:*) to C channels and P
 * publishers (publish on bench:*, identified by clientId) publish with W messages in flight
 * each (a new one per ACK). Rounds alternate between the servers (ABBA order); a round
 * counts the MESSAGE frames the subscribers receive during a window after a warm-up, then
 * stops publishing and drains. Reported: the median deliveries/s of each server, and the
 * median of the rounds' checked/unchecked ratios (a round's two windows are adjacent in
 * time, so the ratio is less exposed to a noisy machine than either rate). Subscribers only count frames that start as a MESSAGE does (`{"action":15,`), so
 * the generator spends as little as possible per delivery; every other frame is decoded.
 *
 * With --cluster PORT2,PORT3 (issue 14) the first target is a cluster: its publishers stay
 * on PORT_CHECKED (node 1) and its subscribers alternate between nodes 2 and 3, so every
 * delivery crossed Redis; the second target is one single node with checks on. The figures
 * are then cluster_fanout_*, and the messages the cluster's publishers sent are printed
 * (CLUSTER_PUBLISHED) for a per-message Redis cost.
 *
 * With --cluster-b PORT2,PORT3 as well, the second target is a cluster too (node 1 on
 * PORT_UNCHECKED, subscribers on its PORT2 and PORT3): two clusters side by side, e.g. one on
 * two Redis shards against one on a single Redis (scripts/bench-cluster-fanout). The figures
 * are then BENCH <--name>_a, <--name>_b (msg/s) and <--name> (the median of the rounds' a/b),
 * and each cluster's published count (CLUSTER_PUBLISHED, CLUSTER_B_PUBLISHED).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gwbench.h"

#define SUB_CAPABILITY                                                                             \
    "{\"bench:*\":[\"subscribe\"],\"private:*\":[\"presence\"],\"audit:*\":[\"history\"]}"
#define PUB_CAPABILITY                                                                             \
    "{\"bench:*\":[\"publish\"],\"private:*\":[\"presence\"],\"audit:*\":[\"history\"]}"
#define MESSAGE_PREFIX "{\"action\":15,"

typedef struct fanout {
    size_t subs, pubs, channels, window_in_flight;
    int publishing; /* target whose publishers publish, -1: none */
    uint64_t delivered[2];
    uint64_t sent[2];        /* messages published */
    uint64_t backlog_limit;  /* deliveries owed before publishers wait (flow control) */
    gw_client **pubs_of[2];
    size_t attached;
    char data[101];
} fanout;

static fanout F;

static int is_sub(const gw_client *c)
{
    return (size_t)c->index % (F.subs + F.pubs) < F.subs;
}

static size_t channel_of(const gw_client *c)
{
    size_t k = (size_t)c->index % (F.subs + F.pubs);
    return (k < F.subs ? k : k - F.subs) % F.channels;
}

static void publish_one(gw_client *c)
{
    char ch[32];
    snprintf(ch, sizeof(ch), "bench:ch%zu", channel_of(c));
    rta_message msg = {.name = "tick", .data = {RTA_DATA_STRING, F.data, strlen(F.data)}};
    rta_protocol_message m = {.action = RTA_ACTION_MESSAGE, .has = RTA_PM_HAS_MSG_SERIAL,
                              .msg_serial = c->msg_serial++, .channel = ch, .messages = &msg,
                              .message_count = 1};
    gw_send(c, &m);
}

/* Publishers wait while the deliveries owed exceed backlog_limit: publishing as fast as
 * ACKs return would pile frames up in the server's queues (and past --max-queue, drop the
 * subscribers) whenever the generator reads slower than the server writes. */
static void kick(int t)
{
    uint64_t per_channel = F.subs / F.channels;
    for (size_t i = 0; i < F.pubs && F.publishing == t; i++) {
        gw_client *p = F.pubs_of[t][i];
        while ((size_t)(p->msg_serial - p->acked) < F.window_in_flight &&
               (int64_t)(F.sent[t] * per_channel) - (int64_t)F.delivered[t] <
                   (int64_t)F.backlog_limit) {
            F.sent[t]++;
            publish_one(p);
        }
    }
}

static int on_raw(gw_fleet *f, gw_client *c, const void *data, size_t len)
{
    (void)f;
    if (!is_sub(c) || len < sizeof(MESSAGE_PREFIX) - 1 ||
        memcmp(data, MESSAGE_PREFIX, sizeof(MESSAGE_PREFIX) - 1))
        return 0;
    c->received++;
    if ((++F.delivered[c->target] & 63) == 0) kick(c->target);
    return 1;
}

static void on_message(gw_fleet *f, gw_client *c, const rta_protocol_message *m)
{
    (void)f;
    switch (m->action) {
    case RTA_ACTION_ATTACHED:
        if (!(m->flags & RTA_MODE_SUBSCRIBE)) gw_die("client %d attached without subscribe", c->index);
        F.attached++;
        break;
    case RTA_ACTION_ACK:
        c->acked += m->count;
        kick(c->target);
        break;
    case RTA_ACTION_NACK:
    case RTA_ACTION_ERROR:
    case RTA_ACTION_DISCONNECTED:
        gw_die("client %d (server %d): action %d %d %s", c->index, c->target, m->action,
               m->error.code, m->error.message);
    default: break;
    }
}

static int all_connected(gw_fleet *f) { return f->connected + f->closed >= f->n; }
static int all_attached(gw_fleet *f) { (void)f; return F.attached >= 2 * F.subs; }
static int drained(gw_fleet *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (!is_sub(&f->clients[i]) && f->clients[i].acked < f->clients[i].msg_serial) return 0;
    return 1;
}

static double median(double *v, size_t n) { return gw_percentile(v, n, 0.5); }

int gw_fanout_main(int argc, char **argv)
{
    if (argc < 5) gw_die("usage: bench_gateway fanout HOST PORT_CHECKED PORT_UNCHECKED [options]");
    const char *host = argv[2];
    int ports[2] = {atoi(argv[3]), atoi(argv[4])};
    F.subs = (size_t)atol(gw_arg(argc, argv, "--subs", "500"));
    F.pubs = (size_t)atol(gw_arg(argc, argv, "--pubs", "4"));
    F.channels = (size_t)atol(gw_arg(argc, argv, "--channels", "4"));
    F.window_in_flight = (size_t)atol(gw_arg(argc, argv, "--window-in-flight", "8"));
    const char *cluster = gw_arg(argc, argv, "--cluster", NULL);
    int sub_ports[2] = {0, 0}, sub_ports_b[2] = {0, 0};
    if (cluster && sscanf(cluster, "%d,%d", &sub_ports[0], &sub_ports[1]) != 2)
        gw_die("--cluster takes PORT2,PORT3");
    const char *cluster_b = gw_arg(argc, argv, "--cluster-b", NULL);
    const char *name = gw_arg(argc, argv, "--name", "cluster_fanout_a_vs_b");
    if (cluster_b && (!cluster || sscanf(cluster_b, "%d,%d", &sub_ports_b[0], &sub_ports_b[1]) != 2))
        gw_die("--cluster-b takes PORT2,PORT3 (with --cluster)");
    double window = atof(gw_arg(argc, argv, "--window", "2"));
    size_t rounds = (size_t)atol(gw_arg(argc, argv, "--rounds", "5"));
    if (!F.subs || !F.pubs || !F.channels || rounds < 1 || rounds > 100 || window <= 0)
        gw_die("bad fan-out options");
    memset(F.data, 'x', sizeof(F.data) - 1);
    F.publishing = -1;
    F.backlog_limit = 2 * F.window_in_flight * F.pubs * (F.subs / F.channels);

    size_t per = F.subs + F.pubs;
    gw_fleet f;
    gw_fleet_init(&f, host, 2 * per, 256);
    f.ports[0] = ports[0];
    f.ports[1] = ports[1];
    f.on_raw = on_raw;
    f.on_message = on_message;
    for (int t = 0; t < 2; t++) {
        if (!(F.pubs_of[t] = calloc(F.pubs, sizeof(gw_client *)))) gw_die("out of memory");
        for (size_t k = 0; k < F.pubs; k++) F.pubs_of[t][k] = &f.clients[(size_t)t * per + F.subs + k];
        gw_http *http = gw_http_new(host, ports[t]);
        char *key = gw_http_create_app(http);
        if (cluster && (t == 0 || cluster_b))
            usleep(1500 * 1000); /* the new key reaches nodes 2 and 3 */
        for (size_t k = 0; k < per; k++) {
            gw_client *c = &f.clients[(size_t)t * per + k];
            c->target = t;
            if (cluster && t == 0 && k < F.subs) c->port = sub_ports[k % 2];
            if (cluster_b && t == 1 && k < F.subs) c->port = sub_ports_b[k % 2];
            char cid[32];
            snprintf(cid, sizeof(cid), "%s%zu", k < F.subs ? "sub" : "pub", k);
            char *tok = gw_http_request_token(http, key, cid,
                                              k < F.subs ? SUB_CAPABILITY : PUB_CAPABILITY);
            size_t len = strlen(tok) + 64;
            if (!(c->path = malloc(len))) gw_die("out of memory");
            snprintf(c->path, len, "/?v=6&format=json&access_token=%s", tok);
            free(tok);
        }
        free(key);
        gw_http_free(http);
    }
    gw_fleet_pump(&f);
    if (!gw_fleet_run_until(&f, all_connected, 60000) || f.connected != f.n)
        gw_die("fan-out: %zu of %zu connected", f.connected, f.n);
    for (size_t i = 0; i < f.n; i++) {
        gw_client *c = &f.clients[i];
        if (!is_sub(c)) continue;
        char ch[32];
        snprintf(ch, sizeof(ch), "bench:ch%zu", channel_of(c));
        rta_protocol_message m = {.action = RTA_ACTION_ATTACH, .channel = ch};
        gw_send(c, &m);
    }
    if (!gw_fleet_run_until(&f, all_attached, 30000))
        gw_die("fan-out: %zu of %zu attached", F.attached, 2 * F.subs);

    double rate[2][100];
    for (size_t r = 0; r < rounds; r++) {
        for (int k = 0; k < 2; k++) {
            int t = (r % 2) ? 1 - k : k; /* ABBA: neither server always goes first */
            F.publishing = t;
            kick(t);
            gw_fleet_run_for(&f, 300); /* warm-up */
            uint64_t d0 = F.delivered[t];
            double t0 = gw_now_ms();
            gw_fleet_run_for(&f, window * 1000);
            double el = gw_now_ms() - t0;
            rate[t][r] = (double)(F.delivered[t] - d0) * 1000 / el;
            F.publishing = -1;
            if (!gw_fleet_run_until(&f, drained, 20000)) gw_die("fan-out: ACKs missing");
            gw_fleet_run_for(&f, 200); /* the last deliveries land */
        }
        printf("  round %zu: %s %.0f msg/s, %s %.0f msg/s\n", r + 1,
               cluster_b ? "a" : cluster ? "cluster" : "checked", rate[0][r],
               cluster_b ? "b" : cluster ? "single" : "unchecked", rate[1][r]);
    }
    if (f.closed) gw_die("fan-out: %zu connections closed during the run", f.closed);
    double ra[100], rb[100], ratio[100];
    for (size_t r = 0; r < rounds; r++) ratio[r] = rate[1][r] > 0 ? rate[0][r] / rate[1][r] : 0;
    memcpy(ra, rate[0], rounds * sizeof(double));
    memcpy(rb, rate[1], rounds * sizeof(double));
    double a = median(ra, rounds), b = median(rb, rounds), q = median(ratio, rounds);
    if (cluster_b) {
        printf("fan-out across two clusters side by side (a, b): publishers on node 1, %zu "
               "subscribers on nodes 2 and 3, %zu channels, %zu publishers (%zu in flight each, "
               "%zu-byte string data) on each; %zu alternating rounds of %.1f s after 0.3 s "
               "warm-up; medians (the ratio: median of each round's a/b, %.3f; ratio of the "
               "medians %.3f)\n",
               F.subs, F.channels, F.pubs, F.window_in_flight, strlen(F.data), rounds, window, q,
               b > 0 ? a / b : 0);
        printf("CLUSTER_PUBLISHED %llu\n", (unsigned long long)F.sent[0]);
        printf("CLUSTER_B_PUBLISHED %llu\n", (unsigned long long)F.sent[1]);
        printf("BENCH %s_a %.0f msg/s\n", name, a);
        printf("BENCH %s_b %.0f msg/s\n", name, b);
        printf("BENCH %s %.3f x\n", name, q);
    } else if (cluster) {
        printf("fan-out across a cluster: publishers on node 1, %zu subscribers on nodes 2 and "
               "3, %zu channels, %zu publishers (%zu in flight each, %zu-byte string data), "
               "against the same on one node; %zu alternating rounds of %.1f s after 0.3 s "
               "warm-up; medians (the ratio: median of each round's cluster/single, %.3f; "
               "ratio of the medians %.3f)\n",
               F.subs, F.channels, F.pubs, F.window_in_flight, strlen(F.data), rounds, window, q,
               b > 0 ? a / b : 0);
        printf("CLUSTER_PUBLISHED %llu\n", (unsigned long long)F.sent[0]);
        printf("BENCH cluster_fanout %.0f msg/s\n", a);
        printf("BENCH cluster_fanout_single_node %.0f msg/s\n", b);
        printf("BENCH cluster_fanout_vs_single %.3f x\n", q);
    } else {
    printf("fan-out: 2 rtauthd side by side (checks on / --unsafe-skip-capability-checks), each "
           "%zu subscribers on %zu channels and %zu publishers (%zu in flight each, %zu-byte "
           "string data); %zu alternating rounds of %.1f s after 0.3 s warm-up; medians (the ratio:\n"
           "  median of each round's checked/unchecked, %.3f; ratio of the medians %.3f)\n",
           F.subs, F.channels, F.pubs, F.window_in_flight, strlen(F.data), rounds, window, q,
           b > 0 ? a / b : 0);
    printf("BENCH gateway_fanout_checked %.0f msg/s\n", a);
    printf("BENCH gateway_fanout_unchecked %.0f msg/s\n", b);
    printf("BENCH gateway_fanout_checked_vs_unchecked %.3f x\n", q);
    }
    fflush(stdout);
    gw_fleet_free(&f);
    free(F.pubs_of[0]);
    free(F.pubs_of[1]);
    return 0;
}
