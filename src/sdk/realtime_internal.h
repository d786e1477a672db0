/* realtime_internal.h: the realtime client's state, shared by realtime.c (lifetime, public
 * connection API, the I/O thread, event dispatch), realtime_conn.c (connection state machine,
 * timers), realtime_conn_auth.c (tokens for the connection, AUTH both ways), realtime_ws.c (the
 * libwebsockets transport), realtime_channels.c (channel state, publish queue, inbound
 * messages; I/O thread), realtime_channel_api.c (the public channel functions) and
 * realtime_decode.c (message data encodings).
 *
 * Threads and locking: `mu` guards every mutable field below. Public functions take it briefly,
 * record a request (a flag, a queued publish, a channel op) and wake the I/O thread with
 * lws_cancel_service; only the I/O thread runs the state machine and touches libwebsockets
 * (always with mu held). User callbacks never run with mu held: the I/O thread queues them as
 * events (rta__rt_emit) and runs them after releasing the lock (rta__rt_dispatch). Tokens are
 * obtained on `renewer`, a worker thread of this client, whose result comes back as a request.
 */
#ifndef RTA_SDK_REALTIME_INTERNAL_H
#define RTA_SDK_REALTIME_INTERNAL_H

#include <libwebsockets.h>
#include <pthread.h>

#include "auth_internal.h"
#include "core/protocol.h"
#include "rtauth/realtime.h"

#define RTA__RT_MAX_FRAME (1024 * 1024) /* inbound frame bound (the gateway's are 64 KiB) */
#define RTA__RT_MAX_CHANNEL_NAME 1024

typedef struct rta__listener {
    struct rta__listener *next;
    int id;
    void (*cb)(void);
    void *user_data;
} rta__listener;

/* A completion callback waiting for an operation's result. */
typedef struct rta__op {
    struct rta__op *next;
    rta_completion_callback cb;
    void *user_data;
} rta__op;

/* A message published and not yet ACKed or NACKed. */
typedef struct rta__pub {
    struct rta__pub *next;
    rta_channel *ch;
    rta_message msg; /* owned copy */
    int64_t serial;
    int sent; /* sent on the current transport */
    rta_completion_callback cb;
    void *user_data;
} rta__pub;

/* An event for the user, run after mu is released. run() calls back and frees ev. */
typedef struct rta__event rta__event;
struct rta__event {
    rta__event *next;
    void (*run)(rta_realtime *rt, rta__event *ev);
};

/* One frame waiting to be written, LWS_PRE bytes of headroom first. */
typedef struct rta__frame {
    struct rta__frame *next;
    size_t len; /* payload length after the headroom */
    int binary;
    unsigned char data[];
} rta__frame;

struct rta_channel {
    rta_channel *next;
    rta_realtime *rt;
    char *name;
    rta_channel_state state;
    rta_error reason;
    int want_attach, want_detach; /* requests for the I/O thread */
    int attach_sent;              /* ATTACH on the wire, no reply yet */
    int64_t op_deadline;          /* monotonic ms: ATTACHED/DETACHED due (RTL4f) */
    rta__op *attach_ops, *detach_ops;
    rta__listener *listeners;   /* rta_channel_listener */
    rta__listener *subscribers; /* rta_message_listener */
};

struct rta_realtime {
    rta__client client;
    rta_auth auth;
    rta_realtime_settings set;
    char *client_id_param; /* ClientOptions.clientId, sent as clientId= (wire doc 1.3) */

    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast on every state change and request completion
                          (rta__rt_notify) */
    pthread_t io_thread;
    int io_started;
    int stopping;
    struct lws_context *lws;
    lws_sorted_usec_list_t sul_state, sul_idle, sul_channels;

    /* connection state (RTN4) */
    rta_connection_state state;
    rta_error reason;
    char conn_id[RTA_CONNECTION_ID_SIZE], conn_key[RTA_CONNECTION_ID_SIZE];
    int64_t max_idle_ms, state_ttl_ms, max_message_size;
    int64_t msg_serial;
    int64_t disconnected_since; /* monotonic ms; 0 when connected since */
    int retry_count;
    int token_error_streak; /* consecutive token errors (RTN14b) */
    int64_t last_activity;  /* monotonic ms of the last frame received */
    int ping_outstanding;

    /* transport */
    struct lws *wsi;
    int in_connect;       /* inside lws_client_connect_via_info */
    int transport_open;   /* WebSocket established */
    int close_after_send; /* drop the transport once the queue is written */
    rta__frame *tx_head, *tx_tail;
    rta_buf rx;
    uint64_t attempt_gen; /* token generation used by the current attempt */

    /* requests from other threads */
    int want_connect, want_close;
    int64_t want_drop; /* rta__realtime_drop_transport: reconnect delay + 1, 0 when none */
    int want_server_auth; /* rta__realtime_server_auth: act on an AUTH as if received */
    uint64_t reauth_wanted, reauth_sent, reauth_done, reauth_failed;
    rta_error reauth_err;
    uint64_t fail_wanted, fail_done; /* authorize() failed with a 403: fail (RTC8a2) */
    rta_error fail_err;
    int renew_pending;  /* a token job is queued or running */
    int renew_ready;    /* ... and finished: renew_rc/renew_err/renew_token */
    int renew_rc;
    rta_error renew_err;
    char *renew_token;
    uint64_t renew_gen;
    int renew_for_auth; /* the job answers a server AUTH (RTN22): send AUTH, don't reconnect */
    rta__worker renewer;

    rta__pub *pubs_head, *pubs_tail;
    rta_channel *channels;
    rta__listener *listeners; /* rta_connection_listener */
    int next_listener_id;
    rta__event *ev_head, *ev_tail;
    int io_holding; /* the I/O thread holds mu (lws calls back synchronously from inside some
                       of its functions, which we call with mu held) */
    int notify_pending; /* waiters on cv to wake once the I/O thread lets go of mu */
};

/* ---- realtime.c ---------------------------------------------------------------------------- */
int64_t rta__mono_ms(void);
void rta__rt_wake(rta_realtime *rt);                  /* any thread, mu held or not */
void rta__rt_notify(rta_realtime *rt);                /* any thread, mu held: wake cv waiters */
void rta__rt_emit(rta_realtime *rt, rta__event *ev);  /* mu held */
void rta__rt_dispatch(rta_realtime *rt);              /* I/O thread, mu held; drops it inside */
void rta__rt_process(rta_realtime *rt);               /* I/O thread, mu held: act on requests */
/* Entry and exit of every lws callback and timer: lock (unless nested inside our own call into
 * lws), and on the outermost exit run the queued events and unlock. */
int rta__rt_enter(rta_realtime *rt);
void rta__rt_leave(rta_realtime *rt, int nested);
int rta__listener_add(rta_realtime *rt, rta__listener **list, void (*cb)(void), void *ud);
void rta__listener_remove(rta_realtime *rt, rta__listener **list, int id);
/* Copies the callbacks of *list, taking rt->mu (the caller must not hold it), so they can run
 * unlocked; the caller frees *out. */
size_t rta__listener_snapshot(rta_realtime *rt, rta__listener *const *list, rta__listener **out);
/* Queues cb(rc, err) for every op in *ops and empties the list. mu held. */
void rta__ops_complete(rta_realtime *rt, rta__op **ops, int rc, const rta_error *err);
int rta__ops_add(rta__op **ops, rta_completion_callback cb, void *ud);

/* ---- realtime_conn.c ------------------------------------------------------------------------ */
void rta__conn_set_state(rta_realtime *rt, rta_connection_state s, const rta_error *reason,
                         int64_t retry_in_ms);
void rta__conn_start(rta_realtime *rt);          /* begin an attempt (connecting) */
void rta__conn_close(rta_realtime *rt);          /* close() */
void rta__conn_renewed(rta_realtime *rt);        /* a token job finished */
void rta__conn_reauth(rta_realtime *rt);         /* authorize() wants the new token used */
void rta__conn_on_message(rta_realtime *rt, rta_protocol_message *m);
void rta__conn_opened(rta_realtime *rt);
int rta__conn_hook(void *ctx, rta_error *err); /* auth->rt_hook */
void rta__conn_fail_hook(void *ctx, const rta_error *why); /* auth->rt_fail_hook */
void rta__conn_authorize_failed(rta_realtime *rt);     /* I/O thread: act on fail_wanted */
void rta__conn_server_auth(rta_realtime *rt);  /* the server sent AUTH (RTN22) */
/* Shared by realtime_conn.c and realtime_conn_auth.c (I/O thread, rt->mu held). */
int rta__rt_is_token_error(int code);
void rta__rt_fail(rta_realtime *rt, const rta_error *why);
void rta__rt_go_disconnected(rta_realtime *rt, const rta_error *why, int64_t delay_ms);
void rta__rt_dropped(rta_realtime *rt, const rta_error *why); /* the attempt or WS ended */
void rta__rt_arm_state(rta_realtime *rt, int64_t ms);
void rta__rt_log(rta_realtime *rt, rta_client_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A token for the next attempt (for_auth: then send it in an AUTH), on the token thread. */
void rta__rt_request_token(rta_realtime *rt, uint64_t stale_gen, int for_auth);
/* Test hook (realtime_test_hooks.h): drop the transport, retry after retry_in_ms. */
void rta__conn_test_drop(rta_realtime *rt, int64_t retry_in_ms);

/* ---- realtime_ws.c --------------------------------------------------------------------------- */
int rta__ws_init(rta_realtime *rt, const char *ca_file, rta_error *err);
void rta__ws_free(rta_realtime *rt);
/* Opens the WebSocket with the given credential (NULL token: Basic with the key). */
int rta__ws_open(rta_realtime *rt, const char *token, rta_error *err);
/* Encodes and queues m. Returns 0 or 50000. */
int rta__ws_send(rta_realtime *rt, const rta_protocol_message *m);
/* Drops the transport: at once, or after the queued frames are written (graceful). */
void rta__ws_drop(rta_realtime *rt, int graceful);

/* ---- realtime_decode.c ------------------------------------------------------------------------ */
/* Undoes m's encoding in place (RSL6a); what cannot be undone stays in m->encoding. */
void rta__message_decode(rta_message *m);
/* 1 when text is JSON (with container: an object or array), the one check of the "json"
 * encoding step both ways: received data (RSL6a) and data published as json (RSL4c). */
int rta__json_text_valid(const char *text, size_t len, int container);

/* ---- realtime_channels.c ----------------------------------------------------------------------- */
void rta__chan_process(rta_realtime *rt);                 /* requests, sends, deadlines */
void rta__chan_on_message(rta_realtime *rt, rta_protocol_message *m);
void rta__chan_connected(rta_realtime *rt, int resumed);  /* re-attach, re-send (RTN15c) */
void rta__chan_connection_ended(rta_realtime *rt, const rta_error *why, int fatal);
void rta__chan_on_ack(rta_realtime *rt, rta_protocol_message *m, int nack);
void rta__chan_free_all(rta_realtime *rt);
void rta__chan_schedule(rta_realtime *rt); /* re-arms the channel deadline timer */

#endif
