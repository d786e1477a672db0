/* test_gateway_frames.c: the gateway's frame-to-message path without sockets
 * (tests/gateway_fixture.h): malformed protocol messages, the size limits, the inbound rate,
 * msgSerial de-duplication (2.6), the bounded queue, held channel messages, the channels per
 * connection cap and channel membership from both ends. The same
 * path runs over real WebSockets in tests/interop/realtime_resume.test.mjs (limits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "../gateway_fixture.h"

/* The next reply must have this action (and, if code, this error code). */
static void expect(rta_conn *c, int action, int code)
{
    rta_protocol_message m;
    assert_int_equal(fx_pop(c, 0, &m), 0);
    assert_int_equal(m.action, action);
    if (code) {
        assert_true(m.has & RTA_PM_HAS_ERROR);
        assert_int_equal(m.error.code, code);
        assert_true(m.error.status_code >= 400);
        assert_non_null(m.error.message);
    }
    rta_protocol_message_clear(&m);
}

static void expect_nothing(rta_conn *c)
{
    assert_null(c->out_head);
}

static void malformed_json_is_a_fatal_error(void **state)
{
    (void)state;
    const char *bad[] = {"", "{", "[1,2]", "{\"action\":\"x\"}", "{\"action\":15,\"messages\":7}",
                         "{\"action\":10,\"channel\":{}}", "null", "\xff\xfe"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rta_conn *c = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
        assert_non_null(c);
        fx_send_json(c, bad[i]);
        expect(c, RTA_ACTION_ERROR, 40001);
        assert_true(c->closing && c->final); /* not resumable */
        fx_send_json(c, "{\"action\":0,\"id\":\"x\"}");
        expect_nothing(c); /* nothing after the ending */
        rta__gw_conn_free(c);
    }
}

static void malformed_msgpack_is_a_fatal_error(void **state)
{
    (void)state;
    const unsigned char bad[][4] = {{0xc1}, {0x81, 0xa6}, {0x93, 0x01, 0x02, 0x03}, {0xdf, 0xff, 0xff, 0xff}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rta_conn *c = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_MSGPACK);
        rta__gw_conn_handle_message(c, bad[i], sizeof(bad[i]));
        expect(c, RTA_ACTION_ERROR, 40001);
        rta__gw_conn_free(c);
    }
}

static void unknown_actions_are_ignored_heartbeat_echoed(void **state)
{
    (void)state;
    rta_conn *c = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    fx_send_json(c, "{\"action\":18}");
    fx_send_json(c, "{\"action\":99,\"channel\":\"x\"}");
    expect_nothing(c);
    fx_send_json(c, "{\"action\":0,\"id\":\"1234\"}");
    rta_protocol_message m;
    assert_int_equal(fx_pop(c, 0, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_HEARTBEAT);
    assert_string_equal(m.id, "1234");
    rta_protocol_message_clear(&m);
    assert_false(c->closing);
    rta__gw_conn_free(c);
}

static void frame_and_message_size_limits(void **state)
{
    (void)state;
    rta_gateway *gw = &fx.gateway;
    long long frame = gw->limits.max_frame_size, msg = gw->limits.max_message_size;
    gw->limits.max_frame_size = 4096;
    gw->limits.max_message_size = 1024;
    rta_conn *c = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    char buf[6000];
    /* one message over maxMessageSize: NACK 40009, the connection stays */
    snprintf(buf, sizeof(buf), "{\"action\":15,\"channel\":\"a\",\"msgSerial\":0,\"messages\":"
                               "[{\"name\":\"n\",\"data\":\"%01100d\"}]}", 0);
    fx_send_json(c, buf);
    expect(c, RTA_ACTION_NACK, 40009);
    assert_false(c->closing);
    /* just under it: ACK */
    snprintf(buf, sizeof(buf), "{\"action\":15,\"channel\":\"a\",\"msgSerial\":1,\"messages\":"
                               "[{\"name\":\"n\",\"data\":\"%01000d\"}]}", 0);
    fx_send_json(c, buf);
    expect(c, RTA_ACTION_ACK, 0);
    /* a WebSocket message over maxFrameSize: ERROR 40009, closed */
    memset(buf, ' ', 4097);
    rta__gw_conn_handle_message(c, buf, 4097);
    expect(c, RTA_ACTION_ERROR, 40009);
    assert_true(c->closing);
    rta__gw_conn_free(c);
    gw->limits.max_frame_size = frame;
    gw->limits.max_message_size = msg;
}

static void inbound_rate(void **state)
{
    (void)state;
    rta_gateway *gw = &fx.gateway;
    long long rate = gw->limits.max_inbound_rate;
    gw->limits.max_inbound_rate = 3;
    rta_conn *c = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    c->rate_tokens = 3000;
    char buf[128];
    int acks = 0, nacks = 0;
    for (int s = 0; s < 6; s++) {
        snprintf(buf, sizeof(buf), "{\"action\":15,\"channel\":\"r\",\"msgSerial\":%d,\"messages\":[{}]}", s);
        fx_send_json(c, buf);
        rta_protocol_message m;
        assert_int_equal(fx_pop(c, 0, &m), 0);
        assert_int_equal(m.msg_serial, s);
        if (m.action == RTA_ACTION_ACK) acks++;
        if (m.action == RTA_ACTION_NACK) {
            nacks++;
            assert_int_equal(m.error.code, 42910);
            assert_int_equal(m.error.status_code, 429);
        }
        rta_protocol_message_clear(&m);
    }
    assert_true(acks >= 3 && acks <= 4); /* the burst, plus what refilled meanwhile */
    assert_int_equal(acks + nacks, 6);
    assert_false(c->closing);
    /* a flood: a second's worth over the rate ends the connection, retryably */
    for (int s = 6; s < 20 && !c->closing; s++) {
        snprintf(buf, sizeof(buf), "{\"action\":15,\"channel\":\"r\",\"msgSerial\":%d,\"messages\":[{}]}", s);
        fx_send_json(c, buf);
    }
    assert_true(c->closing);
    assert_false(c->final);
    rta_protocol_message m;
    int last = -1;
    while (fx_pop(c, 0, &m) == 0) {
        last = m.action;
        if (m.action == RTA_ACTION_DISCONNECTED) assert_int_equal(m.error.code, 42910);
        rta_protocol_message_clear(&m);
    }
    assert_int_equal(last, RTA_ACTION_DISCONNECTED);
    rta__gw_conn_free(c);
    gw->limits.max_inbound_rate = rate;
}

/* 2.6: after a resume ably-js re-sends unacknowledged messages with their msgSerial. */
static void resent_msg_serial_is_acked_not_delivered(void **state)
{
    (void)state;
    rta_conn *pub = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    rta_conn *sub = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    fx_send_json(sub, "{\"action\":10,\"channel\":\"d\"}");
    expect(sub, RTA_ACTION_ATTACHED, 0);
    const char *m0 = "{\"action\":15,\"channel\":\"d\",\"msgSerial\":0,\"messages\":[{\"data\":\"a\"}]}";
    fx_send_json(pub, m0);
    expect(pub, RTA_ACTION_ACK, 0);
    fx_send_json(pub, m0);
    expect(pub, RTA_ACTION_ACK, 0);
    fx_send_json(pub, "{\"action\":15,\"channel\":\"d\",\"msgSerial\":1,\"messages\":[{\"data\":\"b\"}]}");
    expect(pub, RTA_ACTION_ACK, 0);
    /* sub has no transport: its channel messages are held, exactly two of them */
    const char *want[] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        rta_protocol_message m;
        assert_int_equal(fx_pop(sub, 1, &m), 0);
        assert_int_equal(m.action, RTA_ACTION_MESSAGE);
        assert_string_equal(m.messages[0].data.ptr, want[i]);
        rta_protocol_message_clear(&m);
    }
    assert_null(sub->held_head);
    rta__gw_conn_free(pub);
    rta__gw_conn_free(sub);
}

static void bounded_queue_drops_a_slow_connection(void **state)
{
    (void)state;
    rta_gateway *gw = &fx.gateway;
    long long q = gw->limits.max_queue, rate = gw->limits.max_inbound_rate;
    gw->limits.max_queue = 65536;
    gw->limits.max_inbound_rate = 1000000;
    rta_conn *pub = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    rta_conn *slow = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    pub->rate_tokens = 1000000000;
    fx_send_json(slow, "{\"action\":10,\"channel\":\"q\"}");
    expect(slow, RTA_ACTION_ATTACHED, 0);
    char buf[4200];
    for (int s = 0; s < 40 && !slow->final; s++) {
        snprintf(buf, sizeof(buf), "{\"action\":15,\"channel\":\"q\",\"msgSerial\":%d,"
                                   "\"messages\":[{\"data\":\"%04000d\"}]}", s, 0);
        fx_send_json(pub, buf);
        expect(pub, RTA_ACTION_ACK, 0);
    }
    assert_true(slow->final); /* over 64 KiB: dropped for good, never resumable */
    assert_null(slow->held_head);
    assert_int_equal(slow->out_bytes, 0);
    assert_false(pub->closing);
    rta__gw_conn_free(pub);
    rta__gw_conn_free(slow);
    gw->limits.max_queue = q;
    gw->limits.max_inbound_rate = rate;
}

/* Held messages follow the ATTACHED of the channel's re-attach (RTN15c6). */
static void held_messages_follow_reattach(void **state)
{
    (void)state;
    rta_conn *pub = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    rta_conn *sub = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    fx_send_json(sub, "{\"action\":10,\"channel\":\"h\"}");
    expect(sub, RTA_ACTION_ATTACHED, 0);
    fx_send_json(pub, "{\"action\":15,\"channel\":\"h\",\"msgSerial\":0,\"messages\":[{\"data\":\"x\"}]}");
    expect(pub, RTA_ACTION_ACK, 0);
    assert_non_null(sub->held_head);
    rta__gw_conn_await_reattach(sub); /* as after a resume */
    fx_send_json(sub, "{\"action\":10,\"channel\":\"h\"}");
    rta_protocol_message m;
    assert_int_equal(fx_pop(sub, 0, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_ATTACHED);
    assert_true(m.flags & RTA_FLAG_RESUMED);
    rta_protocol_message_clear(&m);
    assert_int_equal(fx_pop(sub, 0, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_MESSAGE);
    assert_string_equal(m.messages[0].data.ptr, "x");
    rta_protocol_message_clear(&m);
    assert_null(sub->held_head);
    rta__gw_conn_free(pub);
    rta__gw_conn_free(sub);
}

static void capability_checks_on_the_bare_path(void **state)
{
    (void)state;
    rta_conn *c = fx_conn("app.limited", "secret-lim", NULL, RTA_FORMAT_JSON);
    fx_send_json(c, "{\"action\":10,\"channel\":\"other\"}");
    expect(c, RTA_ACTION_ERROR, 40160);
    fx_send_json(c, "{\"action\":15,\"channel\":\"other\",\"msgSerial\":0,\"messages\":[{}]}");
    expect(c, RTA_ACTION_NACK, 40160);
    fx_send_json(c, "{\"action\":10,\"channel\":\":bad\"}");
    expect(c, RTA_ACTION_ERROR, 40010);
    fx_send_json(c, "{\"action\":14,\"channel\":\"chan:1\",\"msgSerial\":1,\"presence\":[{\"action\":2,\"clientId\":\"x\"}]}");
    expect(c, RTA_ACTION_NACK, 40160);
    assert_false(c->closing); /* channel errors and NACKs leave the connection up */
    fx_send_json(c, "{\"action\":17,\"auth\":{\"accessToken\":\"not-a-token\"}}");
    rta_protocol_message m;
    assert_int_equal(fx_pop(c, 0, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_ERROR);
    assert_true(m.error.code >= 40140 && m.error.code < 40150);
    rta_protocol_message_clear(&m);
    rta__gw_conn_free(c);
}

/* --max-channels-per-connection: attaches up to the cap, the next gets a channel ERROR 90010
 * (Ably's code for it) and the connection stays; a re-attach of an attached channel is not a
 * new one; a DETACH makes room. */
static void channels_per_connection_cap(void **state)
{
    (void)state;
    rta_gateway *gw = &fx.gateway;
    long long most = gw->limits.max_channels_per_connection;
    gw->limits.max_channels_per_connection = 3;
    rta_conn *c = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    char buf[96];
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof(buf), "{\"action\":10,\"channel\":\"cap%d\"}", i);
        fx_send_json(c, buf);
        expect(c, RTA_ACTION_ATTACHED, 0);
    }
    fx_send_json(c, "{\"action\":10,\"channel\":\"cap3\"}");
    rta_protocol_message m;
    assert_int_equal(fx_pop(c, 0, &m), 0);
    assert_int_equal(m.action, RTA_ACTION_ERROR);
    assert_string_equal(m.channel, "cap3");
    assert_int_equal(m.error.code, 90010);
    assert_int_equal(m.error.status_code, 400);
    assert_non_null(strstr(m.error.message, "(3)"));
    rta_protocol_message_clear(&m);
    assert_false(c->closing);
    assert_null(rta__gw_channel_find(gw, "app", "cap3")); /* refused before it existed */
    fx_send_json(c, "{\"action\":10,\"channel\":\"cap1\"}"); /* already attached: fine */
    expect(c, RTA_ACTION_ATTACHED, 0);
    fx_send_json(c, "{\"action\":12,\"channel\":\"cap0\"}");
    expect(c, RTA_ACTION_DETACHED, 0);
    fx_send_json(c, "{\"action\":10,\"channel\":\"cap3\"}");
    expect(c, RTA_ACTION_ATTACHED, 0);
    assert_int_equal(c->attached_count, 3);
    rta__gw_conn_free(c);
    gw->limits.max_channels_per_connection = most;
}

/* c->attached[k] and the channel's links[] point at each other for every attachment. */
static void check_links(rta_conn *const *cs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < cs[i]->attached_count; k++) {
            rta_channel *ch = cs[i]->attached[k];
            long at = rta__gw_channel_member_index(ch, cs[i]);
            assert_true(at >= 0);
            assert_ptr_equal(ch->members[at], cs[i]);
            assert_int_equal(ch->links[at], k);
        }
}

/* Many connections attaching and detaching many channels in a scrambled order: membership
 * stays consistent from both ends (gateway/members.c, leave() in gateway/channels.c), and
 * channels go when their last member does. */
static void membership_stays_consistent(void **state)
{
    (void)state;
    enum { CONNS = 8, CHANNELS = 40 };
    rta_gateway *gw = &fx.gateway;
    long long rate = gw->limits.max_inbound_rate;
    gw->limits.max_inbound_rate = 1000000; /* ATTACHes count towards the inbound rate */
    rta_conn *cs[CONNS];
    for (int i = 0; i < CONNS; i++) {
        cs[i] = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
        cs[i]->rate_tokens = 1000000000;
    }
    char buf[96];
    srand(7);
    for (int step = 0; step < 4000; step++) {
        rta_conn *c = cs[rand() % CONNS];
        int ch = rand() % CHANNELS, detach = rand() % 3 == 0;
        snprintf(buf, sizeof(buf), "{\"action\":%d,\"channel\":\"m%d\"}", detach ? 12 : 10, ch);
        fx_send_json(c, buf);
        rta_protocol_message m;
        while (fx_pop(c, 0, &m) == 0) rta_protocol_message_clear(&m);
        if (step % 200 == 0) check_links(cs, CONNS);
    }
    check_links(cs, CONNS);
    size_t attached = 0;
    for (int i = 0; i < CONNS; i++) {
        assert_false(cs[i]->closing);
        attached += cs[i]->attached_count;
    }
    assert_true(attached > CONNS * CHANNELS / 2); /* the churn left plenty attached */
    for (int i = 0; i < CONNS; i += 2) rta__gw_conn_free(cs[i]); /* leave_all from the middle */
    for (int i = 1; i < CONNS; i += 2) check_links(&cs[i], 1);
    for (int i = 1; i < CONNS; i += 2) rta__gw_conn_free(cs[i]);
    assert_int_equal(gw->channels.count, 0);
    gw->limits.max_inbound_rate = rate;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(malformed_json_is_a_fatal_error),
        cmocka_unit_test(malformed_msgpack_is_a_fatal_error),
        cmocka_unit_test(unknown_actions_are_ignored_heartbeat_echoed),
        cmocka_unit_test(frame_and_message_size_limits),
        cmocka_unit_test(inbound_rate),
        cmocka_unit_test(resent_msg_serial_is_acked_not_delivered),
        cmocka_unit_test(bounded_queue_drops_a_slow_connection),
        cmocka_unit_test(held_messages_follow_reattach),
        cmocka_unit_test(capability_checks_on_the_bare_path),
        cmocka_unit_test(channels_per_connection_cap),
        cmocka_unit_test(membership_stays_consistent),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
