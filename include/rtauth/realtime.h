/* rtauth/realtime.h: the realtime client (spec RTC, RTN, RTL): one WebSocket connection to
 * rtauthd's gateway (Ably protocol 6), its connection state machine, channels, and the same
 * Auth object as the REST client, whose authorize() upgrades the live connection in place.
 *
 * Lifetime: rta_realtime_create / rta_realtime_destroy. The rta_auth of rta_realtime_auth() and
 * every rta_channel of rta_realtime_channel() live exactly as long as the client.
 *
 * Threads (DESIGN.md section 4): each rta_realtime owns one I/O thread running a libwebsockets
 * client loop; it does every read and write of the connection and runs every connection,
 * channel and message callback, one at a time, in order. Tokens for the connection are
 * obtained on a second thread of the client (started on first need), so a slow authCallback or
 * authUrl never stalls the connection (the authCallback itself runs on a thread of its own,
 * options.h, so a hung one only delays the connection by auth_request_ms). _async completion
 * callbacks of the Auth object run on the client's worker thread (auth.h).
 * Every public function is thread-safe. A blocking function (rta_realtime_wait_state,
 * rta_channel_attach, rta_channel_detach, rta_channel_publish, rta_auth_* blocking forms) called
 * from one of this client's callbacks returns 40000 at once instead of deadlocking: use the
 * _async forms there. Non-blocking functions (state getters, connect, close, _async forms,
 * listeners) are fine anywhere.
 *
 * Ownership: the library copies every input it keeps (names, data, options). Pointers handed
 * to callbacks (state changes, messages, errors) are borrowed: valid until the callback
 * returns. Strings returned by getters are documented one by one.
 *
 * Errors: functions return 0 or an Ably error code and fill err (may be NULL); the _async
 * forms too, for a call they refuse before queuing it.
 */
#ifndef RTAUTH_REALTIME_H
#define RTAUTH_REALTIME_H

#include "rtauth/export.h"

#include <stddef.h>
#include <stdint.h>

#include "rtauth/auth.h"
#include "rtauth/error.h"
#include "rtauth/options.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rta_realtime rta_realtime;
typedef struct rta_channel rta_channel;

/* Connection states (RTN4a), and RTA_CONN_UPDATE as the event of a change that keeps the
 * state connected (RTN4h: a CONNECTED answering AUTH). */
typedef enum {
    RTA_CONN_INITIALIZED = 0,
    RTA_CONN_CONNECTING,
    RTA_CONN_CONNECTED,
    RTA_CONN_DISCONNECTED,
    RTA_CONN_SUSPENDED,
    RTA_CONN_CLOSING,
    RTA_CONN_CLOSED,
    RTA_CONN_FAILED,
    RTA_CONN_UPDATE /* an event, never a state */
} rta_connection_state;

/* "initialized", "connecting", ..., "update". */
RTA_EXTERN const char *rta_connection_state_name(rta_connection_state s);

/* ConnectionStateChange (TA2). reason is NULL when there is none; retry_in_ms is the delay
 * before the next connection attempt (0 when none is scheduled or it is immediate). */
typedef struct rta_connection_state_change {
    rta_connection_state previous;
    rta_connection_state current;
    rta_connection_state event; /* current, or RTA_CONN_UPDATE */
    const rta_error *reason;
    int64_t retry_in_ms;
} rta_connection_state_change;

/* Runs on the I/O thread for every state change and update. change is borrowed. */
typedef void (*rta_connection_listener)(const rta_connection_state_change *change,
                                        void *user_data);

/* Realtime settings of the client options (ClientOptions TO3, timeouts of wire doc 1.6). */

/* Creates a client from options (copied; same rules and errors as rta_rest_create, plus the
 * realtime fields of options: auto_connect, echo_messages, realtime timeouts). With
 * auto_connect (the default) it starts connecting at once (RTN3). *out is the new client. */
RTA_EXTERN int rta_realtime_create(const rta_client_options *options, rta_realtime **out, rta_error *err);

/* Closes the connection if open (CLOSE is sent, without waiting for CLOSED), stops the threads
 * and frees the client, its channels and pending operations: pending completion callbacks
 * run first with 80017 (connection closed). Must not be called from one of the client's own
 * callbacks (it returns without doing anything then: do it from another thread). NULL is a
 * no-op. */
RTA_EXTERN void rta_realtime_destroy(rta_realtime *rt);

/* The client's Auth object (RTC4), the same API as the REST client's. On a realtime client
 * rta_auth_authorize additionally (RTC8): while connected, sends AUTH with the new token and
 * returns when the server answers CONNECTED (the connection emits RTA_CONN_UPDATE and keeps its
 * id) or fails with the server's ERROR; while connecting, disconnected or suspended, reconnects
 * with the new token and returns once connected (or failed). In initialized, closed or failed
 * it only obtains the token, used by the next connect. Waits at most 2 x realtime_request_ms
 * for the server (50003 past it). Concurrent authorize calls with no params and options
 * share one token request. An authorize that fails with status 403 (RSA4d) fails the connection
 * before it returns (RTC8a2): a token whose clientId is incompatible with the client's, found
 * by the client or by the server's ERROR, gives FAILED with errorReason 40102/403 (RSA15c);
 * a 403 from the authCallback or authUrl gives FAILED with 80019/403 and it as the cause. */
RTA_EXTERN rta_auth *rta_realtime_auth(rta_realtime *rt);

/* connect (RTN11): from initialized, disconnected, suspended, closed or failed, start
 * connecting now. No-op while connecting or connected. Never blocks. */
RTA_EXTERN int rta_realtime_connect(rta_realtime *rt, rta_error *err);
/* close (RTN12): sends CLOSE and goes closing, then closed; cancels retries. Never blocks. */
RTA_EXTERN int rta_realtime_close(rta_realtime *rt, rta_error *err);

/* The current state, and (when reason is not NULL) a copy of its errorReason (RTN25; code 0
 * when none). Never blocks. RTA_CONN_FAILED for a NULL rt. */
RTA_EXTERN rta_connection_state rta_realtime_state(rta_realtime *rt, rta_error *reason);

/* The buffer size (NUL included) that holds any connection.id or connection.key rtauthd
 * gives: char id[RTA_CONNECTION_ID_SIZE]. */
#define RTA_CONNECTION_ID_SIZE 128

/* connection.id and connection.key (RTN8, RTN9) into caller buffers (RTA_CONNECTION_ID_SIZE
 * bytes always suffice). Empty strings while not connected. Return 0, 40000 when rt or buf is
 * NULL, or 40003 when too small. */
RTA_EXTERN int rta_realtime_connection_id(rta_realtime *rt, char *buf, size_t size);
RTA_EXTERN int rta_realtime_connection_key(rta_realtime *rt, char *buf, size_t size);

/* Adds a connection listener; returns its id (> 0), or 0 when rt or cb is NULL or out of
 * memory. rta_realtime_off removes it (after off returns, it is not called again, unless off is
 * called from the I/O thread while it runs, in which case the current call finishes). */
RTA_EXTERN int rta_realtime_on(rta_realtime *rt, rta_connection_listener cb, void *user_data);
RTA_EXTERN void rta_realtime_off(rta_realtime *rt, int listener_id);

/* Blocks until the connection is in state `want` (0), or in failed/closed when `want` is
 * another state (returns that state's reason code, or 80017 for closed), or timeout_ms passes
 * (50003). Fills err with the reason of the state reached (code 0 when none). */
RTA_EXTERN int rta_realtime_wait_state(rta_realtime *rt, rta_connection_state want, int64_t timeout_ms,
                            rta_error *err);

/* ---- channels (RTL) ---------------------------------------------------------------------- */

typedef enum {
    RTA_CHANNEL_INITIALIZED = 0,
    RTA_CHANNEL_ATTACHING,
    RTA_CHANNEL_ATTACHED,
    RTA_CHANNEL_DETACHING,
    RTA_CHANNEL_DETACHED,
    RTA_CHANNEL_SUSPENDED,
    RTA_CHANNEL_FAILED,
    RTA_CHANNEL_UPDATE /* an event: ATTACHED while attached (RTL12) */
} rta_channel_state;

RTA_EXTERN const char *rta_channel_state_name(rta_channel_state s);

typedef struct rta_channel_state_change {
    rta_channel_state previous;
    rta_channel_state current;
    rta_channel_state event;
    const rta_error *reason; /* NULL when none */
} rta_channel_state_change;

typedef void (*rta_channel_listener)(rta_channel *ch, const rta_channel_state_change *change,
                                     void *user_data);

/* A received message (TM). Every pointer is borrowed for the duration of the callback; absent
 * fields are NULL (timestamp 0). data is text (NUL-terminated) unless binary is set; JSON
 * object/array data arrives as its JSON text with json set. The wire encoding is undone first
 * (RSL6a: base64, utf-8, json, as ably-js publishes binary and objects); encoding is what
 * could not be undone (e.g. a cipher step), NULL when nothing is left. */
typedef struct rta_realtime_message {
    const char *id;
    const char *name;
    const char *client_id;
    const char *connection_id;
    const char *encoding;
    int64_t timestamp;
    const char *data;
    size_t data_len;
    int binary;
    int json;
} rta_realtime_message;

typedef void (*rta_message_listener)(rta_channel *ch, const rta_realtime_message *msg,
                                     void *user_data);

/* Completion of attach, detach and publish: rc 0 or the Ably error (err filled), on the I/O
 * thread. */
typedef void (*rta_completion_callback)(int rc, const rta_error *err, void *user_data);

/* channels.get (RTS3): the channel named name, created on first use (no network traffic).
 * Name: 1..1024 bytes of UTF-8 without NUL (else NULL and 40010). The pointer stays valid
 * until the client is destroyed. */
RTA_EXTERN rta_channel *rta_realtime_channel(rta_realtime *rt, const char *name, rta_error *err);
RTA_EXTERN const char *rta_channel_name(rta_channel *ch); /* valid as long as the channel */

/* attach (RTL4): resolves on ATTACHED; fails with the channel ERROR (e.g. 40160, which makes
 * the channel failed), 90007 when no reply within realtime_request_ms, 80017/80002 when the
 * connection closes, fails or is suspended. Connecting first when needed (RTL4b). */
RTA_EXTERN int rta_channel_attach(rta_channel *ch, rta_error *err);
RTA_EXTERN int rta_channel_attach_async(rta_channel *ch, rta_completion_callback cb,
                                        void *user_data, rta_error *err);
/* detach (RTL5): resolves on DETACHED (or at once when not attached). The _async forms of attach
 * and detach need a cb (NULL: 40000, nothing done). Every _async function of this header
 * takes an rta_error *err last (may be NULL): when it refuses a call (returns non-zero; the
 * callback is then never called) err explains why, as for the blocking forms. */
RTA_EXTERN int rta_channel_detach(rta_channel *ch, rta_error *err);
RTA_EXTERN int rta_channel_detach_async(rta_channel *ch, rta_completion_callback cb,
                                        void *user_data, rta_error *err);

/* The channel's state and a copy of its reason (reason may be NULL); RTA_CHANNEL_FAILED for a
 * NULL ch. rta_channel_on returns the listener id (> 0), or 0 when ch or cb is NULL or out of
 * memory. */
RTA_EXTERN rta_channel_state rta_channel_get_state(rta_channel *ch, rta_error *reason);
RTA_EXTERN int rta_channel_on(rta_channel *ch, rta_channel_listener cb, void *user_data);
RTA_EXTERN void rta_channel_off(rta_channel *ch, int listener_id);

/* A message to publish (TM). name, client_id may be NULL; data NULL means no data. */
typedef struct rta_publish_message {
    const char *name;
    const char *data;
    size_t data_len; /* 0 with non-NULL data: strlen(data) for text */
    int binary;      /* data is bytes, not UTF-8 text */
    const char *client_id;
    /* data is the JSON text of an object or array (not with binary). It travels as ably-js
     * sends objects, a string with encoding "json" (RSL4c, RSL4d3), so ably-js subscribers get
     * the object and librtauth subscribers get the text with json set. Anything else: 40003. */
    int json;
} rta_publish_message;

/* publish (RTL6): sends a MESSAGE (msgSerial, wire doc 2.6) and completes on its ACK (0) or
 * NACK (the server's error, e.g. 40160 no publish capability, 40012 foreign clientId). Allowed
 * on any channel not failed, attached or not. Queued while connecting or disconnected; fails
 * with the reason when the connection goes failed, closed or suspended. rta_channel_publish's
 * name and data may be NULL; publish_async's cb may be NULL (nobody is told the outcome). */
RTA_EXTERN int rta_channel_publish(rta_channel *ch, const char *name, const char *data, rta_error *err);
RTA_EXTERN int rta_channel_publish_message(rta_channel *ch, const rta_publish_message *m, rta_error *err);
RTA_EXTERN int rta_channel_publish_async(rta_channel *ch, const rta_publish_message *m,
                                         rta_completion_callback cb, void *user_data,
                                         rta_error *err);

/* subscribe (RTL7): calls cb for every message received while attached. Returns the listener
 * id (> 0), or 0 when ch or cb is NULL or out of memory. Does not attach by itself (call
 * rta_channel_attach). */
RTA_EXTERN int rta_channel_subscribe(rta_channel *ch, rta_message_listener cb, void *user_data);
RTA_EXTERN void rta_channel_unsubscribe(rta_channel *ch, int listener_id);

#ifdef __cplusplus
}
#endif
#endif
