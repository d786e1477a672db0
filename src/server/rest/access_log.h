/* rest/access_log.h: the access log (--access-log PATH|-, off by default): one line per
 * answered REST request, for operators and their log tools.
 *
 *   text (--log-format text), like the combined format:
 *     127.0.0.1 - alice [2026-01-02T03:04:05.678Z] "POST /keys/app.k/requestToken" 401 173 0.4ms
 *       key=app.k code=40101
 *     (one line: remote address, "-", clientId or "-", time, method and path with the query
 *     redacted, status, response body bytes, duration, then keyName and Ably error code
 *     when there are)
 *   json (--log-format json): {"time":...,"remote":...,"method":...,"path":...,"status":...,
 *     "bytes":...,"durationMs":...,"keyName":...,"clientId":...,"code":...}
 *
 * Never written: the Authorization header, a request body, or the value of a query argument
 * that may carry a credential (access_token, accessToken, key, token, mac: rta_access_log_
 * redact_query). Strings from the client are escaped as the server log's (log.h).
 *
 * Buffered stdio, flushed at each line: a write is one fwrite to a local file or a pipe, as
 * the stderr log. rta_access_log_reopen (SIGHUP) opens the new file before closing the old one,
 * so logrotate's rename-then-HUP loses no line. Loop thread only. */
#ifndef RTA_SERVER_REST_ACCESS_LOG_H
#define RTA_SERVER_REST_ACCESS_LOG_H

#include <stddef.h>
#include <stdio.h>

#include "rtauth/error.h"

typedef struct rta_access_log {
    FILE *f;        /* NULL: off */
    int is_stdout;  /* "-": not closed */
    char path[1024];
} rta_access_log;

/* One answered request. Strings borrowed for the call; NULL or "" when absent. */
typedef struct rta_access_entry {
    const char *remote;
    const char *method;
    const char *path;  /* without the query */
    const char *query; /* built by rta_access_log_query_add (redacted), "" for none */
    int status;
    size_t bytes;
    double duration_ms;
    const char *key_name;
    const char *client_id;
    int code; /* Ably error code, 0 for none */
} rta_access_entry;

/* Opens path ("" off, "-" stdout) into l, replacing what l had only once the new one is
 * open. Returns 0, or 40003 with err naming the file (l unchanged). */
int rta_access_log_reopen(rta_access_log *l, const char *path, rta_error *err);
void rta_access_log_close(rta_access_log *l);
void rta_access_log_write(rta_access_log *l, const rta_access_entry *e);

/* Appends one query argument, as libwebsockets gives it (URL-decoded "name=value", which may
 * hold any byte), to the query out[0..at) for the log: "&" first unless at is 0, then the
 * name and value with '%', '&', '#', space and non-printable bytes percent-encoded, and the
 * value of a credential argument (access_token, accessToken, key, token, mac, ...) replaced
 * by "REDACTED". out stays NUL-terminated; what does not fit in size is cut at an argument's
 * boundary or inside it (never revealing a credential). Returns the new length. */
size_t rta_access_log_query_add(char *out, size_t size, size_t at, const char *arg, size_t len);

#endif
