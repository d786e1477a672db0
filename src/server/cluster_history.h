/* cluster_history.h: REST channel history (RSL2) in cluster mode, read from the channel's
 * stream in Redis (store/channel_keys.h), so every node answers the same (docs/cluster.md,
 * "Channels across nodes"). The query is the one of the in-memory window
 * (gateway/history.h: start, end, direction, limit, cursor); the cursor here is
 * serial * 1000 + the message's index in its publish (a publish holds at most 1000
 * messages, RTA_PM_MAX_MESSAGES). Messages are stamped as the window stamps them: an id
 * "<publish id>:<index>", the publish's timestamp and connectionId. Messages older than
 * the window's max age are left out, as there.
 *
 * Part of the process room: a store-thread job does the reading; the callback runs on the
 * loop thread. Must never: block the loop; log message contents.
 */
#ifndef RTA_SERVER_CLUSTER_HISTORY_H
#define RTA_SERVER_CLUSTER_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "core/protocol.h"
#include "server/gateway/history.h"

typedef struct rta_server rta_server;

/* rc 0: msgs[0..n) (owned by the reader: valid during the call only), more and next_cursor
 * as rta_history_read's; else an Ably code and err. */
typedef void (*rta_cluster_history_cb)(void *arg, int rc, const rta_error *err,
                                       const rta_message *msgs, size_t n, int more,
                                       uint64_t next_cursor);

/* Reads a page of (app_id, channel)'s history at time now; done(arg, ...) runs once, later,
 * on the loop thread. */
void rta_cluster_history_read(rta_server *srv, const char *app_id, const char *channel,
                              const rta_history_query *q, int64_t now, rta_cluster_history_cb done,
                              void *arg);

#endif
