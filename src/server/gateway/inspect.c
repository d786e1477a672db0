/* gateway/inspect.c: a read-only walk over the gateway's connections for the operator console
 * (gateway.h, rta_gateway_each_conn). Changes nothing, sends nothing. */
#include "server/gateway/internal.h"

void rta_gateway_each_conn(const rta_gateway *gw,
                           void (*cb)(void *ctx, const rta_gateway_conn_info *c), void *ctx)
{
    for (const rta_conn *c = gw->conns; c; c = c->next) {
        /* as the metrics count them (rta_gateway_count_connections): admitted and CONNECTED,
         * live or awaiting a resume; not one that is ending */
        if (!c->admitted || !c->connected || (c->transport && c->closing)) continue;
        rta_gateway_conn_info info = {
            .connection_id = c->id,
            .app_id = c->auth.app_id,
            .key_name = c->auth.key_name,
            .client_id = c->client_id,
            .live = c->transport != NULL,
            .expires = c->auth.expires,
        };
        cb(ctx, &info);
    }
}
