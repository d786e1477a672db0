/* listen_shared.c: a worker's shared listen socket; see listen_shared.h. */
#include "server/listen_shared.h"

#include <errno.h>
#include <fcntl.h>
#include <libwebsockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/log.h"

#define ACCEPTS_PER_WAKE 64 /* then the loop serves the rest before accepting more */

int rta_listen_shared_open(rta_listen_shared *l, const char *host, int port, rta_error *err)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(host && *host ? host : NULL, service, &hints, &ai);
    if (gai)
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot resolve the listen address %s: %s",
                             host, gai_strerror(gai));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    int ok = fd >= 0 && !setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) &&
             !setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) &&
             !bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, SOMAXCONN);
    int saved = errno;
    freeaddrinfo(ai);
    if (!ok) {
        if (fd >= 0) close(fd);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot listen on %s:%d (shared): %s", host,
                             port, strerror(saved));
    }
    l->fd = fd;
    l->opened = 1;
    return 0;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    rta_listen_shared *l = h->data;
    (void)events;
    if (status < 0) return;
    for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* like lws at its limit: the connection waits in the backlog for room */
                if (!l->refused++ || !(l->refused % 1000))
                    rta_log_warn("out of descriptors: %llu accept(s) deferred so far",
                                 l->refused);
            }
            return; /* EAGAIN: none left; anything else: the next wake tries again */
        }
        /* lws's own accept sets the socket options (lws_plat_set_socket_options); adopting
         * skips them, and without TCP_NODELAY a reply written in two parts waited for the
         * peer's delayed ACK: 40 ms per requestToken, 8 ms AUTH p99 (make bench-scale). */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        lws_adopt_socket_vhost(l->vh, fd); /* lws closes fd itself when it cannot adopt it */
    }
}

int rta_listen_shared_start(rta_listen_shared *l, uv_loop_t *loop, struct lws_vhost *vh,
                            rta_error *err)
{
    l->vh = vh;
    if (uv_poll_init(loop, &l->poll, l->fd))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot watch the listen socket");
    l->poll.data = l;
    l->polling = 1;
    if (uv_poll_start(&l->poll, UV_READABLE, on_readable))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot watch the listen socket");
    return 0;
}

void rta_listen_shared_close(rta_listen_shared *l)
{
    if (l->polling) {
        uv_poll_stop(&l->poll);
        uv_close((uv_handle_t *)&l->poll, NULL);
        l->polling = 0;
    }
    if (l->opened) close(l->fd);
    l->opened = 0;
}
