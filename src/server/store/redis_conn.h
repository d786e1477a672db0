/* store/redis_conn.h: one blocking connection to the cluster's Redis primary (hiredis's sync
 * API), for the store thread: connect with a deadline (directly, or through Sentinel, asking
 * for the primary's address again at every reconnect so a failover is followed), AUTH,
 * SELECT, a hook run after every (re)connect, command deadlines, and a back-off so that a
 * Redis that cannot be reached costs a caller a fast error, not a connect timeout each time.
 * Later slices (channels, presence, resume) reuse it as it is.
 *
 * Threads: a connection is used by one thread at a time (the store thread), except
 * rta_redis_conn_primary(), which any thread may call (the subscriber on the loop thread
 * asks it where the primary is).
 *
 * Must never: log or put into an error message a password, a command's arguments or a
 * reply's content (they carry secrets and nonces); block longer than the deadlines.
 */
#ifndef RTA_SERVER_STORE_REDIS_CONN_H
#define RTA_SERVER_STORE_REDIS_CONN_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "rtauth/error.h"
#include "server/store/redis_url.h"

typedef struct rta_redis_conn rta_redis_conn;

typedef struct rta_redis_conn_options {
    rta_redis_target target;   /* copied */
    int connect_timeout_ms;    /* per attempt and per Sentinel asked (default 1000) */
    int command_timeout_ms;    /* a reply's deadline (default 2000) */
    /* Runs after every (re)connect, before the connection serves anything (load the
     * Functions, check the epoch...). Non-zero: the connection is dropped, the error kept. */
    int (*on_connect)(void *ctx, rta_redis_conn *c, rta_error *err);
    void *ctx;
} rta_redis_conn_options;

/* Returns 0 and *out (not connected yet), or 50000. */
int rta_redis_conn_create(const rta_redis_conn_options *o, rta_redis_conn **out, rta_error *err);
void rta_redis_conn_free(rta_redis_conn *c);

/* Connects if needed. 0, or 50000 "Redis unreachable: ..." (at once, without trying, while
 * the back-off after a failure runs: 100 ms doubling to 1 s). */
int rta_redis_conn_ensure(rta_redis_conn *c, rta_error *err);

/* A pipeline: queue commands with append, then take their replies in order with read. After
 * an I/O error or a deadline every later read fails too and the connection is dropped
 * (reconnected by the next ensure). An error reply is a reply (its caller decides); the ones
 * that say this server cannot serve us (READONLY: a replica now; LOADING; MASTERDOWN) also
 * drop the connection after the current pipeline. */
int rta_redis_conn_append(rta_redis_conn *c, int argc, const char **argv, const size_t *lens,
                          rta_error *err);
/* As append, printf-style (hiredis's format: %s, %b with a length, %lld). */
int rta_redis_conn_appendf(rta_redis_conn *c, rta_error *err, const char *fmt, ...);
/* The next reply (free it with freeReplyObject), or NULL with err filled (50000). */
redisReply *rta_redis_conn_read(rta_redis_conn *c, rta_error *err);
/* ensure + append + read of one command. */
redisReply *rta_redis_conn_command(rta_redis_conn *c, rta_error *err, int argc, const char **argv,
                                   const size_t *lens);
redisReply *rta_redis_conn_commandf(rta_redis_conn *c, rta_error *err, const char *fmt, ...);

/* Drops the connection now (the next ensure reconnects at once). */
void rta_redis_conn_drop(rta_redis_conn *c);
int rta_redis_conn_connected(const rta_redis_conn *c);

/* Where the primary was last reached (host "" before the first connect), and how many times
 * a connection was made (it moves at every reconnect). Any thread. */
void rta_redis_conn_primary(rta_redis_conn *c, rta_redis_addr *out, unsigned *generation);

/* The target (credentials included) this connection uses. */
const rta_redis_target *rta_redis_conn_target(const rta_redis_conn *c);

/* An error reply's text for a message, trimmed; never a reply's data. */
const char *rta_redis_reply_error(const redisReply *r);

#endif
