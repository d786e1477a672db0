/* gateway.h: the realtime gateway: Ably protocol v6 over WebSocket on the REST port
 * (wire protocol sections 1-3; issue 5). A connection authenticates once at the upgrade
 * (key, access_token/accessToken, JWT), then every ATTACH and MESSAGE is checked against its
 * capability and clientId; AUTH swaps its token in place (RTC8); expiry (RTN22, 40142) and
 * revocation (40141) end it.
 *
 * This first slice covers: connect with the clientId rules (3.1), CONNECTED with
 * connectionDetails, HEARTBEAT, CLOSE, ATTACH/DETACH with modes intersected with the
 * capability, MESSAGE with ACK/NACK and fan-out (echo), presence (enter/update/leave, SYNC,
 * automatic leave), in-band AUTH with capability downgrade, expiry and revocation, resume
 * (gateway/resume.c), the limits of config.h, and the REST channel endpoints' publish path
 * and history window (rest/channels.c, gateway/history.h).
 */
#ifndef RTA_SERVER_GATEWAY_H
#define RTA_SERVER_GATEWAY_H

#include <libwebsockets.h>
#include <stdint.h>

#include "server/config.h"
#include "server/gateway/history.h"
#include "core/hmap.h"
#include "server/auth/token_service.h"

typedef struct rta_server rta_server;
typedef struct rta_conn rta_conn;
typedef struct rta_timer rta_timer;

/* Deadlines of every connection in one min-heap, and the liveness sweep (gateway/timers.c). */
typedef struct rta_timers {
    rta_timer **heap;
    size_t len, cap;
    lws_sorted_usec_list_t sul;      /* the one lws timer, at the earliest deadline */
    int64_t sul_at;                  /* when it is set for (server clock, ms), 0 if unset */
    lws_sorted_usec_list_t liveness; /* the ping / hang-up sweep */
    int liveness_on;
} rta_timers;

/* Connections each app and each (app, clientId) holds, live or detached, for the per-app and
 * per-clientId caps (gateway/limits.c). Not live_count, which bounds limits.max_connections. */
typedef struct rta_conn_counts {
    rta_hmap per_app;    /* appId -> count (in the value pointer, gateway/limits.c) */
    rta_hmap per_client; /* "<appId>:<clientId>" -> count */
} rta_conn_counts;

typedef struct rta_gateway {
    rta_server *srv;
    rta_hmap channels;  /* name -> rta_channel* */
    rta_hmap by_id;     /* connectionId -> rta_conn* (for resume) */
    rta_conn *conns;    /* every connection, live or detached (doubly linked) */
    size_t live_count;  /* those with a transport: bounded by limits.max_connections */
    /* Detached connections, oldest first: they count toward max_connections too, and the
     * oldest are discarded first when a new connection or the queue budget needs room. */
    rta_conn *detached_head, *detached_tail;
    size_t detached_count;
    size_t queued_bytes; /* frames queued or held by every connection: <= max_queue_total */
    rta_conn_counts held; /* admitted connections per app and per clientId, live or detached */
    int stopping;       /* shutting down: nothing is kept for resume */
    rta_gateway_limits limits;
    rta_history history; /* recent messages per channel, for REST history (RSL2) */
    rta_timers timers;
} rta_gateway;

/* Presence members per channel, and per connection over all its channels (91003 beyond). */
#define RTA_PRESENCE_MAX_MEMBERS 1000
#define RTA_PRESENCE_MAX_PER_CONN 100

int rta_gateway_init(rta_gateway *gw, rta_server *srv);
/* Call before lws_context_destroy(): closing transports then free their connections. */
void rta_gateway_stop(rta_gateway *gw);
void rta_gateway_free(rta_gateway *gw);

/* The WebSocket part of the lws protocol callback. *conn_slot lives in the wsi's session. */
int rta_gateway_callback(rta_gateway *gw, struct lws *wsi, enum lws_callback_reasons reason,
                         rta_conn **conn_slot, void *in, size_t len);

/* Called after revocations are durable: matching live connections are disconnected with
 * 40141 (or told to reauthenticate first when applies_at is in the future). A connection is
 * matched by the key of its token or of a JWT wrapping it. */
void rta_gateway_revoked(rta_gateway *gw, const char *key_name);

/* Called after apps or keys changed (a reload from the store, a sandbox app deleted): every
 * connection whose key, or the key of a JWT wrapping its token, is now disabled or gone ends
 * for good: ERROR 40131, its presence members leave at once (issue 11). */
void rta_gateway_credentials_changed(rta_gateway *gw, const rta_registry *registry);

/* REST publish (RSL1): the realtime path's history and fan-out for messages the caller has
 * already checked (capability, clientIds, size). id is the publish's id; messages without
 * one are "<id>:<index>" to subscribers and in history. */
void rta_gateway_publish(rta_gateway *gw, const char *app_id, const char *channel,
                         const char *id, rta_message *msgs, size_t n);

/* 1 when name is a valid channel name (2.7): 1..1024 bytes, no leading ':', no control
 * characters. */
int rta_gateway_channel_name_ok(const char *name);

#endif
