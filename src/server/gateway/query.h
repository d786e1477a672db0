/* gateway/query.h: what the REST room may read of, and do through, the realtime gateway
 * beyond publish and message history (gateway.h): a channel's occupancy (RSL8, GET
 * /channels/{name}), its presence set (RSP3, GET /channels/{name}/presence), its presence
 * history (RSP4, GET /channels/{name}/presence/history), and a REST publish made on behalf
 * of a realtime connection (RSL1m, TM2h: Message.connectionKey).
 *
 * Small accessors over the gateway's records, so that the REST routes never see rta_conn or
 * rta_channel (gateway/internal.h). Everything here runs on the loop thread, and everything
 * is node-local: in cluster mode (docs/cluster.md) connections and presence members are per
 * node, so occupancy, the presence set and presence history describe this node only.
 *
 * Never: log clientIds, data or connection keys; hand out a pointer that outlives the next
 * call that changes the gateway.
 */
#ifndef RTA_SERVER_GATEWAY_QUERY_H
#define RTA_SERVER_GATEWAY_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/protocol.h"
#include "server/gateway/gateway.h"

/* ChannelMetrics (CHM2) of one channel on this node. */
typedef struct rta_channel_occupancy {
    long long connections;          /* attached connections */
    long long publishers;           /* ... granted the publish mode */
    long long subscribers;          /* ... granted the subscribe mode */
    long long presence_connections; /* ... granted the presence mode */
    long long presence_members;     /* members of the presence set */
    long long presence_subscribers; /* ... granted the presence-subscribe mode */
    long long object_publishers;
    long long object_subscribers;
} rta_channel_occupancy;

/* Fills *out for app_id's channel (zeros when nobody is attached here). Returns 1 when the
 * channel is active on this node (at least one attached connection), else 0. */
int rta_gateway_occupancy(rta_gateway *gw, const char *app_id, const char *channel,
                          rta_channel_occupancy *out);

/* The presence set (RSP3) of app_id's channel, in entry order, filtered by client_id and
 * connection_id when not NULL: members from position `skip` of the filtered list, at most
 * `limit` of them into out[] as borrowed views (action present, RTP2), valid until the
 * gateway changes. Returns how many were written; *more is 1 when members follow. */
size_t rta_gateway_presence_list(rta_gateway *gw, const char *app_id, const char *channel,
                                 const char *client_id, const char *connection_id, size_t skip,
                                 size_t limit, rta_presence_message *out, int *more);

/* Presence history (RSP4): q as for message history (gateway/history.h). Fills out[] (room
 * for q->limit) with owned copies, to be cleared by the caller. Returns the count. Events are
 * recorded as they are broadcast (gateway/presence.c), in the window of the message history's
 * limits (the same rta_history_limits, a second budget of their own). */
size_t rta_gateway_presence_history(rta_gateway *gw, const char *app_id, const char *channel,
                                    const rta_history_query *q, int64_t now,
                                    rta_presence_message *out, int *more, uint64_t *next_cursor);

/* A REST publish on behalf of the realtime connection whose connectionKey is `key` (RSL1m,
 * TM2h): msgs (already checked against the request's credentials) must also be allowed to
 * that connection (its app, publish capability, clientId rules S-51..S-53: its clientId is
 * stamped on messages without one); then they carry its connectionId and follow its echo
 * rule (RTL7f). On a single node they go out now (done is not called: returns 0); in
 * cluster mode through the relay, done later, exactly once (returns 0). Returns an Ably code
 * with err set when refused (nothing sent, done not called): 80018/400 for a key that is
 * malformed, unknown to this node, of an ended connection or of another app (one message for
 * all: a key is a secret, its existence is not told apart), 40160, 40012. */
int rta_gateway_publish_as(rta_gateway *gw, const char *app_id, const char *key,
                           const char *channel, const char *id, rta_message *msgs, size_t n,
                           rta_gateway_published_cb done, void *arg, rta_error *err);

/* Presence history's window (for the server's housekeeping sweep). */
rta_history *rta_gateway_presence_history_window(rta_gateway *gw);

#endif
