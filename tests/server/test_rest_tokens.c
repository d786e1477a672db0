/* test_rest_tokens.c: rtauthd's token REST API, black box over real HTTP (issue 3; checklist
 * B1, B3, B9, B10; wire protocol 4.2, 4.4, 4.6). One server for the file, fresh apps per test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/crypto.h"
#include "core/key.h"
#include "core/mac.h"
#include "core/token_codec.h"
#include "core/token_signer.h"
#include "harness.h"

static rta_test_server server;

static const char *JSON_HDRS[] = {"Content-Type: application/json", "Accept: application/json",
                                  NULL};

static int setup(void **state)
{
    (void)state;
    return rta_test_server_start(&server, NULL, NULL);
}

static int teardown(void **state)
{
    (void)state;
    int rc = rta_test_server_stop(&server);
    rta_test_server_cleanup(&server);
    return rc; /* a clean SIGTERM shutdown exits 0 */
}

/* A fresh app: keys[0] {"*":["*"]}, keys[1] revocable, keys[2] limited capability. */
static void new_app(char keys[][256])
{
    assert_int_equal(
        rta_test_create_app(&server,
                            "{\"keys\":[{},{\"revocableTokens\":true},{\"capability\":"
                            "\"{\\\"chan\\\":[\\\"publish\\\",\\\"subscribe\\\"]}\"}]}",
                            keys, 3, NULL),
        0);
}

/* Signs a TokenRequest for key with params, as createTokenRequest does, as JSON text. */
static char *signed_request(const char *key_str, const rta_token_params *params, long long ts)
{
    rta_key key;
    assert_int_equal(rta_key_parse(key_str, strlen(key_str), &key, NULL), 0);
    rta_token_signer *signer = rta_token_signer_new(&key);
    rta_token_request req;
    rta_error err;
    assert_int_equal(rta_token_signer_sign(signer, params, ts, &req, &err), 0);
    rta_buf b = RTA_BUF_INIT;
    assert_int_equal(rta_token_request_encode(&req, RTA_FORMAT_JSON, &b), 0);
    rta_token_request_clear(&req);
    rta_token_signer_free(signer);
    return rta_buf_detach(&b, NULL);
}

/* Signs raw fields exactly as given (no client-side validation or canonicalisation), as a
 * non-conforming client could. */
static char *signed_raw(const char *key_str, const char *capability, long long ts)
{
    rta_key key;
    assert_int_equal(rta_key_parse(key_str, strlen(key_str), &key, NULL), 0);
    char nonce[RTA_NONCE_LEN + 1], mac[RTA_MAC_B64_LEN + 1];
    rta_nonce_generate(nonce);
    rta_token_request req = {.key_name = key.key_name, .capability = (char *)capability,
                             .timestamp = ts, .nonce = nonce};
    rta_hmac *h = rta_hmac_new(key.secret, key.secret_len);
    assert_int_equal(rta_token_request_compute_mac(&req, h, mac), 0);
    rta_hmac_free(h);
    req.mac = mac;
    rta_buf b = RTA_BUF_INIT;
    assert_int_equal(rta_token_request_encode(&req, RTA_FORMAT_JSON, &b), 0);
    return rta_buf_detach(&b, NULL);
}

static void key_name_of(const char *key_str, char *out)
{
    const char *colon = strchr(key_str, ':');
    memcpy(out, key_str, (size_t)(colon - key_str));
    out[colon - key_str] = '\0';
}

static rta_test_response post_json(const char *path, const char *body, const char *auth)
{
    const char *hdrs[] = {JSON_HDRS[0], JSON_HDRS[1], auth, NULL};
    rta_test_response r;
    assert_int_equal(rta_test_http(&server, "POST", path, hdrs, body, strlen(body), &r), 0);
    return r;
}

static rta_test_response request_token(const char *key_str, const rta_token_params *p,
                                       long long ts)
{
    char name[128], path[256];
    key_name_of(key_str, name);
    snprintf(path, sizeof(path), "/keys/%s/requestToken", name);
    char *body = signed_request(key_str, p, ts);
    rta_test_response r = post_json(path, body, NULL);
    free(body);
    return r;
}

/* Asserts an Ably error reply: status, code, exact content type, the x-ably headers, body. */
static void assert_ably_error(rta_test_response *r, long status, int code)
{
    if (r->status != status || r->error_code != code)
        fprintf(stderr, "got %ld %d %s\n", r->status, r->error_code, r->body);
    assert_int_equal(r->status, status);
    assert_int_equal(r->error_code, code);
    assert_string_equal(r->content_type, "application/json");
    assert_true(r->error_message[0] != '\0');
    json_t *root = json_loads(r->body, 0, NULL);
    assert_non_null(root);
    json_t *e = json_object_get(root, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), code);
    assert_int_equal(json_integer_value(json_object_get(e, "statusCode")), status);
    assert_true(json_is_string(json_object_get(e, "message")));
    json_decref(root);
}

static char *token_of(rta_test_response *r)
{
    json_t *root = json_loads(r->body, 0, NULL);
    assert_non_null(root);
    char *t = strdup(json_string_value(json_object_get(root, "token")));
    json_decref(root);
    return t;
}

static void test_time(void **state)
{
    (void)state;
    rta_test_response r;
    long long before = rta_test_now_ms();
    assert_int_equal(rta_test_http(&server, "GET", "/time", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    json_t *root = json_loads(r.body, 0, NULL);
    assert_true(json_is_array(root) && json_array_size(root) == 1);
    long long t = json_integer_value(json_array_get(root, 0));
    assert_true(t >= before - 1000 && t <= rta_test_now_ms() + 1000);
    json_decref(root);
    rta_test_response_free(&r);
    const char *mp[] = {"Accept: application/x-msgpack", NULL};
    assert_int_equal(rta_test_http(&server, "GET", "/time", mp, NULL, 0, &r), 0);
    assert_string_equal(r.content_type, "application/x-msgpack");
    assert_int_equal((unsigned char)r.body[0], 0x91); /* fixarray of one */
    rta_test_response_free(&r);
}

/* S-26, TD2-TD6: the reply follows wire protocol 4.2 exactly. */
static void test_signed_request_json(void **state)
{
    (void)state;
    char keys[3][256];
    new_app(keys);
    long long start = rta_test_now_ms();
    rta_test_response r = request_token(keys[0], NULL, start);
    assert_int_equal(r.status, 200);
    json_t *root = json_loads(r.body, 0, NULL);
    assert_non_null(root);
    long long issued = json_integer_value(json_object_get(root, "issued"));
    long long expires = json_integer_value(json_object_get(root, "expires"));
    assert_int_equal(expires - issued, 3600000); /* TK2a default ttl */
    assert_true(issued >= start - 1000);
    assert_string_equal(json_string_value(json_object_get(root, "capability")), "{\"*\":[\"*\"]}");
    assert_null(json_object_get(root, "clientId")); /* anonymous: absent, not null */
    const char *token = json_string_value(json_object_get(root, "token"));
    assert_non_null(strchr(token, '.'));
    assert_null(strchr(token, ':'));
    char name[128];
    key_name_of(keys[0], name);
    assert_string_equal(json_string_value(json_object_get(root, "keyName")), name);
    json_decref(root);
    rta_test_response_free(&r);

    rta_token_params p = {.ttl = 1000, .client_id = "*",
                          .capability = "{\"chan\":[\"subscribe\"],\"other\":[\"publish\"]}"};
    r = request_token(keys[2], &p, rta_test_now_ms());
    assert_int_equal(r.status, 200);
    root = json_loads(r.body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(root, "expires")) -
                         json_integer_value(json_object_get(root, "issued")),
                     1000);
    assert_string_equal(json_string_value(json_object_get(root, "clientId")), "*");
    /* S-44: intersection with the key keeps only what the key allows */
    assert_string_equal(json_string_value(json_object_get(root, "capability")),
                        "{\"chan\":[\"subscribe\"]}");
    json_decref(root);
    rta_test_response_free(&r);
}

/* S-17: msgpack in, msgpack out. */
static void test_signed_request_msgpack(void **state)
{
    (void)state;
    char keys[3][256], name[128], path[256];
    new_app(keys);
    key_name_of(keys[0], name);
    snprintf(path, sizeof(path), "/keys/%s/requestToken", name);
    rta_key key;
    rta_key_parse(keys[0], strlen(keys[0]), &key, NULL);
    rta_token_signer *signer = rta_token_signer_new(&key);
    rta_token_params p = {.client_id = "alice", .ttl = 60000};
    rta_token_request req;
    assert_int_equal(rta_token_signer_sign(signer, &p, rta_test_now_ms(), &req, NULL), 0);
    rta_buf b = RTA_BUF_INIT;
    rta_token_request_encode(&req, RTA_FORMAT_MSGPACK, &b);
    const char *hdrs[] = {"Content-Type: application/x-msgpack",
                          "Accept: application/x-msgpack", NULL};
    rta_test_response r;
    assert_int_equal(rta_test_http(&server, "POST", path, hdrs, b.data, b.len, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/x-msgpack");
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_token_details_decode(r.body, r.body_len, RTA_FORMAT_MSGPACK, &d, &err), 0);
    assert_string_equal(d.client_id, "alice");
    assert_int_equal(d.expires - d.issued, 60000);
    assert_string_equal(d.key_name, name);
    rta_token_details_clear(&d);
    rta_test_response_free(&r);
    rta_buf_free(&b);
    rta_token_request_clear(&req);
    rta_token_signer_free(signer);
}

/* S-10: unsigned TokenParams with Basic auth of the same key; an extra Authorization header
 * on a signed request is tolerated (4.2). */
static void test_basic_auth_request(void **state)
{
    (void)state;
    char keys[3][256], name[128], path[256], basic[512];
    new_app(keys);
    key_name_of(keys[0], name);
    snprintf(path, sizeof(path), "/keys/%s/requestToken", name);
    rta_test_basic_header(keys[0], basic, sizeof(basic));
    rta_test_response r = post_json(path, "{\"clientId\":\"bob\",\"ttl\":5000}", basic);
    assert_int_equal(r.status, 200);
    json_t *root = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(root, "clientId")), "bob");
    json_decref(root);
    rta_test_response_free(&r);
    /* no credentials at all */
    r = post_json(path, "{\"clientId\":\"bob\"}", NULL);
    assert_ably_error(&r, 401, 40101);
    rta_test_response_free(&r);
    /* another key's Basic credentials */
    rta_test_basic_header(keys[1], basic, sizeof(basic));
    r = post_json(path, "{}", basic);
    assert_ably_error(&r, 401, 40101);
    rta_test_response_free(&r);
    /* signed request plus an unrelated Authorization header: fine */
    char *body = signed_request(keys[0], NULL, rta_test_now_ms());
    r = post_json(path, body, basic);
    assert_int_equal(r.status, 200);
    free(body);
    rta_test_response_free(&r);
}

static void test_request_errors(void **state)
{
    (void)state;
    char keys[3][256], name[128], path[256];
    new_app(keys);
    key_name_of(keys[0], name);
    snprintf(path, sizeof(path), "/keys/%s/requestToken", name);
    rta_test_response r;

    /* S-19: a MAC that does not match */
    char *body = signed_request(keys[0], NULL, rta_test_now_ms());
    char *mac = strstr(body, "\"mac\":\"") + 7;
    mac[0] = mac[0] == 'A' ? 'B' : 'A';
    r = post_json(path, body, NULL);
    assert_ably_error(&r, 401, 40101);
    rta_test_response_free(&r);
    free(body);

    /* S-20: timestamp 30 minutes old */
    r = request_token(keys[0], NULL, rta_test_now_ms() - 30 * 60 * 1000);
    assert_ably_error(&r, 401, 40104);
    rta_test_response_free(&r);

    /* S-21: the same signed request twice */
    body = signed_request(keys[0], NULL, rta_test_now_ms());
    r = post_json(path, body, NULL);
    assert_int_equal(r.status, 200);
    rta_test_response_free(&r);
    r = post_json(path, body, NULL);
    assert_ably_error(&r, 401, 40105);
    rta_test_response_free(&r);
    free(body);

    /* S-22: ttl over 24 h, and over 1 h for a revocable key; ttl 1 is fine */
    rta_token_params p = {.ttl = 365LL * 24 * 3600 * 1000};
    r = request_token(keys[0], &p, rta_test_now_ms());
    assert_ably_error(&r, 400, 40003);
    rta_test_response_free(&r);
    p.ttl = 2 * 3600 * 1000;
    r = request_token(keys[1], &p, rta_test_now_ms());
    assert_ably_error(&r, 400, 40003);
    rta_test_response_free(&r);
    p.ttl = 1;
    r = request_token(keys[0], &p, rta_test_now_ms());
    assert_int_equal(r.status, 200);
    rta_test_response_free(&r);

    /* ttl as a non-numeric string (ably-js signs it as given) */
    r = post_json(path, "{\"keyName\":\"x\",\"ttl\":\"notanumber\",\"timestamp\":1,\"nonce\":"
                        "\"0123456789abcdef\",\"mac\":\"x\"}", NULL);
    assert_ably_error(&r, 400, 40003);
    rta_test_response_free(&r);

    /* S-24: empty intersection 401/40160; invalid capability 400 */
    rta_token_params cap = {.capability = "{\"elsewhere\":[\"publish\"]}"};
    r = request_token(keys[2], &cap, rta_test_now_ms());
    assert_ably_error(&r, 401, 40160);
    rta_test_response_free(&r);
    static const char *invalid[] = {"{\"chan\":[\"publish_\"]}", "{\"chan\":[\"*\",\"publish\"]}",
                                    "{\"chan\":[]}", "[1]", "{}"};
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        body = signed_raw(keys[0], invalid[i], rta_test_now_ms());
        r = post_json(path, body, NULL);
        assert_ably_error(&r, 400, 40000);
        rta_test_response_free(&r);
        free(body);
    }

    /* unknown key */
    r = request_token("nosuch.key:secret", NULL, rta_test_now_ms());
    assert_ably_error(&r, 404, 40400);
    rta_test_response_free(&r);
}

/* Bad input: a clear 4xx ErrorInfo, never a crash (issue 3 "Bad input"). */
static void test_bad_input(void **state)
{
    (void)state;
    char keys[3][256], name[128], path[256];
    new_app(keys);
    key_name_of(keys[0], name);
    snprintf(path, sizeof(path), "/keys/%s/requestToken", name);
    rta_test_response r;
    r = post_json(path, "{\"keyName\":", NULL);
    assert_ably_error(&r, 400, 40001);
    rta_test_response_free(&r);
    r = post_json(path, "{\"clientId\":\"\xc3\x28\"}", NULL);
    assert_ably_error(&r, 400, 40001);
    rta_test_response_free(&r);
    r = post_json(path, "{\"capability\":5,\"mac\":\"x\"}", NULL);
    assert_int_equal(r.status, 400);
    rta_test_response_free(&r);
    char deep[400];
    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    assert_int_equal(rta_test_http(&server, "POST", path, JSON_HDRS, deep, 400, &r), 0);
    assert_ably_error(&r, 400, 40001);
    rta_test_response_free(&r);
    /* oversized body: 413 */
    size_t big = 200 * 1024;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    assert_int_equal(rta_test_http(&server, "POST", path, JSON_HDRS, huge, big, &r), 0);
    assert_ably_error(&r, 413, 41300);
    rta_test_response_free(&r);
    free(huge);
    /* the server still serves after all that */
    r = request_token(keys[0], NULL, rta_test_now_ms());
    assert_int_equal(r.status, 200);
    rta_test_response_free(&r);
    /* unsupported media type, unknown route, wrong method */
    const char *xml[] = {"Content-Type: text/xml", NULL};
    assert_int_equal(rta_test_http(&server, "POST", path, xml, "<a/>", 4, &r), 0);
    assert_int_equal(r.status, 415);
    rta_test_response_free(&r);
    assert_int_equal(rta_test_http(&server, "GET", "/nope", NULL, NULL, 0, &r), 0);
    assert_ably_error(&r, 404, 40400);
    rta_test_response_free(&r);
    assert_int_equal(rta_test_http(&server, "GET", path, NULL, NULL, 0, &r), 0);
    assert_ably_error(&r, 405, 40500);
    rta_test_response_free(&r);
}

/* Bearer tokens (S-3): revokeTokens answers 40162 to any *valid* token, which makes it a
 * probe of token validation; invalid tokens get their own 4014x. */
static rta_test_response bearer_probe(const char *key_str, const char *token, int raw)
{
    char name[128], path[256], auth[4096];
    key_name_of(key_str, name);
    snprintf(path, sizeof(path), "/keys/%s/revokeTokens", name);
    if (raw)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    else
        rta_test_bearer_header(token, auth, sizeof(auth));
    return post_json(path, "{\"targets\":[\"clientId:x\"]}", auth);
}

static void test_bearer_tokens(void **state)
{
    (void)state;
    char keys[3][256];
    new_app(keys);
    rta_test_response r = request_token(keys[0], NULL, rta_test_now_ms());
    char *token = token_of(&r);
    rta_test_response_free(&r);
    r = bearer_probe(keys[0], token, 0); /* base64, as ably-js */
    assert_ably_error(&r, 401, 40162);
    rta_test_response_free(&r);
    r = bearer_probe(keys[0], token, 1); /* raw */
    assert_ably_error(&r, 401, 40162);
    rta_test_response_free(&r);
    /* forged: change one character of the body */
    size_t n = strlen(token);
    token[n - 5] = token[n - 5] == 'A' ? 'B' : 'A';
    r = bearer_probe(keys[0], token, 1);
    assert_int_equal(r.status, 401);
    assert_true(r.error_code == 40143 || r.error_code == 40145);
    rta_test_response_free(&r);
    free(token);
    /* expired (ttl 1 ms) */
    rta_token_params p = {.ttl = 1};
    r = request_token(keys[0], &p, rta_test_now_ms());
    token = token_of(&r);
    rta_test_response_free(&r);
    usleep(20 * 1000);
    r = bearer_probe(keys[0], token, 0);
    assert_ably_error(&r, 401, 40142);
    rta_test_response_free(&r);
    free(token);
    r = bearer_probe(keys[0], "not-a-token", 1);
    assert_int_equal(r.status, 401);
    assert_true(r.error_code >= 40140 && r.error_code < 40150);
    rta_test_response_free(&r);
}

/* S-66..S-70 and the mission's revocation by token string. */
static void test_revocation(void **state)
{
    (void)state;
    char keys[3][256], name[128], path[256], basic[512];
    new_app(keys);
    key_name_of(keys[1], name);
    snprintf(path, sizeof(path), "/keys/%s/revokeTokens", name);
    rta_test_basic_header(keys[1], basic, sizeof(basic));
    rta_token_params pa = {.client_id = "alice"}, pb = {.client_id = "bob"};
    rta_test_response r = request_token(keys[1], &pa, rta_test_now_ms());
    char *alice = token_of(&r);
    rta_test_response_free(&r);
    r = request_token(keys[1], &pb, rta_test_now_ms());
    char *bob = token_of(&r);
    rta_test_response_free(&r);
    r = request_token(keys[1], &pb, rta_test_now_ms());
    char *bob2 = token_of(&r);
    rta_test_response_free(&r);
    usleep(5 * 1000); /* issuedBefore defaults to now: tokens strictly before it */

    r = post_json(path, "{\"targets\":[\"clientId:alice\",\"invalidType:abc\"]}", basic);
    assert_int_equal(r.status, 201);
    json_t *root = json_loads(r.body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(root, "successCount")), 1);
    assert_int_equal(json_integer_value(json_object_get(root, "failureCount")), 1);
    json_t *res = json_object_get(root, "results");
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 0), "target")),
                        "clientId:alice");
    assert_true(json_integer_value(json_object_get(json_array_get(res, 0), "appliesAt")) > 0);
    json_t *e = json_object_get(json_array_get(res, 1), "error");
    assert_int_equal(json_integer_value(json_object_get(e, "statusCode")), 400);
    json_decref(root);
    rta_test_response_free(&r);

    r = bearer_probe(keys[1], alice, 0);
    assert_ably_error(&r, 401, 40141); /* revoked */
    rta_test_response_free(&r);
    r = bearer_probe(keys[1], bob, 0);
    assert_ably_error(&r, 401, 40162); /* unrelated token still valid */
    rta_test_response_free(&r);

    /* revoke one token by its string: the other of the same clientId stays valid */
    char body[4096];
    snprintf(body, sizeof(body), "{\"targets\":[\"token:%s\"]}", bob);
    r = post_json(path, body, basic);
    assert_int_equal(r.status, 201);
    rta_test_response_free(&r);
    r = bearer_probe(keys[1], bob, 0);
    assert_ably_error(&r, 401, 40141);
    rta_test_response_free(&r);
    r = bearer_probe(keys[1], bob2, 0);
    assert_ably_error(&r, 401, 40162);
    rta_test_response_free(&r);

    /* a new token for alice after the revocation works (revocation is not a ban) */
    r = request_token(keys[1], &pa, rta_test_now_ms());
    char *alice2 = token_of(&r);
    rta_test_response_free(&r);
    r = bearer_probe(keys[1], alice2, 0);
    assert_ably_error(&r, 401, 40162);
    rta_test_response_free(&r);

    /* S-66: a key without revocable tokens; issuedBefore in the future */
    char basic0[512], path0[256], name0[128];
    key_name_of(keys[0], name0);
    snprintf(path0, sizeof(path0), "/keys/%s/revokeTokens", name0);
    rta_test_basic_header(keys[0], basic0, sizeof(basic0));
    r = post_json(path0, "{\"targets\":[\"clientId:x\"]}", basic0);
    assert_ably_error(&r, 401, 40163);
    rta_test_response_free(&r);
    snprintf(body, sizeof(body), "{\"targets\":[\"clientId:x\"],\"issuedBefore\":%lld}",
             rta_test_now_ms() + 3600000);
    r = post_json(path, body, basic);
    assert_ably_error(&r, 400, 40003);
    rta_test_response_free(&r);
    /* another key's credentials */
    r = post_json(path, "{\"targets\":[\"clientId:x\"]}", basic0);
    assert_ably_error(&r, 401, 40133);
    rta_test_response_free(&r);
    free(alice);
    free(alice2);
    free(bob);
    free(bob2);
}

/* Sandbox provisioning and DELETE /apps/{id}. */
static void test_sandbox_apps(void **state)
{
    (void)state;
    char keys[3][256], other[3][256], app_id[64], path[256], basic[512];
    assert_int_equal(rta_test_create_app(&server, "{\"keys\":[{}]}", keys, 1, app_id), 0);
    new_app(other);
    snprintf(path, sizeof(path), "/apps/%s", app_id);
    rta_test_basic_header(other[0], basic, sizeof(basic));
    const char *hdr_other[] = {basic, NULL};
    rta_test_response r;
    assert_int_equal(rta_test_http(&server, "DELETE", path, hdr_other, NULL, 0, &r), 0);
    assert_ably_error(&r, 403, 40300);
    rta_test_response_free(&r);
    rta_test_basic_header(keys[0], basic, sizeof(basic));
    const char *hdr[] = {basic, NULL};
    assert_int_equal(rta_test_http(&server, "DELETE", path, hdr, NULL, 0, &r), 0);
    assert_int_equal(r.status, 204);
    rta_test_response_free(&r);
    r = request_token(keys[0], NULL, rta_test_now_ms());
    assert_ably_error(&r, 404, 40400);
    rta_test_response_free(&r);
}

/* Regression: clients that connect and leave without a request, or send garbage, or hang up
 * mid-body, must not take the server down (a NULL session once crashed it under wrk). */
static void test_abrupt_clients(void **state)
{
    (void)state;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    static const char *sends[] = {"", "GARBAGE\r\n\r\n", "POST /time HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",
                                  "GET /time HTTP/1.1\r\nHost: x\r\n"};
    for (int round = 0; round < 50; round++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
            const char *msg = sends[round % 4];
            if (*msg && write(fd, msg, strlen(msg)) < 0) fprintf(stderr, "write failed\n");
        }
        close(fd);
    }
    usleep(100 * 1000);
    rta_test_response r;
    assert_int_equal(rta_test_http(&server, "GET", "/time", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    rta_test_response_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_signed_request_json),
        cmocka_unit_test(test_signed_request_msgpack),
        cmocka_unit_test(test_basic_auth_request),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_bearer_tokens),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_sandbox_apps),
        cmocka_unit_test(test_abrupt_clients),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
