/* cluster_presence_internal.h: what cluster_presence.c and cluster_presence_reap.c share
 * (private to those two files). */
#ifndef RTA_SERVER_CLUSTER_PRESENCE_INTERNAL_H
#define RTA_SERVER_CLUSTER_PRESENCE_INTERNAL_H

#include "server/cluster_presence.h"
#include "server/store/redis_presence.h"

/* connections whose members wait to be given up (beyond: reaped once this node is gone) */
#define ORPHANS_MAX 10000
#define DEAD_MAX    64 /* dead owners waiting for their reaping */

typedef struct orphan {
    char *app_id, *channel;
    char conn_id[24];
    int64_t due;
} orphan;

struct rta_cluster_presence {
    rta_server *srv;
    char owner[RTA_PRES_OWNER_MAX];
    uint64_t seq;
    int stopping;
    int64_t beat_at;
    int beat_in_flight, reap_in_flight;
    char *dead[DEAD_MAX];
    size_t dead_count;
    orphan *orphans;
    size_t orphan_count, orphan_cap;
    size_t max_payload;
    int64_t grace_ms; /* --presence-grace */
};

/* Sequences ev on the channel (the relay's publish) under the id "<prefix><owner>|<n>". */
void rta__cp_sequence(rta_cluster_presence *cp, const char *app_id, const char *channel,
                      const char *prefix, rta_presence_message *ev, size_t n,
                      rta_gateway_published_cb done, void *arg);

#endif
