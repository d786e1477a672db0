/* cluster_channels.c: realtime channels across nodes; see cluster_channels.h.
 *
 * A channel this node follows goes: not subscribed (the subscriber is down) -> subscribing
 * -> subscribed; on the subscription's confirmation a store-thread read takes the channel's
 * head (its first time: messages up to it are before this node's attach, and waiting
 * ATTACHes go on) or the stream from the last serial delivered (a catch-up: the subscriber
 * came back). Live messages then go out in serial order; a gap is read from the stream.
 * --channel-linger after the last local detach it unsubscribes; a channel is subscribed again
 * only once Redis confirmed its unsubscribe (hiredis 0.14 would drop the new callback). */
#include "server/cluster_channels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "server/channel_order.h"
#include "server/cluster_backlog.h"
#include "server/cluster_claims.h"
#include "server/cluster_presence.h"
#include "server/cluster_publish.h"
#include "server/log.h"
#include "server/server.h"
#include "server/store/redis.h"
#include "server/store/redis_channels.h"
#include "server/store/redis_sub.h"

#define READ_BATCH 500 /* stream entries per read */
#define RETRY_MS   500 /* a failed read is tried again after this */
#define SHARD_WATCHDOG_MS 3000 /* a shard's subscriber that hears no heartbeat is restarted */

typedef enum { CH_UNSUBSCRIBED, CH_SUBSCRIBING, CH_SUBSCRIBED, CH_UNSUBSCRIBING } sub_state;

typedef struct relay_channel {
    char *rkey; /* "rt:{c:<app>:<name>}" */
    char *app_id, *name;
    uint32_t shard;    /* its Redis shard (--redis-shard; 0 without) */
    int open;          /* the gateway has local members (or attaches waiting) */
    int64_t closed_at; /* monotonic ms of the last close; 0 while open */
    int tell_ready;    /* the gateway waits for rta_gateway_channel_ready */
    sub_state st;
    rta_channel_order order;
    int read_in_flight, read_again;
    int64_t retry_at; /* a read failed: try again then (0: no retry due) */
    int dead;         /* dropped while a read was in flight: that read frees it */
    int seeding;      /* presence members being read (cluster_presence.h): attaches wait */
    struct rta_cluster_channels *cc;
} relay_channel;

/* A channel shard's subscriber (--redis-shard): its channels' PUB/SUB lives there; it also
 * hears this node's heartbeat, published to every shard at each tick, as its watchdog. */
typedef struct shard_sub {
    rta_cluster_channels *cc;
    size_t index;
    rta_redis_sub *sub;
    int up;
    int64_t heard_at; /* the heartbeat, monotonic ms */
} shard_sub;

struct rta_cluster_channels {
    rta_server *srv;
    rta_redis_sub *sub; /* cluster.c's, on the main Redis: channels live there without shards */
    int sub_up;
    shard_sub *shards; /* with --redis-shard: one subscriber per shard, owned */
    size_t nshards;
    uint32_t shard_down; /* bit i: shard i failed the last tick's heartbeat */
    char node_channel[RTA_RK_MAX];
    rta_hmap channels; /* rkey -> relay_channel* */
    rta_cluster_publisher *publisher;
    rta_cluster_presence *presence; /* presence across nodes (cluster_presence.h) */
    size_t max_payload;
    rta_cluster_backlog_limits backlog; /* a re-attach's catch-up (cluster_backlog.h) */
    int64_t linger_ms; /* --channel-linger */
    int stopping;
};

static int64_t mono_ms(void)
{
    return (int64_t)(uv_hrtime() / 1000000);
}

/* ---- channel records ------------------------------------------------------------------------ */

static void channel_free(relay_channel *rc)
{
    free(rc->rkey);
    free(rc->app_id);
    free(rc->name);
    free(rc);
}

/* Forgets rc (freed now, or by its read in flight). */
static void drop(rta_cluster_channels *cc, relay_channel *rc)
{
    rta_hmap_del(&cc->channels, rc->rkey, strlen(rc->rkey));
    if (rc->read_in_flight || rc->seeding)
        rc->dead = 1;
    else
        channel_free(rc);
}

static relay_channel *find(rta_cluster_channels *cc, const char *rkey, size_t len)
{
    return rta_hmap_get(&cc->channels, rkey, len);
}

/* The subscriber a channel's PUB/SUB goes through (*up: whether it is subscribed now). */
static rta_redis_sub *sub_of(rta_cluster_channels *cc, const relay_channel *rc, int *up)
{
    if (!cc->nshards) {
        *up = cc->sub_up;
        return cc->sub;
    }
    shard_sub *sh = &cc->shards[rc->shard < cc->nshards ? rc->shard : 0];
    *up = sh->up;
    return sh->sub;
}

static void subscribe(rta_cluster_channels *cc, relay_channel *rc)
{
    int up;
    rta_redis_sub *sub = sub_of(cc, rc, &up);
    if (up && !rta_redis_sub_subscribe(sub, rc->rkey)) rc->st = CH_SUBSCRIBING;
}

/* ---- delivering ------------------------------------------------------------------------------ */

static void deliver(rta_cluster_channels *cc, relay_channel *rc, uint64_t serial,
                    const char *payload, size_t len)
{
    if (!rc->open) return; /* lingering: nobody here to deliver to */
    rta_protocol_message pm;
    rta_error err;
    rta_parse_limits lim = {cc->max_payload, 0};
    if (rta_protocol_message_decode(payload, len, RTA_FORMAT_MSGPACK, &lim, &pm, &err)) {
        rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: message %llu of a channel of app %s is unreadable (%s); skipped",
                     (unsigned long long)serial, rc->app_id, err.message);
        return;
    }
    if (pm.action == RTA_ACTION_PRESENCE) /* presence across nodes: the members' mirror */
        rta_cluster_presence_heard(cc->presence, rc->app_id, rc->name, serial, &pm);
    else
        rta_gateway_deliver(&cc->srv->gateway, rc->app_id, rc->name, serial, &pm);
    rta_protocol_message_clear(&pm);
}

/* ---- reading the stream (store thread) ------------------------------------------------------ */

typedef struct read_job {
    rta_store_job job;
    rta_cluster_channels *cc;
    relay_channel *rc;
    char *app_id, *name;
    char epoch[RTA_CK_EPOCH_MAX];
    rta_ch_read q;
    rta_ch_copies got;
    int oom;
} read_job;

static void collect(void *ctx, const rta_ch_entry *e)
{
    read_job *j = ctx;
    if (!j->oom && rta_ch_copies_add(&j->got, e) < 0) j->oom = 1;
}

static void read_run(rta_store_job *job, rta_store *store)
{
    read_job *j = (read_job *)job;
    job->rc = rta_store_redis_ch_read(store, &j->q, collect, j, &job->err);
    if (!job->rc && j->oom) job->rc = rta_error_set(&job->err, RTA_ERR_INTERNAL, "Out of memory");
}

static void read_free(read_job *j)
{
    rta_ch_copies_free(&j->got);
    free(j->app_id);
    free(j->name);
    free(j);
}

static void submit_read(rta_cluster_channels *cc, relay_channel *rc);

static void read_done(rta_store_job *job)
{
    read_job *j = (read_job *)job;
    rta_cluster_channels *cc = j->cc;
    relay_channel *rc = j->rc;
    rc->read_in_flight = 0;
    if (rc->dead || cc->stopping) {
        if (rc->dead && !rc->seeding) channel_free(rc);
        read_free(j);
        return;
    }
    if (job->rc) {
        rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: reading a channel of app %s from Redis failed (%s); retrying",
                     rc->app_id, job->err.message);
        rc->retry_at = mono_ms() + RETRY_MS;
        read_free(j);
        return;
    }
    rta_channel_order *o = &rc->order;
    int again = 0;
    if (!o->known) { /* the head: this node follows the channel from here on */
        rta_channel_order_start(o, j->q.head, j->q.head_epoch);
        if (rc->tell_ready && !rc->seeding) {
            rc->tell_ready = 0;
            rta_gateway_channel_ready(&cc->srv->gateway, rc->app_id, rc->name, o->last);
        }
        again = o->want > o->last; /* heard meanwhile */
    } else {
        if (rta_channel_order_read_epoch(o, j->q.head_epoch))
            rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: a channel of app %s has a new epoch (Redis lost it); its "
                         "serials start again",
                         rc->app_id);
        for (size_t i = 0; i < j->got.n; i++) {
            const rta_ch_copy *e = &j->got.v[i];
            uint64_t skipped;
            if (rta_channel_order_read(o, e->serial, &skipped) != RTA_ORDER_DELIVER)
                continue;
            if (skipped)
                rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: %llu message(s) of a channel of app %s are gone from "
                             "Redis (trimmed or expired) and were not delivered here",
                             (unsigned long long)skipped, rc->app_id);
            deliver(cc, rc, e->serial, e->payload, e->len);
        }
        uint64_t lost;
        again = rta_channel_order_read_done(o, j->got.n == j->q.max, &lost);
        if (lost)
            rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: %llu message(s) of a channel of app %s were not found in "
                         "Redis and were not delivered here",
                         (unsigned long long)lost, rc->app_id);
    }
    if (rc->read_again) again = 1;
    rc->read_again = 0;
    read_free(j);
    if (again) submit_read(cc, rc);
}

/* Reads the head (first time) or the stream from the last serial delivered. */
static void submit_read(rta_cluster_channels *cc, relay_channel *rc)
{
    if (cc->stopping) return;
    if (rc->read_in_flight) {
        rc->read_again = 1;
        return;
    }
    read_job *j = calloc(1, sizeof(*j));
    if (j) {
        j->app_id = strdup(rc->app_id);
        j->name = strdup(rc->name);
    }
    if (!j || !j->app_id || !j->name) {
        if (j) read_free(j);
        rc->retry_at = mono_ms() + RETRY_MS;
        return;
    }
    rc->retry_at = 0;
    j->cc = cc;
    j->rc = rc;
    snprintf(j->epoch, sizeof(j->epoch), "%s", rc->order.epoch);
    j->q = (rta_ch_read){.app_id = j->app_id,
                         .channel = j->name,
                         .epoch = j->epoch,
                         .from = rc->order.known ? rta_channel_order_read_begin(&rc->order) : 0,
                         .max = READ_BATCH};
    j->got.max = READ_BATCH;
    j->job.run = read_run;
    j->job.done = read_done;
    rc->read_in_flight = 1;
    rta_server_submit(cc->srv, &j->job);
}

/* ---- the gateway's relay hooks ----------------------------------------------------------------
 */

/* The channel's presence members were read (or could not be): the attaches may go on once
 * the channel's head is known too. */
static void seeded(void *ctx, const char *app_id, const char *channel)
{
    relay_channel *rc = ctx;
    rta_cluster_channels *cc = rc->cc;
    (void)app_id;
    (void)channel;
    if (rc->seeding) rc->seeding--;
    if (rc->dead) {
        if (!rc->seeding && !rc->read_in_flight) channel_free(rc);
        return;
    }
    if (!rc->seeding && rc->tell_ready && rc->order.known && !cc->stopping) {
        rc->tell_ready = 0;
        rta_gateway_channel_ready(&cc->srv->gateway, rc->app_id, rc->name, rc->order.last);
    }
}

static int relay_open(void *ctx, const char *app_id, const char *channel, uint64_t *serial)
{
    rta_cluster_channels *cc = ctx;
    char rkey[RTA_CK_MAX];
    size_t len = rta_ck_key(rkey, sizeof(rkey), app_id, channel, "");
    relay_channel *rc = len ? find(cc, rkey, len) : NULL;
    if (!rc && len) {
        rc = calloc(1, sizeof(*rc));
        if (rc) {
            rc->cc = cc;
            rc->rkey = strdup(rkey);
            rc->app_id = strdup(app_id);
            rc->name = strdup(channel);
            rc->shard = rta_store_redis_shard_of(cc->srv->store, rkey, len);
        }
        if (!rc || !rc->rkey || !rc->app_id || !rc->name ||
            rta_hmap_put(&cc->channels, rkey, len, rc, NULL)) {
            if (rc) channel_free(rc);
            rc = NULL;
        }
        if (rc) subscribe(cc, rc);
    }
    if (!rc) {
        rta_log_event(RTA_LOG_ERROR, "cluster.error", NULL, "cluster: out of memory following a channel; its attaches wait");
        return 0;
    }
    rc->open = 1;
    rc->closed_at = 0;
    *serial = rc->order.last;
    /* the gateway's channel is new: it mirrors the other nodes' members from Redis first */
    rc->seeding++;
    rc->tell_ready = 1;
    rta_cluster_presence_seed(cc->presence, app_id, channel, seeded, rc);
    return 0;
}

static void relay_close(void *ctx, const char *app_id, const char *channel)
{
    rta_cluster_channels *cc = ctx;
    char rkey[RTA_CK_MAX];
    size_t len = rta_ck_key(rkey, sizeof(rkey), app_id, channel, "");
    relay_channel *rc = len ? find(cc, rkey, len) : NULL;
    if (!rc) return;
    rc->open = 0;
    rc->tell_ready = 0;
    rc->closed_at = mono_ms();
}

static void relay_publish(void *ctx, const char *app_id, const char *channel,
                          const rta_protocol_message *pm, rta_gateway_published_cb done, void *arg)
{
    rta_cluster_channels *cc = ctx;
    if (!pm) { /* a reply that keeps its place in line */
        rta_cluster_publisher_push(cc->publisher, NULL, NULL, NULL, NULL, 0, done, arg);
        return;
    }
    rta_buf b = RTA_BUF_INIT;
    if (rta_protocol_message_encode(pm, RTA_FORMAT_MSGPACK, &b) || b.oom) {
        rta_buf_free(&b);
        /* no payload: refused in line (out of memory), never acknowledged */
        rta_cluster_publisher_push(cc->publisher, app_id, channel, pm->id, NULL, 0, done, arg);
        return;
    }
    /* Idempotent publishing across nodes (RSL1k, RTL6a1): a publish whose first message
     * carries a client-supplied id is remembered by that id ("u:<id>") in rt_ch_publish's
     * SET PX window, whichever node it reaches: a repeat is ACKed but neither delivered nor
     * stored again. Others by their ProtocolMessage id (a resend after a resume). */
    char idem[RTA_CK_ID_MAX + 1];
    const char *first = pm->message_count ? pm->messages[0].id : NULL;
    const char *key = pm->id;
    if (first && *first && strlen(first) + 2 <= RTA_CK_ID_MAX) {
        snprintf(idem, sizeof(idem), "u:%s", first);
        key = idem;
    }
    rta_cluster_publisher_push(cc->publisher, app_id, channel, key, b.data, b.len, done, arg);
    rta_buf_free(&b);
}

static void relay_backlog(void *ctx, const char *app_id, const char *channel, uint64_t after,
                          uint64_t upto, rta_gateway_backlog_cb done, void *arg)
{
    rta_cluster_channels *cc = ctx;
    rta_cluster_backlog_read(cc->srv, cc, &cc->backlog, app_id, channel, after, upto, done, arg);
}

static void relay_claim(void *ctx, const char *conn_id)
{
    rta_cluster_channels *cc = ctx;
    if (!cc->stopping) rta_cluster_claims_publish(cc->srv, conn_id);
}

int rta_cluster_channels_position(rta_cluster_channels *cc, const char *app_id,
                                  const char *channel, uint64_t *last, char *epoch)
{
    char rkey[RTA_CK_MAX];
    size_t len = rta_ck_key(rkey, sizeof(rkey), app_id, channel, "");
    relay_channel *rc = len ? find(cc, rkey, len) : NULL;
    if (!rc || !rc->order.known) return 0;
    *last = rc->order.last;
    snprintf(epoch, RTA_CK_EPOCH_MAX, "%s", rc->order.epoch);
    return 1;
}

int rta_cluster_channels_stopping(const rta_cluster_channels *cc)
{
    return cc->stopping;
}

/* ---- the subscriber's events ------------------------------------------------------------------
 */

void rta_cluster_channels_set_sub(rta_cluster_channels *cc, rta_redis_sub *sub)
{
    cc->sub = sub;
}

/* A subscriber came up: its channels (shard: every one without shards) subscribe again. */
static void channels_up(rta_cluster_channels *cc, int shard)
{
    for (size_t i = 0; i < cc->channels.cap; i++) { /* re-SUBSCRIBE, then catch up (6.7) */
        relay_channel *rc = cc->channels.slots[i].key ? cc->channels.slots[i].value : NULL;
        if (rc && (shard < 0 || rc->shard == (uint32_t)shard)) subscribe(cc, rc);
    }
}

void rta_cluster_channels_sub_up(rta_cluster_channels *cc)
{
    cc->sub_up = 1;
    if (!cc->nshards) channels_up(cc, -1);
}

static void relay_presence(void *ctx, const char *app_id, const char *channel,
                           const rta_presence_message *ev, size_t n,
                           rta_gateway_published_cb done, void *arg)
{
    rta_cluster_channels *cc = ctx;
    rta_cluster_presence_publish(cc->presence, app_id, channel, ev, n, done, arg);
}

static void relay_presence_owned(void *ctx, const char *app_id, const char *channel,
                                 const rta_presence_message *m, size_t n)
{
    rta_cluster_presence_owned(((rta_cluster_channels *)ctx)->presence, app_id, channel, m, n);
}

static void relay_presence_orphaned(void *ctx, const char *app_id, const char *channel,
                                    const char *conn_id)
{
    rta_cluster_presence_orphaned(((rta_cluster_channels *)ctx)->presence, app_id, channel,
                                  conn_id);
}

static void channels_down(rta_cluster_channels *cc, int shard)
{
    /* Lingering channels go now (nobody here needs them); the others are subscribed again. */
    relay_channel **gone = calloc(cc->channels.count + 1, sizeof(*gone));
    size_t n = 0;
    for (size_t i = 0; i < cc->channels.cap; i++) {
        relay_channel *rc = cc->channels.slots[i].key ? cc->channels.slots[i].value : NULL;
        if (!rc || (shard >= 0 && rc->shard != (uint32_t)shard)) continue;
        rc->st = CH_UNSUBSCRIBED;
        if (!rc->open && gone) gone[n++] = rc;
    }
    for (size_t i = 0; i < n; i++)
        drop(cc, gone[i]);
    free(gone);
}

void rta_cluster_channels_sub_down(rta_cluster_channels *cc)
{
    cc->sub_up = 0;
    if (!cc->nshards) channels_down(cc, -1);
}

void rta_cluster_channels_subscribed(rta_cluster_channels *cc, const char *channel, size_t len)
{
    relay_channel *rc = find(cc, channel, len);
    if (!rc || rc->st != CH_SUBSCRIBING) return;
    rc->st = CH_SUBSCRIBED;
    submit_read(cc, rc); /* the head, or everything since the last serial delivered */
}

void rta_cluster_channels_unsubscribed(rta_cluster_channels *cc, const char *channel, size_t len)
{
    relay_channel *rc = find(cc, channel, len);
    if (!rc || rc->st != CH_UNSUBSCRIBING) return;
    if (rc->open) { /* attached again meanwhile: subscribe again, from the last serial */
        rc->st = CH_UNSUBSCRIBED;
        subscribe(cc, rc);
    } else {
        drop(cc, rc);
    }
}

int rta_cluster_channels_message(rta_cluster_channels *cc, const char *channel, size_t channel_len,
                                 const char *msg, size_t len)
{
    if (channel_len < 6 || memcmp(channel, "rt:{c:", 6)) return 0;
    relay_channel *rc = find(cc, channel, channel_len);
    if (!rc || cc->stopping || rc->st != CH_SUBSCRIBED) return 1;
    uint64_t serial;
    char epoch[RTA_CK_EPOCH_MAX];
    const char *payload;
    size_t plen;
    if (rta_ck_message_parse(msg, len, &serial, epoch, &payload, &plen)) {
        rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL, "cluster: a malformed channel message was ignored");
        return 1;
    }
    switch (rta_channel_order_heard(&rc->order, serial, epoch)) {
    case RTA_ORDER_DELIVER:
        deliver(cc, rc, serial, payload, plen);
        break;
    case RTA_ORDER_READ:
        submit_read(cc, rc);
        break;
    case RTA_ORDER_DUPLICATE:
    case RTA_ORDER_WAIT:
        break;
    }
    return 1;
}

void rta_cluster_channels_tick(rta_cluster_channels *cc, int64_t now)
{
    if (cc->stopping) return;
    rta_cluster_presence_tick(cc->presence, now);
    for (size_t i = 0; i < cc->nshards; i++) { /* each shard subscriber's watchdog */
        shard_sub *sh = &cc->shards[i];
        if (!sh->up || now - sh->heard_at <= SHARD_WATCHDOG_MS) continue;
        rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL,
                      "cluster: no heartbeat through Redis shard %zu (%s) for %d ms; "
                      "resubscribing",
                      i, rta_store_redis_shard_where(cc->srv->store, i), SHARD_WATCHDOG_MS);
        sh->heard_at = now;
        rta_redis_sub_restart(sh->sub);
    }
    relay_channel **gone = NULL;
    size_t n = 0;
    for (size_t i = 0; i < cc->channels.cap; i++) {
        relay_channel *rc = cc->channels.slots[i].key ? cc->channels.slots[i].value : NULL;
        if (!rc) continue;
        if (rc->retry_at && now >= rc->retry_at && !rc->read_in_flight && rc->st == CH_SUBSCRIBED)
            submit_read(cc, rc);
        if (rc->open || !rc->closed_at || now - rc->closed_at < cc->linger_ms ||
            rc->st == CH_UNSUBSCRIBING)
            continue;
        int up;
        rta_redis_sub *sub = sub_of(cc, rc, &up);
        if (rc->st != CH_UNSUBSCRIBED && up && !rta_redis_sub_unsubscribe(sub, rc->rkey)) {
            rc->st = CH_UNSUBSCRIBING; /* dropped once Redis confirms */
            continue;
        }
        if (!gone) gone = calloc(cc->channels.count + 1, sizeof(*gone));
        if (gone) gone[n++] = rc;
    }
    for (size_t i = 0; i < n; i++)
        drop(cc, gone[i]);
    free(gone);
}

/* ---- life
 * ---------------------------------------------------------------------------------------- */

int rta_cluster_channels_create(rta_server *srv, rta_cluster_channels **out)
{
    *out = NULL;
    rta_cluster_channels *cc = calloc(1, sizeof(*cc));
    if (!cc) return RTA_ERR_INTERNAL;
    cc->srv = srv;
    const rta_config *cfg = &srv->cfg;
    cc->linger_ms = cfg->channel_linger;
    size_t most = (size_t)cfg->gateway.max_message_size * 2 + 64 * 1024;
    cc->max_payload = most > RTA_PARSE_DEFAULT_MAX_BYTES ? most : RTA_PARSE_DEFAULT_MAX_BYTES;
    rta_ch_limits lim = {.log_max = (long)cfg->history.max_messages,
                         .log_ttl_ms = cfg->history.max_age_ms,
                         .id_window_ms = cfg->gateway.connection_state_ttl + 60000};
    if (rta_hmap_init(&cc->channels) || rta_cluster_publisher_create(srv, &lim, &cc->publisher) ||
        rta_cluster_presence_create(srv, &cc->presence)) {
        rta_cluster_publisher_free(cc->publisher);
        rta_hmap_free(&cc->channels);
        free(cc);
        return RTA_ERR_INTERNAL;
    }
    cc->backlog = (rta_cluster_backlog_limits){(size_t)cfg->history.max_messages, cc->max_payload};
    rta_gateway_relay relay = {cc,         relay_publish, relay_open, relay_close,
                               relay_backlog, relay_claim};
    relay.presence = relay_presence;
    relay.presence_owned = relay_presence_owned;
    relay.presence_orphaned = relay_presence_orphaned;
    rta_gateway_set_relay(&srv->gateway, &relay);
    *out = cc;
    return 0;
}

void rta_cluster_channels_stop(rta_cluster_channels *cc)
{
    if (!cc || cc->stopping) return;
    cc->stopping = 1;
    cc->sub = NULL;
    cc->sub_up = 0;
    for (size_t i = 0; i < cc->nshards; i++) {
        if (cc->shards[i].sub) rta_redis_sub_close(cc->shards[i].sub);
        cc->shards[i].sub = NULL;
        cc->shards[i].up = 0;
    }
    rta_cluster_publisher_stop(cc->publisher);
    rta_cluster_presence_stop(cc->presence);
}

void rta_cluster_channels_free(rta_cluster_channels *cc)
{
    if (!cc) return;
    for (size_t i = 0; i < cc->channels.cap; i++)
        if (cc->channels.slots[i].key) channel_free(cc->channels.slots[i].value);
    rta_hmap_free(&cc->channels);
    rta_cluster_publisher_free(cc->publisher);
    rta_cluster_presence_free(cc->presence);
    free(cc->shards);
    free(cc);
}

/* ---- channel shards (--redis-shard) ----------------------------------------------------------
 */

static void shard_where(void *ctx, rta_redis_addr *out)
{
    shard_sub *sh = ctx;
    *out = rta_store_redis_shard_target(sh->cc->srv->store, sh->index)->addr;
}

static void shard_up(void *ctx)
{
    shard_sub *sh = ctx;
    if (sh->cc->stopping) return;
    sh->up = 1;
    sh->heard_at = mono_ms();
    channels_up(sh->cc, (int)sh->index);
}

static void shard_down(void *ctx, const char *why)
{
    shard_sub *sh = ctx;
    if (sh->cc->stopping) return;
    if (sh->up)
        rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL,
                      "cluster: subscription to Redis shard %zu (%s) lost (%s); its channels "
                      "wait for it",
                      sh->index, rta_store_redis_shard_where(sh->cc->srv->store, sh->index), why);
    sh->up = 0;
    channels_down(sh->cc, (int)sh->index);
}

static void shard_message(void *ctx, const char *channel, size_t channel_len, const char *msg,
                          size_t len)
{
    shard_sub *sh = ctx;
    rta_cluster_channels *cc = sh->cc;
    if (cc->stopping || rta_cluster_channels_message(cc, channel, channel_len, msg, len)) return;
    if (channel_len == strlen(cc->node_channel) && !memcmp(channel, cc->node_channel, channel_len))
        sh->heard_at = mono_ms();
}

static void shard_subscribed(void *ctx, const char *channel, size_t len)
{
    shard_sub *sh = ctx;
    if (!sh->cc->stopping) rta_cluster_channels_subscribed(sh->cc, channel, len);
}

static void shard_unsubscribed(void *ctx, const char *channel, size_t len)
{
    shard_sub *sh = ctx;
    if (!sh->cc->stopping) rta_cluster_channels_unsubscribed(sh->cc, channel, len);
}

int rta_cluster_channels_start_shards(rta_cluster_channels *cc, const char *node_channel)
{
    rta_store *store = cc->srv->store;
    size_t n = rta_store_redis_shard_count(store);
    snprintf(cc->node_channel, sizeof(cc->node_channel), "%s", node_channel);
    if (!n) return 0;
    if (!(cc->shards = calloc(n, sizeof(*cc->shards)))) return RTA_ERR_INTERNAL;
    cc->nshards = n;
    const char *channels[] = {cc->node_channel};
    for (size_t i = 0; i < n; i++) {
        shard_sub *sh = &cc->shards[i];
        sh->cc = cc;
        sh->index = i;
        rta_redis_sub_hooks hooks = {shard_where,   shard_up,      shard_down,        shard_message,
                                     sh,            shard_subscribed, shard_unsubscribed};
        if (rta_redis_sub_start(&cc->srv->loop, rta_store_redis_shard_target(store, i), channels,
                                1, &hooks, &sh->sub))
            return RTA_ERR_INTERNAL;
    }
    return 0;
}

void rta_cluster_channels_shards_seen(rta_cluster_channels *cc, uint32_t down)
{
    for (size_t i = 0; i < cc->nshards; i++) {
        uint32_t bit = 1u << i;
        if ((down & bit) && !(cc->shard_down & bit))
            rta_log_event(RTA_LOG_WARN, "cluster.warning", NULL,
                          "cluster: Redis shard %zu (%s) is not answering: its channels fail "
                          "until it is back",
                          i, rta_store_redis_shard_where(cc->srv->store, i));
        else if (!(down & bit) && (cc->shard_down & bit))
            rta_log_event(RTA_LOG_INFO, "cluster.state", NULL,
                          "cluster: Redis shard %zu (%s) answers again", i,
                          rta_store_redis_shard_where(cc->srv->store, i));
    }
    cc->shard_down = down;
}

int rta_cluster_channels_ready(const rta_cluster_channels *cc, char *why, size_t size)
{
    for (size_t i = 0; i < cc->nshards; i++) {
        const char *what = (cc->shard_down & (1u << i)) ? "is not answering"
                           : !cc->shards[i].up          ? "is not subscribed"
                                                        : NULL;
        if (!what) continue;
        snprintf(why, size, "Redis shard %zu (%s) %s", i,
                 rta_store_redis_shard_where(cc->srv->store, i), what);
        return 0;
    }
    return 1;
}
