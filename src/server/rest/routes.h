/* rest/routes.h: the REST routes (wire protocol section 4):
 *   GET    /time                          S-9
 *   POST   /keys/{keyName}/requestToken   S-10, S-17..S-27
 *   POST   /keys/{keyName}/revokeTokens   S-66..S-70
 *   POST   /messages, GET /presence       batch publish and presence (RSC22, RSC24)
 *   /channels/...                          rest/channels.c, rest/channel_info.c
 *   POST   /apps, DELETE /apps/{appId}    sandbox provisioning (--sandbox only)
 *   /console, /console/...                 the operator console (--console only, console.h)
 *   GET    /stats                         RSC6 (rest/stats.c)
 *   GET    /metrics                       Prometheus text (server/metrics.h; not Ably's)
 * plus the credential parsing every authenticated route shares. Every route answers OPTIONS
 * with its methods (a CORS preflight, cors.h), any other path with a general list. */
#ifndef RTA_SERVER_REST_ROUTES_H
#define RTA_SERVER_REST_ROUTES_H

#include "server/rest/http.h"
#include "server/auth/token_service.h"

/* Routes the session's request; sets a reply, or goes async. A body over the limit is
 * answered here too: 40009 for a publish, 41300 elsewhere. */
void rta_route_dispatch(rta_http_session *s);

/* Authenticates the request's Authorization header (Basic or Bearer, S-1..S-3, S-8) into
 * *out. Returns 0, or an Ably code after replying with the error. */
int rta_route_authenticate(rta_http_session *s, rta_auth_context *out);

/* Any path under /channels/: GET /channels/{name} (RSL8), POST and GET
 * /channels/{name}/messages (RSL1, RSL2), GET /channels/{name}/presence (RSP3) and
 * /presence/history (RSP4): rest/channels.c, rest/channel_info.c. */
void rta_route_channels(rta_http_session *s);

/* GET /stats (rest/stats.c, RSC6). */
void rta_route_stats(rta_http_session *s);

/* Batch publish (POST /messages, RSC22) and batch presence (GET /presence, RSC24):
 * rest/batch.c. */
void rta__rest_batch_publish(rta_http_session *s);
void rta__rest_batch_presence(rta_http_session *s);

/* The sandbox provisioning routes (rest/sandbox.c). */
void rta_route_create_app(rta_http_session *s);
void rta_route_delete_app(rta_http_session *s, const char *app_id);

#endif
