/* listen_shared.h: the listen socket of a --workers worker (server/workers.h), shared with
 * the other workers through SO_REUSEPORT: the kernel spreads new connections over them.
 *
 * Why not libwebsockets' own listener: lws 4.1.6 sets SO_REUSEPORT only when it is built for
 * several service threads (roles/http/server/server.c: LWS_MAX_SMP > 1), and Debian 12's is
 * built with one, so a second worker's bind fails (EADDRINUSE) even with
 * LWS_SERVER_OPTION_ALLOW_LISTEN_SHARE. So the worker makes the socket, accepts on its libuv
 * loop, and hands every accepted socket to libwebsockets (lws_adopt_socket_vhost: HTTP, and
 * TLS when the vhost serves it), exactly as lws's own listener does; the vhost then listens
 * on nothing itself (CONTEXT_PORT_NO_LISTEN_SERVER).
 *
 * Part of the process room. Loop thread only. Errors are Ably 50000 with a message naming
 * the address (never a secret). */
#ifndef RTA_SERVER_LISTEN_SHARED_H
#define RTA_SERVER_LISTEN_SHARED_H

#include <uv.h>

#include "rtauth/error.h"

struct lws_vhost;

typedef struct rta_listen_shared {
    uv_poll_t poll;
    int fd;
    int opened, polling;
    struct lws_vhost *vh; /* where accepted sockets go (set before the first accept) */
    unsigned long long refused; /* accepts that failed for want of descriptors */
} rta_listen_shared;

/* Binds host:port with SO_REUSEADDR and SO_REUSEPORT and listens. Accepting starts with
 * rta_listen_shared_start. 0, or 50000 with err. */
int rta_listen_shared_open(rta_listen_shared *l, const char *host, int port, rta_error *err);
/* Accepts on `loop`, handing connections to vh. 0, or 50000 with err. */
int rta_listen_shared_start(rta_listen_shared *l, uv_loop_t *loop, struct lws_vhost *vh,
                            rta_error *err);
/* Stops accepting and closes the socket (the poll handle closes on the loop). Idempotent;
 * a no-op on a zeroed struct. */
void rta_listen_shared_close(rta_listen_shared *l);

#endif
