/* metrics.h: rtauthd's operational metrics (issue 17), rendered for Prometheus by GET /metrics
 * in text exposition format 0.0.4 (docs/operations.md lists every family).
 *
 * One process-wide set of counters, gauges and histograms, so that any room (REST, gateway,
 * store thread) records with one call and no wiring. Recording is cheap: a relaxed atomic add
 * (or two for a histogram), no lock, no allocation, never a log line. The loop thread is the
 * main writer; the store thread records store latencies; the render runs on the loop thread.
 *
 * Labels are bounded: app ids (at most RTA_METRICS_MAX_APPS, the rest under app="_other"),
 * Ably error codes (at most RTA_METRICS_MAX_CODES distinct ones, the rest under "other").
 * Never a clientId, a key secret, a token or anything a client chose freely.
 *
 * Access to GET /metrics (rta_metrics_access_*): open when rtauthd listens on a loopback
 * address only; otherwise only to a request with the metrics bearer token
 * (--metrics-token-file) or one a hook set by the embedding code allows.
 *
 * Must never: block, allocate on the hot path, or take a label value from a request.
 */
#ifndef RTA_SERVER_METRICS_H
#define RTA_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "rtauth/error.h"

#define RTA_METRICS_MAX_APPS  256
#define RTA_METRICS_MAX_CODES 64

/* Plain counters without labels. */
typedef enum rta_metric_counter {
    RTA_M_REVOCATIONS = 0,        /* rtauthd_revocations_total: targets made durable */
    RTA_M_REVOCATION_DISCONNECTS, /* rtauthd_revocation_disconnects_total */
    RTA_M_GATEWAY_QUEUE_DROPS,    /* rtauthd_gateway_queue_drops_total: connections dropped */
    RTA_M_MESSAGES_IN,            /* rtauthd_messages_total{direction="in"} */
    RTA_M_MESSAGES_OUT,           /* rtauthd_messages_total{direction="out"} */
    RTA_M_HTTP_REQUESTS,          /* rtauthd_http_requests_total */
    RTA_M_COUNTER_COUNT
} rta_metric_counter;

/* Gauges without labels, read at render time from their owner (rta_metrics_set_gauge_source). */
typedef enum rta_metric_gauge {
    RTA_G_REVOCATION_RECORDS = 0, /* rtauthd_revocation_index_records: revocations held */
    RTA_G_REVOCATION_BYTES,       /* rtauthd_revocation_index_bytes: the memory they take */
    RTA_G_COUNT
} rta_metric_gauge;

/* Latency histograms, in seconds on the wire, recorded in nanoseconds. */
typedef enum rta_metric_histogram {
    RTA_H_REQUEST_TOKEN = 0, /* rtauthd_request_token_duration_seconds: request to reply */
    RTA_H_REVOCATION_APPLY,  /* rtauthd_revocation_apply_duration_seconds: receipt to the
                              * last affected connection told and closing */
    RTA_H_NONCE_CHECK,       /* rtauthd_nonce_check_duration_seconds: making a nonce durable
                              * (journal write, or the store's check-and-set) */
    RTA_H_STORE_OP,          /* rtauthd_store_op_duration_seconds: one store-thread job */
    RTA_H_COUNT
} rta_metric_histogram;

/* Starts the process's metrics (start time, version label). Call once, before the loop
 * runs; later calls only reset nothing. version is copied. */
void rta_metrics_init(const char *version);
/* Zeroes everything (tests). Not thread-safe against writers. */
void rta_metrics_reset(void);

/* Monotonic nanoseconds, for durations. */
uint64_t rta_metrics_now_ns(void);

void rta_metrics_add(rta_metric_counter c, uint64_t n);
/* Any thread. */
void rta_metrics_observe_ns(rta_metric_histogram h, uint64_t ns);
/* Observes now - start_ns. */
void rta_metrics_observe_since(rta_metric_histogram h, uint64_t start_ns);

/* A requestToken answered: code 0 issued, else the Ably code of the refusal. Loop thread. */
void rta_metrics_token_request(int code);
/* A new realtime connection admitted for app_id (not a resume). Loop thread. */
void rta_metrics_connection_opened(const char *app_id);
/* An admitted connection ended for good: reason is the Ably code of its ending frame, 0
 * (label "normal") when the client closed it or it was never resumed after its transport
 * went, RTA_METRICS_REASON_OVERFLOW when its queue overflowed. Loop thread. */
#define RTA_METRICS_REASON_OVERFLOW (-1)
void rta_metrics_connection_closed(int reason);
/* A realtime connection refused before it was admitted (credentials, limits): its Ably code.
 * Loop thread. */
void rta_metrics_connection_refused(int code);

/* The connection gauge (rtauthd_connections{app,state}) is read at render time from whoever
 * holds the connections: source(ctx, emit, arg) calls emit(arg, app_id, awaiting_resume)
 * once per connection it counts. Set once at start (loop thread); NULL unsets. */
typedef void (*rta_metrics_conn_emit)(void *arg, const char *app_id, int awaiting_resume);
typedef void (*rta_metrics_conn_source)(void *ctx, rta_metrics_conn_emit emit, void *arg);
void rta_metrics_set_conn_source(rta_metrics_conn_source source, void *ctx);
/* The label-less gauges, likewise: source(ctx, out) fills out[RTA_G_COUNT] (zeroed before).
 * Set once at start (loop thread); NULL unsets. */
typedef void (*rta_metrics_gauge_source)(void *ctx, uint64_t out[RTA_G_COUNT]);
void rta_metrics_set_gauge_source(rta_metrics_gauge_source source, void *ctx);

/* Renders every family in text format 0.0.4 (# HELP and # TYPE for each) onto out.
 * Returns 0, or -1 when out ran out of memory. Loop thread. */
int rta_metrics_render(rta_buf *out);

/* The text format's Content-Type. */
#define RTA_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ---- access to GET /metrics ----------------------------------------------------------------- */

/* A hook that may allow a request by other means (an operator console's own session, say):
 * returns 1 to allow. authorization is the request's Authorization header or NULL; peer its
 * address as text. Loop thread. */
typedef int (*rta_metrics_authorize_fn)(void *ctx, const char *authorization, const char *peer);

typedef struct rta_metrics_access {
    int open;                 /* rtauthd listens on loopback only: no credential needed */
    char *token;              /* the bearer token of --metrics-token-file, owned; NULL: none */
    size_t token_len;
    rta_metrics_authorize_fn authorize; /* NULL: none */
    void *authorize_ctx;
} rta_metrics_access;

/* Sets up access for a listener on listen_host: open when it is a loopback address
 * (127.0.0.0/8, ::1, localhost); the token read from token_file when it is not empty (a
 * regular, owner-only file, as the KEK file; 16..512 printable characters, surrounding
 * whitespace ignored). Returns 0, or 40000 with err naming the file (never its content). */
int rta_metrics_access_init(rta_metrics_access *a, const char *listen_host,
                            const char *token_file, rta_error *err);
void rta_metrics_access_free(rta_metrics_access *a);
/* Sets the hook (NULL clears it). */
void rta_metrics_access_set_hook(rta_metrics_access *a, rta_metrics_authorize_fn fn, void *ctx);
/* 0 when the request may read the metrics; else an Ably code (40101 no or wrong
 * credential, 40300 no credential is configured) with err filled. The token comparison is
 * constant-time. */
int rta_metrics_access_check(const rta_metrics_access *a, const char *authorization,
                             const char *peer, rta_error *err);

#endif
