/* log.h: rtauthd's log: leveled lines on stderr, one line per event, in one of two formats:
 *
 *   text (the default): "2026-01-02T03:04:05.678Z info  connection abc opened (key app.k)"
 *   json (--log-format json): one object per line,
 *     {"time":"2026-01-02T03:04:05.678Z","level":"info","event":"connection.opened",
 *      "msg":"...","app":"app","keyName":"app.k","clientId":"alice","connectionId":"abc",
 *      "code":40142}
 *     time is RFC 3339 UTC with milliseconds; app, keyName, clientId, connectionId and code
 *     appear only when the event has them (app defaults to the keyName's part before its
 *     '.'). Plain rta_log() lines are events named "log".
 *
 * Every string is escaped: in json, quotes, backslashes and control characters as JSON
 * escapes and any byte that is not part of valid UTF-8 as U+FFFD; in text, control characters
 * as \xNN, so that a clientId or a path from a client can never forge a line.
 *
 * Rule: nothing secret is ever passed to these functions: no key secrets, no server secrets,
 * no full tokens or MACs, no Authorization header, no Redis password. Name keys by key name,
 * connections by connectionId, tokens by rta_token_ref() (auth/token_service.h).
 * tests/interop/ops_logs.test.mjs greps a run's whole output for the secrets it used.
 *
 * Thread-safe: each line is one fwrite; the level and format are atomics, changed on the loop
 * thread (start, SIGHUP) while the store thread may log. */
#ifndef RTA_SERVER_LOG_H
#define RTA_SERVER_LOG_H

#include <stddef.h>

#include "core/buf.h"

typedef enum { RTA_LOG_ERROR = 0, RTA_LOG_WARN, RTA_LOG_INFO, RTA_LOG_DEBUG } rta_log_level;
typedef enum { RTA_LOG_TEXT = 0, RTA_LOG_JSON } rta_log_format;

/* What an event is about; every member optional (NULL or 0: absent). Borrowed for the call. */
typedef struct rta_log_fields {
    const char *app;           /* appId; NULL: taken from key_name */
    const char *key_name;      /* "appId.keyId", never the secret */
    const char *client_id;
    const char *connection_id;
    int code;                  /* an Ably error code */
} rta_log_fields;

void rta_log_set_level(rta_log_level level);
rta_log_level rta_log_get_level(void);
/* 1 when a line at level would be written (to skip costly field preparation). */
int rta_log_enabled(rta_log_level level);
/* "error", "warn", "info", "debug"; returns -1 for anything else. */
int rta_log_level_parse(const char *s);

void rta_log_set_format(rta_log_format format);
rta_log_format rta_log_get_format(void);
/* "text", "json"; returns -1 for anything else. */
int rta_log_format_parse(const char *s);

void rta_log(rta_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An event: event is a short dotted name ("connection.opened"), fields may be NULL. */
void rta_log_event(rta_log_level level, const char *event, const rta_log_fields *fields,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Appends s[0..len) to b as the inside of a JSON string (no quotes): escapes as above. */
void rta_log_json_escape(rta_buf *b, const char *s, size_t len);
/* Appends s[0..len) to b for a text line: control characters and DEL as \xNN. */
void rta_log_text_escape(rta_buf *b, const char *s, size_t len);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of the current time into out (at least 25 bytes). */
void rta_log_timestamp(char out[32]);

#define rta_log_error(...) rta_log(RTA_LOG_ERROR, __VA_ARGS__)
#define rta_log_warn(...) rta_log(RTA_LOG_WARN, __VA_ARGS__)
#define rta_log_info(...) rta_log(RTA_LOG_INFO, __VA_ARGS__)
#define rta_log_debug(...) rta_log(RTA_LOG_DEBUG, __VA_ARGS__)

#endif
