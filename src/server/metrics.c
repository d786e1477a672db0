/* metrics.c: the process's metrics and their Prometheus text rendering; see metrics.h.
 * Must never log, allocate or lock on a recording path. */
#include "server/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RELAXED memory_order_relaxed

/* Bucket upper bounds, in nanoseconds (rendered in seconds): 50 µs to 10 s. */
static const uint64_t bucket_ns[] = {
    50000ULL,     100000ULL,    250000ULL,     500000ULL,     1000000ULL,    2500000ULL,
    5000000ULL,   10000000ULL,  25000000ULL,   50000000ULL,   100000000ULL,  250000000ULL,
    500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL, 10000000000ULL,
};
#define NBUCKETS (sizeof(bucket_ns) / sizeof(bucket_ns[0]))

typedef struct histogram {
    _Atomic uint64_t buckets[NBUCKETS + 1]; /* not cumulative; the last is +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
} histogram;

/* Counts by Ably code: slots claimed by the loop thread, first come; the rest in `other`. */
typedef struct code_table {
    int codes[RTA_METRICS_MAX_CODES];
    _Atomic uint64_t counts[RTA_METRICS_MAX_CODES];
    _Atomic int used;
    _Atomic uint64_t other;
} code_table;

typedef struct app_slot {
    char id[64]; /* app ids are short (registry); longer ones share _other */
    _Atomic uint64_t opened;
    uint64_t connected, awaiting; /* render-time scratch (loop thread) */
} app_slot;

static struct {
    _Atomic uint64_t counters[RTA_M_COUNTER_COUNT];
    histogram hist[RTA_H_COUNT];
    code_table tokens;   /* 0: issued */
    code_table closed;   /* 0: normal, -1: queue_overflow */
    code_table refused;  /* connections refused at connect, by code */
    app_slot apps[RTA_METRICS_MAX_APPS + 1]; /* the last is _other */
    int app_count;
    char version[32];
    double start_time;
    rta_metrics_conn_source source;
    void *source_ctx;
    rta_metrics_gauge_source gauge_source;
    void *gauge_ctx;
} M;

void rta_metrics_reset(void)
{
    rta_metrics_conn_source src = M.source;
    void *ctx = M.source_ctx;
    rta_metrics_gauge_source gsrc = M.gauge_source;
    void *gctx = M.gauge_ctx;
    char version[32];
    double start = M.start_time;
    memcpy(version, M.version, sizeof(version));
    memset(&M, 0, sizeof(M));
    M.source = src;
    M.source_ctx = ctx;
    M.gauge_source = gsrc;
    M.gauge_ctx = gctx;
    M.start_time = start;
    memcpy(M.version, version, sizeof(version));
}

void rta_metrics_init(const char *version)
{
    if (M.start_time == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        M.start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    }
    snprintf(M.version, sizeof(M.version), "%s", version ? version : "");
}

uint64_t rta_metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void rta_metrics_add(rta_metric_counter c, uint64_t n)
{
    if ((unsigned)c < RTA_M_COUNTER_COUNT) atomic_fetch_add_explicit(&M.counters[c], n, RELAXED);
}

void rta_metrics_observe_ns(rta_metric_histogram h, uint64_t ns)
{
    if ((unsigned)h >= RTA_H_COUNT) return;
    histogram *x = &M.hist[h];
    size_t i = 0;
    while (i < NBUCKETS && ns > bucket_ns[i]) i++;
    atomic_fetch_add_explicit(&x->buckets[i], 1, RELAXED);
    atomic_fetch_add_explicit(&x->sum_ns, ns, RELAXED);
    atomic_fetch_add_explicit(&x->count, 1, RELAXED);
}

void rta_metrics_observe_since(rta_metric_histogram h, uint64_t start_ns)
{
    uint64_t now = rta_metrics_now_ns();
    rta_metrics_observe_ns(h, now > start_ns ? now - start_ns : 0);
}

static void code_count(code_table *t, int code)
{
    int used = atomic_load_explicit(&t->used, memory_order_acquire);
    for (int i = 0; i < used; i++)
        if (t->codes[i] == code) {
            atomic_fetch_add_explicit(&t->counts[i], 1, RELAXED);
            return;
        }
    if (used < RTA_METRICS_MAX_CODES) { /* one writer (the loop thread) claims slots */
        t->codes[used] = code;
        atomic_store_explicit(&t->counts[used], 1, RELAXED);
        atomic_store_explicit(&t->used, used + 1, memory_order_release);
        return;
    }
    atomic_fetch_add_explicit(&t->other, 1, RELAXED);
}

void rta_metrics_token_request(int code)
{
    code_count(&M.tokens, code);
}

void rta_metrics_connection_closed(int reason)
{
    code_count(&M.closed, reason);
}

void rta_metrics_connection_refused(int code)
{
    code_count(&M.refused, code);
}

/* The app's slot, claimed when new; the _other slot when the table is full. Loop thread. */
static app_slot *app_of(const char *app_id)
{
    size_t n = app_id ? strlen(app_id) : 0;
    if (n && n < sizeof(M.apps[0].id))
        for (int i = 0; i < M.app_count; i++)
            if (!strcmp(M.apps[i].id, app_id)) return &M.apps[i];
    if (!n || n >= sizeof(M.apps[0].id) || M.app_count >= RTA_METRICS_MAX_APPS)
        return &M.apps[RTA_METRICS_MAX_APPS];
    app_slot *s = &M.apps[M.app_count++];
    memcpy(s->id, app_id, n + 1);
    return s;
}

void rta_metrics_connection_opened(const char *app_id)
{
    atomic_fetch_add_explicit(&app_of(app_id)->opened, 1, RELAXED);
}

void rta_metrics_set_conn_source(rta_metrics_conn_source source, void *ctx)
{
    M.source = source;
    M.source_ctx = ctx;
}

void rta_metrics_set_gauge_source(rta_metrics_gauge_source source, void *ctx)
{
    M.gauge_source = source;
    M.gauge_ctx = ctx;
}

/* ---- rendering ------------------------------------------------------------------------------ */

static void family(rta_buf *b, const char *name, const char *type, const char *help)
{
    rta_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the format asks (backslash, double quote, newline). */
static void label_value(rta_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            rta_buf_putc(b, '\\'), rta_buf_putc(b, *v);
        else if (*v == '\n')
            rta_buf_puts(b, "\\n");
        else
            rta_buf_putc(b, *v);
    }
}

static uint64_t get(_Atomic uint64_t *v)
{
    return atomic_load_explicit(v, RELAXED);
}

static void render_histogram(rta_buf *b, const char *name, const char *help, histogram *h)
{
    family(b, name, "histogram", help);
    uint64_t cum = 0;
    for (size_t i = 0; i < NBUCKETS; i++) {
        cum += get(&h->buckets[i]);
        rta_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bucket_ns[i] / 1e9,
                       (unsigned long long)cum);
    }
    cum += get(&h->buckets[NBUCKETS]);
    /* count read after the buckets and never below their sum: a concurrent observe (store
     * thread) cannot make the +Inf bucket exceed _count */
    uint64_t count = get(&h->count);
    if (count < cum) count = cum;
    rta_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)count);
    rta_buf_printf(b, "%s_sum %.9f\n", name, (double)get(&h->sum_ns) / 1e9);
    rta_buf_printf(b, "%s_count %llu\n", name, (unsigned long long)count);
}

static void count_conn(void *arg, const char *app_id, int awaiting)
{
    (void)arg;
    app_slot *s = app_of(app_id);
    if (awaiting)
        s->awaiting++;
    else
        s->connected++;
}

static const char *app_name(int i)
{
    return i == RTA_METRICS_MAX_APPS ? "_other" : M.apps[i].id;
}

static void render_connections(rta_buf *b)
{
    for (int i = 0; i <= RTA_METRICS_MAX_APPS; i++) M.apps[i].connected = M.apps[i].awaiting = 0;
    if (M.source) M.source(M.source_ctx, count_conn, NULL);
    family(b, "rtauthd_connections", "gauge",
           "Realtime connections by app and state (connected, or awaiting_resume: detached "
           "and resumable).");
    for (int i = 0; i <= RTA_METRICS_MAX_APPS; i++) {
        if (i == M.app_count && i != RTA_METRICS_MAX_APPS) i = RTA_METRICS_MAX_APPS;
        app_slot *s = &M.apps[i];
        if (i == RTA_METRICS_MAX_APPS && !s->connected && !s->awaiting && !get(&s->opened))
            continue;
        const char *states[2] = {"connected", "awaiting_resume"};
        uint64_t v[2] = {s->connected, s->awaiting};
        for (int k = 0; k < 2; k++) {
            rta_buf_puts(b, "rtauthd_connections{app=\"");
            label_value(b, app_name(i));
            rta_buf_printf(b, "\",state=\"%s\"} %llu\n", states[k], (unsigned long long)v[k]);
        }
    }
    family(b, "rtauthd_connections_opened_total", "counter",
           "Realtime connections admitted (not resumes), by app.");
    for (int i = 0; i <= RTA_METRICS_MAX_APPS; i++) {
        if (i == M.app_count && i != RTA_METRICS_MAX_APPS) i = RTA_METRICS_MAX_APPS;
        app_slot *s = &M.apps[i];
        if (i == RTA_METRICS_MAX_APPS && !get(&s->opened)) continue;
        rta_buf_puts(b, "rtauthd_connections_opened_total{app=\"");
        label_value(b, app_name(i));
        rta_buf_printf(b, "\"} %llu\n", (unsigned long long)get(&s->opened));
    }
}

static void render_codes(rta_buf *b, code_table *t, const char *name, const char *labels_err,
                         const char *zero)
{
    int used = atomic_load_explicit(&t->used, memory_order_acquire);
    for (int i = 0; i < used; i++) {
        int c = t->codes[i];
        unsigned long long n = get(&t->counts[i]);
        if (c == 0)
            rta_buf_printf(b, "%s{%s} %llu\n", name, zero, n);
        else if (c == RTA_METRICS_REASON_OVERFLOW)
            rta_buf_printf(b, "%s{%s\"queue_overflow\"} %llu\n", name, labels_err, n);
        else
            rta_buf_printf(b, "%s{%s\"%d\"} %llu\n", name, labels_err, c, n);
    }
    if (get(&t->other))
        rta_buf_printf(b, "%s{%s\"other\"} %llu\n", name, labels_err,
                       (unsigned long long)get(&t->other));
}

int rta_metrics_render(rta_buf *b)
{
    render_connections(b);
    family(b, "rtauthd_connections_closed_total", "counter",
           "Realtime connections ended for good, by reason: the Ably code of their ending "
           "frame, normal (closed by the client, or not resumed in time), queue_overflow.");
    render_codes(b, &M.closed, "rtauthd_connections_closed_total", "reason=",
                 "reason=\"normal\"");
    family(b, "rtauthd_connections_refused_total", "counter",
           "Realtime connections refused at connect (credentials, limits), by Ably code.");
    render_codes(b, &M.refused, "rtauthd_connections_refused_total", "code=", "code=\"0\"");
    family(b, "rtauthd_token_requests_total", "counter",
           "requestToken calls answered: issued (code 0) or refused with an Ably code.");
    render_codes(b, &M.tokens, "rtauthd_token_requests_total", "result=\"refused\",code=",
                 "result=\"issued\",code=\"0\"");
    render_histogram(b, "rtauthd_request_token_duration_seconds",
                     "requestToken latency, from the request to its reply.",
                     &M.hist[RTA_H_REQUEST_TOKEN]);
    family(b, "rtauthd_revocations_total", "counter",
           "Revocation targets received and made durable (revokeTokens).");
    rta_buf_printf(b, "rtauthd_revocations_total %llu\n",
                   (unsigned long long)get(&M.counters[RTA_M_REVOCATIONS]));
    family(b, "rtauthd_revocation_disconnects_total", "counter",
           "Live connections ended (DISCONNECTED 40141) by a revocation.");
    rta_buf_printf(b, "rtauthd_revocation_disconnects_total %llu\n",
                   (unsigned long long)get(&M.counters[RTA_M_REVOCATION_DISCONNECTS]));
    uint64_t gauges[RTA_G_COUNT] = {0};
    if (M.gauge_source) M.gauge_source(M.gauge_ctx, gauges);
    family(b, "rtauthd_revocation_index_records", "gauge",
           "Revocations held in memory, each until every token it covers has expired.");
    rta_buf_printf(b, "rtauthd_revocation_index_records %llu\n",
                   (unsigned long long)gauges[RTA_G_REVOCATION_RECORDS]);
    family(b, "rtauthd_revocation_index_bytes", "gauge",
           "Memory the revocation index takes (mapped for it, apart from the heap).");
    rta_buf_printf(b, "rtauthd_revocation_index_bytes %llu\n",
                   (unsigned long long)gauges[RTA_G_REVOCATION_BYTES]);
    render_histogram(b, "rtauthd_revocation_apply_duration_seconds",
                     "Revocation latency, from the revokeTokens request to the last affected "
                     "connection told and closing.",
                     &M.hist[RTA_H_REVOCATION_APPLY]);
    render_histogram(b, "rtauthd_nonce_check_duration_seconds",
                     "Time to make a TokenRequest nonce durable and check it was unused.",
                     &M.hist[RTA_H_NONCE_CHECK]);
    render_histogram(b, "rtauthd_store_op_duration_seconds",
                     "Store operations run by the store thread.", &M.hist[RTA_H_STORE_OP]);
    family(b, "rtauthd_gateway_queue_drops_total", "counter",
           "Realtime connections dropped because their outgoing queue overflowed.");
    rta_buf_printf(b, "rtauthd_gateway_queue_drops_total %llu\n",
                   (unsigned long long)get(&M.counters[RTA_M_GATEWAY_QUEUE_DROPS]));
    family(b, "rtauthd_messages_total", "counter",
           "Channel messages: in (published, realtime or REST) and out (delivered to "
           "subscribers).");
    rta_buf_printf(b, "rtauthd_messages_total{direction=\"in\"} %llu\n",
                   (unsigned long long)get(&M.counters[RTA_M_MESSAGES_IN]));
    rta_buf_printf(b, "rtauthd_messages_total{direction=\"out\"} %llu\n",
                   (unsigned long long)get(&M.counters[RTA_M_MESSAGES_OUT]));
    family(b, "rtauthd_http_requests_total", "counter", "HTTP requests served (REST).");
    rta_buf_printf(b, "rtauthd_http_requests_total %llu\n",
                   (unsigned long long)get(&M.counters[RTA_M_HTTP_REQUESTS]));
    family(b, "rtauthd_build_info", "gauge", "Always 1; the version is in its label.");
    rta_buf_puts(b, "rtauthd_build_info{version=\"");
    label_value(b, M.version);
    rta_buf_puts(b, "\"} 1\n");
    family(b, "process_start_time_seconds", "gauge",
           "Start time of the process since the Unix epoch, in seconds.");
    rta_buf_printf(b, "process_start_time_seconds %.3f\n", M.start_time);
    return b->oom ? -1 : 0;
}

/* ---- access ----------------------------------------------------------------------------------- */

static int is_loopback_host(const char *h)
{
    return !strncmp(h, "127.", 4) || !strcmp(h, "::1") || !strcmp(h, "[::1]") ||
           !strcmp(h, "localhost");
}

#define TOKEN_MIN 16
#define TOKEN_MAX 512

/* The token file: a regular file only its owner may access (checked on the open descriptor,
 * as store/secret_box.c does the KEK file). */
static int read_token_file(rta_metrics_access *a, const char *path, rta_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "Cannot open the metrics token file %s: %s",
                             path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = rta_error_set(err, RTA_ERR_BAD_REQUEST,
                           "The metrics token file %s is not a regular file", path);
    else if (st.st_mode & 077)
        rc = rta_error_set(err, RTA_ERR_BAD_REQUEST,
                           "The metrics token file %s is mode %04o: group/others can access it; "
                           "make it owner-only (chmod 600 %s)",
                           path, (unsigned)(st.st_mode & 07777), path);
    char buf[TOKEN_MAX + 64];
    size_t n = 0;
    while (!rc && n < sizeof(buf)) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            rc = rta_error_set(err, RTA_ERR_BAD_REQUEST, "Cannot read the metrics token file %s",
                               path);
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    size_t s = 0, e = n;
    while (s < e && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\n' || buf[s] == '\r')) s++;
    while (e > s && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\n' ||
                     buf[e - 1] == '\r'))
        e--;
    int printable = 1;
    for (size_t i = s; i < e; i++) printable &= buf[i] > 0x20 && buf[i] < 0x7f;
    if (!rc && (e - s < TOKEN_MIN || e - s > TOKEN_MAX || !printable))
        rc = rta_error_set(err, RTA_ERR_BAD_REQUEST,
                           "The metrics token file %s must hold one token of %d to %d printable "
                           "characters without spaces",
                           path, TOKEN_MIN, TOKEN_MAX);
    if (!rc) {
        a->token = malloc(e - s + 1);
        if (!a->token) {
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        } else {
            memcpy(a->token, buf + s, e - s);
            a->token[e - s] = '\0';
            a->token_len = e - s;
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

int rta_metrics_access_init(rta_metrics_access *a, const char *listen_host,
                            const char *token_file, rta_error *err)
{
    memset(a, 0, sizeof(*a));
    a->open = listen_host && is_loopback_host(listen_host);
    if (token_file && *token_file) return read_token_file(a, token_file, err);
    return 0;
}

void rta_metrics_access_free(rta_metrics_access *a)
{
    if (a->token) {
        OPENSSL_cleanse(a->token, a->token_len);
        free(a->token);
    }
    memset(a, 0, sizeof(*a));
}

void rta_metrics_access_set_hook(rta_metrics_access *a, rta_metrics_authorize_fn fn, void *ctx)
{
    a->authorize = fn;
    a->authorize_ctx = ctx;
}

int rta_metrics_access_check(const rta_metrics_access *a, const char *authorization,
                             const char *peer, rta_error *err)
{
    if (a->open) return 0;
    if (a->authorize && a->authorize(a->authorize_ctx, authorization, peer ? peer : "")) return 0;
    if (a->token && authorization && !strncasecmp(authorization, "Bearer ", 7)) {
        const char *t = authorization + 7;
        size_t n = strlen(t);
        /* constant time in the token's content; the length is not secret */
        if (n == a->token_len && !CRYPTO_memcmp(t, a->token, n)) return 0;
        return rta_error_set(err, RTA_ERR_INVALID_CREDENTIALS, "Invalid metrics credentials");
    }
    if (a->token || a->authorize)
        return rta_error_set(err, RTA_ERR_INVALID_CREDENTIALS,
                             "Metrics need a credential: Authorization: Bearer <the token of "
                             "--metrics-token-file>");
    return rta_error_set(err, RTA_ERR_FORBIDDEN,
                         "Metrics are served only when rtauthd listens on loopback, or with "
                         "--metrics-token-file");
}
