/* test_rt_connect.c: the realtime client against rtauthd's gateway: connecting with a key, a
 * token, an authCallback (RTN2, RSA4, wire doc 1.3, 3.1), clientId cases (RSA7, RSA15),
 * fatal errors (40101 -> failed), channels: attach, publish and subscribe across two
 * clients, publish denied (NACK 40160), attach denied (channel failed 40160), close. */
#include <stdatomic.h>
#include <stdlib.h>

#include "rt_test.h"

static char keys[3][256];

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    return 0;
}

static rta_realtime *key_client(int key, const char *client_id, rt_rec *rec)
{
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[key];
    o.client_id = client_id;
    return rt_client(&o, rec);
}

/* RTN2, RTN4: initialized -> connecting -> connected with an id and key; close -> closed. */
static void test_key_connects_and_closes(void **state)
{
    (void)state;
    rt_rec rec;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    o.realtime.auto_connect = 0; /* stays initialized until connect() (else a race with it) */
    rta_realtime *rt = rt_client(&o, &rec);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_INITIALIZED);
    assert_int_equal(rta_realtime_connect(rt, NULL), 0);
    rt_connected(rt);
    char id[RTA_CONNECTION_ID_SIZE], key[RTA_CONNECTION_ID_SIZE];
    assert_int_equal(rta_realtime_connection_id(rt, id, sizeof(id)), 0);
    assert_int_equal(rta_realtime_connection_key(rt, key, sizeof(key)), 0);
    assert_true(id[0] && key[0]);
    char tiny[4]; /* too small: 40003, never a truncated id */
    assert_int_equal(rta_realtime_connection_id(rt, tiny, sizeof(tiny)), RTA_ERR_INVALID_PARAMETER);
    assert_null(rta_auth_client_id(rta_realtime_auth(rt))); /* Basic, no clientId */
    assert_int_equal(rta_realtime_close(rt, NULL), 0);
    assert_int_equal(rta_realtime_wait_state(rt, RTA_CONN_CLOSED, RT_WAIT_MS, NULL), 0);
    assert_true(rt_rec_wait(&rec, RTA_CONN_CLOSED, 0, 1, 1000));
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_CONNECTING, 0), 1);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_CONNECTED, 0), 1);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_CLOSING, 0), 1);
    rta_realtime_destroy(rt);
}

/* Basic + clientId (wire doc 3.1): connectionDetails.clientId becomes auth.clientId. */
static void test_key_with_client_id(void **state)
{
    (void)state;
    rta_realtime *rt = key_client(0, "basil", NULL);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    assert_string_equal(rta_auth_client_id(rta_realtime_auth(rt)), "basil");
    rta_realtime_destroy(rt);
}

/* A bad secret is ERROR 40101 at connection level: failed, no retry (wire doc 2.8). */
static void test_bad_key_fails(void **state)
{
    (void)state;
    char bad[300];
    snprintf(bad, sizeof(bad), "%.*s:wrongsecretwrongsecret", (int)(strchr(keys[0], ':') - keys[0]),
             keys[0]);
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = bad;
    sdk_add_secret("wrongsecretwrongsecret");
    rta_realtime *rt = rt_client(&o, NULL);
    rta_realtime_connect(rt, NULL);
    rta_error err;
    assert_int_equal(rta_realtime_wait_state(rt, RTA_CONN_CONNECTED, RT_WAIT_MS, &err),
                     RTA_ERR_INVALID_CREDENTIALS);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_FAILED);
    rta_realtime_destroy(rt);
}

/* A token string (RSA4): access_token; its clientId becomes auth.clientId. */
static void test_token_literal_connects(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    rta_rest *rest = sdk_rest(&o);
    rta_token_params p = {.client_id = "tina"};
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(rest), &p, NULL, &d, NULL), 0);
    sdk_add_secret(d.token);
    sdk_options(&o);
    o.auth.token = d.token;
    rta_realtime *rt = rt_client(&o, NULL);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    assert_string_equal(rta_auth_client_id(rta_realtime_auth(rt)), "tina");
    rta_realtime_destroy(rt);
    /* a token whose clientId differs from ClientOptions.clientId: 40102 locally (RSA15a) */
    sdk_options(&o);
    o.auth.token_details = &d;
    o.client_id = "other";
    rta_realtime *bad = NULL;
    assert_int_equal(rta_realtime_create(&o, &bad, NULL), RTA_ERR_INCOMPATIBLE_CREDENTIALS);
    assert_null(bad);
    rta_token_details_clear(&d);
    rta_rest_destroy(rest);
}

static rta_rest *backend;

static void give_token(const rta_token_params *params, rta_auth_result *result, void *ud)
{
    (void)ud;
    rta_token_request req;
    int rc = rta_auth_create_token_request(rta_rest_auth(backend), params, NULL, &req, NULL);
    if (rc)
        rta_auth_result_set_error(result, rc, "backend refused");
    else
        rta_auth_result_set_token_request(result, &req);
    rta_token_request_clear(&req);
}

/* authCallback (RSA8d) with ClientOptions.clientId: the callback's params carry it (RSA7d). */
static void test_auth_callback_connects(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    backend = sdk_rest(&o);
    sdk_options(&o);
    o.auth.auth_callback = give_token;
    o.client_id = "carla";
    rta_realtime *rt = rt_client(&o, NULL);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    assert_string_equal(rta_auth_client_id(rta_realtime_auth(rt)), "carla");
    rta_token_details d;
    assert_int_equal(rta_auth_token_details(rta_realtime_auth(rt), &d, NULL), 0);
    assert_string_equal(d.client_id, "carla");
    rta_token_details_clear(&d);
    rta_realtime_destroy(rt);
    rta_rest_destroy(backend);
}

/* RTL4, RTL6, RTL7: a message published by one client reaches the other's subscriber, with
 * the publisher's clientId stamped by the server; the ACK completes the publish. JSON and
 * msgpack. */
static void pubsub(int binary_protocol)
{
    rt_rec rec;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    o.use_binary_protocol = binary_protocol;
    rta_realtime *sub = rt_client(&o, &rec);
    o.client_id = "pub";
    rta_realtime *pub = rt_client(&o, NULL);
    rta_channel *ch = rta_realtime_channel(sub, "room", NULL);
    assert_non_null(ch);
    rta_channel_subscribe(ch, rt_rec_on_message, &rec);
    rta_error err;
    assert_int_equal(rta_channel_attach(ch, &err), 0); /* connects first (RTL4i) */
    assert_int_equal(rta_channel_get_state(ch, NULL), RTA_CHANNEL_ATTACHED);
    rta_channel *pch = rta_realtime_channel(pub, "room", NULL);
    assert_int_equal(rta_channel_publish(pch, "greet", "hello there", &err), 0);
    assert_true(rt_rec_wait_messages(&rec, 1, RT_WAIT_MS));
    assert_string_equal(rec.last_data, "hello there");
    assert_string_equal(rec.last_client_id, "pub");
    assert_int_equal(rta_channel_detach(ch, &err), 0);
    assert_int_equal(rta_channel_get_state(ch, NULL), RTA_CHANNEL_DETACHED);
    rta_realtime_destroy(pub);
    rta_realtime_destroy(sub);
}

static void test_pubsub_json(void **state)
{
    (void)state;
    pubsub(0);
}

static void test_pubsub_msgpack(void **state)
{
    (void)state;
    pubsub(1);
}

/* keys[2] may only publish/subscribe on "chan": attach elsewhere is a channel ERROR 40160
 * (channel failed, connection stays up); publish elsewhere is NACKed 40160; a foreign clientId
 * on an identified connection is NACKed 40012. */
static void test_denied(void **state)
{
    (void)state;
    rta_realtime *rt = key_client(2, "dora", NULL);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    rta_error err;
    rta_channel *other = rta_realtime_channel(rt, "other", NULL);
    assert_int_equal(rta_channel_attach(other, &err), RTA_ERR_CAPABILITY_DENIED);
    assert_int_equal(rta_channel_get_state(other, &err), RTA_CHANNEL_FAILED);
    assert_int_equal(err.code, RTA_ERR_CAPABILITY_DENIED);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_CONNECTED);
    rta_channel *ok = rta_realtime_channel(rt, "chan", NULL);
    assert_int_equal(rta_channel_publish(ok, "n", "d", &err), 0);
    rta_channel *no = rta_realtime_channel(rt, "nopub", NULL);
    assert_int_equal(rta_channel_publish(no, "n", "d", &err), RTA_ERR_CAPABILITY_DENIED);
    rta_publish_message m = {.name = "n", .data = "d", .client_id = "eve"};
    assert_int_equal(rta_channel_publish_message(ok, &m, &err), RTA_ERR_INVALID_CLIENT_ID);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_CONNECTED);
    rta_realtime_destroy(rt);
}

struct blocking_ctx {
    _Atomic int attach_rc, authorize_rc; /* written on the I/O thread, read here */
    rta_realtime *rt;
};

static void blocking_from_callback(const rta_connection_state_change *c, void *ud)
{
    struct blocking_ctx *ctx = ud;
    if (c->current == RTA_CONN_CONNECTED && atomic_load(&ctx->authorize_rc) == -1) {
        rta_channel *ch = rta_realtime_channel(ctx->rt, "x", NULL);
        atomic_store(&ctx->attach_rc, rta_channel_attach(ch, NULL));
        atomic_store(&ctx->authorize_rc,
                     rta_auth_authorize(rta_realtime_auth(ctx->rt), NULL, NULL, NULL, NULL));
    }
}

/* DESIGN.md 4: a blocking call from a callback of the same client returns 40000. The
 * callback runs on the I/O thread after rt_connected() has seen CONNECTED, so the test waits
 * for it (up to 10 s: valgrind makes that thread slow). */
static void test_blocking_call_from_callback(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    /* connect() only once the listener is on: with auto_connect the client could reach
     * CONNECTED before rta_realtime_on(), and the callback would never see it (failed once
     * under TSan with the machine loaded: the test waited its 10 s) */
    o.realtime.auto_connect = 0;
    rta_realtime *rt = rt_client(&o, NULL);
    struct blocking_ctx ctx = {.rt = rt};
    atomic_init(&ctx.attach_rc, -1);
    atomic_init(&ctx.authorize_rc, -1);
    rta_realtime_on(rt, blocking_from_callback, &ctx);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    for (int i = 0; i < 1000 && atomic_load(&ctx.authorize_rc) == -1; i++)
        usleep(10000);
    assert_int_equal(atomic_load(&ctx.attach_rc), RTA_ERR_BAD_REQUEST);
    assert_int_equal(atomic_load(&ctx.authorize_rc), RTA_ERR_BAD_REQUEST);
    rta_realtime_destroy(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_connects_and_closes),
        cmocka_unit_test(test_key_with_client_id),
        cmocka_unit_test(test_bad_key_fails),
        cmocka_unit_test(test_token_literal_connects),
        cmocka_unit_test(test_auth_callback_connects),
        cmocka_unit_test(test_pubsub_json),
        cmocka_unit_test(test_pubsub_msgpack),
        cmocka_unit_test(test_denied),
        cmocka_unit_test(test_blocking_call_from_callback),
    };
    return cmocka_run_group_tests(tests, group_setup, sdk_teardown);
}
