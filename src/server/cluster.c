/* cluster.c: a node keeping in step with the others through Redis; see cluster.h and
 * docs/cluster.md. Loop thread; every Redis command runs on the store thread as a job.
 *
 * Timers (monotonic ms): a tick every TICK_MS asks Redis for the epoch, the control log's
 * head and the replicas, and publishes this node's heartbeat; a node whose last good tick is
 * older than STALE_MS, or whose subscriber is down, is cut off: unready at once, and after the
 * partition grace it stops vouching for revocable tokens (fence). The subscriber is restarted
 * when the node stops hearing its own heartbeat for WATCHDOG_MS, or when the primary moved.
 *
 * Must never: mark the node ready before it has read the log up to a head seen after its
 * latest subscription; lift the fence before that either; log revocation targets' values. */
#include "server/cluster.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "server/clock.h"
#include "server/cluster_channels.h"
#include "server/cluster_claims.h"
#include "server/log.h"
#include "server/server.h"
#include "server/store/control_log.h"
#include "server/store/redis.h"
#include "server/store/redis_sub.h"

#define TIMER_MS 200
#define TICK_MS 500
#define STALE_MS 1500
#define WATCHDOG_MS 3000
#define SYNC_BATCH 1000

struct rta_cluster {
    rta_server *srv;
    rta_store *store;
    rta_redis_sub *sub;
    rta_cluster_channels *channels; /* realtime channels across nodes (cluster_channels.h) */
    uv_timer_t timer;
    int timer_on;
    char ctl_channel[RTA_RK_MAX], node_channel[RTA_RK_MAX];
    rta_ctl_cursor cursor;
    /* the subscription */
    int sub_up;
    unsigned sub_gen; /* moves at every (re)subscribe */
    int64_t heartbeat_at;
    /* catching up */
    int caught_up;   /* read the log to a head seen after the latest subscribe */
    int sync_in_flight, sync_again, want_full;
    /* ticks */
    int tick_in_flight;
    int64_t tick_started, tick_ok; /* 0: the last tick failed */
    unsigned epoch_changes_seen;
    int reseed_needed, reseed_in_flight;
    /* partitions */
    int was_connected;
    int64_t cut_since;
    int fenced;
    int stopping;
    char why[160];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const rta_revocation_record *)a)->key_name,
                  ((const rta_revocation_record *)b)->key_name);
}

/* ---- applying entries ------------------------------------------------------------------- */

/* Revocations of one key, from a doorbell, the log or a full reload: into the index, then to
 * live connections (both idempotent: an entry applied twice changes nothing). */
static void apply_revocations(rta_cluster *c, const char *key_name,
                              const rta_revocation_record *r, size_t n, int act)
{
    rta_token_service *ts = &c->srv->tokens;
    for (size_t i = 0; i < n; i++) {
        rta_revocation_plan p = {(char *)r[i].target, (char *)r[i].target, r[i].issued_before,
                                 r[i].applies_at, r[i].expires};
        if (rta_token_service_apply_revocations(ts, key_name, &p, 1))
            rta_log_event(RTA_LOG_ERROR, "cluster.error", NULL, "cluster: out of memory applying a revocation of key %s", key_name);
        /* as on the node that planned it: no token minted here after it may fall under it */
        if (r[i].issued_before > ts->issue_floor &&
            r[i].issued_before <= rta_clock_now() + 1 + c->srv->cfg.max_clock_skew)
            ts->issue_floor = r[i].issued_before;
    }
    if (act) {
        rta_log_event(RTA_LOG_INFO, "revocation.applied", &(rta_log_fields){.key_name = key_name},
                      "cluster: applied %zu revocation(s) of key %s from the control log", n,
                      key_name);
        const char *targets[RTA_MAX_REVOCATION_TARGETS];
        size_t done = 0;
        while (done < n) { /* only the connections they name (gateway/revindex.c) */
            size_t k = 0;
            for (; k < RTA_MAX_REVOCATION_TARGETS && done + k < n; k++)
                targets[k] = r[done + k].target;
            rta_gateway_revoked_targets(&c->srv->gateway, key_name, targets, k);
            done += k;
        }
    }
}

static void apply_entry(rta_cluster *c, const rta_ctl_entry *e)
{
    if (strcmp(e->type, RTA_CTL_TYPE_REVOCATIONS) != 0) return; /* a later slice's */
    rta_ctl_rev_body b;
    if (rta_ctl_rev_body_decode(e->body, e->body_len, &b)) {
        rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: control log entry %llu is malformed; skipped",
                     (unsigned long long)e->seq);
        return;
    }
    apply_revocations(c, b.key_name, b.recs, b.n, 1);
    rta_ctl_rev_body_free(&b);
}

/* ---- catching up: the log from the cursor, or a full reload ---------------------------- */

typedef struct sync_entry {
    uint64_t seq;
    char stamp[RTA_CTL_STAMP_MAX];
    char type[RTA_CTL_TYPE_MAX];
    char *body;
    size_t body_len;
} sync_entry;

typedef struct sync_job {
    rta_store_job job;
    rta_cluster *c;
    unsigned gen;
    int full;
    rta_ctl_cursor from;
    sync_entry *entries;
    size_t n, cap;
    int broken; /* the log does not continue from the cursor */
    int oom;
    /* full reload */
    uint64_t head;
    char head_stamp[RTA_CTL_STAMP_MAX];
    rta_revocation_record *revs;
    char **rev_keys; /* owned key names and targets */
    size_t nrev, revcap;
} sync_job;

static void collect_entry(void *ctx, const rta_ctl_entry *e)
{
    sync_job *j = ctx;
    if (j->n && e->seq <= j->entries[j->n - 1].seq) return; /* the page's overlap */
    if (j->n == 0 && !rta_ctl_cursor_continues(&j->from, e)) j->broken = 1;
    if (j->broken || j->oom) return;
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 64;
        sync_entry *grown = realloc(j->entries, cap * sizeof(*grown));
        if (!grown) {
            j->oom = 1;
            return;
        }
        j->entries = grown;
        j->cap = cap;
    }
    sync_entry *s = &j->entries[j->n];
    memset(s, 0, sizeof(*s));
    s->seq = e->seq;
    memcpy(s->stamp, e->stamp, sizeof(s->stamp));
    memcpy(s->type, e->type, sizeof(s->type));
    s->body = malloc(e->body_len + 1);
    if (!s->body) {
        j->oom = 1;
        return;
    }
    memcpy(s->body, e->body, e->body_len);
    s->body[e->body_len] = '\0';
    s->body_len = e->body_len;
    j->n++;
}

static void see_head_entry(void *ctx, const rta_ctl_entry *e)
{
    sync_job *j = ctx;
    if (e->seq == j->head) memcpy(j->head_stamp, e->stamp, sizeof(j->head_stamp));
}

static void collect_revocation(void *ctx, const rta_revocation_record *r)
{
    sync_job *j = ctx;
    if (j->oom) return;
    if (j->nrev == j->revcap) {
        size_t cap = j->revcap ? j->revcap * 2 : 64;
        rta_revocation_record *g = realloc(j->revs, cap * sizeof(*g));
        char **k = g ? realloc(j->rev_keys, 2 * cap * sizeof(*k)) : NULL;
        if (g) j->revs = g;
        if (k) j->rev_keys = k;
        if (!g || !k) {
            j->oom = 1;
            return;
        }
        j->revcap = cap;
    }
    char *key = strdup(r->key_name), *target = strdup(r->target);
    if (!key || !target) {
        free(key);
        free(target);
        j->oom = 1;
        return;
    }
    j->rev_keys[2 * j->nrev] = key;
    j->rev_keys[2 * j->nrev + 1] = target;
    j->revs[j->nrev++] = (rta_revocation_record){key, target, r->issued_before, r->applies_at,
                                                 r->expires};
}

static void sync_run(rta_store_job *job, rta_store *store)
{
    sync_job *j = (sync_job *)job;
    /* the log from the cursor's own entry (its stamp proves continuity) */
    uint64_t from = j->from.applied;
    while (!j->full) {
        size_t got = 0, before = j->n;
        job->rc = rta_store_redis_ctl_read(store, from, SYNC_BATCH, collect_entry, j, &got,
                                           &job->err);
        if (job->rc) return;
        if (before == 0 && got == 0 && !rta_ctl_cursor_continues(&j->from, NULL)) j->broken = 1;
        if (j->broken) {
            j->full = 1; /* a failover lost entries, the log was trimmed, or Redis emptied */
            break;
        }
        if (j->oom) {
            job->rc = rta_error_set(&job->err, RTA_ERR_INTERNAL, "Out of memory");
            return;
        }
        if (got < SYNC_BATCH) return;
        from = j->entries[j->n - 1].seq;
    }
    /* a full reload: the head first, then everything, so an entry in between is read twice
     * at worst (harmless), never missed */
    rta_redis_head h;
    if ((job->rc = rta_store_redis_head(store, &h, &job->err))) return;
    j->head = h.seq;
    size_t got;
    if (j->head &&
        (job->rc = rta_store_redis_ctl_read(store, j->head, 1, see_head_entry, j, &got, &job->err)))
        return;
    job->rc = store->ops->list_revocations(store, rta_clock_now(), collect_revocation, j,
                                           &job->err);
    if (!job->rc && j->oom) job->rc = rta_error_set(&job->err, RTA_ERR_INTERNAL, "Out of memory");
    if (!job->rc) qsort(j->revs, j->nrev, sizeof(*j->revs), by_key);
}

static void request_sync(rta_cluster *c);
static void evaluate(rta_cluster *c, int64_t now);

static void sync_free(sync_job *j)
{
    for (size_t i = 0; i < j->n; i++) free(j->entries[i].body);
    free(j->entries);
    for (size_t i = 0; i < 2 * j->nrev; i++) free(j->rev_keys[i]);
    free(j->rev_keys);
    free(j->revs);
    free(j);
}

/* Applies a full reload: every revocation (the index ignores what it has), then every key's
 * live connections once. */
static void apply_full(rta_cluster *c, sync_job *j)
{
    for (size_t i = 0; i < j->nrev; i++)
        apply_revocations(c, j->revs[i].key_name, &j->revs[i], 1, 0);
    for (size_t i = 0; i < j->nrev; i++) /* sorted by key: each key once */
        if (i == 0 || strcmp(j->revs[i - 1].key_name, j->revs[i].key_name))
            rta_gateway_revoked(&c->srv->gateway, j->revs[i].key_name);
    rta_ctl_cursor_set(&c->cursor, j->head, j->head_stamp);
    rta_log_event(RTA_LOG_INFO, "cluster.state", NULL, "cluster: reloaded %zu revocation(s) in full; the control log is at %llu",
                 j->nrev, (unsigned long long)j->head);
}

static void sync_done(rta_store_job *job)
{
    sync_job *j = (sync_job *)job;
    rta_cluster *c = j->c;
    c->sync_in_flight = 0;
    if (c->stopping) {
        sync_free(j);
        return;
    }
    if (job->rc) {
        rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: catching up with the control log failed: %s", job->err.message);
        if (j->full) c->want_full = 1;
        c->sync_again = 0; /* the next good tick asks again */
        sync_free(j);
        return;
    }
    if (j->full) {
        apply_full(c, j);
    } else {
        for (size_t i = 0; i < j->n; i++) {
            sync_entry *s = &j->entries[i];
            rta_ctl_entry e = {s->seq, {0}, {0}, s->body, s->body_len};
            memcpy(e.stamp, s->stamp, sizeof(e.stamp));
            memcpy(e.type, s->type, sizeof(e.type));
            /* The cursor's own entry, and those its doorbells applied in order while this
             * read was in flight (a tick that saw the head ahead of doorbells still queued
             * asks for a catch-up under load): applied already. Applying them again was
             * harmless but cost a second decode and index pass of each (issue 19). */
            if (s->seq <= c->cursor.applied) continue;
            apply_entry(c, &e);
            rta_ctl_cursor_set(&c->cursor, s->seq, s->stamp);
        }
    }
    if (c->sub_up && j->gen == c->sub_gen && !c->caught_up) {
        c->caught_up = 1;
        rta_log_event(RTA_LOG_INFO, "cluster.state", NULL, "cluster: in step with the control log at %llu",
                     (unsigned long long)c->cursor.applied);
    }
    int again = c->sync_again || (c->sub_up && j->gen != c->sub_gen);
    c->sync_again = 0;
    sync_free(j);
    if (again) request_sync(c);
    evaluate(c, mono_ms());
}

static void request_sync(rta_cluster *c)
{
    if (c->stopping) return;
    if (c->sync_in_flight) {
        c->sync_again = 1;
        return;
    }
    sync_job *j = calloc(1, sizeof(*j));
    if (!j) return;
    j->c = c;
    j->gen = c->sub_gen;
    j->full = c->want_full;
    j->from = c->cursor;
    c->want_full = 0;
    j->job.run = sync_run;
    j->job.done = sync_done;
    c->sync_in_flight = 1;
    rta_server_submit(c->srv, &j->job);
}

/* ---- writing state back after Redis lost it --------------------------------------------- */

typedef struct reseed_app {
    rta_app_record app;
    rta_key_record *keys;
    size_t nkeys;
} reseed_app;

typedef struct reseed_job {
    rta_store_job job;
    rta_cluster *c;
    reseed_app *apps;
    size_t napps;
    rta_revocation_record *revs;
    size_t nrev, revcap;
    int oom;
    size_t written_apps, written_revs;
} reseed_job;

static void reseed_free(reseed_job *j)
{
    for (size_t i = 0; i < j->napps; i++) {
        free((char *)j->apps[i].app.app_id);
        free((char *)j->apps[i].app.account_id);
        for (size_t k = 0; k < j->apps[i].nkeys; k++) {
            rta_key_record *r = &j->apps[i].keys[k];
            if (r->secret) OPENSSL_cleanse((char *)r->secret, strlen(r->secret));
            free((char *)r->key_name);
            free((char *)r->secret);
            free((char *)r->capability);
        }
        free(j->apps[i].keys);
    }
    free(j->apps);
    for (size_t i = 0; i < j->nrev; i++) {
        free((char *)j->revs[i].key_name);
        free((char *)j->revs[i].target);
    }
    free(j->revs);
    free(j);
}

static void snapshot_revocation(void *ctx, const char *key_name, const char *target,
                                int64_t issued_before, int64_t applies_at, int64_t expires)
{
    reseed_job *j = ctx;
    if (j->oom || expires <= rta_clock_now()) return;
    if (j->nrev == j->revcap) {
        size_t cap = j->revcap ? j->revcap * 2 : 64;
        rta_revocation_record *g = realloc(j->revs, cap * sizeof(*g));
        if (!g) {
            j->oom = 1;
            return;
        }
        j->revs = g;
        j->revcap = cap;
    }
    char *k = strdup(key_name), *t = strdup(target);
    if (!k || !t) {
        free(k);
        free(t);
        j->oom = 1;
        return;
    }
    j->revs[j->nrev++] = (rta_revocation_record){k, t, issued_before, applies_at, expires};
}

/* The registry's apps and keys (with their secrets) and the index's revocations, copied. */
static reseed_job *snapshot(rta_cluster *c)
{
    reseed_job *j = calloc(1, sizeof(*j));
    if (!j) return NULL;
    const rta_registry *reg = &c->srv->registry;
    j->apps = calloc(reg->apps.count + 1, sizeof(*j->apps));
    if (!j->apps) j->oom = 1;
    for (size_t i = 0; !j->oom && i < reg->apps.cap; i++) {
        const rta_app_entry *a = reg->apps.slots[i].key ? reg->apps.slots[i].value : NULL;
        if (!a) continue;
        reseed_app *ra = &j->apps[j->napps++];
        ra->app = (rta_app_record){strdup(a->app_id), strdup(a->account_id ? a->account_id : ""),
                                   a->created, a->sandbox, a->max_connections,
                                   a->max_connections_per_client};
        ra->keys = calloc(reg->keys.count + 1, sizeof(*ra->keys));
        if (!ra->app.app_id || !ra->app.account_id || !ra->keys) j->oom = 1;
        for (size_t k = 0; !j->oom && k < reg->keys.cap; k++) {
            const rta_key_entry *e = reg->keys.slots[k].key ? reg->keys.slots[k].value : NULL;
            if (!e || strcmp(e->app_id, a->app_id) != 0) continue;
            rta_key_record *r = &ra->keys[ra->nkeys++];
            *r = (rta_key_record){strdup(e->key_name), ra->app.app_id, strdup(e->secret),
                                  strdup(e->capability_text ? e->capability_text : "{}"),
                                  e->revocable, e->enabled, e->created};
            if (!r->key_name || !r->secret || !r->capability) j->oom = 1;
        }
    }
    rta_revocations_each(&c->srv->tokens.revocations, snapshot_revocation, j);
    if (j->oom) {
        reseed_free(j);
        return NULL;
    }
    qsort(j->revs, j->nrev, sizeof(*j->revs), by_key);
    return j;
}

static void reseed_run(rta_store_job *job, rta_store *store)
{
    reseed_job *j = (reseed_job *)job;
    rta_error err;
    if ((job->rc = rta_store_redis_reseed_secrets(store, &job->err))) return;
    for (size_t i = 0; i < j->napps; i++) {
        reseed_app *a = &j->apps[i];
        int rc = store->ops->create_app(store, &a->app, a->keys, a->nkeys, &err);
        if (rc == RTA_ERR_INVALID_PARAMETER) /* another node wrote it back first: add what's missing */
            for (size_t k = 0; k < a->nkeys; k++) {
                int krc = store->ops->add_key(store, &a->keys[k], &err);
                if (krc && krc != RTA_ERR_INVALID_PARAMETER) rc = krc;
                else rc = 0;
            }
        if (rc && rc != RTA_ERR_INVALID_PARAMETER) {
            job->rc = rc;
            job->err = err;
            return;
        }
        j->written_apps++;
    }
    if (j->nrev && (job->rc = store->ops->add_revocations(store, j->revs, j->nrev, &job->err)))
        return;
    j->written_revs = j->nrev;
    rta_store_redis_reseed_done(store);
}

static void reseed_done(rta_store_job *job)
{
    reseed_job *j = (reseed_job *)job;
    rta_cluster *c = j->c;
    c->reseed_in_flight = 0;
    if (!c->stopping) {
        if (job->rc) {
            rta_log_event(RTA_LOG_ERROR, "cluster.error", NULL, "cluster: writing this node's state back to Redis failed (%s); "
                          "retrying",
                          job->err.message);
            c->reseed_needed = 1;
        } else {
            rta_log_event(RTA_LOG_INFO, "cluster.state", NULL, "cluster: wrote %zu app(s) and %zu revocation(s) back to Redis",
                         j->written_apps, j->written_revs);
            c->want_full = 1;
            request_sync(c);
        }
    }
    reseed_free(j);
}

static void start_reseed(rta_cluster *c)
{
    c->reseed_needed = 0;
    reseed_job *j = snapshot(c);
    if (!j) {
        c->reseed_needed = 1;
        return;
    }
    j->c = c;
    j->job.run = reseed_run;
    j->job.done = reseed_done;
    c->reseed_in_flight = 1;
    rta_server_submit(c->srv, &j->job);
}

/* ---- ticks --------------------------------------------------------------------------------- */

typedef struct tick_job {
    rta_store_job job;
    rta_cluster *c;
    rta_redis_head head;
    uint64_t applied; /* the cursor when the head was asked for */
} tick_job;

static void tick_run(rta_store_job *job, rta_store *store)
{
    tick_job *t = (tick_job *)job;
    job->rc = rta_store_redis_head(store, &t->head, &job->err);
}

static void tick_done(rta_store_job *job)
{
    tick_job *t = (tick_job *)job;
    rta_cluster *c = t->c;
    c->tick_in_flight = 0;
    if (c->stopping) {
        free(t);
        return;
    }
    if (job->rc) {
        if (c->tick_ok) rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: Redis did not answer: %s", job->err.message);
        c->tick_ok = 0;
        free(t);
        return;
    }
    c->tick_ok = mono_ms();
    c->was_connected = 1;
    rta_cluster_channels_shards_seen(c->channels, t->head.shard_down);
    if (t->head.epoch_changes != c->epoch_changes_seen) {
        c->epoch_changes_seen = t->head.epoch_changes;
        c->caught_up = 0;
        c->want_full = 1;
        c->reseed_needed = 1;
    }
    if (c->reseed_needed && !c->reseed_in_flight) start_reseed(c);
    if (!c->reseed_in_flight) {
        switch (rta_ctl_cursor_head(&c->cursor, t->head.seq, t->applied)) {
        case RTA_CTL_HEAD_BEHIND: /* the log went back: a failover or an emptied Redis */
            c->want_full = 1;
            request_sync(c);
            break;
        case RTA_CTL_HEAD_AHEAD: /* doorbells missed (a stale subscription): read the log */
            request_sync(c);
            break;
        case RTA_CTL_HEAD_SYNCED:
            if (c->want_full || (c->sub_up && !c->caught_up)) request_sync(c);
            break;
        }
    }
    free(t);
    evaluate(c, c->tick_ok);
}

static void submit_tick(rta_cluster *c, int64_t now)
{
    tick_job *t = calloc(1, sizeof(*t));
    if (!t) return;
    t->c = c;
    t->applied = c->cursor.applied;
    t->job.run = tick_run;
    t->job.done = tick_done;
    c->tick_in_flight = 1;
    c->tick_started = now;
    rta_server_submit(c->srv, &t->job);
}

/* ---- partitions ------------------------------------------------------------------------ */

static void fence(rta_cluster *c)
{
    c->fenced = 1;
    c->srv->tokens.revocations_unchecked = 1;
    size_t keys = 0;
    const rta_registry *reg = &c->srv->registry;
    for (size_t i = 0; i < reg->keys.cap; i++) {
        const rta_key_entry *e = reg->keys.slots[i].key ? reg->keys.slots[i].value : NULL;
        if (!e || !e->revocable) continue;
        rta_gateway_revoked(&c->srv->gateway, e->key_name); /* every revocable token now */
        keys++;
    }
    rta_log_event(RTA_LOG_ERROR, "cluster.error", NULL, "cluster: cut off from Redis for %lld ms (--partition-grace): connections "
                  "with revocable tokens (%zu keys) are closed and such tokens refused until "
                  "this node is in step again",
                  (long long)c->srv->cfg.partition_grace, keys);
}

static void unfence(rta_cluster *c)
{
    c->fenced = 0;
    c->srv->tokens.revocations_unchecked = 0;
    rta_log_event(RTA_LOG_INFO, "cluster.state", NULL, "cluster: in step with Redis again: revocable tokens accepted");
}

static int connected(const rta_cluster *c, int64_t now)
{
    return c->sub_up && c->tick_ok && now - c->tick_ok < STALE_MS;
}

/* Cut off: unready (rta_cluster_ready) and, past the grace, fenced. In step again: the fence
 * goes at once (called by the timer and whenever a tick or a catch-up completes). */
static void evaluate(rta_cluster *c, int64_t now)
{
    if (c->stopping) return;
    if (!connected(c, now)) {
        if (!c->cut_since) {
            c->cut_since = now;
            if (c->was_connected) rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: cut off from Redis; unready");
        }
        if (!c->fenced && now - c->cut_since >= c->srv->cfg.partition_grace) fence(c);
    } else if (c->caught_up && !c->reseed_in_flight && !c->reseed_needed) {
        if (c->cut_since && c->was_connected && c->fenced)
            rta_log_event(RTA_LOG_INFO, "cluster.state", NULL, "cluster: reconnected to Redis and caught up");
        c->cut_since = 0;
        if (c->fenced) unfence(c);
    }
}

static void on_timer(uv_timer_t *t)
{
    rta_cluster *c = t->data;
    if (c->stopping) return;
    int64_t now = mono_ms();
    if (!c->tick_in_flight && now - c->tick_started >= TICK_MS) submit_tick(c, now);
    if (c->sub_up && now - c->heartbeat_at > WATCHDOG_MS) {
        rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: no heartbeat through the subscription for %d ms; resubscribing",
                     WATCHDOG_MS);
        c->heartbeat_at = now;
        rta_redis_sub_restart(c->sub);
    } else if (c->sub_up) {
        rta_redis_addr sub_at, primary;
        rta_redis_sub_up(c->sub, &sub_at);
        rta_store_redis_primary(c->store, &primary, NULL);
        if (primary.host[0] && (strcmp(sub_at.host, primary.host) || sub_at.port != primary.port)) {
            rta_log_event(RTA_LOG_INFO, "cluster.state", NULL, "cluster: the primary moved; resubscribing there");
            rta_redis_sub_restart(c->sub);
        }
    }
    rta_cluster_channels_tick(c->channels, now);
    evaluate(c, now);
}

/* ---- the subscription's hooks ------------------------------------------------------------- */

static void sub_where(void *ctx, rta_redis_addr *out)
{
    rta_cluster *c = ctx;
    rta_store_redis_primary(c->store, out, NULL);
}

static void sub_up(void *ctx)
{
    rta_cluster *c = ctx;
    c->sub_up = 1;
    c->sub_gen++;
    c->caught_up = 0;
    c->heartbeat_at = mono_ms();
    request_sync(c); /* whatever was logged while we were not listening */
    rta_cluster_channels_sub_up(c->channels);
}

static void sub_down(void *ctx, const char *why)
{
    rta_cluster *c = ctx;
    (void)why;
    c->sub_up = 0;
    c->caught_up = 0;
    rta_cluster_channels_sub_down(c->channels);
}

static void sub_subscribed(void *ctx, const char *channel, size_t len)
{
    rta_cluster *c = ctx;
    if (!c->stopping) rta_cluster_channels_subscribed(c->channels, channel, len);
}

static void sub_unsubscribed(void *ctx, const char *channel, size_t len)
{
    rta_cluster *c = ctx;
    if (!c->stopping) rta_cluster_channels_unsubscribed(c->channels, channel, len);
}

static void sub_message(void *ctx, const char *channel, size_t channel_len, const char *msg,
                        size_t len)
{
    rta_cluster *c = ctx;
    if (c->stopping) return;
    if (rta_cluster_channels_message(c->channels, channel, channel_len, msg, len)) return;
    if (channel_len == strlen(c->node_channel) && !memcmp(channel, c->node_channel, channel_len)) {
        c->heartbeat_at = mono_ms();
        return;
    }
    if (channel_len == strlen(RTA_RK_CLAIM_CHANNEL) &&
        !memcmp(channel, RTA_RK_CLAIM_CHANNEL, channel_len)) {
        rta_cluster_claims_heard(c->srv, msg, len); /* a connection resumed elsewhere */
        return;
    }
    if (channel_len != strlen(c->ctl_channel) || memcmp(channel, c->ctl_channel, channel_len))
        return;
    rta_ctl_entry e;
    if (rta_ctl_doorbell_parse(msg, len, &e)) {
        rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: a malformed doorbell was ignored");
        return;
    }
    apply_entry(c, &e);
    if (rta_ctl_cursor_doorbell(&c->cursor, &e) == RTA_CTL_GAP) request_sync(c);
}

/* ---- life ---------------------------------------------------------------------------------- */

static void see_stamp(void *ctx, const rta_ctl_entry *e)
{
    rta_ctl_cursor *cur = ctx;
    if (e->seq == cur->applied) rta_ctl_cursor_set(cur, e->seq, e->stamp);
}

int rta_cluster_create(rta_server *srv, rta_cluster **out, rta_error *err)
{
    *out = NULL;
    rta_cluster *c = calloc(1, sizeof(*c));
    if (!c) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    c->srv = srv;
    c->store = srv->store;
    snprintf(c->ctl_channel, sizeof(c->ctl_channel), "%s", RTA_RK_CTL_CHANNEL);
    rta_rk_node_channel(c->node_channel, sizeof(c->node_channel), srv->cfg.node_id);
    rta_redis_head h;
    int rc = rta_store_redis_head(c->store, &h, err);
    size_t got;
    c->cursor.applied = h.seq;
    if (!rc && h.seq)
        rc = rta_store_redis_ctl_read(c->store, h.seq, 1, see_stamp, &c->cursor, &got, err);
    if (rc) {
        free(c);
        return rc;
    }
    c->epoch_changes_seen = h.epoch_changes;
    if (rta_cluster_channels_create(srv, &c->channels)) {
        free(c);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    *out = c;
    return 0;
}

int rta_cluster_start(rta_cluster *c, rta_error *err)
{
    const char *channels[] = {c->ctl_channel, c->node_channel, RTA_RK_CLAIM_CHANNEL};
    rta_redis_sub_hooks hooks = {sub_where, sub_up, sub_down, sub_message, c,
                                 sub_subscribed, sub_unsubscribed};
    if (uv_timer_init(&c->srv->loop, &c->timer))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot create the cluster timer");
    c->timer.data = c;
    c->timer_on = 1;
    uv_timer_start(&c->timer, on_timer, TIMER_MS, TIMER_MS);
    if (rta_redis_sub_start(&c->srv->loop, rta_store_redis_target(c->store), channels, 3, &hooks,
                            &c->sub))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot start the Redis subscriber");
    rta_cluster_channels_set_sub(c->channels, c->sub);
    if (rta_cluster_channels_start_shards(c->channels, c->node_channel))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot start the Redis shard subscribers");
    return 0;
}

void rta_cluster_stop(rta_cluster *c)
{
    if (!c || c->stopping) return;
    c->stopping = 1;
    rta_cluster_channels_stop(c->channels);
    if (c->sub) rta_redis_sub_close(c->sub);
    c->sub = NULL;
    if (c->timer_on) {
        uv_timer_stop(&c->timer);
        uv_close((uv_handle_t *)&c->timer, NULL);
        c->timer_on = 0;
    }
}

void rta_cluster_free(rta_cluster *c)
{
    if (c) rta_cluster_channels_free(c->channels);
    free(c);
}

int rta_cluster_ready(const rta_cluster *c, char *why, size_t size)
{
    int64_t now = mono_ms();
    const char *reason = NULL;
    if (!c->sub_up)
        reason = "not subscribed to Redis";
    else if (!c->tick_ok || now - c->tick_ok >= STALE_MS)
        reason = "Redis is not answering";
    else if (c->reseed_in_flight || c->reseed_needed)
        reason = "writing state back to Redis after a data loss";
    else if (!c->caught_up)
        reason = "catching up with the control log";
    else if (c->fenced)
        reason = "cut off from Redis longer than the partition grace; rejoining";
    if (!reason) return rta_cluster_channels_ready(c->channels, why, size);
    snprintf(why, size, "%s", reason);
    return 0;
}
