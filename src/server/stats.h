/* stats.h: Ably app statistics (RSC6, TS12; issue 17): what GET /stats serves.
 *
 * Three parts:
 *   - the fields counted per app and per minute (rta_stats_field: sums, and peaks that
 *     combine by max) and their Ably entry names (app-stats schema: messages.*,
 *     connections.all.peak/opened, channels.peak/opened, apiRequests.*);
 *   - the accumulator: the loop thread counts events into the current minute of each app
 *     (rta_stats_*_event), and hands what accumulated to the store every few seconds and at
 *     each minute boundary (rta_stats_take_flush); peaks are re-sent, sums only once;
 *   - interval math (pure, unit-tested): a unit's interval start for a time (UTC), the next
 *     one, its intervalId (TS12a), and the aggregation of minute rows into unit buckets.
 *
 * The accumulator is one per process, on the loop thread only (no locks). Apps are bounded
 * by the registry: events are counted only for app ids the callers resolved from a known key
 * or a verified token, never for a name a client chose.
 *
 * Must never: block, or count anything under an app id taken from a request unverified.
 */
#ifndef RTA_SERVER_STATS_H
#define RTA_SERVER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/key.h"

typedef enum rta_stats_field {
    RTA_SF_MSG_IN_REALTIME = 0, /* messages published over realtime */
    RTA_SF_MSG_IN_REALTIME_DATA,
    RTA_SF_MSG_IN_REST,         /* messages published over REST */
    RTA_SF_MSG_IN_REST_DATA,
    RTA_SF_MSG_OUT,             /* messages delivered to realtime subscribers */
    RTA_SF_MSG_OUT_DATA,
    RTA_SF_CONN_OPENED,         /* connections.all.opened */
    RTA_SF_CHAN_OPENED,         /* channels.opened */
    RTA_SF_TOKEN_OK,            /* apiRequests.tokenRequests.succeeded */
    RTA_SF_TOKEN_FAILED,        /* ... .failed (bad request, server error) */
    RTA_SF_TOKEN_REFUSED,       /* ... .refused (credentials, capability: 401, 403) */
    RTA_SF_CONN_PEAK,           /* connections.all.peak: max, not sum */
    RTA_SF_CHAN_PEAK,           /* channels.peak: max */
    RTA_SF_API_OK,              /* other REST requests of the app (publish, history, stats,
                                 * revokeTokens...): into apiRequests.all.succeeded */
    RTA_SF_API_FAILED,
    RTA_SF_API_REFUSED,
    RTA_SF_COUNT
} rta_stats_field;

/* 1 for the fields that combine by max (peaks), 0 for sums. */
int rta_stats_field_is_peak(rta_stats_field f);
/* The column / hash field name of f in a store ("msg_in_rt", ...). */
const char *rta_stats_field_column(rta_stats_field f);

/* One app's counters for one minute (minute: ms since the epoch / 60000). */
typedef struct rta_stats_row {
    char app_id[RTA_KEY_ID_MAX + 1];
    int64_t minute;
    int64_t v[RTA_SF_COUNT];
} rta_stats_row;

/* Minute rows are kept this long (docs/operations.md); hour, day and month are aggregated
 * from them on each query. */
#define RTA_STATS_RETENTION_MS (90LL * 24 * 3600 * 1000)
/* The accumulator hands its counts to the store at least this often, and at each minute's
 * end. */
#define RTA_STATS_FLUSH_MS 5000

/* ---- counting (loop thread) ---------------------------------------------------------------- */

void rta_stats_init(void);
void rta_stats_free(void);
/* Events, at time now (ms). app_id: resolved from a known key or a verified token. */
void rta_stats_message_in(const char *app_id, int rest, size_t count, size_t bytes, int64_t now);
void rta_stats_message_out(const char *app_id, size_t app_len, size_t count, size_t bytes,
                           int64_t now);
/* A connection admitted (opened) or gone (closed); a channel activated or released. */
void rta_stats_connection(const char *app_id, int opened, int64_t now);
void rta_stats_channel(const char *app_id, size_t app_len, int opened, int64_t now);
/* A requestToken answered: 0 succeeded, else its HTTP status (401/403 refused, else
 * failed). */
void rta_stats_token_request(const char *app_id, int status, int64_t now);
/* Another REST request that authenticated as app_id, answered with HTTP status. */
void rta_stats_api_request(const char *app_id, int status, int64_t now);

/* Rows to write now (NULL, *n 0 when nothing is due: less than RTA_STATS_FLUSH_MS since the
 * last flush and no minute ended): sums since the last flush, peaks as they stand. The
 * caller owns the array (free()). force: take whatever there is (shutdown). */
rta_stats_row *rta_stats_take_flush(int64_t now, int force, size_t *n);
/* What is counted for app_id but not yet taken (at most two minutes: the current one, and
 * the one before until its flush), for a query to add to what the store returns. The
 * caller owns the array. */
rta_stats_row *rta_stats_pending(const char *app_id, size_t *n);

/* ---- intervals (pure) --------------------------------------------------------------------- */

typedef enum { RTA_STATS_MINUTE = 0, RTA_STATS_HOUR, RTA_STATS_DAY, RTA_STATS_MONTH } rta_stats_unit;

/* "minute", "hour", "day", "month" -> unit; -1 for anything else. */
int rta_stats_unit_parse(const char *s);
const char *rta_stats_unit_name(rta_stats_unit u);
/* The start (ms, UTC) of the unit's interval holding t (t >= 0). */
int64_t rta_stats_interval_start(int64_t t, rta_stats_unit u);
/* The start of the next interval after the one starting at start. */
int64_t rta_stats_interval_next(int64_t start, rta_stats_unit u);
/* TS12a: minute yyyy-mm-dd:hh:mm, hour yyyy-mm-dd:hh, day yyyy-mm-dd:00, month
 * yyyy-mm-01:00. out holds at least 24 bytes. */
void rta_stats_interval_id(int64_t start, rta_stats_unit u, char *out, size_t size);

/* GET /stats's query (RSC6b; rest/stats.c): start, end (ms, defaults the epoch and now),
 * unit, direction, limit (1..1000, default 100) and our paging cursor. */
typedef struct rta_stats_params {
    int64_t start, end;
    int has_start, has_end; /* given (the Link of a page repeats only what was given) */
    rta_stats_unit unit;
    int forwards;
    size_t limit;
    int64_t cursor; /* a later page's boundary (ms), when has_cursor */
    int has_cursor;
    int64_t first_interval, last_interval; /* starts of the intervals the page covers */
} rta_stats_params;

#define RTA_STATS_DEFAULT_LIMIT 100
#define RTA_STATS_MAX_LIMIT     1000
/* The latest time accepted: the end of year 9999 (the interval math uses struct tm). */
#define RTA_STATS_MAX_MS 253402300799999LL

/* Reads the parameters through get(ctx, "limit=") (the decoded value, or NULL when absent)
 * and validates them. Returns 0, or 40003 with err naming the bad one. Pure: the fuzz target
 * fuzz/fuzz_stats_query.c drives it. */
int rta_stats_params_parse(const char *(*get)(void *ctx, const char *name_eq), void *ctx,
                           int64_t now, rta_stats_params *q, rta_error *err);

/* One interval of a unit, aggregated from minute rows. */
typedef struct rta_stats_bucket {
    int64_t start; /* ms */
    int64_t v[RTA_SF_COUNT];
} rta_stats_bucket;

/* Aggregates rows (any order; several rows for one minute, e.g. the store's and the
 * pending ones of this node, combine: sums add, peaks by max) into buckets of unit u, sorted by start ascending; peaks of
 * a longer interval are the max of its minutes'. Returns the bucket count; *out is owned by
 * the caller (NULL when 0 or out of memory: then -1). */
long rta_stats_aggregate(const rta_stats_row *rows, size_t n, rta_stats_unit u,
                         rta_stats_bucket **out);

/* Folds one minute row (or a bucket of the same unit, as a row with minute = start / 60000;
 * one with nothing counted is skipped) into *b, which is sorted by start: into the last bucket when r falls in it (sums add,
 * peaks by max), else as a new bucket (r must not be older than the last bucket). Returns 0
 * or -1 (out of memory). */
int rta_stats_fold(rta_stats_bucket **b, size_t *n, size_t *cap, int64_t minute,
                   const int64_t v[RTA_SF_COUNT], rta_stats_unit u);
/* Merges two bucket lists sorted by start into *out (equal starts combine). Returns the
 * count, or -1 (out of memory). */
long rta_stats_merge(const rta_stats_bucket *a, size_t na, const rta_stats_bucket *b, size_t nb,
                     rta_stats_bucket **out);

/* Writes one Stats object (TS12: intervalId, unit, schema, appId, inProgress when set,
 * entries with the non-zero fields only, as Ably's stats are sparse). in_progress: the
 * "yyyy-mm-dd:hh:mm:ss" of the last counted moment, or NULL. */
void rta_stats_write(rta_writer *w, const rta_stats_bucket *b, rta_stats_unit u,
                     const char *app_id, const char *in_progress);

#define RTA_STATS_SCHEMA "https://schemas.ably.com/json/app-stats-0.0.5.json"

#endif
