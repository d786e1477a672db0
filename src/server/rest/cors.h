/* cors.h: rtauthd's CORS rules (docs/server.md "CORS"), so that a web page on another origin
 * can use the REST endpoints as ably-js in a browser does:
 *   - a request with an allowed Origin gets it echoed in Access-Control-Allow-Origin, with
 *     Access-Control-Allow-Credentials: true (ably-js sends Authorization with credentials,
 *     which rules out "*") and Access-Control-Expose-Headers for the headers ably-js reads;
 *   - a preflight (any OPTIONS from an allowed origin) also gets the route's methods,
 *     the request headers it asked for (when they are a valid, bounded header-name list; else
 *     the ones ably-js and librtauth send) and a max-age;
 *   - no Origin, or a refused or malformed one: no CORS headers at all;
 *   - every reply says Vary: Origin whenever some origin is allowed.
 * The allowed origins are a setting (--cors-origins): "*" (the default, as Ably: any origin
 * of the form scheme://host[:port]), "none", or a list of origins, "*.domain" hosts allowed.
 *
 * This is never access control: it only tells browsers which pages may read replies. Every
 * route checks credentials exactly as for any other client. Never logs a header value other
 * than a well-formed Origin.
 */
#ifndef RTA_SERVER_CORS_H
#define RTA_SERVER_CORS_H

#include <libwebsockets.h>
#include <stddef.h>

#include "rtauth/error.h"

#define RTA_CORS_ORIGIN_MAX           300  /* longest Origin considered (253-byte host, port) */
#define RTA_CORS_POLICY_MAX           4096 /* the allowed origins, all together */
#define RTA_CORS_REQUEST_HEADERS_MAX  1024 /* longest Access-Control-Request-Headers echoed */
#define RTA_CORS_REQUEST_HEADER_NAMES 64   /* most names in it */
#define RTA_CORS_MAX_AGE                                                                           \
    "86400" /* seconds a preflight may be cached (Chromium                                         \
             * caps it at 7200) */

/* Which origins may read replies. Plain data: copied with the config. */
typedef struct rta_cors_policy {
    int any;                        /* every well-formed origin but "null" */
    size_t len;                     /* bytes used in list */
    char list[RTA_CORS_POLICY_MAX]; /* allowed origins, lowercase, each ending with a NUL */
} rta_cors_policy;

/* What one request's CORS headers decided; lives in its HTTP session. */
typedef struct rta_cors_request {
    char origin[RTA_CORS_ORIGIN_MAX + 1]; /* the allowed Origin to echo; "" for none */
    char *allow_headers; /* preflight: the validated Access-Control-Request-Headers (owned),
                          * NULL for the default list */
    int preflight;       /* OPTIONS from an allowed origin */
    int vary;            /* the policy allows some origin: replies vary by Origin */
} rta_cors_request;

/* The default: any origin ("*"). */
void rta_cors_policy_default(rta_cors_policy *p);

/* Parses a --cors-origins value: "*", "none", or origins separated by commas and/or spaces,
 * each "scheme://host[:port]" (no path; a default port is dropped), where host may be
 * "*.domain" (any subdomain of domain), or "null" (sandboxed frames, file: pages). Returns 0, or
 * 40003 with err saying which entry is wrong (p is then unchanged). */
int rta_cors_policy_parse(rta_cors_policy *p, const char *spec, rta_error *err);

/* 1 when a request whose Origin header is origin[0..len) may read replies. */
int rta_cors_origin_allowed(const rta_cors_policy *p, const char *origin, size_t len);

/* 1 when v[0..len) is a comma-separated list of header names (RFC 9110 tokens, optional
 * whitespace around commas) of at most RTA_CORS_REQUEST_HEADERS_MAX bytes and
 * RTA_CORS_REQUEST_HEADER_NAMES names. */
int rta_cors_header_list_valid(const char *v, size_t len);

/* Reads wsi's Origin and, for an OPTIONS request (is_options), its Access-Control-Request-*
 * headers, into r (which must be zeroed or cleared). */
void rta_cors_read(rta_cors_request *r, const rta_cors_policy *p, struct lws *wsi, int is_options);

/* Frees what r owns and zeroes it. */
void rta_cors_clear(rta_cors_request *r);

/* Adds r's reply headers at *pp (lws_add_http_header_by_name): nothing when no origin is
 * allowed but Vary; for a preflight answered by a route, allow_methods (the route's methods;
 * NULL for any other reply, which gets an actual response's headers). Returns non-zero when
 * the headers do not fit before end. */
int rta_cors_add_headers(const rta_cors_request *r, const char *allow_methods, struct lws *wsi,
                         unsigned char **pp, unsigned char *end);

#endif
