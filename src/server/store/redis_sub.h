/* store/redis_sub.h: a Redis PUB/SUB subscriber on rtauthd's libuv loop (hiredis's async API
 * with its libuv adapter), for the cluster's doorbells: it connects wherever it is told the
 * primary is, authenticates, subscribes to a fixed set of channels and hands every message
 * to the caller; when the connection drops, or is not subscribed within its deadline, it says
 * so and reconnects with a back-off (100 ms doubling to 2 s). Channels of the moment (the
 * realtime channels a node follows) come and go with rta_redis_sub_subscribe/unsubscribe
 * while it is up; after a reconnect the caller subscribes them again (from its up hook).
 *
 * hiredis 0.14 has no deadlines and no PING in subscribed mode, so staleness is the caller's
 * to detect (server/cluster.c publishes a heartbeat to a channel of its own and restarts the
 * subscriber when it stops hearing it).
 *
 * Threads: everything on the loop thread; hooks are called there. Must never: block the
 * loop, log credentials or message contents, or call a hook after rta_redis_sub_close.
 */
#ifndef RTA_SERVER_STORE_REDIS_SUB_H
#define RTA_SERVER_STORE_REDIS_SUB_H

#include <stddef.h>
#include <uv.h>

#include "server/store/redis_url.h"

typedef struct rta_redis_sub rta_redis_sub;

typedef struct rta_redis_sub_hooks {
    /* Where to connect now (host "": not known yet, try again later). */
    void (*where)(void *ctx, rta_redis_addr *out);
    /* Subscribed to every channel (after each connect). */
    void (*up)(void *ctx);
    /* The subscription is lost (after up) or could not be made; a reconnect follows. */
    void (*down)(void *ctx, const char *why);
    /* A message; channel and msg are valid during the call only. */
    void (*message)(void *ctx, const char *channel, size_t channel_len, const char *msg,
                    size_t len);
    void *ctx;
    /* A channel of rta_redis_sub_subscribe is subscribed (NULL: not told). */
    void (*subscribed)(void *ctx, const char *channel, size_t channel_len);
    /* Redis confirmed an rta_redis_sub_unsubscribe (NULL: not told). Subscribe that channel
     * again only after this: hiredis 0.14 would drop the new subscription's callback. */
    void (*unsubscribed)(void *ctx, const char *channel, size_t channel_len);
} rta_redis_sub_hooks;

/* Starts connecting. target gives the credentials (copied; its address is not used: `where`
 * is asked); channels are copied. Returns 0 and *out, or 50000. */
int rta_redis_sub_start(uv_loop_t *loop, const rta_redis_target *target,
                        const char *const *channels, size_t n, const rta_redis_sub_hooks *hooks,
                        rta_redis_sub **out);

/* While up: subscribes one more channel (the subscribed hook says when it is), or ends a
 * subscription. Returns 0, or -1 when not up (the up hook comes first after a reconnect). */
int rta_redis_sub_subscribe(rta_redis_sub *s, const char *channel);
int rta_redis_sub_unsubscribe(rta_redis_sub *s, const char *channel);

/* Drops the connection and reconnects at once (a stale subscription, a moved primary). */
void rta_redis_sub_restart(rta_redis_sub *s);

/* 1 while subscribed; the address it is connected to in *addr when not NULL. */
int rta_redis_sub_up(const rta_redis_sub *s, rta_redis_addr *addr);

/* Closes: no hook runs after this; the memory is freed once the loop has run the close
 * callbacks (the server runs the loop until its handles are closed). */
void rta_redis_sub_close(rta_redis_sub *s);

#endif
