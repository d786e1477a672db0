/* gateway/auth.c: who a realtime connection is, and when that stops holding: authentication
 * at the upgrade (wire protocol 3.1, checklist S-4, S-5, S-48, S-56, S-57), in-band AUTH
 * (RTC8a, S-60, S-61), token expiry and the RTN22 reauth hint (S-58), revocation of live
 * connections (S-64, with allowReauthMargin) and keys disabled or removed (issue 11).
 *
 * Each ending goes out through rta__gw_conn_fail (gateway/frames.c): DISCONNECTED or ERROR,
 * then the transport closes. Never logs tokens or keys: connections are named by
 * connectionId and key name. */
#include <stdlib.h>
#include <string.h>

#include "server/gateway/internal.h"
#include "server/metrics.h"
#include "server/log.h"

#define AUTH_HINT_BEFORE_MS 30000 /* RTN22: ask for a new token this long before expiry */

/* ---- timers: expiry, reauth hint, revocation ------------------------------------------------ */

/* The appliesAt of a revocation that matches c's token but applies later (allowReauthMargin),
 * or 0. A token can be under one when it connects or arrives in an AUTH (e.g. the client
 * answered the AUTH hint with the same token): the disconnect at appliesAt still applies. */
static int64_t pending_revocation(rta_conn *c)
{
    int64_t pending = 0;
    rta_token_service_is_revoked(c->gw->tokens, &c->auth, c->gw->now(), &pending);
    return pending;
}

static void on_expiry(rta_timer *t)
{
    rta_conn *c = rta__gw_container_of(t, rta_conn, end_timer);
    int64_t now = c->gw->now();
    rta_error e;
    if (c->revoke_at && now >= c->revoke_at &&
        rta_token_service_is_revoked(c->gw->tokens, &c->auth, now, NULL)) {
        rta_error_set(&e, RTA_ERR_TOKEN_REVOKED, NULL);
        c->revoked = 1;
        rta__gw_conn_fail(c, RTA_ACTION_DISCONNECTED, &e);
    } else if (c->auth.expires && now >= c->auth.expires) {
        rta_error_set(&e, RTA_ERR_TOKEN_EXPIRED, NULL); /* RTN22a, S-58 */
        rta__gw_conn_fail(c, RTA_ACTION_DISCONNECTED, &e);
    } else {
        /* Woken early (the wall clock stepped back, or the revocation was purged): keep the
         * deadlines that remain, so the expiry disconnect is never lost. */
        c->revoke_at = pending_revocation(c);
        rta__gw_conn_arm_timers(c);
    }
}

static void on_hint(rta_timer *t)
{
    rta_conn *c = rta__gw_container_of(t, rta_conn, notice_timer);
    rta_protocol_message m = {.action = RTA_ACTION_AUTH}; /* RTN22: please reauthenticate */
    rta__gw_conn_send(c, &m);
}

/* Expiry at `expires`; a hint 30 s before when that moment is still ahead, and only for
 * token connections (an AUTH makes a token-literal client fail at once: 3.4). */
void rta__gw_conn_arm_timers(rta_conn *c)
{
    rta__gw_timer_cancel(c->gw, &c->end_timer);
    rta__gw_timer_cancel(c->gw, &c->notice_timer);
    if (c->auth.method == RTA_AUTH_BASIC) return;
    int64_t now = c->gw->now();
    int64_t at = c->auth.expires;
    if (c->revoke_at && (!at || c->revoke_at < at)) at = c->revoke_at;
    if (at) rta__gw_schedule(c->gw, &c->end_timer, on_expiry, at);
    if (c->auth.expires && c->auth.expires - AUTH_HINT_BEFORE_MS > now)
        rta__gw_schedule(c->gw, &c->notice_timer, on_hint, c->auth.expires - AUTH_HINT_BEFORE_MS);
}

/* ---- revocation and key changes ------------------------------------------------------------ */

void rta__gw_conn_check_revoked(rta_conn *c, int64_t now)
{
    /* a detached connection needs fresh credentials to resume: nothing to do */
    if (!c->transport || c->closing) return;
    int64_t pending = 0;
    if (rta_token_service_is_revoked(c->gw->tokens, &c->auth, now, &pending)) {
        rta_error e;
        rta_error_set(&e, RTA_ERR_TOKEN_REVOKED, NULL); /* S-64 */
        c->revoked = 1;
        rta__gw_conn_fail(c, RTA_ACTION_DISCONNECTED, &e);
        rta_metrics_add(RTA_M_REVOCATION_DISCONNECTS, 1);
    } else if (pending && pending != c->revoke_at) {
        /* allowReauthMargin: ask for a new token now, disconnect at appliesAt */
        c->revoke_at = pending;
        rta_protocol_message m = {.action = RTA_ACTION_AUTH};
        rta__gw_conn_send(c, &m);
        rta__gw_conn_arm_timers(c);
    }
}

/* Every connection of the key: for what has no target list (a full reload of the
 * revocations, a key-wide change); revocations of known targets use the index
 * (rta_gateway_revoked_targets, gateway/revindex.c). */
void rta_gateway_revoked(rta_gateway *gw, const char *key_name)
{
    int64_t now = gw->now();
    for (rta_conn *c = gw->conns; c; c = c->next)
        if (c->transport && rta_auth_context_uses_key(&c->auth, key_name))
            rta__gw_conn_check_revoked(c, now);
}

/* Why the credentials of c no longer hold after apps or keys changed, or NULL. */
static const char *key_gone(const rta_registry *reg, const char *key_name)
{
    if (!key_name[0]) return NULL;
    const rta_key_entry *k = rta_registry_key(reg, key_name, strlen(key_name));
    return !k ? "removed" : !k->enabled ? "disabled" : NULL;
}

void rta_gateway_credentials_changed(rta_gateway *gw, const rta_registry *registry)
{
    for (rta_conn *c = gw->conns; c; c = c->next) {
        if (c->final) continue; /* already ending for good */
        const char *name = c->auth.key_name, *why = key_gone(registry, name);
        if (!why && c->auth.wrapper) why = key_gone(registry, name = c->auth.wrapper->key_name);
        if (!why) continue;
        rta_log_event(RTA_LOG_INFO, "key.changed", RTA__GW_LOG_FIELDS(c, .code = RTA_ERR_KEY_DISABLED),
                      "connection %s: key %s was %s, closing it", c->id, name, why);
        /* Its presence members leave now, not when the transport has closed. */
        for (size_t i = 0; i < c->attached_count; i++)
            rta__gw_presence_conn_left(c, c->attached[i]);
        if (!c->transport) { /* detached: it could only resume with other credentials */
            rta__gw_detached_remove(c);
            c->final = 1;
            rta__gw_conn_drop_frames(c);
            rta__gw_conn_discard_soon(c);
            continue;
        }
        rta_error e;
        rta_error_set(&e, RTA_ERR_KEY_DISABLED, "Key %s was %s", name, why); /* fatal (2.8) */
        rta__gw_conn_fail(c, RTA_ACTION_ERROR, &e);
    }
}

/* ---- connect ------------------------------------------------------------------------------ */

int rta__gw_conn_authenticate(rta_conn *c, rta_error *e)
{
    rta_gateway *gw = c->gw;
    const rta_gateway_hooks *h = &gw->hooks;
    char *key = rta__gw_conn_query_arg(c, "key=");
    char *token = rta__gw_conn_query_arg(c, "access_token=");
    if (!token) token = rta__gw_conn_query_arg(c, "accessToken="); /* spec spelling, RSA3c */
    char *cid = rta__gw_conn_query_arg(c, "clientId=");
    int action = 0;
    if (key) {
        const char *colon = strchr(key, ':');
        if (!rta_basic_allowed(gw->basic_over_http, h->is_tls(h->data, c->transport),
                               h->is_loopback(h->data, c->transport))) {
            rta_error_set(e, RTA_ERR_BASIC_OVER_NON_TLS, NULL);
            action = RTA_ACTION_ERROR;
        } else if (!colon) {
            rta_error_set(e, RTA_ERR_INVALID_CREDENTIALS, "Invalid key");
            action = RTA_ACTION_ERROR;
        } else if (rta_token_service_basic(gw->tokens, key, (size_t)(colon - key), colon + 1,
                                           strlen(colon + 1), &c->auth, e)) {
            action = RTA_ACTION_ERROR; /* a bad key is fatal: 40101 */
        }
    } else if (token) {
        if (rta_token_service_verify(gw->tokens, token, strlen(token), gw->now(),
                                     &c->auth, e))
            action = rta_error_is_token_error(e->code) ? RTA_ACTION_DISCONNECTED : RTA_ACTION_ERROR;
    } else {
        rta_error_set(e, RTA_ERR_INVALID_CREDENTIALS, "No key or token in the connection request");
        action = RTA_ACTION_ERROR;
    }
    if (!action) {
        const char *who = NULL;
        int rc = rta_client_id_resolve(&c->auth, cid, &who);
        if (rc) {
            rta_error_set(e, rc, "%s",
                          rc == RTA_ERR_INVALID_CLIENT_ID ? "clientId \"*\" is reserved"
                                                          : "Invalid clientId for credentials");
            action = RTA_ACTION_ERROR;
        } else {
            c->client_id = who ? strdup(who) : NULL;
            c->revoke_at = pending_revocation(c);
            if (rta__gw_revindex_update(c)) { /* unfindable by a revocation: refuse it */
                rta_error_set(e, RTA_ERR_INTERNAL, "Out of memory");
                action = RTA_ACTION_ERROR;
            }
        }
    }
    free(key);
    free(token);
    free(cid);
    return action;
}

/* ---- in-band AUTH (RTC8a) ------------------------------------------------------------------- */

/* The connection keeps its clientId (S-50): the new token must carry the same one, or be a
 * wildcard token, which may act as anyone. */
static int client_id_compatible(const char *conn_cid, const char *token_cid)
{
    if (token_cid && !strcmp(token_cid, "*")) return 1;
    if (!conn_cid || !token_cid) return !conn_cid && !token_cid;
    return strcmp(conn_cid, token_cid) == 0;
}

void rta__gw_conn_reauth(rta_conn *c, const rta_protocol_message *m)
{
    rta_error e;
    rta_auth_context fresh;
    const char *tok = m->auth_access_token;
    if (!tok) {
        rta_error_set(&e, RTA_ERR_INVALID_CREDENTIALS, "AUTH without an accessToken");
        rta__gw_conn_fail(c, RTA_ACTION_ERROR, &e);
        return;
    }
    if (rta_token_service_verify(c->gw->tokens, tok, strlen(tok), c->gw->now(), &fresh, &e)) {
        rta__gw_conn_fail(c, RTA_ACTION_ERROR, &e); /* 4014x: ably-js renews (S-61) */
        return;
    }
    /* A connection's identity never changes (S-50); nor does its app (so nor do its counts
     * for the connection caps, gateway/limits.c). */
    if (strcmp(fresh.app_id, c->auth.app_id) ||
        !client_id_compatible(c->client_id, fresh.client_id)) {
        rta_auth_context_clear(&fresh);
        rta_error_set(&e, RTA_ERR_INCOMPATIBLE_CREDENTIALS,
                      "Incompatible clientId or app for this connection");
        rta__gw_conn_fail(c, RTA_ACTION_ERROR, &e);
        return;
    }
    rta_auth_context_clear(&c->auth);
    c->auth = fresh; /* capability, expiry and key swapped in place */
    if (rta__gw_revindex_update(c)) { /* unfindable by a revocation: end it */
        rta_error_set(&e, RTA_ERR_INTERNAL, "Out of memory");
        rta__gw_conn_fail(c, RTA_ACTION_ERROR, &e);
        return;
    }
    c->revoke_at = pending_revocation(c);
    rta__gw_conn_arm_timers(c);
    /* same connectionId and key: the client sees an update (RTN24) */
    rta__gw_conn_send_connected(c, NULL, 0);
    rta__gw_channels_recheck(c);
}
