/* gateway/resume.c: connection state across transports (RTN15, wire doc 2.9).
 *
 * When a WebSocket drops without CLOSE or a fatal ERROR (network loss, idle timeout, or our
 * own DISCONNECTED 40142/40141 after which the client renews its token), the connection is
 * kept *detached* for connectionStateTtl: still attached to its channels, holding their
 * messages (bounded by max_queue). A client that reconnects with resume=<connectionKey> and
 * valid credentials for the same app and clientId gets it back: CONNECTED with the same
 * connectionId; ably-js then re-attaches every channel (RTN15c6) and each ATTACHED, flagged
 * RESUMED, is followed by the messages held for that channel, so none is lost.
 * Anything else (unknown or expired key, another app or clientId, another wire format) is a
 * new connection whose CONNECTED carries error 80008 (80018 for a malformed key) and ably-js
 * starts afresh. recover=<connectionKey> (RTN16k, ably-js's `recover` option after a page
 * reload) is the same operation with the same outcomes (RTN16l).
 *
 * The connectionKey is "<connectionId>!<secret>"; the secret (72 random bits) is compared
 * in constant time, so knowing a connectionId (it is on every message) is not enough. In
 * cluster mode the secret is a MAC every node can verify, and a node that does not have the
 * connection may take it over (gateway/adopt.c). */
#include <string.h>

#include "core/crypto.h"
#include "server/gateway/internal.h"
#include "server/log.h"

#define PRESENCE_GRACE_MS 15000 /* a detached connection's members stay this long (RTP17) */

static int64_t presence_grace(const rta_gateway *gw)
{
    return gw->limits.presence_grace > 0 ? gw->limits.presence_grace : PRESENCE_GRACE_MS;
}

static void presence_leave_all(rta_conn *c)
{
    for (size_t k = 0; k < c->attached_count; k++) {
        rta_channel *ch = c->attached[k];
        long i = rta__gw_channel_member_index(ch, c);
        /* only where members left is the re-attach not RESUMED: ably-js re-enters them
         * (RTP17i); the connection's other channels missed nothing (RTL2f) */
        if (rta__gw_presence_conn_left(c, ch) && i >= 0) ch->modes[i] |= RTA_MEMBER_DISCONTINUOUS;
    }
}

/* Not resumed within the grace period: its presence members leave; it stays resumable. */
static void on_presence_grace(rta_timer *t)
{
    rta_conn *c = rta__gw_container_of(t, rta_conn, notice_timer);
    if (!c->transport) presence_leave_all(c);
}

static void on_discard(rta_timer *t)
{
    rta_conn *c = rta__gw_container_of(t, rta_conn, end_timer);
    if (c->transport) return; /* resumed meanwhile */
    rta_log_debug("connection %s: not resumed, discarded", c->id);
    rta__gw_conn_free(c);
}

void rta__gw_conn_discard_soon(rta_conn *c)
{
    rta__gw_schedule(c->gw, &c->end_timer, on_discard, 0);
}

static int is_detached(const rta_conn *c)
{
    return c->older || c->newer || c->gw->detached_head == c;
}

void rta__gw_detached_push(rta_conn *c)
{
    rta_gateway *gw = c->gw;
    c->newer = NULL;
    c->older = gw->detached_tail;
    if (gw->detached_tail)
        gw->detached_tail->newer = c;
    else
        gw->detached_head = c;
    gw->detached_tail = c;
    gw->detached_count++;
}

void rta__gw_detached_remove(rta_conn *c)
{
    rta_gateway *gw = c->gw;
    if (!is_detached(c)) return;
    if (c->older)
        c->older->newer = c->newer;
    else
        gw->detached_head = c->newer;
    if (c->newer)
        c->newer->older = c->older;
    else
        gw->detached_tail = c->older;
    c->older = c->newer = NULL;
    gw->detached_count--;
}

int rta__gw_detached_evict_oldest(rta_gateway *gw, const rta_conn *keep)
{
    rta_conn *c = gw->detached_head;
    if (c == keep) c = c->newer;
    if (!c) return 0;
    rta_log_debug("connection %s: detached, discarded to make room", c->id);
    rta__gw_detached_remove(c);
    rta__gw_conn_drop_frames(c);
    c->final = 1;
    rta__gw_conn_discard_soon(c);
    return 1;
}

/* Forgets what belonged to c's last transport: its timers and its closing state. */
static void clear_transport_state(rta_conn *c)
{
    rta__gw_timer_cancel(c->gw, &c->end_timer);
    rta__gw_timer_cancel(c->gw, &c->notice_timer);
    c->closing = 0;
    c->lingering = 0;
    rta__gw_linger_forget(c);
    c->close_after = NULL;
    c->end_code = 0;
}

void rta__gw_conn_transport_closed(rta_conn *c)
{
    rta_gateway *gw = c->gw;
    if (c->slot) *c->slot = NULL;
    c->slot = NULL;
    c->transport = NULL;
    rta__gw_liveness_forget(c);
    rta__gw_flush_forget(c);
    gw->live_count--;
    int code = c->end_code;
    clear_transport_state(c);
    if (gw->stopping || c->final || !c->connected || gw->limits.connection_state_ttl <= 0) {
        if (c->connected)
            rta_log_event(RTA_LOG_INFO, "connection.closed", RTA__GW_LOG_FIELDS(c, .code = code),
                          "connection %s closed%s", c->id, c->final ? "" : ", not resumable");
        rta__gw_conn_free(c);
        return;
    }
    /* Detached: channel messages not yet written are held with what arrives meanwhile;
     * protocol replies (ACKs, ATTACHED, errors) are not replayed: the client re-sends
     * what it still needs (2.6, 2.7). */
    rta__gw_conn_hold_unsent(c);
    rta__gw_detached_push(c);
    rta_log_event(RTA_LOG_INFO, "connection.closed", RTA__GW_LOG_FIELDS(c, .code = code),
                  "connection %s: transport closed, resumable for %lld ms", c->id,
                  gw->limits.connection_state_ttl);
    rta__gw_schedule(gw, &c->end_timer, on_discard,
                  gw->now() + gw->limits.connection_state_ttl);
    /* A revoked identity is not present a moment longer; anyone else may be back soon. */
    if (c->revoked)
        presence_leave_all(c);
    else
        rta__gw_schedule(gw, &c->notice_timer, on_presence_grace, gw->now() + presence_grace(gw));
}

/* Why `old` may not be resumed by `fresh`, or NULL when it may. */
static const char *refusal(const rta_conn *old, const rta_conn *fresh)
{
    if (old->final) return "connection no longer available";
    if (strcmp(old->auth.app_id, fresh->auth.app_id)) return "different app";
    if (!old->client_id != !fresh->client_id ||
        (old->client_id && strcmp(old->client_id, fresh->client_id)))
        return "different clientId";
    if (old->fmt != fresh->fmt) return "different format";
    return NULL;
}

/* A connectionKey is "<connectionId>!<secret>": printable, no spaces, bounded. */
static int key_well_formed(const char *key)
{
    const char *bang = strchr(key, '!');
    if (!bang || bang == key || !bang[1] || strlen(key) > 128) return 0;
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) return 0;
    return 1;
}

rta_conn *rta__gw_conn_resume(rta_conn *fresh, const char *key, int recover, rta_error *e)
{
    rta_gateway *gw = fresh->gw;
    const char *verb = recover ? "recover" : "resume";
    if (!key_well_formed(key)) { /* RTN15c5, RTN16l: a new connection, told why */
        rta_error_set(e, RTA_ERR_INVALID_CONNECTION_KEY, "Unable to %s: invalid connection key",
                      verb);
        return NULL;
    }
    const char *bang = strchr(key, '!');
    rta_conn *old = bang ? rta_hmap_get(&gw->by_id, key, (size_t)(bang - key)) : NULL;
    if (!old) { /* cluster mode: another node's, maybe (gateway/adopt.c) */
        int adopted = rta__gw_conn_adopt(fresh, key);
        if (adopted > 0) *e = (rta_error){0}; /* fresh is it now: no error */
        if (adopted < 0) rta_error_set(e, RTA_ERR_INTERNAL, "Out of memory");
        if (adopted) return NULL;
    }
    if (!old || old == fresh || !rta_ct_equal(old->key, strlen(old->key), key, strlen(key))) {
        rta_error_set(e, RTA_ERR_RESUME_FAILED, "Unable to %s: unknown or expired connection",
                      verb);
        return NULL;
    }
    const char *why = refusal(old, fresh);
    if (why) {
        rta_error_set(e, RTA_ERR_RESUME_FAILED, "Unable to %s: %s", verb, why);
        return NULL;
    }
    if (old->transport) {
        /* The client reconnected before we noticed its old transport die (half-open TCP):
         * the new transport takes over, the old one is closed without a word. */
        rta_log_debug("connection %s: resumed over a live transport", old->id);
        if (old->slot) *old->slot = NULL;
        gw->hooks.close_now(gw->hooks.data, old->transport);
        gw->live_count--;
        rta__gw_conn_hold_unsent(old);
    }
    clear_transport_state(old);
    rta__gw_detached_remove(old);
    old->revoked = 0;
    old->end_reason = 0; /* resumed: it did not end */

    /* Take over fresh's transport and credentials (a renewed token, maybe a new
     * capability); fresh is freed. */
    old->transport = fresh->transport;
    old->slot = fresh->slot;
    *old->slot = old;
    fresh->transport = NULL;
    fresh->slot = NULL;
    rta__gw_liveness_forget(fresh);
    rta__gw_liveness_seen(old); /* the resumed connection is swept from now on */
    rta_auth_context tmp = old->auth;
    old->auth = fresh->auth;
    fresh->auth = tmp;
    rta__gw_revindex_remove(fresh); /* on its way out, with old's former credentials */
    int unindexed = rta__gw_revindex_update(old);
    old->echo = fresh->echo;
    old->heartbeats = fresh->heartbeats;
    old->revoke_at = fresh->revoke_at;
    rta__gw_conn_free(fresh); /* the transport, counted in live_count, is old's now */

    if (unindexed) { /* a revocation could not find it: refuse the resume */
        rta_error oom;
        rta_error_set(&oom, RTA_ERR_INTERNAL, "Out of memory");
        rta__gw_conn_fail(old, RTA_ACTION_ERROR, &oom);
        return old;
    }
    rta__gw_conn_send_connected(old, NULL, 1); /* before everything queued meanwhile */
    rta__gw_conn_arm_timers(old);
    rta__gw_channels_recheck(old); /* the new token may allow less */
    rta__gw_conn_await_reattach(old); /* held messages follow each channel's ATTACHED */
    if (old->out_head) rta__gw_want_write(old);
    rta_log_event(RTA_LOG_INFO, "connection.resumed", RTA__GW_LOG_FIELDS(old, .code = 0),
                  "connection %s resumed", old->id);
    return old;
}
