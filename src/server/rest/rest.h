/* rest/rest.h: what the REST room needs from the rest of rtauthd, given by the process at
 * start (server.c) and only read afterwards. Nothing in src/server/rest/ reaches into the
 * server object: the auth rules, the store thread and the realtime side are the pointers and
 * hooks below (as hiredis's async context takes its event-loop hooks), so the routes can run
 * against any wiring (the gateway's fan-out today, a cluster's channel bus later). */
#ifndef RTA_SERVER_REST_REST_H
#define RTA_SERVER_REST_REST_H

#include <stddef.h>

#include "core/protocol.h"
#include "server/auth/registry.h"
#include "server/auth/token_service.h"
#include "server/gateway/gateway.h"
#include "server/gateway/history.h"
#include "server/rest/access_log.h"
#include "server/metrics.h"
#include "server/gateway/query.h"
#include "server/rest/cors.h"
#include "server/store/store.h"
#include "server/store/thread.h"

struct rta_console;

typedef struct rta_route_env {
    /* the auth rules (borrowed, loop thread only) */
    rta_token_service *tokens;
    rta_registry *registry;
    rta_store *store; /* for its loop-thread fast path (add_nonces_local), if it has one */
    rta_basic_over_http basic_over_http;
    /* HTTP */
    size_t max_body;
    const rta_cors_policy *cors;
    rta_access_log *access_log; /* one line per answered request when its file is open */
    int sandbox; /* POST /apps, DELETE /apps/{id} */
    struct rta_console *console; /* /console (server/console/console.h); NULL: off, 404 */
    const rta_metrics_access *metrics; /* who may read GET /metrics (server/metrics.h) */
    /* the caps a sandbox app may tighten but not raise (0: none of its own) */
    long long max_connections, max_connections_per_app, max_connections_per_client;
    size_t max_message_size; /* TO3l8, as the realtime side enforces it */
    /* hooks, each called on the loop thread with ctx */
    void *ctx;
    /* runs job on the store thread, then job->done on the loop thread */
    void (*submit)(void *ctx, rta_store_job *job);
    /* 1 inside the loop's I/O phase (rest/http.c begin_request says why it matters) */
    int (*in_io_phase)(void *ctx);
    /* REST publish (RSL1): record in history and deliver to realtime subscribers; messages
     * are already checked (capability, clientIds, size) */
    void (*publish)(void *ctx, const char *app_id, const char *channel, const char *id,
                    rta_message *msgs, size_t n);
    /* cluster mode only (NULL otherwise): REST publish sequenced across the nodes; done(arg,
     * 0 or an Ably code, message) runs later on the loop thread, exactly once */
    void (*publish_async)(void *ctx, const char *app_id, const char *channel, const char *id,
                          rta_message *msgs, size_t n, rta_gateway_published_cb done, void *arg);
    /* cluster mode only (NULL otherwise): history (RSL2) read from the cluster's shared
     * channel log, the same on every node; done runs once, later, on the loop thread, with
     * the page (borrowed for the call) or an Ably code */
    void (*history_async)(void *ctx, const char *app_id, const char *channel,
                          const rta_history_query *q, int64_t now,
                          void (*done)(void *arg, int rc, const rta_error *err,
                                       const rta_message *msgs, size_t n, int more,
                                       uint64_t next_cursor),
                          void *arg);
    /* the realtime gateway (borrowed, loop thread only), for what gateway/query.h offers:
     * occupancy (RSL8), presence (RSP3, RSP4), publish on behalf of a connection (RSL1m) */
    rta_gateway *gateway;
    /* the channel history window (RSL2), for reading */
    rta_history *(*history)(void *ctx);
    /* revocations of key_name's targets (as stored: clientId:x, revocationKey:x, token:<ref>) are
     * durable and applied to the token service: act on the live connections they name */
    void (*revoked)(void *ctx, const char *key_name, const char *const *targets, size_t n);
    /* apps or keys changed in the registry: act on live connections */
    void (*credentials_changed)(void *ctx);
    /* GET /ready: 1 when this node can serve (its store reachable and, in cluster mode, in
     * step with the others); 0 with why filled (a short reason, no secrets) */
    int (*ready)(void *ctx, char *why, size_t size);
} rta_route_env;

#endif
