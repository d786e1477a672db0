/* test_sdk_revoke.c: revokeTokens end to end (RSA17b-RSA17g, TRT2, TRS2, TRF2, BAR2), in
 * msgpack and JSON, against rtauthd: revoked tokens are refused with 40141 afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk_test.h"
#include "stub_http.h"

static char keys[3][256], key_name[256];

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    sdk_key_name(keys[1], key_name); /* keys[1] has revocable tokens */
    return 0;
}

static rta_rest *key_client(const char *key, int binary)
{
    rta_client_options o;
    sdk_options(&o);
    o.auth.key = key;
    o.use_binary_protocol = binary;
    return sdk_rest(&o);
}

static char *token_for(rta_rest *r, const char *client_id)
{
    rta_token_params p = {.client_id = (char *)client_id};
    rta_token_details d;
    assert_int_equal(rta_auth_request_token(rta_rest_auth(r), &p, NULL, &d, NULL), 0);
    sdk_add_secret(d.token);
    char *t = strdup(d.token);
    rta_token_details_clear(&d);
    return t;
}

/* RSA17g, RSA17b, RSA17c, TRS2: revoke by clientId; the token is refused with 40141, another
 * client's token still works. Both wire formats. */
static void test_revoke_by_client_id(void **state)
{
    (void)state;
    for (int binary = 0; binary <= 1; binary++) {
        rta_rest *r = key_client(keys[1], binary);
        char victim[64], bystander[64];
        snprintf(victim, sizeof(victim), "victim-%d", binary);
        snprintf(bystander, sizeof(bystander), "bystander-%d", binary);
        char *tv = token_for(r, victim), *tb = token_for(r, bystander);
        assert_int_equal(sdk_probe_token(key_name, tv), RTA_ERR_REQUIRES_BASIC);
        /* issuedBefore defaults to the server's now and covers tokens issued strictly before
         * it: don't revoke in the very millisecond the token was issued */
        usleep(5000);
        rta_revocation_target t = {"clientId", victim};
        rta_revocation_batch b;
        rta_error err;
        long long before = sdk_now_ms();
        assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), &t, 1, NULL, &b, &err), 0);
        assert_int_equal(b.success_count, 1);
        assert_int_equal(b.failure_count, 0);
        assert_int_equal(b.result_count, 1);
        char want[80];
        snprintf(want, sizeof(want), "clientId:%s", victim);
        assert_string_equal(b.results[0].target, want);
        assert_int_equal(b.results[0].failed, 0);
        assert_true(b.results[0].issued_before >= before - 1000);
        assert_true(b.results[0].applies_at >= b.results[0].issued_before - 1000);
        rta_revocation_batch_clear(&b);
        assert_int_equal(sdk_probe_token(key_name, tv), RTA_ERR_TOKEN_REVOKED);
        assert_int_equal(sdk_probe_token(key_name, tb), RTA_ERR_REQUIRES_BASIC);
        free(tv);
        free(tb);
        rta_rest_destroy(r);
    }
}

/* TRF2, BAR2: a mixed batch: an unknown target type fails alone; RSA17e issuedBefore is sent
 * and echoed; RSA17f allowReauthMargin delays appliesAt by 30 s; rtauth's token:<token>. */
/* TRT2a: the named target types (issue 15), each revoked with success (TRS) and sent as
 * "type:value" (RSA17b). */
static void test_target_type_constants(void **state)
{
    (void)state;
    rta_rest *r = key_client(keys[1], 1);
    char *tok = token_for(r, "trudy");
    rta_revocation_target t[] = {{RTA_REVOKE_TARGET_CLIENT_ID, "trent"},
                                 {RTA_REVOKE_TARGET_REVOCATION_KEY, "group-7"},
                                 {RTA_REVOKE_TARGET_TOKEN, tok}};
    rta_revocation_batch b;
    rta_error err;
    assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), t, 3, NULL, &b, &err), 0);
    assert_int_equal(b.success_count, 3);
    assert_int_equal(b.result_count, 3);
    assert_string_equal(b.results[0].target, "clientId:trent");
    assert_string_equal(b.results[1].target, "revocationKey:group-7");
    assert_int_equal(strncmp(b.results[2].target, "token:", 6), 0);
    rta_revocation_batch_clear(&b);
    free(tok);
    rta_rest_destroy(r);
}

static void test_mixed_batch_and_options(void **state)
{
    (void)state;
    rta_rest *r = key_client(keys[1], 1);
    char *tok = token_for(r, "mallory");
    rta_revocation_target t[] = {{"clientId", "someone"}, {"invalidType", "abc"}, {"token", tok}};
    long long ib = sdk_now_ms() - 1000;
    rta_revoke_options opts = {.issued_before = ib, .allow_reauth_margin = 1};
    rta_revocation_batch b;
    rta_error err;
    assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), t, 3, &opts, &b, &err), 0);
    assert_int_equal(b.success_count, 2);
    assert_int_equal(b.failure_count, 1);
    assert_int_equal(b.result_count, 3);
    for (size_t i = 0; i < b.result_count; i++) {
        const rta_revocation_result *res = &b.results[i];
        if (res->failed) {
            assert_string_equal(res->target, "invalidType:abc");
            assert_int_equal(res->error_status_code, 400);
            assert_non_null(res->error_message);
        } else {
            assert_int_equal(res->issued_before, ib);
            assert_true(res->applies_at >= sdk_now_ms() + 20000); /* 30 s margin */
        }
    }
    char *json = NULL;
    assert_int_equal(rta_revocation_batch_to_json(&b, &json), 0);
    assert_non_null(strstr(json, "\"failureCount\":1"));
    free(json);
    rta_revocation_batch_clear(&b);
    /* that token was issued after issuedBefore (and the margin is pending): still valid */
    assert_int_equal(sdk_probe_token(key_name, tok), RTA_ERR_REQUIRES_BASIC);
    free(tok);
    rta_rest_destroy(r);
}

/* Server-side refusals: a key without revocable tokens (40163). Client-side: 0 or 101 targets
 * and malformed targets (40003). */
static void test_revoke_errors(void **state)
{
    (void)state;
    rta_rest *r = key_client(keys[0], 1);
    rta_revocation_target t = {"clientId", "x"};
    rta_revocation_batch b;
    rta_error err;
    assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), &t, 1, NULL, &b, &err),
                     RTA_ERR_NOT_REVOCABLE);
    assert_int_equal(b.result_count, 0);
    assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), &t, 0, NULL, &b, &err),
                     RTA_ERR_INVALID_PARAMETER);
    rta_revocation_target many[101];
    for (int i = 0; i < 101; i++)
        many[i] = t;
    assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), many, 101, NULL, &b, &err),
                     RTA_ERR_INVALID_PARAMETER);
    rta_revocation_target bad[] = {{"clientId", ""}, {"", "x"}, {"a:b", "x"}, {NULL, "x"}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), &bad[i], 1, NULL, &b, &err),
                         RTA_ERR_INVALID_PARAMETER);
    rta_rest_destroy(r);
}

/* RSA17d: a token-auth client gets 40162 locally, and nothing reaches the server. */
static void test_token_auth_refused_locally(void **state)
{
    (void)state;
    stub_server stub;
    assert_int_equal(stub_start(&stub, NULL, NULL), 0);
    rta_client_options o;
    sdk_options(&o);
    o.port = stub.port;
    o.auth.token = "app.some-token";
    rta_rest *r = sdk_rest(&o);
    rta_revocation_target t = {"clientId", "x"};
    rta_revocation_batch b;
    rta_error err;
    assert_int_equal(rta_auth_revoke_tokens(rta_rest_auth(r), &t, 1, NULL, &b, &err),
                     RTA_ERR_REQUIRES_BASIC);
    assert_int_equal(err.status_code, 401);
    assert_int_equal(stub_count(&stub), 0);
    rta_rest_destroy(r);
    stub_stop(&stub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_revoke_by_client_id),
        cmocka_unit_test(test_mixed_batch_and_options),
        cmocka_unit_test(test_target_type_constants),
        cmocka_unit_test(test_revoke_errors),
        cmocka_unit_test(test_token_auth_refused_locally),
    };
    return cmocka_run_group_tests(tests, group_setup, sdk_teardown);
}
