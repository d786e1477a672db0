/* test_gateway_auth.c: connection auth (gateway/auth.c) on the fixture's fake transports and
 * clock (tests/gateway_fixture.h), end to end through the gateway's hooks: authentication at
 * the upgrade (S-2 Basic without TLS, bad credentials), the RTN22 hint 30 s before expiry and
 * DISCONNECTED 40142 at it, in-band AUTH moving the expiry (RTC8a) or failing (40102), a
 * revocation disconnecting matching live connections at once (40141) or after an AUTH with
 * allowReauthMargin, and a disabled key ending its connections (ERROR 40131). The same over
 * real WebSockets with ably-js: tests/interop/realtime_{connect,expiry,reauth,revoke}.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "../gateway_fixture.h"

/* The next frame written to t has this action (and this error code, when code). */
static void expect(fx_transport *t, int action, int code)
{
    rta_protocol_message m;
    assert_int_equal(fx_next(t, &m), 0);
    assert_int_equal(m.action, action);
    if (code) {
        assert_true(m.has & RTA_PM_HAS_ERROR);
        assert_int_equal(m.error.code, code);
    }
    rta_protocol_message_clear(&m);
}

static void expect_nothing(fx_transport *t)
{
    assert_null(t->head);
}

/* A connection on a token of key_name for client_id (ttl ms), CONNECTED read; its query
 * string lives in *query (freed by the caller). */
static fx_transport *token_conn(const char *key_name, const char *secret, const char *client_id,
                                int64_t ttl, char **query)
{
    char *tok = fx_token(key_name, secret, client_id, ttl);
    assert_non_null(tok);
    assert_true(asprintf(query, "access_token=%s", tok) > 0);
    free(tok);
    fx_transport *t = fx_open(*query);
    assert_non_null(t->conn);
    fx_loop();
    expect(t, RTA_ACTION_CONNECTED, 0);
    return t;
}

static void send_auth(fx_transport *t, const char *token)
{
    char frame[2048];
    snprintf(frame, sizeof(frame), "{\"action\":17,\"auth\":{\"accessToken\":\"%s\"}}", token);
    rta_gateway_receive(t->conn, frame, strlen(frame), 1);
    fx_loop();
}

static void basic_needs_tls_or_loopback(void **state)
{
    (void)state;
    fx_transport *t = fx_open_peer("key=app.all:secret-all", 0, 0); /* remote, no TLS */
    fx_loop();
    expect(t, RTA_ACTION_ERROR, 40103);
    fx_advance(1000); /* lingers a second for the client to read it, then closes */
    assert_true(t->closed);
    assert_false(t->close_normal);
    t = fx_open_peer("key=app.all:secret-all", 1, 0); /* remote over TLS: fine */
    fx_loop();
    expect(t, RTA_ACTION_CONNECTED, 0);
    t = fx_open_peer("key=app.all:secret-all", 0, 1); /* loopback: fine */
    fx_loop();
    expect(t, RTA_ACTION_CONNECTED, 0);
}

static void bad_credentials_at_connect(void **state)
{
    (void)state;
    fx_transport *t = fx_open("key=app.all:wrong");
    fx_loop();
    expect(t, RTA_ACTION_ERROR, 40101); /* fatal: the client fails */
    t = fx_open("format=json");
    fx_loop();
    expect(t, RTA_ACTION_ERROR, 40101);
    t = fx_open("access_token=not-a-token");
    fx_loop();
    rta_protocol_message m;
    assert_int_equal(fx_next(t, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_DISCONNECTED); /* a token error: the client renews */
    assert_true(m.error.code >= 40140 && m.error.code < 40150);
    rta_protocol_message_clear(&m);
    t = fx_open("key=app.all:secret-all&clientId=*");
    fx_loop();
    expect(t, RTA_ACTION_ERROR, 40012);
    fx_advance(2000); /* the lingering transports close */
    fx_reap();
    assert_null(fx.transports);
    assert_null(fx.gateway.conns); /* none was kept for a resume */
}

/* RTN22: an AUTH 30 s before expiry; DISCONNECTED 40142 at expiry, then the transport closes
 * after its linger; the connection stays resumable (the client renews and resumes). */
static void hint_then_expiry(void **state)
{
    (void)state;
    char *q;
    fx_transport *t = token_conn("app.all", "secret-all", "alice", 60000, &q);
    fx_advance(29999);
    expect_nothing(t);
    fx_advance(1);
    expect(t, RTA_ACTION_AUTH, 0);
    fx_advance(29999);
    expect_nothing(t);
    fx_advance(1);
    expect(t, RTA_ACTION_DISCONNECTED, 40142);
    assert_false(t->closed); /* lingering: the client reads it and closes */
    fx_advance(1000);
    assert_true(t->closed);
    assert_int_equal(fx.gateway.detached_count, 1);
    free(q);
}

/* RTC8a: AUTH with a new token swaps it in place: CONNECTED with the same connectionId, and
 * the expiry follows the new token. One with another clientId is ERROR 40102. */
static void reauth_moves_expiry_or_fails(void **state)
{
    (void)state;
    char *q;
    fx_transport *t = token_conn("app.all", "secret-all", "alice", 60000, &q);
    const char *id = t->conn->id;
    char id_before[24];
    snprintf(id_before, sizeof(id_before), "%s", id);
    fx_advance(30000);
    expect(t, RTA_ACTION_AUTH, 0);
    char *fresh = fx_token("app.all", "secret-all", "alice", 120000);
    send_auth(t, fresh);
    free(fresh);
    rta_protocol_message m;
    assert_int_equal(fx_next(t, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_CONNECTED);
    assert_string_equal(m.connection_id, id_before);
    assert_false(m.has & RTA_PM_HAS_ERROR);
    rta_protocol_message_clear(&m);
    fx_advance(60000); /* the old expiry passes */
    expect_nothing(t);
    fx_advance(30000); /* 30 s before the new one */
    expect(t, RTA_ACTION_AUTH, 0);
    char *bob = fx_token("app.all", "secret-all", "bob", 120000);
    send_auth(t, bob);
    free(bob);
    expect(t, RTA_ACTION_ERROR, 40102);
    fx_advance(1000);
    assert_true(t->closed);
    assert_null(fx.gateway.conns); /* fatal: not kept */
    free(q);
}

/* S-64: revokeTokens for clientId:alice disconnects alice's live connection (40141) and no
 * other. */
static void revocation_disconnects_at_once(void **state)
{
    (void)state;
    char *qa, *qb;
    fx_transport *a = token_conn("app.rev", "secret-rev", "alice", 0, &qa);
    fx_transport *b = token_conn("app.rev", "secret-rev", "bob", 0, &qb);
    fx_transport *basic = fx_open("key=app.rev:secret-rev&clientId=alice");
    fx_loop();
    expect(basic, RTA_ACTION_CONNECTED, 0);
    fx_advance(1);
    assert_int_equal(fx_revoke("app.rev", "secret-rev", "clientId:alice", 0), 0);
    fx_loop();
    expect(a, RTA_ACTION_DISCONNECTED, 40141);
    expect_nothing(b);
    expect_nothing(basic); /* Basic auth is not a token: nothing to revoke */
    fx_advance(1000);
    assert_true(a->closed);
    assert_false(b->closed || basic->closed);
    assert_int_equal(fx.gateway.detached_count, 1); /* resumable with a new token */
    assert_true(fx.gateway.detached_head->revoked); /* its presence left at once */
    free(qa);
    free(qb);
}

/* Revocation by token finds exactly that token's connection through the index (issue 19),
 * and an in-band AUTH moves the connection to its new token: revoking the old one then
 * leaves it alone, revoking the new one ends it. */
static void revocation_by_token_follows_auth(void **state)
{
    (void)state;
    char *t1 = fx_token("app.rev", "secret-rev", "carol", 0);
    char *t2 = fx_token("app.rev", "secret-rev", "carol", 0);
    char *other = fx_token("app.rev", "secret-rev", "carol", 0);
    char *qa, *qb, target[2048];
    assert_true(asprintf(&qa, "access_token=%s", t1) > 0);
    assert_true(asprintf(&qb, "access_token=%s", other) > 0);
    fx_transport *a = fx_open(qa), *b = fx_open(qb);
    fx_loop();
    expect(a, RTA_ACTION_CONNECTED, 0);
    expect(b, RTA_ACTION_CONNECTED, 0);
    send_auth(a, t2);
    expect(a, RTA_ACTION_CONNECTED, 0);
    fx_advance(1);
    snprintf(target, sizeof(target), "token:%s", t1); /* a's former token */
    assert_int_equal(fx_revoke("app.rev", "secret-rev", target, 0), 0);
    fx_loop();
    expect_nothing(a);
    expect_nothing(b);
    snprintf(target, sizeof(target), "token:%s", t2);
    assert_int_equal(fx_revoke("app.rev", "secret-rev", target, 0), 0);
    fx_loop();
    expect(a, RTA_ACTION_DISCONNECTED, 40141);
    expect_nothing(b); /* same clientId, another token */
    fx_advance(1000);
    assert_true(a->closed);
    assert_false(b->closed);
    fx_close(b);
    fx_loop();
    fx_advance(fx.gateway.limits.connection_state_ttl);
    assert_int_equal(fx.gateway.revindex.count, 0); /* nothing left indexed */
    free(t1);
    free(t2);
    free(other);
    free(qa);
    free(qb);
}

/* allowReauthMargin: an AUTH now, DISCONNECTED 40141 at appliesAt (30 s later) unless the
 * client reauthenticated with a token the revocation does not cover. */
static void revocation_with_reauth_margin(void **state)
{
    (void)state;
    char *qa, *qc;
    fx_transport *a = token_conn("app.rev", "secret-rev", "alice", 0, &qa);
    fx_transport *c = token_conn("app.rev", "secret-rev", "alice", 0, &qc);
    fx_advance(1);
    assert_int_equal(fx_revoke("app.rev", "secret-rev", "clientId:alice", 1), 0);
    fx_loop();
    expect(a, RTA_ACTION_AUTH, 0);
    expect(c, RTA_ACTION_AUTH, 0);
    fx_advance(1);
    char *fresh = fx_token("app.rev", "secret-rev", "alice", 0); /* issued after: not covered */
    send_auth(c, fresh);
    free(fresh);
    expect(c, RTA_ACTION_CONNECTED, 0);
    fx_advance(29997);
    expect_nothing(a);
    fx_advance(2);
    expect(a, RTA_ACTION_DISCONNECTED, 40141);
    expect_nothing(c);
    assert_false(c->closed);
    free(qa);
    free(qc);
}

/* Issue 11: a disabled key ends its connections, Basic and token alike, for good (ERROR
 * 40131); a detached one is discarded; others stay. */
static void disabled_key_ends_its_connections(void **state)
{
    (void)state;
    char *q;
    fx_transport *tok = token_conn("app.all", "secret-all", "alice", 0, &q);
    fx_transport *basic = fx_open("key=app.all:secret-all");
    fx_transport *other = fx_open("key=app.limited:secret-lim");
    fx_transport *gone = fx_open("key=app.all:secret-all");
    fx_loop();
    expect(basic, RTA_ACTION_CONNECTED, 0);
    expect(other, RTA_ACTION_CONNECTED, 0);
    fx_close(gone); /* detached, resumable */
    assert_int_equal(fx.gateway.detached_count, 1);
    rta_key_record off = {"app.all", "app", "secret-all", "{\"*\":[\"*\"]}", 0, 0, 1};
    assert_int_equal(rta_registry_put_key(&fx.registry, &off, NULL), 0);
    rta_gateway_credentials_changed(&fx.gateway, &fx.registry);
    fx_loop();
    expect(tok, RTA_ACTION_ERROR, 40131);
    expect(basic, RTA_ACTION_ERROR, 40131);
    expect_nothing(other);
    fx_advance(1000);
    assert_true(tok->closed && basic->closed);
    assert_false(other->closed);
    assert_int_equal(fx.gateway.detached_count, 0);
    assert_ptr_equal(fx.gateway.conns, other->conn); /* only the other key's is left */
    assert_null(fx.gateway.conns->next);
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(basic_needs_tls_or_loopback, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(bad_credentials_at_connect, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(hint_then_expiry, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(reauth_moves_expiry_or_fails, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(revocation_disconnects_at_once, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(revocation_by_token_follows_auth, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(revocation_with_reauth_margin, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(disabled_key_ends_its_connections, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
