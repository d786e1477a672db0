/* fuzz_gateway.c: the realtime gateway (tests/gateway_fixture.h: fake transports, a fake
 * clock, no libwebsockets) driven by frames *and* by time, revocations and key changes:
 * decode, the limits, every action's handler (attach, detach, publish and fan-out, presence,
 * AUTH, held messages), authentication at connect and resume, the RTN22 hint and expiry,
 * revocation (with and without allowReauthMargin), disabled keys and a removed app, liveness,
 * lingering closes and detached connections.
 *
 * Three slots, each with a connection over a fake transport, opened at the start:
 *   0: Basic app.all, JSON;  1: a 60 s token of app.rev (revocable) for alice, msgpack;
 *   2: Basic app.limited, JSON.
 * Input: records of [selector][argument, 2 bytes big-endian][bytes]. Selector bits 0-1 pick
 * the slot (3 is slot 0).
 *   bit 7 clear, a frame: the argument is the length of the bytes that follow, which go to
 *     the slot's connection as one WebSocket fragment; bit 2: a simulated resume (await
 *     re-attach) first; bit 3: run the loop after (write, close, fire due timers); bit 4: not
 *     the message's last fragment.
 *   bit 7 set, an event (no bytes follow); bits 4-6 say which, the argument how:
 *     0 time passes: argument x 10 ms (the loop runs at every deadline on the way);
 *     1 revokeTokens: target by arg & 3 (clientId:alice, clientId:bob, token:<slot 1's
 *       token>, clientId:*), arg & 4 allowReauthMargin, arg & 8 on app.all (refused: its
 *       tokens are not revocable) instead of app.rev; then rta_gateway_revoked();
 *     2 credentials change: arg & 4 removes the app, else disables key arg % 3 (app.all,
 *       app.limited, app.rev); then rta_gateway_credentials_changed();
 *     3 every key back, enabled; rta_gateway_credentials_changed();
 *     4 the loop runs; arg & 1: the slot's client sends a pong first;
 *     5 the slot's transport closes (the client or the network);
 *     6 the slot reconnects (its transport closed first): arg & 1 resume=<the last
 *       connectionKey seen in this slot>; credentials by (arg >> 1) & 3: the slot's own, a
 *       fresh token for alice (app.rev, ttl ((arg >> 4) & 15) x 10 s + 10 s), Basic app.all
 *       as alice, a bad token; arg & 8 the other wire format;
 *     7 in-band AUTH with a fresh token: arg & 1 of app.all (else app.rev), clientId by
 *       (arg >> 1) & 3 (alice, bob, none, "*"), ttl ((arg >> 3) & 15) x 10 s + 10 s.
 * After each input every connection is gone and nothing is left counted or queued. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/gateway_fixture.h"

#define SLOTS 3

/* A slot's transports stay until the input ends (closed ones too), so pointers to them hold. */
typedef struct {
    fx_transport *t;
    char last_key[64];
    rta_format fmt;
} slot;

static slot slots[SLOTS];
static char *alice_token; /* slot 1's token */

static char *token_for(const char *key_name, const char *secret, const char *client_id, int64_t ttl)
{
    return fx_token(key_name, secret, client_id, ttl);
}

/* Opens slot i with query q (freed here), closing what it had. */
static void open_slot(int i, char *q, rta_format fmt)
{
    slot *s = &slots[i];
    if (s->t) fx_close(s->t);
    s->fmt = fmt;
    s->t = q ? fx_open(q) : NULL;
    free(q);
    if (s->t) {
        s->t->keep = 0;      /* count frames, keep none */
        s->t->auto_pong = 0; /* pongs are events (4): silence can last 60 s and hang up */
    }
}

/* The connectionKey each slot's client would resume with: its connection's, as last seen. */
static void note_keys(void)
{
    for (int k = 0; k < SLOTS; k++)
        if (slots[k].t && slots[k].t->conn)
            snprintf(slots[k].last_key, sizeof(slots[k].last_key), "%s", slots[k].t->conn->key);
}

static char *own_query(int i)
{
    char *q = NULL;
    if (i == 0) q = strdup("key=app.all:secret-all");
    if (i == 1 && alice_token && asprintf(&q, "access_token=%s&format=msgpack", alice_token) < 0)
        q = NULL;
    if (i == 2) q = strdup("key=app.limited:secret-lim");
    return q;
}

static void reconnect(int i, unsigned arg)
{
    slot *s = &slots[i];
    rta_format fmt = s->fmt;
    if (arg & 8) fmt = fmt == RTA_FORMAT_JSON ? RTA_FORMAT_MSGPACK : RTA_FORMAT_JSON;
    char *creds = NULL, *tok = NULL;
    switch ((arg >> 1) & 3) {
    case 0:
        creds = own_query(i);
        break;
    case 1:
        tok = token_for("app.rev", "secret-rev", "alice", ((arg >> 4) & 15) * 10000 + 10000);
        if (tok && asprintf(&creds, "access_token=%s", tok) < 0) creds = NULL;
        break;
    case 2:
        creds = strdup("key=app.all:secret-all&clientId=alice");
        break;
    default:
        creds = strdup("access_token=not-a-token");
        break;
    }
    free(tok);
    if (!creds) return;
    char *q = NULL;
    if (asprintf(&q, "%s&format=%s%s%s", creds, fmt == RTA_FORMAT_MSGPACK ? "msgpack" : "json",
                 arg & 1 ? "&resume=" : "", arg & 1 ? s->last_key : "") < 0)
        q = NULL;
    free(creds);
    if (q) open_slot(i, q, fmt);
}

static void revoke_tokens(unsigned arg)
{
    char target[128] = "";
    switch (arg & 3) {
    case 0:
        snprintf(target, sizeof(target), "clientId:alice");
        break;
    case 1:
        snprintf(target, sizeof(target), "clientId:bob");
        break;
    case 2:
        snprintf(target, sizeof(target), "token:%s", alice_token ? alice_token : "x");
        break;
    default:
        snprintf(target, sizeof(target), "clientId:*");
        break;
    }
    if (arg & 8)
        fx_revoke("app.all", "secret-all", target, arg & 4 ? 1 : -1);
    else
        fx_revoke("app.rev", "secret-rev", target, arg & 4 ? 1 : -1);
}

static void credentials_change(unsigned arg)
{
    static const char *const names[] = {"app.all", "app.limited", "app.rev"};
    if (arg & 4) {
        rta_registry_remove_app(&fx.registry, "app");
    } else {
        const char *name = names[arg % 3];
        const rta_key_entry *k = rta_registry_key(&fx.registry, name, strlen(name));
        if (k) { /* copies: putting the key replaces (frees) the entry k points at */
            char app_id[sizeof(k->app_id)], secret[sizeof(k->secret)];
            char *capability = strdup(k->capability_text);
            snprintf(app_id, sizeof(app_id), "%s", k->app_id);
            snprintf(secret, sizeof(secret), "%s", k->secret);
            rta_key_record off = {name, app_id, secret, capability, k->revocable, 0, k->created};
            if (capability) rta_registry_put_key(&fx.registry, &off, NULL);
            free(capability);
        }
    }
    rta_gateway_credentials_changed(&fx.gateway, &fx.registry);
}

static void send_auth(rta_conn *c, unsigned arg)
{
    static const char *const cids[] = {"alice", "bob", NULL, "*"};
    int64_t ttl = ((arg >> 3) & 15) * 10000 + 10000;
    char *tok = arg & 1 ? token_for("app.all", "secret-all", cids[(arg >> 1) & 3], ttl)
                        : token_for("app.rev", "secret-rev", cids[(arg >> 1) & 3], ttl);
    if (!tok) return;
    rta_protocol_message m = {
        .action = RTA_ACTION_AUTH, .has = RTA_PM_HAS_AUTH, .auth_access_token = tok};
    rta_buf frame = {0};
    if (!rta_protocol_message_encode(&m, c->fmt, &frame) && !frame.oom)
        rta_gateway_receive(c, frame.data, frame.len, 1);
    rta_buf_free(&frame);
    free(tok);
}

static void event(int i, unsigned op, unsigned arg)
{
    slot *s = &slots[i];
    rta_conn *c = s->t ? s->t->conn : NULL;
    switch (op) {
    case 0:
        fx_advance((int64_t)arg * 10);
        break;
    case 1:
        revoke_tokens(arg);
        break;
    case 2:
        credentials_change(arg);
        break;
    case 3:
        fx_put_keys();
        rta_gateway_credentials_changed(&fx.gateway, &fx.registry);
        break;
    case 4:
        if (c && (arg & 1)) rta_gateway_pong(c);
        fx_loop();
        break;
    case 5:
        if (s->t) fx_close(s->t);
        break;
    case 6:
        reconnect(i, arg);
        break;
    default:
        if (c) send_auth(c, arg);
        break;
    }
}

/* Every connection goes; nothing may be left over in the gateway's accounting. Then a fresh
 * gateway, keys, revocations and clock for the next input. */
static void finish(void)
{
    rta_gateway *gw = &fx.gateway;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].t) fx_close(slots[i].t);
    fx_reap();
    if (fx.transports || gw->live_count) abort(); /* every transport closed */
    while (gw->conns)
        rta__gw_conn_free(gw->conns); /* detached ones */
    if (gw->channels.count || gw->detached_count || gw->detached_head || gw->queued_bytes ||
        gw->held.per_app.count || gw->held.per_client.count || gw->by_id.count)
        abort(); /* nothing leaks */
    if (gw->timers.len > (size_t)gw->timers.liveness_on)
        abort(); /* no deadline outlives its owner */
    rta_gateway_stop(gw);
    rta_gateway_free(gw);
    if (rta_gateway_init(gw, &fx.deps)) abort();
    memset(slots, 0, sizeof(slots));
    free(alice_token);
    alice_token = NULL;
    fx_put_keys();
    rta_revocations_free(&fx.tokens.revocations);
    if (rta_revocations_init(&fx.tokens.revocations)) abort();
    fx.tokens.issue_floor = 0;
    fx.now = FX_EPOCH;
    fx.timer_at = -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (fx_init()) abort();
        ready = 1;
    }
    alice_token = token_for("app.rev", "secret-rev", "alice", 60000);
    if (!alice_token) abort();
    open_slot(0, own_query(0), RTA_FORMAT_JSON);
    open_slot(1, own_query(1), RTA_FORMAT_MSGPACK);
    open_slot(2, own_query(2), RTA_FORMAT_JSON);
    for (int i = 0; i < SLOTS; i++)
        if (!slots[i].t || !slots[i].t->conn) abort();
    note_keys();
    fx_loop(); /* CONNECTED out */

    size_t pos = 0;
    while (pos + 3 <= size) {
        uint8_t sel = data[pos];
        unsigned arg = (unsigned)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        int i = (sel & 3) % SLOTS;
        if (sel & 0x80) {
            event(i, (sel >> 4) & 7, arg);
            note_keys();
            continue;
        }
        size_t len = arg > size - pos ? size - pos : arg;
        rta_conn *c = slots[i].t ? slots[i].t->conn : NULL;
        if (c) {
            if (sel & 4) rta__gw_conn_await_reattach(c);
            rta_gateway_receive(c, data + pos, len, !(sel & 0x10));
        }
        pos += len;
        if (sel & 8) fx_loop();
        note_keys();
    }
    finish();
    return 0;
}
