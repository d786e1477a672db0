/* cluster_backlog.c: a connection's catch-up from a channel's stream; see cluster_backlog.h. */
#include "server/cluster_backlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cluster_channels.h"
#include "server/log.h"
#include "server/server.h"
#include "server/store/redis_channels.h"

typedef struct backlog_job {
    rta_store_job job;
    rta_server *srv;
    rta_cluster_channels *cc;
    rta_cluster_backlog_limits lim;
    char *app_id, *name;
    char epoch[RTA_CK_EPOCH_MAX]; /* the epoch this node follows */
    uint64_t after, upto, next;   /* the range asked for; the next serial wanted */
    int gap, oom;
    int failed;   /* not followed here: done reports it (never before the call returns) */
    int too_long; /* more than lim.max messages: not whole, without a read */
    rta_ch_read q;
    rta_ch_copies got; /* room for the whole range */
    rta_gateway_backlog_cb done;
    void *arg;
} backlog_job;

static void job_free(backlog_job *j)
{
    rta_ch_copies_free(&j->got);
    free(j->app_id);
    free(j->name);
    free(j);
}

/* Store thread: keeps the entries that continue the sequence; a jump is a gap. */
static void collect(void *ctx, const rta_ch_entry *e)
{
    backlog_job *j = ctx;
    if (j->oom || j->gap || e->serial < j->next || e->serial > j->upto) return;
    if (e->serial != j->next) {
        j->gap = 1; /* trimmed or expired before it */
        return;
    }
    if (rta_ch_copies_add(&j->got, e)) {
        j->oom = 1;
        return;
    }
    j->next = e->serial + 1;
}

static void run(rta_store_job *job, rta_store *store)
{
    backlog_job *j = (backlog_job *)job;
    if (j->failed || j->too_long) {
        if (j->failed)
            job->rc = rta_error_set(&job->err, RTA_ERR_INTERNAL, "The channel is not followed here");
        return;
    }
    j->q = (rta_ch_read){.app_id = j->app_id,
                         .channel = j->name,
                         .epoch = j->epoch,
                         .from = j->next,
                         .max = (size_t)(j->upto - j->after)};
    job->rc = rta_store_redis_ch_read(store, &j->q, collect, j, &job->err);
    if (!job->rc && j->oom) job->rc = rta_error_set(&job->err, RTA_ERR_INTERNAL, "Out of memory");
}

/* Decodes the entries and gives them to the gateway. */
static void hand_over(backlog_job *j)
{
    rta_gateway_backlog *msgs = j->got.n ? calloc(j->got.n, sizeof(*msgs)) : NULL;
    size_t m = 0;
    int complete = !j->got.n || msgs;
    rta_parse_limits lim = {j->lim.max_payload, 0};
    for (size_t i = 0; complete && i < j->got.n; i++) {
        const rta_ch_copy *e = &j->got.v[i];
        rta_error err;
        if (rta_protocol_message_decode(e->payload, e->len, RTA_FORMAT_MSGPACK, &lim, &msgs[m].pm,
                                        &err)) {
            /* skipped on every node alike (cluster_channels.c) */
            rta_log_warn("cluster: message %llu of a channel of app %s is unreadable (%s); "
                         "skipped",
                         (unsigned long long)e->serial, j->app_id, err.message);
            continue;
        }
        msgs[m++].serial = e->serial;
    }
    j->done(j->arg, 0, complete, msgs, m);
    for (size_t i = 0; i < m; i++)
        rta_protocol_message_clear(&msgs[i].pm);
    free(msgs);
}

static void done(rta_store_job *job)
{
    backlog_job *j = (backlog_job *)job;
    if (job->rc || rta_cluster_channels_stopping(j->cc))
        j->done(j->arg, job->rc ? job->rc : RTA_ERR_INTERNAL, 0, NULL, 0);
    else if (j->too_long || j->gap || j->q.restarted || strcmp(j->q.head_epoch, j->epoch) || j->next <= j->upto)
        j->done(j->arg, 0, 0, NULL, 0); /* not whole, or the channel has another epoch now */
    else
        hand_over(j);
    job_free(j);
}

void rta_cluster_backlog_read(rta_server *srv, rta_cluster_channels *cc,
                              const rta_cluster_backlog_limits *lim, const char *app_id,
                              const char *channel, uint64_t after, uint64_t upto,
                              rta_gateway_backlog_cb cb, void *arg)
{
    uint64_t last;
    char epoch[RTA_CK_EPOCH_MAX];
    backlog_job *j = calloc(1, sizeof(*j));
    if (j) {
        j->app_id = strdup(app_id);
        j->name = strdup(channel);
    }
    if (!j || !j->app_id || !j->name) {
        if (j) job_free(j);
        rta_log_error("cluster: out of memory reading a channel's backlog");
        cb(arg, RTA_ERR_INTERNAL, 0, NULL, 0); /* no job to answer later: now (rare) */
        return;
    }
    j->srv = srv;
    j->cc = cc;
    j->lim = *lim;
    j->after = after;
    j->upto = upto;
    j->next = after + 1;
    /* a channel this node does not follow, or too long a range: done says so, later */
    j->failed = upto <= after || !rta_cluster_channels_position(cc, app_id, channel, &last, epoch);
    j->too_long = !j->failed && upto - after > lim->max;
    if (!j->failed && !j->too_long) j->got.max = (size_t)(upto - after);
    if (!j->failed) snprintf(j->epoch, sizeof(j->epoch), "%s", epoch);
    j->done = cb;
    j->arg = arg;
    j->job = (rta_store_job){.run = run, .done = done};
    rta_server_submit(srv, &j->job);
}
