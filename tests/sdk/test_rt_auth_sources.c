/* test_rt_auth_sources.c: the realtime client connecting with each source of credentials that
 * the REST tests cover, against rtauthd's gateway, mirroring tests/interop/realtime_connect:
 *   - authUrl (RSA8c) answering a TokenRequest, a TokenDetails or an Ably JWT (application/jwt),
 *     with authParams in the query; the clientId comes from what the backend chose;
 *   - an Ably JWT (HS256, kid = keyName) given as the token literal (RSA3d), and from an
 *     authCallback: clientId and capability come from its claims (the gateway enforces them);
 *     a JWT signed with the wrong secret fails the connection;
 *   - a short-lived JWT from the authUrl is renewed at expiry (DISCONNECTED 40142, a new JWT
 *     from the authUrl, RTN15h2) and the connection resumed with it.
 * The authUrl is a real local HTTP server (stub_http.c) signing as examples/auth_server.c. */
#include <stdlib.h>

#include "core/jwt.h"
#include "core/key.h"
#include "rt_test.h"
#include "stub_http.h"

static char keys[3][256];
static rta_rest *backend;
static stub_server stub;

#define JWT_CAPABILITY "{\"jwt-chan\":[\"*\"]}"

/* A JWT for keys[0]: clientId and capability claims, expiring in ttl_s seconds. */
static char *make_jwt(const char *client_id, int ttl_s, const char *secret_override)
{
    rta_key k;
    assert_int_equal(rta_key_parse(keys[0], strlen(keys[0]), &k, NULL), 0);
    int64_t now = sdk_now_ms() / 1000;
    rta_jwt_claims c = {.key_name = k.key_name,
                        .iat = now,
                        .exp = now + ttl_s,
                        .capability = JWT_CAPABILITY,
                        .client_id = client_id};
    rta_buf b = RTA_BUF_INIT;
    const char *secret = secret_override ? secret_override : k.secret;
    assert_int_equal(rta_jwt_sign(&c, secret, strlen(secret), &b), 0);
    rta_key_wipe(&k);
    char *jwt = rta_buf_detach(&b, NULL);
    sdk_add_secret(jwt);
    return jwt;
}

/* The query parameter name's value in target, or "" ([A-Za-z0-9-] values only). */
static void param(const char *target, const char *name, char *out, size_t size)
{
    out[0] = '\0';
    const char *q = strchr(target, '?');
    size_t n = strlen(name);
    for (const char *p = q; p && *p; p = strchr(p + 1, '&'))
        if (!strncmp(p + 1, name, n) && p[1 + n] == '=') {
            snprintf(out, size, "%.*s", (int)strcspn(p + 2 + n, "& "), p + 2 + n);
            return;
        }
}

/* The app's backend: what kind= (an authParam) asks for. */
static void handler(const stub_request *req, stub_reply *rep, void *ctx)
{
    (void)ctx;
    char kind[32], ttl[16];
    param(req->target, "kind", kind, sizeof(kind));
    param(req->target, "jwtTtl", ttl, sizeof(ttl));
    rta_token_params p = {.client_id = "url-rt"};
    char *text = NULL;
    if (!strcmp(kind, "request")) {
        rta_token_request tr;
        if (rta_auth_create_token_request(rta_rest_auth(backend), &p, NULL, &tr, NULL) == 0) {
            rta_token_request_to_json(&tr, &text);
            rta_token_request_clear(&tr);
        }
        stub_reply_set(rep, 200, "application/json", text);
    } else if (!strcmp(kind, "details")) {
        rta_token_details d;
        if (rta_auth_request_token(rta_rest_auth(backend), &p, NULL, &d, NULL) == 0) {
            sdk_add_secret(d.token);
            rta_token_details_to_json(&d, &text);
            rta_token_details_clear(&d);
        }
        stub_reply_set(rep, 200, "application/json", text);
    } else if (!strcmp(kind, "jwt")) {
        text = make_jwt("jwt-url", ttl[0] ? atoi(ttl) : 600, NULL);
        stub_reply_set(rep, 200, "application/jwt", text);
    } else {
        stub_reply_set(rep, 404, "text/plain", "unknown kind");
    }
    free(text);
}

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    if (rta_rest_create(&o, &backend, NULL)) return -1;
    return stub_start(&stub, handler, NULL);
}

static int group_teardown(void **state)
{
    stub_stop(&stub);
    rta_rest_destroy(backend);
    return sdk_teardown(state);
}

static char url[128];

static rta_realtime *url_client(const rta_name_value *params, size_t n, rt_rec *rec)
{
    rta_client_options o;
    sdk_options(&o);
    snprintf(url, sizeof(url), "%s/auth", stub.url);
    o.auth.auth_url = url;
    o.auth.auth_params = params;
    o.auth.auth_param_count = n;
    o.realtime.disconnected_retry_ms = 300;
    rta_realtime *rt = rt_client(&o, rec);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    return rt;
}

/* Attach then publish on name: 0, or the first error code. */
static int attach_publish(rta_realtime *rt, const char *name)
{
    rta_channel *ch = rta_realtime_channel(rt, name, NULL);
    rta_error err;
    int rc = rta_channel_attach(ch, &err);
    if (!rc) rc = rta_channel_publish(ch, "m", "hello", &err);
    return rc;
}

/* RSA8c with a TokenRequest then a TokenDetails from the authUrl. */
static void test_auth_url_token_request_and_details(void **state)
{
    (void)state;
    const char *kinds[] = {"request", "details"};
    for (int i = 0; i < 2; i++) {
        rta_name_value params[] = {{"kind", kinds[i]}};
        int before = stub_count(&stub);
        rta_realtime *rt = url_client(params, 1, NULL);
        assert_true(stub_count(&stub) > before);
        assert_string_equal(rta_auth_client_id(rta_realtime_auth(rt)), "url-rt");
        assert_int_equal(attach_publish(rt, "any"), 0);
        rta_realtime_destroy(rt);
    }
}

/* RSA8c + RSA3d: a JWT from the authUrl; its claims rule: clientId jwt-url, and only jwt-chan
 * is allowed (the gateway answers 40160 elsewhere). */
static void test_auth_url_jwt(void **state)
{
    (void)state;
    rta_name_value params[] = {{"kind", "jwt"}};
    rta_realtime *rt = url_client(params, 1, NULL);
    assert_string_equal(rta_auth_client_id(rta_realtime_auth(rt)), "jwt-url");
    assert_int_equal(attach_publish(rt, "jwt-chan"), 0);
    assert_int_equal(attach_publish(rt, "elsewhere"), RTA_ERR_CAPABILITY_DENIED);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_CONNECTED);
    rta_realtime_destroy(rt);
}

/* RTN15h2: a 3 s JWT from the authUrl expires (DISCONNECTED 40142); the client fetches a new one
 * from the authUrl and resumes the same connection, twice, the channel staying attached. */
static void test_auth_url_jwt_renewed(void **state)
{
    (void)state;
    rta_name_value params[] = {{"kind", "jwt"}, {"jwtTtl", "3"}};
    rt_rec rec;
    rta_realtime *rt = url_client(params, 2, &rec);
    char id[128], id2[128];
    rta_realtime_connection_id(rt, id, sizeof(id));
    rta_channel *ch = rta_realtime_channel(rt, "jwt-chan", NULL);
    assert_int_equal(rta_channel_attach(ch, NULL), 0);
    int before = stub_count(&stub);
    assert_true(rt_rec_wait(&rec, RTA_CONN_DISCONNECTED, RTA_ERR_TOKEN_EXPIRED, 2, 12000));
    assert_true(rt_rec_wait(&rec, RTA_CONN_CONNECTED, 0, 3, RT_WAIT_MS));
    rt_connected(rt);
    assert_true(stub_count(&stub) - before >= 2);
    rta_realtime_connection_id(rt, id2, sizeof(id2));
    assert_string_equal(id, id2);
    assert_int_equal(rta_channel_get_state(ch, NULL), RTA_CHANNEL_ATTACHED);
    assert_int_equal(rta_channel_publish(ch, "m", "still here", NULL), 0);
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_FAILED, 0), 0);
    rta_realtime_destroy(rt);
}

/* RSA3d: a JWT as the token literal; a JWT signed with another secret fails the connection. */
static void test_jwt_literal(void **state)
{
    (void)state;
    char *jwt = make_jwt("jwt-lit", 600, NULL);
    rta_client_options o;
    sdk_options(&o);
    o.auth.token = jwt;
    rta_realtime *rt = rt_client(&o, NULL);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    assert_string_equal(rta_auth_client_id(rta_realtime_auth(rt)), "jwt-lit");
    assert_int_equal(attach_publish(rt, "jwt-chan"), 0);
    rta_error err;
    rta_channel *denied = rta_realtime_channel(rt, "elsewhere", NULL);
    assert_int_equal(rta_channel_publish(denied, "m", "no", &err),
                     RTA_ERR_CAPABILITY_DENIED); /* NACK */
    rta_realtime_destroy(rt);
    free(jwt);

    char *forged = make_jwt("jwt-lit", 600, "not-the-secret-of-this-key");
    sdk_add_secret("not-the-secret-of-this-key");
    sdk_options(&o);
    o.auth.token = forged;
    rt = rt_client(&o, NULL);
    rta_realtime_connect(rt, NULL);
    assert_int_not_equal(rta_realtime_wait_state(rt, RTA_CONN_CONNECTED, RT_WAIT_MS, &err), 0);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_FAILED);
    assert_true(err.code >= 40100 && err.code < 40200);
    rta_realtime_destroy(rt);
    free(forged);
}

static void jwt_callback(const rta_token_params *params, rta_auth_result *result, void *ud)
{
    (void)params, (void)ud;
    char *jwt = make_jwt("jwt-cb", 600, NULL);
    rta_auth_result_set_token(result, jwt);
    free(jwt);
}

/* RSA8d: an authCallback answering a JWT string. */
static void test_jwt_from_auth_callback(void **state)
{
    (void)state;
    rta_client_options o;
    sdk_options(&o);
    o.auth.auth_callback = jwt_callback;
    rta_realtime *rt = rt_client(&o, NULL);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    assert_string_equal(rta_auth_client_id(rta_realtime_auth(rt)), "jwt-cb");
    assert_int_equal(attach_publish(rt, "jwt-chan"), 0);
    rta_realtime_destroy(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_url_token_request_and_details),
        cmocka_unit_test(test_auth_url_jwt),
        cmocka_unit_test(test_auth_url_jwt_renewed),
        cmocka_unit_test(test_jwt_literal),
        cmocka_unit_test(test_jwt_from_auth_callback),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
