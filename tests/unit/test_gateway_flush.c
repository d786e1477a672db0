/* test_gateway_flush.c: direct writes (hooks.can_write_now, rta_gateway_flush; what rtauthd
 * does at the end of each loop turn, gateway/frames.c) and the linger after an ending frame on
 * the gateway's own deadline heap. Over the fixture's fake transports (tests/gateway_fixture.h,
 * fx_setup_direct): a frame goes out without the transport's writeable callback, unless the
 * transport still holds part of an earlier one or the client began closing; a connection
 * with a queue writes all of it, taking turns with the others; a revocation's DISCONNECTED
 * frames all go out in one flush, and each socket closes a second later unless its client
 * closes first. The real path (libwebsockets on libuv) runs in every interop test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../gateway_fixture.h"

#define HEARTBEAT_PING "{\"action\":0,\"id\":\"p1\"}"

static fx_transport *open_kept(const char *query)
{
    fx_transport *t = fx_open(query);
    assert_non_null(t->conn);
    t->keep = 1;
    return t;
}

/* A kept connection with a token of app.rev for client_id, valid ttl_ms; `extra` is appended
 * to its query ("" or "&format=msgpack"). */
static fx_transport *open_token(const char *client_id, int64_t ttl_ms, const char *extra)
{
    char *tok = fx_token("app.rev", "secret-rev", client_id, ttl_ms);
    assert_non_null(tok);
    char *q;
    assert_true(asprintf(&q, "access_token=%s%s", tok, extra) > 0);
    free(tok);
    fx_transport *t = open_kept(q);
    free(q);
    return t;
}

static void expect_action(fx_transport *t, int action)
{
    rta_protocol_message m;
    assert_int_equal(fx_next(t, &m), 0);
    assert_int_equal(m.action, action);
    rta_protocol_message_clear(&m);
}

/* CONNECTED and an echoed HEARTBEAT go out at the flush: the writeable callback is never
 * asked for. */
static void writes_without_the_writeable_callback(void **state)
{
    (void)state;
    fx_transport *t = open_kept("key=app.all:secret-all");
    assert_non_null(fx.gateway.flush_head); /* CONNECTED waits for the end of the turn */
    assert_int_equal(t->written, 0);
    rta_gateway_flush(&fx.gateway);
    assert_int_equal(t->written, 1);
    assert_null(fx.gateway.flush_head);
    assert_false(t->want_write);
    expect_action(t, RTA_ACTION_CONNECTED);
    fx_send_json(t->conn, HEARTBEAT_PING);
    rta_gateway_flush(&fx.gateway);
    assert_int_equal(t->written, 2);
    assert_false(t->want_write);
    expect_action(t, RTA_ACTION_HEARTBEAT);
}

/* A transport that still holds part of an earlier frame (can_write_now says no) gets its
 * frames through the writeable callback, in order. */
static void a_choked_transport_waits_for_its_callback(void **state)
{
    (void)state;
    fx_transport *t = open_kept("key=app.all:secret-all");
    t->choked = 1;
    rta_gateway_flush(&fx.gateway);
    assert_int_equal(t->written, 0);
    assert_true(t->want_write);
    fx_loop(); /* the callback: the fixture's loop writes on want_write */
    assert_int_equal(t->written, 1);
    expect_action(t, RTA_ACTION_CONNECTED);
}

/* Several frames queued for one connection, one for another: one flush writes them all,
 * one frame per connection per pass. */
static void a_queue_is_written_whole_taking_turns(void **state)
{
    (void)state;
    fx_transport *a = open_kept("key=app.all:secret-all");
    fx_transport *b = open_kept("key=app.all:secret-all");
    rta_gateway_flush(&fx.gateway);
    expect_action(a, RTA_ACTION_CONNECTED);
    expect_action(b, RTA_ACTION_CONNECTED);
    for (int i = 0; i < 5; i++) fx_send_json(a->conn, HEARTBEAT_PING);
    fx_send_json(b->conn, HEARTBEAT_PING);
    rta_gateway_flush(&fx.gateway);
    assert_int_equal(a->written, 6);
    assert_int_equal(b->written, 2);
    assert_false(a->want_write || b->want_write);
    assert_null(fx.gateway.flush_head);
    assert_null(fx.gateway.flush_tail);
}

/* Once the client began the WebSocket closing handshake, nothing more is written at once:
 * only what the transport's writeable callback still takes. */
static void no_direct_write_once_the_peer_closes(void **state)
{
    (void)state;
    fx_transport *t = open_kept("key=app.all:secret-all");
    rta_gateway_flush(&fx.gateway);
    expect_action(t, RTA_ACTION_CONNECTED);
    fx_send_json(t->conn, HEARTBEAT_PING); /* listed for the flush */
    rta_gateway_peer_closing(t->conn);     /* and taken off it */
    assert_null(fx.gateway.flush_head);
    assert_true(t->want_write);
    t->want_write = 0;
    fx_send_json(t->conn, HEARTBEAT_PING);
    assert_null(fx.gateway.flush_head);
    assert_true(t->want_write);
    assert_int_equal(t->written, 1);
}

/* A connection whose transport closes (or which is freed) while listed leaves the list. */
static void a_closed_transport_leaves_the_list(void **state)
{
    (void)state;
    fx_transport *a = open_kept("key=app.all:secret-all");
    fx_transport *b = open_kept("key=app.all:secret-all");
    fx_transport *c = open_kept("key=app.all:secret-all");
    fx_close(b); /* between the two others: CONNECTED never written */
    rta_gateway_flush(&fx.gateway);
    assert_int_equal(a->written, 1);
    assert_int_equal(b->written, 0);
    assert_int_equal(c->written, 1);
    fx_close(a); /* head and tail too */
    fx_close(c);
    assert_null(fx.gateway.flush_head);
    fx_advance(fx.gateway.limits.connection_state_ttl);
    fx_reap();
    assert_null(fx.gateway.conns);
}

/* RTN22, S-64: revoking many connections writes every DISCONNECTED 40141 in one flush; each
 * socket closes LINGER (1 s) later (the gateway's linger list) unless its client closed first, and
 * the others stay. */
static void a_revocation_writes_every_ending_then_lingers(void **state)
{
    (void)state;
    enum { N = 50 };
    fx_transport *t[N];
    for (int i = 0; i < N; i++) t[i] = open_token(i % 2 ? "bob" : "alice", 3600000, "");
    fx_loop();
    for (int i = 0; i < N; i++) expect_action(t[i], RTA_ACTION_CONNECTED);
    assert_int_equal(fx_revoke("app.rev", "secret-rev", "clientId:alice", 0), 0);
    rta_gateway_flush(&fx.gateway);
    for (int i = 0; i < N; i += 2) {
        rta_protocol_message m;
        assert_int_equal(fx_next(t[i], &m), 0);
        assert_int_equal(m.action, RTA_ACTION_DISCONNECTED);
        assert_int_equal(m.error.code, 40141);
        rta_protocol_message_clear(&m);
        assert_false(t[i]->want_write);
        assert_false(t[i]->closed); /* lingering: the client reads it and closes */
    }
    for (int i = 1; i < N; i += 2) assert_int_equal(t[i]->written, 1); /* bob: CONNECTED only */
    fx_close(t[0]); /* this client closes first: its linger deadline goes with it */
    fx_advance(999);
    for (int i = 2; i < N; i += 2) assert_false(t[i]->closed);
    fx_advance(2);
    for (int i = 0; i < N; i++) {
        assert_int_equal(t[i]->closed, i % 2 == 0);
        if (i % 2 == 0) assert_false(t[i]->close_normal);
    }
    assert_int_equal(fx.gateway.live_count, N / 2);
    for (int i = 1; i < N; i += 2) fx_close(t[i]);
    fx_advance(fx.gateway.limits.connection_state_ttl);
    fx_reap();
    assert_null(fx.gateway.conns);
}

/* Connections revoked in two waves half a second apart each close a second after their own
 * ending frame, and all the lingering ones take a single entry on the gateway's deadline heap
 * (gateway/timers.c), where each used to take one of its own. */
static void lingers_close_in_waves_with_one_heap_entry(void **state)
{
    (void)state;
    enum { N = 40 };
    fx_transport *t[N];
    for (int i = 0; i < N; i++) t[i] = open_token(i % 2 ? "bob" : "alice", 3600000, "");
    fx_loop();
    for (int i = 0; i < N; i++) expect_action(t[i], RTA_ACTION_CONNECTED);
    size_t heap_before = fx.gateway.timers.len;
    assert_int_equal(fx_revoke("app.rev", "secret-rev", "clientId:alice", 0), 0);
    rta_gateway_flush(&fx.gateway);
    /* each revoked one gave up its expiry and its AUTH hint; one entry stands for all lingers */
    assert_int_equal(fx.gateway.timers.len, heap_before - 2 * (N / 2) + 1);
    fx_advance(500);
    assert_int_equal(fx_revoke("app.rev", "secret-rev", "clientId:bob", 0), 0);
    rta_gateway_flush(&fx.gateway);
    assert_int_equal(fx.gateway.timers.len, heap_before - 2 * N + 1);
    for (int i = 0; i < N; i++) {
        rta_protocol_message m;
        assert_int_equal(fx_next(t[i], &m), 0);
        assert_int_equal(m.action, RTA_ACTION_DISCONNECTED);
        assert_int_equal(m.error.code, 40141);
        rta_protocol_message_clear(&m);
    }
    fx_close(t[2]); /* closes first: leaves the list, the others keep their deadlines */
    fx_advance(499);
    for (int i = 0; i < N; i++) assert_int_equal(t[i]->closed, i == 2);
    fx_advance(2); /* alice's wave: a second after its DISCONNECTED */
    for (int i = 0; i < N; i++) assert_int_equal(t[i]->closed, i % 2 == 0);
    fx_advance(498);
    for (int i = 1; i < N; i += 2) assert_false(t[i]->closed);
    fx_advance(2); /* bob's */
    for (int i = 0; i < N; i++) assert_true(t[i]->closed);
    assert_null(fx.gateway.timers.linger_head);
    assert_int_equal(fx.gateway.timers.linger.pos, 0);
    assert_int_equal(fx.gateway.live_count, 0);
    fx_advance(fx.gateway.limits.connection_state_ttl);
    fx_reap();
    assert_null(fx.gateway.conns);
}

/* Endings are encoded once per format and reused (gateway/frames.c): connections in JSON and
 * msgpack revoked together each get a DISCONNECTED 40141 they can read, and a later ending
 * with another code (an expiry, RTN22a) is not served from the cache. */
static void endings_are_right_in_each_format(void **state)
{
    (void)state;
    enum { N = 20 };
    fx_transport *t[N + 2];
    for (int i = 0; i < N + 2; i++)
        t[i] = open_token(i < N ? "alice" : "carol", i < N ? 3600000 : 60000, i % 2 ? "&format=msgpack" : "");
    fx_loop();
    for (int i = 0; i < N + 2; i++) expect_action(t[i], RTA_ACTION_CONNECTED);
    assert_int_equal(fx_revoke("app.rev", "secret-rev", "clientId:alice", 0), 0);
    rta_gateway_flush(&fx.gateway);
    fx_advance(60000); /* carol's tokens expire */
    for (int i = 0; i < N + 2; i++) {
        rta_protocol_message m;
        if (i >= N) expect_action(t[i], RTA_ACTION_AUTH); /* RTN22: the hint 30 s before */
        assert_int_equal(t[i]->head->binary, i % 2);
        assert_int_equal(fx_next(t[i], &m), 0);
        assert_int_equal(m.action, RTA_ACTION_DISCONNECTED);
        assert_int_equal(m.error.code, i < N ? 40141 : 40142);
        assert_int_equal(m.error.status_code, 401);
        assert_string_equal(m.error.message, rta_strerror(i < N ? 40141 : 40142));
        rta_protocol_message_clear(&m);
    }
    fx_advance(1001); /* carol's linger */
    for (int i = 0; i < N + 2; i++) assert_true(t[i]->closed);
    fx_advance(fx.gateway.limits.connection_state_ttl);
    fx_reap();
    assert_null(fx.gateway.conns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(writes_without_the_writeable_callback, fx_setup_direct, fx_teardown),
        cmocka_unit_test_setup_teardown(a_choked_transport_waits_for_its_callback, fx_setup_direct, fx_teardown),
        cmocka_unit_test_setup_teardown(a_queue_is_written_whole_taking_turns, fx_setup_direct, fx_teardown),
        cmocka_unit_test_setup_teardown(no_direct_write_once_the_peer_closes, fx_setup_direct, fx_teardown),
        cmocka_unit_test_setup_teardown(a_closed_transport_leaves_the_list, fx_setup_direct, fx_teardown),
        cmocka_unit_test_setup_teardown(a_revocation_writes_every_ending_then_lingers, fx_setup_direct, fx_teardown),
        cmocka_unit_test_setup_teardown(lingers_close_in_waves_with_one_heap_entry, fx_setup_direct, fx_teardown),
        cmocka_unit_test_setup_teardown(endings_are_right_in_each_format, fx_setup_direct, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
