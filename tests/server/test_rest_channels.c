/* test_rest_channels.c: POST/GET /channels/{name}/messages black box over real HTTP (issue 5,
 * RSL1, RSL2), for what the ably-js interop tests cannot reach: the summed message size limit
 * (40009) below a raised --max-body, the --history-max-messages window, app isolation of
 * history, and msgpack bodies built with our own writer. One server for the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "harness.h"

static rta_test_server server;

static int setup(void **state)
{
    (void)state;
    static const char *const args[] = {"--max-body", "262144", "--history-max-messages", "5", NULL};
    return rta_test_server_start(&server, NULL, args);
}

static int teardown(void **state)
{
    (void)state;
    int rc = rta_test_server_stop(&server);
    rta_test_server_cleanup(&server);
    return rc; /* a clean SIGTERM shutdown (and, under ASan, no leak) exits 0 */
}

static void new_key(char key[256])
{
    char keys[1][256];
    assert_int_equal(rta_test_create_app(&server, "{\"keys\":[{}]}", keys, 1, NULL), 0);
    memcpy(key, keys[0], 256);
}

/* A JSON request with Basic auth of key. */
static rta_test_response json_req(const char *key, const char *method, const char *path,
                                  const char *body)
{
    char auth[512];
    rta_test_basic_header(key, auth, sizeof(auth));
    const char *hdrs[] = {auth, "Content-Type: application/json", "Accept: application/json", NULL};
    rta_test_response r;
    assert_int_equal(rta_test_http(&server, method, path, hdrs, body, body ? strlen(body) : 0, &r),
                     0);
    return r;
}

static void test_message_size_limit(void **state)
{
    (void)state;
    char key[256];
    new_key(key);
    /* 60000 of data plus a 6000-byte name: 66000 > maxMessageSize 65536, body < --max-body */
    size_t len = 66100;
    char *body = malloc(len);
    int n = snprintf(body, len, "[{\"name\":\"%06000d\",\"data\":\"", 0);
    memset(body + n, 'x', 60000);
    strcpy(body + n + 60000, "\"}]");
    rta_test_response r = json_req(key, "POST", "/channels/big/messages", body);
    assert_int_equal(r.status, 400);
    assert_int_equal(r.error_code, 40009);
    assert_non_null(strstr(r.body, "66000 bytes"));
    rta_test_response_free(&r);
    /* the same split over two publishes is fine */
    n = snprintf(body, len, "[{\"name\":\"%06000d\",\"data\":\"", 0);
    strcpy(body + n, "y\"}]");
    r = json_req(key, "POST", "/channels/big/messages", body);
    assert_int_equal(r.status, 201);
    rta_test_response_free(&r);
    free(body);
}

static void test_window_and_apps(void **state)
{
    (void)state;
    char a[256], b[256];
    new_key(a);
    new_key(b);
    char body[64];
    for (int i = 0; i < 8; i++) {
        snprintf(body, sizeof(body), "{\"name\":\"m%d\"}", i);
        rta_test_response r = json_req(a, "POST", "/channels/shared/messages", body);
        assert_int_equal(r.status, 201);
        rta_test_response_free(&r);
    }
    rta_test_response r = json_req(a, "GET", "/channels/shared/messages?direction=forwards", NULL);
    assert_int_equal(r.status, 200);
    json_t *arr = json_loads(r.body, 0, NULL);
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 5); /* --history-max-messages 5 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "name")), "m3");
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 4), "name")), "m7");
    json_decref(arr);
    rta_test_response_free(&r);
    /* another app's channel of the same name has its own (empty) history */
    r = json_req(b, "GET", "/channels/shared/messages", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "[]");
    rta_test_response_free(&r);
}

static void test_msgpack(void **state)
{
    (void)state;
    char key[256], auth[512];
    new_key(key);
    rta_test_basic_header(key, auth, sizeof(auth));
    rta_buf body = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_MSGPACK, &body);
    rta_w_array(&w, 1);
    rta_w_map(&w, 2);
    rta_w_key(&w, "name");
    rta_w_str(&w, "bin");
    rta_w_key(&w, "data");
    rta_w_bin(&w, "\x00\x01\xff", 3);
    rta_w_map_end(&w);
    rta_w_array_end(&w);
    assert_int_equal(rta_writer_status(&w), 0);
    const char *hdrs[] = {auth, "Content-Type: application/x-msgpack",
                          "Accept: application/x-msgpack", NULL};
    rta_test_response r;
    assert_int_equal(
        rta_test_http(&server, "POST", "/channels/mp/messages", hdrs, body.data, body.len, &r), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.content_type, "application/x-msgpack");
    rta_test_response_free(&r);
    rta_buf_free(&body);
    /* read back as JSON: binary becomes base64 with encoding "base64" (RSL4d) */
    r = json_req(key, "GET", "/channels/mp/messages", NULL);
    assert_int_equal(r.status, 200);
    json_t *arr = json_loads(r.body, 0, NULL);
    json_t *m = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(m, "data")), "AAH/");
    assert_string_equal(json_string_value(json_object_get(m, "encoding")), "base64");
    json_decref(arr);
    rta_test_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_size_limit),
        cmocka_unit_test(test_window_and_apps),
        cmocka_unit_test(test_msgpack),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
