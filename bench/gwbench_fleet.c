/* gwbench_fleet.c: many WebSocket client connections on one libwebsockets client context
 * (see gwbench.h). Connections are opened a bounded number at a time (a real server's
 * handshake pool is finite, and the connect rate is what is measured), each keeps a FIFO of
 * encoded frames, and incoming frames are reassembled and decoded with the core codec
 * before going to the phase's hook. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "gwbench.h"

#define RX_BUFFER 16384
#define MAX_RX (1024 * 1024)

double gw_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void gw_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench_gateway: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* The generator runs lws on a libuv loop (epoll) of its own: with poll(), every loop turn
 * would scan 10,000 descriptors and the generator's own cost would swamp the latencies. */
static uv_loop_t loop;
static uv_timer_t tick; /* gw_fleet_run_until's wake-up */
static int tick_ready;

/* Per-connection reassembly buffers live beside the clients (index-parallel). */
static rta_buf *rx_bufs;

static void frame_free(gw_frame *fr)
{
    rta_buf_free(&fr->data);
    free(fr);
}

static void client_drop_queue(gw_client *c)
{
    while (c->out_head) {
        gw_frame *fr = c->out_head;
        c->out_head = fr->next;
        frame_free(fr);
    }
    c->out_tail = NULL;
}

void gw_send(gw_client *c, const rta_protocol_message *m)
{
    gw_frame *fr = calloc(1, sizeof(*fr));
    if (!fr) gw_die("out of memory");
    char *room = rta_buf_reserve(&fr->data, LWS_PRE);
    if (!room) gw_die("out of memory");
    memset(room, 0, LWS_PRE);
    rta_buf_commit(&fr->data, LWS_PRE);
    if (rta_protocol_message_encode(m, RTA_FORMAT_JSON, &fr->data) || fr->data.oom)
        gw_die("cannot encode a protocol message");
    if (c->out_tail)
        c->out_tail->next = fr;
    else
        c->out_head = fr;
    c->out_tail = fr;
    if (c->wsi) lws_callback_on_writable(c->wsi);
}

static void on_frame(gw_fleet *f, gw_client *c, const void *data, size_t len)
{
    if (f->on_raw && f->on_raw(f, c, data, len)) return;
    rta_protocol_message m;
    rta_error e;
    if (rta_protocol_message_decode(data, len, RTA_FORMAT_JSON, NULL, &m, &e))
        gw_die("client %d: undecodable frame from the server: %s", c->index, e.message);
    if (m.action == RTA_ACTION_CONNECTED && c->state == GW_CONNECTING) {
        c->state = GW_CONNECTED;
        snprintf(c->conn_id, sizeof(c->conn_id), "%s", m.connection_id ? m.connection_id : "");
        f->connecting--;
        f->connected++;
        f->t_last_connected = gw_now_ms();
    } else if ((m.action == RTA_ACTION_DISCONNECTED || m.action == RTA_ACTION_ERROR) &&
               !m.channel) {
        c->closed_code = (m.has & RTA_PM_HAS_ERROR) ? m.error.code : -1;
    }
    if (f->on_message) f->on_message(f, c, &m);
    rta_protocol_message_clear(&m);
}

static void client_gone(gw_fleet *f, gw_client *c)
{
    if (c->state == GW_CONNECTING) f->connecting--;
    if (c->state == GW_CONNECTED) f->connected--;
    if (c->state != GW_CLOSED) f->closed++;
    c->state = GW_CLOSED;
    c->wsi = NULL;
    client_drop_queue(c);
    rta_buf_free(&rx_bufs[c->index]);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    gw_client *c = user;
    gw_fleet *f = lws_context_user(lws_get_context(wsi));
    if (!c || !f) return 0;
    if (c->wsi && wsi != c->wsi) return -1; /* a connection given up on (gw_fleet_retry_stalled) */
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c->out_head) lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        rta_buf *rx = &rx_bufs[c->index];
        int last = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
        if (last && !rx->len) {
            on_frame(f, c, in, len); /* the common case: a whole frame, no copy */
            return 0;
        }
        if (rx->len + len > MAX_RX) gw_die("client %d: frame too large", c->index);
        rta_buf_append(rx, in, len);
        if (last) {
            on_frame(f, c, rx->data, rx->len);
            rta_buf_reset(rx);
        }
        return 0;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
        gw_frame *fr = c->out_head;
        if (!fr) return 0;
        c->out_head = fr->next;
        if (!c->out_head) c->out_tail = NULL;
        size_t n = fr->data.len - LWS_PRE;
        c->t_sent = gw_now_ms(); /* a timed exchange starts when its frame is written */
        int w = lws_write(wsi, (unsigned char *)fr->data.data + LWS_PRE, n, LWS_WRITE_TEXT);
        frame_free(fr);
        if (w < (int)n) return -1;
        if (c->out_head) lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c->state == GW_CONNECTING) f->failed++;
        client_gone(f, c);
        gw_fleet_pump(f);
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED: client_gone(f, c); return 0;
    default: return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"gwbench", callback, 0, RX_BUFFER, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

void gw_fleet_init(gw_fleet *f, const char *host, size_t n, size_t max_in_flight)
{
    memset(f, 0, sizeof(*f));
    f->host = host;
    f->n = n;
    f->max_in_flight = max_in_flight;
    f->clients = calloc(n ? n : 1, sizeof(*f->clients));
    rx_bufs = calloc(n ? n : 1, sizeof(*rx_bufs));
    if (!f->clients || !rx_bufs) gw_die("out of memory");
    for (size_t i = 0; i < n; i++) f->clients[i].index = (int)i;
    lws_set_log_level(getenv("GWBENCH_LWS_DEBUG") ? LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_INFO | LLL_CLIENT : LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = f;
    if (uv_loop_init(&loop)) gw_die("uv_loop_init");
    static void *loops[1];
    loops[0] = &loop;
    info.foreign_loops = loops;
    info.options |= LWS_SERVER_OPTION_LIBUV;
    /* No fd_limit_per_thread: given one, lws 4.1.6 finds a socket's wsi by a linear search of
     * its table on every event (max_fds_unrelated_to_ulimit), 43% of a generator's CPU at
     * 16,700 connections; sized by the descriptor limit (raised by the caller), the lookup
     * is an index. */
    info.max_http_header_pool = (unsigned short)(max_in_flight + 16);
    info.timeout_secs = 30;
    /* No validity pings from the generator: lws keeps each connection's validity timer in
     * one sorted list, whose insertions cost O(connections); the server pings anyway. */
    static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0,
                                               .secs_since_valid_hangup = 0};
    info.retry_and_idle_policy = &no_validity;
    f->ctx = lws_create_context(&info);
    if (!f->ctx) gw_die("cannot create the libwebsockets client context");
}

void gw_fleet_free(gw_fleet *f)
{
    lws_context_destroy(f->ctx); /* closes every connection: CLIENT_CLOSED for each */
    if (tick_ready) uv_close((uv_handle_t *)&tick, NULL);
    tick_ready = 0;
    uv_run(&loop, UV_RUN_NOWAIT); /* lets lws's handles finish closing */
    uv_loop_close(&loop);
    for (size_t i = 0; i < f->n; i++) {
        client_drop_queue(&f->clients[i]);
        rta_buf_free(&rx_bufs[i]);
        free(f->clients[i].path);
    }
    free(f->clients);
    free(rx_bufs);
    rx_bufs = NULL;
}

void gw_fleet_connect_one(gw_fleet *f, gw_client *c)
{
    if (c->state == GW_CLOSED) f->closed--; /* a reconnect */
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = f->ctx;
    ci.address = f->host;
    ci.port = c->port ? c->port : f->ports[c->target];
    ci.path = c->path;
    ci.host = f->host;
    ci.origin = f->host;
    ci.iface = f->n_ifaces ? f->ifaces[(size_t)c->index % f->n_ifaces] : NULL;
    ci.ietf_version_or_minus_one = -1;
    ci.local_protocol_name = "gwbench";
    ci.userdata = c;
    ci.pwsi = &c->wsi;
    c->state = GW_CONNECTING;
    c->closed_code = 0;
    f->connecting++;
    if (!lws_client_connect_via_info(&ci) && c->state == GW_CONNECTING) {
        f->failed++;
        client_gone(f, c);
    }
}

void gw_fleet_pump(gw_fleet *f)
{
    f->started = 1;
    while (f->next_to_connect < f->n && f->connecting < f->max_in_flight)
        gw_fleet_connect_one(f, &f->clients[f->next_to_connect++]);
}

size_t gw_fleet_retry_stalled(gw_fleet *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->next_to_connect; i++) {
        gw_client *c = &f->clients[i];
        if (c->state != GW_CONNECTING) continue;
        c->wsi = NULL; /* whatever lws still holds for it is closed on its next event */
        f->connecting--;
        f->closed++;
        c->state = GW_CLOSED;
        gw_fleet_connect_one(f, c);
        n++;
    }
    return n;
}

/* Wakes the loop at least every 5 ms so deadlines and the caller's predicate are checked: a
 * libuv timer of our own (an lws sul scheduled from outside lws's service was not always
 * armed on the loop: an idle generator took up to 20 s to notice a command on stdin). */
static void on_tick(uv_timer_t *t)
{
    (void)t; /* nothing to do: returning from uv_run() is the point */
}

int gw_fleet_run_until(gw_fleet *f, int (*pred)(gw_fleet *f), double timeout_ms)
{
    if (!tick_ready && !uv_timer_init(&loop, &tick)) tick_ready = 1;
    double end = gw_now_ms() + timeout_ms;
    if (tick_ready) uv_timer_start(&tick, on_tick, 5, 5);
    int held = 1;
    while (!(pred && pred(f))) {
        if (gw_now_ms() >= end) {
            held = 0;
            break;
        }
        if (f->started && f->next_to_connect < f->n) gw_fleet_pump(f); /* a slot may be free */
        uv_run(&loop, UV_RUN_ONCE);
    }
    if (tick_ready) uv_timer_stop(&tick);
    return held;
}

void gw_fleet_run_for(gw_fleet *f, double ms)
{
    gw_fleet_run_until(f, NULL, ms);
}
