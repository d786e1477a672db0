/* test_gateway_query.c: gateway/query.h without sockets (tests/gateway_fixture.h): occupancy
 * by granted mode (RSL8, CHM2), the presence set with filters and paging (RSP3), presence
 * events recorded in their own history window (RSP4), and a publish on behalf of a
 * connection (RSL1m, TM2h): its connectionId, clientId and echo rule, and the refusals
 * (80018, 40160, 40012). The same paths run over HTTP in tests/interop/rest_presence,
 * rest_channel_status and rest_publish_on_behalf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "../gateway_fixture.h"
#include "server/gateway/query.h"

/* Attaches c to "ch" with mode flags (0: the default modes). */
static void attach(rta_conn *c, unsigned flags)
{
    char buf[128];
    if (flags)
        snprintf(buf, sizeof(buf), "{\"action\":10,\"channel\":\"ch\",\"flags\":%u}", flags);
    else
        snprintf(buf, sizeof(buf), "{\"action\":10,\"channel\":\"ch\"}");
    fx_send_json(c, buf);
    fx_drain(c);
}

static void enter(rta_conn *c, int serial, const char *client_id, const char *data)
{
    char buf[256];
    snprintf(buf, sizeof(buf),
             "{\"action\":14,\"channel\":\"ch\",\"msgSerial\":%d,\"presence\":[{\"action\":2,"
             "\"clientId\":\"%s\",\"data\":\"%s\"}]}",
             serial, client_id, data);
    fx_send_json(c, buf);
    fx_drain(c);
}

static void occupancy_counts_granted_modes(void **state)
{
    (void)state;
    rta_channel_occupancy o;
    assert_int_equal(rta_gateway_occupancy(&fx.gateway, "app", "ch", &o), 0);
    assert_int_equal(o.connections, 0);
    rta_conn *a = fx_conn("app.all", "secret-all", "alice", RTA_FORMAT_JSON);
    rta_conn *b = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    attach(a, 0); /* default: publish, subscribe, presence, presence_subscribe */
    attach(b, RTA_MODE_SUBSCRIBE);
    enter(a, 0, "alice", "x");
    assert_int_equal(rta_gateway_occupancy(&fx.gateway, "app", "ch", &o), 1);
    assert_int_equal(o.connections, 2);
    assert_int_equal(o.publishers, 1);
    assert_int_equal(o.subscribers, 2);
    assert_int_equal(o.presence_connections, 1);
    assert_int_equal(o.presence_subscribers, 1);
    assert_int_equal(o.presence_members, 1);
    assert_int_equal(rta_gateway_occupancy(&fx.gateway, "other-app", "ch", &o), 0);
    assert_int_equal(o.connections, 0);
    rta__gw_conn_free(a);
    rta__gw_conn_free(b);
    assert_int_equal(rta_gateway_occupancy(&fx.gateway, "app", "ch", &o), 0);
    assert_int_equal(o.presence_members, 0);
}

static void presence_list_filters_and_pages(void **state)
{
    (void)state;
    rta_conn *w = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON); /* a wildcard */
    rta_conn *z = fx_conn("app.all", "secret-all", "zed", RTA_FORMAT_JSON);
    attach(w, 0);
    attach(z, 0);
    enter(w, 0, "m1", "d1");
    enter(w, 1, "m2", "d2");
    enter(z, 0, "zed", "dz");
    rta_presence_message out[4];
    int more;
    size_t n = rta_gateway_presence_list(&fx.gateway, "app", "ch", NULL, NULL, 0, 4, out, &more);
    assert_int_equal(n, 3);
    assert_int_equal(more, 0);
    assert_int_equal(out[0].action, 1);
    assert_string_equal(out[0].client_id, "m1");
    assert_string_equal(out[2].connection_id, z->id);
    assert_string_equal(out[1].data.ptr, "d2");
    n = rta_gateway_presence_list(&fx.gateway, "app", "ch", "m2", NULL, 0, 4, out, &more);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].client_id, "m2");
    n = rta_gateway_presence_list(&fx.gateway, "app", "ch", NULL, z->id, 0, 4, out, &more);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].client_id, "zed");
    n = rta_gateway_presence_list(&fx.gateway, "app", "ch", NULL, NULL, 0, 2, out, &more);
    assert_int_equal(n, 2);
    assert_int_equal(more, 1);
    n = rta_gateway_presence_list(&fx.gateway, "app", "ch", NULL, NULL, 2, 2, out, &more);
    assert_int_equal(n, 1);
    assert_int_equal(more, 0);
    assert_string_equal(out[0].client_id, "zed");
    assert_int_equal(
        rta_gateway_presence_list(&fx.gateway, "app", "none", NULL, NULL, 0, 2, out, &more), 0);
    rta__gw_conn_free(w);
    rta__gw_conn_free(z);
}

static void presence_history_records_every_event(void **state)
{
    (void)state;
    rta_conn *a = fx_conn("app.all", "secret-all", "alice", RTA_FORMAT_JSON);
    attach(a, 0);
    enter(a, 0, "alice", "v1");
    fx.now += 10;
    enter(a, 1, "alice", "v2"); /* an enter of a member is an update */
    fx.now += 10;
    rta__gw_conn_free(a); /* a synthesized leave */
    rta_history_query q = {.start = INT64_MIN, .end = INT64_MAX, .limit = 10};
    rta_presence_message out[10];
    int more;
    uint64_t next;
    size_t n =
        rta_gateway_presence_history(&fx.gateway, "app", "ch", &q, fx.now, out, &more, &next);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].action, 3); /* newest first: leave, update, enter */
    assert_int_equal(out[1].action, 4);
    assert_int_equal(out[2].action, 2);
    assert_string_equal(out[2].data.ptr, "v1");
    assert_string_equal(out[1].client_id, "alice");
    assert_non_null(out[0].connection_id);
    assert_true(out[2].timestamp < out[0].timestamp);
    for (size_t i = 0; i < n; i++)
        rta_presence_message_clear(&out[i]);
    q.limit = 2;
    q.forwards = 1;
    n = rta_gateway_presence_history(&fx.gateway, "app", "ch", &q, fx.now, out, &more, &next);
    assert_int_equal(n, 2);
    assert_int_equal(more, 1);
    assert_int_equal(out[0].action, 2);
    for (size_t i = 0; i < n; i++)
        rta_presence_message_clear(&out[i]);
    /* the window's age limit applies to presence events too */
    n = rta_gateway_presence_history(&fx.gateway, "app", "ch", &q,
                                     fx.now + fx.deps.history.max_age_ms + 1, out, &more, &next);
    assert_int_equal(n, 0);
}

static void publish_as_attributes_and_checks(void **state)
{
    (void)state;
    rta_conn *a = fx_conn("app.all", "secret-all", "alice", RTA_FORMAT_JSON);
    rta_conn *w = fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON);
    rta_conn *lim = fx_conn("app.limited", "secret-lim", NULL, RTA_FORMAT_JSON);
    attach(a, 0);
    attach(w, 0);
    rta_error err;
    rta_message m = {.name = strdup("n")};
    assert_int_equal(
        rta_gateway_publish_as(&fx.gateway, "app", a->key, "ch", "id:0", &m, 1, NULL, NULL, &err),
        0);
    assert_string_equal(m.client_id, "alice"); /* stamped from the connection (S-51) */
    rta_protocol_message got;
    assert_int_equal(fx_pop(w, 1, &got), 0);
    assert_string_equal(got.connection_id, a->id);
    rta_protocol_message_clear(&got);
    assert_int_equal(fx_pop(a, 1, &got), 0); /* echo on by default */
    rta_protocol_message_clear(&got);
    a->echo = 0;
    assert_int_equal(
        rta_gateway_publish_as(&fx.gateway, "app", a->key, "ch", "id:1", &m, 1, NULL, NULL, &err),
        0);
    assert_int_equal(fx_pop(a, 1, &got), -1); /* RTL7f */
    assert_int_equal(fx_pop(w, 1, &got), 0);
    rta_protocol_message_clear(&got);
    /* refusals: nothing is sent */
    char bad[64];
    snprintf(bad, sizeof(bad), "%s!wrong", a->id);
    const char *keys[] = {bad, "nobang", "!", "nosuch!x"};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(rta_gateway_publish_as(&fx.gateway, "app", keys[i], "ch", "id:2", &m, 1,
                                                NULL, NULL, &err),
                         RTA_ERR_INVALID_CONNECTION_KEY);
    assert_int_equal(
        rta_gateway_publish_as(&fx.gateway, "other", a->key, "ch", "id:2", &m, 1, NULL, NULL, &err),
        RTA_ERR_INVALID_CONNECTION_KEY);
    assert_int_equal(
        rta_gateway_publish_as(&fx.gateway, "app", lim->key, "ch", "id:2", &m, 1, NULL, NULL, &err),
        RTA_ERR_CAPABILITY_DENIED);
    free(m.client_id);
    m.client_id = strdup("bob");
    assert_int_equal(
        rta_gateway_publish_as(&fx.gateway, "app", a->key, "ch", "id:2", &m, 1, NULL, NULL, &err),
        RTA_ERR_INVALID_CLIENT_ID);
    assert_int_equal(fx_pop(w, 1, &got), -1);
    rta_message_clear(&m);
    rta__gw_conn_free(a);
    rta__gw_conn_free(w);
    rta__gw_conn_free(lim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(occupancy_counts_granted_modes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(presence_list_filters_and_pages, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(presence_history_records_every_event, fx_setup,
                                        fx_teardown),
        cmocka_unit_test_setup_teardown(publish_as_attributes_and_checks, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
