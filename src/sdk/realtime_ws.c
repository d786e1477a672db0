/* realtime_ws.c: the realtime client's transport: one libwebsockets client context per
 * rta_realtime, serviced by its I/O thread; the WebSocket URL (wire doc 1.3), the frame queue,
 * and inbound frames reassembled, bounded and decoded with the core codec (protocol.h).
 *
 * Every function here runs on the I/O thread with rt->mu held (lws calls its callback from
 * lws_service, which the I/O thread calls without the lock: the callback takes it).
 * Never logs a URL: it carries the key or the token.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realtime_internal.h"

static void url_encode(rta_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p)) {
            rta_buf_putc(b, (char)*p);
        } else {
            rta_buf_putc(b, '%');
            rta_buf_putc(b, hex[*p >> 4]);
            rta_buf_putc(b, hex[*p & 15]);
        }
    }
}

static void free_tx(rta_realtime *rt)
{
    for (rta__frame *f = rt->tx_head, *n; f; f = n) {
        n = f->next;
        free(f);
    }
    rt->tx_head = rt->tx_tail = NULL;
}

/* The transport is gone (closed, failed or dropped by us): forget it. */
static void transport_gone(rta_realtime *rt)
{
    rt->wsi = NULL;
    rt->transport_open = 0;
    rt->close_after_send = 0;
    free_tx(rt);
    rta_buf_reset(&rt->rx);
}

static int on_frame(rta_realtime *rt, struct lws *wsi, const void *in, size_t len)
{
    if (rt->rx.len + len > RTA__RT_MAX_FRAME) {
        rta_error e;
        rta_error_set(&e, RTA_ERR_MESSAGE_TOO_LARGE, "Frame larger than %d bytes",
                      RTA__RT_MAX_FRAME);
        rta__ws_drop(rt, 0);
        rta__rt_dropped(rt, &e);
        return -1;
    }
    rta_buf_append(&rt->rx, in, len);
    if (!lws_is_final_fragment(wsi)) return 0;
    rta_protocol_message m;
    rta_error e;
    rta_parse_limits lim = {RTA__RT_MAX_FRAME, 0};
    int rc = rta_protocol_message_decode(rt->rx.data, rt->rx.len, rt->client.format, &lim, &m, &e);
    rta_buf_reset(&rt->rx);
    if (rc) return 0; /* as ably-js: a message we can't read is dropped (wire doc 2.3) */
    rt->last_activity = rta__mono_ms();
    rta__conn_on_message(rt, &m);
    rta_protocol_message_clear(&m);
    return 0;
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    (void)user;
    struct lws_context *ctx = lws_get_context(wsi);
    rta_realtime *rt = ctx ? lws_context_user(ctx) : NULL;
    if (!rt) return 0;
    int ret = 0;
    int nested = rta__rt_enter(rt);
    /* The connection being created, reporting before connect returns. Not a WSI_DESTROY: that
     * may be an older wsi we dropped, now reported as a drop; a new one destroyed inside
     * connect makes connect return NULL, which rta__ws_open reports itself. */
    if (rt->in_connect && !rt->wsi && reason != LWS_CALLBACK_EVENT_WAIT_CANCELLED &&
        reason != LWS_CALLBACK_WSI_DESTROY)
        rt->wsi = wsi;
    int current = wsi == rt->wsi;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        rta__rt_process(rt);
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (current) {
            rt->transport_open = 1;
            rt->last_activity = rta__mono_ms();
            rta__conn_opened(rt);
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (current) ret = on_frame(rt, wsi, in, len);
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!current) {
            ret = -1;
            break;
        }
        if (rt->tx_head) {
            rta__frame *f = rt->tx_head;
            rt->tx_head = f->next;
            if (!rt->tx_head) rt->tx_tail = NULL;
            int n = lws_write(wsi, f->data + LWS_PRE, f->len,
                              f->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
            free(f);
            if (n < 0) {
                ret = -1;
                break;
            }
        }
        if (rt->tx_head)
            lws_callback_on_writable(wsi);
        else if (rt->close_after_send)
            ret = -1;
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        /* Every end of the current attempt reaches the state machine at once (RTN14). lws does
         * not always say CONNECTION_ERROR or CLOSED first: a reset while it is still writing
         * the handshake request destroys the wsi with nothing else (issue 15). A wsi we
         * dropped ourselves is no longer current, so this never reports our own drops. */
        if (current) {
            rta_error e;
            rta_error_set(&e, RTA_ERR_DISCONNECTED, "%s",
                          reason == LWS_CALLBACK_CLIENT_CLOSED         ? "WebSocket closed"
                          : reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR ? "Unable to connect"
                                                                       : "Connection lost");
            transport_gone(rt);
            rta__rt_dropped(rt, &e);
        }
        break;
    default:
        break;
    }
    rta__rt_leave(rt, nested);
    return ret;
}

static const struct lws_protocols protocols[] = {
    {"rtauth-realtime", on_lws, 0, 16384, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static void quiet_lws(void)
{
    lws_set_log_level(LLL_ERR, NULL); /* lws notices would go to stderr otherwise */
}

int rta__ws_init(rta_realtime *rt, const char *ca_file, rta_error *err)
{
    pthread_once(&log_once, quiet_lws);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = rt;
    info.fd_limit_per_thread = 8; /* one socket and the wake pipe: keep idle clients small */
    info.options = rt->client.tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
    info.client_ssl_ca_filepath = ca_file;
    rt->lws = lws_create_context(&info);
    if (!rt->lws) return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot create the WebSocket context");
    return 0;
}

void rta__ws_free(rta_realtime *rt)
{
    if (rt->lws) lws_context_destroy(rt->lws);
    rt->lws = NULL;
    free_tx(rt);
}

int rta__ws_open(rta_realtime *rt, const char *token, rta_error *err)
{
    rta_buf path = RTA_BUF_INIT;
    rta_auth *a = &rt->auth;
    if (token) {
        rta_buf_puts(&path, "/?access_token=");
        url_encode(&path, token);
    } else {
        rta_buf_puts(&path, "/?key=");
        url_encode(&path, a->opts.key); /* immutable under Basic: authorize switches to token */
    }
    if (rt->client_id_param) {
        rta_buf_puts(&path, "&clientId=");
        url_encode(&path, rt->client_id_param);
    }
    if (rt->conn_key[0]) { /* RTN15b: resume */
        rta_buf_puts(&path, "&resume=");
        url_encode(&path, rt->conn_key);
    }
    if (!rt->set.echo_messages) rta_buf_puts(&path, "&echo=false");
    rta_buf_printf(&path, "&format=%s&heartbeats=false&v=" RTA__PROTOCOL_VERSION "&agent=",
                   rt->client.format == RTA_FORMAT_MSGPACK ? "msgpack" : "json");
    url_encode(&path, RTA__AGENT);
    if (path.oom) {
        rta_buf_free(&path);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    rta_buf_putc(&path, '\0');
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = rt->lws;
    ci.address = rt->client.host;
    ci.port = rt->client.port;
    ci.path = path.data;
    ci.host = rt->client.host;
    ci.origin = rt->client.host;
    ci.ssl_connection = rt->client.tls ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = protocols[0].name;
    transport_gone(rt);
    rt->in_connect = 1;
    struct lws *w = lws_client_connect_via_info(&ci);
    rt->in_connect = 0;
    memset(path.data, 0, path.len); /* it holds the credential */
    rta_buf_free(&path);
    if (!w) {
        rt->wsi = NULL;
        return rta_error_set(err, RTA_ERR_DISCONNECTED, "Unable to connect");
    }
    rt->wsi = w;
    return 0;
}

int rta__ws_send(rta_realtime *rt, const rta_protocol_message *m)
{
    if (!rt->wsi || !rt->transport_open) return 0; /* resent on the next transport if needed */
    /* The frame header and LWS_PRE bytes of headroom first, then the encoding: no copy. */
    const size_t head = offsetof(rta__frame, data) + LWS_PRE;
    rta_buf b = RTA_BUF_INIT;
    if (rta_buf_reserve(&b, head)) rta_buf_commit(&b, head);
    if (b.oom || rta_protocol_message_encode(m, rt->client.format, &b) || b.oom) {
        rta_buf_free(&b);
        return RTA_ERR_INTERNAL;
    }
    size_t len = b.len - head;
    rta__frame *f = (rta__frame *)(void *)rta_buf_detach(&b, NULL);
    if (!f) return RTA_ERR_INTERNAL;
    f->next = NULL;
    f->len = len;
    f->binary = rt->client.format == RTA_FORMAT_MSGPACK;
    if (rt->tx_tail)
        rt->tx_tail->next = f;
    else
        rt->tx_head = f;
    rt->tx_tail = f;
    lws_callback_on_writable(rt->wsi);
    return 0;
}

void rta__ws_drop(rta_realtime *rt, int graceful)
{
    if (!rt->wsi) return;
    if (graceful && rt->transport_open && rt->tx_head) {
        rt->close_after_send = 1; /* WRITEABLE closes after the last frame */
        lws_callback_on_writable(rt->wsi);
        return;
    }
    struct lws *w = rt->wsi;
    transport_gone(rt);
    lws_set_timeout(w, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}
