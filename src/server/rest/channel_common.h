/* rest/channel_common.h: what the REST channel routes share (rest/channels.c defines them):
 * the channel name and capability check of /channels/{name}{suffix}, the history query
 * parameters (RSL2b, also RSP4) and their Link header entries. Private to src/server/rest/. */
#ifndef RTA_SERVER_REST_CHANNEL_COMMON_H
#define RTA_SERVER_REST_CHANNEL_COMMON_H

#include <stdint.h>

#include "core/buf.h"
#include "core/protocol.h"
#include "server/auth/token_service.h"
#include "server/gateway/history.h"
#include "server/rest/http.h"

/* Authenticates, reads the channel name of /channels/{name}{suffix} and checks the
 * capability for op (40160 "Permission denied: no <what> capability"). Returns 0 with *auth
 * and *name (malloc'd) to release, or non-zero after replying. */
int rta__rest_channel_prepare(rta_http_session *s, const char *suffix, uint32_t op,
                              const char *what, rta_auth_context *auth, char **name);

/* Checks and stamps the clientIds of a publish's messages against the request's credentials
 * (S-51..S-53, 40012) and their total size (40009). Returns 0 or the code with err set. */
int rta__rest_check_messages(rta_http_session *s, const rta_auth_context *auth, rta_message *msgs,
                             size_t n, rta_error *err);

/* The X-Ably-Version header as a number (0 when absent or not a number). */
int rta__rest_ably_version(rta_http_session *s);

/* Writes n presence messages as an array (rest/channel_info.c). Returns 0 or 50000. */
int rta__rest_write_presence(rta_writer *w, const rta_presence_message *p, size_t n);

/* Lists every presence member of app_id's channel on this node into a malloc'd array of
 * borrowed views (*out, to free; NULL when none). Returns the count (rest/channel_info.c). */
size_t rta__rest_presence_all(rta_http_session *s, const char *app_id, const char *channel,
                              rta_presence_message **out);

/* The routes of rest/channel_info.c: GET /channels/{name} (RSL8), GET .../presence (RSP3),
 * GET .../presence/history (RSP4). */
void rta__rest_channel_status(rta_http_session *s);
void rta__rest_presence_get(rta_http_session *s);
void rta__rest_presence_history(rta_http_session *s);

/* A whole decimal number in [min, max] (no sign, no spaces): 1 and *out, else 0. */
int rta__rest_parse_int(const char *v, long long min, long long max, long long *out);

/* limit (1..1000, default 100), direction, start, end, cursor; 40003 naming the bad one. */
int rta__rest_history_query(rta_http_session *s, rta_history_query *q, rta_error *err);

/* Appends one Link entry `<./resource?limit=..&direction=..[&start][&end][&cursor]>; rel=".."`
 * to b (", "-separated). */
void rta__rest_link_rel(rta_buf *b, const char *resource, const rta_history_query *q,
                        int with_cursor, uint64_t cursor, const char *rel);

#endif
