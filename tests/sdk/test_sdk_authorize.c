/* test_sdk_authorize.c: authorize (RSA10a-RSA10k), clientId after tokens (RSA7b, RSA12a,
 * RSA15a-c) and tokenDetails (RSA16), against rtauthd. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_test.h"

static char keys[3][256], key_name[256];

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    sdk_key_name(keys[0], key_name);
    return 0;
}

static rta_rest *key_client(const char *client_id)
{
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    o.client_id = client_id;
    return sdk_rest(&o);
}

static void current(rta_rest *r, rta_token_details *d)
{
    assert_int_equal(rta_auth_token_details(rta_rest_auth(r), d, NULL), 0);
}

/* RSA10a, RSA10f, RSA16c: a Basic client gets a token and uses token auth from then on, so
 * revokeTokens is refused locally (RSA17d); each authorize gives a new token. */
static void test_authorize_switches_to_token_auth(void **state)
{
    (void)state;
    rta_rest *r = key_client(NULL);
    rta_auth *a = rta_rest_auth(r);
    rta_revocation_target t = {"clientId", "nobody"};
    rta_revocation_batch b;
    rta_error err;
    /* Basic: sent, and refused by the server because keys[0] has no revocable tokens */
    assert_int_equal(rta_auth_revoke_tokens(a, &t, 1, NULL, &b, &err), RTA_ERR_NOT_REVOCABLE);

    rta_token_details d1, d2, cur;
    assert_int_equal(rta_auth_authorize(a, NULL, NULL, &d1, &err), 0);
    sdk_add_secret(d1.token);
    current(r, &cur);
    assert_string_equal(cur.token, d1.token); /* RSA16c */
    rta_token_details_clear(&cur);
    assert_int_equal(rta_auth_revoke_tokens(a, &t, 1, NULL, &b, &err), RTA_ERR_REQUIRES_BASIC);
    assert_int_equal(rta_auth_authorize(a, NULL, NULL, &d2, &err), 0);
    sdk_add_secret(d2.token);
    assert_string_not_equal(d1.token, d2.token); /* RSA10a: always a new token */
    assert_int_equal(sdk_probe_token(key_name, d2.token), RTA_ERR_REQUIRES_BASIC);
    /* authenticated requests now carry the token: revokeTokens through request() is
     * answered 40162 by the server (token accepted, Basic needed) */
    char path[300];
    snprintf(path, sizeof(path), "/keys/%s/revokeTokens", key_name);
    assert_int_equal(
        rta_rest_request(r, "POST", path, "{\"targets\":[\"clientId:x\"]}", NULL, &err),
        RTA_ERR_REQUIRES_BASIC);
    rta_token_details_clear(&d1);
    rta_token_details_clear(&d2);
    rta_rest_destroy(r);
}

/* RSA10g, RSA10j: passed params become the defaults, except the timestamp; passed params
 * replace (a missing ttl becomes absent again). */
static void test_authorize_saves_params(void **state)
{
    (void)state;
    rta_rest *r = key_client(NULL);
    rta_auth *a = rta_rest_auth(r);
    long long ts = sdk_now_ms() - 60000;
    rta_token_params p = {.ttl = 120000, .client_id = "gina", .timestamp = ts};
    rta_token_details d;
    assert_int_equal(rta_auth_authorize(a, &p, NULL, &d, NULL), 0);
    assert_int_equal(d.expires - d.issued, 120000);
    assert_int_equal(d.issued >= ts, 1);
    rta_token_details_clear(&d);
    assert_string_equal(rta_auth_client_id(a), "gina"); /* RSA7b2 */
    /* a renewal with the stored params: same ttl and clientId, fresh timestamp */
    assert_int_equal(rta_auth_authorize(a, NULL, NULL, &d, NULL), 0);
    assert_int_equal(d.expires - d.issued, 120000);
    assert_string_equal(d.client_id, "gina");
    rta_token_details_clear(&d);
    rta_token_request tr;
    assert_int_equal(rta_auth_create_token_request(a, NULL, NULL, &tr, NULL), 0);
    assert_true(tr.timestamp > ts + 30000);
    assert_int_equal(tr.ttl, 120000);
    rta_token_request_clear(&tr);
    /* RSA10j: new params replace: no ttl now; RSA10h: the clientId stays (auth.clientId) */
    rta_token_params q = {.capability = "{\"*\":[\"subscribe\"]}"};
    assert_int_equal(rta_auth_authorize(a, &q, NULL, &d, NULL), 0);
    assert_int_equal(d.expires - d.issued, 3600000);
    assert_string_equal(d.client_id, "gina");
    rta_token_details_clear(&d);
    rta_rest_destroy(r);
}

/* RSA10 (JS): authorize with another key is 40102; RSA15a/c: a token for another clientId is
 * 40102 and the client keeps its clientId. */
static void test_authorize_incompatible(void **state)
{
    (void)state;
    rta_rest *r = key_client("hank");
    rta_auth *a = rta_rest_auth(r);
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.key = keys[1];
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_auth_authorize(a, NULL, &ao, &d, &err), RTA_ERR_INCOMPATIBLE_CREDENTIALS);
    assert_null(d.token);
    rta_token_params p = {.client_id = "ivan"};
    assert_int_equal(rta_auth_authorize(a, &p, NULL, &d, &err), RTA_ERR_INCOMPATIBLE_CREDENTIALS);
    assert_string_equal(rta_auth_client_id(a), "hank");
    current(r, &d);
    assert_null(d.token); /* not adopted */
    /* RSA10g (as ably-js): the failed call's params were still saved */
    assert_int_equal(rta_auth_authorize(a, NULL, NULL, &d, &err), RTA_ERR_INCOMPATIBLE_CREDENTIALS);
    /* the configured clientId is used when the params name none (RSA7d, RSA10h) */
    rta_token_params none = {0};
    assert_int_equal(rta_auth_authorize(a, &none, NULL, &d, &err), 0);
    assert_string_equal(d.client_id, "hank");
    rta_token_details_clear(&d);
    rta_rest_destroy(r);
}

/* RSA7b4, RSA15b, RSA12a: wildcard and anonymous tokens. */
static void test_wildcard_and_anonymous(void **state)
{
    (void)state;
    rta_rest *r = key_client(NULL);
    rta_auth *a = rta_rest_auth(r);
    rta_token_params star = {.client_id = "*"};
    rta_token_details d;
    assert_int_equal(rta_auth_authorize(a, &star, NULL, &d, NULL), 0);
    assert_string_equal(d.client_id, "*");
    assert_string_equal(rta_auth_client_id(a), "*");
    rta_token_details_clear(&d);
    rta_rest_destroy(r);

    r = key_client("judy"); /* a wildcard token keeps the configured clientId */
    a = rta_rest_auth(r);
    assert_int_equal(rta_auth_authorize(a, &star, NULL, &d, NULL), 0);
    assert_string_equal(d.client_id, "*");
    assert_string_equal(rta_auth_client_id(a), "judy");
    rta_token_details_clear(&d);
    rta_rest_destroy(r);

    r = key_client(NULL); /* anonymous */
    a = rta_rest_auth(r);
    assert_int_equal(rta_auth_authorize(a, NULL, NULL, &d, NULL), 0);
    assert_null(d.client_id);
    assert_null(rta_auth_client_id(a));
    rta_token_details_clear(&d);
    rta_rest_destroy(r);
}

/* RSA10e: a token in the AuthOptions is used as is, no request; kept for later as the stored
 * options, so with no way to renew a later authorize is 40171. */
static void test_authorize_with_given_token(void **state)
{
    (void)state;
    rta_rest *r = key_client(NULL);
    rta_auth *a = rta_rest_auth(r);
    rta_token_details issued;
    assert_int_equal(rta_auth_request_token(a, NULL, NULL, &issued, NULL), 0);
    sdk_add_secret(issued.token);
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.token_details = &issued;
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_auth_authorize(a, NULL, &ao, &d, &err), 0);
    assert_string_equal(d.token, issued.token);
    assert_int_equal(d.expires, issued.expires);
    rta_token_details_clear(&d);
    rta_auth_options_init(&ao);
    ao.token = issued.token;
    assert_int_equal(rta_auth_authorize(a, NULL, &ao, &d, &err), 0);
    assert_string_equal(d.token, issued.token);
    assert_int_equal(d.expires, 0); /* RSA16b: only the string was given */
    rta_token_details_clear(&d);
    assert_int_equal(rta_auth_authorize(a, NULL, NULL, &d, &err), RTA_ERR_NO_RENEWAL);
    rta_token_details_clear(&issued);
    rta_rest_destroy(r);
}

/* RSA10: authorize with an authCallback in the AuthOptions on a key client (switches the means
 * of renewal, kept as the stored options). */
static int callback_calls;
static void give_error(const rta_token_params *p, rta_auth_result *res, void *data)
{
    (void)p, (void)data;
    callback_calls++;
    rta_auth_result_set_error(res, 40300, "denied by app");
}

static void test_authorize_with_callback_options(void **state)
{
    (void)state;
    rta_rest *r = key_client(NULL);
    rta_auth *a = rta_rest_auth(r);
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.auth_callback = give_error;
    callback_calls = 0;
    rta_error err;
    rta_token_details d;
    assert_int_equal(rta_auth_authorize(a, NULL, &ao, &d, &err), RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(err.cause_status_code, 403);
    assert_int_equal(callback_calls, 1);
    assert_int_equal(rta_auth_authorize(a, NULL, NULL, &d, &err), RTA_ERR_AUTH_CALLBACK);
    assert_int_equal(callback_calls, 2); /* the stored options are the callback's now */
    rta_rest_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorize_switches_to_token_auth),
        cmocka_unit_test(test_authorize_saves_params),
        cmocka_unit_test(test_authorize_incompatible),
        cmocka_unit_test(test_wildcard_and_anonymous),
        cmocka_unit_test(test_authorize_with_given_token),
        cmocka_unit_test(test_authorize_with_callback_options),
    };
    return cmocka_run_group_tests(tests, group_setup, sdk_teardown);
}
