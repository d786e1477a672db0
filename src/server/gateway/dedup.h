/* gateway/dedup.h: the idempotent-publish window (RSL1k, RTL6a1): message ids a client
 * supplied, remembered per (app, channel) for a while, so that a message published again
 * with the same id is acknowledged but neither delivered nor stored a second time.
 *
 * Bounds (rta_dedup_limits): an id is remembered window_ms after its first publish (Ably's
 * window is 2 minutes); at most max_per_channel ids per channel and max_total over all
 * channels, the oldest forgotten first beyond either; an id longer than max_id_len bytes is
 * never remembered (such a message is always delivered). Forgetting early only weakens the
 * de-duplication, never refuses a publish.
 *
 * Keys are (app id, channel name, message id): one app or channel never sees another's ids.
 * No I/O, not thread-safe: the event loop thread owns it. Never logs ids.
 */
#ifndef RTA_SERVER_GATEWAY_DEDUP_H
#define RTA_SERVER_GATEWAY_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "core/hmap.h"

typedef struct rta_dedup_limits {
    int64_t window_ms;      /* default 120 000 (Ably's 2 minutes) */
    size_t max_per_channel; /* default 10 000 */
    size_t max_total;       /* default 200 000 (about 20 MiB at most) */
    size_t max_id_len;      /* default 256 bytes */
} rta_dedup_limits;

void rta_dedup_limits_default(rta_dedup_limits *l);

typedef struct rta_dedup_entry rta_dedup_entry;

typedef struct rta_dedup {
    rta_dedup_limits limits;
    rta_hmap ids;      /* app NUL channel NUL id -> rta_dedup_entry* */
    rta_hmap channels; /* app NUL channel -> its record (the channel's own oldest-first list) */
    rta_dedup_entry *oldest, *newest; /* all entries by first publish: expiry order */
    size_t count;
} rta_dedup;

/* Returns 0 or 50000. limits NULL: defaults (a 0 field takes its default too). */
int rta_dedup_init(rta_dedup *d, const rta_dedup_limits *limits);
void rta_dedup_free(rta_dedup *d);

/* Has (app_id, channel, id) been published within the window? Returns 1 for a duplicate
 * (nothing changes: the window still counts from the first publish); 0 for a new id, which
 * is remembered from `now` on (when it can be: too long, or out of memory, it is not). */
int rta_dedup_check(rta_dedup *d, const char *app_id, const char *channel, const char *id,
                    int64_t now);

/* Forgets the ids older than the window. Returns how many. (rta_dedup_check does it too.) */
size_t rta_dedup_sweep(rta_dedup *d, int64_t now);

#endif
