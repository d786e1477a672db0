/* test_mac.c: TokenRequest signing text and MAC (RSA9g, S-19), with the four known-answer
 * vectors from docs/spec-checklist.md (A5 and wire-protocol section 5; the latter were
 * produced by ably-js 2.28.0 itself). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/crypto.h"
#include "core/mac.h"

static void check_vector(const char *secret, rta_token_request *r, const char *text,
                         const char *want)
{
    rta_buf b = RTA_BUF_INIT;
    rta_token_request_sign_text(r, &b);
    assert_string_equal(b.data, text);
    rta_buf_free(&b);
    rta_hmac *h = rta_hmac_new(secret, strlen(secret));
    assert_non_null(h);
    char mac[RTA_MAC_B64_LEN + 1];
    assert_int_equal(rta_token_request_compute_mac(r, h, mac), 0);
    assert_string_equal(mac, want);
    /* the one-shot HMAC agrees with the prepared key */
    unsigned char a[32], c[32];
    assert_int_equal(rta_hmac_sha256(secret, strlen(secret), text, strlen(text), a), 0);
    assert_int_equal(rta_hmac_compute(h, text, strlen(text), c), 0);
    assert_memory_equal(a, c, 32);
    rta_hmac_free(h);
}

static void test_vector_checklist_minimal(void **state)
{
    (void)state;
    rta_token_request r = {.key_name = "appId.keyId", .timestamp = 1700000000000,
                           .nonce = "0123456789abcdef"};
    check_vector("keySecret", &r, "appId.keyId\n\n\n\n1700000000000\n0123456789abcdef\n",
                 "hof9jY3Ir8CZuMxMW/MEF7NHdZ61VWK2ByjCJDseUO0=");
}

static void test_vector_checklist_full(void **state)
{
    (void)state;
    rta_token_request r = {.key_name = "appId.keyId", .ttl = 3600000,
                           .capability = "{\"chat:*\":[\"presence\",\"publish\",\"subscribe\"]}",
                           .client_id = "alice", .timestamp = 1700000000000,
                           .nonce = "0123456789abcdef"};
    check_vector("keySecret", &r,
                 "appId.keyId\n3600000\n{\"chat:*\":[\"presence\",\"publish\",\"subscribe\"]}\n"
                 "alice\n1700000000000\n0123456789abcdef\n",
                 "CuK21R3vq9TJZ1th+7JAYoyiGss9eVds5yLtyctEsz8=");
}

static void test_vector_ablyjs_1(void **state)
{
    (void)state;
    rta_token_request r = {.key_name = "appId.keyId", .ttl = 3600000,
                           .capability = "{\"*\":[\"*\"],\"chan2\":[\"publish\",\"subscribe\"]}",
                           .client_id = "alice", .timestamp = 1700000000000,
                           .nonce = "1234567890123456"};
    check_vector("secretValue", &r,
                 "appId.keyId\n3600000\n{\"*\":[\"*\"],\"chan2\":[\"publish\",\"subscribe\"]}\n"
                 "alice\n1700000000000\n1234567890123456\n",
                 "yxDSp6EoC8f8ygDwBGMtnw6WgR+XbJXNB61vfwsabrA=");
}

static void test_vector_ablyjs_2(void **state)
{
    (void)state;
    rta_token_request r = {.key_name = "appId.keyId", .timestamp = 1700000000000,
                           .nonce = "0000000000000001"};
    check_vector("secretValue", &r, "appId.keyId\n\n\n\n1700000000000\n0000000000000001\n",
                 "Yq7W3GCqnun4AVR7UixOTbBG6NyRlT0YE68G3ifRsP4=");
}

static void test_verify_mac(void **state)
{
    (void)state;
    rta_hmac *h = rta_hmac_new("secretValue", 11);
    char good[] = "Yq7W3GCqnun4AVR7UixOTbBG6NyRlT0YE68G3ifRsP4=";
    rta_token_request r = {.key_name = "appId.keyId", .timestamp = 1700000000000,
                           .nonce = "0000000000000001", .mac = good};
    rta_error err;
    assert_int_equal(rta_token_request_verify_mac(&r, h, &err), 0);
    /* S-19: any change to a signed field or to the MAC is 40101 / 401 */
    char flipped[] = "Yq7W3GCqnun4AVR7UixOTbBG6NyRlT0YE68G3ifRsP5=";
    r.mac = flipped;
    assert_int_equal(rta_token_request_verify_mac(&r, h, &err), RTA_ERR_INVALID_CREDENTIALS);
    assert_int_equal(err.status_code, 401);
    assert_null(strstr(err.message, "Yq7W")); /* neither MAC is echoed */
    r.mac = "short";
    assert_int_equal(rta_token_request_verify_mac(&r, h, &err), RTA_ERR_INVALID_CREDENTIALS);
    r.mac = NULL;
    assert_int_equal(rta_token_request_verify_mac(&r, h, &err), RTA_ERR_INVALID_CREDENTIALS);
    r.mac = good;
    r.ttl = 1;
    assert_int_equal(rta_token_request_verify_mac(&r, h, &err), RTA_ERR_INVALID_CREDENTIALS);
    rta_hmac_free(h);
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(rta_ct_equal("abc", 3, "abc", 3));
    assert_false(rta_ct_equal("abc", 3, "abd", 3));
    assert_false(rta_ct_equal("abc", 3, "abcd", 4));
    assert_true(rta_ct_equal("", 0, "", 0));
}

static void test_random_bytes_pool(void **state)
{
    (void)state;
    /* Successive draws differ, including across a pool refill (4 KiB). */
    unsigned char prev[32] = {0}, cur[32];
    for (int i = 0; i < 300; i++) {
        assert_int_equal(rta_random_bytes(cur, sizeof(cur)), 0);
        assert_memory_not_equal(prev, cur, sizeof(cur));
        memcpy(prev, cur, sizeof(cur));
    }
    unsigned char big[1000];
    assert_int_equal(rta_random_bytes(big, sizeof(big)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_checklist_minimal),
        cmocka_unit_test(test_vector_checklist_full),
        cmocka_unit_test(test_vector_ablyjs_1),
        cmocka_unit_test(test_vector_ablyjs_2),
        cmocka_unit_test(test_verify_mac),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_random_bytes_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
