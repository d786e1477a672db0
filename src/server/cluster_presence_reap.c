/* cluster_presence_reap.c: presence across nodes, the part that outlives a node: each
 * process's heartbeat in Redis, the reaping of a dead one's members by one surviving node (one
 * LEAVE each), and giving up the members of connections resumed elsewhere that nobody took
 * (cluster_presence.h). Loop thread only; Redis only in store-thread jobs.
 *
 * Must never: publish a LEAVE for a member it did not remove from Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/cluster_presence_internal.h"
#include "server/log.h"
#include "server/server.h"

typedef struct removed {
    char *app_id, *channel;
    rta_buf member;
} removed;

typedef struct reap_job {
    rta_store_job job;
    rta_cluster_presence *cp;
    char *target; /* the owner whose members go */
    char *app_id, *channel; /* an orphan's (NULL: a dead owner's, everywhere) */
    char conn_id[24];
    int won;
    removed *got;
    size_t n, cap;
    int oom;
} reap_job;

static void reap_collect(void *ctx, const char *app_id, const char *channel, const char *member,
                         size_t len)
{
    reap_job *j = ctx;
    if (j->oom) return;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 16;
        removed *v = realloc(j->got, cap * sizeof(*v));
        if (!v) {
            j->oom = 1; /* the rest are removed without their LEAVE: said in the log */
            return;
        }
        j->got = v;
        j->cap = cap;
    }
    removed *r = &j->got[j->n];
    r->app_id = strdup(app_id);
    r->channel = strdup(channel);
    r->member = (rta_buf)RTA_BUF_INIT;
    rta_buf_append(&r->member, member, len);
    if (!r->app_id || !r->channel || r->member.oom) {
        free(r->app_id);
        free(r->channel);
        rta_buf_free(&r->member);
        j->oom = 1;
        return;
    }
    j->n++;
}

static void reap_run(rta_store_job *job, rta_store *store)
{
    reap_job *j = (reap_job *)job;
    job->rc = rta_store_redis_pres_reap(store, j->cp->owner, j->target, j->app_id, j->channel,
                                        j->app_id ? j->conn_id : NULL, reap_collect, j, &j->won,
                                        &job->err);
}

/* One LEAVE per removed member (a synthesized leave, RTP2b1: its id does not start with the
 * connectionId), sequenced on its channel for every node, this one too. */
static void publish_leave(rta_cluster_presence *cp, const removed *r, size_t k)
{
    rta_protocol_message pm;
    rta_error err;
    rta_parse_limits lim = {cp->max_payload, 0};
    if (rta_protocol_message_decode(r->member.data, r->member.len, RTA_FORMAT_MSGPACK, &lim, &pm,
                                    &err))
        return;
    if (pm.presence_count == 1 && pm.presence[0].connection_id) {
        rta_presence_message *e = &pm.presence[0];
        char id[64];
        snprintf(id, sizeof(id), "leave:%s:r%zu", e->connection_id, k);
        free(e->id);
        e->id = strdup(id);
        e->action = 3; /* LEAVE (TP2) */
        e->timestamp = cp->srv->gateway.now();
        if (e->id) rta__cp_sequence(cp, r->app_id, r->channel, "-|", e, 1, NULL, NULL);
    }
    rta_protocol_message_clear(&pm);
}

static void reap_done(rta_store_job *job)
{
    reap_job *j = (reap_job *)job;
    rta_cluster_presence *cp = j->cp;
    cp->reap_in_flight = 0;
    if (job->rc)
        rta_log_warn("cluster: removing the presence members of %s failed (%s); retrying",
                     j->app_id ? "a connection resumed elsewhere" : "a dead node",
                     job->err.message);
    else if (j->won && !j->app_id)
        rta_log_info("cluster: node %s is gone; %zu presence member(s) of it left", j->target,
                     j->n);
    if (j->oom)
        rta_log_warn("cluster: out of memory: some removed presence members got no LEAVE");
    for (size_t i = 0; !cp->stopping && i < j->n; i++)
        publish_leave(cp, &j->got[i], i);
    if (job->rc && !cp->stopping && !j->app_id && cp->dead_count < DEAD_MAX)
        cp->dead[cp->dead_count++] = j->target, j->target = NULL; /* again at the next beat */
    for (size_t i = 0; i < j->n; i++) {
        free(j->got[i].app_id);
        free(j->got[i].channel);
        rta_buf_free(&j->got[i].member);
    }
    free(j->got);
    free(j->target);
    free(j->app_id);
    free(j->channel);
    free(j);
}

static void submit_reap(rta_cluster_presence *cp, char *target, orphan *o)
{
    reap_job *j = calloc(1, sizeof(*j));
    if (!j) {
        free(target);
        if (o) {
            free(o->app_id);
            free(o->channel);
        }
        return;
    }
    j->cp = cp;
    j->target = target;
    if (o) {
        j->app_id = o->app_id;
        j->channel = o->channel;
        snprintf(j->conn_id, sizeof(j->conn_id), "%s", o->conn_id);
    }
    j->job.run = reap_run;
    j->job.done = reap_done;
    cp->reap_in_flight = 1;
    rta_server_submit(cp->srv, &j->job);
}

typedef struct beat_job {
    rta_store_job job;
    rta_cluster_presence *cp;
    char *dead[DEAD_MAX];
    size_t n;
} beat_job;

static void beat_collect(void *ctx, const char *other, size_t len)
{
    beat_job *j = ctx;
    if (j->n < DEAD_MAX && (j->dead[j->n] = strndup(other, len))) j->n++;
}

static void beat_run(rta_store_job *job, rta_store *store)
{
    beat_job *j = (beat_job *)job;
    job->rc = rta_store_redis_pres_beat(store, j->cp->owner,
                                        j->cp->grace_ms + RTA_CLUSTER_PRESENCE_BEAT_MS,
                                        beat_collect, j, &job->err);
}

static void beat_done(rta_store_job *job)
{
    beat_job *j = (beat_job *)job;
    rta_cluster_presence *cp = j->cp;
    cp->beat_in_flight = 0;
    for (size_t i = 0; i < j->n; i++) {
        int known = 0;
        for (size_t k = 0; k < cp->dead_count && !known; k++)
            known = !strcmp(cp->dead[k], j->dead[i]);
        if (!known && !cp->stopping && cp->dead_count < DEAD_MAX)
            cp->dead[cp->dead_count++] = j->dead[i];
        else
            free(j->dead[i]);
    }
    free(j);
}

void rta_cluster_presence_tick(rta_cluster_presence *cp, int64_t now)
{
    if (cp->stopping) return;
    if (!cp->beat_in_flight && now - cp->beat_at >= RTA_CLUSTER_PRESENCE_BEAT_MS) {
        beat_job *j = calloc(1, sizeof(*j));
        if (j) {
            j->cp = cp;
            j->job.run = beat_run;
            j->job.done = beat_done;
            cp->beat_in_flight = 1;
            cp->beat_at = now;
            rta_server_submit(cp->srv, &j->job);
        }
    }
    if (cp->reap_in_flight) return; /* one at a time: a slow Redis is not flooded */
    if (cp->dead_count) {
        char *target = cp->dead[--cp->dead_count];
        submit_reap(cp, target, NULL);
        return;
    }
    for (size_t i = 0; i < cp->orphan_count; i++) {
        if (now < cp->orphans[i].due) continue;
        orphan o = cp->orphans[i];
        cp->orphans[i] = cp->orphans[--cp->orphan_count];
        char *me = strdup(cp->owner);
        if (me) submit_reap(cp, me, &o);
        else {
            free(o.app_id);
            free(o.channel);
        }
        return;
    }
}
