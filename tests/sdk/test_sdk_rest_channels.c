/* test_sdk_rest_channels.c: the REST helpers of rest.h (issue 15): rta_rest_publish (RSL1),
 * rta_rest_history (RSL2) and rta_rest_stats (RSC6) against rtauthd, with channel names the
 * library must encode ("/", space, '%', non-ASCII): a message published over REST is seen in
 * history and by a realtime subscriber of the same name, and one published over realtime is
 * in the REST history, so the name means one channel whichever way it travels. The query
 * string is checked against a stub server. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_test.h"
#include "stub_http.h"

static char keys[3][256];
static rta_rest *rest;

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    rest = sdk_rest(&o);
    return 0;
}

static int group_teardown(void **state)
{
    rta_rest_destroy(rest);
    return sdk_teardown(state);
}

#define ODD_NAME "room 1/a%b:\xc3\xbc"

/* RSL1, RSL2: publish then history, both formats; the name is encoded by the library. */
static void test_publish_and_history(void **state)
{
    (void)state;
    for (int binary = 0; binary <= 1; binary++) {
        rta_client_options o;
        sdk_options(&o);
        o.auth.key = keys[0];
        o.use_binary_protocol = binary;
        rta_rest *r = sdk_rest(&o);
        char channel[64];
        snprintf(channel, sizeof(channel), "%s-%d", ODD_NAME, binary);
        rta_error err;
        rta_error_set(&err, 1, "stale");
        assert_int_equal(rta_rest_publish(r, channel, "greeting", "hello", &err), 0);
        assert_int_equal(err.code, 0);
        assert_int_equal(rta_rest_publish(r, channel, NULL, "second", &err), 0);
        rta_rest_response resp;
        rta_rest_query q = {.limit = 10};
        assert_int_equal(rta_rest_history(r, channel, &q, &resp, &err), 0);
        assert_int_equal(resp.status_code, 200);
        assert_non_null(strstr(resp.body, "\"hello\""));
        assert_non_null(strstr(resp.body, "\"greeting\""));
        /* newest first by default (RSL2b1) */
        assert_true(strstr(resp.body, "\"second\"") < strstr(resp.body, "\"hello\""));
        rta_rest_response_clear(&resp);
        q.forwards = 1;
        q.limit = 1;
        assert_int_equal(rta_rest_history(r, channel, &q, &resp, &err), 0);
        assert_non_null(strstr(resp.body, "\"hello\""));
        assert_null(strstr(resp.body, "\"second\""));
        rta_rest_response_clear(&resp);
        rta_rest_destroy(r);
    }
}

static void on_message(rta_channel *ch, const rta_realtime_message *m, void *ud)
{
    (void)ch;
    rt_rec_on_message(ch, m, ud);
}

/* The encoded name is the same channel as the realtime client's raw name, both ways. */
static void test_same_channel_as_realtime(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    rt_rec rec;
    rta_realtime *rt = rt_client(&o, &rec);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    rta_channel *ch = rta_realtime_channel(rt, ODD_NAME, NULL);
    rta_channel_subscribe(ch, on_message, &rec);
    rta_error err;
    assert_int_equal(rta_channel_attach(ch, &err), 0);
    assert_int_equal(rta_rest_publish(rest, ODD_NAME, "n", "from REST", &err), 0);
    assert_true(rt_rec_wait_messages(&rec, 1, RT_WAIT_MS));
    pthread_mutex_lock(&rec.mu);
    assert_string_equal(rec.last_data, "from REST");
    pthread_mutex_unlock(&rec.mu);
    assert_int_equal(rta_channel_publish(ch, "n", "from realtime", &err), 0);
    rta_rest_response resp;
    assert_int_equal(rta_rest_history(rest, ODD_NAME, NULL, &resp, &err), 0);
    assert_non_null(strstr(resp.body, "from realtime"));
    assert_non_null(strstr(resp.body, "from REST"));
    rta_rest_response_clear(&resp);
    rta_realtime_destroy(rt);
}

/* Errors: the server's (40160 without the capability, for stats too: it needs stats on *),
 * and the library's before any request (40010 bad name, 40003 bad query). */
static void test_errors(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[2]; /* {"chan":["publish","subscribe"]} */
    rta_rest *r = sdk_rest(&o);
    rta_error err;
    rta_rest_response resp;
    assert_int_equal(rta_rest_publish(r, "elsewhere", NULL, "x", &err), RTA_ERR_CAPABILITY_DENIED);
    assert_int_equal(rta_rest_history(r, "chan", NULL, &resp, &err), RTA_ERR_CAPABILITY_DENIED);
    rta_rest_response_clear(&resp);
    assert_int_equal(rta_rest_publish(r, "", NULL, "x", &err), RTA_ERR_INVALID_CHANNEL);
    assert_int_equal(rta_rest_publish(r, ":hidden", NULL, "x", &err), RTA_ERR_INVALID_CHANNEL);
    rta_rest_query bad = {.limit = -1};
    assert_int_equal(rta_rest_history(r, "chan", &bad, &resp, &err), RTA_ERR_INVALID_PARAMETER);
    assert_int_equal(rta_rest_stats(r, NULL, &resp, &err), RTA_ERR_CAPABILITY_DENIED);
    rta_rest_response_clear(&resp);
    rta_rest_destroy(r);
    /* RSC6 with a key that may read stats: an array of Stats objects (the app published in
     * the test before, so it is not empty) */
    memset(&resp, 0, sizeof(resp));
    assert_int_equal(rta_rest_stats(rest, NULL, &resp, &err), 0);
    assert_int_equal(resp.status_code, 200);
    assert_non_null(resp.body);
    assert_int_equal(resp.body[0], '[');
    assert_non_null(strstr(resp.body, "\"unit\":\"minute\""));
    rta_rest_response_clear(&resp);
}

static void stats_reply(const stub_request *req, stub_reply *reply, void *ctx)
{
    (void)req, (void)ctx;
    stub_reply_set(reply, 200, "application/json", "[{\"intervalId\":\"2026-12-04:22\"}]");
}

/* RSC6b: the query goes out as given; the body comes back as JSON text. */
static void test_stats_query(void **state)
{
    (void)state;
    stub_server stub;
    assert_int_equal(stub_start(&stub, stats_reply, NULL), 0);
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    o.port = stub.port;
    o.use_binary_protocol = 0;
    rta_rest *r = sdk_rest(&o);
    rta_rest_query q = {.start = 1000, .end = 2000, .limit = 5, .forwards = 1, .unit = "hour"};
    rta_rest_response resp;
    rta_error err;
    assert_int_equal(rta_rest_stats(r, &q, &resp, &err), 0);
    assert_non_null(strstr(resp.body, "intervalId"));
    rta_rest_response_clear(&resp);
    stub_request *last = malloc(sizeof(*last));
    stub_last(&stub, last);
    assert_string_equal(last->method, "GET");
    assert_string_equal(last->target, "/stats?start=1000&end=2000&limit=5&direction=forwards&unit=hour");
    char auth[512];
    assert_non_null(stub_header(last, "Authorization", auth, sizeof(auth))); /* authenticated */
    free(last);
    rta_rest_destroy(r);
    stub_stop(&stub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_and_history),
        cmocka_unit_test(test_same_channel_as_realtime),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_stats_query),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
