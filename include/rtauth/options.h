/* rtauth/options.h: ClientOptions and AuthOptions (spec TO3, AO1-AO2), with an init function
 * for each that sets the defaults. Always call the init function before filling a struct:
 * several defaults are not zero (tls and use_binary_protocol are on, use_token_auth is unset).
 *
 * Ownership: every pointer in these structs is only read, during the call that takes the
 * struct (rta_rest_create, rta_auth_authorize, ...). The library copies what it keeps,
 * strings and arrays included, so the caller may free or reuse them as soon as the call
 * returns. The user_data pointers are kept as they are and handed back to your callbacks.
 *
 * Secrets: the key secret, tokens and MACs never reach the log handler or an error message.
 */
#ifndef RTAUTH_OPTIONS_H
#define RTAUTH_OPTIONS_H

#include "rtauth/export.h"

#include <stdint.h>

#include "rtauth/auth_result.h"
#include "rtauth/token.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One HTTP header or query/form parameter (authHeaders, authParams). */
typedef struct rta_name_value {
    const char *name;
    const char *value;
} rta_name_value;

/* authMethod (TO3j7): how the authUrl is requested. */
typedef enum {
    RTA_AUTH_GET = 0, /* TokenParams and authParams in the query string (RSA8c1a) */
    RTA_AUTH_POST = 1 /* ... in a form-encoded body (RSA8c1b) */
} rta_auth_method;

/* authCallback (TO3j5, RSA8d). Called when the library needs a new token: by
 * rta_auth_request_token/authorize and by automatic renewal. params are the TokenParams for
 * the token (borrowed: valid only until the callback returns; copy what you need later).
 * Complete result exactly once, now or later from any thread (auth_result.h).
 *
 * Thread: a thread the library starts for each call (and joins when the callback has returned,
 * or at the latest when the client is destroyed, which therefore waits for a callback still
 * running). The thread that needs the token (yours for a blocking call, the client's worker
 * for an _async one, the realtime client's token thread) only waits for the result, at most
 * rta_timeouts.auth_request_ms from the call, so a callback that blocks (a synchronous HTTP
 * call to a hung backend) cannot stall it: past the deadline the token request fails with
 * 40170 (80019 on a connection, RSA4c) and the late answer is discarded. A blocking call on
 * the same client made from inside the callback returns 40000 instead of deadlocking; use
 * another client (e.g. one holding the key) or the _async forms. */
typedef void (*rta_auth_callback)(const rta_token_params *params, rta_auth_result *result,
                                  void *user_data);

#define RTA_UNSET (-1)

/* AuthOptions (AO2). Passed to authorize/requestToken/createTokenRequest, a non-NULL
 * rta_auth_options replaces the stored options entirely, it is never merged (RSA8e, RSA9h). */
typedef struct rta_auth_options {
    const char *key;                        /* "appId.keyId:secret" (AO2a) */
    const char *token;                      /* a token string (AO2h) */
    const rta_token_details *token_details; /* (AO2i) */
    const char *auth_url;                   /* http(s) URL (AO2c) */
    rta_auth_method auth_method;            /* default RTA_AUTH_GET (AO2d) */
    const rta_name_value *auth_headers;     /* sent with authUrl requests (AO2e) */
    size_t auth_header_count;
    const rta_name_value *auth_params; /* sent with authUrl requests (AO2f) */
    size_t auth_param_count;
    rta_auth_callback auth_callback; /* (AO2b) */
    void *auth_callback_data;        /* user_data for auth_callback */
    int query_time;                  /* 1: timestamps from the server's clock (AO2g); 0: ours */
    int use_token_auth;              /* RTA_UNSET (default), 0 forces Basic, 1 token */
} rta_auth_options;

/* Zeroes o and sets the defaults (use_token_auth RTA_UNSET, auth_method RTA_AUTH_GET).
 * NULL: does nothing (as the other init functions). */
RTA_EXTERN void rta_auth_options_init(rta_auth_options *o);

/* Log levels of a client's log handler, most severe first. */
typedef enum {
    RTA_CLIENT_LOG_NONE = 0,
    RTA_CLIENT_LOG_ERROR,
    RTA_CLIENT_LOG_WARN,
    RTA_CLIENT_LOG_INFO,
    RTA_CLIENT_LOG_DEBUG
} rta_client_log_level;

/* Receives one log line (no trailing newline), never containing a key secret, token or MAC.
 * message is valid only during the call. Runs on whichever thread logs, with no library lock
 * held: keep it short; rta_auth_client_id/rta_auth_token_details are fine there, blocking calls
 * on the same client return 40000. */
typedef void (*rta_log_handler)(rta_client_log_level level, const char *message, void *user_data);

/* Timeouts in ms. Zero or negative in any of them: the default. */
typedef struct rta_timeouts {
    int64_t http_open_ms;    /* TCP+TLS connect; default 4000 */
    int64_t http_request_ms; /* one whole REST request; default 10000 (httpRequestTimeout) */
    int64_t auth_request_ms; /* authCallback or authUrl, from the call; default 10000 (ably-js
                                realtimeRequestTimeout); past it: 40170 (80019 on a connection) */
} rta_timeouts;

/* Realtime settings (TO3, wire doc 1.6); only rta_realtime reads them. What zero means differs:
 * the two flags are booleans, where 0 means off; the durations take their default when zero or
 * negative. rta_client_options_init sets every default.
 *
 * To see every state change from the first one (initialized -> connecting), set auto_connect
 * to 0, add the listener with rta_realtime_on, then call rta_realtime_connect: with
 * auto_connect 1 the client starts connecting inside rta_realtime_create, before any listener
 * can be added. */
typedef struct rta_realtime_settings {
    int auto_connect;                /* default 1: connect on create (RTN3); 0: wait for connect */
    int echo_messages;               /* default 1; 0: the server does not echo our messages */
    int64_t realtime_request_ms;     /* default 10000 (<= 0: default): replies to ATTACH/AUTH/
                                        ping; the WebSocket open plus CONNECTED gets twice this */
    int64_t disconnected_retry_ms;   /* default 15000 (<= 0: default) (RTN14d) */
    int64_t suspended_retry_ms;      /* default 30000 (<= 0: default) (RTN14e) */
    int64_t connection_state_ttl_ms; /* default 120000 (<= 0: default), replaced by the
                                        server's (RTN14e) */
} rta_realtime_settings;

/* ClientOptions (TO3). */
typedef struct rta_client_options {
    rta_auth_options auth;                 /* the client's AuthOptions (TO3j) */
    const char *client_id;                 /* TO3a; NULL: none; "" and "*" are 40012 (RSA7c) */
    rta_token_params default_token_params; /* TO3j11; timestamp is ignored (TK2d) */
    const char *endpoint;                  /* rtauthd host name or IP; default "127.0.0.1" */
    int port;                              /* 0: 443 with TLS, 80 without */
    int tls;                               /* default 1 (TO3d); 0: plain HTTP/WebSocket. Basic
                                              auth without TLS is 40103 unless the endpoint is a
                                              loopback address (RSA1) */
    const char *tls_ca_file;               /* PEM CA bundle to trust; NULL: the system's */
    rta_timeouts timeouts;
    int use_binary_protocol;        /* default 1: msgpack bodies, as ably-js in Node; 0: JSON */
    rta_client_log_level log_level; /* default RTA_CLIENT_LOG_WARN; 0 (NONE): no log at all */
    rta_log_handler log_handler;    /* NULL: lines go to stderr */
    void *log_data;                 /* user_data for log_handler */
    rta_realtime_settings realtime; /* rta_realtime only */
} rta_client_options;

/* Zeroes o and sets the defaults listed above. */
RTA_EXTERN void rta_client_options_init(rta_client_options *o);

/* The single-string constructor (RSC1, RSC1a): init, then key_or_token becomes auth.key when
 * it contains ':' and auth.token otherwise (an rtauth token or a JWT). The string is not
 * copied here: keep it alive until rta_rest_create returns. NULL key_or_token: init only. */
RTA_EXTERN void rta_client_options_init_string(rta_client_options *o, const char *key_or_token);

#ifdef __cplusplus
}
#endif
#endif
