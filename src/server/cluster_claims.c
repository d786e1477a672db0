/* cluster_claims.c: connection claims across nodes; see cluster_claims.h. */
#include "server/cluster_claims.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "server/server.h"
#include "server/store/redis.h"
#include "server/store/redis_keys.h"

typedef struct claim_job {
    rta_store_job job;
    size_t len;
    char msg[24 + 1 + 65]; /* "<connectionId> <nodeId>" */
} claim_job;

static void claim_run(rta_store_job *job, rta_store *store)
{
    claim_job *j = (claim_job *)job;
    job->rc = rta_store_redis_publish(store, RTA_RK_CLAIM_CHANNEL, j->msg, j->len, &job->err);
}

static void claim_done(rta_store_job *job)
{
    if (job->rc)
        rta_log_warn("cluster: telling the other nodes of a resumed connection failed (%s); "
                     "the node that had it keeps an unreachable copy until it expires",
                     job->err.message);
    free(job);
}

void rta_cluster_claims_publish(rta_server *srv, const char *conn_id)
{
    claim_job *j = calloc(1, sizeof(*j));
    int n = j ? snprintf(j->msg, sizeof(j->msg), "%s %s", conn_id, srv->cfg.node_id) : -1;
    if (n < 0 || (size_t)n >= sizeof(j->msg)) {
        free(j);
        rta_log_warn("cluster: cannot tell the other nodes of a resumed connection");
        return;
    }
    j->len = (size_t)n;
    j->job.run = claim_run;
    j->job.done = claim_done;
    rta_server_submit(srv, &j->job);
}

void rta_cluster_claims_heard(rta_server *srv, const char *msg, size_t len)
{
    const char *sp = memchr(msg, ' ', len);
    if (!sp || sp == msg) {
        rta_log_warn("cluster: a malformed connection claim was ignored");
        return;
    }
    size_t node_len = len - (size_t)(sp + 1 - msg);
    const char *self = srv->cfg.node_id;
    if (node_len == strlen(self) && !memcmp(sp + 1, self, node_len)) return; /* our own */
    rta_gateway_connection_claimed(&srv->gateway, msg, (size_t)(sp - msg));
}
