/* test_native_token.c: rtauth's self-contained token strings (S-28, S-29, S-30; the format
 * in docs/token-format.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/native_token.h"

static void ring_with(rta_keyring *ring, uint32_t id, const char *secret)
{
    assert_int_equal(rta_keyring_add(ring, id, secret, strlen(secret)), 0);
}

static char *mint(rta_keyring *ring, const char *key_name, const char *client_id,
                  const char *capability, uint8_t flags)
{
    rta_native_token t = {.flags = flags, .issued = 1700000000000, .expires = 1700003600000,
                          .client_id = (char *)client_id, .capability = (char *)capability};
    strcpy(t.key_name, key_name);
    memcpy(t.token_id, "0123456789ab", RTA_TOKEN_ID_LEN);
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_native_token_mint(&t, ring, &out), 0);
    return rta_buf_detach(&out, NULL);
}

static void test_round_trip(void **state)
{
    (void)state;
    rta_keyring ring = {0};
    ring_with(&ring, 7, "server-secret-one");
    char *tok = mint(&ring, "appA.keyB", "alice", "{\"*\":[\"*\"]}", RTA_TOKEN_FLAG_REVOCABLE);
    rta_native_token t;
    rta_error err;
    assert_int_equal(rta_native_token_verify(tok, strlen(tok), &ring, &t, &err), 0);
    assert_string_equal(t.app_id, "appA");
    assert_string_equal(t.key_name, "appA.keyB");
    assert_int_equal(t.secret_id, 7);
    assert_int_equal(t.issued, 1700000000000);
    assert_int_equal(t.expires, 1700003600000);
    assert_memory_equal(t.token_id, "0123456789ab", RTA_TOKEN_ID_LEN);
    assert_string_equal(t.client_id, "alice");
    assert_string_equal(t.capability, "{\"*\":[\"*\"]}");
    assert_true(t.flags & RTA_TOKEN_FLAG_REVOCABLE);
    rta_native_token_clear(&t);
    free(tok);
    rta_keyring_clear(&ring);
}

/* S-28: opaque but safe to carry anywhere: one '.', no ':', URL-safe, not JWT-shaped. */
static void test_format_properties(void **state)
{
    (void)state;
    rta_keyring ring = {0};
    ring_with(&ring, 1, "s");
    char *tok = mint(&ring, "app.key", NULL, "{\"a:*\":[\"publish\"]}", 0);
    size_t dots = 0;
    for (const char *p = tok; *p; p++) {
        dots += *p == '.';
        assert_true((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.');
    }
    assert_int_equal(dots, 1);
    assert_true(strncmp(tok, "app.", 4) == 0);
    assert_true(strlen(tok) < 200);
    free(tok);
    rta_keyring_clear(&ring);
}

static void test_anonymous_and_wildcard(void **state)
{
    (void)state;
    rta_keyring ring = {0};
    ring_with(&ring, 1, "s");
    char *anon = mint(&ring, "app.key", NULL, "{}", 0);
    char *wild = mint(&ring, "app.key", "*", "{}", 0);
    rta_native_token t;
    assert_int_equal(rta_native_token_verify(anon, strlen(anon), &ring, &t, NULL), 0);
    assert_null(t.client_id); /* TD6: anonymous stays absent, not "" */
    rta_native_token_clear(&t);
    assert_int_equal(rta_native_token_verify(wild, strlen(wild), &ring, &t, NULL), 0);
    assert_string_equal(t.client_id, "*");
    rta_native_token_clear(&t);
    free(anon);
    free(wild);
    rta_keyring_clear(&ring);
}

/* Every single-character change is either unparseable (40145) or unrecognised (40143). */
static void test_tampering_detected(void **state)
{
    (void)state;
    rta_keyring ring = {0};
    ring_with(&ring, 1, "server-secret");
    char *tok = mint(&ring, "app.key", "bob", "{\"x\":[\"subscribe\"]}", 0);
    size_t len = strlen(tok);
    static const char alphabet[] = "AZaz09-_.:";
    for (size_t i = 0; i < len; i++) {
        char orig = tok[i];
        for (const char *a = alphabet; *a; a++) {
            if (*a == orig) continue;
            tok[i] = *a;
            rta_native_token t;
            rta_error err;
            int rc = rta_native_token_verify(tok, len, &ring, &t, &err);
            assert_true(rc == RTA_ERR_INVALID_TOKEN || rc == RTA_ERR_TOKEN_UNRECOGNISED);
            assert_int_equal(err.status_code, 401);
            assert_null(t.capability);
        }
        tok[i] = orig;
    }
    /* truncation */
    for (size_t cut = 0; cut < len; cut++) {
        rta_native_token t;
        assert_int_not_equal(rta_native_token_verify(tok, cut, &ring, &t, NULL), 0);
    }
    free(tok);
    rta_keyring_clear(&ring);
}

/* A new secret signs new tokens; old tokens verify while their secret is still known. */
static void test_secret_rotation(void **state)
{
    (void)state;
    rta_keyring ring = {0};
    ring_with(&ring, 1, "old-secret");
    char *old_tok = mint(&ring, "app.key", NULL, "{}", 0);
    ring_with(&ring, 2, "new-secret");
    char *new_tok = mint(&ring, "app.key", NULL, "{}", 0);
    rta_native_token t;
    assert_int_equal(rta_native_token_verify(old_tok, strlen(old_tok), &ring, &t, NULL), 0);
    assert_int_equal(t.secret_id, 1);
    rta_native_token_clear(&t);
    assert_int_equal(rta_native_token_verify(new_tok, strlen(new_tok), &ring, &t, NULL), 0);
    assert_int_equal(t.secret_id, 2);
    rta_native_token_clear(&t);

    rta_keyring only_new = {0};
    ring_with(&only_new, 2, "new-secret");
    rta_error err;
    assert_int_equal(rta_native_token_verify(old_tok, strlen(old_tok), &only_new, &t, &err),
                     RTA_ERR_TOKEN_UNRECOGNISED);
    rta_keyring wrong = {0};
    ring_with(&wrong, 2, "not-the-secret");
    assert_int_equal(rta_native_token_verify(new_tok, strlen(new_tok), &wrong, &t, &err),
                     RTA_ERR_TOKEN_UNRECOGNISED);
    assert_int_equal(rta_keyring_add(&ring, 2, "dup", 3), RTA_ERR_INVALID_PARAMETER);
    free(old_tok);
    free(new_tok);
    rta_keyring_clear(&ring);
    rta_keyring_clear(&only_new);
    rta_keyring_clear(&wrong);
}

static void test_garbage_rejected(void **state)
{
    (void)state;
    rta_keyring ring = {0};
    ring_with(&ring, 1, "s");
    static const char *bad[] = {"", ".", "app.", ".abc", "nodot", "app.key:secret",
                                "a.b.c", "app.!!!!", "eyJhbGciOiJIUzI1NiJ9.e30.sig"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rta_native_token t;
        rta_error err;
        int rc = rta_native_token_verify(bad[i], strlen(bad[i]), &ring, &t, &err);
        assert_true(rc == RTA_ERR_INVALID_TOKEN || rc == RTA_ERR_TOKEN_UNRECOGNISED);
    }
    char big[RTA_TOKEN_MAX_LEN + 10];
    memset(big, 'A', sizeof(big));
    big[3] = '.';
    rta_native_token t;
    assert_int_equal(rta_native_token_verify(big, sizeof(big), &ring, &t, NULL),
                     RTA_ERR_INVALID_TOKEN);
    rta_keyring_clear(&ring);
}

static void test_limits_on_mint(void **state)
{
    (void)state;
    rta_keyring ring = {0};
    ring_with(&ring, 1, "s");
    char *cap = malloc(RTA_TOKEN_MAX_CAPABILITY + 2);
    memset(cap, 'x', RTA_TOKEN_MAX_CAPABILITY + 1);
    cap[RTA_TOKEN_MAX_CAPABILITY + 1] = '\0';
    rta_native_token t = {.capability = cap};
    strcpy(t.key_name, "app.key");
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_native_token_mint(&t, &ring, &out), RTA_ERR_INVALID_PARAMETER);
    cap[RTA_TOKEN_MAX_CAPABILITY] = '\0'; /* the largest allowed capability still fits */
    assert_int_equal(rta_native_token_mint(&t, &ring, &out), 0);
    rta_native_token back;
    assert_int_equal(rta_native_token_verify(out.data, out.len, &ring, &back, NULL), 0);
    assert_int_equal(strlen(back.capability), RTA_TOKEN_MAX_CAPABILITY);
    rta_native_token_clear(&back);
    rta_buf_free(&out);
    free(cap);
    rta_keyring_clear(&ring);
}

/* Regression (found by fuzz_native_token): an authentic tag over a body whose key id or
 * strings are not valid must still be refused, never decoded into a key name with a NUL. */
static void test_authentic_but_invalid_body(void **state)
{
    (void)state;
    rta_keyring ring = {0};
    ring_with(&ring, 1, "fuzz-secret");
    static const unsigned char body[] = {
        1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, 0x8b, 0xd0,
        0x1b, 0x56, 0x80, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b',
        3, '{', 0xc9, 0, /* key id: not [A-Za-z0-9_-] */
        0, 0, 0, 2, '{', '}'};
    rta_buf msg = RTA_BUF_INIT, tok = RTA_BUF_INIT, raw = RTA_BUF_INIT;
    rta_buf_puts(&msg, "app.");
    rta_buf_append(&msg, body, sizeof(body));
    unsigned char tag[RTA_SHA256_LEN];
    rta_hmac_sha256("fuzz-secret", 11, msg.data, msg.len, tag);
    rta_buf_append(&raw, body, sizeof(body));
    rta_buf_append(&raw, tag, RTA_TOKEN_TAG_LEN);
    rta_buf_puts(&tok, "app.");
    rta_base64_encode(&tok, raw.data, raw.len, RTA_BASE64_URL);
    rta_native_token t;
    assert_int_equal(rta_native_token_verify(tok.data, tok.len, &ring, &t, NULL),
                     RTA_ERR_INVALID_TOKEN);
    rta_buf_free(&msg);
    rta_buf_free(&tok);
    rta_buf_free(&raw);
    rta_keyring_clear(&ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),          cmocka_unit_test(test_format_properties),
        cmocka_unit_test(test_anonymous_and_wildcard), cmocka_unit_test(test_tampering_detected),
        cmocka_unit_test(test_secret_rotation),     cmocka_unit_test(test_garbage_rejected),
        cmocka_unit_test(test_limits_on_mint),
        cmocka_unit_test(test_authentic_but_invalid_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
