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

typedef struct rta_channel {
    char *name;
    rta_conn **members; /* attached connections */
    uint32_t *modes;    /* granted modes (requested ∩ capability), parallel to members */
    uint32_t *requested; /* requested modes, parallel to members: a new capability re-grants */
    size_t count, cap;
    uint64_t serial;
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
/* The one publish path, realtime and REST (RTL6, RSL1): records msgs in the channel's
 * history, then sends them to every connection attached with the subscribe mode (but not to
 * `from` when it asked for echo=false), encoded once per format. from is NULL for REST. */
void rta__channel_fanout(rta_gateway *gw, const char *app_id, rta_conn *from,
                         const char *channel, const char *id, rta_message *msgs, size_t n);
/* After a capability change: channels no longer allowed get ERROR 40160 and are left. */
void rta__channels_recheck(rta_conn *c);
void rta__channels_leave_all(rta_conn *c);
void rta__channels_free(rta_gateway *gw);

#endif
