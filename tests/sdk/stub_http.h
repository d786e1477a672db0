/* stub_http.h: a tiny HTTP/1.1 server for the SDK tests, on a free loopback port, in its own
 * threads: it plays the app's authUrl endpoint (GET, POST, any status, any Content-Type, slow
 * replies) and, where a test must count or inspect requests, a fake REST host. It records
 * every request so tests can check what librtauth sent. One connection per request
 * (Connection: close), one thread per connection. */
#ifndef RTA_TEST_STUB_HTTP_H
#define RTA_TEST_STUB_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct stub_request {
    char method[16];
    char target[8192];   /* path and query as received */
    char headers[16384]; /* the raw header lines */
    char body[262144];
    size_t body_len;
} stub_request;

typedef struct stub_reply {
    int status;               /* default 200 */
    char content_type[128];   /* "" sends no Content-Type header */
    char *body;               /* malloc'd by the handler (or NULL); freed by the stub */
    size_t body_len;          /* 0: strlen(body) */
    int delay_ms;             /* sleep before answering */
    char extra_headers[1024]; /* "Name: value\r\n" lines */
} stub_reply;

/* Fills reply for req. Runs on a connection thread; ctx is the stub's. */
typedef void (*stub_handler)(const stub_request *req, stub_reply *reply, void *ctx);

typedef struct stub_server {
    int fd;
    int port;
    char url[64]; /* "http://127.0.0.1:<port>" */
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int active; /* connection threads running */
    stub_handler handler;
    void *ctx;
    int count;          /* requests answered */
    stub_request *last; /* copy of the last request */
} stub_server;

int stub_start(stub_server *s, stub_handler h, void *ctx);
void stub_stop(stub_server *s);
void stub_set_handler(stub_server *s, stub_handler h, void *ctx);
int stub_count(stub_server *s);
void stub_reset_count(stub_server *s);
/* Copies the last request into *out (heap-sized struct: allocate it). */
void stub_last(stub_server *s, stub_request *out);
/* The value of header name in req (case-insensitive), copied into buf; NULL when absent. */
const char *stub_header(const stub_request *req, const char *name, char *buf, size_t size);
/* Convenience: reply->body = strdup(text), content type, status. */
void stub_reply_set(stub_reply *r, int status, const char *content_type, const char *text);

#endif
