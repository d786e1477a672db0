/* cluster_presence.c: presence across nodes; see cluster_presence.h.
 *
 * A PRESENCE this node sequences has the id "<owner>|<n>" (n counts this process's): every
 * node but this one applies it to its mirror (this one applied it when its client sent it).
 * A reaper's LEAVEs have the id "-|<owner>|<n>": every node applies them, this one too (the
 * members were remote here as well). A stored member is a msgpack PRESENCE holding it as
 * PRESENT, written before its event is published (store jobs run in order), so that a node
 * reading the members at its first attach sees every member whose event it did not hear.
 *
 * Loop thread only; Redis only in store-thread jobs. */
#include "server/cluster_presence.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "server/log.h"
#include "server/server.h"
#include "server/cluster_presence_internal.h"
#include "server/store/redis_presence.h"

size_t rta_cluster_presence_origin(const char *pm_id, const char **origin)
{
    const char *bar = pm_id ? strchr(pm_id, '|') : NULL;
    if (!bar || bar == pm_id) return 0;
    *origin = pm_id;
    return (size_t)(bar - pm_id);
}

static void noop_done(void *arg, int code, const char *message)
{
    (void)arg;
    (void)code;
    (void)message;
}

/* m as a stored member: a msgpack PRESENCE holding it as PRESENT. 0 or -1. */
static int encode_member(const rta_presence_message *m, rta_buf *b)
{
    rta_presence_message v = *m;
    v.action = 1; /* PRESENT (TP2) */
    rta_protocol_message pm = {.action = RTA_ACTION_PRESENCE, .presence = &v, .presence_count = 1};
    return rta_protocol_message_encode(&pm, RTA_FORMAT_MSGPACK, b) || b->oom ? -1 : 0;
}

/* ---- writes ------------------------------------------------------------------------------- */

typedef struct write_job {
    rta_store_job job;
    rta_cluster_presence *cp;
    rta_pres_write *w;
    size_t n;
    char *strings; /* one block: the items' strings and values */
} write_job;

static void write_run(rta_store_job *job, rta_store *store)
{
    write_job *j = (write_job *)job;
    job->rc = rta_store_redis_pres_write(store, j->cp->owner, j->w, j->n, &job->err);
}

static void write_done(rta_store_job *job)
{
    write_job *j = (write_job *)job;
    if (job->rc)
        rta_log_warn("cluster: storing presence members in Redis failed (%s); nodes that start "
                     "following their channels will not see them",
                     job->err.message);
    free(j->w);
    free(j->strings);
    free(j);
}

static char *put(char **at, const void *s, size_t len)
{
    char *p = *at;
    memcpy(p, s, len);
    p[len] = '\0';
    *at += len + 1;
    return p;
}

/* Stores (present) or removes (not) each member, in one job. */
static void submit_writes(rta_cluster_presence *cp, const char *app_id, const char *channel,
                          const rta_presence_message *ev, size_t n, int present)
{
    if (cp->stopping || !n) return;
    rta_buf *vals = calloc(n, sizeof(*vals));
    size_t total = 0;
    int bad = !vals;
    for (size_t i = 0; !bad && i < n; i++) {
        vals[i] = (rta_buf)RTA_BUF_INIT;
        int keep = present || ev[i].action != 3; /* a LEAVE removes (TP2) */
        if (keep && encode_member(&ev[i], &vals[i])) bad = 1;
        total += strlen(app_id) + strlen(channel) + strlen(ev[i].connection_id) +
                 strlen(ev[i].client_id) + vals[i].len + 5;
    }
    write_job *j = bad ? NULL : calloc(1, sizeof(*j));
    if (j) {
        j->w = calloc(n, sizeof(*j->w));
        j->strings = malloc(total + 1);
    }
    if (!j || !j->w || !j->strings) {
        if (j) {
            free(j->w);
            free(j->strings);
            free(j);
        }
        rta_log_warn("cluster: out of memory storing presence members");
    } else {
        char *at = j->strings;
        for (size_t i = 0; i < n; i++) {
            rta_pres_write *w = &j->w[i];
            w->app_id = put(&at, app_id, strlen(app_id));
            w->channel = put(&at, channel, strlen(channel));
            w->conn_id = put(&at, ev[i].connection_id, strlen(ev[i].connection_id));
            w->client_id = put(&at, ev[i].client_id, strlen(ev[i].client_id));
            if (vals[i].len) {
                w->value = put(&at, vals[i].data, vals[i].len);
                w->len = vals[i].len;
            }
        }
        j->cp = cp;
        j->n = n;
        j->job.run = write_run;
        j->job.done = write_done;
        rta_server_submit(cp->srv, &j->job);
    }
    for (size_t i = 0; vals && i < n; i++)
        rta_buf_free(&vals[i]);
    free(vals);
}

void rta__cp_sequence(rta_cluster_presence *cp, const char *app_id, const char *channel,
                     const char *prefix, rta_presence_message *ev, size_t n,
                     rta_gateway_published_cb done, void *arg)
{
    rta_gateway *gw = &cp->srv->gateway;
    char id[RTA_PRES_OWNER_MAX + 32];
    snprintf(id, sizeof(id), "%s%s|%llu", prefix, cp->owner, (unsigned long long)++cp->seq);
    rta_protocol_message pm = {.action = RTA_ACTION_PRESENCE,
                               .has = RTA_PM_HAS_TIMESTAMP,
                               .timestamp = gw->now(),
                               .id = id,
                               .channel = (char *)channel,
                               .presence = ev,
                               .presence_count = n};
    gw->relay.publish(gw->relay.ctx, app_id, channel, &pm, done ? done : noop_done, arg);
}

void rta_cluster_presence_publish(rta_cluster_presence *cp, const char *app_id,
                                  const char *channel, const rta_presence_message *ev, size_t n,
                                  rta_gateway_published_cb done, void *arg)
{
    submit_writes(cp, app_id, channel, ev, n, 0); /* before the publish: store jobs run in order */
    rta__cp_sequence(cp, app_id, channel, "", (rta_presence_message *)ev, n, done, arg);
}

void rta_cluster_presence_owned(rta_cluster_presence *cp, const char *app_id,
                                const char *channel, const rta_presence_message *m, size_t n)
{
    submit_writes(cp, app_id, channel, m, n, 1);
}

void rta_cluster_presence_orphaned(rta_cluster_presence *cp, const char *app_id,
                                   const char *channel, const char *conn_id)
{
    if (cp->stopping) return;
    if (cp->orphan_count >= ORPHANS_MAX) {
        rta_log_warn("cluster: too many presence members of connections resumed elsewhere; "
                     "some stay in Redis until this node stops");
        return;
    }
    if (cp->orphan_count == cp->orphan_cap) {
        size_t cap = cp->orphan_cap ? cp->orphan_cap * 2 : 16;
        orphan *v = realloc(cp->orphans, cap * sizeof(*v));
        if (!v) return;
        cp->orphans = v;
        cp->orphan_cap = cap;
    }
    orphan *o = &cp->orphans[cp->orphan_count];
    o->app_id = strdup(app_id);
    o->channel = strdup(channel);
    snprintf(o->conn_id, sizeof(o->conn_id), "%s", conn_id);
    o->due = (int64_t)(uv_hrtime() / 1000000) + cp->grace_ms;
    if (!o->app_id || !o->channel) {
        free(o->app_id);
        free(o->channel);
        return;
    }
    cp->orphan_count++;
}

/* ---- what is heard ------------------------------------------------------------------------ */

void rta_cluster_presence_heard(rta_cluster_presence *cp, const char *app_id,
                                const char *channel, uint64_t serial,
                                const rta_protocol_message *pm)
{
    const char *origin = NULL;
    size_t len = rta_cluster_presence_origin(pm->id, &origin);
    int own = len == strlen(cp->owner) && !memcmp(origin, cp->owner, len);
    rta_gateway_presence_remote(&cp->srv->gateway, app_id, channel, serial, pm, own);
}

/* ---- seeding -------------------------------------------------------------------------------- */

typedef struct seed_job {
    rta_store_job job;
    rta_cluster_presence *cp;
    char *app_id, *channel;
    rta_buf *members;
    size_t n, cap;
    int oom;
    void (*done)(void *ctx, const char *app_id, const char *channel);
    void *ctx;
} seed_job;

static void seed_collect(void *ctx, const char *owner, size_t owner_len, const char *member,
                         size_t len)
{
    seed_job *j = ctx;
    (void)owner;
    (void)owner_len;
    if (j->oom) return;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 16;
        rta_buf *v = realloc(j->members, cap * sizeof(*v));
        if (!v) {
            j->oom = 1;
            return;
        }
        j->members = v;
        j->cap = cap;
    }
    j->members[j->n] = (rta_buf)RTA_BUF_INIT;
    rta_buf_append(&j->members[j->n], member, len);
    if (j->members[j->n].oom) j->oom = 1;
    j->n++;
}

static void seed_run(rta_store_job *job, rta_store *store)
{
    seed_job *j = (seed_job *)job;
    job->rc = rta_store_redis_pres_read(store, j->app_id, j->channel, seed_collect, j, &job->err);
}

static void seed_done(rta_store_job *job)
{
    seed_job *j = (seed_job *)job;
    rta_cluster_presence *cp = j->cp;
    if (job->rc)
        rta_log_warn("cluster: reading the presence members of a channel of app %s failed (%s); "
                     "members of other nodes are missing there until they change",
                     j->app_id, job->err.message);
    rta_protocol_message *pms = j->n ? calloc(j->n, sizeof(*pms)) : NULL;
    rta_presence_message *members = j->n ? calloc(j->n, sizeof(*members)) : NULL;
    size_t m = 0;
    rta_parse_limits lim = {cp->max_payload, 0};
    for (size_t i = 0; pms && members && !job->rc && i < j->n; i++) {
        rta_error err;
        if (rta_protocol_message_decode(j->members[i].data, j->members[i].len, RTA_FORMAT_MSGPACK,
                                        &lim, &pms[m], &err))
            continue;
        if (pms[m].presence_count != 1) {
            rta_protocol_message_clear(&pms[m]);
            continue;
        }
        members[m] = pms[m].presence[0]; /* borrowed from pms[m] */
        m++;
    }
    if (!cp->stopping)
        rta_gateway_presence_seed(&cp->srv->gateway, j->app_id, j->channel, members, m);
    for (size_t i = 0; i < m; i++)
        rta_protocol_message_clear(&pms[i]);
    free(pms);
    free(members);
    j->done(j->ctx, j->app_id, j->channel);
    for (size_t i = 0; i < j->n; i++)
        rta_buf_free(&j->members[i]);
    free(j->members);
    free(j->app_id);
    free(j->channel);
    free(j);
}

void rta_cluster_presence_seed(rta_cluster_presence *cp, const char *app_id, const char *channel,
                               void (*done)(void *ctx, const char *app_id, const char *channel),
                               void *ctx)
{
    seed_job *j = cp->stopping ? NULL : calloc(1, sizeof(*j));
    if (j) {
        j->app_id = strdup(app_id);
        j->channel = strdup(channel);
    }
    if (!j || !j->app_id || !j->channel) {
        if (j) {
            free(j->app_id);
            free(j->channel);
            free(j);
        }
        done(ctx, app_id, channel); /* without the members: the attach goes on */
        return;
    }
    j->cp = cp;
    j->done = done;
    j->ctx = ctx;
    j->job.run = seed_run;
    j->job.done = seed_done;
    rta_server_submit(cp->srv, &j->job);
}

/* ---- life ----------------------------------------------------------------------------------- */

int rta_cluster_presence_create(rta_server *srv, rta_cluster_presence **out)
{
    *out = NULL;
    rta_cluster_presence *cp = calloc(1, sizeof(*cp));
    if (!cp) return RTA_ERR_INTERNAL;
    cp->srv = srv;
    unsigned char boot[8];
    if (rta_random_bytes(boot, sizeof(boot))) {
        free(cp);
        return RTA_ERR_INTERNAL;
    }
    int n = snprintf(cp->owner, sizeof(cp->owner), "%s.", srv->cfg.node_id);
    for (size_t i = 0; i < sizeof(boot) && n > 0 && (size_t)n + 3 < sizeof(cp->owner); i++)
        n += snprintf(cp->owner + n, sizeof(cp->owner) - (size_t)n, "%02x", boot[i]);
    size_t most = (size_t)srv->cfg.gateway.max_message_size * 2 + 64 * 1024;
    cp->max_payload = most > RTA_PARSE_DEFAULT_MAX_BYTES ? most : RTA_PARSE_DEFAULT_MAX_BYTES;
    cp->grace_ms = srv->cfg.gateway.presence_grace > 0 ? srv->cfg.gateway.presence_grace : 15000;
    *out = cp;
    return 0;
}

void rta_cluster_presence_stop(rta_cluster_presence *cp)
{
    if (cp) cp->stopping = 1;
}

void rta_cluster_presence_free(rta_cluster_presence *cp)
{
    if (!cp) return;
    for (size_t i = 0; i < cp->dead_count; i++)
        free(cp->dead[i]);
    for (size_t i = 0; i < cp->orphan_count; i++) {
        free(cp->orphans[i].app_id);
        free(cp->orphans[i].channel);
    }
    free(cp->orphans);
    free(cp);
}
