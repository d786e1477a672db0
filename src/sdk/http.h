/* http.h: the SDK's HTTP client, a thin layer over libcurl easy handles.
 *
 * One rta__http per client keeps a small pool of easy handles; a request takes one, performs
 * and gives it back, so sequential requests reuse the same keep-alive connection (and TLS
 * session) and concurrent requests from several threads each get their own handle.
 * Only http and https are ever spoken (no file://, no redirects followed), response bodies are
 * bounded, and nothing here logs: callers log what they may (never headers or bodies, which
 * carry credentials).
 */
#ifndef RTA_SDK_HTTP_H
#define RTA_SDK_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "rtauth/error.h"

#define RTA__HTTP_DEFAULT_MAX_BODY (1024 * 1024)

typedef struct rta__http rta__http;

typedef struct rta__http_req {
    const char *method; /* "GET", "POST", ... */
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated; may be NULL */
    const void *body;           /* may be NULL */
    size_t body_len;
    int64_t timeout_ms;         /* whole request; 0: none */
    int64_t connect_timeout_ms; /* 0: libcurl's default */
    size_t max_body;            /* 0: RTA__HTTP_DEFAULT_MAX_BODY */
} rta__http_req;

typedef struct rta__http_resp {
    long status;
    rta_buf body;
    char content_type[128];  /* "" when absent */
    int error_code;          /* x-ably-errorcode, 0 when absent */
    char error_message[256]; /* x-ably-errormessage */
} rta__http_resp;

/* ca_file: PEM bundle or NULL for the system's. Returns NULL when out of memory. */
rta__http *rta__http_new(const char *ca_file);
void rta__http_free(rta__http *h);

/* Performs req; *resp must be zeroed (or freshly freed). Returns 0 when a response arrived,
 * whatever its status; else 50003 timeout, 40009 body larger than max_body, 80000 connection
 * or protocol failure, 50000 internal, with err filled (messages never contain the URL's
 * query or any header). */
int rta__http_perform(rta__http *h, const rta__http_req *req, rta__http_resp *resp, rta_error *err);
void rta__http_resp_free(rta__http_resp *resp);

/* Appends s percent-encoded as in a query string or form body (everything but A-Z a-z 0-9
 * - _ . ~ is %XX, as encodeURIComponent except for !'()*). */
void rta__url_encode(rta_buf *out, const char *s);

/* Appends the percent-decoded s[0..n) ('+' is a space, as in forms). */
void rta__url_decode(rta_buf *out, const char *s, size_t n);

#endif
