/* test_gateway_presence_remote.c: presence across nodes, the gateway's side
 * (gateway/presence_remote.c) without sockets or Redis (tests/gateway_fixture.h, a fake
 * relay): another node's events reach presence subscribers once each with their channel
 * serial, and a LEAVE of a member not mirrored sends nothing; this node's own events only
 * move the serial; the members read at the first attach never bring back one that left
 * meanwhile; a connection resumed here takes its members over silently; one resumed
 * elsewhere leaves its members in place, as the other node's. The same paths run with Redis
 * and ably-js in tests/cluster/presence.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "../gateway_fixture.h"

/* ---- a fake relay ------------------------------------------------------------------------- */

#define PENDING_MAX 16
static struct {
    rta_gateway_published_cb done[PENDING_MAX];
    void *arg[PENDING_MAX];
    size_t pending;
    size_t presence_calls, owned_calls, owned_members, orphaned_calls;
} relay;

static void keep(rta_gateway_published_cb done, void *arg)
{
    assert_true(relay.pending < PENDING_MAX);
    relay.done[relay.pending] = done;
    relay.arg[relay.pending++] = arg;
}

static void r_publish(void *ctx, const char *app_id, const char *channel,
                      const rta_protocol_message *pm, rta_gateway_published_cb done, void *arg)
{
    (void)ctx, (void)app_id, (void)channel, (void)pm;
    keep(done, arg);
}

static int r_open(void *ctx, const char *app_id, const char *channel, uint64_t *serial)
{
    (void)ctx, (void)app_id, (void)channel;
    *serial = 0;
    return 1;
}

static void r_close(void *ctx, const char *app_id, const char *channel)
{
    (void)ctx, (void)app_id, (void)channel;
}

static void r_presence(void *ctx, const char *app_id, const char *channel,
                       const rta_presence_message *ev, size_t n, rta_gateway_published_cb done,
                       void *arg)
{
    (void)ctx, (void)app_id, (void)channel, (void)ev, (void)n;
    relay.presence_calls++;
    if (done) keep(done, arg);
}

static void r_owned(void *ctx, const char *app_id, const char *channel,
                    const rta_presence_message *m, size_t n)
{
    (void)ctx, (void)app_id, (void)channel, (void)m;
    relay.owned_calls++;
    relay.owned_members += n;
}

static void r_orphaned(void *ctx, const char *app_id, const char *channel, const char *conn_id)
{
    (void)ctx, (void)app_id, (void)channel, (void)conn_id;
    relay.orphaned_calls++;
}

static void r_claim(void *ctx, const char *conn_id)
{
    (void)ctx, (void)conn_id;
}

static int setup(void **state)
{
    memset(&relay, 0, sizeof(relay));
    if (fx_setup(state)) return -1;
    rta_gateway_relay r = {.publish = r_publish,
                           .open = r_open,
                           .close = r_close,
                           .claim = r_claim,
                           .presence = r_presence,
                           .presence_owned = r_owned,
                           .presence_orphaned = r_orphaned};
    rta_gateway_set_relay(&fx.gateway, &r);
    return 0;
}

static int teardown(void **state)
{
    for (size_t i = 0; i < relay.pending; i++) /* answered late: their connections may be gone */
        relay.done[i](relay.arg[i], 0, NULL);
    return fx_teardown(state);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void attach(rta_conn *c)
{
    fx_send_json(c, "{\"action\":10,\"channel\":\"ch\"}");
    fx_drain(c);
}

static rta_channel *channel(void)
{
    rta_channel *ch = rta__gw_channel_find(&fx.gateway, "app", "ch");
    assert_non_null(ch);
    return ch;
}

/* Another node's PRESENCE (its id names the origin, cluster_presence.c) at serial. */
static void heard(uint64_t serial, int action, const char *conn_id, const char *client_id,
                  const char *data, int own)
{
    char json[512];
    snprintf(json, sizeof(json),
             "{\"action\":14,\"id\":\"n2.00|%llu\",\"channel\":\"ch\",\"presence\":[{\"action\":%d,"
             "\"id\":\"%s:%llu:0\",\"clientId\":\"%s\",\"connectionId\":\"%s\",\"data\":\"%s\","
             "\"timestamp\":1000}]}",
             (unsigned long long)serial, action, conn_id, (unsigned long long)serial, client_id,
             conn_id, data);
    rta_protocol_message pm;
    assert_int_equal(fx_decode(json, strlen(json), RTA_FORMAT_JSON, &pm), 0);
    rta_gateway_presence_remote(&fx.gateway, "app", "ch", serial, &pm, own);
    rta_protocol_message_clear(&pm);
}

/* The seed: members as PRESENT messages. */
static void seed(const char **conn_ids, const char **client_ids, const char **data, size_t n)
{
    rta_presence_message m[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        m[i] = (rta_presence_message){.action = 1,
                                      .id = "x:1:0",
                                      .client_id = (char *)client_ids[i],
                                      .connection_id = (char *)conn_ids[i],
                                      .data = {.type = RTA_DATA_STRING,
                                               .ptr = (char *)data[i],
                                               .len = strlen(data[i])}};
    rta_gateway_presence_seed(&fx.gateway, "app", "ch", m, n);
}

/* The next PRESENCE held for w: its one event's action and clientId, and its serial. */
static void expect_event(rta_conn *w, int action, const char *client_id, const char *serial)
{
    rta_protocol_message got;
    assert_int_equal(fx_pop(w, 1, &got), 0);
    assert_int_equal(got.action, RTA_ACTION_PRESENCE);
    assert_int_equal(got.presence_count, 1);
    assert_int_equal(got.presence[0].action, action);
    assert_string_equal(got.presence[0].client_id, client_id);
    if (serial) assert_string_equal(got.channel_serial, serial);
    rta_protocol_message_clear(&got);
}

static void expect_nothing(rta_conn *w)
{
    rta_protocol_message got;
    assert_int_equal(fx_pop(w, 1, &got), -1);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void remote_events_reach_subscribers_once(void **state)
{
    (void)state;
    rta_conn *w = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    attach(w);
    seed(NULL, NULL, NULL, 0);
    heard(5, 2, "connA", "alice", "hi", 0);
    expect_event(w, 2, "alice", "5");
    assert_int_equal(channel()->presence_count, 1);
    assert_null(channel()->presence[0].conn);
    assert_string_equal(channel()->presence[0].conn_id, "connA");
    heard(6, 4, "connA", "alice", "bye", 0);
    expect_event(w, 4, "alice", "6");
    heard(7, 3, "connA", "alice", "bye", 0);
    expect_event(w, 3, "alice", "7");
    assert_int_equal(channel()->presence_count, 0);
    heard(8, 3, "connA", "alice", "bye", 0); /* a reaper's repeat: nobody hears of it */
    expect_nothing(w);
    heard(9, 2, "connB", "bob", "own", 1); /* this node's own: applied when sent */
    expect_nothing(w);
    assert_int_equal(channel()->presence_count, 0);
    assert_int_equal(channel()->serial, 9);
}

static void seed_never_brings_back_a_member_that_left(void **state)
{
    (void)state;
    rta_conn *w = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    attach(w);
    assert_true(channel()->presence_seeding);
    heard(3, 3, "connX", "x", "", 0);      /* left while the read was under way */
    heard(4, 4, "connY", "y", "new", 0);   /* changed meanwhile: newer than the read */
    const char *conns[] = {"connX", "connY", "connZ"};
    const char *cids[] = {"x", "y", "z"};
    const char *data[] = {"old", "old", "z1"};
    seed(conns, cids, data, 3);
    rta_channel *ch = channel();
    assert_false(ch->presence_seeding);
    assert_int_equal(ch->presence_count, 2);
    assert_string_equal(ch->presence[0].client_id, "y");
    assert_memory_equal(ch->presence[0].data.ptr, "new", 3);
    assert_string_equal(ch->presence[1].client_id, "z");
    assert_int_equal(ch->presence_tomb_count, 0);
}

static void resumed_connection_takes_its_members_silently(void **state)
{
    (void)state;
    rta_conn *w = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    attach(w);
    rta_conn *c = fx_conn("app.all", "secret-all", "carol", RTA_FORMAT_JSON);
    const char *conns[] = {c->id};
    const char *cids[] = {"carol"};
    const char *data[] = {"d"};
    seed(conns, cids, data, 1);
    /* a late word about it from the node it left changes nothing here */
    heard(2, 4, c->id, "carol", "late", 0);
    attach(c); /* it joins: the member is its own now */
    rta_channel *ch = channel();
    assert_int_equal(ch->presence_count, 1);
    assert_ptr_equal(ch->presence[0].conn, c);
    assert_int_equal(c->presence_members, 1);
    assert_int_equal(relay.owned_calls, 1);
    assert_int_equal(relay.owned_members, 1);
    fx_drain(w); /* the attach's own frames */
    expect_nothing(w);
}

static void connection_resumed_elsewhere_leaves_its_members_in_place(void **state)
{
    (void)state;
    rta_conn *w = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    attach(w);
    seed(NULL, NULL, NULL, 0);
    rta_conn *c = fx_conn("app.all", "secret-all", "dave", RTA_FORMAT_JSON);
    attach(c);
    fx_send_json(c, "{\"action\":14,\"channel\":\"ch\",\"msgSerial\":0,\"presence\":[{\"action\":2}]}");
    assert_int_equal(relay.presence_calls, 1); /* told to the other nodes; ACK once they know */
    expect_event(w, 2, "dave", NULL);
    char id[24];
    snprintf(id, sizeof(id), "%s", c->id);
    rta_gateway_connection_claimed(&fx.gateway, id, strlen(id));
    rta_channel *ch = channel();
    assert_int_equal(ch->presence_count, 1);
    assert_null(ch->presence[0].conn);
    assert_string_equal(ch->presence[0].conn_id, id);
    assert_int_equal(relay.orphaned_calls, 1);
    assert_int_equal(relay.presence_calls, 1); /* no LEAVE went out */
    expect_nothing(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(remote_events_reach_subscribers_once, setup, teardown),
        cmocka_unit_test_setup_teardown(seed_never_brings_back_a_member_that_left, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(resumed_connection_takes_its_members_silently, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(connection_resumed_elsewhere_leaves_its_members_in_place,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
