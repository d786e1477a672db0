/* rest/stats.c: GET /stats (RSC6, TS12; issue 17): the app's statistics, per minute, hour,
 * day or month, in Ably's Stats shape (server/stats.h writes one), newest first unless
 * direction=forwards, paged with a Link header like history (rest/channels.c).
 *
 *   credentials   any key (Basic) or token of the app; the capability must allow `stats`
 *                 on `*` (S-42, S-45: stats are app-wide), else 40160
 *   start, end    ms since the epoch (defaults: the epoch, now), rounded down to the unit's
 *                 interval; each bound's interval is included; start > end is 40003
 *   unit          minute (default), hour, day, month
 *   direction     backwards (default) or forwards
 *   limit         1..1000, default 100
 *   cursor        ours, in the Link of a next page: where that page starts (ms), so that the
 *                 first and current links keep the query's own start and end
 *
 * The rows come from the store (a store-thread job), plus what this node counted and has
 * not flushed yet (stats.h, rta_stats_pending), so the current minute is there, with
 * inProgress. Only intervals with something counted are returned (Ably's are sparse). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/capability.h"
#include "server/clock.h"
#include "server/rest/rest.h"
#include "server/rest/routes.h"
#include "server/stats.h"

typedef rta_stats_params stats_query;

/* rta_stats_params_parse's getter: the URL-decoded query argument, from libwebsockets. */
typedef struct query_args {
    struct lws *wsi;
    char buf[64]; /* a longer value comes back cut: it would not parse as a valid one anyway */
} query_args;

static const char *query_arg(void *ctx, const char *name_eq)
{
    query_args *a = ctx;
    return lws_get_urlarg_by_name(a->wsi, name_eq, a->buf, (int)sizeof(a->buf));
}

/* One Link entry: `<./stats?...>; rel="x"` (relative, as history's: ably-js keeps the path). */
static void link_rel(rta_buf *b, const stats_query *q, int has_cursor, int64_t cursor,
                     const char *rel)
{
    if (b->len) rta_buf_puts(b, ", ");
    rta_buf_printf(b, "<./stats?limit=%zu&unit=%s&direction=%s", q->limit,
                   rta_stats_unit_name(q->unit), q->forwards ? "forwards" : "backwards");
    if (q->has_start) rta_buf_printf(b, "&start=%lld", (long long)q->start);
    if (q->has_end) rta_buf_printf(b, "&end=%lld", (long long)q->end);
    if (has_cursor) rta_buf_printf(b, "&cursor=%lld", (long long)cursor);
    rta_buf_printf(b, ">; rel=\"%s\"", rel);
}

/* The reply from every bucket in range (sorted by start ascending). */
static void reply_page(rta_http_session *s, const stats_query *q, const char *app_id,
                       const rta_stats_bucket *b, size_t n, int64_t now)
{
    /* the buckets inside [first_interval, last_interval] */
    size_t lo = 0, hi = n;
    while (lo < hi && b[lo].start < q->first_interval) lo++;
    while (hi > lo && b[hi - 1].start > q->last_interval) hi--;
    size_t total = hi - lo, count = total < q->limit ? total : q->limit;
    int64_t current = rta_stats_interval_start(now, q->unit);
    char in_progress[32];
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(in_progress, sizeof(in_progress), "%Y-%m-%d:%H:%M:%S", &tm);

    rta_writer w;
    rta_http_begin_reply(s, &w);
    rta_w_array(&w, count);
    int64_t last_start = 0;
    for (size_t i = 0; i < count; i++) {
        const rta_stats_bucket *k = q->forwards ? &b[lo + i] : &b[hi - 1 - i];
        rta_stats_write(&w, k, q->unit, app_id, k->start == current ? in_progress : NULL);
        last_start = k->start;
    }
    rta_w_array_end(&w);

    rta_buf link = RTA_BUF_INIT;
    link_rel(&link, q, 0, 0, "first");
    link_rel(&link, q, q->has_cursor, q->cursor, "current");
    if (total > count) /* the next page continues past the last interval returned */
        link_rel(&link, q, 1,
                 q->forwards ? rta_stats_interval_next(last_start, q->unit) : last_start - 1,
                 "next");
    if (link.oom) {
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
    } else {
        rta_http_reply_encoded(s, 200);
        size_t len;
        if (s->status == 200) s->link = rta_buf_detach(&link, &len);
    }
    rta_buf_free(&link);
}

/* ---- the store's rows, on the store thread --------------------------------------------------- */

typedef struct stats_job {
    rta_store_job job;
    rta_http_pending *pending;
    stats_query q;
    char app_id[RTA_KEY_ID_MAX + 1];
    rta_stats_row *pending_rows; /* not yet flushed, taken when the query was submitted */
    size_t pending_n;
    rta_stats_bucket *buckets; /* from the store */
    size_t n, cap;
    int oom;
} stats_job;

static void fold_row(void *ctx, const rta_stats_row *r)
{
    stats_job *j = ctx;
    if (!j->oom && rta_stats_fold(&j->buckets, &j->n, &j->cap, r->minute, r->v, j->q.unit))
        j->oom = 1;
}

static void stats_job_run(rta_store_job *job, rta_store *store)
{
    stats_job *j = (stats_job *)job;
    int64_t from = j->q.first_interval / 60000;
    int64_t to = (rta_stats_interval_next(j->q.last_interval, j->q.unit) - 1) / 60000;
    job->rc = store->ops->list_stats(store, j->app_id, from, to, fold_row, j, &job->err);
}

/* Store buckets + this node's unflushed rows, then the reply. */
static void answer(rta_http_session *s, stats_job *j)
{
    rta_stats_bucket *mine = NULL, *all = NULL;
    long nm = rta_stats_aggregate(j->pending_rows, j->pending_n, j->q.unit, &mine);
    long na = nm < 0 ? -1 : rta_stats_merge(j->buckets, j->n, mine, (size_t)nm, &all);
    if (j->oom || na < 0)
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
    else
        reply_page(s, &j->q, j->app_id, all, (size_t)na, rta_clock_now());
    free(mine);
    free(all);
}

static void stats_job_free(stats_job *j)
{
    free(j->pending_rows);
    free(j->buckets);
    free(j);
}

static void stats_job_done(rta_store_job *job)
{
    stats_job *j = (stats_job *)job;
    rta_http_session *s = j->pending->session;
    if (s && job->rc)
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Statistics not available");
    else if (s)
        answer(s, j);
    rta_http_finish(j->pending);
    stats_job_free(j);
}

void rta_route_stats(rta_http_session *s)
{
    rta_auth_context auth;
    if (rta_route_authenticate(s, &auth)) return; /* replied */
    rta_error err;
    int rc = 0;
    if (!rta_capability_allows(&auth.capability, "*", 1, RTA_OP_STATS))
        rc = rta_error_set(&err, RTA_ERR_CAPABILITY_DENIED,
                           "Permission denied: no stats capability on *");
    stats_job *j = NULL;
    if (!rc) {
        j = calloc(1, sizeof(*j));
        if (!j)
            rc = rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
        else
            rc = rta_stats_params_parse(query_arg, &(query_args){.wsi = s->wsi}, rta_clock_now(),
                                        &j->q, &err);
    }
    if (rc) {
        free(j);
        rta_auth_context_clear(&auth);
        rta_http_reply_error(s, &err);
        return;
    }
    snprintf(j->app_id, sizeof(j->app_id), "%s", auth.app_id);
    rta_auth_context_clear(&auth);
    /* Taken now: a flush submitted before this job is in the store when it reads (the store
     * thread runs jobs in order), and one submitted after it is in these rows. */
    j->pending_rows = rta_stats_pending(j->app_id, &j->pending_n);
    rta_store *store = s->env->store;
    if (!store->ops->list_stats) { /* a store that keeps no statistics: this node's only */
        answer(s, j);
        stats_job_free(j);
        return;
    }
    if (!(j->pending = rta_http_go_async(s))) {
        stats_job_free(j);
        rta_http_reply_code(s, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    j->job.run = stats_job_run;
    j->job.done = stats_job_done;
    s->env->submit(s->env->ctx, &j->job);
}
