/* gateway_internal.h: the gateway's connection and channel records, shared by
 * gateway_conn.c (connections, auth, frames) and gateway_channels.c (attach, publish). */
#ifndef RTA_SERVER_GATEWAY_INTERNAL_H
#define RTA_SERVER_GATEWAY_INTERNAL_H

#include "core/buf.h"
#include "core/protocol.h"
#include "gateway.h"

typedef struct rta_frame {
    struct rta_frame *next;
    int binary;
    rta_buf data; /* LWS_PRE bytes of headroom, then the frame */
} rta_frame;

/* A presence member (RTP2): keyed by connection + clientId; the state of its last enter or
 * update. Owned by its channel (gateway_presence.c). */
typedef struct rta_presence_member {
    rta_conn *conn;
    char *client_id;
    char *id; /* <connectionId>:<msgSerial>:<index> of the last enter/update (RTP2b2) */
    char *encoding;
    rta_data data;
    int64_t timestamp;
} rta_presence_member;

typedef struct rta_channel {
    char *name;
    rta_conn **members; /* attached connections */
    uint32_t *modes;    /* granted modes (requested ∩ capability), parallel to members */
    uint32_t *requested; /* requested modes, parallel to members: a new capability re-grants */
    size_t count, cap;
    uint64_t serial;
    rta_presence_member *presence; /* the presence set (gateway_presence.c) */
    size_t presence_count, presence_cap;
} rta_channel;

struct rta_conn {
    rta_conn *prev, *next; /* gw->conns */
    rta_gateway *gw;
    struct lws *wsi;
    char id[24];
    char key[64];
    rta_format fmt;
    int echo;
    rta_auth_context auth;
    char *client_id; /* the connection's resolved clientId: NULL, "*" or an id */
    rta_frame *out_head, *out_tail;
    int closing;    /* close once the queue is flushed */
    rta_buf rx;     /* a message arriving in fragments */
    rta_channel **attached;
    size_t attached_count, attached_cap;
    lws_sorted_usec_list_t expiry_timer;
    lws_sorted_usec_list_t hint_timer;
    int64_t revoke_at; /* pending revocation with reauth margin, 0 if none */
    size_t presence_members; /* presence members this connection holds, all channels */
};

/* Frames out. */
void rta__conn_send(rta_conn *c, const rta_protocol_message *m);
/* A frame already encoded in c's format (fan-out encodes once per format). */
void rta__conn_send_encoded(rta_conn *c, const void *bytes, size_t len);
void rta__conn_send_error(rta_conn *c, int action, const char *channel, const rta_error *e);
/* DISCONNECTED (token problems, retryable) or ERROR (fatal), then close. */
void rta__conn_fail(rta_conn *c, int action, const rta_error *e);

/* Channels (gateway_channels.c). */
void rta__channel_attach(rta_conn *c, const rta_protocol_message *m);
void rta__channel_detach(rta_conn *c, const rta_protocol_message *m);
void rta__channel_publish(rta_conn *c, const rta_protocol_message *m);
/* After a capability change: channels no longer allowed get ERROR 40160 and are left. */
void rta__channels_recheck(rta_conn *c);
void rta__channels_leave_all(rta_conn *c);
void rta__channels_free(rta_gateway *gw);

/* Presence (gateway_presence.c; RTP, wire protocol 2.1 HAS_PRESENCE, SYNC). */
void rta__presence_handle(rta_conn *c, rta_protocol_message *m); /* PRESENCE in: ACK/NACK */
/* Before c leaves ch (detach, close, capability lost): its members leave (LEAVE fan-out). */
void rta__presence_conn_left(rta_conn *c, rta_channel *ch);
/* After c's modes on ch changed to `granted`: without the presence mode its members leave. */
void rta__presence_modes_changed(rta_conn *c, rta_channel *ch, uint32_t granted);
/* The HAS_PRESENCE flag for an ATTACHED with `granted`, and the SYNC that follows it. */
uint32_t rta__presence_attach_flags(const rta_channel *ch, uint32_t granted);
void rta__presence_sync(rta_conn *c, rta_channel *ch, uint32_t granted);
void rta__presence_free(rta_channel *ch);

#endif
