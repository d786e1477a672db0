/* gateway/transport_lws.h: the realtime gateway over libwebsockets: the one adapter between
 * the gateway's hooks (gateway.h) and lws, as hiredis's adapters/libuv.h is between
 * redisAsyncContext.ev and libuv. server.c creates the hooks and routes the WebSocket
 * callbacks here; nothing else in the gateway knows lws exists. libwebsockets.h stays out of
 * this header (struct lws is only named). */
#ifndef RTA_SERVER_GATEWAY_TRANSPORT_LWS_H
#define RTA_SERVER_GATEWAY_TRANSPORT_LWS_H

#include <stddef.h>

#include "server/gateway/gateway.h"

struct lws;
struct lws_context;

/* Fills *hooks for gw with lws: frames with lws_write(), closes with lws_set_timeout(), the
 * gateway's one timer as an lws_sul on *ctx. ctx points at the server's context pointer: the
 * context is created after the gateway and set back to NULL by lws once destroyed; no timer
 * is armed while it is NULL. is_loopback says whether a wsi's peer is a loopback address
 * (the server passes the REST room's check, so REST and WebSocket agree on Basic over plain
 * HTTP, S-2). The hooks' data is allocated here and freed by the gateway (hooks->cleanup).
 * Returns 0, or RTA_ERR_INTERNAL when out of memory. */
int rta_gateway_lws_hooks(rta_gateway_hooks *hooks, rta_gateway *gw, struct lws_context **ctx,
                          int (*is_loopback)(struct lws *wsi));

/* The WebSocket part of the lws protocol callback (reason: an enum lws_callback_reasons):
 * ESTABLISHED, RECEIVE, RECEIVE_PONG, SERVER_WRITEABLE and CLOSED. *slot lives in the wsi's
 * session (the gateway's connection on that wsi). Returns what the callback must return. */
int rta_gateway_lws_callback(rta_gateway *gw, struct lws *wsi, int reason, rta_conn **slot,
                             void *in, size_t len);

#endif
