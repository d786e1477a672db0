/* gateway/history.h: a bounded in-memory window of each channel's recent messages, served by
 * GET /channels/{name}/messages (RSL2) and fed by every publish, realtime MESSAGE and REST
 * POST alike, through the gateway's one fan-out function.
 *
 * Bounds (all configurable, rta_config): per channel at most max_messages entries, none kept
 * longer than max_age_ms after it arrived here; over all channels at most max_bytes (each
 * entry counts its heap bytes plus its bookkeeping). Over the byte budget, the oldest entries
 * of the least recently published channel go first. A message larger than the whole budget
 * is not kept at all.
 *
 * Channels are keyed by (app id, channel name): one app never sees another's history. A
 * channel's record exists only while it holds messages, independently of realtime
 * attachments, so a REST-only channel keeps its history too; the record is freed with its
 * last message (expiry, eviction, or rta_history_free).
 *
 * Paging uses a cursor: every entry carries a sequence number from one server-wide counter
 * (never reused, so a stale cursor cannot land on a different channel generation). A query
 * returns the entries at or beyond the cursor in its direction and the sequence number of
 * the first entry it left out, which is the next page's cursor.
 *
 * No I/O, not thread-safe: the event loop thread owns it.
 */
#ifndef RTA_SERVER_CHANNEL_HISTORY_H
#define RTA_SERVER_CHANNEL_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "core/hmap.h"
#include "core/protocol.h"

typedef struct rta_history_limits {
    size_t max_messages; /* per channel; default 1000 (the largest history page) */
    int64_t max_age_ms;  /* default 120 000 (2 min, Ably's default without persistence) */
    size_t max_bytes;    /* all channels together; default 64 MiB */
} rta_history_limits;

void rta_history_limits_default(rta_history_limits *l);

typedef struct rta_history_channel rta_history_channel;

typedef struct rta_history {
    rta_history_limits limits;
    rta_hmap channels;                    /* app id NUL name -> rta_history_channel* */
    rta_history_channel *oldest, *newest; /* by last append: eviction order */
    size_t bytes;                         /* accounted bytes of every entry kept */
    size_t entries;
    uint64_t next_seq;
    /* When set, sequence numbers come from there instead of next_seq: windows that share
     * one counter share one order, so one position bounds them all (untilAttach, RTL10b). */
    uint64_t *shared_seq;
} rta_history;

/* Returns 0 or 50000. limits NULL: defaults. */
int rta_history_init(rta_history *h, const rta_history_limits *limits);
void rta_history_free(rta_history *h);

/* What a publish stamps on its messages, as subscribers see them (populateFieldsFromParent
 * in ably-js fills these from the ProtocolMessage): a message without an id gets
 * "<id>:<index>", one without a timestamp gets `timestamp`, and the connectionId is always
 * the publisher's (NULL for REST). */
typedef struct rta_history_stamp {
    const char *id;
    const char *connection_id;
    int64_t timestamp;
} rta_history_stamp;

/* Appends stamped copies of msgs[0..n) to the window of (app_id, channel) at time now.
 * Returns 0 or 50000 (out of memory: the messages before the failing one are kept). */
int rta_history_append(rta_history *h, const char *app_id, const char *channel,
                       const rta_message *msgs, size_t n, const rta_history_stamp *stamp,
                       int64_t now);

typedef struct rta_history_query {
    int64_t start, end; /* inclusive bounds on message timestamps (ms) */
    int forwards;       /* 0: newest first (the default, RSL2b2) */
    size_t limit;       /* page size, >= 1 */
    int has_cursor;
    uint64_t cursor; /* from a previous page's next_cursor */
    /* untilAttach (RTL10b): only entries up to an ATTACHED's channelSerial (from_serial):
     * a sequence number from rta_history_position, or the channel serial in cluster mode */
    int has_until;
    uint64_t until;
} rta_history_query;

/* Where the history stands now: every entry appended so far has a sequence number at or
 * below it, every later one above it (the single-node ATTACHED channelSerial, RTL15c). */
uint64_t rta_history_position(const rta_history *h);

/* The sequence number of m, a message rta_history_read returned (while it is valid). */
uint64_t rta_history_seq_of(const rta_message *m);

/* Runs q on (app_id, channel) at time now (expired entries are dropped first). Fills out[]
 * (room for q->limit pointers) with borrowed messages, valid until the next call that
 * changes h. *more is 1 when at least one more entry matches beyond this page, and then
 * *next_cursor is the cursor of the next page. Returns the number of messages. */
size_t rta_history_read(rta_history *h, const char *app_id, const char *channel,
                        const rta_history_query *q, int64_t now, const rta_message **out, int *more,
                        uint64_t *next_cursor);

/* Drops every entry older than max_age_ms and frees channels left empty. Returns the number
 * of entries dropped. Call it periodically (the server's housekeeping does, once a second). */
size_t rta_history_sweep(rta_history *h, int64_t now);

#endif
