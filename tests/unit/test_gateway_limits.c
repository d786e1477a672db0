/* test_gateway_limits.c: the per-app and per-clientId connection caps (gateway/limits.c)
 * without sockets (tests/gateway_fixture.h): admission against the server's caps and an
 * app's own, exact counts through frees, anonymous and wildcard connections counting for
 * their app only, and other apps unaffected. The same caps over real WebSockets with ably-js:
 * tests/interop/realtime_limits.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "../gateway_fixture.h"

static int setup(void **state)
{
    (void)state;
    if (fx_init()) return -1;
    /* a second app, "other", with one key */
    rta_app_record app = {"other", "acct", 1, 0};
    rta_key_record key = {"other.k", "other", "secret-other", "{\"*\":[\"*\"]}", 0, 1, 1};
    return rta_registry_put_app(&fx.registry, &app, NULL) ||
           rta_registry_put_key(&fx.registry, &key, NULL);
}

static int teardown(void **state)
{
    (void)state;
    fx_free();
    return 0;
}

static rta_conn *conn(const char *app, const char *client_id)
{
    rta_conn *c = !strcmp(app, "app") ? fx_conn("app.all", "secret-all", client_id, RTA_FORMAT_JSON)
                                      : fx_conn("other.k", "secret-other", client_id, RTA_FORMAT_JSON);
    assert_non_null(c);
    return c;
}

/* c is admitted (0) or refused with 40111 naming `which` ("app" or "clientId"). */
static void admit(rta_conn *c, const char *which)
{
    rta_error e;
    int rc = rta__gw_conn_admit(c, &e);
    if (!which) {
        assert_int_equal(rc, 0);
        assert_true(c->admitted);
        return;
    }
    assert_int_equal(rc, RTA_ERR_CONNECTION_LIMIT);
    assert_int_equal(e.code, 40111);
    assert_int_equal(e.status_code, 403);
    char want[64];
    snprintf(want, sizeof(want), "for this %s", which);
    assert_non_null(strstr(e.message, want));
    assert_false(c->admitted);
}

static size_t held(const char *app, const char *client_id)
{
    rta_conn_counts *k = &fx.gateway.held;
    char key[128];
    snprintf(key, sizeof(key), "%s%s%s", app, client_id ? ":" : "", client_id ? client_id : "");
    return (size_t)(uintptr_t)rta_hmap_get(client_id ? &k->per_client : &k->per_app, key,
                                           strlen(key));
}

static void set_server_caps(long long per_app, long long per_client)
{
    fx.gateway.limits.max_connections_per_app = per_app;
    fx.gateway.limits.max_connections_per_client = per_client;
}

static void per_client_then_per_app_caps(void **state)
{
    (void)state;
    set_server_caps(4, 2);
    rta_conn *a1 = conn("app", "alice"), *a2 = conn("app", "alice"), *a3 = conn("app", "alice");
    admit(a1, NULL);
    admit(a2, NULL);
    admit(a3, "clientId");
    assert_int_equal(held("app", "alice"), 2);
    assert_int_equal(held("app", NULL), 2);
    rta_conn *b = conn("app", "bob"), *anon = conn("app", NULL), *wild = conn("app", "*");
    admit(b, NULL);
    admit(anon, NULL); /* anonymous: the app's cap only */
    admit(wild, "app"); /* 4 held: the app is full, whoever asks */
    assert_int_equal(held("app", NULL), 4);
    assert_int_equal(held("app", "*"), 0);
    /* another app is unaffected */
    rta_conn *o = conn("other", "alice");
    admit(o, NULL);
    assert_int_equal(held("other", "alice"), 1);
    /* a connection going frees its place, once: a3 was never admitted */
    rta__gw_conn_free(a3);
    assert_int_equal(held("app", NULL), 4);
    rta__gw_conn_free(a1);
    assert_int_equal(held("app", "alice"), 1);
    assert_int_equal(held("app", NULL), 3);
    admit(wild, NULL);
    assert_int_equal(held("app", NULL), 4);
    rta__gw_conn_free(a2);
    rta__gw_conn_free(b);
    rta__gw_conn_free(anon);
    rta__gw_conn_free(wild);
    rta__gw_conn_free(o);
    /* nothing left behind: entries go with their last connection */
    assert_int_equal(fx.gateway.held.per_app.count, 0);
    assert_int_equal(fx.gateway.held.per_client.count, 0);
    set_server_caps(0, 0);
}

static void zero_means_no_cap(void **state)
{
    (void)state;
    set_server_caps(0, 0);
    rta_conn *c[300];
    for (int i = 0; i < 300; i++) admit(c[i] = conn("app", "same"), NULL);
    assert_int_equal(held("app", "same"), 300);
    for (int i = 0; i < 300; i++) rta__gw_conn_free(c[i]);
    assert_int_equal(fx.gateway.held.per_app.count, 0);
}

/* An app's own caps (the registry, from `rtauth app set-limits` or sandbox creation) override
 * the server's, both ways; 0 in the app falls back to the server's. */
static void an_apps_own_caps_override_the_servers(void **state)
{
    (void)state;
    set_server_caps(2, 1);
    rta_app_record own = {"app", "acct", 1, 0, 3, 2};
    assert_int_equal(rta_registry_put_app(&fx.registry, &own, NULL), 0);
    rta_conn *x1 = conn("app", "x"), *x2 = conn("app", "x"), *x3 = conn("app", "x");
    admit(x1, NULL);
    admit(x2, NULL); /* the app allows 2 per clientId where the server says 1 */
    admit(x3, "clientId");
    rta_conn *y = conn("app", "y"), *z = conn("app", "z");
    admit(y, NULL); /* 3 for the app */
    admit(z, "app");
    /* the other app keeps the server's caps */
    rta_conn *o1 = conn("other", "x"), *o2 = conn("other", "x");
    admit(o1, NULL);
    admit(o2, "clientId");
    /* lowered below what is held: nobody is dropped, newcomers are refused */
    rta_app_record lower = {"app", "acct", 1, 0, 1, 0};
    assert_int_equal(rta_registry_put_app(&fx.registry, &lower, NULL), 0);
    rta__gw_conn_free(z);
    z = conn("app", "z");
    admit(z, "app");
    assert_int_equal(held("app", NULL), 3);
    rta_conn *all[] = {x1, x2, x3, y, z, o1, o2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) rta__gw_conn_free(all[i]);
    assert_int_equal(fx.gateway.held.per_app.count, 0);
    assert_int_equal(fx.gateway.held.per_client.count, 0);
    rta_app_record reset = {"app", "acct", 1, 0};
    assert_int_equal(rta_registry_put_app(&fx.registry, &reset, NULL), 0);
    set_server_caps(0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(per_client_then_per_app_caps),
        cmocka_unit_test(zero_means_no_cap),
        cmocka_unit_test(an_apps_own_caps_override_the_servers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
