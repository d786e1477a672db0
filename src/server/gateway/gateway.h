/* gateway.h: the realtime gateway: Ably protocol v6 over WebSocket on the REST port
 * (wire protocol sections 1-3; issue 5). A connection authenticates once at the upgrade
 * (key, access_token/accessToken, JWT), then every ATTACH and MESSAGE is checked against its
 * capability and clientId; AUTH swaps its token in place (RTC8); expiry (RTN22, 40142) and
 * revocation (40141) end it (gateway/auth.c).
 *
 * It covers: connect with the clientId rules (3.1), CONNECTED with connectionDetails,
 * HEARTBEAT, CLOSE, ATTACH/DETACH with modes intersected with the capability, MESSAGE with
 * ACK/NACK and fan-out (echo), presence (enter/update/leave, SYNC, automatic leave), in-band
 * AUTH with capability downgrade, expiry and revocation, resume, the limits below, and the
 * REST channel endpoints' publish path and history window (rest/channels.c,
 * gateway/history.h). docs/gateway.md has the map of the room's files.
 *
 * The gateway is given everything it uses at init (rta_gateway_deps) and reaches for nothing
 * else of the server: it never includes server.h, config.h or the REST room, and never calls
 * libwebsockets. Its transport and its one timer are hooks (rta_gateway_hooks, the model:
 * hiredis's ev adapter hooks), filled for lws by gateway/transport_lws.c and with fakes by
 * tests/gateway_fixture.h. Everything runs on the server's event loop thread.
 */
#ifndef RTA_SERVER_GATEWAY_H
#define RTA_SERVER_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/hmap.h"
#include "server/auth/token_service.h"
#include "server/gateway/dedup.h"
#include "server/gateway/history.h"

typedef struct rta_conn rta_conn;
typedef struct rta_gateway rta_gateway;

/* One connection's transport as its hooks know it (for libwebsockets, its struct lws): the
 * gateway only hands it back to them. */
typedef struct rta_gateway_transport rta_gateway_transport;

/* What the gateway needs from its transport and event loop, and nothing more (the model:
 * hiredis's redisAsyncContext.ev hooks, filled by one adapter per event loop).
 * gateway/transport_lws.c fills them for libwebsockets; tests/gateway_fixture.h with fakes.
 * Every hook gets `data` first. None calls back into the gateway before it returns. */
typedef struct rta_gateway_hooks {
    void *data;
    size_t headroom; /* bytes the transport needs before each frame it writes (LWS_PRE) */
    /* t may be written: call rta_gateway_writeable(c) for it when it is. */
    void (*want_write)(void *data, rta_gateway_transport *t);
    /* Optional: whether t takes a write now, outside its writeable callback (nothing of an
     * earlier write is still buffered in the transport). When set, the gateway writes at the
     * end of each loop turn (rta_gateway_flush), and asks want_write only when this says
     * no: a libwebsockets on libuv turns POLLOUT on and off with an epoll_ctl each. */
    int (*can_write_now)(void *data, rta_gateway_transport *t);
    /* Writes one whole frame (binary or text); `headroom` writable bytes precede bytes.
     * Only from rta_gateway_writeable. Returns 0, or -1 when the transport failed. */
    int (*write)(void *data, rta_gateway_transport *t, unsigned char *bytes, size_t len,
                 int binary);
    /* A WebSocket ping, with a payload (lws reports no empty pong). As write. */
    int (*ping)(void *data, rta_gateway_transport *t);
    /* Closes t soon, from the loop, without a word (rta_gateway_closed follows). */
    void (*close_now)(void *data, rta_gateway_transport *t);
    /* At open only: query argument `name` ("key=") of the upgrade, into buf; NULL if absent. */
    const char *(*query_arg)(void *data, rta_gateway_transport *t, const char *name, char *buf,
                             size_t size);
    int (*is_tls)(void *data, rta_gateway_transport *t);
    int (*is_loopback)(void *data, rta_gateway_transport *t); /* the peer's address */
    /* The one timer: rta_gateway_timers_due() in delay_ms (>= 0), replacing an earlier arming.
     * Returns 0, or -1 when there is no event loop to arm (nothing was). */
    int (*timer_arm)(void *data, int64_t delay_ms);
    void (*timer_cancel)(void *data);
    void (*cleanup)(void *data); /* by rta_gateway_free: data is not used after it */
} rta_gateway_hooks;

/* The realtime gateway's limits (docs/gateway.md, Limits; their flags and defaults are in
 * server/config.h, which keeps them in rta_config.gateway). */
typedef struct rta_gateway_limits {
    long long max_connections;
    long long max_connections_per_app;     /* 0: none of its own (gateway/limits.c) */
    long long max_connections_per_client;  /* 0: none */
    long long max_channels_per_connection;
    long long max_message_size;
    long long max_frame_size;
    long long max_inbound_rate;
    long long max_queue;
    long long max_queue_total;
    long long connection_state_ttl;
    long long max_idle_interval;
    long long presence_grace; /* ms a dropped connection's members stay (RTP17); 0: 15000 */
} rta_gateway_limits;

/* Everything the gateway is given at init (rta_gateway_init copies it): it reaches for
 * nothing else of the server's. */
typedef struct rta_gateway_deps {
    /* Borrowed: verifies credentials at connect and in AUTH, says what is revoked; its
     * registry gives apps' own connection caps. */
    rta_token_service *tokens;
    rta_gateway_limits limits;
    rta_history_limits history;          /* the window REST history reads (RSL2) */
    rta_basic_over_http basic_over_http; /* Basic auth without TLS (S-2), as on REST */
    int skip_capability_checks;          /* the fan-out benchmark's baseline only */
    const char *server_id;               /* borrowed; read at each CONNECTED */
    int64_t (*now)(void);                /* the clock, ms; NULL: rta_clock_now (server/clock.h) */
    rta_gateway_hooks hooks;             /* the transport and the timer; data owned from init */
} rta_gateway_deps;

/* Cluster mode (docs/cluster.md, "Channels across nodes"): channel messages are sequenced
 * outside this node (Redis) and come back through rta_gateway_deliver, on every node alike.
 * Unset (publish NULL) on a single node: the gateway then fans out itself, as it always did.
 * Every hook runs on the loop thread and never calls back into the gateway before it
 * returns. */
typedef void (*rta_gateway_published_cb)(void *arg, int code, const char *message);
/* A message of a channel's backlog (RTL4c1), decoded, with its channel serial. */
typedef struct rta_gateway_backlog {
    uint64_t serial;
    rta_protocol_message pm;
} rta_gateway_backlog;
/* The answer to a backlog read: code 0, or an Ably code when the read failed. complete is 1
 * when msgs are every message of the asked range, in order (but for entries no node can
 * decode, skipped alike everywhere), 0 when some are gone (trimmed, expired, a new epoch,
 * more than one read holds). msgs (and their contents) are the relay's, valid during the
 * call only. */
typedef void (*rta_gateway_backlog_cb)(void *arg, int code, int complete,
                                       rta_gateway_backlog *msgs, size_t n);
typedef struct rta_gateway_relay {
    void *ctx;
    /* A checked publish to sequence: pm is a MESSAGE (id, connectionId, timestamp, messages),
     * read during the call only; pm NULL: no publish, only a reply to keep in line behind
     * the earlier ones. done(arg, 0 or an Ably code, message) runs later, exactly once, in
     * the order of the calls. */
    void (*publish)(void *ctx, const char *app_id, const char *channel,
                    const rta_protocol_message *pm, rta_gateway_published_cb done, void *arg);
    /* The channel's first local attach: 1 when deliveries can start at once, with *serial
     * the last serial sequenced (the ATTACHED's channelSerial, RTL15b); 0 when the relay
     * calls rta_gateway_channel_ready once it can (attaches wait for that). */
    int (*open)(void *ctx, const char *app_id, const char *channel, uint64_t *serial);
    /* The channel has no local member any more. */
    void (*close)(void *ctx, const char *app_id, const char *channel);
    /* A re-attach that names the last serial its client saw (ATTACH channelSerial, RTL4c1):
     * the channel's messages with serials after..upto (delivered here before the client
     * joined), for that connection alone. Called only for an open and ready channel; done
     * runs exactly once, later (or, out of memory, during the call). */
    void (*backlog)(void *ctx, const char *app_id, const char *channel, uint64_t after,
                    uint64_t upto, rta_gateway_backlog_cb done, void *arg);
    /* Connection resume across nodes (gateway/adopt.c): conn_id resumed here; every other
     * node that has it must drop it (rta_gateway_connection_claimed). NULL: keys and resume
     * stay per node. */
    void (*claim)(void *ctx, const char *conn_id);
    /* Presence across nodes (server/cluster_presence.h; NULL: presence stays per node).
     * Events of this node's members, applied here already: stored and sequenced for the other
     * nodes; done as for publish (NULL: nobody waits). ev is read during the call only. */
    void (*presence)(void *ctx, const char *app_id, const char *channel,
                     const rta_presence_message *ev, size_t n, rta_gateway_published_cb done,
                     void *arg);
    /* Members (PRESENT views) of a connection resumed here that another node held: this
     * node holds them now (in Redis too, so that no reaper removes them). */
    void (*presence_owned)(void *ctx, const char *app_id, const char *channel,
                           const rta_presence_message *members, size_t n);
    /* conn_id was resumed on another node while it had members on channel here: unless that
     * node takes them within the presence grace, they leave then (one LEAVE each). */
    void (*presence_orphaned)(void *ctx, const char *app_id, const char *channel,
                              const char *conn_id);
} rta_gateway_relay;

typedef struct rta_timer rta_timer;
/* A deadline in the gateway's heap (gateway/timers.c). */
typedef void (*rta_timer_cb)(rta_timer *t);
struct rta_timer {
    int64_t at;  /* server clock, ms */
    size_t pos;  /* heap index + 1; 0 when not scheduled */
    rta_timer_cb cb;
};

/* Deadlines of every connection in one min-heap, the liveness sweep among them, with the
 * hooks' one timer at the earliest (gateway/timers.c). */
typedef struct rta_timers {
    rta_timer **heap;
    size_t len, cap;
    int64_t armed_at;   /* when the hooks' timer is set for (server clock, ms), 0 if unset */
    rta_timer liveness; /* the ping / hang-up sweep */
    int liveness_on;
    /* Connections with a transport, least recently active first (gateway/timers.c): the
     * sweep visits only those due a ping or a hang-up, not every connection. */
    struct rta_conn *idle_head, *idle_tail;
    /* Connections lingering after their ending frame, in deadline order, with one deadline on
     * the heap for the first of them (gateway/timers.c). */
    struct rta_conn *linger_head, *linger_tail;
    rta_timer linger;
} rta_timers;

/* Connections each app and each (app, clientId) holds, live or detached, for the per-app and
 * per-clientId caps (gateway/limits.c). Not live_count, which bounds limits.max_connections. */
typedef struct rta_conn_counts {
    rta_hmap per_app;    /* appId -> count (in the value pointer, gateway/limits.c) */
    rta_hmap per_client; /* "<appId>:<clientId>" -> count */
} rta_conn_counts;

struct rta_gateway {
    rta_token_service *tokens; /* the rta_gateway_deps, as given */
    rta_basic_over_http basic_over_http;
    int skip_capability_checks;
    const char *server_id;
    int64_t (*now)(void);
    rta_gateway_hooks hooks;
    rta_hmap channels;  /* name -> rta_channel* */
    rta_hmap by_id;     /* connectionId -> rta_conn* (for resume) */
    rta_hmap revindex;  /* "<keyName>\0<target>" -> rta_revlink* list (gateway/revindex.c) */
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
    rta_history presence_history; /* recent presence events, same limits (RSP4, query.h) */
    rta_dedup dedup;     /* client-supplied message ids seen lately (RSL1k, RTL6a1) */
    rta_timers timers;
    rta_conn *flush_head, *flush_tail; /* connections with frames for rta_gateway_flush */
    /* The last connection ending (DISCONNECTED or ERROR, no channel) encoded, per format [JSON,
     * msgpack]: a revocation sends the same one to thousands (gateway/frames.c). */
    struct rta_gateway_ending {
        int action;
        rta_error error;
        rta_buf bytes; /* empty: none yet */
    } ending[2];
    rta_gateway_relay relay; /* cluster mode only (rta_gateway_set_relay) */
    struct rta_catch_up *catch_ups;    /* re-attaches reading their backlog (gateway/catch_up.c) */
    size_t catch_up_count;             /* how many (bounded) */
    struct rta_catch_up *catch_up_now; /* the one whose attach is being completed */
};

/* Presence members per channel, and per connection over all its channels (91003 beyond). */
#define RTA_PRESENCE_MAX_MEMBERS 1000
#define RTA_PRESENCE_MAX_PER_CONN 500 /* room for a key client's enterClient members (RTP4: 250) */

/* deps is copied; the gateway owns deps->hooks.data from here on (hooks.cleanup, called by
 * rta_gateway_free), failure included. Returns 0 or 50000 (out of memory). */
int rta_gateway_init(rta_gateway *gw, const rta_gateway_deps *deps);
/* Call before the transport's event loop is destroyed: the timer is
 * cancelled, and closing transports then free their connections. */
void rta_gateway_stop(rta_gateway *gw);
void rta_gateway_free(rta_gateway *gw);

/* ---- the transport's side: what its adapter calls (gateway/transport_lws.c) ---------------- */

/* A WebSocket was accepted over t: authenticates (query arguments), then CONNECTED or an
 * ending. *slot is where the transport keeps its connection: set here, cleared by the
 * gateway when the connection leaves t; it stays NULL when even that failed (t is closed). */
void rta_gateway_open(rta_gateway *gw, rta_gateway_transport *t, rta_conn **slot);
/* Part of a WebSocket message from the client; last: the message ends with it. */
void rta_gateway_receive(rta_conn *c, const void *data, size_t len, int last);
/* A pong from the client. */
void rta_gateway_pong(rta_conn *c);
/* What rta_gateway_writeable asks of the transport. */
enum {
    RTA_GATEWAY_WRITE_FAILED = -1, /* close it: writing failed */
    RTA_GATEWAY_WRITE_OK = 0,
    RTA_GATEWAY_WRITE_CLOSE = 1,   /* close it normally (WebSocket status 1000) */
};
/* c's transport may be written: one frame or ping goes out. */
int rta_gateway_writeable(rta_conn *c);
/* c's transport has closed: c is kept for a resume, or freed. */
void rta_gateway_closed(rta_conn *c);
/* The client started the WebSocket closing handshake: nothing more is written at once on c
 * (only what the transport's writeable callback still takes). */
void rta_gateway_peer_closing(rta_conn *c);
/* With hooks.can_write_now: writes what this loop turn queued, to every transport that takes
 * it now (the rest through want_write). The host calls it at the end of each loop turn. */
void rta_gateway_flush(rta_gateway *gw);
/* The hooks' timer fired. */
void rta_gateway_timers_due(rta_gateway *gw);

/* Called after revocations are durable: matching live connections are disconnected with
 * 40141 (or told to reauthenticate first when applies_at is in the future). A connection is
 * matched by the key of its token or of a JWT wrapping it. */
void rta_gateway_revoked(rta_gateway *gw, const char *key_name);
/* The same for revocations of known targets (as stored: "clientId:x", "revocationKey:x",
 * "token:<ref>"): visits only the connections whose credentials name one of them
 * (gateway/revindex.c), not every connection of the key. */
void rta_gateway_revoked_targets(rta_gateway *gw, const char *key_name,
                                 const char *const *targets, size_t n);

/* Called after apps or keys changed (a reload from the store, a sandbox app deleted): every
 * connection whose key, or the key of a JWT wrapping its token, is now disabled or gone ends
 * for good: ERROR 40131, its presence members leave at once (issue 11). */
void rta_gateway_credentials_changed(rta_gateway *gw, const rta_registry *registry);

/* REST publish (RSL1): the realtime path's history and fan-out for messages the caller has
 * already checked (capability, clientIds, size). id is the publish's id; messages without
 * one are "<id>:<index>" to subscribers and in history. */
void rta_gateway_publish(rta_gateway *gw, const char *app_id, const char *channel,
                         const char *id, rta_message *msgs, size_t n);

/* Cluster mode: from now on publishes go through relay (copied) and deliveries come from
 * rta_gateway_deliver. Set once, before the first connection. */
void rta_gateway_set_relay(rta_gateway *gw, const rta_gateway_relay *relay);

/* REST publish in cluster mode (RSL1): as rta_gateway_publish, but sequenced by the relay;
 * done(arg, code, message) runs once it is (0) or failed (an Ably code). */
void rta_gateway_publish_async(rta_gateway *gw, const char *app_id, const char *channel,
                               const char *id, rta_message *msgs, size_t n,
                               rta_gateway_published_cb done, void *arg);

/* Cluster mode: a message the relay sequenced, with its channel serial (RTL15b), goes to the
 * local subscribers of (app_id, channel), encoded once per format; its publisher, when it
 * is here and asked for echo=false, is skipped (RTL7f). pm is a decoded MESSAGE; its
 * messages may be stamped in place. */
void rta_gateway_deliver(rta_gateway *gw, const char *app_id, const char *channel,
                         uint64_t serial, rta_protocol_message *pm);

/* Cluster mode: another node resumed conn_id (its relay's claim): if it is here, live or
 * detached, it is dropped without a word to its transport; its presence members leave. */
void rta_gateway_connection_claimed(rta_gateway *gw, const char *conn_id, size_t len);

/* Cluster mode, presence across nodes (gateway/presence_remote.c). A PRESENCE the relay
 * sequenced (`serial`): events of another node's members, applied to this node's mirror of
 * the channel and sent to its presence subscribers (own: this node's own events, already
 * applied: only the serial moves). */
void rta_gateway_presence_remote(rta_gateway *gw, const char *app_id, const char *channel,
                                 uint64_t serial, const rta_protocol_message *pm, int own);
/* The members of other nodes read from Redis at the channel's first attach here (RTP18:
 * they are in the SYNC of the attaches waiting for it). */
void rta_gateway_presence_seed(rta_gateway *gw, const char *app_id, const char *channel,
                               const rta_presence_message *members, size_t n);

/* Cluster mode: the relay can now deliver (app_id, channel) from after `serial`: attaches
 * waiting for it go on. */
void rta_gateway_channel_ready(rta_gateway *gw, const char *app_id, const char *channel,
                               uint64_t serial);

/* One connection as the operator console shows it (server/console; gateway/inspect.c):
 * every pointer is borrowed for the callback only. */
typedef struct rta_gateway_conn_info {
    const char *connection_id;
    const char *app_id;
    const char *key_name;  /* of its token (or of the JWT wrapping it) */
    const char *client_id; /* the resolved clientId: NULL anonymous, "*" wildcard */
    int live;              /* 1 with a transport; 0 detached, awaiting a resume */
    int64_t expires;       /* its credential's expiry, ms; 0 for Basic */
} rta_gateway_conn_info;

/* Calls cb for every connection that is CONNECTED, live or detached awaiting a resume, as
 * rta_gateway_count_connections counts them (loop thread). cb must not call into the gateway. */
void rta_gateway_each_conn(const rta_gateway *gw,
                           void (*cb)(void *ctx, const rta_gateway_conn_info *c), void *ctx);

/* Metrics (server/metrics.h): each(arg, appId, awaiting_resume) once per connection that is
 * connected (CONNECTED sent, transport live) or awaiting a resume (detached). O(connections);
 * for a scrape, not a hot path. */
void rta_gateway_count_connections(const rta_gateway *gw,
                                   void (*each)(void *arg, const char *app_id, int awaiting),
                                   void *arg);

/* 1 when name is a valid channel name (2.7): 1..1024 bytes, no leading ':', no control
 * characters. */
int rta_gateway_channel_name_ok(const char *name);

#endif
