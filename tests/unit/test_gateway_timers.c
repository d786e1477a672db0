/* test_gateway_timers.c: the gateway's deadline heap (gateway/timers.c) through its real lws
 * timer (tests/gateway_fixture.h): due deadlines fire in time order, each once; cancelled
 * and rescheduled ones fire never / at their new time; future ones wait. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "../gateway_fixture.h"

#define N 2000

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

static void service_for(int ms)
{
    int64_t end = rta_clock_now() + ms;
    while (rta_clock_now() < end) lws_service(fx_srv.lws, 0);
}

static void heap_order_cancel_and_future(void **state)
{
    (void)state;
    assert_int_equal(fx_init(), 0);
    rta_gateway *gw = &fx_srv.gateway;
    int64_t now = rta_clock_now();
    unsigned seed = 12345;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        items[i].id = i;
        /* most due already (spread over the last 10 s), every 10th one hour ahead */
        int64_t at = i % 10 == 9 ? now + 3600000 : now - (int64_t)(seed % 10000);
        rta__gw_schedule(gw, &items[i].t, on_fire, at);
    }
    for (int i = 0; i < N; i += 7) rta__gw_timer_cancel(gw, &items[i].t); /* some never fire */
    for (int i = 3; i < N; i += 50) /* some move to the future */
        rta__gw_schedule(gw, &items[i].t, on_fire, now + 3600000);
    service_for(300);

    int expected = 0;
    for (int i = 0; i < N; i++) {
        int due = i % 10 != 9 && i % 7 != 0 && (i < 3 || (i - 3) % 50 != 0);
        assert_int_equal(items[i].fired, due);
        expected += due;
    }
    assert_int_equal(fired, expected);
    for (int k = 1; k < fired; k++) assert_true(order[k - 1] <= order[k]); /* time order */
    assert_true(gw->timers.len > 0); /* the future ones still wait */
    for (int i = 0; i < N; i++) rta__gw_timer_cancel(gw, &items[i].t);
    assert_int_equal(gw->timers.len, 0);
    fx_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(heap_order_cancel_and_future),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
