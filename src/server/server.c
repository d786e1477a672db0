/* server.c: rtauthd's lifecycle: load state from the store, serve on one libwebsockets
 * context, housekeeping once a second, clean shutdown on SIGTERM. See server.h. */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/cluster.h"
#include "server/cluster_history.h"
#include "server/gateway/transport_lws.h"
#include "server/rest/http.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/stats.h"
#include "server/store/private_files.h"
#include "server/auth/provision.h"
#include "server/store/redis.h"
#include "server/store/secret_box.h"
#include "server/console/console.h"
#include "server/tls_policy.h"
#ifndef RTAUTHD_VERSION /* the project version, from CMakeLists.txt */
#define RTAUTHD_VERSION "unknown"
#endif

#define HOUSEKEEPING_US (1000 * 1000)

void rta_server_submit(rta_server *srv, rta_store_job *job)
{
    rta_store_thread_submit(&srv->store_thread, job);
}

/* ---- the REST room's hooks (rest/rest.h) -------------------------------------------------- */

static void rest_submit(void *ctx, rta_store_job *job)
{
    rta_server_submit(ctx, job);
}

/* 1 while the loop is in its I/O phase (socket callbacks), 0 in its other phases (timers,
 * idle handlers: libwebsockets serves data it buffered itself from one): rest/http.c tells
 * pipelined requests by it. */
static int rest_in_io_phase(void *ctx)
{
    return ((rta_server *)ctx)->in_io_phase;
}

static void rest_publish(void *ctx, const char *app_id, const char *channel, const char *id,
                         rta_message *msgs, size_t n)
{
    rta_gateway_publish(&((rta_server *)ctx)->gateway, app_id, channel, id, msgs, n);
}

static void rest_publish_async(void *ctx, const char *app_id, const char *channel,
                               const char *id, rta_message *msgs, size_t n,
                               rta_gateway_published_cb done, void *arg)
{
    rta_gateway_publish_async(&((rta_server *)ctx)->gateway, app_id, channel, id, msgs, n, done,
                              arg);
}

static void rest_history_async(void *ctx, const char *app_id, const char *channel,
                               const rta_history_query *q, int64_t now,
                               rta_cluster_history_cb done, void *arg)
{
    rta_cluster_history_read(ctx, app_id, channel, q, now, done, arg);
}

static rta_history *rest_history(void *ctx)
{
    return &((rta_server *)ctx)->gateway.history;
}

static void rest_revoked(void *ctx, const char *key_name, const char *const *targets, size_t n)
{
    rta_gateway_revoked_targets(&((rta_server *)ctx)->gateway, key_name, targets, n);
}

static void rest_credentials_changed(void *ctx)
{
    rta_server *srv = ctx;
    rta_gateway_credentials_changed(&srv->gateway, &srv->registry);
}

/* GET /ready: a single node is ready once it serves (its store is local); a cluster node
 * when cluster.c says it is in step. */
static int rest_ready(void *ctx, char *why, size_t size)
{
    rta_server *srv = ctx;
    return !srv->cluster || rta_cluster_ready(srv->cluster, why, size);
}

/* The operator console (--console): never without its password file (config.c, guard.h). */
static int open_console(rta_server *srv, rta_error *err)
{
    rta_console_deps deps = {
        .registry = &srv->registry,
        .tokens = &srv->tokens,
        .gateway = &srv->gateway,
        .ctx = srv,
        .submit = rest_submit,
        .revoked = rest_revoked,
        .credentials_changed = rest_credentials_changed,
    };
    int rc = rta_console_create(srv->cfg.console_password_file, &deps, &srv->console, err);
    if (rc) return rc;
    srv->rest.console = srv->console;
    rta_log_info("operator console enabled at /console");
    return 0;
}

/* The connection gauge of GET /metrics, read from the gateway at each scrape. */
static void count_connections(void *ctx, rta_metrics_conn_emit emit, void *arg)
{
    rta_gateway_count_connections(&((rta_server *)ctx)->gateway, emit, arg);
}

/* The label-less gauges: the revocation index's size (it lives in a pool of its own). */
static void read_gauges(void *ctx, uint64_t out[RTA_G_COUNT])
{
    const rta_revocations *r = &((rta_server *)ctx)->tokens.revocations;
    out[RTA_G_REVOCATION_RECORDS] = r->count;
    out[RTA_G_REVOCATION_BYTES] = r->pool.mapped;
}

static void wire_rest(rta_server *srv)
{
    const rta_config *c = &srv->cfg;
    srv->rest = (rta_route_env){
        .tokens = &srv->tokens,
        .registry = &srv->registry,
        .store = srv->store,
        .basic_over_http = c->basic_over_http,
        .max_body = c->max_body,
        .cors = &c->cors,
        .access_log = &srv->access_log,
        .sandbox = c->sandbox,
        .metrics = &srv->metrics_access,
        .max_connections = c->gateway.max_connections,
        .max_connections_per_app = c->gateway.max_connections_per_app,
        .max_connections_per_client = c->gateway.max_connections_per_client,
        .max_message_size = (size_t)c->gateway.max_message_size,
        .ctx = srv,
        .submit = rest_submit,
        .in_io_phase = rest_in_io_phase,
        .publish = rest_publish,
        .publish_async = srv->cluster ? rest_publish_async : NULL, /* cluster mode */
        .history_async = srv->cluster ? rest_history_async : NULL, /* the shared log */
        .history = rest_history,
        .gateway = &srv->gateway,
        .revoked = rest_revoked,
        .credentials_changed = rest_credentials_changed,
        .ready = rest_ready,
    };
}

/* libuv runs prepare handles just before it polls for I/O and check handles just after. */
static void io_phase_start(uv_prepare_t *h)
{
    rta_server *srv = h->data;
    rta_gateway_flush(&srv->gateway); /* what the timers queued, before the loop sleeps */
    srv->in_io_phase = 1;
    rta_store_thread_kick(&srv->store_thread); /* what the timers and idle handlers queued */
}

static void io_phase_end(uv_check_t *h)
{
    rta_server *srv = h->data;
    srv->in_io_phase = 0;
    rta_gateway_flush(&srv->gateway); /* the frames this turn's I/O queued */
    rta_store_thread_kick(&srv->store_thread); /* the turn's nonces, as one batch */
}

static void watch_io_phase(rta_server *srv)
{
    uv_prepare_init(&srv->loop, &srv->io_start);
    uv_check_init(&srv->loop, &srv->io_end);
    srv->io_start.data = srv->io_end.data = srv;
    uv_prepare_start(&srv->io_start, io_phase_start);
    uv_check_start(&srv->io_end, io_phase_end);
    uv_unref((uv_handle_t *)&srv->io_start); /* they never keep the loop alive on their own */
    uv_unref((uv_handle_t *)&srv->io_end);
}

static void wake_loop(void *ctx)
{
    rta_server *srv = ctx;
    if (srv->lws) lws_cancel_service(srv->lws);
}

/* ---- the libwebsockets callback ---------------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    rta_server *srv = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
        /* user is the vhost's server SSL_CTX, which lws made and loaded the certificate into:
         * kept so that SIGHUP can load a new certificate into it (server/reload.c) */
        srv->tls_ctx = user;
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: /* the store thread or rta_server_stop() */
        rta_store_thread_drain(&srv->store_thread);
        if (srv->stop_requested) uv_stop(&srv->loop);
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_RECEIVE_PONG:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    case LWS_CALLBACK_CLOSED:
        if (!user) return reason == LWS_CALLBACK_SERVER_WRITEABLE ? -1 : 0;
        return rta_gateway_lws_callback(&srv->gateway, wsi, reason,
                                        &((rta_http_session *)user)->ws, in, len);
    default:
        return rta_http_callback(&srv->rest, wsi, reason, user, in, len);
    }
}

/* rx_buffer_size: libwebsockets gives every WebSocket connection a receive buffer of this
 * size (0: pt_serv_buf_size, 32 KiB). Frames are written at its start, so at 1 KiB four share
 * a page where each 32 KiB buffer touched a page of its own: 9.9 -> 6.7 KiB of RSS per idle
 * connection (make bench-scale, issue 19). Larger frames arrive in parts, which the gateway
 * reassembles anyway. tx_packet_size keeps sends at 32 KiB per write (0 would tie them to
 * rx_buffer_size). */
#define WS_RX_BUFFER 1024
#define WS_TX_PACKET 32768
static const struct lws_protocols protocols[] = {
    {"rtauth", callback, sizeof(rta_http_session), WS_RX_BUFFER, 0, NULL, WS_TX_PACKET},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- loading state ---------------------------------------------------------------------- */

typedef struct {
    rta_secret_record recs[RTA_KEYRING_MAX];
    size_t n;
} secret_list;

static void collect_secret(void *ctx, const rta_secret_record *s)
{
    secret_list *l = ctx;
    if (l->n < RTA_KEYRING_MAX) l->recs[l->n++] = *s;
}

static int load_secrets(rta_server *srv, int *first_start, rta_error *err)
{
    secret_list l = {0};
    int rc = srv->store->ops->list_secrets(srv->store, collect_secret, &l, err);
    if (rc) return rc;
    *first_start = l.n == 0;
    if (l.n == 0) {
        rta_secret_record s = {.id = 1, .created = rta_clock_now()};
        if (rta_random_bytes(s.secret, sizeof(s.secret)))
            return rta_error_set(err, RTA_ERR_INTERNAL, "CSPRNG unavailable");
        rc = srv->store->ops->add_secret(srv->store, &s, err);
        if (rc == RTA_ERR_INVALID_PARAMETER) /* cluster: another node made it first: use its */
            rc = srv->store->ops->list_secrets(srv->store, collect_secret, &l, err);
        else if (!rc)
            l.recs[l.n++] = s;
        OPENSSL_cleanse(&s, sizeof(s));
        if (rc) return rc;
    }
    /* oldest first, so the newest becomes current */
    for (size_t i = 1; i < l.n; i++)
        for (size_t j = i; j > 0 && l.recs[j - 1].id > l.recs[j].id; j--) {
            rta_secret_record t = l.recs[j];
            l.recs[j] = l.recs[j - 1];
            l.recs[j - 1] = t;
        }
    for (size_t i = 0; i < l.n; i++)
        if ((rc = rta_keyring_add(&srv->tokens.keyring, l.recs[i].id, l.recs[i].secret,
                                  RTA_SERVER_SECRET_LEN)))
            return rta_error_set(err, rc, "Cannot load server secret %u", l.recs[i].id);
    OPENSSL_cleanse(&l, sizeof(l));
    return 0;
}

static void load_nonce(void *ctx, const rta_nonce_record *n)
{
    rta_server *srv = ctx;
    rta_nonce_cache_add(&srv->tokens.nonces, n->key_name, n->nonce, n->expires, rta_clock_now(),
                        NULL);
}

static void load_revocation(void *ctx, const rta_revocation_record *r)
{
    rta_server *srv = ctx;
    rta_revocations_add(&srv->tokens.revocations, r->key_name, r->target, r->issued_before,
                        r->applies_at, r->expires);
}

static int kek_configured(const rta_config *cfg)
{
    const char *hex = getenv("RTAUTHD_KEK");
    return cfg->kek_file[0] || (hex && *hex);
}

/* First start: a dev app whose key can do everything (revocable tokens too, so the README's
 * `rtauth token revoke` works as written, issue 17), shown once and kept in
 * <data-dir>/dev-key (mode 0600) so `make run` can show it again; not with a KEK, whose point
 * is that the data directory holds no secret in plaintext. */
static int create_dev_app(rta_server *srv, rta_error *err)
{
    rta_key_spec spec = {RTA_DEFAULT_CAPABILITY, 1};
    rta_new_app app;
    int rc = rta_new_app_prepare("dev", &spec, 1, 0, rta_clock_now(), &app, err);
    if (!rc) rc = rta_new_app_store(srv->store, &app, err);
    if (!rc) rc = rta_new_app_register(&srv->registry, &app, err);
    if (!rc) {
        char path[1100];
        snprintf(path, sizeof(path), "%s/dev-key", srv->cfg.data_dir);
        /* created 0600, never briefly readable by others as fopen + chmod would leave it */
        int keep = !kek_configured(&srv->cfg);
        int fd = keep ? open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (f) {
            fprintf(f, "%s:%s\n", app.keys[0].key_name, app.keys[0].secret);
            fclose(f);
        } else if (fd >= 0) {
            close(fd);
        }
        printf("rtauthd: first start: created app \"dev\" with a key that can do everything:\n\n"
               "  %s:%s\n\n(%s %s)\n",
               app.keys[0].key_name, app.keys[0].secret,
               keep ? "also saved in" : "shown only now: with a KEK it is not saved in", path);
    }
    rta_new_app_clear(&app);
    return rc;
}

/* --no-dev-app: a packaged server starts with no app at all and says how to make one. */
static void print_no_dev_app(rta_server *srv)
{
    printf("rtauthd: first start: no app created (--no-dev-app). Create one with:\n\n"
           "  rtauth --data-dir %s app create [--capability JSON] [--revocable]\n\n",
           srv->cfg.data_dir);
    fflush(stdout);
}

static void print_hint(rta_server *srv)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/dev-key", srv->cfg.data_dir);
    FILE *f = fopen(path, "r");
    char key[512] = "";
    if (!f) return;
    if (!fgets(key, sizeof(key), f)) key[0] = '\0';
    fclose(f);
    char *colon = strchr(key, ':');
    if (!colon) return;
    *colon = '\0';
    const char *scheme = srv->cfg.tls_cert[0] ? "https" : "http";
    printf("\nRequest a token with the dev key:\n\n"
           "  curl -s -u \"$(cat %s)\" -H 'content-type: application/json' \\\n"
           "       -d '{\"clientId\":\"alice\",\"ttl\":3600000}' \\\n"
           "       %s://%s:%d/keys/%s/requestToken\n\n",
           path, scheme, srv->cfg.listen_host, srv->port, key);
    fflush(stdout);
}

/* ---- the store: SQLite in the data directory, or Redis in cluster mode -------------------- */

/* The Redis store for cluster mode (docs/cluster.md): the nodes' shared state, a nonce
 * remembered for 2W + S (W the timestamp window, S --max-clock-skew). */
static int open_redis_store(rta_server *srv, rta_secret_box *kek, rta_error *err)
{
    const rta_config *c = &srv->cfg;
    rta_redis_options o;
    rta_redis_options_init(&o);
    int rc = 0;
    if (c->redis[0]) rc = rta_redis_url_parse(c->redis, c->redis_sentinel[0] != 0, &o.target, err);
    if (!rc && c->redis_sentinel[0]) {
        rc = rta_redis_sentinels_parse(c->redis_sentinel, &o.target, err);
        snprintf(o.target.master_name, sizeof(o.target.master_name), "%s", c->redis_master);
    }
    snprintf(o.node_id, sizeof(o.node_id), "%s", c->node_id);
    o.nonce_retention_ms = 2 * c->limits.timestamp_window + c->max_clock_skew;
    o.start_wait_ms = 10000; /* Redis may still be starting beside us */
    rta_redis_target *shards = NULL;
    size_t nshards = 0;
    if (!rc) rc = rta_config_redis_shards(c, &shards, &nshards, err);
    o.shards = shards;
    o.shard_count = nshards;
    if (rc) {
        rta_secret_box_free(kek);
    } else {
        rc = rta_store_redis_open(&o, kek, &srv->store, err);
    }
    rta_config_redis_shards_free(shards, nshards);
    rta_redis_target_clear(&o.target);
    if (!rc) rc = rta_cluster_create(srv, &srv->cluster, err);
    return rc;
}

static int open_store(rta_server *srv, rta_error *err)
{
    rta_secret_box *kek = NULL; /* the store takes it */
    const char *kek_hex = getenv("RTAUTHD_KEK");
    int rc = rta_secret_box_load(srv->cfg.kek_file, kek_hex, "RTAUTHD_KEK", &kek, err);
    if (rc) return rc;
    if (rta_config_cluster(&srv->cfg)) return open_redis_store(srv, kek, err);
    return rta_store_sqlite_open_kek(srv->cfg.data_dir, kek, &srv->store, err);
}

/* ---- housekeeping ----------------------------------------------------------------------- */

typedef struct reload_job {
    rta_store_job job;
    rta_server *srv;
    int changed;
    rta_registry fresh;
    int loaded;
    secret_list secrets; /* server secrets now in the store (rotation adds one) */
} reload_job;

static void reload_run(rta_store_job *job, rta_store *store)
{
    reload_job *j = (reload_job *)job;
    job->rc = store->ops->poll_changes(store, &j->changed, &job->err);
    if (job->rc || !j->changed) return;
    if (rta_registry_init(&j->fresh)) return;
    job->rc = rta_registry_load(&j->fresh, store, &job->err);
    j->loaded = 1;
    if (!job->rc) job->rc = store->ops->list_secrets(store, collect_secret, &j->secrets, &job->err);
}

/* A secret added with `rtauth secret rotate` becomes current for new tokens. */
static void adopt_new_secrets(rta_server *srv, const secret_list *l)
{
    rta_keyring *ring = &srv->tokens.keyring;
    for (size_t i = 0; i < l->n; i++) {
        int known = 0;
        for (size_t k = 0; k < ring->count; k++) known |= ring->ids[k] == l->recs[i].id;
        if (known || l->recs[i].id < ring->current) continue;
        if (rta_keyring_add(ring, l->recs[i].id, l->recs[i].secret, RTA_SERVER_SECRET_LEN) == 0)
            rta_log_event(RTA_LOG_INFO, "secret.rotated", NULL, "server secret %u is now current",
                          l->recs[i].id);
    }
}

static void reload_done(rta_store_job *job)
{
    reload_job *j = (reload_job *)job;
    if (j->loaded && !job->rc) {
        /* Swap in place: the token service points at srv->registry. */
        rta_registry_free(&j->srv->registry);
        j->srv->registry = j->fresh;
        adopt_new_secrets(j->srv, &j->secrets);
        rta_log_event(RTA_LOG_INFO, "registry.reloaded", NULL,
                      "apps and keys reloaded after a change in the store");
        /* a disabled or deleted key cuts off its live connections too (issue 11) */
        rta_gateway_credentials_changed(&j->srv->gateway, &j->srv->registry);
    } else if (j->loaded) {
        rta_registry_free(&j->fresh);
        rta_log_event(RTA_LOG_ERROR, "store.error", &(rta_log_fields){.code = job->rc},
                      "reloading apps and keys failed: %s", job->err.message);
    }
    j->srv->reload_in_flight = 0;
    OPENSSL_cleanse(&j->secrets, sizeof(j->secrets));
    free(j);
}

/* App statistics (server/stats.h): what the loop counted goes to the store every few seconds
 * and at each minute's end, on the store thread. */
typedef struct stats_flush_job {
    rta_store_job job;
    rta_stats_row *rows;
    size_t n;
} stats_flush_job;

static void stats_flush_run(rta_store_job *job, rta_store *store)
{
    stats_flush_job *j = (stats_flush_job *)job;
    job->rc = store->ops->add_stats(store, j->rows, j->n, &job->err);
}

static void stats_flush_done(rta_store_job *job)
{
    stats_flush_job *j = (stats_flush_job *)job;
    if (job->rc) rta_log_warn("storing statistics failed: %s", job->err.message);
    free(j->rows);
    free(j);
}

static void flush_stats(rta_server *srv, int64_t now, int force)
{
    if (!srv->store->ops->add_stats) return;
    size_t n;
    rta_stats_row *rows = rta_stats_take_flush(now, force, &n);
    if (!rows) return;
    stats_flush_job *j = calloc(1, sizeof(*j));
    if (!j) {
        free(rows);
        return;
    }
    j->rows = rows;
    j->n = n;
    j->job.run = stats_flush_run;
    j->job.done = stats_flush_done;
    rta_server_submit(srv, &j->job);
}

static void purge_run(rta_store_job *job, rta_store *store)
{
    job->rc = store->ops->purge(store, rta_clock_now(), &job->err);
}

static void purge_done(rta_store_job *job)
{
    if (job->rc)
        rta_log_event(RTA_LOG_WARN, "store.error", &(rta_log_fields){.code = job->rc},
                      "store purge failed: %s", job->err.message);
    free(job);
}

/* glibc keeps the pages of freed connections and messages in its heaps (one per thread
 * arena): after a storm of 10,000 connections closes, RSS would stay at its peak (make
 * bench-scale, issue 19). Once a wave of closes is over (the count stopped falling) and it
 * took at least TRIM_MIN connections away from the high-water mark, or history expiry freed
 * TRIM_MIN_BYTES (1 MiB), give the free pages back: malloc_trim walks the heaps, so once per wave,
 * never on every tick. */
#define TRIM_MIN 1000
#define TRIM_MIN_BYTES (1u << 20)
static void return_memory(rta_server *srv, size_t history_freed)
{
    size_t conns = srv->gateway.live_count + srv->gateway.detached_count;
    int falling = conns < srv->conns_last_tick;
    srv->conns_last_tick = conns;
    if (conns > srv->conns_high_water) srv->conns_high_water = conns;
    srv->freed_since_trim += history_freed;
    if (falling) return;
    if (srv->conns_high_water - conns < TRIM_MIN && srv->freed_since_trim < TRIM_MIN_BYTES) return;
    malloc_trim(0);
    srv->conns_high_water = conns;
    srv->freed_since_trim = 0;
}

static void housekeeping(lws_sorted_usec_list_t *sul)
{
    rta_server *srv = lws_container_of(sul, rta_server, housekeeping);
    static unsigned ticks;
    int64_t now = rta_clock_now();
    rta_nonce_cache_purge(&srv->tokens.nonces, now);
    rta_revocations_purge(&srv->tokens.revocations, now);
    size_t held = srv->gateway.history.bytes + srv->gateway.presence_history.bytes;
    rta_history_sweep(&srv->gateway.history, now);
    rta_history_sweep(&srv->gateway.presence_history, now);
    size_t after = srv->gateway.history.bytes + srv->gateway.presence_history.bytes;
    flush_stats(srv, now, 0);
    return_memory(srv, held > after ? held - after : 0);
    if (!srv->reload_in_flight) {
        reload_job *j = calloc(1, sizeof(*j));
        if (j) {
            j->srv = srv;
            j->job.run = reload_run;
            j->job.done = reload_done;
            srv->reload_in_flight = 1;
            rta_server_submit(srv, &j->job);
        }
    }
    if (++ticks % 60 == 0) {
        rta_store_job *p = calloc(1, sizeof(*p));
        if (p) {
            p->run = purge_run;
            p->done = purge_done;
            rta_server_submit(srv, p);
        }
    }
    lws_sul_schedule(srv->lws, 0, &srv->housekeeping, housekeeping, HOUSEKEEPING_US);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

/* libwebsockets logs some conditions once per event (a refused socket at the descriptor limit,
 * say): at most one line per kind (the text without its digits) every LWS_LOG_INTERVAL_MS, then
 * how many were left out, so that an attacker cannot turn them into a log flood. */
#define LWS_LOG_INTERVAL_MS 10000
#define LWS_LOG_KINDS 8

static void lws_logger(int level, const char *line)
{
    static struct {
        char kind[64];
        int64_t since;
        unsigned dropped;
    } seen[LWS_LOG_KINDS];
    static unsigned next;
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    char kind[64];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof(kind); i++)
        if (line[i] < '0' || line[i] > '9') kind[k++] = line[i];
    kind[k] = '\0';
    int64_t now = rta_clock_now();
    unsigned slot = LWS_LOG_KINDS;
    for (unsigned i = 0; i < LWS_LOG_KINDS; i++)
        if (!strcmp(seen[i].kind, kind)) slot = i;
    if (slot < LWS_LOG_KINDS && now - seen[slot].since < LWS_LOG_INTERVAL_MS) {
        seen[slot].dropped++;
        return;
    }
    rta_log_level lv = level == LLL_ERR ? RTA_LOG_ERROR : RTA_LOG_WARN;
    if (slot < LWS_LOG_KINDS && seen[slot].dropped)
        rta_log(lv, "lws: %u more like the next line in the last %d s", seen[slot].dropped,
                LWS_LOG_INTERVAL_MS / 1000);
    if (slot == LWS_LOG_KINDS) slot = next++ % LWS_LOG_KINDS;
    snprintf(seen[slot].kind, sizeof(seen[slot].kind), "%s", kind);
    seen[slot].since = now;
    seen[slot].dropped = 0;
    rta_log(lv, "lws: %.*s", (int)n, line);
}

/* Descriptors the process keeps for itself (the store and its journal, libuv, logs), never
 * for sockets. libwebsockets sizes its tables from the soft RLIMIT_NOFILE when the context is
 * created and stops accepting when its own sockets fill them; if the process hits the real
 * limit first, accept() fails with EMFILE on a listener that stays readable, and lws spins on
 * it (issue 11). So the context is created under a soft limit lowered by this much, and the
 * limit is raised again after: lws refuses new sockets while the process still has room. */
#define RESERVED_FDS 64 /* a quarter of the limit when that is less */

/* Raises the soft descriptor limit to the hard one and returns how many sockets lws may
 * hold (0: leave lws's own default). */
static long socket_budget(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl); /* many connections need many descriptors */
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 10000000 || rl.rlim_cur < 32) return 0;
    long limit = (long)rl.rlim_cur;
    return limit - (limit / 4 < RESERVED_FDS ? limit / 4 : RESERVED_FDS);
}

/* The realtime connection limit: the configured one, or derived from the socket budget so
 * that it is reached before the descriptor limit, with a tenth left for REST clients. */
static long long size_connection_limit(rta_config *cfg, long sockets)
{
    long long fit = sockets ? sockets - (sockets / 10 > 16 ? sockets / 10 : 16) : 15000;
    if (!cfg->gateway.max_connections) {
        cfg->gateway.max_connections = fit;
    } else if (cfg->gateway.max_connections > fit) {
        rta_log_warn("--max-connections %lld is more than the descriptor limit allows (about "
                     "%lld); beyond that, new connections are refused when they are accepted "
                     "(raise `ulimit -n`)", cfg->gateway.max_connections, fit);
    }
    return fit;
}

/* Whether host:port can be bound (as lws will: SO_REUSEADDR), so that a port in use is a
 * clear error before libwebsockets half-creates a context it cannot destroy (below). Returns
 * 0, or errno. */
static int probe_bind(const char *host, int port)
{
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    memset(&a6, 0, sizeof(a6));
    memset(&a4, 0, sizeof(a4));
    int v4 = inet_pton(AF_INET, host, &a4.sin_addr) == 1;
    if (!v4 && inet_pton(AF_INET6, host, &a6.sin6_addr) != 1) return 0; /* lws decides */
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)port);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)port);
    int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    int one = 1, rc = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (v4 ? bind(fd, (struct sockaddr *)&a4, sizeof(a4))
           : bind(fd, (struct sockaddr *)&a6, sizeof(a6)))
        rc = errno;
    close(fd);
    return rc;
}

/* Creates the lws context with the descriptor tables sized to `sockets` (see RESERVED_FDS). */
static struct lws_context *create_context(struct lws_context_creation_info *info, long sockets)
{
    struct rlimit rl, lowered;
    int lower = sockets && getrlimit(RLIMIT_NOFILE, &rl) == 0;
    if (lower) {
        lowered = rl;
        lowered.rlim_cur = (rlim_t)sockets;
        lower = setrlimit(RLIMIT_NOFILE, &lowered) == 0;
    }
    struct lws_context *ctx = lws_create_context(info);
    if (lower) setrlimit(RLIMIT_NOFILE, &rl);
    return ctx;
}

/* The gateway gets what it uses and nothing else of the server: the token service (not yet
 * initialised: only its address is kept), the limits, the Basic-over-HTTP policy, the
 * server id (filled later), the clock, and libwebsockets behind its hooks, on srv->lws once
 * the context exists (gateway/transport_lws.c). */
static int gateway_init(rta_server *srv)
{
    rta_gateway_deps deps = {.tokens = &srv->tokens,
                             .limits = srv->cfg.gateway,
                             .history = srv->cfg.history,
                             .basic_over_http = srv->cfg.basic_over_http,
                             .skip_capability_checks = srv->cfg.unsafe_skip_capability_checks,
                             .server_id = srv->server_id,
                             .now = rta_clock_now};
    int rc = rta_gateway_lws_hooks(&deps.hooks, &srv->gateway, &srv->lws,
                                   rta_http_peer_is_loopback);
    return rc ? rc : rta_gateway_init(&srv->gateway, &deps);
}

int rta_server_init(rta_server *srv, const rta_config *cfg, rta_error *err)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = *cfg;
    rta_log_set_level((rta_log_level)cfg->log_level);
    rta_log_set_format((rta_log_format)cfg->log_format);
    lws_set_log_level(cfg->log_level >= RTA_LOG_DEBUG ? LLL_ERR | LLL_WARN : LLL_ERR, lws_logger);
    if (cfg->unsafe_skip_capability_checks) /* at error level: shown whatever the log level */
        rta_log_error("WARNING: --unsafe-skip-capability-checks: realtime ATTACH and publish "
                      "IGNORE token capabilities. A benchmark baseline only, never for real use");

    srv->loaded = *cfg;
    long sockets = socket_budget();
    srv->derived_max_connections = size_connection_limit(&srv->cfg, sockets);

    int rc;
    if ((rc = gateway_init(srv)) || (rc = rta_registry_init(&srv->registry)) ||
        (rc = rta_token_service_init(&srv->tokens, &srv->registry, &cfg->limits)))
        return rta_error_set(err, rc, "Cannot initialise");
    if ((rc = open_store(srv, err))) return rc;
    if ((rc = rta_access_log_reopen(&srv->access_log, cfg->access_log, err))) return rc;
    rta_metrics_init(RTAUTHD_VERSION);
    if ((rc = rta_metrics_access_init(&srv->metrics_access, cfg->listen_host,
                                      cfg->metrics_token_file, err)))
        return rc;
    rta_metrics_set_conn_source(count_connections, srv);
    rta_metrics_set_gauge_source(read_gauges, srv);
    rta_stats_init();
    wire_rest(srv);
    if (cfg->console && (rc = open_console(srv, err))) return rc;
    int cluster = srv->cluster != NULL; /* no data directory, no dev key: state is in Redis */
    char dev_key[1100]; /* holds a key secret: owner-only, like the rest of the data dir */
    snprintf(dev_key, sizeof(dev_key), "%s/dev-key", cfg->data_dir);
    if (!cluster && (rc = rta_private_file(dev_key, 0, err))) return rc;
    if (!cluster && kek_configured(cfg) && access(dev_key, F_OK) == 0)
        rta_log_warn("%s holds a key secret in plaintext, which the KEK cannot protect: delete it",
                     dev_key);
    int first_start = 0;
    if ((rc = load_secrets(srv, &first_start, err))) return rc;
    if ((rc = rta_registry_load(&srv->registry, srv->store, err))) return rc;
    int64_t now = rta_clock_now();
    if ((rc = srv->store->ops->list_nonces(srv->store, now, load_nonce, srv, err)) ||
        (rc = srv->store->ops->list_revocations(srv->store, now, load_revocation, srv, err)))
        return rc;
    if (first_start && !cluster && srv->cfg.no_dev_app)
        print_no_dev_app(srv);
    else if (first_start && !cluster && (rc = create_dev_app(srv, err)))
        return rc;
    int changed; /* baseline for reloads, after our own dev app (already in the registry) */
    srv->store->ops->poll_changes(srv->store, &changed, NULL);
    rta_random_alnum(srv->server_id, 12);

    /* WebSocket liveness (2.5) is the gateway's sweep (gateway/timers.c): lws's validity
     * policy costs O(connections) per pong. This one turns lws's off (its default pings
     * every 300 s, with the same cost). */
    static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0,
                                               .secs_since_valid_hangup = 0};
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.retry_and_idle_policy = &no_validity;
    info.port = cfg->port;
    info.iface = cfg->listen_host;
    info.protocols = protocols;
    info.user = srv;
    info.server_string = "rtauthd";
    info.max_http_header_data = 8192; /* fits a 4 KiB-capability token in a WS URL; 32 KiB cost 15% of requestToken throughput */
    info.max_http_header_pool = 1024;
    info.pt_serv_buf_size = 32768;
    info.keepalive_timeout = 60;
    info.timeout_secs = 20;
    /* How long a client may take to send a request's headers. Also the time a request stays
     * unanswered when libwebsockets 4.1.6's header parser loses its way: a header whose name
     * is a prefix of one it knows ("Con:", "Ho:", "X-A:") followed by no other header with a
     * colon leaves the parser reading the rest of the request as that header's name
     * (roles/http/parsers.c, lws_parse, WSI_TOKEN_NAME_PART: the ':' that ends the name is
     * consumed by the mismatch). Such a request is closed unanswered after this time; lws's
     * default is 10 s. */
    info.timeout_secs_ah_idle = 5;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBUV;
    /* libwebsockets 4.1.6 makes a dual-stack IPv6 listen socket and cannot bind it to an
     * IPv4 address given as its iface: `--listen 127.0.0.1:P` listened on every interface
     * (ss: *:P). An IPv4 listen address gets an IPv4 socket, bound to that address. */
    struct in_addr v4;
    if (inet_pton(AF_INET, cfg->listen_host, &v4) == 1)
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (cfg->reuse_port) { /* --workers: our own shared listener feeds lws (listen_shared.h) */
        if ((rc = rta_listen_shared_open(&srv->shared, cfg->listen_host, cfg->port, err)))
            return rc;
        info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    }
    /* HTTP/1.1 only: libwebsockets 4.1.6 keeps no custom headers on HTTP/2 streams, so
     * X-Ably-ClientId (RSA7e2) would be silently ignored there and a Basic-auth token request
     * could get a token for another clientId than the header names. http.c refuses h2c. */
    info.alpn = "http/1.1";
    if (uv_loop_init(&srv->loop))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot create the event loop");
    srv->loop_ready = 1;
    watch_io_phase(srv);
    void *loops[1] = {&srv->loop};
    info.foreign_loops = loops;
    info.pcontext = &srv->lws; /* set to NULL once a destroy has finished */
    if (cfg->tls_cert[0]) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert;
        info.ssl_private_key_filepath = cfg->tls_key;
        rta_tls_policy_apply(srv->cfg.tls_min_version, srv->cfg.tls_ciphers,
                             srv->cfg.tls_ciphersuites, &info);
    }
    int busy = cfg->reuse_port || !cfg->port ? 0 : probe_bind(cfg->listen_host, cfg->port);
    if (busy)
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot listen on %s:%d: %s",
                             cfg->listen_host, cfg->port, strerror(busy));
    srv->lws = create_context(&info, sockets);
    if (!srv->lws)
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot listen on %s:%d%s", cfg->listen_host,
                             cfg->port, cfg->tls_cert[0] ? " (check the TLS files)" : "");
    struct lws_vhost *vh = lws_get_vhost_by_name(srv->lws, "default");
    /* libwebsockets 4.1.6 on a foreign loop returns a context even when its listen socket
     * could not be bound (it logs "Failed to create default vhost"), and destroying it then
     * crashes in uv_run: rtauthd exited 0 at once, as if asked to stop (probe_bind above now
     * catches a port in use first). */
    if (!vh) { /* taken since the probe: this context cannot be destroyed safely, leave it */
        srv->lws = NULL;
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot listen on %s:%d", cfg->listen_host,
                             cfg->port);
    }
    srv->port = !cfg->reuse_port ? lws_get_vhost_listen_port(vh) : cfg->port;
    if (cfg->reuse_port && (rc = rta_listen_shared_start(&srv->shared, &srv->loop, vh, err)))
        return rc;
    if ((rc = rta_store_thread_start(&srv->store_thread, srv->store, wake_loop, srv)))
        return rta_error_set(err, rc, "Cannot start the store thread");
    lws_sul_schedule(srv->lws, 0, &srv->housekeeping, housekeeping, HOUSEKEEPING_US);
    if (cluster) {
        if ((rc = rta_cluster_start(srv->cluster, err))) return rc;
        rta_log_event(RTA_LOG_INFO, "server.started", NULL,
                      "rtauthd listening on %s://%s:%d (cluster node %s, state in Redis)",
                     cfg->tls_cert[0] ? "https" : "http", cfg->listen_host, srv->port,
                     cfg->node_id);
        return 0;
    }
    rta_log_event(RTA_LOG_INFO, "server.started", NULL, "rtauthd listening on %s://%s:%d (data in %s)",
                 cfg->tls_cert[0] ? "https" : "http", cfg->listen_host, srv->port, cfg->data_dir);
    print_hint(srv);
    return 0;
}

int rta_server_run(rta_server *srv)
{
    /* Returns on uv_stop() from the EVENT_WAIT_CANCELLED that rta_server_stop() causes. */
    while (!srv->stop_requested)
        if (uv_run(&srv->loop, UV_RUN_DEFAULT) == 0 && !srv->stop_requested) break;
    return 0;
}

void rta_server_stop(rta_server *srv)
{
    srv->stop_requested = 1;
    if (srv->lws) lws_cancel_service(srv->lws);
}

void rta_server_free(rta_server *srv)
{
    /* Finish what the store thread holds, so every acknowledged write is durable and every
     * pending reply is released, then close the listener and the store. A cluster node first
     * stops keeping in step (its jobs' completions then submit nothing new). */
    rta_listen_shared_close(&srv->shared); /* --workers: no new connection from now on */
    rta_cluster_stop(srv->cluster);
    if (srv->store && srv->store_thread.started) flush_stats(srv, rta_clock_now(), 1);
    rta_store_thread_stop(&srv->store_thread);
    if (srv->lws) {
        lws_sul_cancel(&srv->housekeeping);
        rta_gateway_stop(&srv->gateway); /* closing transports now end their connections */
        /* On a foreign libuv loop the destroy finishes in close callbacks: run the loop
         * until lws has closed its handles (it then clears srv->lws through pcontext); a
         * second call completes what the first began. */
        lws_context_destroy(srv->lws);
        if (srv->loop_ready) uv_run(&srv->loop, UV_RUN_DEFAULT);
        if (srv->lws) lws_context_destroy(srv->lws);
        srv->lws = NULL;
    }
    if (srv->loop_ready) {
        if (srv->hup_ready) uv_close((uv_handle_t *)&srv->hup, NULL);
        srv->hup_ready = 0;
        uv_close((uv_handle_t *)&srv->io_start, NULL);
        uv_close((uv_handle_t *)&srv->io_end, NULL);
        for (int i = 0; i < 100 && uv_loop_close(&srv->loop) == UV_EBUSY; i++)
            uv_run(&srv->loop, UV_RUN_NOWAIT);
        srv->loop_ready = 0;
    }
    rta_metrics_set_conn_source(NULL, NULL);
    rta_metrics_set_gauge_source(NULL, NULL);
    rta_stats_free();
    rta_metrics_access_free(&srv->metrics_access);
    rta_gateway_free(&srv->gateway);
    rta_access_log_close(&srv->access_log);
    rta_console_free(srv->console);
    srv->console = NULL;
    rta_token_service_free(&srv->tokens);
    rta_registry_free(&srv->registry);
    if (srv->store) srv->store->ops->close(srv->store);
    srv->store = NULL;
    rta_cluster_free(srv->cluster);
    srv->cluster = NULL;
}
