/* channel_order.h: the order in which a cluster node delivers one channel's messages to its
 * local subscribers (docs/cluster.md, "Channels across nodes"; design 6.7). Redis gives
 * every message of a channel a serial (1, 2, 3... within the channel's epoch); the node
 * hears them live over PUB/SUB and reads what it missed from the channel's stream. This
 * module decides, for each serial heard or read, whether to deliver it now, drop it (a
 * duplicate) or read the stream first (a gap), so that each message goes out once, in
 * serial order.
 *
 * Pure: no I/O, no allocation; the caller (server/cluster_channels.c) does the reading.
 * A new epoch (Redis lost the channel's record) starts the serials again from 1.
 */
#ifndef RTA_SERVER_CHANNEL_ORDER_H
#define RTA_SERVER_CHANNEL_ORDER_H

#include <stdint.h>

#include "server/store/channel_keys.h"

typedef struct rta_channel_order {
    int known;                    /* last and epoch are set (after start) */
    uint64_t last;                /* the last serial delivered (or the head at start) */
    char epoch[RTA_CK_EPOCH_MAX]; /* "": none seen yet */
    uint64_t want;                /* the highest serial heard of and not yet delivered */
    int reading;                  /* a stream read is under way: live messages wait for it */
    uint64_t want_at_read;        /* want when the read began: the read must find up to it */
} rta_channel_order;

typedef enum {
    RTA_ORDER_DELIVER,   /* deliver it now (last moved to it) */
    RTA_ORDER_DUPLICATE, /* delivered before, or before the start: drop it */
    RTA_ORDER_WAIT,      /* a read is under way (or the start is not known): it will come */
    RTA_ORDER_READ,      /* a gap: read the stream from last + 1 (reading is now set) */
} rta_order_verdict;

/* The head read at subscription: messages up to head are before this node's attach. */
void rta_channel_order_start(rta_channel_order *o, uint64_t head, const char *epoch);

/* A message heard live. */
rta_order_verdict rta_channel_order_heard(rta_channel_order *o, uint64_t serial, const char *epoch);

/* Before a read of the stream (READ above, or a catch-up after the subscription came back):
 * returns the first serial to read (last + 1) and sets reading. Everything heard so far is
 * in the stream by now (Redis appends before it publishes), so a read that does not find it
 * proves it gone. */
uint64_t rta_channel_order_read_begin(rta_channel_order *o);

/* The stream's epoch as the read found it. Returns 1 when it is a new one: serials started
 * again (last is 0 now) and the read must have started at 1. */
int rta_channel_order_read_epoch(rta_channel_order *o, const char *epoch);

/* An entry read from the stream, in order: DELIVER or DUPLICATE. *skipped: how many serials
 * before it are gone from the stream (trimmed or expired) and will never be delivered. */
rta_order_verdict rta_channel_order_read(rta_channel_order *o, uint64_t serial, uint64_t *skipped);

/* The read finished; page_full: it stopped at its count, more may follow. Returns 1 when
 * another read is needed (call read_begin again), else 0. Serials heard before the read
 * began and not found by it are given up (*lost says how many). */
int rta_channel_order_read_done(rta_channel_order *o, int page_full, uint64_t *lost);

#endif
