/* test_rt_clock.c: the realtime client's blocking calls time out on the monotonic clock
 * (issue 15: its condition variable waited on CLOCK_REALTIME, so a wall-clock step stretched or
 * cut rta_realtime_wait_state, authorize() and the channel calls).
 *
 * A wall-clock step cannot be made in a test, so this checks both halves: the deadlines are
 * monotonic (rta__deadline_ms, src/sdk/client.h), and the client's condition variable honours
 * such a deadline (a wait of 300 ms takes 300 ms: with a CLOCK_REALTIME condition variable the
 * monotonic deadline would lie decades in the past and the wait would return at once).
 * No rtauthd is needed: the client never connects.
 */
#include <time.h>

#include "sdk_test.h"
#include "sdk/client.h"

static int64_t ms_on(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void test_deadlines_are_monotonic(void **state)
{
    (void)state;
    struct timespec d = rta__deadline_ms(1000);
    int64_t at = (int64_t)d.tv_sec * 1000 + d.tv_nsec / 1000000;
    int64_t mono = ms_on(CLOCK_MONOTONIC);
    assert_true(at >= mono + 900 && at <= mono + 1100);
}

static void test_wait_state_times_out_on_time(void **state)
{
    (void)state;
    rta_client_options o;
    rta_client_options_init(&o);
    o.auth.key = "app.key:not-a-real-secret";
    o.tls = 0;
    o.port = 9;
    o.realtime.auto_connect = 0;
    o.log_level = RTA_CLIENT_LOG_NONE;
    rta_realtime *rt = NULL;
    assert_int_equal(rta_realtime_create(&o, &rt, NULL), 0);
    rta_error err;
    int64_t t0 = ms_on(CLOCK_MONOTONIC);
    assert_int_equal(rta_realtime_wait_state(rt, RTA_CONN_CONNECTED, 300, &err), RTA_ERR_TIMEOUT);
    int64_t took = ms_on(CLOCK_MONOTONIC) - t0;
    assert_true(took >= 290);
    assert_true(took < 10000); /* generous: valgrind on a loaded machine */
    rta_realtime_destroy(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadlines_are_monotonic),
        cmocka_unit_test(test_wait_state_times_out_on_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
