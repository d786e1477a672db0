/* cluster_history.c: REST history from a channel's stream; see cluster_history.h. */
#include "server/cluster_history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"
#include "server/store/redis_channels.h"

#define PER_PUBLISH 1000 /* cursor = serial * PER_PUBLISH + index */
#define READ_BATCH  200  /* stream entries per read */
#define SCAN_MAX    5000 /* entries looked at per page, at most (the stream is ~max_messages) */

typedef struct history_job {
    rta_store_job job;
    char *app_id, *channel;
    rta_history_query q;
    int64_t now, max_age;
    size_t max_payload;
    rta_message *msgs; /* q.limit */
    size_t n;
    int more, stop;
    uint64_t next, last_serial;
    size_t entries;
    int oom;
    rta_cluster_history_cb done;
    void *arg;
} history_job;

/* The message as history shows it (gateway/history.c does the same for its window). */
static int stamp(rta_message *out, const rta_message *m, const rta_protocol_message *pm,
                 size_t index)
{
    if (rta_message_copy(out, m)) return -1;
    free(out->connection_id);
    out->connection_id = pm->connection_id ? strdup(pm->connection_id) : NULL;
    if (!out->timestamp) out->timestamp = pm->timestamp;
    int bad = pm->connection_id && !out->connection_id;
    if (!out->id && pm->id) {
        size_t len = strlen(pm->id) + 24;
        if ((out->id = malloc(len)))
            snprintf(out->id, len, "%s:%zu", pm->id, index);
        else
            bad = 1;
    }
    if (bad) rta_message_clear(out);
    return bad ? -1 : 0;
}

/* One message in the page's order: taken, skipped, or the first beyond the page. */
static void offer(history_job *j, const rta_protocol_message *pm, uint64_t serial, size_t i)
{
    uint64_t key = serial * PER_PUBLISH + i;
    if (j->q.has_cursor && (j->q.forwards ? key < j->q.cursor : key > j->q.cursor)) return;
    if (j->q.has_until && serial > j->q.until) return; /* after the attach (RTL10b) */
    const rta_message *m = &pm->messages[i];
    int64_t ts = m->timestamp ? m->timestamp : pm->timestamp;
    if (ts < j->q.start || ts > j->q.end || (j->max_age > 0 && ts < j->now - j->max_age)) return;
    if (j->n == j->q.limit) {
        j->more = 1;
        j->next = key;
        j->stop = 1;
        return;
    }
    if (stamp(&j->msgs[j->n], m, pm, i))
        j->oom = j->stop = 1;
    else
        j->n++;
}

static void take_entry(void *ctx, const rta_ch_entry *e)
{
    history_job *j = ctx;
    j->last_serial = e->serial;
    j->entries++;
    if (j->stop) return;
    rta_protocol_message pm;
    rta_error err;
    rta_parse_limits lim = {j->max_payload, 0};
    if (rta_protocol_message_decode(e->payload, e->len, RTA_FORMAT_MSGPACK, &lim, &pm, &err))
        return; /* not one of ours: skipped, as the live path does */
    for (size_t k = 0; k < pm.message_count && !j->stop; k++)
        offer(j, &pm, e->serial, j->q.forwards ? k : pm.message_count - 1 - k);
    rta_protocol_message_clear(&pm);
}

static void history_run(rta_store_job *job, rta_store *store)
{
    history_job *j = (history_job *)job;
    if (!(j->msgs = calloc(j->q.limit ? j->q.limit : 1, sizeof(*j->msgs)))) {
        job->rc = rta_error_set(&job->err, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    uint64_t bound = j->q.has_cursor ? j->q.cursor / PER_PUBLISH : 0;
    for (size_t scanned = 0; !j->stop && scanned < SCAN_MAX;) {
        size_t got = 0;
        j->last_serial = 0;
        job->rc = rta_store_redis_ch_history(store, j->app_id, j->channel, !j->q.forwards, bound,
                                             READ_BATCH, take_entry, j, &got, &job->err);
        if (job->rc) return;
        scanned += got;
        if (got < READ_BATCH || !j->last_serial) break; /* the stream's end */
        if (j->q.forwards) {
            bound = j->last_serial + 1;
        } else {
            if (j->last_serial <= 1) break;
            bound = j->last_serial - 1;
        }
    }
    if (j->oom) job->rc = rta_error_set(&job->err, RTA_ERR_INTERNAL, "Out of memory");
}

static void history_done(rta_store_job *job)
{
    history_job *j = (history_job *)job;
    j->done(j->arg, job->rc, &job->err, j->msgs, job->rc ? 0 : j->n, j->more, j->next);
    for (size_t i = 0; j->msgs && i < j->n; i++)
        rta_message_clear(&j->msgs[i]);
    free(j->msgs);
    free(j->app_id);
    free(j->channel);
    free(j);
}

void rta_cluster_history_read(rta_server *srv, const char *app_id, const char *channel,
                              const rta_history_query *q, int64_t now, rta_cluster_history_cb done,
                              void *arg)
{
    history_job *j = calloc(1, sizeof(*j));
    if (j) {
        j->app_id = strdup(app_id);
        j->channel = strdup(channel);
    }
    if (!j || !j->app_id || !j->channel) {
        rta_error err;
        rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
        if (j) {
            free(j->app_id);
            free(j->channel);
        }
        free(j);
        done(arg, RTA_ERR_INTERNAL, &err, NULL, 0, 0, 0);
        return;
    }
    j->q = *q;
    j->now = now;
    j->max_age = srv->cfg.history.max_age_ms;
    size_t most = (size_t)srv->cfg.gateway.max_message_size * 2 + 64 * 1024;
    j->max_payload = most > RTA_PARSE_DEFAULT_MAX_BYTES ? most : RTA_PARSE_DEFAULT_MAX_BYTES;
    j->done = done;
    j->arg = arg;
    j->job.run = history_run;
    j->job.done = history_done;
    rta_server_submit(srv, &j->job);
}
