/* stats.c: app statistics: the per-minute accumulator, interval math and the Stats object
 * (RSC6, TS12); see stats.h. Loop thread only, except the pure functions. */
#include "server/stats.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hmap.h"

#define MINUTE_MS 60000LL

static const struct {
    const char *column;
    int peak;
} fields[RTA_SF_COUNT] = {
    [RTA_SF_MSG_IN_REALTIME] = {"msg_in_rt", 0},
    [RTA_SF_MSG_IN_REALTIME_DATA] = {"msg_in_rt_data", 0},
    [RTA_SF_MSG_IN_REST] = {"msg_in_rest", 0},
    [RTA_SF_MSG_IN_REST_DATA] = {"msg_in_rest_data", 0},
    [RTA_SF_MSG_OUT] = {"msg_out", 0},
    [RTA_SF_MSG_OUT_DATA] = {"msg_out_data", 0},
    [RTA_SF_CONN_OPENED] = {"conn_opened", 0},
    [RTA_SF_CHAN_OPENED] = {"chan_opened", 0},
    [RTA_SF_TOKEN_OK] = {"token_ok", 0},
    [RTA_SF_TOKEN_FAILED] = {"token_failed", 0},
    [RTA_SF_TOKEN_REFUSED] = {"token_refused", 0},
    [RTA_SF_CONN_PEAK] = {"conn_peak", 1},
    [RTA_SF_CHAN_PEAK] = {"chan_peak", 1},
    [RTA_SF_API_OK] = {"api_ok", 0},
    [RTA_SF_API_FAILED] = {"api_failed", 0},
    [RTA_SF_API_REFUSED] = {"api_refused", 0},
};

int rta_stats_field_is_peak(rta_stats_field f)
{
    return (unsigned)f < RTA_SF_COUNT && fields[f].peak;
}

const char *rta_stats_field_column(rta_stats_field f)
{
    return (unsigned)f < RTA_SF_COUNT ? fields[f].column : "";
}

/* ---- the accumulator ------------------------------------------------------------------------ */

typedef struct app_acc {
    char id[RTA_KEY_ID_MAX + 1];
    int64_t minute;        /* of cur */
    int64_t cur[RTA_SF_COUNT]; /* sums since the last flush; peaks of the minute */
    int64_t sent_peak[2];  /* peaks as last flushed for this minute (-1: not yet) */
    int64_t conn_active, chan_active;
} app_acc;

static struct {
    int ready;
    rta_hmap by_id; /* app id -> app_acc* */
    rta_stats_row *ended; /* minutes that ended, not yet taken */
    size_t ended_n, ended_cap;
    int64_t last_flush;
} A;

void rta_stats_init(void)
{
    if (A.ready) return;
    memset(&A, 0, sizeof(A));
    if (rta_hmap_init(&A.by_id)) return;
    A.ready = 1;
}

void rta_stats_free(void)
{
    if (!A.ready) return;
    for (size_t i = 0; i < A.by_id.cap; i++)
        if (A.by_id.slots[i].key) free(A.by_id.slots[i].value);
    rta_hmap_free(&A.by_id);
    free(A.ended);
    memset(&A, 0, sizeof(A));
}

static int has_counts(const app_acc *a)
{
    for (int f = 0; f < RTA_SF_COUNT; f++)
        if (a->cur[f]) return 1;
    return 0;
}

static void push_ended(const app_acc *a)
{
    if (A.ended_n == A.ended_cap) {
        size_t cap = A.ended_cap ? 2 * A.ended_cap : 16;
        rta_stats_row *r = realloc(A.ended, cap * sizeof(*r));
        if (!r) return; /* out of memory: that minute's counts are lost, nothing else */
        A.ended = r;
        A.ended_cap = cap;
    }
    rta_stats_row *r = &A.ended[A.ended_n++];
    memset(r, 0, sizeof(*r));
    memcpy(r->app_id, a->id, sizeof(r->app_id));
    r->minute = a->minute;
    memcpy(r->v, a->cur, sizeof(r->v));
}

/* Moves a to minute m: what it counted goes to the ended list; the peaks start at what is
 * active now. */
static void roll(app_acc *a, int64_t m)
{
    if (a->minute == m) return;
    if (has_counts(a)) push_ended(a);
    memset(a->cur, 0, sizeof(a->cur));
    a->minute = m;
    a->cur[RTA_SF_CONN_PEAK] = a->conn_active;
    a->cur[RTA_SF_CHAN_PEAK] = a->chan_active;
    a->sent_peak[0] = a->sent_peak[1] = -1;
}

static app_acc *acc(const char *app_id, size_t len, int64_t now)
{
    if (!A.ready || !app_id || !len || len >= sizeof(((app_acc *)0)->id)) return NULL;
    app_acc *a = rta_hmap_get(&A.by_id, app_id, len);
    if (!a) {
        a = calloc(1, sizeof(*a));
        if (!a) return NULL;
        memcpy(a->id, app_id, len);
        a->minute = now / MINUTE_MS;
        a->sent_peak[0] = a->sent_peak[1] = -1;
        if (rta_hmap_put(&A.by_id, a->id, len, a, NULL)) {
            free(a);
            return NULL;
        }
    }
    if (now / MINUTE_MS > a->minute) roll(a, now / MINUTE_MS);
    return a;
}

void rta_stats_message_in(const char *app_id, int rest, size_t count, size_t bytes, int64_t now)
{
    app_acc *a = acc(app_id, app_id ? strlen(app_id) : 0, now);
    if (!a) return;
    a->cur[rest ? RTA_SF_MSG_IN_REST : RTA_SF_MSG_IN_REALTIME] += (int64_t)count;
    a->cur[rest ? RTA_SF_MSG_IN_REST_DATA : RTA_SF_MSG_IN_REALTIME_DATA] += (int64_t)bytes;
}

void rta_stats_message_out(const char *app_id, size_t app_len, size_t count, size_t bytes,
                           int64_t now)
{
    app_acc *a = acc(app_id, app_len, now);
    if (!a) return;
    a->cur[RTA_SF_MSG_OUT] += (int64_t)count;
    a->cur[RTA_SF_MSG_OUT_DATA] += (int64_t)bytes;
}

void rta_stats_connection(const char *app_id, int opened, int64_t now)
{
    app_acc *a = acc(app_id, app_id ? strlen(app_id) : 0, now);
    if (!a) return;
    if (opened) {
        a->cur[RTA_SF_CONN_OPENED]++;
        if (++a->conn_active > a->cur[RTA_SF_CONN_PEAK]) a->cur[RTA_SF_CONN_PEAK] = a->conn_active;
    } else if (a->conn_active > 0) {
        a->conn_active--;
    }
}

void rta_stats_channel(const char *app_id, size_t app_len, int opened, int64_t now)
{
    app_acc *a = acc(app_id, app_len, now);
    if (!a) return;
    if (opened) {
        a->cur[RTA_SF_CHAN_OPENED]++;
        if (++a->chan_active > a->cur[RTA_SF_CHAN_PEAK]) a->cur[RTA_SF_CHAN_PEAK] = a->chan_active;
    } else if (a->chan_active > 0) {
        a->chan_active--;
    }
}

/* 0: succeeded, 1: refused (401, 403), 2: failed */
static int outcome(int status)
{
    return status == 0 || (status >= 200 && status < 400) ? 0 : status == 401 || status == 403 ? 1
                                                                                              : 2;
}

void rta_stats_token_request(const char *app_id, int status, int64_t now)
{
    app_acc *a = acc(app_id, app_id ? strlen(app_id) : 0, now);
    static const rta_stats_field f[] = {RTA_SF_TOKEN_OK, RTA_SF_TOKEN_REFUSED, RTA_SF_TOKEN_FAILED};
    if (a) a->cur[f[outcome(status)]]++;
}

void rta_stats_api_request(const char *app_id, int status, int64_t now)
{
    app_acc *a = acc(app_id, app_id ? strlen(app_id) : 0, now);
    static const rta_stats_field f[] = {RTA_SF_API_OK, RTA_SF_API_REFUSED, RTA_SF_API_FAILED};
    if (a) a->cur[f[outcome(status)]]++;
}

/* Appends r to *rows (grown as needed). Returns 0 or -1. */
static int append(rta_stats_row **rows, size_t *n, size_t *cap, const rta_stats_row *r)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        rta_stats_row *p = realloc(*rows, c * sizeof(*p));
        if (!p) return -1;
        *rows = p;
        *cap = c;
    }
    (*rows)[(*n)++] = *r;
    return 0;
}

static void row_of(const app_acc *a, rta_stats_row *r)
{
    memset(r, 0, sizeof(*r));
    memcpy(r->app_id, a->id, sizeof(r->app_id));
    r->minute = a->minute;
    memcpy(r->v, a->cur, sizeof(r->v));
}

rta_stats_row *rta_stats_take_flush(int64_t now, int force, size_t *n)
{
    *n = 0;
    if (!A.ready) return NULL;
    int64_t m = now / MINUTE_MS;
    for (size_t i = 0; i < A.by_id.cap; i++)
        if (A.by_id.slots[i].key) roll(A.by_id.slots[i].value, m);
    if (!force && !A.ended_n && now - A.last_flush < RTA_STATS_FLUSH_MS) return NULL;
    A.last_flush = now;
    rta_stats_row *rows = A.ended;
    size_t cnt = A.ended_n, cap = A.ended_cap;
    A.ended = NULL;
    A.ended_n = A.ended_cap = 0;
    for (size_t i = 0; i < A.by_id.cap; i++) {
        if (!A.by_id.slots[i].key) continue;
        app_acc *a = A.by_id.slots[i].value;
        int changed = 0;
        for (int f = 0; f < RTA_SF_COUNT; f++) changed |= !fields[f].peak && a->cur[f];
        for (int k = 0; k < 2; k++) {
            int64_t p = a->cur[k ? RTA_SF_CHAN_PEAK : RTA_SF_CONN_PEAK];
            changed |= p != a->sent_peak[k] && (p > 0 || a->sent_peak[k] > 0);
        }
        if (!changed) continue;
        rta_stats_row r;
        row_of(a, &r);
        if (append(&rows, &cnt, &cap, &r)) break; /* kept for the next flush */
        for (int f = 0; f < RTA_SF_COUNT; f++)
            if (!fields[f].peak) a->cur[f] = 0;
        a->sent_peak[0] = a->cur[RTA_SF_CONN_PEAK];
        a->sent_peak[1] = a->cur[RTA_SF_CHAN_PEAK];
    }
    if (!cnt) {
        free(rows);
        return NULL;
    }
    *n = cnt;
    return rows;
}

rta_stats_row *rta_stats_pending(const char *app_id, size_t *n)
{
    *n = 0;
    if (!A.ready || !app_id) return NULL;
    rta_stats_row *rows = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < A.ended_n; i++)
        if (!strcmp(A.ended[i].app_id, app_id) && append(&rows, n, &cap, &A.ended[i])) break;
    app_acc *a = rta_hmap_get(&A.by_id, app_id, strlen(app_id));
    if (a && has_counts(a)) {
        rta_stats_row r;
        row_of(a, &r);
        append(&rows, n, &cap, &r);
    }
    return rows;
}

/* ---- intervals ------------------------------------------------------------------------------ */

static const char *const unit_names[] = {"minute", "hour", "day", "month"};

int rta_stats_unit_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, unit_names[i])) return i;
    return -1;
}

const char *rta_stats_unit_name(rta_stats_unit u)
{
    return (unsigned)u < 4 ? unit_names[u] : "minute";
}

int64_t rta_stats_interval_start(int64_t t, rta_stats_unit u)
{
    if (t < 0) t = 0;
    switch (u) {
    case RTA_STATS_HOUR: return t - t % 3600000LL;
    case RTA_STATS_DAY: return t - t % 86400000LL;
    case RTA_STATS_MONTH: {
        time_t s = (time_t)(t / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        return (int64_t)timegm(&tm) * 1000;
    }
    default: return t - t % MINUTE_MS;
    }
}

int64_t rta_stats_interval_next(int64_t start, rta_stats_unit u)
{
    switch (u) {
    case RTA_STATS_HOUR: return start + 3600000LL;
    case RTA_STATS_DAY: return start + 86400000LL;
    case RTA_STATS_MONTH: {
        time_t s = (time_t)(start / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        tm.tm_mday = 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        if (++tm.tm_mon == 12) tm.tm_mon = 0, tm.tm_year++;
        return (int64_t)timegm(&tm) * 1000;
    }
    default: return start + MINUTE_MS;
    }
}

void rta_stats_interval_id(int64_t start, rta_stats_unit u, char *out, size_t size)
{
    time_t s = (time_t)(start / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    const char *fmt = u == RTA_STATS_HOUR    ? "%Y-%m-%d:%H"
                      : u == RTA_STATS_DAY   ? "%Y-%m-%d:00"
                      : u == RTA_STATS_MONTH ? "%Y-%m-01:00"
                                             : "%Y-%m-%d:%H:%M";
    if (!strftime(out, size, fmt, &tm) && size) out[0] = '\0';
}

static int by_minute(const void *a, const void *b)
{
    int64_t x = ((const rta_stats_row *)a)->minute, y = ((const rta_stats_row *)b)->minute;
    return x < y ? -1 : x > y;
}

long rta_stats_aggregate(const rta_stats_row *rows, size_t n, rta_stats_unit u,
                         rta_stats_bucket **out)
{
    *out = NULL;
    if (!n) return 0;
    rta_stats_row *sorted = malloc(n * sizeof(*sorted));
    rta_stats_bucket *b = malloc(n * sizeof(*b)); /* at most one bucket per row */
    if (!sorted || !b) {
        free(sorted);
        free(b);
        return -1;
    }
    memcpy(sorted, rows, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), by_minute);
    long nb = 0;
    for (size_t i = 0; i < n;) {
        /* one minute: its rows combine (sums add, peaks by max) */
        int64_t v[RTA_SF_COUNT] = {0};
        int64_t minute = sorted[i].minute;
        for (; i < n && sorted[i].minute == minute; i++)
            for (int f = 0; f < RTA_SF_COUNT; f++)
                v[f] = fields[f].peak ? (sorted[i].v[f] > v[f] ? sorted[i].v[f] : v[f])
                                      : v[f] + sorted[i].v[f];
        int64_t start = rta_stats_interval_start(minute * MINUTE_MS, u);
        if (!nb || b[nb - 1].start != start) {
            memset(&b[nb], 0, sizeof(b[nb]));
            b[nb++].start = start;
        }
        rta_stats_bucket *k = &b[nb - 1];
        for (int f = 0; f < RTA_SF_COUNT; f++)
            k->v[f] = fields[f].peak ? (v[f] > k->v[f] ? v[f] : k->v[f]) : k->v[f] + v[f];
    }
    free(sorted);
    *out = b;
    return nb;
}

static void combine(int64_t *into, const int64_t *v)
{
    for (int f = 0; f < RTA_SF_COUNT; f++)
        into[f] = fields[f].peak ? (v[f] > into[f] ? v[f] : into[f]) : into[f] + v[f];
}

int rta_stats_fold(rta_stats_bucket **b, size_t *n, size_t *cap, int64_t minute,
                   const int64_t v[RTA_SF_COUNT], rta_stats_unit u)
{
    int any = 0;
    for (int f = 0; f < RTA_SF_COUNT; f++) any |= v[f] != 0;
    if (!any) return 0; /* nothing counted: no interval (Ably's stats are sparse) */
    int64_t start = rta_stats_interval_start(minute * MINUTE_MS, u);
    if (*n && (*b)[*n - 1].start == start) {
        combine((*b)[*n - 1].v, v);
        return 0;
    }
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        rta_stats_bucket *p = realloc(*b, c * sizeof(*p));
        if (!p) return -1;
        *b = p;
        *cap = c;
    }
    rta_stats_bucket *k = &(*b)[(*n)++];
    k->start = start;
    memcpy(k->v, v, sizeof(k->v));
    return 0;
}

long rta_stats_merge(const rta_stats_bucket *a, size_t na, const rta_stats_bucket *b, size_t nb,
                     rta_stats_bucket **out)
{
    *out = NULL;
    if (!na && !nb) return 0;
    rta_stats_bucket *m = malloc((na + nb) * sizeof(*m));
    if (!m) return -1;
    size_t i = 0, j = 0, k = 0;
    while (i < na || j < nb) {
        if (j >= nb || (i < na && a[i].start < b[j].start)) {
            m[k++] = a[i++];
        } else if (i >= na || b[j].start < a[i].start) {
            m[k++] = b[j++];
        } else {
            m[k] = a[i++];
            combine(m[k++].v, b[j++].v);
        }
    }
    *out = m;
    return (long)k;
}

/* ---- GET /stats parameters ------------------------------------------------------------------ */

/* A whole decimal number in [min, max], digits only. */
static int whole(const char *v, long long min, long long max, long long *out)
{
    if (!*v) return 0;
    long long n = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || n > (max - (*p - '0')) / 10) return 0;
        n = n * 10 + (*p - '0');
    }
    if (n < min) return 0;
    *out = n;
    return 1;
}

int rta_stats_params_parse(const char *(*get)(void *ctx, const char *name_eq), void *ctx,
                           int64_t now, rta_stats_params *q, rta_error *err)
{
    const char *v;
    long long n;
    memset(q, 0, sizeof(*q));
    q->limit = RTA_STATS_DEFAULT_LIMIT;
    q->end = now < 0 ? 0 : now > RTA_STATS_MAX_MS ? RTA_STATS_MAX_MS : now;
    if ((v = get(ctx, "limit="))) {
        if (!whole(v, 1, RTA_STATS_MAX_LIMIT, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "limit must be an integer from 1 to %d", RTA_STATS_MAX_LIMIT);
        q->limit = (size_t)n;
    }
    if ((v = get(ctx, "unit="))) {
        int u = rta_stats_unit_parse(v);
        if (u < 0)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "unit must be minute, hour, day or month");
        q->unit = (rta_stats_unit)u;
    }
    if ((v = get(ctx, "direction="))) {
        if (strcmp(v, "backwards") && strcmp(v, "forwards"))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "direction must be backwards or forwards");
        q->forwards = !strcmp(v, "forwards");
    }
    if ((v = get(ctx, "start="))) {
        if (!whole(v, 0, RTA_STATS_MAX_MS, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "start must be a time in milliseconds since the epoch");
        q->start = n;
        q->has_start = 1;
    }
    if ((v = get(ctx, "end="))) {
        if (!whole(v, 0, RTA_STATS_MAX_MS, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "end must be a time in milliseconds since the epoch");
        q->end = n;
        q->has_end = 1;
    }
    if (q->start > q->end)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "start must not be after end");
    if ((v = get(ctx, "cursor="))) {
        if (!whole(v, 0, RTA_STATS_MAX_MS, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid cursor");
        q->cursor = n;
        q->has_cursor = 1;
    }
    q->first_interval = rta_stats_interval_start(q->start, q->unit);
    q->last_interval = rta_stats_interval_start(q->end, q->unit);
    if (q->has_cursor) { /* a later page: backwards up to the cursor, forwards from it */
        int64_t c = rta_stats_interval_start(q->cursor, q->unit);
        if (q->forwards && c > q->first_interval) q->first_interval = c;
        if (!q->forwards && c < q->last_interval) q->last_interval = c;
    }
    return 0;
}

/* ---- the Stats object ---------------------------------------------------------------------- */

typedef struct entry {
    const char *name;
    int64_t value;
} entry;

void rta_stats_write(rta_writer *w, const rta_stats_bucket *b, rta_stats_unit u,
                     const char *app_id, const char *in_progress)
{
    const int64_t *v = b->v;
    int64_t in_rt = v[RTA_SF_MSG_IN_REALTIME], in_rt_d = v[RTA_SF_MSG_IN_REALTIME_DATA];
    int64_t in_rest = v[RTA_SF_MSG_IN_REST], in_rest_d = v[RTA_SF_MSG_IN_REST_DATA];
    int64_t out = v[RTA_SF_MSG_OUT], out_d = v[RTA_SF_MSG_OUT_DATA];
    int64_t in = in_rt + in_rest, in_d = in_rt_d + in_rest_d;
    int64_t tok_ok = v[RTA_SF_TOKEN_OK], tok_failed = v[RTA_SF_TOKEN_FAILED];
    int64_t tok_refused = v[RTA_SF_TOKEN_REFUSED];
    int64_t api_ok = tok_ok + v[RTA_SF_API_OK], api_failed = tok_failed + v[RTA_SF_API_FAILED];
    int64_t api_refused = tok_refused + v[RTA_SF_API_REFUSED];
    /* only messages are counted (no presence): each "all" type equals its "messages" */
    const entry all[] = {
        {"messages.all.all.count", in + out},
        {"messages.all.all.data", in_d + out_d},
        {"messages.all.messages.count", in + out},
        {"messages.all.messages.data", in_d + out_d},
        {"messages.inbound.all.all.count", in},
        {"messages.inbound.all.all.data", in_d},
        {"messages.inbound.all.messages.count", in},
        {"messages.inbound.all.messages.data", in_d},
        {"messages.inbound.realtime.all.count", in_rt},
        {"messages.inbound.realtime.all.data", in_rt_d},
        {"messages.inbound.realtime.messages.count", in_rt},
        {"messages.inbound.realtime.messages.data", in_rt_d},
        {"messages.inbound.rest.all.count", in_rest},
        {"messages.inbound.rest.all.data", in_rest_d},
        {"messages.inbound.rest.messages.count", in_rest},
        {"messages.inbound.rest.messages.data", in_rest_d},
        {"messages.outbound.all.all.count", out},
        {"messages.outbound.all.all.data", out_d},
        {"messages.outbound.all.messages.count", out},
        {"messages.outbound.all.messages.data", out_d},
        {"messages.outbound.realtime.all.count", out},
        {"messages.outbound.realtime.all.data", out_d},
        {"messages.outbound.realtime.messages.count", out},
        {"messages.outbound.realtime.messages.data", out_d},
        {"connections.all.peak", v[RTA_SF_CONN_PEAK]},
        {"connections.all.opened", v[RTA_SF_CONN_OPENED]},
        {"channels.peak", v[RTA_SF_CHAN_PEAK]},
        {"channels.opened", v[RTA_SF_CHAN_OPENED]},
        {"apiRequests.all.succeeded", api_ok},
        {"apiRequests.all.failed", api_failed},
        {"apiRequests.all.refused", api_refused},
        {"apiRequests.tokenRequests.succeeded", tok_ok},
        {"apiRequests.tokenRequests.failed", tok_failed},
        {"apiRequests.tokenRequests.refused", tok_refused},
    };
    size_t nonzero = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) nonzero += all[i].value != 0;
    char id[32];
    rta_stats_interval_id(b->start, u, id, sizeof(id));
    rta_w_map(w, in_progress ? 6 : 5);
    rta_w_key(w, "intervalId");
    rta_w_str(w, id);
    rta_w_key(w, "unit");
    rta_w_str(w, rta_stats_unit_name(u));
    rta_w_key(w, "schema");
    rta_w_str(w, RTA_STATS_SCHEMA);
    rta_w_key(w, "appId");
    rta_w_str(w, app_id);
    if (in_progress) {
        rta_w_key(w, "inProgress");
        rta_w_str(w, in_progress);
    }
    rta_w_key(w, "entries");
    rta_w_map(w, nonzero);
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (!all[i].value) continue;
        rta_w_key(w, all[i].name);
        rta_w_int(w, all[i].value);
    }
    rta_w_map_end(w);
    rta_w_map_end(w);
}
