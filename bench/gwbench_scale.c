/* gwbench_scale.c: one load-generator process of `make bench-scale` (issue 19), and the
 * GET /time prober beside it. bench/scale.mjs starts several of each kind and drives them over
 * stdin/stdout, one command or reply per line: a process holds fewer descriptors than 100,000
 * sockets need (20,000 here), and one source address has about 28,000 ephemeral ports, so
 * each generator holds its share of the connections bound to source addresses of its own (in
 * turn: the kernel's bind() searches longer for a free port as an address's ports fill up).
 * Every process reads CLOCK_MONOTONIC, so times printed by different processes compare.
 *
 *   bench_gateway scale HOST PORT KEY --conns N --id G [--src ADDR,...] [--revoke R]
 *                       [--handshakes H]
 *     On start, mints a token per connection (printing "MINTED <s>"), by role, spread evenly
 *     (every (N / R)-th connection, offset 0, 1, 2):
 *       clientId set:      R rtauth tokens with clientId "revoke-me" (Basic requestToken);
 *       revocationKey set: R Ably JWTs signed here with the key, x-ably-revocation-key
 *                          "rk-bench", clientId "k<G>-<i>";
 *       token set:         R rtauth tokens with clientId "t<G>-<i>", revoked by token;
 *       plain:             the rest, rtauth tokens with clientId "c<G>-<i>".
 *     Commands (replies in capitals):
 *       connect           open every connection, H handshakes at a time (those still
 *                         connecting after STALL_MS without progress are started again) ->
 *                         CONNECTED <connected> <failed> <closed> <t_first_ms> <t_last_ms>
 *                                   <retried>
 *       status            STATUS connected=<n> plain_down=<n> slow_down=<n> set_down=<n>
 *       auth S K          S in-band AUTHs with fresh tokens on distinct plain connections, K in
 *                         flight -> AUTH <wrong> <ms>,<ms>,... (write of AUTH to CONNECTED)
 *       arm SET           SET = clientId | revocationKey | token: count DISCONNECTED 40141 on
 *                         that set from now on -> ARMED <n>; when all n are seen, or on
 *                         `report`: REVOKED <seen> <t_last_ms> <others_dropped>
 *       send-revoke       revokeTokens for the armed set (clientId:revoke-me,
 *                         revocationKey:rk-bench, or this generator's tokens 100 per request,
 *                         SENDERS requests in flight from threads of their own)
 *                         -> SENT <t0_ms> <t1_ms> <requests> <failed>
 *       refill            the armed set's closed connections get fresh plain tokens and
 *                         reconnect -> REFILLED <connected>
 *       slow-attach       every 10th plain connection attaches bench:slow -> SLOW <n>
 *       slow-stop / slow-resume   stop / resume reading on them -> SLOW <n>
 *       close             CLOSE on every connection, waits for the server to close them,
 *                         then closes whatever is left -> CLOSED
 *   bench_gateway timeprobe HOST PORT [--interval-ms MS]
 *     GET /time on a fresh TCP connection every MS until "stop" on stdin ->
 *     TIMEPROBE <n> <failed> <p50_ms> <p99_ms> <max_ms>
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "core/jwt.h"
#include "gwbench.h"

#define CAPABILITY "{\"bench:*\":[\"publish\",\"subscribe\"]}"
#define PATH_PREFIX "/?v=6&format=json&access_token="
#define SLOW_CHANNEL "bench:slow"
#define REVOCATION_KEY "rk-bench"
#define TARGETS_PER_REQUEST 100 /* S-67 */
#define SENDERS 4 /* revokeTokens requests in flight per generator (send-revoke) */
#define STALL_MS 15000 /* connect: this long without progress, the ones left are retried */

enum role { R_PLAIN = 0, R_CLIENT_ID, R_REVOCATION_KEY, R_TOKEN };
static const char *const role_names[] = {"plain", "clientId", "revocationKey", "token"};

static struct {
    gw_fleet f;
    gw_http *http;
    const char *key;
    int id;
    unsigned char *role;
    char *slow;
    /* stdin */
    char in[4096];
    size_t in_len;
    int in_eof;
    gw_auth_sampler auth;
    /* a revocation round */
    int armed, round;
    size_t armed_n, seen, others;
    double t_last;
    int report_due;
    pthread_t sender[SENDERS];
    size_t senders; /* threads started by send-revoke */
    int sender_started; /* a send-revoke whose SENT is not reported yet */
    atomic_int sender_done;
    double sent_t0, sent_t1;
    size_t sent_requests, sent_failed;
    /* slow consumers */
    size_t slow_n, slow_attached;
} S;

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* ---- stdin, read without blocking the loop --------------------------------------------- */

static void stdin_nonblocking(void)
{
    int fl = fcntl(0, F_GETFL);
    if (fl < 0 || fcntl(0, F_SETFL, fl | O_NONBLOCK) < 0) gw_die("stdin: %s", strerror(errno));
}

static int stdin_has_line(void)
{
    if (memchr(S.in, '\n', S.in_len)) return 1;
    if (S.in_eof) return 1;
    ssize_t n = read(0, S.in + S.in_len, sizeof(S.in) - 1 - S.in_len);
    if (n == 0) S.in_eof = 1;
    if (n > 0) S.in_len += (size_t)n;
    if (S.in_len >= sizeof(S.in) - 1) gw_die("command line too long");
    return S.in_eof || memchr(S.in, '\n', S.in_len) != NULL;
}

/* Takes the next line into out (NUL-terminated); 0 if there is none. */
static int take_line(char *out, size_t size)
{
    char *nl = memchr(S.in, '\n', S.in_len);
    if (!nl) return 0;
    size_t len = (size_t)(nl - S.in);
    if (len >= size) gw_die("command line too long");
    memcpy(out, S.in, len);
    out[len] = 0;
    memmove(S.in, nl + 1, S.in_len - len - 1);
    S.in_len -= len + 1;
    return 1;
}

/* ---- tokens -------------------------------------------------------------------------------- */

static char *jwt_token(size_t i)
{
    const char *colon = strchr(S.key, ':');
    char kid[128], cid[64];
    snprintf(kid, sizeof(kid), "%.*s", (int)(colon - S.key), S.key);
    snprintf(cid, sizeof(cid), "k%d-%zu", S.id, i);
    int64_t now = (int64_t)time(NULL);
    rta_jwt_claims claims = {.key_name = kid, .iat = now, .exp = now + 3600,
                             .capability = CAPABILITY, .client_id = cid,
                             .revocation_key = REVOCATION_KEY};
    rta_buf out = {0};
    if (rta_jwt_sign(&claims, colon + 1, strlen(colon + 1), &out) || out.oom)
        gw_die("cannot sign a JWT");
    rta_buf_append(&out, "", 1);
    char *s = strdup(out.data);
    rta_buf_free(&out);
    if (!s) gw_die("out of memory");
    return s;
}

static void set_path(gw_client *c, char *token)
{
    free(c->path);
    size_t len = strlen(PATH_PREFIX) + strlen(token) + 1;
    c->path = malloc(len);
    if (!c->path) gw_die("out of memory");
    snprintf(c->path, len, "%s%s", PATH_PREFIX, token);
    free(token);
}

static const char *token_of(const gw_client *c) { return c->path + strlen(PATH_PREFIX); }

static void mint_all(size_t revoke_n)
{
    size_t n = S.f.n, stride = revoke_n ? n / revoke_n : 0;
    if (revoke_n && stride < 4) gw_die("--revoke: at most a quarter of --conns");
    for (size_t i = 0; i < n; i++) {
        size_t b = stride ? i % stride : 3;
        int r = b == 0 ? R_CLIENT_ID : b == 1 ? R_REVOCATION_KEY : b == 2 ? R_TOKEN : R_PLAIN;
        if (r != R_PLAIN && i / stride >= revoke_n) r = R_PLAIN; /* the remainder */
        S.role[i] = (unsigned char)r;
        char cid[64];
        if (r == R_REVOCATION_KEY) {
            set_path(&S.f.clients[i], jwt_token(i));
            continue;
        }
        if (r == R_CLIENT_ID)
            snprintf(cid, sizeof(cid), "%s", GW_REVOKED_CLIENT_ID);
        else
            snprintf(cid, sizeof(cid), "%c%d-%zu", r == R_TOKEN ? 't' : 'c', S.id, i);
        set_path(&S.f.clients[i], gw_http_request_token(S.http, S.key, cid, CAPABILITY));
    }
}

/* ---- frames from the server ---------------------------------------------------------------- */

static void on_message(gw_fleet *f, gw_client *c, const rta_protocol_message *m)
{
    if (gw_auth_on_message(&S.auth, f, c, m)) return; /* the next one went out */
    if (m->action == RTA_ACTION_ATTACHED && m->channel && !strcmp(m->channel, SLOW_CHANNEL)) {
        S.slow_attached++;
        return;
    }
    if ((m->action != RTA_ACTION_DISCONNECTED && m->action != RTA_ACTION_ERROR) || m->channel)
        return;
    if (S.armed && S.role[c->index] == S.armed && m->error.code == 40141) {
        S.seen++;
        S.t_last = gw_now_ms();
        if (S.seen == S.armed_n) S.report_due = 1;
    } else if (S.armed) {
        S.others++;
        fprintf(stderr, "generator %d client %d (%s): unexpected %d %s\n", S.id, c->index,
                role_names[S.role[c->index]], m->error.code, m->error.message);
    }
}

/* ---- commands ------------------------------------------------------------------------------- */

static int settled(gw_fleet *f) { return f->connecting == 0 && f->next_to_connect >= f->n; }
static int auth_finished(gw_fleet *f) { (void)f; return gw_auth_finished(&S.auth); }
static int all_slow_attached(gw_fleet *f) { (void)f; return S.slow_attached >= S.slow_n; }

static void cmd_connect(size_t handshakes)
{
    S.f.max_in_flight = handshakes;
    double t0 = gw_now_ms(), t_progress = t0;
    size_t seen = 0, retried = 0;
    gw_fleet_pump(&S.f);
    while (!settled(&S.f) && gw_now_ms() - t0 < 900000) {
        gw_fleet_run_until(&S.f, settled, 1000);
        size_t done = S.f.connected + S.f.failed + S.f.closed;
        if (done != seen) {
            seen = done;
            t_progress = gw_now_ms();
        } else if (gw_now_ms() - t_progress > STALL_MS && S.f.next_to_connect >= S.f.n) {
            retried += gw_fleet_retry_stalled(&S.f); /* no progress: the rest are lost */
            t_progress = gw_now_ms();
        }
    }
    reply("CONNECTED %zu %zu %zu %.3f %.3f %zu", S.f.connected, S.f.failed, S.f.closed, t0,
          S.f.t_last_connected, retried);
}

static void cmd_status(void)
{
    size_t plain_down = 0, slow_down = 0, set_down = 0;
    for (size_t i = 0; i < S.f.n; i++) {
        if (S.f.clients[i].state == GW_CONNECTED) continue;
        if (S.slow[i]) slow_down++;
        else if (S.role[i] == R_PLAIN) plain_down++;
        else set_down++;
    }
    reply("STATUS connected=%zu plain_down=%zu slow_down=%zu set_down=%zu", S.f.connected,
          plain_down, slow_down, set_down);
}

static void cmd_auth(size_t samples, size_t in_flight)
{
    gw_auth_free(&S.auth);
    gw_auth_init(&S.auth, S.f.n, samples, in_flight);
    for (size_t k = 0; k < S.f.n && S.auth.samples < samples; k++) { /* distinct, spread out */
        size_t i = (k * 7919) % S.f.n;
        if (S.role[i] != R_PLAIN || S.slow[i] || S.f.clients[i].state != GW_CONNECTED) continue;
        char cid[64];
        snprintf(cid, sizeof(cid), "c%d-%zu", S.id, i);
        gw_auth_add(&S.auth, (int)i, gw_http_request_token(S.http, S.key, cid, CAPABILITY));
    }
    gw_auth_start(&S.auth, &S.f);
    gw_fleet_run_until(&S.f, auth_finished, 120000);
    printf("AUTH %zu ", S.auth.wrong + (S.auth.samples - S.auth.done));
    for (size_t i = 0, n = 0; i < S.auth.samples; i++) /* the answered ones */
        if (!S.auth.pending[S.auth.clients[i]]) printf(n++ ? ",%.3f" : "%.3f", S.auth.ms[i]);
    reply("%s", "");
}

static void cmd_arm(const char *set)
{
    int r = 0;
    for (int k = R_CLIENT_ID; k <= R_TOKEN; k++)
        if (!strcmp(set, role_names[k])) r = k;
    if (!r) gw_die("arm: unknown set %s", set);
    S.armed = r;
    S.armed_n = S.seen = S.others = 0;
    S.t_last = 0;
    S.report_due = 0;
    for (size_t i = 0; i < S.f.n; i++)
        S.armed_n += S.role[i] == r && S.f.clients[i].state == GW_CONNECTED;
    reply("ARMED %zu", S.armed_n);
}

/* The armed set's revokeTokens requests, built before the clock starts: one target for the
 * clientId and revocationKey sets, this generator's tokens 100 per request (S-67) for the
 * token set. SENDERS threads send them, each over its own keep-alive connection, the way a
 * backend revoking 10,000 tokens sends its 100 requests at once rather than one by one. */
static struct {
    char ***targets; /* per request: its targets ("type:value", owned) */
    size_t *counts;
    size_t n;
    atomic_size_t next; /* the next request to send */
    atomic_size_t failed;
    atomic_int running;
} R;

static void requests_add(char **targets, size_t n)
{
    char ***t = realloc(R.targets, (R.n + 1) * sizeof(*t));
    size_t *c = t ? realloc(R.counts, (R.n + 1) * sizeof(*c)) : NULL;
    if (t) R.targets = t;
    if (!t || !c) gw_die("out of memory");
    R.counts = c;
    R.targets[R.n] = targets;
    R.counts[R.n++] = n;
}

static char *target_dup(const char *type, const char *value)
{
    size_t len = strlen(type) + strlen(value) + 1;
    char *s = malloc(len);
    if (!s) gw_die("out of memory");
    snprintf(s, len, "%s%s", type, value);
    return s;
}

static void requests_build(void)
{
    if (S.armed == R_CLIENT_ID || S.armed == R_REVOCATION_KEY) {
        char **one = calloc(1, sizeof(char *));
        if (!one) gw_die("out of memory");
        one[0] = S.armed == R_CLIENT_ID ? target_dup("clientId:", GW_REVOKED_CLIENT_ID)
                                        : target_dup("revocationKey:", REVOCATION_KEY);
        requests_add(one, 1);
        return;
    }
    char **batch = NULL;
    size_t n = 0;
    for (size_t i = 0; i < S.f.n; i++) {
        if (S.role[i] != R_TOKEN) continue;
        if (!batch && !(batch = calloc(TARGETS_PER_REQUEST, sizeof(char *)))) gw_die("out of memory");
        batch[n++] = target_dup("token:", token_of(&S.f.clients[i]));
        if (n == TARGETS_PER_REQUEST) {
            requests_add(batch, n);
            batch = NULL;
            n = 0;
        }
    }
    if (n) requests_add(batch, n);
}

static void requests_free(void)
{
    for (size_t i = 0; i < R.n; i++) {
        for (size_t k = 0; k < R.counts[i]; k++) free(R.targets[i][k]);
        free(R.targets[i]);
    }
    free(R.targets);
    free(R.counts);
    R.targets = NULL;
    R.counts = NULL;
    R.n = 0;
}

static void *send_revoke(void *arg)
{
    (void)arg;
    gw_http *h = gw_http_new(S.f.host, S.f.ports[0]);
    for (size_t i; (i = atomic_fetch_add(&R.next, 1)) < R.n;)
        if (gw_http_revoke_many(h, S.key, (const char *const *)R.targets[i], R.counts[i]) != 201)
            atomic_fetch_add(&R.failed, 1);
    gw_http_free(h);
    if (atomic_fetch_sub(&R.running, 1) == 1) { /* the last sender out */
        S.sent_t1 = gw_now_ms();
        atomic_store(&S.sender_done, 1);
    }
    return NULL;
}

static void cmd_send_revoke(void)
{
    if (!S.armed) gw_die("send-revoke before arm");
    requests_free();
    requests_build();
    S.sent_requests = R.n;
    atomic_store(&R.next, 0);
    atomic_store(&R.failed, 0);
    atomic_store(&S.sender_done, 0);
    S.senders = R.n < SENDERS ? R.n : SENDERS;
    atomic_store(&R.running, (int)S.senders);
    S.sent_t0 = gw_now_ms(); /* the clock starts as the first request is sent */
    for (size_t k = 0; k < S.senders; k++)
        if (pthread_create(&S.sender[k], NULL, send_revoke, NULL)) gw_die("pthread_create");
    if (!S.senders) { /* nothing of the armed set here: SENT at once */
        S.sent_t1 = S.sent_t0;
        atomic_store(&S.sender_done, 1);
    }
    S.sender_started = 1;
}

/* The revoked connections the server is still closing (it lingers a second after the
 * DISCONNECTED for the client to read it). */
static int revoked_closed(gw_fleet *f)
{
    for (size_t i = 0; i < f->n; i++)
        if (S.role[i] == S.armed && f->clients[i].closed_code == 40141 &&
            f->clients[i].state != GW_CLOSED)
            return 0;
    return 1;
}

static void cmd_refill(size_t handshakes)
{
    gw_fleet_run_until(&S.f, revoked_closed, 10000);
    S.round++;
    size_t reconnecting = 0;
    for (size_t i = 0; i < S.f.n; i++) {
        gw_client *c = &S.f.clients[i];
        if (S.role[i] != S.armed || c->state != GW_CLOSED) continue;
        char cid[64];
        snprintf(cid, sizeof(cid), "c%d-%zu-r%d", S.id, i, S.round);
        set_path(c, gw_http_request_token(S.http, S.key, cid, CAPABILITY));
        S.role[i] = R_PLAIN;
        reconnecting++;
    }
    S.armed = 0;
    /* reconnect them, a bounded number at a time */
    size_t next = 0;
    while (next < S.f.n) {
        while (next < S.f.n && S.f.connecting < handshakes) {
            gw_client *c = &S.f.clients[next++];
            if (c->state == GW_CLOSED && S.role[c->index] == R_PLAIN && !S.slow[c->index])
                gw_fleet_connect_one(&S.f, c);
        }
        gw_fleet_run_for(&S.f, 5);
    }
    gw_fleet_run_until(&S.f, settled, 300000);
    reply("REFILLED %zu %zu", S.f.connected, reconnecting);
}

static void cmd_slow(const char *what)
{
    if (!strcmp(what, "slow-attach")) {
        S.slow_n = S.slow_attached = 0;
        for (size_t i = 0; i < S.f.n; i++) {
            gw_client *c = &S.f.clients[i];
            if (i % 10 != 5 || S.role[i] != R_PLAIN || c->state != GW_CONNECTED) continue;
            S.slow[i] = 1;
            S.slow_n++;
            rta_protocol_message m = {.action = RTA_ACTION_ATTACH, .channel = SLOW_CHANNEL};
            gw_send(c, &m);
        }
        gw_fleet_run_until(&S.f, all_slow_attached, 120000);
        reply("SLOW %zu", S.slow_attached);
        return;
    }
    int reading = !strcmp(what, "slow-resume");
    size_t n = 0;
    for (size_t i = 0; i < S.f.n; i++)
        if (S.slow[i] && S.f.clients[i].wsi) {
            lws_rx_flow_control(S.f.clients[i].wsi, reading);
            n++;
        }
    if (reading) gw_fleet_run_for(&S.f, 3000); /* read what was buffered, and the closes */
    reply("SLOW %zu", n);
}

static int all_closed(gw_fleet *f) { return f->connected == 0 && f->connecting == 0; }

/* As a client's close() does (RTN12): CLOSE, and the server ends the connection for good,
 * instead of keeping it for a resume for connectionStateTtl as after a dropped transport. */
static void cmd_close(void)
{
    for (size_t i = 0; i < S.f.n; i++) {
        gw_client *c = &S.f.clients[i];
        if (c->state != GW_CONNECTED) continue;
        if (S.slow[i] && c->wsi) lws_rx_flow_control(c->wsi, 1);
        rta_protocol_message m = {.action = RTA_ACTION_CLOSE};
        gw_send(c, &m);
    }
    gw_fleet_run_until(&S.f, all_closed, 60000);
    gw_fleet_free(&S.f);
}

/* Wakes the command loop: a command line, or something to report. */
static int wake(gw_fleet *f)
{
    (void)f;
    return S.report_due || (S.sender_started && atomic_load(&S.sender_done)) ||
           stdin_has_line();
}

static void flush_reports(void)
{
    if (S.sender_started && atomic_load(&S.sender_done)) {
        for (size_t k = 0; k < S.senders; k++) pthread_join(S.sender[k], NULL);
        S.sender_started = 0;
        S.sent_failed = atomic_load(&R.failed);
        reply("SENT %.3f %.3f %zu %zu", S.sent_t0, S.sent_t1, S.sent_requests, S.sent_failed);
    }
    if (S.report_due) {
        S.report_due = 0;
        reply("REVOKED %zu %.3f %zu", S.seen, S.t_last, S.others);
    }
}

int gw_scale_main(int argc, char **argv)
{
    if (argc < 5) gw_die("usage: bench_gateway scale HOST PORT KEY --conns N --id G [options]");
    const char *host = argv[2];
    S.key = argv[4];
    if (!strchr(S.key, ':')) gw_die("KEY is keyName:secret");
    size_t n = (size_t)atol(gw_arg(argc, argv, "--conns", "10000"));
    size_t revoke_n = (size_t)atol(gw_arg(argc, argv, "--revoke", "0"));
    size_t handshakes = (size_t)atol(gw_arg(argc, argv, "--handshakes", "256"));
    S.id = atoi(gw_arg(argc, argv, "--id", "0"));
    if (!n) gw_die("--conns must be positive");
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a coordinator that dies takes its generators along */
    gw_raise_fd_limit(n + 64);
    stdin_nonblocking();

    S.http = gw_http_new(host, atoi(argv[3]));
    gw_fleet_init(&S.f, host, n, handshakes);
    S.f.ports[0] = atoi(argv[3]);
    char *src = strdup(gw_arg(argc, argv, "--src", ""));
    if (!src) gw_die("out of memory");
    for (char *save = NULL, *a = strtok_r(src, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
        char **grown = realloc(S.f.ifaces, (S.f.n_ifaces + 1) * sizeof(char *));
        if (!grown) gw_die("out of memory");
        S.f.ifaces = grown;
        S.f.ifaces[S.f.n_ifaces++] = a; /* points into src, kept to the end */
    }
    S.f.on_message = on_message;
    S.role = calloc(n, 1);
    S.slow = calloc(n, 1);
    if (!S.role || !S.slow) gw_die("out of memory");
    double t = gw_now_ms();
    mint_all(revoke_n);
    reply("MINTED %.1f", (gw_now_ms() - t) / 1000);

    char line[256];
    for (;;) {
        gw_fleet_run_until(&S.f, wake, 1e12);
        flush_reports();
        while (take_line(line, sizeof(line))) {
            char arg[64] = "";
            size_t a = 0, b = 0;
            if (!strcmp(line, "connect")) cmd_connect(handshakes);
            else if (!strcmp(line, "status")) cmd_status();
            else if (sscanf(line, "auth %zu %zu", &a, &b) == 2) cmd_auth(a, b);
            else if (sscanf(line, "arm %63s", arg) == 1) cmd_arm(arg);
            else if (!strcmp(line, "send-revoke")) cmd_send_revoke();
            else if (!strcmp(line, "report")) reply("REVOKED %zu %.3f %zu", S.seen, S.t_last, S.others);
            else if (!strcmp(line, "refill")) cmd_refill(handshakes);
            else if (!strncmp(line, "slow-", 5)) cmd_slow(line);
            else if (!strcmp(line, "close")) {
                cmd_close();
                S.f.n = 0;
                reply("CLOSED");
            } else if (!strcmp(line, "quit")) break;
            else gw_die("unknown command: %s", line);
        }
        if (S.in_eof && !memchr(S.in, '\n', S.in_len)) break;
    }
    if (S.sender_started)
        for (size_t k = 0; k < S.senders; k++) pthread_join(S.sender[k], NULL);
    requests_free();
    if (S.f.n) gw_fleet_free(&S.f);
    free(S.f.ifaces);
    free(src);
    gw_http_free(S.http);
    free(S.role);
    free(S.slow);
    gw_auth_free(&S.auth);
    return 0;
}

/* ---- GET /time on fresh connections during the storm -------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

int gw_timeprobe_main(int argc, char **argv)
{
    if (argc < 4) gw_die("usage: bench_gateway timeprobe HOST PORT [--interval-ms MS]");
    double interval = atof(gw_arg(argc, argv, "--interval-ms", "10"));
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char url[128];
    snprintf(url, sizeof(url), "http://%s:%s/time", argv[2], argv[3]);
    stdin_nonblocking();
    size_t cap = 1024, n = 0, failed = 0;
    double *ms = malloc(cap * sizeof(double));
    if (!ms) gw_die("out of memory");
    CURL *curl = curl_easy_init();
    if (!curl) gw_die("cannot start libcurl");
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, 1L); /* a fresh client: its own handshake */
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    reply("PROBING");
    char line[64];
    for (;;) {
        if (stdin_has_line()) {
            if (S.in_eof || (take_line(line, sizeof(line)) && !strcmp(line, "stop"))) break;
        }
        double t0 = gw_now_ms();
        CURLcode rc = curl_easy_perform(curl);
        double t1 = gw_now_ms();
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200) {
            failed++;
        } else {
            if (n == cap) {
                double *grown = realloc(ms, 2 * cap * sizeof(double));
                if (!grown) gw_die("out of memory");
                ms = grown;
                cap *= 2;
            }
            ms[n++] = t1 - t0;
        }
        double left = interval - (gw_now_ms() - t0);
        if (left > 0) {
            struct timespec ts = {0, (long)(left * 1e6)};
            nanosleep(&ts, NULL);
        }
    }
    double p50 = gw_percentile(ms, n, 0.50), p99 = gw_percentile(ms, n, 0.99);
    reply("TIMEPROBE %zu %zu %.3f %.3f %.3f", n, failed, p50, p99, n ? ms[n - 1] : 0.0);
    curl_easy_cleanup(curl);
    free(ms);
    return 0;
}
