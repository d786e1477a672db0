/* http.h: rtauthd's HTTP plumbing over libwebsockets: one rta_http_session per request,
 * headers copied out at the start, the body accumulated under a size limit, and responses
 * written as Ably expects them (wire protocol 4.6, checklist S-65):
 *   - the body format follows Content-Type, the reply format follows Accept (msgpack when
 *     the client accepts application/x-msgpack, else JSON);
 *   - errors are {"error": ErrorInfo} with Content-Type exactly application/json or
 *     application/x-msgpack, plus x-ably-errorcode and x-ably-errormessage headers;
 *   - CORS headers only for a request with an allowed Origin (cors.h), OPTIONS answered
 *     by each route with its methods (rta_http_reply_options).
 * A route either answers at once or goes asynchronous (a store write must land before the
 * reply) and finishes later with rta_http_finish(), which is safe even if the client has
 * gone away meanwhile.
 */
#ifndef RTA_SERVER_HTTP_H
#define RTA_SERVER_HTTP_H

#include <libwebsockets.h>

#include <stdint.h>

#include "core/buf.h"
#include "core/codec.h"
#include "core/key.h"
#include "server/rest/cors.h"
#include "rtauth/error.h"

typedef struct rta_route_env rta_route_env;

typedef enum {
    RTA_HTTP_GET = 0,
    RTA_HTTP_POST,
    RTA_HTTP_DELETE,
    RTA_HTTP_PUT,
    RTA_HTTP_OPTIONS,
    RTA_HTTP_OTHER,
} rta_http_method;

typedef struct rta_http_session rta_http_session;

/* An async operation's handle on its session: cleared if the client disconnects first. */
typedef struct rta_http_pending {
    rta_http_session *session; /* NULL once the session is gone */
} rta_http_pending;

struct rta_http_session {
    struct lws *wsi;
    const rta_route_env *env; /* rest.h: what the routes may use */
    rta_http_method method;
    char path[512];
    char query[1024];
    rta_format body_format;
    int body_format_known; /* Content-Type was JSON or msgpack (or absent: JSON) */
    rta_format reply_format;
    char *authorization; /* copy of the Authorization header, NULL if none */
    char *client_id_header; /* X-Ably-ClientId, base64-decoded; NULL if none */
    int client_id_header_bad;
    int tls;
    rta_cors_request cors; /* what Origin (and a preflight's headers) allow: cors.h */
    rta_buf body;
    int body_too_large;
    /* response */
    int status;
    const char *content_type;
    rta_buf reply; /* LWS_PRE bytes of headroom, then the body */
    int error_code;
    char error_message[RTA_ERROR_MESSAGE_MAX];
    char *link; /* a Link header for a paged reply (owned, wire doc 4.6), NULL if none */
    char *extra_headers; /* owned: "name:\0value\0" pairs (rta_http_add_header), or NULL */
    size_t extra_len;
    const char *allow_methods; /* an OPTIONS or 405 reply: the route's methods (static, for
                                * Allow and a preflight), else NULL */
    int replied;
    int close_after; /* the connection ends after this reply */
    rta_http_pending *pending; /* set while an async operation runs */
    int in_dispatch;           /* the route is running: an async finish leaves the write to it */
    void *route_state;         /* route-private, freed by route_state_free */
    void (*route_state_free)(void *state);
    struct rta_conn *ws;       /* after a WebSocket upgrade: the gateway's connection */
    /* statistics (server/stats.h): the app the request authenticated as ("" none), counted
     * in apiRequests when the reply is written unless stats_counted (requestToken counts
     * itself) */
    char stats_app[RTA_KEY_ID_MAX + 1];
    int stats_counted;
    /* for the access log (rest/access_log.h), when it is on */
    int64_t started_us;        /* monotonic, at the request's headers */
    char log_query[768];       /* the query, redacted */
    char log_key_name[128];    /* the credential's key and clientId, once authenticated */
    char log_client_id[128];
};

/* Notes who a request authenticated as, for the access log (either may be NULL). */
void rta_http_note_auth(rta_http_session *s, const char *key_name, const char *client_id);

/* 1 when the peer of wsi is a loopback address (IPv4, IPv6, or IPv4-mapped). */
int rta_http_peer_is_loopback(struct lws *wsi);

/* The lws protocol callback's HTTP part; returns what the callback must return. */
int rta_http_callback(const rta_route_env *env, struct lws *wsi, enum lws_callback_reasons reason,
                      void *user, void *in, size_t len);

/* Responses. Each sets the reply; the session writes it when it can. */
void rta_http_reply_body(rta_http_session *s, int status, const char *content_type,
                         const void *body, size_t len);
/* Encode with the returned writer, then call rta_http_reply_encoded(). */
rta_writer *rta_http_begin_reply(rta_http_session *s, rta_writer *w);
void rta_http_reply_encoded(rta_http_session *s, int status);
void rta_http_reply_error(rta_http_session *s, const rta_error *err);
void rta_http_reply_code(rta_http_session *s, int code, const char *message);
/* The reply to OPTIONS on a route whose methods are `methods` (a static string such as
 * "GET, POST"): 204 with Allow and, for a CORS preflight from an allowed origin, the
 * Access-Control-Allow-* headers (cors.h). */
void rta_http_reply_options(rta_http_session *s, const char *methods);
/* One more header on the reply (name with its colon, e.g. "set-cookie:"); both copied.
 * Returns 0, or -1 out of memory (the header is then missing: callers reply 50000). */
int rta_http_add_header(rta_http_session *s, const char *name, const char *value);

/* Async: rta_http_go_async() returns a pending handle for the operation; the operation
 * later calls rta_http_finish(pending) on the loop thread after setting the reply through
 * pending->session (when not NULL). finish frees the handle. */
rta_http_pending *rta_http_go_async(rta_http_session *s);
void rta_http_finish(rta_http_pending *p);

#endif
