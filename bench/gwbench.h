/* gwbench.h: the gateway load generator's parts (bench_gateway.c drives them):
 *   gwbench_fleet.c  many libwebsockets client connections to one or two rtauthd, each with
 *                    a small outgoing frame queue; incoming frames go to a hook;
 *   gwbench_http.c   REST calls with libcurl (sandbox app, requestToken, revokeTokens) and
 *                    the server's VmRSS from /proc;
 *   gwbench_fanout.c publish-to-delivery fan-out against two servers, rounds alternated.
 * A benchmark, not a library: failures print a message and exit(1).
 */
#ifndef RTA_BENCH_GWBENCH_H
#define RTA_BENCH_GWBENCH_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/protocol.h"

/* ---- time and failure ---- */
double gw_now_ms(void); /* CLOCK_MONOTONIC */
void gw_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- the fleet ---- */

typedef enum { GW_IDLE = 0, GW_CONNECTING, GW_CONNECTED, GW_CLOSED } gw_state;

typedef struct gw_frame {
    struct gw_frame *next;
    rta_buf data; /* LWS_PRE bytes of headroom, then the frame */
} gw_frame;

typedef struct gw_client {
    struct lws *wsi;
    int index;
    int target;   /* which server: 0 or 1 */
    int port;     /* 0: ports[target]; else this one (another node of a cluster target) */
    gw_state state;
    char *path;   /* "/?v=6&format=json&access_token=..." (owned) */
    gw_frame *out_head, *out_tail;
    char conn_id[24];   /* from the first CONNECTED */
    /* for the phases */
    double t_sent;      /* when the last timed frame went out (AUTH) */
    int closed_code;    /* error code of a DISCONNECTED/ERROR received, 0 if none */
    int64_t msg_serial; /* next msgSerial (publishers) */
    int64_t acked;      /* ACKed messages (publishers) */
    uint64_t received;  /* frames received (fan-out subscribers) */
} gw_client;

typedef struct gw_fleet gw_fleet;
/* A decoded ProtocolMessage for c (owned by the caller: don't keep it). */
typedef void (*gw_on_message)(gw_fleet *f, gw_client *c, const rta_protocol_message *m);
/* Raw frame hook: return 1 if handled (then it is not decoded). */
typedef int (*gw_on_raw)(gw_fleet *f, gw_client *c, const void *data, size_t len);

struct gw_fleet {
    struct lws_context *ctx;
    const char *host;
    /* NULL, or the source addresses the connections bind to, in turn: the kernel's search for
     * a free port in bind() slows down as one address's ports fill up */
    char **ifaces;
    size_t n_ifaces;
    int ports[2];
    gw_client *clients;
    size_t n;
    size_t connecting, connected, closed, failed;
    size_t next_to_connect;
    int started; /* gw_fleet_pump() was called: the loop keeps connecting the rest */
    size_t max_in_flight; /* handshakes at once */
    double t_last_connected;
    gw_on_message on_message;
    gw_on_raw on_raw;
    void *user;
};

/* A client context sized for n connections; clients are zeroed, caller fills path/target. */
void gw_fleet_init(gw_fleet *f, const char *host, size_t n, size_t max_in_flight);
void gw_fleet_free(gw_fleet *f);
/* Starts as many queued connections as the in-flight bound allows. */
void gw_fleet_pump(gw_fleet *f);
/* Starts c's connection now (c idle, or closed: a reconnect with c->path). */
void gw_fleet_connect_one(gw_fleet *f, gw_client *c);
/* Starts again every connection still connecting: libwebsockets 4.1.6 now and then loses a
 * client connection in a storm (no socket, no callback, ever). Returns how many. */
size_t gw_fleet_retry_stalled(gw_fleet *f);
/* Services the loop until pred(f) is true or timeout_ms passes; returns 1 if pred held. */
int gw_fleet_run_until(gw_fleet *f, int (*pred)(gw_fleet *f), double timeout_ms);
/* Services the loop for ms. */
void gw_fleet_run_for(gw_fleet *f, double ms);
/* Queues m (JSON) for c. */
void gw_send(gw_client *c, const rta_protocol_message *m);

/* ---- HTTP ---- */

typedef struct gw_http gw_http;
gw_http *gw_http_new(const char *host, int port);
void gw_http_free(gw_http *h);
/* POST /apps with one key {"revocableTokens":true}; returns "keyName:secret" (malloc). */
char *gw_http_create_app(gw_http *h);
/* A token (malloc) for clientId (NULL: none) with capability JSON, via Basic requestToken. */
char *gw_http_request_token(gw_http *h, const char *key, const char *client_id,
                            const char *capability);
/* The clientId of the connections a revocation benchmark revokes (clientId:revoke-me). */
#define GW_REVOKED_CLIENT_ID "revoke-me"
/* One token per client of f with capability, and the client's connect path with it: revoke_n
 * clients spread evenly (every (n / revoke_n)-th) get clientId GW_REVOKED_CLIENT_ID and are
 * marked in is_revoked (n bytes), the others clientId c<i>. */
void gw_fleet_token_paths(gw_fleet *f, gw_http *h, const char *key, const char *capability,
                          size_t revoke_n, char *is_revoked);
/* POST /keys/{keyName}/revokeTokens {"targets":[target]}; returns the HTTP status. */
long gw_http_revoke(gw_http *h, const char *key, const char *target);
/* The same with n targets (at most 100: S-67). */
long gw_http_revoke_many(gw_http *h, const char *key, const char *const *targets, size_t n);

/* VmRSS of pid in KiB, from /proc/<pid>/status; -1 if unreadable. */
long gw_vmrss_kib(int pid);

/* ---- in-band AUTH round trips (gwbench_auth.c) ---- */
typedef struct gw_auth_sampler {
    char **tokens;  /* per sample, owned */
    int *clients;   /* per sample: the client index */
    double *ms;     /* per sample: write of AUTH to its reply */
    int *pending;   /* per client: sample index + 1 while its AUTH is out */
    size_t cap, samples, next, done, in_flight, max_in_flight;
    size_t wrong;   /* replies that were not CONNECTED with the same connectionId */
} gw_auth_sampler;
/* Room for `samples` over a fleet of n_clients, max_in_flight at once. */
void gw_auth_init(gw_auth_sampler *a, size_t n_clients, size_t samples, size_t max_in_flight);
/* A sample: AUTH with token (taken) on client. */
void gw_auth_add(gw_auth_sampler *a, int client, char *token);
/* Sends as many as the in-flight bound allows. */
void gw_auth_start(gw_auth_sampler *a, gw_fleet *f);
/* 1 if m answered c's AUTH (recorded, and the next sent), else 0. */
int gw_auth_on_message(gw_auth_sampler *a, gw_fleet *f, gw_client *c,
                       const rta_protocol_message *m);
int gw_auth_finished(const gw_auth_sampler *a);
void gw_auth_free(gw_auth_sampler *a);
/* Raises the soft descriptor limit to the hard one; exits if that is below need. */
void gw_raise_fd_limit(size_t need);

/* ---- fan-out (gwbench_fanout.c) ---- */
int gw_fanout_main(int argc, char **argv);

/* ---- revocation across a cluster (gwbench_cluster.c) ---- */
int gw_cluster_hold_main(int argc, char **argv);
int gw_cluster_revoke_main(int argc, char **argv);

/* ---- 100,000 connections over several processes (gwbench_scale.c, make bench-scale) ---- */
int gw_scale_main(int argc, char **argv);
int gw_timeprobe_main(int argc, char **argv);
/* the kernel's cost of one small frame to each of N loopback connections (gwbench_floor.c) */
int gw_floor_main(int argc, char **argv);

/* ---- small helpers shared by the phases ---- */
const char *gw_arg(int argc, char **argv, const char *name, const char *def);
double gw_percentile(double *v, size_t n, double p); /* sorts v */

#endif
