/* test_sdk_null_args.c: every public function of librtauth called with NULL for each pointer
 * argument its header does not exempt (issue 15: rta_token_request_to_json(NULL, &out)
 * crashed). The rule (error.h, "Arguments"): a NULL where a pointer is needed is 40000 (or, for
 * functions without a status, the documented NULL/0/no-op), never a crash; err, user_data and
 * the arguments a header says "may be NULL" keep their documented meaning.
 *
 * test_every_function_listed guards the list: each RTA_EXTERN function in include/rtauth/ must
 * be named in `covered` below, so a new public function cannot skip this test.
 * No server is needed: every check happens before any I/O.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdk_test.h"

#define BAD RTA_ERR_BAD_REQUEST

static const char *const covered[] = {
    "rta_auth_client_id",
    "rta_auth_token_details",
    "rta_auth_authorize",
    "rta_auth_authorize_async",
    "rta_auth_create_token_request",
    "rta_auth_create_token_request_async",
    "rta_auth_request_token",
    "rta_auth_request_token_async",
    "rta_auth_revoke_tokens",
    "rta_auth_revoke_tokens_async",
    "rta_auth_result_set_token",
    "rta_auth_result_set_token_details",
    "rta_auth_result_set_token_request",
    "rta_auth_result_set_json",
    "rta_auth_result_set_error",
    "rta_strerror",
    "rta_error_status",
    "rta_error_set",
    "rta_error_set_status",
    "rta_error_set_cause",
    "rta_error_clear",
    "rta_error_href",
    "rta_auth_options_init",
    "rta_client_options_init",
    "rta_client_options_init_string",
    "rta_connection_state_name",
    "rta_realtime_create",
    "rta_realtime_destroy",
    "rta_realtime_auth",
    "rta_realtime_connect",
    "rta_realtime_close",
    "rta_realtime_state",
    "rta_realtime_connection_id",
    "rta_realtime_connection_key",
    "rta_realtime_on",
    "rta_realtime_off",
    "rta_realtime_wait_state",
    "rta_channel_state_name",
    "rta_realtime_channel",
    "rta_channel_name",
    "rta_channel_attach",
    "rta_channel_attach_async",
    "rta_channel_detach",
    "rta_channel_detach_async",
    "rta_channel_get_state",
    "rta_channel_on",
    "rta_channel_off",
    "rta_channel_publish",
    "rta_channel_publish_message",
    "rta_channel_publish_async",
    "rta_channel_subscribe",
    "rta_channel_unsubscribe",
    "rta_rest_create",
    "rta_rest_destroy",
    "rta_rest_auth",
    "rta_rest_time",
    "rta_rest_time_async",
    "rta_rest_response_clear",
    "rta_rest_request",
    "rta_rest_request_async",
    "rta_token_params_clear",
    "rta_token_request_clear",
    "rta_token_details_clear",
    "rta_revocation_target_clear",
    "rta_revocation_batch_clear",
    "rta_token_params_copy",
    "rta_token_request_copy",
    "rta_token_details_copy",
    "rta_token_request_to_json",
    "rta_token_details_to_json",
    "rta_revocation_batch_to_json",
    "rta_token_request_from_json",
    "rta_token_details_from_json",
    "rta_cap_parse",
    "rta_cap_free",
    "rta_cap_canonical",
    "rta_cap_intersect",
    "rta_rest_publish",
    "rta_rest_history",
    "rta_rest_stats",
    "rta_cap_allows",
};

static int is_covered(const char *name)
{
    for (size_t i = 0; i < sizeof(covered) / sizeof(covered[0]); i++)
        if (!strcmp(covered[i], name)) return 1;
    return 0;
}

/* Every RTA_EXTERN declaration of include/rtauth/ (export.h defines the macro) is listed. */
static void test_every_function_listed(void **state)
{
    (void)state;
    const char *src = getenv("RTA_SOURCE_DIR");
    assert_non_null(src);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "ls %s/include/rtauth/*.h | grep -v /export.h", src);
    FILE *ls = popen(cmd, "r");
    assert_non_null(ls);
    char path[512];
    int functions = 0, missing = 0;
    while (fgets(path, sizeof(path), ls)) {
        path[strcspn(path, "\n")] = '\0';
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        static char text[1 << 17];
        size_t n = fread(text, 1, sizeof(text) - 1, f);
        text[n] = '\0';
        fclose(f);
        for (char *p = text; (p = strstr(p, "RTA_EXTERN")); p += 10) {
            char *paren = strchr(p, '(');
            assert_non_null(paren);
            char *end = paren;
            while (end > p && end[-1] == ' ')
                end--;
            char *start = end;
            while (start > p && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
                                 (start[-1] >= '0' && start[-1] <= '9')))
                start--;
            char name[128];
            snprintf(name, sizeof(name), "%.*s", (int)(end - start), start);
            functions++;
            if (!is_covered(name)) {
                fprintf(stderr, "public function not covered by test_sdk_null_args: %s\n", name);
                missing++;
            }
        }
    }
    pclose(ls);
    assert_true(functions >= 70);
    assert_int_equal(missing, 0);
}

/* ---- handles to call with -------------------------------------------------------------- */

static rta_rest *rest;
static rta_realtime *rt;
static rta_channel *ch;

static atomic_int cb_mode; /* which setter the authCallback tries with a NULL value */
static atomic_int cb_setter_rc;

static void null_value_callback(const rta_token_params *params, rta_auth_result *result, void *ud)
{
    (void)params, (void)ud;
    int rc = -1;
    switch (atomic_load(&cb_mode)) {
    case 0:
        rc = rta_auth_result_set_token(result, NULL);
        break;
    case 1:
        rc = rta_auth_result_set_token_details(result, NULL);
        break;
    case 2:
        rc = rta_auth_result_set_token_request(result, NULL);
        break;
    case 3:
        rc = rta_auth_result_set_json(result, NULL);
        break;
    default:
        rc = rta_auth_result_set_error(result, 0, NULL);
        break;
    }
    atomic_store(&cb_setter_rc, rc);
}

static int group_setup(void **state)
{
    (void)state;
    rta_client_options o;
    rta_client_options_init(&o);
    o.auth.key = "app.key:secretsecret";
    o.auth.auth_callback = null_value_callback;
    o.tls = 0;
    o.port = 9; /* nothing is ever sent: every call below fails before any I/O */
    o.realtime.auto_connect = 0;
    o.log_level = RTA_CLIENT_LOG_NONE;
    if (rta_rest_create(&o, &rest, NULL)) return -1;
    if (rta_realtime_create(&o, &rt, NULL)) return -1;
    ch = rta_realtime_channel(rt, "nulls", NULL);
    return ch ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    rta_realtime_destroy(rt);
    rta_rest_destroy(rest);
    return 0;
}

static void token_cb(int rc, const rta_token_details *d, const rta_error *e, void *ud)
{
    (void)rc, (void)d, (void)e, (void)ud;
}
static void request_cb(int rc, const rta_token_request *r, const rta_error *e, void *ud)
{
    (void)rc, (void)r, (void)e, (void)ud;
}
static void revoke_cb(int rc, const rta_revocation_batch *b, const rta_error *e, void *ud)
{
    (void)rc, (void)b, (void)e, (void)ud;
}
static void time_cb(int rc, int64_t t, const rta_error *e, void *ud)
{
    (void)rc, (void)t, (void)e, (void)ud;
}
static void response_cb(int rc, const rta_rest_response *r, const rta_error *e, void *ud)
{
    (void)rc, (void)r, (void)e, (void)ud;
}
static void done_cb(int rc, const rta_error *e, void *ud)
{
    (void)rc, (void)e, (void)ud;
}

static void test_auth(void **state)
{
    (void)state;
    rta_auth *a = rta_rest_auth(rest);
    rta_token_details d;
    rta_token_request r;
    rta_revocation_batch b;
    rta_revocation_target t = {"clientId", "x"};
    rta_error err;
    assert_null(rta_auth_client_id(NULL));
    assert_int_equal(rta_auth_token_details(NULL, &d, &err), BAD);
    assert_int_equal(err.code, BAD);
    assert_int_equal(rta_auth_token_details(a, NULL, &err), BAD);
    assert_int_equal(rta_auth_authorize(NULL, NULL, NULL, &d, &err), BAD);
    assert_null(d.token);
    assert_int_equal(rta_auth_authorize_async(NULL, NULL, NULL, token_cb, NULL, NULL), BAD);
    assert_int_equal(rta_auth_authorize_async(a, NULL, NULL, NULL, NULL, NULL), BAD);
    assert_int_equal(rta_auth_create_token_request(NULL, NULL, NULL, &r, &err), BAD);
    assert_int_equal(rta_auth_create_token_request(a, NULL, NULL, NULL, &err), BAD);
    assert_int_equal(rta_auth_create_token_request_async(NULL, NULL, NULL, request_cb, NULL, NULL),
                     BAD);
    assert_int_equal(rta_auth_create_token_request_async(a, NULL, NULL, NULL, NULL, NULL), BAD);
    assert_int_equal(rta_auth_request_token(NULL, NULL, NULL, &d, &err), BAD);
    assert_int_equal(rta_auth_request_token(a, NULL, NULL, NULL, &err), BAD);
    assert_int_equal(rta_auth_request_token_async(NULL, NULL, NULL, token_cb, NULL, NULL), BAD);
    assert_int_equal(rta_auth_request_token_async(a, NULL, NULL, NULL, NULL, NULL), BAD);
    assert_int_equal(rta_auth_revoke_tokens(NULL, &t, 1, NULL, &b, &err), BAD);
    assert_int_equal(rta_auth_revoke_tokens(a, NULL, 1, NULL, &b, &err), BAD);
    assert_int_equal(rta_auth_revoke_tokens_async(a, NULL, 1, NULL, revoke_cb, NULL, NULL), BAD);
    assert_int_equal(rta_auth_revoke_tokens(a, &t, 1, NULL, NULL, &err), BAD);
    assert_int_equal(rta_auth_revoke_tokens_async(NULL, &t, 1, NULL, revoke_cb, NULL, NULL), BAD);
    assert_int_equal(rta_auth_revoke_tokens_async(a, &t, 1, NULL, NULL, NULL, NULL), BAD);
    /* a NULL err is allowed everywhere */
    assert_int_equal(rta_auth_token_details(a, NULL, NULL), BAD);
}

/* A NULL result is 40000; a NULL value completes the result with a bad value, so the token
 * request fails with 40170 (RSA4f), or with the callback's error (RSA4e). */
static void test_auth_result(void **state)
{
    (void)state;
    assert_int_equal(rta_auth_result_set_token(NULL, "t"), BAD);
    rta_token_details d = {0};
    rta_token_request r = {0};
    assert_int_equal(rta_auth_result_set_token_details(NULL, &d), BAD);
    assert_int_equal(rta_auth_result_set_token_request(NULL, &r), BAD);
    assert_int_equal(rta_auth_result_set_json(NULL, "{}"), BAD);
    assert_int_equal(rta_auth_result_set_error(NULL, 40300, "no"), BAD);
    rta_auth_options ao;
    rta_auth_options_init(&ao);
    ao.auth_callback = null_value_callback;
    for (int mode = 0; mode <= 4; mode++) {
        atomic_store(&cb_mode, mode);
        atomic_store(&cb_setter_rc, -1);
        rta_token_details out;
        rta_error err;
        assert_int_equal(rta_auth_request_token(rta_rest_auth(rest), NULL, &ao, &out, &err),
                         RTA_ERR_AUTH_CALLBACK);
        /* the callback runs on its own thread: its setter may return after we are woken */
        for (int i = 0; i < 1000 && atomic_load(&cb_setter_rc) == -1; i++)
            usleep(10000);
        assert_int_equal(atomic_load(&cb_setter_rc), 0);
        assert_null(out.token);
    }
}

static void test_error(void **state)
{
    (void)state;
    assert_int_equal(rta_error_set(NULL, 40000, NULL), 40000);
    assert_int_equal(rta_error_set_status(NULL, 40000, 400, NULL), 40000);
    rta_error e;
    assert_int_equal(rta_error_set(&e, 40142, NULL), 40142); /* fmt NULL: default message */
    assert_string_equal(e.message, rta_strerror(40142));
    rta_error_set_cause(NULL, &e);
    rta_error_set_cause(&e, NULL);
    rta_error_clear(NULL);
    assert_true(rta_error_href(40142, NULL, 64) > 0); /* NULL buf: only the length */
    assert_non_null(rta_strerror(1));
    assert_true(rta_error_status(40142) == 401);
}

static void test_options(void **state)
{
    (void)state;
    rta_auth_options_init(NULL);
    rta_client_options_init(NULL);
    rta_client_options_init_string(NULL, "a.b:c");
    rta_client_options o;
    rta_client_options_init_string(&o, NULL);
    assert_null(o.auth.key);
    assert_int_equal(o.tls, 1);
}

static void test_realtime(void **state)
{
    (void)state;
    rta_client_options o;
    rta_client_options_init(&o);
    rta_realtime *out = (rta_realtime *)&o; /* must be overwritten */
    rta_error err;
    assert_int_equal(rta_realtime_create(NULL, &out, &err), BAD);
    assert_null(out);
    assert_int_equal(rta_realtime_create(&o, NULL, &err), BAD);
    rta_realtime_destroy(NULL);
    assert_null(rta_realtime_auth(NULL));
    assert_int_equal(rta_realtime_connect(NULL, &err), BAD);
    assert_int_equal(rta_realtime_close(NULL, &err), BAD);
    assert_int_equal(rta_realtime_state(NULL, &err), RTA_CONN_FAILED);
    char buf[RTA_CONNECTION_ID_SIZE];
    assert_int_equal(rta_realtime_connection_id(NULL, buf, sizeof(buf)), BAD);
    assert_int_equal(rta_realtime_connection_id(rt, NULL, sizeof(buf)), BAD);
    assert_int_equal(rta_realtime_connection_key(NULL, buf, sizeof(buf)), BAD);
    assert_int_equal(rta_realtime_connection_key(rt, NULL, sizeof(buf)), BAD);
    assert_int_equal(rta_realtime_on(NULL, NULL, NULL), 0);
    assert_int_equal(rta_realtime_on(rt, NULL, NULL), 0);
    rta_realtime_off(NULL, 1);
    assert_int_equal(rta_realtime_wait_state(NULL, RTA_CONN_CONNECTED, 10, &err), BAD);
    assert_non_null(rta_connection_state_name(RTA_CONN_FAILED));
    assert_non_null(rta_channel_state_name(RTA_CHANNEL_FAILED));
    assert_null(rta_realtime_channel(NULL, "x", &err));
    assert_int_equal(err.code, BAD);
    assert_null(rta_realtime_channel(rt, NULL, &err));
    assert_int_equal(err.code, BAD);
}

static void test_channel(void **state)
{
    (void)state;
    rta_error err;
    rta_publish_message m = {.data = "x"};
    assert_null(rta_channel_name(NULL));
    assert_int_equal(rta_channel_attach(NULL, &err), BAD);
    assert_int_equal(rta_channel_attach_async(NULL, done_cb, NULL, NULL), BAD);
    assert_int_equal(rta_channel_attach_async(ch, NULL, NULL, NULL), BAD);
    assert_int_equal(rta_channel_detach(NULL, &err), BAD);
    assert_int_equal(rta_channel_detach_async(NULL, done_cb, NULL, NULL), BAD);
    assert_int_equal(rta_channel_detach_async(ch, NULL, NULL, NULL), BAD);
    assert_int_equal(rta_channel_get_state(NULL, &err), RTA_CHANNEL_FAILED);
    assert_int_equal(rta_channel_on(NULL, NULL, NULL), 0);
    assert_int_equal(rta_channel_on(ch, NULL, NULL), 0);
    rta_channel_off(NULL, 1);
    assert_int_equal(rta_channel_publish(NULL, "n", "d", &err), BAD);
    assert_int_equal(rta_channel_publish_message(NULL, &m, &err), BAD);
    assert_int_equal(rta_channel_publish_message(ch, NULL, &err), BAD);
    assert_int_equal(rta_channel_publish_async(NULL, &m, done_cb, NULL, NULL), BAD);
    assert_int_equal(rta_channel_publish_async(ch, NULL, done_cb, NULL, NULL), BAD);
    assert_int_equal(rta_channel_subscribe(NULL, NULL, NULL), 0);
    assert_int_equal(rta_channel_subscribe(ch, NULL, NULL), 0);
    rta_channel_unsubscribe(NULL, 1);
}

static void test_rest(void **state)
{
    (void)state;
    rta_client_options o;
    rta_client_options_init(&o);
    rta_rest *out = (rta_rest *)&o;
    rta_error err;
    assert_int_equal(rta_rest_create(NULL, &out, &err), BAD);
    assert_null(out);
    assert_int_equal(rta_rest_create(&o, NULL, &err), BAD);
    rta_rest_destroy(NULL);
    assert_null(rta_rest_auth(NULL));
    int64_t t;
    assert_int_equal(rta_rest_time(NULL, &t, &err), BAD);
    assert_int_equal(rta_rest_time(rest, NULL, &err), BAD);
    assert_int_equal(rta_rest_time_async(NULL, time_cb, NULL, NULL), BAD);
    assert_int_equal(rta_rest_time_async(rest, NULL, NULL, NULL), BAD);
    rta_rest_response_clear(NULL);
    rta_rest_response resp;
    assert_int_equal(rta_rest_request(NULL, "GET", "/x", NULL, &resp, &err), BAD);
    assert_int_equal(rta_rest_request(rest, NULL, "/x", NULL, &resp, &err), BAD);
    assert_int_equal(rta_rest_request(rest, "GET", NULL, NULL, &resp, &err), BAD);
    assert_null(resp.body);
    assert_int_equal(rta_rest_request_async(NULL, "GET", "/x", NULL, response_cb, NULL, NULL), BAD);
    assert_int_equal(rta_rest_request_async(rest, NULL, "/x", NULL, response_cb, NULL, NULL), BAD);
    assert_int_equal(rta_rest_request_async(rest, "GET", NULL, NULL, response_cb, NULL, NULL), BAD);
    assert_int_equal(rta_rest_request_async(rest, "GET", "/x", NULL, NULL, NULL, NULL), BAD);
    assert_int_equal(rta_rest_publish(NULL, "c", "n", "d", &err), BAD);
    assert_int_equal(rta_rest_publish(rest, NULL, "n", "d", &err), BAD);
    assert_int_equal(rta_rest_history(NULL, "c", NULL, &resp, &err), BAD);
    assert_int_equal(rta_rest_history(rest, NULL, NULL, &resp, &err), BAD);
    assert_int_equal(rta_rest_history(rest, "c", NULL, NULL, &err), BAD);
    assert_int_equal(rta_rest_stats(NULL, NULL, &resp, &err), BAD);
    assert_int_equal(rta_rest_stats(rest, NULL, NULL, &err), BAD);
}

static void test_token_types(void **state)
{
    (void)state;
    rta_token_params_clear(NULL);
    rta_token_request_clear(NULL);
    rta_token_details_clear(NULL);
    rta_revocation_target_clear(NULL);
    rta_revocation_batch_clear(NULL);
    rta_token_params p = {.ttl = 1};
    rta_token_request r = {.ttl = 1};
    rta_token_details d = {.issued = 1};
    assert_int_equal(rta_token_params_copy(NULL, &p), BAD);
    assert_int_equal(p.ttl, 0); /* dst emptied */
    assert_int_equal(rta_token_params_copy(&p, NULL), BAD);
    assert_int_equal(rta_token_request_copy(NULL, &r), BAD);
    assert_int_equal(r.ttl, 0);
    assert_int_equal(rta_token_request_copy(&r, NULL), BAD);
    assert_int_equal(rta_token_details_copy(NULL, &d), BAD);
    assert_int_equal(d.issued, 0);
    assert_int_equal(rta_token_details_copy(&d, NULL), BAD);

    char *json = (char *)"untouched";
    rta_revocation_batch b = {0};
    assert_int_equal(rta_token_request_to_json(NULL, &json), BAD); /* the crash of issue 15 */
    assert_null(json);
    assert_int_equal(rta_token_request_to_json(&r, NULL), BAD);
    assert_int_equal(rta_token_details_to_json(NULL, &json), BAD);
    assert_int_equal(rta_token_details_to_json(&d, NULL), BAD);
    assert_int_equal(rta_revocation_batch_to_json(NULL, &json), BAD);
    assert_int_equal(rta_revocation_batch_to_json(&b, NULL), BAD);
    rta_error err;
    assert_int_equal(rta_token_request_from_json(NULL, 2, &r, &err), BAD);
    assert_int_equal(rta_token_request_from_json("{}", 2, NULL, &err), BAD);
    assert_int_equal(rta_token_details_from_json(NULL, 2, &d, &err), BAD);
    assert_int_equal(rta_token_details_from_json("{}", 2, NULL, &err), BAD);
}

/* Issue 15: an _async call refused before queuing explains itself in its err argument, as the
 * blocking forms do, instead of a bare code. */
static void test_async_refusals_explained(void **state)
{
    (void)state;
    rta_error err = {0};
    assert_int_equal(
        rta_auth_request_token_async(rta_rest_auth(rest), NULL, NULL, NULL, NULL, &err), BAD);
    assert_int_equal(err.code, BAD);
    assert_non_null(strstr(err.message, "callback"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(rta_rest_request_async(rest, "GET", NULL, NULL, response_cb, NULL, &err), BAD);
    assert_non_null(strstr(err.message, "path"));
    memset(&err, 0, sizeof(err));
    assert_int_equal(rta_channel_attach_async(ch, NULL, NULL, &err), BAD);
    assert_non_null(strstr(err.message, "callback"));
    rta_publish_message bad_utf8 = {.data = "\xff\xfe", .data_len = 2};
    memset(&err, 0, sizeof(err));
    assert_int_equal(rta_channel_publish_async(ch, &bad_utf8, done_cb, NULL, &err),
                     RTA_ERR_INVALID_PARAMETER);
    assert_int_equal(err.code, RTA_ERR_INVALID_PARAMETER);
    assert_int_equal(err.status_code, 400);
    assert_non_null(strstr(err.message, "UTF-8"));
    rta_publish_message bad_json = {.data = "[1", .json = 1};
    assert_int_equal(rta_channel_publish_async(ch, &bad_json, NULL, NULL, &err),
                     RTA_ERR_INVALID_PARAMETER);
    assert_non_null(strstr(err.message, "JSON"));
}

static void test_capability(void **state)
{
    (void)state;
    rta_cap *c = (rta_cap *)&c, *d = NULL;
    rta_error err;
    assert_int_equal(rta_cap_parse(NULL, &c, &err), BAD);
    assert_null(c);
    assert_int_equal(rta_cap_parse("{}", NULL, &err), BAD);
    assert_int_equal(rta_cap_parse("{\"*\":[\"*\"]}", &d, &err), 0);
    rta_cap_free(NULL);
    char *text = (char *)"x";
    assert_int_equal(rta_cap_canonical(NULL, &text, &err), BAD);
    assert_null(text);
    assert_int_equal(rta_cap_canonical(d, NULL, &err), BAD);
    assert_int_equal(rta_cap_intersect(NULL, d, &c, &err), BAD);
    assert_int_equal(rta_cap_intersect(d, NULL, &c, &err), BAD);
    assert_int_equal(rta_cap_intersect(d, d, NULL, &err), BAD);
    assert_int_equal(rta_cap_allows(NULL, "publish", "x"), 0);
    assert_int_equal(rta_cap_allows(d, NULL, "x"), 0);
    assert_int_equal(rta_cap_allows(d, "publish", NULL), 0);
    rta_cap_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_function_listed),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_auth_result),
        cmocka_unit_test(test_error),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_realtime),
        cmocka_unit_test(test_channel),
        cmocka_unit_test(test_rest),
        cmocka_unit_test(test_token_types),
        cmocka_unit_test(test_async_refusals_explained),
        cmocka_unit_test(test_capability),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
