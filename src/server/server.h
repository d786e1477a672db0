/* server.h: the rtauthd process: configuration, store and its thread, the in-memory
 * registry and token service, and the libwebsockets context serving REST (and, with the
 * realtime gateway, WebSocket) on one port. Single event loop thread; the store thread is
 * the only other thread. */
#ifndef RTA_SERVER_SERVER_H
#define RTA_SERVER_SERVER_H

#include <libwebsockets.h>
#include <uv.h>
#include <stdint.h>

#include "server/clock.h"
#include "server/config.h"
#include "server/gateway/gateway.h"
#include "server/listen_shared.h"
#include "server/metrics.h"
#include "server/rest/rest.h"
#include "server/auth/registry.h"
#include "server/store/store.h"
#include "server/store/thread.h"
#include "server/auth/token_service.h"

typedef struct rta_server rta_server;
struct rta_cluster;

struct rta_server {
    rta_config cfg;
    rta_store *store;
    rta_store_thread store_thread;
    rta_registry registry;
    rta_token_service tokens;
    rta_gateway gateway;
    rta_route_env rest; /* the REST room's wiring (rest/rest.h) */
    struct lws_context *lws;
    uv_loop_t loop; /* lws runs on libuv (epoll): poll() over 10k sockets per turn did not scale */
    int loop_ready;
    uv_prepare_t io_start; /* marks the loop's I/O phase (rest_env's in_io_phase) */
    uv_check_t io_end;
    int in_io_phase;
    lws_sorted_usec_list_t housekeeping;
    size_t conns_high_water; /* connections at their peak since memory was last returned */
    size_t conns_last_tick;  /* connections at the last housekeeping tick */
    size_t freed_since_trim; /* history bytes expired since memory was last returned */
    int reload_in_flight;
    volatile int stop_requested;
    char server_id[32];
    int port; /* the bound port (cfg.port may be 0: any free port) */
    struct rta_console *console; /* the operator console (--console); NULL when off */
    struct rta_cluster *cluster; /* cluster mode (--redis): keeping in step; NULL otherwise */
    rta_access_log access_log;   /* --access-log (rest/access_log.h); reopened on SIGHUP */
    void *tls_ctx;               /* the listener's SSL_CTX (lws's), NULL without TLS */
    long long derived_max_connections; /* what max_connections 0 means (server.c) */
    /* SIGHUP (server/reload.c): the settings as loaded, before derived values, and the
     * command line they came from, read again over a re-read config file */
    rta_config loaded;
    int argc;
    char **argv;
    uv_signal_t hup;
    rta_listen_shared shared; /* --workers: the listen socket shared with the other workers */
    int hup_ready;
    rta_metrics_access metrics_access; /* who may read GET /metrics */
};

/* Opens the store, loads state, creates the dev app on first start (printing its key),
 * and binds the listener. Returns 0 or an Ably code with err filled. */
int rta_server_init(rta_server *srv, const rta_config *cfg, rta_error *err);
/* Runs the loop until rta_server_stop() (async-signal-safe) is called. */
int rta_server_run(rta_server *srv);
void rta_server_stop(rta_server *srv);
void rta_server_free(rta_server *srv);

/* After init: SIGHUP reloads the settings from the same command line (argv borrowed for the
 * server's life) and a re-read config file (server/reload.c). */
void rta_server_enable_reload(rta_server *srv, int argc, char **argv);
/* The reload itself (loop thread): validates everything, then applies what can change live
 * and warns about what cannot. Returns 0 when applied, else an Ably code (old settings kept;
 * the reason is logged). */
int rta_server_reload(rta_server *srv);

/* Submits a store job (loop thread). */
void rta_server_submit(rta_server *srv, rta_store_job *job);

#endif
