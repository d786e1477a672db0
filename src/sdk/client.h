/* client.h: what every librtauth client shares (the REST client now, the realtime client of
 * issue 6 later): the endpoint, HTTP connections, wire format, timeouts, logging, the server
 * time offset (RSA10k), the worker thread of the _async calls, and the rule that a blocking
 * call from one of the client's own callbacks fails instead of deadlocking.
 *
 * Never logs or formats a secret: log lines name keys by key name and URLs without their
 * query string.
 */
#ifndef RTA_SDK_CLIENT_H
#define RTA_SDK_CLIENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "core/codec.h"
#include "callback_thread.h"
#include "http.h"
#include "rtauth/error.h"
#include "rtauth/options.h"
#include "worker.h"

#define RTA__PROTOCOL_VERSION "6"
#define RTA__AGENT            "rtauth-c/0.1.0"

typedef struct rta__client {
    char *host;
    int port;
    int tls;
    int loopback;   /* host is a loopback address: Basic over plain HTTP allowed (RSA1) */
    char *base_url; /* "http(s)://host:port" */
    rta_format format;
    rta_timeouts timeouts;
    rta_client_log_level log_level;
    rta_log_handler log_handler;
    void *log_data;
    rta__http *http;
    /* RSA10k: server time - local time, fetched at most once unless time() is called. */
    pthread_mutex_t time_mu;
    atomic_int have_offset;
    _Atomic int64_t offset_ms;
    rta__worker worker;
    rta__cb_threads cb_threads; /* authCallbacks running (callback_thread.h) */
} rta__client;

/* Validates and copies the endpoint, format, timeouts and log settings from o. Returns 0,
 * 40003 (bad port or endpoint) or 50000. */
int rta__client_init(rta__client *c, const rta_client_options *o, rta_error *err);
/* Releases what rta__client_init made (the worker is stopped separately). */
void rta__client_release(rta__client *c);

void rta__log(const rta__client *c, rta_client_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Local wall clock in ms since the epoch. */
int64_t rta__now_ms(void);
/* Deadlines for pthread_cond_timedwait: t + ms on t's clock, and ms from now on CLOCK_MONOTONIC,
 * so that a wall-clock step neither stretches nor cuts a blocking call's timeout. Every
 * condition variable waited on with rta__deadline_ms is made by rta__cond_init_monotonic. */
struct timespec rta__timespec_add_ms(struct timespec t, int64_t ms);
struct timespec rta__deadline_ms(int64_t ms);
void rta__cond_init_monotonic(pthread_cond_t *cv);

/* The timestamp for a TokenRequest (RSA9d, RSA10k): local time plus the server offset when
 * one is known; with query_time and no offset yet, GET /time first (once per client, even
 * with concurrent callers). */
int rta__client_timestamp(rta__client *c, int query_time, int64_t *out, rta_error *err);
/* GET /time (RSC16) and store the offset. */
int rta__client_fetch_time(rta__client *c, int64_t *out, rta_error *err);
/* 1 and *now_server set when an offset is known (RSA4b1). */
int rta__client_server_now(rta__client *c, int64_t *now_server);

/* The err contract of error.h: every public function that returns a status leaves err "no
 * error" on success, even when an attempt on the way failed (a token renewed, RSA4b). */
static inline int rta__finish(rta_error *err, int rc)
{
    if (!rc && err) rta_error_clear(err);
    return rc;
}

/* Callback bookkeeping: the library wraps every user callback of client `owner` in
 * enter/leave; blocking entry points call rta__check_not_in_callback first. */
const void *rta__callback_enter(const void *owner);
void rta__callback_leave(const void *previous);
/* 0, or 40000 when the calling thread is inside a callback of owner. */
int rta__check_not_in_callback(const void *owner, rta_error *err);

/* Headers for one request: owned "Name: value" lines, NULL-terminated for rta__http_req. */
#define RTA__MAX_HEADERS 40
typedef struct rta__headers {
    char *lines[RTA__MAX_HEADERS + 1];
    int count;
    int oom;
} rta__headers;
void rta__headers_add(rta__headers *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rta__headers_free(rta__headers *h);

/* The Ably error of a non-2xx reply (RSC10: the body may be JSON or msgpack): the body's
 * {error:{code,statusCode,message}}, else x-ably-errorcode/-message, else status * 100.
 * Fills err and returns the code. */
int rta__error_from_response(const rta__http_resp *r, rta_error *err);

/* 1 when the Content-Type names media type `type` (parameters like charset ignored). */
int rta__content_type_is(const char *content_type, const char *type);

#endif
