/* gateway/internal.h: the gateway's connection and channel records and the functions its
 * files share (private to src/server/gateway/). */
#ifndef RTA_SERVER_GATEWAY_INTERNAL_H
#define RTA_SERVER_GATEWAY_INTERNAL_H

#include <stddef.h>

#include "core/buf.h"
#include "core/protocol.h"
#include "server/gateway/gateway.h"

/* The record holding member `member` at ptr (a timer inside its connection). */
#define rta__gw_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

typedef struct rta_frame {
    struct rta_frame *next;
    int binary;
    char *channel; /* a channel message (fan-out): its channel, owned; NULL otherwise */
    rta_buf bytes; /* hooks.headroom bytes of headroom, then the frame */
} rta_frame;

/* A presence member (RTP2): keyed by connection + clientId; the state of its last enter or
 * update. Owned by its channel (gateway/presence.c). */
typedef struct rta_presence_member {
    rta_conn *conn; /* NULL: a member of another node's connection (cluster mirror) */
    char conn_id[24]; /* its connectionId (conn->id when local) */
    char *client_id;
    char *id; /* <connectionId>:<msgSerial>:<index> of the last enter/update (RTP2b2) */
    char *encoding;
    char *extras; /* TP3i: compact JSON text, NULL when absent */
    rta_data data;
    int64_t timestamp;
} rta_presence_member;

/* Channels are per app: two apps' "chat" are two channels (the map key is the key below). */
typedef struct rta_channel {
    char *key;  /* "<appId>:<name>", owned (app ids have no ':') */
    char *name; /* the channel name, inside key */
    /* Members (gateway/members.c): the attached connections, with parallel arrays: */
    rta_conn **members;
    uint32_t *modes;     /* granted modes (requested ∩ capability), | RTA_MEMBER_DISCONTINUOUS */
    uint32_t *requested; /* requested modes: a new capability re-grants */
    uint32_t *links;     /* where this channel is in members[i]->attached (O(1) detach) */
    uint32_t *index;     /* members by connection: 2 * cap slots of position + 1, 0 empty */
    size_t count, cap;
    uint64_t serial;
    rta_presence_member *presence; /* the presence set (gateway/presence.c) */
    size_t presence_count, presence_cap;
    /* cluster mode (gateway/relay.c): the relay was told of the channel (open); attaches
     * wait until it is ready, by connection id with their ATTACH flags */
    unsigned relay_open : 1;
    unsigned relay_waiting : 1;
    char **waiting_ids;
    uint32_t *waiting_flags; /* RELAY_HAS_FLAGS | the ATTACH's flags */
    uint64_t *waiting_after; /* the ATTACH's channelSerial (0: none, RTL4c1) */
    char **waiting_rewind;   /* the ATTACH's rewind param, owned (NULL: none, RTL4k) */
    size_t waiting_count, waiting_cap;
    size_t catching_up; /* re-attaches reading the backlog (gateway/catch_up.c) */
    /* cluster mode (gateway/presence_remote.c): the members of other nodes are being read
     * from Redis; LEAVEs heard meanwhile are remembered ("<connId>\n<clientId>") so that the
     * read cannot bring those members back */
    unsigned presence_seeding : 1;
    char **presence_tombs;
    size_t presence_tomb_count;
} rta_channel;

/* In rta_channel.modes beside the mode bits: while detached, the connection's presence
 * members left this channel, so its next ATTACH is not RESUMED (ably-js re-enters them,
 * RTP17i); a channel without its members keeps continuity (RTL2f). join() clears it. */
#define RTA_MEMBER_DISCONTINUOUS (1u << 31)

/* A connection outlives its WebSocket: when the transport drops without CLOSE or a fatal
 * ERROR, it stays *detached* (transport NULL) for connectionStateTtl, still attached to its
 * channels, queueing their messages, until a client resumes it (RTN15, wire doc 2.9) or
 * the time runs out. */
/* One of a connection's places in the revocation index (gateway/revindex.c): its token's or
 * its wrapping JWT's clientId, revocationKey or token reference. */
typedef struct rta_revlink {
    struct rta_revlink *prev, *next;
    rta_conn *conn;
    char *key; /* the index key, owned; NULL: not linked */
    size_t key_len;
} rta_revlink;
#define RTA_REVLINKS 6 /* (token, wrapper) x (clientId, revocationKey, token) */

struct rta_conn {
    rta_conn *prev, *next; /* gw->conns */
    rta_conn *older, *newer; /* gw->detached_*, while detached (oldest first) */
    rta_gateway *gw;
    rta_gateway_transport *transport; /* NULL while detached */
    rta_conn **slot;      /* the transport's pointer to us (NULL while detached) */
    char id[24];
    char key[64];
    rta_format fmt;
    int echo;
    int heartbeats; /* heartbeats=true (RTN23b): HEARTBEAT messages, not WebSocket pings */
    rta_auth_context auth;
    char *client_id; /* the connection's resolved clientId: NULL, "*" or an id */
    rta_frame *out_head, *out_tail;
    rta_frame *held_head, *held_tail; /* channel messages held for a resume (below) */
    char **reattach;        /* resumed: channels whose messages wait for the client's ATTACH */
    size_t reattach_count;
    rta_frame *close_after; /* closing: the socket closes once this frame is written */
    size_t out_bytes;       /* queued, bounded by limits.max_queue */
    unsigned closing : 1;   /* DISCONNECTED/ERROR/CLOSED sent: close after close_after */
    unsigned connected : 1; /* CONNECTED was sent: resumable from now on */
    unsigned final : 1;     /* never resumable (CLOSE, fatal ERROR, queue overflow) */
    unsigned lingering : 1; /* the ending frame is written: waiting for the client to close */
    unsigned revoked : 1;   /* ended by DISCONNECTED 40141: its presence goes at once */
    unsigned admitted : 1;  /* counted in gw->held (gateway/limits.c) until freed */
    unsigned claimed : 1;   /* cluster: resumed on another node; its members stay (moved) */
    int end_reason;         /* metrics: the code of its ending frame, 0 none, or
                             * RTA_METRICS_REASON_OVERFLOW (server/metrics.h) */
    int64_t next_serial;    /* msgSerial expected next: lower ones are resends (2.6) */
    int64_t rate_at;        /* inbound rate bucket (ms timestamp, tokens in 1/1000) */
    int64_t rate_tokens;
    rta_buf rx;     /* a message arriving in fragments */
    rta_channel **attached;
    size_t attached_count, attached_cap;
    /* Live: the token's expiry or a pending revocation (end), the AUTH hint ahead of it
     * (notice). Detached: the discard at connectionStateTtl (end), the presence grace
     * (notice). */
    rta_timer end_timer;
    rta_timer notice_timer;
    int64_t last_seen;      /* last frame or pong from the client (liveness) */
    int64_t last_ping;      /* last WebSocket ping sent */
    rta_conn *idle_prev, *idle_next; /* in gw->timers' activity list, while idle_linked */
    rta_revlink revlinks[RTA_REVLINKS];
    unsigned idle_linked : 1;
    unsigned ping_due : 1;  /* a ping waits for the next WRITEABLE */
    unsigned flush_linked : 1; /* in gw->flush_head's list (rta_gateway_flush) */
    unsigned peer_closing : 1; /* the client's WebSocket close arrived: no direct writes */
    rta_conn *flush_prev, *flush_next;
    rta_conn *linger_prev, *linger_next; /* in gw->timers' linger list, while linger_linked */
    int64_t linger_until;
    unsigned linger_linked : 1;
    int64_t revoke_at; /* pending revocation with reauth margin, 0 if none */
    size_t presence_members; /* presence members this connection holds, all channels */
    size_t relay_inflight;   /* cluster mode: publishes the relay has not answered yet */
    int end_code;            /* the Ably code of the ending sent on this transport, for the log */
};

/* The log's fields for c (server/log.h): its connectionId, key, app and clientId. */
#define RTA__GW_LOG_FIELDS(c, ...)                                                                 \
    (&(rta_log_fields){.connection_id = (c)->id,                                                   \
                       .key_name = (c)->auth.key_name[0] ? (c)->auth.key_name : NULL,              \
                       .app = (c)->auth.app_id[0] ? (c)->auth.app_id : NULL,                       \
                       .client_id = (c)->client_id,                                                \
                       __VA_ARGS__})

/* Frames out (gateway/frames.c). Every queue is bounded by limits.max_queue: a connection
 * that cannot keep up loses its queue and its transport and cannot be resumed. */
void rta__gw_conn_send(rta_conn *c, const rta_protocol_message *m);
/* ACK of a publish: res[0].serials "<id>:<i>" for its n messages (channels.c). */
void rta__gw_send_publish_ack(rta_conn *c, int64_t msg_serial, const char *id, size_t n);
/* The same, queued before everything else (CONNECTED on resume). */
void rta__gw_conn_send_first(rta_conn *c, const rta_protocol_message *m);
/* A message on `channel` already encoded in c's format (fan-out encodes once per format).
 * Held back while c is detached, and after a resume until the client re-attaches the
 * channel: ably-js drops messages for a channel that is not attached (2.6, RTN15c6). */
void rta__gw_conn_send_encoded(rta_conn *c, const char *channel, const void *bytes, size_t len);
/* c (with a transport) has something to write: at the end of the loop turn when the
 * transport can write at once (rta_gateway_flush), else on its writeable callback. */
void rta__gw_want_write(rta_conn *c);
/* c leaves the flush list (its transport closed, or it is freed). */
void rta__gw_flush_forget(rta_conn *c);
void rta__gw_conn_send_error(rta_conn *c, int action, const char *channel, const rta_error *e);
/* rta__gw_conn_reply without waiting behind publishes with the relay (gateway/relay.c). */
void rta__gw_conn_reply_now(rta_conn *c, const rta_protocol_message *m, int code, const char *msg);
/* Answers a MESSAGE or PRESENCE (2.6): ACK when code is 0, else NACK with that Ably code and
 * msg. Nothing when m carried no msgSerial (nothing waits for an answer). */
void rta__gw_conn_reply(rta_conn *c, const rta_protocol_message *m, int code, const char *msg);
/* DISCONNECTED (retryable: the connection stays resumable) or ERROR (fatal), then close.
 * Frames queued after it wait for a resume. */
void rta__gw_conn_fail(rta_conn *c, int action, const rta_error *e);
/* Closes the transport once the queue up to now is written (CLOSE, DISCONNECT). */
void rta__gw_conn_close_when_flushed(rta_conn *c);
/* Drops every queued and held frame. */
void rta__gw_conn_drop_frames(rta_conn *c);
/* The transport is gone: channel messages not yet written are held, the rest dropped. */
void rta__gw_conn_hold_unsent(rta_conn *c);
/* After a resume: messages of every channel in c->attached wait for its ATTACH; held
 * messages of channels no longer attached are dropped. */
void rta__gw_conn_await_reattach(rta_conn *c);
/* The client (re-)attached `channel` (deliver: the ATTACHED is queued) or detached it or
 * was refused: its held messages follow the ATTACHED, or are dropped. */
void rta__gw_conn_release_held(rta_conn *c, const char *channel, int deliver);
/* From now on c's messages on `channel` are held (until rta__gw_conn_release_held), as after
 * a resume: for a re-attach reading its backlog (gateway/catch_up.c). 0, or -1 (memory). */
int rta__gw_conn_hold_channel(rta_conn *c, const char *channel);

/* Connections (gateway/conn.c). */
/* A connection without a transport yet (conn_open gives it one; tests and the gateway
 * fuzzer use it bare: frames then stay queued in c->out_head). NULL when out of memory. */
rta_conn *rta__gw_conn_create(rta_gateway *gw, rta_format fmt);
/* One whole WebSocket message from the client: size check, decode, dispatch. */
void rta__gw_conn_handle_message(rta_conn *c, const void *data, size_t len);
void rta__gw_conn_free(rta_conn *c);
/* Timers (gateway/timers.c): cb(t) at `at` (server clock, ms), replacing t's previous
 * deadline; cancel is a no-op for a timer not scheduled. Neither calls back. */
void rta__gw_schedule(rta_gateway *gw, rta_timer *t, rta_timer_cb cb, int64_t at);
void rta__gw_timer_cancel(rta_gateway *gw, rta_timer *t);
/* A frame or pong from c's client: it is alive (starts the liveness sweep if needed). */
void rta__gw_liveness_seen(rta_conn *c);
/* The revocation index (gateway/revindex.c): _update after c->auth changed (connect, AUTH,
 * resume), _remove before c is freed. _update returns 0 or 50000 (out of memory: c is then
 * left out, and the caller must refuse the credentials: a connection the index cannot find
 * could outlive its revocation). */
int rta__gw_revindex_update(rta_conn *c);
void rta__gw_revindex_remove(rta_conn *c);
/* Acts on c after a revocation of its key (40141, or AUTH first with a margin). */
void rta__gw_conn_check_revoked(rta_conn *c, int64_t now);

/* Takes c out of the liveness sweep (its transport is gone, or c is freed). */
void rta__gw_liveness_forget(rta_conn *c);
/* c (its ending frame written) waits until `until` for its client to close, then
 * rta__gw_linger_over(c) runs. Returns 0, or -1 when out of memory (close it now). */
int rta__gw_linger(rta_conn *c, int64_t until);
/* c stops lingering (its transport closed, or it is freed): no-op when it is not. */
void rta__gw_linger_forget(rta_conn *c);
/* The linger is over and the client has not closed (gateway/frames.c). */
void rta__gw_linger_over(rta_conn *c);
void rta__gw_timers_stop(rta_gateway *gw); /* rta_gateway_stop */
void rta__gw_timers_free(rta_gateway *gw);
void rta__gw_conn_send_connected(rta_conn *c, const rta_error *err, int first);
/* The query argument `name` ("key=") of c's upgrade request, malloc'd; NULL when absent. */
char *rta__gw_conn_query_arg(const rta_conn *c, const char *name);

/* Connection auth (gateway/auth.c); rta_gateway_revoked and rta_gateway_credentials_changed
 * (gateway.h) are there too. */
/* Credentials and the clientId parameter of the upgrade into c->auth, c->client_id and
 * c->revoke_at (a revocation pending for them, S-48). Returns 0, or the action to fail with
 * (ERROR or DISCONNECTED) with e filled. */
int rta__gw_conn_authenticate(rta_conn *c, rta_error *e);
/* AUTH from the client (RTC8a): the new token replaces the old in place, or the connection
 * fails. */
void rta__gw_conn_reauth(rta_conn *c, const rta_protocol_message *m);
/* The expiry (or pending revocation) deadline and the RTN22 hint for c's credentials. */
void rta__gw_conn_arm_timers(rta_conn *c);

/* Per-app and per-clientId connection caps (gateway/limits.c). */
int rta__gw_conn_counts_init(rta_conn_counts *k);
void rta__gw_conn_counts_free(rta_conn_counts *k);
/* A new, authenticated connection (not a resume): counted for its app and clientId, or
 * refused. Returns 0, or 40111 (a cap is reached; e names which) or 50000 with e filled. */
int rta__gw_conn_admit(rta_conn *c, rta_error *e);
/* c is being freed: it no longer counts. A no-op for a connection never admitted. */
void rta__gw_conn_release(rta_conn *c);

/* Resume (gateway/resume.c, RTN15, wire doc 2.9). */
/* The transport closed: keep c detached for connectionStateTtl if it may be resumed,
 * else free it. */
void rta__gw_conn_transport_closed(rta_conn *c);
/* `fresh` has just authenticated with resume=<key> (recover=<key> when recover is 1,
 * which only changes the wording of errors): if the key names a resumable
 * connection with the same app, clientId and format, that connection takes over fresh's
 * transport and credentials (fresh is freed) and is returned, having sent CONNECTED with
 * its own connectionId. Otherwise returns NULL with e set (80008; 80018 for a malformed key)
 * and fresh unchanged. */
rta_conn *rta__gw_conn_resume(rta_conn *fresh, const char *key, int recover, rta_error *e);
/* A detached connection that can no longer be resumed: freed from a timer, never inside
 * the loop that noticed. */
void rta__gw_conn_discard_soon(rta_conn *c);
/* The detached list (gw->detached_head, oldest first). */
void rta__gw_detached_push(rta_conn *c);
void rta__gw_detached_remove(rta_conn *c);
/* Discards the oldest detached connection other than `keep` (its frames are dropped now, the
 * record freed from a timer: safe inside fan-out loops; a later resume gets 80008). Returns 0
 * when there was none. */
int rta__gw_detached_evict_oldest(rta_gateway *gw, const rta_conn *keep);

/* Channels (gateway/channels.c). */
/* The messages' size as Ably counts it (TO3l8), for statistics. */
size_t rta__gw_messages_size(const rta_message *msgs, size_t n);
/* Sends out to every member of ch attached with `mode` except skip, encoded once per wire
 * format (held for detached members). */
void rta__gw_channel_broadcast(rta_channel *ch, const rta_protocol_message *out, uint32_t mode,
                            const rta_conn *skip);
/* app_id's channel `name`, or NULL when nobody is attached to it. */
rta_channel *rta__gw_channel_find(rta_gateway *gw, const char *app_id, const char *name);
/* Channel members (gateway/members.c), all O(1). */
/* Where c is in ch's members, or -1 when it is not attached to ch. */
long rta__gw_channel_member_index(const rta_channel *ch, const rta_conn *c);
/* Appends c, not yet a member; link is ch's position in c->attached. Returns c's position,
 * or -1 when out of memory (nothing changed). */
long rta__gw_members_add(rta_channel *ch, rta_conn *c, uint32_t modes, uint32_t requested,
                      uint32_t link);
/* Removes member i: the last member moves into position i. */
void rta__gw_members_remove(rta_channel *ch, size_t i);
void rta__gw_members_free(rta_channel *ch);
/* 1 when c is attached to the channel named `channel` (of its app). */
int rta__gw_conn_attached_to(const rta_conn *c, const char *channel);
void rta__gw_channel_attach(rta_conn *c, const rta_protocol_message *m);
void rta__gw_channel_detach(rta_conn *c, const rta_protocol_message *m);
void rta__gw_channel_publish(rta_conn *c, const rta_protocol_message *m);
/* The one publish path, realtime and REST (RTL6, RSL1): records msgs in the channel's
 * history, then sends them to every connection attached with the subscribe mode (but not to
 * `from` when it asked for echo=false), encoded once per format. from is NULL for REST. */
void rta__gw_channel_fanout(rta_gateway *gw, const char *app_id, rta_conn *from,
                         const char *channel, const char *id, rta_message *msgs, size_t n);
/* app_id's channel `name`, created when absent (NULL: out of memory). */
rta_channel *rta__gw_channel_get_or_create(rta_gateway *gw, const char *app_id, const char *name);
/* Frees ch when nobody is attached and no attach waits for it (telling the relay). */
void rta__gw_channel_release_if_empty(rta_gateway *gw, rta_channel *ch);

/* Cluster mode (gateway/relay.c). */
/* ATTACH of ch by c: 1 when it may go on now; 0 when it waits for the relay (recorded). */
int rta__gw_relay_attach_ready(rta_conn *c, rta_channel *ch, const rta_protocol_message *m);
/* A checked publish of c's: sequenced by the relay, ACK/NACK once it answers. */
void rta__gw_relay_publish(rta_conn *c, const rta_protocol_message *m, const char *id);
/* A reply to c's MESSAGE or PRESENCE while earlier publishes of c are with the relay: it
 * waits behind them (ably-js completes every message up to an ACK's serial). Returns 1
 * when it was deferred, 0 when the caller replies now. */
int rta__gw_relay_defer_reply(rta_conn *c, const rta_protocol_message *m, int code,
                              const char *msg);
/* Cluster mode: a re-attach with a channelSerial (RTL4c1, gateway/catch_up.c).
 * For a non-member's ATTACH of a ready channel: the serial to read the backlog after, or 0
 * when there is none to read (*resumed is RTA_FLAG_RESUMED when nothing was missed). */
uint64_t rta__gw_catch_up_wanted(const rta_channel *ch, const rta_protocol_message *m,
                                 uint32_t *resumed);
/* c has just joined ch: holds its live messages there and reads the backlog after `after`
 * up to ch->serial; the attach is done again (ATTACHED, the backlog, the held messages)
 * when the backlog came. Returns 1 when started, 0 when it cannot (go on: a fresh attach). */
int rta__gw_catch_up_begin(rta_conn *c, rta_channel *ch, const rta_protocol_message *m,
                           uint64_t after);
/* The same for a first attach with rewind (RTL4k, cluster mode): the backlog is the last
 * rw->count serials up to ch->serial (those of the last rw->ms when set); the ATTACHED then
 * carries HAS_BACKLOG, not RESUMED, and the rewind param. Returns as rta__gw_catch_up_begin. */
struct rta_rewind;
int rta__gw_rewind_begin(rta_conn *c, rta_channel *ch, const rta_protocol_message *m,
                         const struct rta_rewind *rw);
/* 1 when cu is a rewind with at least one message to send (HAS_BACKLOG). */
int rta__gw_catch_up_has_backlog(const struct rta_catch_up *cu);
/* 1 while c's attach of `channel` waits for its backlog (its messages there are held). */
int rta__gw_catch_up_pending(const rta_conn *c, const char *channel);
/* During the attach the backlog completes: it (with *resumed set to RTA_FLAG_RESUMED when
 * it is whole); NULL otherwise. */
const struct rta_catch_up *rta__gw_catch_up_current(const rta_conn *c, const char *channel,
                                                    uint32_t *resumed);
/* An ATTACH's channelSerial as one of our serials ("17"); 0 when absent or not one. */
uint64_t rta__gw_catch_up_parse_serial(const char *s);
/* The ATTACHED's channelSerial: where the backlog starts when whole, else where it ends. */
uint64_t rta__gw_catch_up_attach_serial(const struct rta_catch_up *cu);
/* After the ATTACHED: the backlog's messages (when whole), then the held live ones. */
void rta__gw_catch_up_send(rta_conn *c, const struct rta_catch_up *cu, uint32_t granted);
/* c detached from `channel`: a backlog read for it is forgotten. */
void rta__gw_catch_up_cancel(rta_conn *c, const char *channel);
/* Cluster mode (gateway/adopt.c): a new connection's key, verifiable by every node (after
 * it authenticated: the key binds its app, clientId and format). No-op on a single node. */
void rta__gw_conn_key_assign(rta_conn *c);
/* Cluster mode: resume=key names a connection this node does not have: 1 when the key is
 * the cluster's and binds fresh's credentials (fresh took its id and key; the other nodes are
 * told), 0 when not, -1 out of memory (fresh has no id: fail it). */
int rta__gw_conn_adopt(rta_conn *fresh, const char *key);
/* c detached (or went) before ch was ready: its attach no longer waits. */
void rta__gw_relay_forget_waiting(rta_channel *ch, const rta_conn *c);
void rta__gw_relay_channel_free(rta_channel *ch);

/* Channel params on ATTACH (gateway/params.c; RTL4k). */
#define RTA_REWIND_MAX 100 /* messages a rewind delivers at most (Ably's bound) */
typedef struct rta_rewind {
    size_t count;      /* 0: no rewind; else at most this many of the latest messages */
    int64_t ms;        /* and (when > 0) only those of the last ms */
    const char *value; /* the param as sent (borrowed from the ATTACH) */
} rta_rewind;
/* The params of ATTACH m that are honoured, into *rewind and reply's params (borrowed from m:
 * reply must go out before m is cleared); the others are dropped (RTL4k1). */
void rta__gw_attach_params(const rta_conn *c, const rta_protocol_message *m, rta_rewind *rewind,
                           rta_protocol_message *reply);
/* The rewind backlog of c's channel, oldest first, into out (room for RTA_REWIND_MAX):
 * borrowed from the history, valid until it next changes. Returns how many; when some,
 * *start is the history position just before the oldest (the attach point, RTL15c). */
size_t rta__gw_rewind_read(rta_conn *c, const char *channel, const rta_rewind *rw,
                           rta_message *out, uint64_t *start);

/* After a capability change: channels no longer allowed get ERROR 40160 and are left. */
void rta__gw_channels_recheck(rta_conn *c);
void rta__gw_channels_leave_all(rta_conn *c);
void rta__gw_channels_free(rta_gateway *gw);

/* Presence (gateway/presence.c; RTP, wire protocol 2.1 HAS_PRESENCE, SYNC). */
void rta__gw_presence_handle(rta_conn *c, rta_protocol_message *m); /* PRESENCE in: ACK/NACK */
/* Before c leaves ch (detach, close, capability lost): its members leave (LEAVE fan-out).
 * Returns how many left. */
size_t rta__gw_presence_conn_left(rta_conn *c, rta_channel *ch);
/* After c's modes on ch changed to `granted`: without the presence mode its members leave. */
void rta__gw_presence_modes_changed(rta_conn *c, rta_channel *ch, uint32_t granted);
/* The HAS_PRESENCE flag for an ATTACHED with `granted`, and the SYNC that follows it. */
uint32_t rta__gw_presence_attach_flags(const rta_channel *ch, uint32_t granted);
void rta__gw_presence_sync(rta_conn *c, rta_channel *ch, uint32_t granted);
/* A member as a PRESENT message (TP2, TP3i: its extras too), its strings borrowed from p:
 * for SYNC and for REST presence reads. */
rta_presence_message rta__gw_presence_view(const rta_presence_member *p);
/* SYNC from the client (ably-js channel.sync()): the whole presence set again, an empty page
 * when it is empty, so that the members it no longer has leave on its side (RTP19). */
void rta__gw_presence_sync_request(rta_conn *c, const rta_protocol_message *m);
void rta__gw_presence_free(rta_channel *ch);
/* Cluster mode (gateway/presence_remote.c). c has just joined ch: members of its connection
 * that another node held (a resume across nodes) become c's, here. */
void rta__gw_presence_joined(rta_conn *c, rta_channel *ch);
/* Members of c on ch that leave because c was resumed elsewhere stay, as the other node's
 * (no LEAVE); this node gives up its claim on them after the grace if nobody took them. */
void rta__gw_presence_orphan(rta_conn *c, rta_channel *ch);
/* The first attach of ch in cluster mode: remote members are being read (relay.open). */
void rta__gw_presence_seed_begin(rta_channel *ch);
/* Shared with presence_remote.c (gateway/presence.c). */
void rta__gw_presence_member_clear(rta_presence_member *p);
int rta__gw_presence_reserve(rta_channel *ch, size_t adds);
void rta__gw_presence_broadcast(rta_gateway *gw, rta_channel *ch, const rta_conn *except,
                                rta_presence_message *ev, size_t n, uint64_t serial);
/* Cluster mode (gateway/relay.c): c's presence events go to the relay; the PRESENCE m is
 * answered once it confirmed them. */
void rta__gw_relay_presence(rta_conn *c, const rta_protocol_message *m, const rta_channel *ch,
                            const rta_presence_message *ev, size_t n);
/* Records broadcast presence events in the presence history window (gateway/query.c). */
void rta__gw_presence_record(rta_gateway *gw, const rta_channel *ch,
                             const rta_presence_message *ev, size_t n);

#endif
