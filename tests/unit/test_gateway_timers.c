/* test_gateway_timers.c: the gateway's deadline heap and its one timer (gateway/timers.c) on
 * the fixture's fake clock (tests/gateway_fixture.h): due deadlines fire in time order, each
 * once; cancelled and rescheduled ones fire never / at their new time; future ones wait until
 * the clock reaches them; the hooks' timer is armed at the earliest deadline. And the
 * liveness sweep: a silent connection is pinged, then loses its transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../gateway_fixture.h"

#define N 2000
#define HOUR 3600000

typedef struct {
    rta_timer t; /* first: the callback gets &t */
    int id;
    int fired;
} item;

static item items[N];
static int64_t order[N];
static int fired;

static void on_fire(rta_timer *t)
{
    item *it = (item *)t;
    it->fired++;
    order[fired++] = it->t.at;
}

static void heap_order_cancel_and_future(void **state)
{
    (void)state;
    rta_gateway *gw = &fx.gateway;
    int64_t now = fx.now;
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        items[i].id = i;
        /* most due already (spread over the last 10 s), every 10th one hour ahead */
        int64_t at = i % 10 == 9 ? now + HOUR : now - (int64_t)(seed % 10000);
        rta__gw_schedule(gw, &items[i].t, on_fire, at);
    }
    assert_true(fx.timer_at >= 0 && fx.timer_at <= now); /* armed at the earliest: now */
    for (int i = 0; i < N; i += 7) rta__gw_timer_cancel(gw, &items[i].t); /* some never fire */
    for (int i = 3; i < N; i += 50) /* some move to the future */
        rta__gw_schedule(gw, &items[i].t, on_fire, now + HOUR);
    fx_fire();

    int expected = 0;
    for (int i = 0; i < N; i++) {
        int due = i % 10 != 9 && i % 7 != 0 && (i < 3 || (i - 3) % 50 != 0);
        assert_int_equal(items[i].fired, due);
        expected += due;
    }
    assert_int_equal(fired, expected);
    for (int k = 1; k < fired; k++) assert_true(order[k - 1] <= order[k]); /* time order */
    assert_true(gw->timers.len > 0); /* the future ones still wait */
    assert_int_equal(fx.timer_at, now + HOUR); /* and the timer with them */

    fx_advance(HOUR - 1);
    assert_int_equal(fired, expected); /* not a millisecond early */
    fx_advance(1);
    for (int i = 0; i < N; i++) {
        int moved = i >= 3 && (i - 3) % 50 == 0; /* rescheduled, cancelled or not before */
        int later = moved || (i % 10 == 9 && i % 7 != 0);
        int due = i % 10 != 9 && i % 7 != 0 && !moved;
        assert_int_equal(items[i].fired, due + later);
    }
    assert_int_equal(gw->timers.len, 0);
    assert_int_equal(fx.timer_at, -1); /* fired, and nothing left to arm it for */
    for (int i = 0; i < N; i++) rta__gw_timer_cancel(gw, &items[i].t);
    assert_int_equal(gw->timers.len, 0);
}

/* The heap's array follows the deadlines down once most are gone (RSS after a storm closes,
 * issue 19), and what remains still fires in order. */
static void heap_shrinks(void **state)
{
    (void)state;
    rta_gateway *gw = &fx.gateway;
    int64_t now = fx.now;
    memset(items, 0, sizeof(items));
    fired = 0;
    for (int i = 0; i < N; i++) rta__gw_schedule(gw, &items[i].t, on_fire, now + 1 + (N - i));
    size_t peak = gw->timers.cap;
    assert_true(peak >= N);
    for (int i = 0; i < N; i++)
        if (i % 100) rta__gw_timer_cancel(gw, &items[i].t);
    assert_int_equal(gw->timers.len, N / 100);
    assert_true(gw->timers.cap <= peak / 8 && gw->timers.cap >= gw->timers.len);
    fx_advance(N + 1);
    assert_int_equal(fired, N / 100);
    for (int k = 1; k < fired; k++) assert_true(order[k - 1] <= order[k]);
    assert_int_equal(gw->timers.len, 0);
    assert_true(gw->timers.cap <= 64);
}

/* A connection whose client has gone quiet (answers no ping), its CONNECTED read. */
static fx_transport *open_quiet(const char *query)
{
    fx_transport *t = fx_open(query);
    assert_non_null(t->conn);
    t->auto_pong = 0;
    fx_loop();
    rta_protocol_message m;
    assert_int_equal(fx_next(t, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_CONNECTED);
    rta_protocol_message_clear(&m);
    return t;
}

/* Wire doc 2.5: pings after 10 s of silence (two thirds of max_idle_interval when shorter),
 * at most one per interval; a pong (any frame) counts as life; 60 s of silence closes the
 * transport, and the connection stays resumable. A heartbeats=false client (ably-js in Node)
 * gets no HEARTBEAT message: the ping is its activity. */
static void liveness_pings_then_hangs_up(void **state)
{
    (void)state;
    fx_transport *t = open_quiet("key=app.all:secret-all");
    rta_protocol_message m;
    fx_advance(9900);
    assert_int_equal(t->pings, 0);
    fx_advance(200);
    assert_int_equal(t->pings, 1);
    fx_advance(9000);
    assert_int_equal(t->pings, 1); /* one per interval */
    fx_advance(1100);
    assert_int_equal(t->pings, 2);
    assert_int_equal(fx_next(t, &m), -1); /* pings only */
    rta_gateway_pong(t->conn);
    fx_advance(9800);
    assert_int_equal(t->pings, 2); /* the pong reset the silence */
    fx_advance(60000);
    assert_true(t->closed); /* 60 s without a word */
    assert_false(t->close_normal);
    assert_int_equal(fx.gateway.detached_count, 1); /* resumable, as after any dropped transport */
    assert_int_equal(fx.gateway.live_count, 0);
    fx_advance(fx.gateway.limits.connection_state_ttl);
    assert_null(fx.gateway.conns); /* not resumed: discarded */
    fx_reap();
}

/* The sweep visits connections in order of their last activity (issue 19): with many
 * connections, one that keeps talking is never pinged, the silent ones are pinged once per
 * interval in the order they went quiet, and one whose transport dropped leaves the sweep. */
static void liveness_order_over_many(void **state)
{
    (void)state;
    enum { M = 40 };
    fx_transport *t[M];
    for (int i = 0; i < M; i++) {
        t[i] = fx_open("key=app.all:secret-all");
        assert_non_null(t[i]->conn);
        t[i]->auto_pong = 0;
        fx_advance(10); /* they went quiet 10 ms apart, t[0] first */
    }
    fx_loop();
    fx_close(t[M - 1]); /* its transport drops: the sweep must skip it from now on */
    fx_loop();
    for (int step = 0; step < 55; step++) { /* t[1] talks every 200 ms: never pinged */
        rta_gateway_pong(t[1]->conn);
        fx_advance(200);
    }
    /* 11 s in: each silent one was pinged once (at 10 s of silence), t[1] never */
    assert_int_equal(t[1]->pings, 0);
    for (int i = 0; i < M - 1; i++)
        if (i != 1) assert_int_equal(t[i]->pings, 1);
    fx_advance(9000); /* 20 s: their second ping is due 10 s after the first */
    for (int i = 0; i < M - 1; i++)
        if (i != 1) assert_int_equal(t[i]->pings, 2);
    assert_int_equal(t[1]->pings, 0); /* silent for only 9 s */
    fx_advance(1100);
    assert_int_equal(t[1]->pings, 1);
    for (int i = 0; i < M - 1; i++) fx_close(t[i]);
    fx_loop();
    fx_advance(fx.gateway.limits.connection_state_ttl);
    assert_null(fx.gateway.conns);
    assert_null(fx.gateway.timers.idle_head); /* nothing left in the sweep's list */
    fx_reap();
}

/* RTN23b, wire doc 2.5: a heartbeats=true client (ably-js in a browser, which cannot see
 * WebSocket pings) gets a HEARTBEAT message with each ping; with a short maxIdleInterval both
 * come at two thirds of it. */
static void liveness_heartbeats_true(void **state)
{
    (void)state;
    fx.gateway.limits.max_idle_interval = 1500;
    fx_transport *t = open_quiet("key=app.all:secret-all&heartbeats=true");
    rta_protocol_message m;
    fx_advance(900);
    assert_int_equal(t->pings, 0);
    assert_int_equal(fx_next(t, &m), -1);
    fx_advance(200); /* 1.1 s: past two thirds of 1.5 s */
    assert_int_equal(t->pings, 1);
    assert_int_equal(fx_next(t, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_HEARTBEAT);
    assert_null(m.id); /* not an answer to a connection.ping() */
    rta_protocol_message_clear(&m);
    fx_advance(1050);
    assert_int_equal(t->pings, 2);
    assert_int_equal(fx_next(t, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_HEARTBEAT);
    rta_protocol_message_clear(&m);
    assert_int_equal(fx_next(t, &m), -1); /* one per interval */
    fx_close(t);
    fx_loop();
    fx_advance(fx.gateway.limits.connection_state_ttl);
    fx_reap();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(heap_order_cancel_and_future, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(heap_shrinks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(liveness_pings_then_hangs_up, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(liveness_order_over_many, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(liveness_heartbeats_true, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
