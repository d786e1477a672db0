/* realtime_conn_auth.c: auth on the realtime connection: a token for each attempt (from the
 * key, authCallback or authUrl, on the token thread so the connection never stalls), token
 * errors (RTN14b, RTN15h, wire doc 3.5), authorize() upgrading the live connection with AUTH
 * (RTC8, 3.3) and the server's AUTH (RTN22, 3.4; a Basic connection switches to tokens).
 *
 * Runs on the I/O thread with rt->mu held, except rta__conn_hook (any user thread, no lock).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "realtime_internal.h"

/* ---- connecting ------------------------------------------------------------------------------ */

typedef struct renew_job {
    rta__job job;
    rta_realtime *rt;
    uint64_t stale_gen;
} renew_job;

static void run_renew(rta__job *job)
{
    renew_job *j = (renew_job *)job;
    rta_realtime *rt = j->rt;
    char *token = NULL;
    uint64_t gen = 0;
    rta_error e = {0};
    int rc = rta__auth_connection_token(&rt->auth, j->stale_gen, &token, &gen, &e);
    pthread_mutex_lock(&rt->mu);
    rt->renew_ready = 1;
    rt->renew_rc = rc;
    rt->renew_err = e;
    rt->renew_token = token;
    rt->renew_gen = gen;
    pthread_mutex_unlock(&rt->mu);
    rta__rt_wake(rt);
    free(j);
}

/* Obtains a token on the renewer thread (never on the I/O thread: an authCallback or authUrl
 * may take seconds). Its result comes back through rta__conn_renewed. */
void rta__rt_request_token(rta_realtime *rt, uint64_t stale_gen, int for_auth)
{
    if (for_auth) rt->renew_for_auth = 1;
    if (rt->renew_pending) return;
    renew_job *j = calloc(1, sizeof(*j));
    if (!j) return;
    j->job.run = run_renew;
    j->rt = rt;
    j->stale_gen = stale_gen;
    rt->renew_pending = 1;
    if (rta__worker_submit(&rt->renewer, &j->job)) {
        rt->renew_pending = 0;
        free(j);
    }
}

static void open_with(rta_realtime *rt, const char *token)
{
    rta_error e;
    if (rta__ws_open(rt, token, &e)) rta__rt_dropped(rt, &e);
}

void rta__conn_start(rta_realtime *rt)
{
    if (rt->stopping) return;
    lws_sul_cancel(&rt->sul_state);
    rta__ws_drop(rt, 0);
    rta__conn_set_state(rt, RTA_CONN_CONNECTING, NULL, 0);
    /* WebSocket open plus CONNECTED, as ably-js's webSocketConnectTimeout + request timeout. */
    rta__rt_arm_state(rt, 2 * rt->set.realtime_request_ms);
    char *token = NULL;
    uint64_t gen = 0;
    int kind = rta__auth_peek_token(&rt->auth, &token, &gen);
    if (kind == 0 && !rt->client.tls && !rt->client.loopback) {
        rta_error e;
        rta_error_set(&e, RTA_ERR_BASIC_OVER_NON_TLS, NULL); /* RSA1 */
        rta__rt_fail(rt, &e);
        return;
    }
    rt->attempt_gen = gen;
    if (kind == 2)
        rta__rt_request_token(rt, 0, 0);
    else
        open_with(rt, token);
    if (token) memset(token, 0, strlen(token));
    free(token);
}

static void send_auth(rta_realtime *rt, const char *token)
{
    rta_protocol_message m = {.action = RTA_ACTION_AUTH};
    m.has = RTA_PM_HAS_AUTH;
    m.auth_access_token = (char *)token;
    rta__ws_send(rt, &m);
}

void rta__conn_renewed(rta_realtime *rt)
{
    rt->renew_ready = rt->renew_pending = 0;
    int for_auth = rt->renew_for_auth;
    rt->renew_for_auth = 0;
    char *token = rt->renew_token;
    rt->renew_token = NULL;
    rta_error e = rt->renew_err;
    if (rt->renew_rc) {
        if (rt->state != RTA_CONN_CONNECTING && !for_auth) goto out;
        /* wire doc 3.2 (RSA4c, RSA4d): 40171, 40102 and a 403 from the token source fail the
         * connection; anything else is retried later as 80019. */
        if (e.code == RTA_ERR_NO_RENEWAL || e.code == RTA_ERR_INCOMPATIBLE_CREDENTIALS) {
            rta__rt_fail(rt, &e);
        } else if (rta__auth_forbidden(&e)) { /* RSA4d: also a 40300 from the authCallback */
            rta_error w;
            rta__auth_connection_error(&w, &e, 403);
            rta__rt_fail(rt, &w);
        } else if (rt->state == RTA_CONN_CONNECTING) {
            rta_error w;
            rta__auth_connection_error(&w, &e, 401); /* RSA4c1 */
            rta__ws_drop(rt, 0);
            lws_sul_cancel(&rt->sul_state);
            rta__rt_go_disconnected(rt, &w, rt->set.disconnected_retry_ms);
        } else {
            rta__rt_log(rt, RTA_CLIENT_LOG_WARN, "realtime: renewal after AUTH failed: %d", e.code);
        }
        goto out;
    }
    rt->attempt_gen = rt->renew_gen;
    if (rt->state == RTA_CONN_CONNECTED && for_auth)
        send_auth(rt, token); /* RTN22: the new token on the live connection */
    else if (rt->state == RTA_CONN_CONNECTING && !rt->wsi)
        open_with(rt, token);
out:
    if (token) memset(token, 0, strlen(token));
    free(token);
}

/* authorize() adopted a new token (RTC8): use it on the connection. */
void rta__conn_reauth(rta_realtime *rt)
{
    rt->reauth_sent = rt->reauth_wanted;
    switch (rt->state) {
    case RTA_CONN_CONNECTED: { /* RTC8a: AUTH in place, answered by CONNECTED or ERROR */
        char *token = NULL;
        uint64_t gen;
        if (rta__auth_peek_token(&rt->auth, &token, &gen) == 1) {
            rt->attempt_gen = gen;
            send_auth(rt, token);
            memset(token, 0, strlen(token));
            free(token);
        } else {
            rta__rt_request_token(rt, 0, 1);
        }
        break;
    }
    case RTA_CONN_CONNECTING: /* RTC8b: abandon this attempt, connect with the new token */
    case RTA_CONN_DISCONNECTED:
    case RTA_CONN_SUSPENDED:
        rta__conn_start(rt);
        break;
    default:
        rt->reauth_done = rt->reauth_sent;
        rta__rt_notify(rt);
        break;
    }
}

/* ---- the server's AUTH (RTN22) ----------------------------------------------------------- */

static void on_basic_switched(int rc, const rta_token_details *d, const rta_error *err, void *ud)
{
    (void)d;
    if (rc)
        rta__log(&((rta_realtime *)ud)->client, RTA_CLIENT_LOG_WARN,
                 "realtime: token auth after the server's AUTH failed: %d %s", err->code,
                 err->message);
}

void rta__conn_server_auth(rta_realtime *rt)
{
    if (rt->state != RTA_CONN_CONNECTED) return;
    if (rta__auth_token_mode(&rt->auth)) { /* a new token from the same source, then AUTH */
        rta__rt_request_token(rt, rt->attempt_gen, 1);
        return;
    }
    /* A Basic connection: as ably-js, authorize() with no arguments: a token from the key,
     * token auth from now on (RSA10a), sent in an AUTH on this connection (RTC8a). It waits
     * for the CONNECTED reply, so it runs on the client's worker, never here. */
    if (rta_auth_authorize_async(&rt->auth, NULL, NULL, on_basic_switched, rt, NULL))
        rta__rt_log(rt, RTA_CLIENT_LOG_WARN, "realtime: cannot answer the server's AUTH");
}

int rta__conn_hook(void *ctx, rta_error *err)
{
    rta_realtime *rt = ctx;
    pthread_mutex_lock(&rt->mu);
    rta_connection_state s = rt->state;
    if (rt->stopping || s == RTA_CONN_INITIALIZED || s == RTA_CONN_CLOSED || s == RTA_CONN_FAILED ||
        s == RTA_CONN_CLOSING) {
        pthread_mutex_unlock(&rt->mu);
        return 0; /* the token is stored for the next connect */
    }
    uint64_t ticket = ++rt->reauth_wanted;
    rta__rt_wake(rt);
    struct timespec dl = rta__deadline_ms(2 * rt->set.realtime_request_ms);
    int rc = 0;
    while (rt->reauth_done < ticket && rt->reauth_failed < ticket)
        if (pthread_cond_timedwait(&rt->cv, &rt->mu, &dl)) {
            rc = rta_error_set(err, RTA_ERR_TIMEOUT, "No reply to AUTH from the server");
            break;
        }
    if (!rc && rt->reauth_done < ticket) {
        rc = rt->reauth_err.code ? rt->reauth_err.code : RTA_ERR_CONNECTION_CLOSED;
        if (err) *err = rt->reauth_err;
    }
    pthread_mutex_unlock(&rt->mu);
    return rc;
}

/* authorize() failed with a 403 (RSA4d) or an incompatible clientId (RSA15c): the connection
 * goes FAILED with that error (RTC8a2), as ably-js's actOnErrorFromAuthorize. A client that is
 * not trying to be connected (initialized, closing, closed, failed) is left as it is. */
void rta__conn_authorize_failed(rta_realtime *rt)
{
    rt->fail_done = rt->fail_wanted;
    rta_connection_state s = rt->state;
    if (s == RTA_CONN_CONNECTING || s == RTA_CONN_CONNECTED || s == RTA_CONN_DISCONNECTED ||
        s == RTA_CONN_SUSPENDED) {
        if (s == RTA_CONN_CONNECTED && rt->transport_open) {
            rta_protocol_message d = {.action = RTA_ACTION_DISCONNECT};
            rta__ws_send(rt, &d);
        }
        rta__rt_fail(rt, &rt->fail_err);
    }
    rta__rt_notify(rt);
}

void rta__conn_fail_hook(void *ctx, const rta_error *why)
{
    rta_realtime *rt = ctx;
    pthread_mutex_lock(&rt->mu);
    if (rt->stopping) {
        pthread_mutex_unlock(&rt->mu);
        return;
    }
    uint64_t ticket = ++rt->fail_wanted;
    rt->fail_err = *why;
    rta__rt_wake(rt);
    /* Returns once the connection is failed, so that the caller of authorize() sees the state
     * it caused; bounded in case the I/O thread is stuck. */
    struct timespec dl = rta__deadline_ms(rt->set.realtime_request_ms);
    while (rt->fail_done < ticket)
        if (pthread_cond_timedwait(&rt->cv, &rt->mu, &dl)) break;
    pthread_mutex_unlock(&rt->mu);
}
