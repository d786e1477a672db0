/* gateway/transport_lws.c: every libwebsockets call of the realtime gateway, behind its hooks
 * (gateway.h; see transport_lws.h). A connection's transport is its struct lws (the gateway
 * holds it as an opaque rta_gateway_transport); the gateway's one timer is an lws_sul on the
 * server's context, armed at the earliest deadline of the gateway's heap (gateway/timers.c
 * says why not one lws timer per connection).
 *
 * What it must never do: decide anything. Which frame goes out, when a connection closes and
 * why are the gateway's; this file only translates. */
#include "server/gateway/transport_lws.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "rtauth/error.h"

typedef struct lws_adapter {
    rta_gateway *gw;
    struct lws_context **ctx; /* the server's; NULL before it exists and once destroyed */
    int (*is_loopback)(struct lws *wsi);
    lws_sorted_usec_list_t sul; /* the gateway's one timer */
} lws_adapter;

static struct lws *wsi_of(rta_gateway_transport *t)
{
    return (struct lws *)t;
}

static void want_write(void *data, rta_gateway_transport *t)
{
    (void)data;
    lws_callback_on_writable(wsi_of(t));
}

static int can_write_now(void *data, rta_gateway_transport *t)
{
    (void)data;
    return !lws_partial_buffered(wsi_of(t)); /* else lws_write would continue that frame */
}

static int write_frame(void *data, rta_gateway_transport *t, unsigned char *bytes, size_t len,
                       int binary)
{
    (void)data;
    int w = lws_write(wsi_of(t), bytes, len, binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
    return w < (int)len ? -1 : 0;
}

static int ping(void *data, rta_gateway_transport *t)
{
    (void)data;
    /* A payload, because lws does not report an empty PONG (RECEIVE_PONG) */
    unsigned char buf[LWS_PRE + 4] = {0};
    memcpy(buf + LWS_PRE, "rta", 3);
    return lws_write(wsi_of(t), buf + LWS_PRE, 3, LWS_WRITE_PING) < 0 ? -1 : 0;
}

static void close_now(void *data, rta_gateway_transport *t)
{
    (void)data;
    lws_set_timeout(wsi_of(t), PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static const char *query_arg(void *data, rta_gateway_transport *t, const char *name, char *buf,
                             size_t size)
{
    (void)data;
    return lws_get_urlarg_by_name(wsi_of(t), name, buf, (int)size);
}

static int is_tls(void *data, rta_gateway_transport *t)
{
    (void)data;
    return lws_is_ssl(wsi_of(t));
}

static int is_loopback(void *data, rta_gateway_transport *t)
{
    return ((lws_adapter *)data)->is_loopback(wsi_of(t));
}

static void on_timer(lws_sorted_usec_list_t *sul)
{
    rta_gateway_timers_due(lws_container_of(sul, lws_adapter, sul)->gw);
}

static int timer_arm(void *data, int64_t delay_ms)
{
    lws_adapter *a = data;
    if (!*a->ctx) return -1;
    lws_sul_schedule(*a->ctx, 0, &a->sul, on_timer, (lws_usec_t)delay_ms * 1000);
    return 0;
}

static void timer_cancel(void *data)
{
    lws_adapter *a = data;
    if (*a->ctx) lws_sul_cancel(&a->sul);
}

static void cleanup(void *data)
{
    free(data);
}

int rta_gateway_lws_hooks(rta_gateway_hooks *hooks, rta_gateway *gw, struct lws_context **ctx,
                          int (*loopback)(struct lws *wsi))
{
    lws_adapter *a = calloc(1, sizeof(*a));
    if (!a) return RTA_ERR_INTERNAL;
    a->gw = gw;
    a->ctx = ctx;
    a->is_loopback = loopback;
    *hooks = (rta_gateway_hooks){
        .data = a,
        .headroom = LWS_PRE,
        .want_write = want_write,
        .can_write_now = can_write_now,
        .write = write_frame,
        .ping = ping,
        .close_now = close_now,
        .query_arg = query_arg,
        .is_tls = is_tls,
        .is_loopback = is_loopback,
        .timer_arm = timer_arm,
        .timer_cancel = timer_cancel,
        .cleanup = cleanup,
    };
    return 0;
}

int rta_gateway_lws_callback(rta_gateway *gw, struct lws *wsi, int reason, rta_conn **slot,
                             void *in, size_t len)
{
    rta_conn *c = *slot;
    rta_gateway_transport *t = (rta_gateway_transport *)wsi;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: rta_gateway_open(gw, t, slot); return 0;
    case LWS_CALLBACK_RECEIVE:
        if (c)
            rta_gateway_receive(c, in, len,
                                lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi));
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        if (c) rta_gateway_pong(c);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (!c) return -1;
        switch (rta_gateway_writeable(c)) {
        case RTA_GATEWAY_WRITE_OK: return 0;
        case RTA_GATEWAY_WRITE_CLOSE:
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
            return -1;
        default: return -1;
        }
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c) rta_gateway_peer_closing(c);
        return 0; /* lws answers the close */
    case LWS_CALLBACK_CLOSED:
        if (c) rta_gateway_closed(c);
        return 0;
    default: return 0;
    }
}
