/* stub_http.c: see stub_http.h. */
#include "stub_http.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct conn {
    stub_server *s;
    int fd;
} conn;

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    default:
        return status >= 500 ? "Server Error" : "Status";
    }
}

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return; /* the client gave up (timeouts): fine */
        p += w;
        n -= (size_t)w;
    }
}

/* Reads one request into req; returns 0 or -1. */
static int read_request(int fd, stub_request *req)
{
    static const size_t cap = 300000;
    char *buf = malloc(cap);
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len >= cap - 1) goto fail;
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r <= 0) goto fail;
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - buf) + 4;
    char *line_end = strstr(buf, "\r\n");
    if (sscanf(buf, "%15s %8191s", req->method, req->target) != 2) goto fail;
    size_t hl = (size_t)(end - line_end);
    if (hl >= sizeof(req->headers)) hl = sizeof(req->headers) - 1;
    memcpy(req->headers, line_end, hl);
    req->headers[hl] = '\0';
    char cl[32];
    size_t want = stub_header(req, "content-length", cl, sizeof(cl)) ? strtoul(cl, NULL, 10) : 0;
    if (want >= sizeof(req->body)) goto fail;
    while (len - head_len < want) {
        if (len >= cap - 1) goto fail;
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r <= 0) goto fail;
        len += (size_t)r;
    }
    memcpy(req->body, buf + head_len, want);
    req->body[want] = '\0';
    req->body_len = want;
    free(buf);
    return 0;
fail:
    free(buf);
    return -1;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    stub_server *s = c->s;
    stub_request *req = calloc(1, sizeof(*req));
    if (req && read_request(c->fd, req) == 0) {
        pthread_mutex_lock(&s->mu);
        stub_handler h = s->handler;
        void *ctx = s->ctx;
        pthread_mutex_unlock(&s->mu);
        stub_reply rep = {.status = 200};
        if (h) h(req, &rep, ctx);
        if (rep.delay_ms) usleep((useconds_t)rep.delay_ms * 1000);
        size_t blen = rep.body ? (rep.body_len ? rep.body_len : strlen(rep.body)) : 0;
        char head[2048];
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n%s%s%s%s"
                         "Connection: close\r\n\r\n",
                         rep.status, reason(rep.status), blen,
                         rep.content_type[0] ? "Content-Type: " : "", rep.content_type,
                         rep.content_type[0] ? "\r\n" : "", rep.extra_headers);
        pthread_mutex_lock(&s->mu);
        memcpy(s->last, req, sizeof(*req));
        s->count++;
        pthread_mutex_unlock(&s->mu);
        send_all(c->fd, head, (size_t)n);
        if (blen) send_all(c->fd, rep.body, blen);
        free(rep.body);
    }
    free(req);
    shutdown(c->fd, SHUT_WR);
    close(c->fd);
    pthread_mutex_lock(&s->mu);
    s->active--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    stub_server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) continue;
        conn *c = malloc(sizeof(*c));
        c->s = s;
        c->fd = fd;
        pthread_mutex_lock(&s->mu);
        s->active++;
        pthread_mutex_unlock(&s->mu);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, conn_main, c) != 0) {
            close(fd);
            free(c);
            pthread_mutex_lock(&s->mu);
            s->active--;
            pthread_mutex_unlock(&s->mu);
        }
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

int stub_start(stub_server *s, stub_handler h, void *ctx)
{
    memset(s, 0, sizeof(*s));
    s->last = calloc(1, sizeof(*s->last));
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) || listen(s->fd, 64) ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen))
        return -1;
    s->port = ntohs(a.sin_port);
    snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
    s->handler = h;
    s->ctx = ctx;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    return pthread_create(&s->thread, NULL, accept_main, s) ? -1 : 0;
}

void stub_stop(stub_server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_lock(&s->mu);
    while (s->active > 0) /* slow replies still sleeping */
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->last);
}

void stub_set_handler(stub_server *s, stub_handler h, void *ctx)
{
    pthread_mutex_lock(&s->mu);
    s->handler = h;
    s->ctx = ctx;
    pthread_mutex_unlock(&s->mu);
}

int stub_count(stub_server *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->count;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void stub_reset_count(stub_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->count = 0;
    pthread_mutex_unlock(&s->mu);
}

void stub_last(stub_server *s, stub_request *out)
{
    pthread_mutex_lock(&s->mu);
    memcpy(out, s->last, sizeof(*out));
    pthread_mutex_unlock(&s->mu);
}

const char *stub_header(const stub_request *req, const char *name, char *buf, size_t size)
{
    size_t n = strlen(name);
    const char *p = req->headers;
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (!strncasecmp(p, name, n) && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t l = e ? (size_t)(e - v) : strlen(v);
            if (l >= size) l = size - 1;
            memcpy(buf, v, l);
            buf[l] = '\0';
            return buf;
        }
    }
    return NULL;
}

void stub_reply_set(stub_reply *r, int status, const char *content_type, const char *text)
{
    r->status = status;
    snprintf(r->content_type, sizeof(r->content_type), "%s", content_type ? content_type : "");
    free(r->body);
    r->body = text ? strdup(text) : NULL;
    r->body_len = 0;
}
