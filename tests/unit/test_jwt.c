/* test_jwt.c: Ably JWTs, HS256 only (src/core/jwt.c).
 *
 * Spec: TN3 (a JWT is a valid token string), checklist S-31..S-37 (kid/alg/iat/exp rules,
 * capability and clientId claims, revocation key, embedded tokens); RTC8a4 reauth with a
 * JWT reuses this same parse/verify path. Every rejection also checks the code, the 401
 * status and that *out is left empty, and the secret never reaches an error message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/crypto.h"
#include "core/jwt.h"

#define SECRET     "secretValue"
#define SECRET_LEN (sizeof(SECRET) - 1)
#define KEY_NAME   "appId.keyId"

/* Known-answer vectors, produced independently of rtauth with Python's standard library:
 *   b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b'=').decode()
 *   seg = lambda o, seps: b64(json.dumps(o, separators=seps).encode())
 *   si = seg(header, seps) + '.' + seg(payload, seps)
 *   jwt = si + '.' + b64(hmac.new(b'secretValue', si.encode(), hashlib.sha256).digest())
 * KAT1: seps (',', ':'), header {"typ":"JWT","alg":"HS256","kid":"appId.keyId"}, payload
 *   {"iat":1700000000,"exp":1700003600,"x-ably-capability":"{\"*\":[\"*\"]}",
 *    "x-ably-clientId":"alice"}; this is also exactly what rta_jwt_sign must produce.
 * KAT2: seps (', ', ': ') (whitespace, other member order, no typ), header
 *   {"kid":"appId.keyId","alg":"HS256"}, payload
 *   {"exp":1700003600,"iat":1700000000,"x-ably-clientId":"bob"}: the MAC covers the received
 *   bytes, not a re-serialisation. */
static const char KAT1[] =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiIsImtpZCI6ImFwcElkLmtleUlkIn0."
    "eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMCwieC1hYmx5LWNhcGFiaWxpdHkiOiJ7XCIqXCI6W1wiKlwi"
    "XX0iLCJ4LWFibHktY2xpZW50SWQiOiJhbGljZSJ9."
    "louw9ihDkCGTByUkBUIc-ygUwwtT1ZO6_ewDrkAAn3Q";
static const char KAT1_SIG[] = "louw9ihDkCGTByUkBUIc-ygUwwtT1ZO6_ewDrkAAn3Q";
static const char KAT2[] =
    "eyJraWQiOiAiYXBwSWQua2V5SWQiLCAiYWxnIjogIkhTMjU2In0."
    "eyJleHAiOiAxNzAwMDAzNjAwLCAiaWF0IjogMTcwMDAwMDAwMCwgIngtYWJseS1jbGllbnRJZCI6ICJib2IifQ."
    "ZsRJqfEb1USsJD9bxYI2QyWj5RlXkuRJb2MBrp8QBm8";

#define IAT    1700000000LL
#define EXP    1700003600LL
#define NOW_MS ((IAT + 10) * 1000) /* inside [iat, exp) */

/* ---- helpers ----------------------------------------------------------------------------- */

static char *b64url(const char *s)
{
    rta_buf b = RTA_BUF_INIT;
    rta_base64_encode(&b, s, strlen(s), RTA_BASE64_URL);
    return rta_buf_detach(&b, NULL);
}

/* header.payload.signature from raw JSON texts, signed with secret (or with a fixed
 * signature segment when sig is not NULL). */
static char *make_jwt(const char *header, const char *payload, const char *secret, const char *sig)
{
    char *h = b64url(header), *p = b64url(payload);
    rta_buf b = RTA_BUF_INIT;
    rta_buf_printf(&b, "%s.%s", h, p);
    if (sig) {
        rta_buf_printf(&b, ".%s", sig);
    } else {
        unsigned char mac[RTA_SHA256_LEN];
        assert_int_equal(rta_hmac_sha256(secret, strlen(secret), b.data, b.len, mac), 0);
        rta_buf_putc(&b, '.');
        rta_base64_encode(&b, mac, sizeof(mac), RTA_BASE64_URL);
    }
    free(h);
    free(p);
    assert_false(b.oom);
    return rta_buf_detach(&b, NULL);
}

static const char GOOD_HEADER[] = "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"" KEY_NAME "\"}";
static const char GOOD_PAYLOAD[] = "{\"iat\":1700000000,\"exp\":1700003600}";

static void assert_jwt_empty(const rta_jwt *j)
{
    assert_null(j->kid);
    assert_null(j->capability);
    assert_null(j->client_id);
    assert_null(j->revocation_key);
    assert_null(j->embedded_token);
    assert_null(j->signing_input);
    assert_int_equal(j->signing_input_len, 0);
    assert_int_equal(j->signature_len, 0);
    assert_int_equal(j->iat, 0);
    assert_int_equal(j->exp, 0);
}

static void assert_no_leak(const rta_error *err, const char *token)
{
    assert_null(strstr(err->message, SECRET));
    assert_null(strstr(err->message, KAT1_SIG));
    const char *sig = token ? strrchr(token, '.') : NULL;
    if (sig && strlen(sig + 1) >= 8) assert_null(strstr(err->message, sig + 1));
}

/* rta_jwt_parse must fail with 40144/401 and leave *out empty. */
static void expect_parse_fail_len(const char *s, size_t len)
{
    rta_jwt j;
    rta_error err;
    memset(&j, 0xA5, sizeof(j)); /* garbage in: parse must not read or free it */
    rta_error_clear(&err);
    assert_int_equal(rta_jwt_parse(s, len, &j, &err), RTA_ERR_INVALID_JWT);
    assert_int_equal(err.code, RTA_ERR_INVALID_JWT);
    assert_int_equal(err.status_code, 401);
    assert_true(err.message[0] != '\0');
    assert_jwt_empty(&j);
    assert_no_leak(&err, s);
    rta_jwt_clear(&j);
}

static void expect_parse_fail(const char *s)
{
    expect_parse_fail_len(s, strlen(s));
}

static void expect_parse_fail_json(const char *header, const char *payload)
{
    char *t = make_jwt(header, payload, SECRET, NULL);
    expect_parse_fail(t);
    free(t);
}

/* Parses (must succeed) then verifies at now_ms; returns verify's code. */
static int parse_verify(const char *s, const char *secret, int64_t now_ms, rta_error *err)
{
    rta_jwt j;
    rta_error_clear(err);
    assert_int_equal(rta_jwt_parse(s, strlen(s), &j, err), 0);
    int rc = rta_jwt_verify(&j, secret, strlen(secret), now_ms, err);
    if (rc) {
        assert_int_equal(err->code, rc);
        assert_int_equal(err->status_code, 401);
        assert_no_leak(err, s);
    }
    rta_jwt_clear(&j);
    return rc;
}

static int verify_json(const char *header, const char *payload, const char *secret, int64_t now_ms)
{
    char *t = make_jwt(header, payload, SECRET, NULL);
    rta_error err;
    int rc = parse_verify(t, secret, now_ms, &err);
    free(t);
    return rc;
}

/* ---- known answers --------------------------------------------------------------------- */

static void test_kat_sign_matches_python(void **state)
{
    (void)state;
    rta_jwt_claims c = {KEY_NAME, IAT, EXP, "{\"*\":[\"*\"]}", "alice", NULL, NULL};
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_jwt_sign(&c, SECRET, SECRET_LEN, &out), 0);
    assert_string_equal(out.data, KAT1);
    assert_int_equal(out.len, strlen(KAT1));
    rta_buf_free(&out);
}

static void test_kat_parse_verify(void **state)
{
    (void)state;
    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_looks_like(KAT1, strlen(KAT1)), 1);
    assert_int_equal(rta_jwt_parse(KAT1, strlen(KAT1), &j, &err), 0);
    assert_string_equal(j.kid, KEY_NAME);
    assert_int_equal(j.iat, IAT);
    assert_int_equal(j.exp, EXP);
    /* S-34: the capability claim is JSON text, kept verbatim. */
    assert_string_equal(j.capability, "{\"*\":[\"*\"]}");
    assert_string_equal(j.client_id, "alice");
    assert_null(j.revocation_key);
    assert_null(j.embedded_token);
    assert_int_equal(j.signing_input_len, strrchr(KAT1, '.') - KAT1);
    assert_memory_equal(j.signing_input, KAT1, j.signing_input_len);
    assert_int_equal(j.signature_len, 32);
    assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), 0);
    rta_jwt_clear(&j);
    assert_jwt_empty(&j);
    rta_jwt_clear(&j); /* idempotent */
}

static void test_kat_received_bytes_are_signed(void **state)
{
    (void)state;
    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_parse(KAT2, strlen(KAT2), &j, &err), 0);
    assert_string_equal(j.kid, KEY_NAME);
    assert_int_equal(j.iat, IAT);
    assert_int_equal(j.exp, EXP);
    assert_string_equal(j.client_id, "bob");
    assert_null(j.capability);
    assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), 0);
    rta_jwt_clear(&j);
}

/* ---- round trips ------------------------------------------------------------------------ */

static void test_sign_parse_verify_all_claims(void **state)
{
    (void)state;
    /* Escapes and non-ASCII must survive JSON + base64url both ways. */
    const char *cid = "al\"ice\\ \xc3\xa9 \n\x01";
    rta_jwt_claims c = {KEY_NAME, IAT,    EXP, "{\"chan\":[\"publish\",\"subscribe\"]}",
                        cid,      "rk-1", NULL};
    rta_buf out = RTA_BUF_INIT;
    rta_buf_puts(&out, "prefix:"); /* rta_jwt_sign appends */
    assert_int_equal(rta_jwt_sign(&c, SECRET, SECRET_LEN, &out), 0);
    assert_memory_equal(out.data, "prefix:", 7);
    const char *t = out.data + 7;
    size_t tlen = out.len - 7;
    assert_int_equal(rta_jwt_looks_like(t, tlen), 1);

    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_parse(t, tlen, &j, &err), 0);
    assert_string_equal(j.kid, KEY_NAME);
    assert_int_equal(j.iat, IAT);
    assert_int_equal(j.exp, EXP);
    assert_string_equal(j.capability, c.capability);
    assert_string_equal(j.client_id, cid);
    assert_string_equal(j.revocation_key, "rk-1"); /* S-35 */
    assert_null(j.embedded_token);
    assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), 0);
    rta_jwt_clear(&j);
    rta_buf_free(&out);
}

static void test_optional_claims_absent(void **state)
{
    (void)state;
    rta_jwt_claims c = {KEY_NAME, IAT, EXP, NULL, NULL, NULL, NULL};
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_jwt_sign(&c, SECRET, SECRET_LEN, &out), 0);
    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_parse(out.data, out.len, &j, &err), 0);
    assert_null(j.capability); /* S-34: absent means the key's capability (server side) */
    assert_null(j.client_id);
    assert_null(j.revocation_key);
    assert_null(j.embedded_token);
    assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), 0);
    rta_jwt_clear(&j);
    rta_buf_free(&out);
}

static void test_extra_claims_ignored(void **state)
{
    (void)state;
    /* S-36: other claims and headers are allowed. */
    assert_int_equal(verify_json("{\"alg\":\"HS256\",\"kid\":\"a.b\",\"x\":[1,{}]}",
                                 "{\"iat\":1700000000,\"exp\":1700003600,\"sub\":\"u\","
                                 "\"x-ably-clientType\":\"server\",\"n\":null}",
                                 SECRET, NOW_MS),
                     0);
}

static void test_integral_float_times_accepted(void **state)
{
    (void)state;
    /* JavaScript has one number type; 1700000000.0 is an integer there. */
    assert_int_equal(
        verify_json(GOOD_HEADER, "{\"iat\":1700000000.0,\"exp\":1.7000036e9}", SECRET, NOW_MS), 0);
}

static void test_empty_secret(void **state)
{
    (void)state;
    rta_jwt_claims c = {KEY_NAME, IAT, EXP, NULL, NULL, NULL, NULL};
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_jwt_sign(&c, NULL, 0, &out), 0);
    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_parse(out.data, out.len, &j, &err), 0);
    assert_int_equal(rta_jwt_verify(&j, NULL, 0, NOW_MS, &err), 0);
    assert_int_equal(rta_jwt_verify(&j, "", 0, NOW_MS, &err), 0);
    assert_int_equal(rta_jwt_verify(&j, "x", 1, NOW_MS, &err), RTA_ERR_INVALID_CREDENTIALS);
    rta_jwt_clear(&j);
    rta_buf_free(&out);
}

static void test_sign_bad_args(void **state)
{
    (void)state;
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_jwt_sign(NULL, SECRET, SECRET_LEN, &out), RTA_ERR_INTERNAL);
    rta_jwt_claims c = {KEY_NAME, IAT, EXP, NULL, NULL, NULL, NULL};
    assert_int_equal(rta_jwt_sign(&c, NULL, 5, &out), RTA_ERR_INTERNAL);
    assert_int_equal(out.len, 0);
    rta_buf_free(&out);
}

/* ---- S-37: embedded tokens -------------------------------------------------------------- */

static void test_embedded_token_in_payload(void **state)
{
    (void)state;
    rta_jwt_claims c = {"customer.key", IAT, EXP, NULL, NULL, NULL, "appId.innerTokenB64_-"};
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_jwt_sign(&c, SECRET, SECRET_LEN, &out), 0);
    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_parse(out.data, out.len, &j, &err), 0);
    assert_string_equal(j.embedded_token, "appId.innerTokenB64_-");
    assert_string_equal(j.kid, "customer.key");
    assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), 0);
    rta_jwt_clear(&j);
    rta_buf_free(&out);
}

static void test_embedded_token_in_header(void **state)
{
    (void)state;
    /* The inner token may itself be an Ably JWT. */
    char *hdr = NULL;
    rta_buf h = RTA_BUF_INIT;
    rta_buf_printf(
        &h, "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"c.k\",\"x-ably-token\":\"%s\"}", KAT1);
    hdr = rta_buf_detach(&h, NULL);
    char *t = make_jwt(hdr, GOOD_PAYLOAD, SECRET, NULL);
    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_parse(t, strlen(t), &j, &err), 0);
    assert_string_equal(j.embedded_token, KAT1);
    assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), 0);
    rta_jwt_clear(&j);
    free(t);
    free(hdr);
}

static void test_embedded_token_rejections(void **state)
{
    (void)state;
    /* iat/exp are still required (S-37). */
    expect_parse_fail_json(GOOD_HEADER, "{\"x-ably-token\":\"a.b\",\"exp\":1700003600}");
    expect_parse_fail_json(GOOD_HEADER, "{\"x-ably-token\":\"a.b\",\"iat\":1700000000}");
    /* Wrong types, empty, and both places at once (which one would the server check?). */
    expect_parse_fail_json(GOOD_HEADER,
                           "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-token\":1}");
    expect_parse_fail_json(GOOD_HEADER,
                           "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-token\":\"\"}");
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":\"a.b\",\"x-ably-token\":{}}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":\"a.b\",\"x-ably-token\":\"\"}",
                           GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":\"a.b\",\"x-ably-token\":\"x.y\"}",
                           "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-token\":\"x.y\"}");
}

/* ---- S-32: alg and kid ------------------------------------------------------------------ */

static void test_alg_rejections(void **state)
{
    (void)state;
    /* Each signed validly with the secret, so only the alg can be the reason. */
    expect_parse_fail_json("{\"alg\":\"none\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"RS256\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS384\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS512\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"hs256\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"Hs256\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256 \",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS2560\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":256,\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":null,\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":[\"HS256\"],\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    /* A second alg must not hide behind the first: duplicate members are malformed. */
    expect_parse_fail_json("{\"alg\":\"HS256\",\"alg\":\"none\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"none\",\"alg\":\"HS256\",\"kid\":\"a.b\"}", GOOD_PAYLOAD);
    /* RFC 7515 crit: we implement no extension, so any crit is refused. */
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":\"a.b\",\"crit\":[\"exp\"]}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":\"a.b\",\"typ\":7}", GOOD_PAYLOAD);
}

static void test_alg_none_unsigned(void **state)
{
    (void)state;
    /* The classic "alg":"none" forgery: empty signature segment, or no third segment. */
    char *h = b64url("{\"alg\":\"none\",\"kid\":\"appId.keyId\"}");
    char *p = b64url(GOOD_PAYLOAD);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s.%s.", h, p);
    expect_parse_fail(buf);
    snprintf(buf, sizeof(buf), "%s.%s", h, p);
    expect_parse_fail(buf);
    /* Even an HS256 header with an empty signature. */
    free(h);
    h = b64url(GOOD_HEADER);
    snprintf(buf, sizeof(buf), "%s.%s.", h, p);
    expect_parse_fail(buf);
    free(h);
    free(p);
}

static void test_kid_rejections(void **state)
{
    (void)state;
    expect_parse_fail_json("{\"alg\":\"HS256\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":\"\"}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":42}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":null}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":[\"a.b\"]}", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":\"a\\u0000b\"}", GOOD_PAYLOAD);
    /* rta_jwt_sign omits kid when key_name is NULL: validly signed, still rejected. */
    rta_jwt_claims c = {NULL, IAT, EXP, NULL, NULL, NULL, NULL};
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_jwt_sign(&c, SECRET, SECRET_LEN, &out), 0);
    expect_parse_fail(out.data);
    rta_buf_free(&out);
}

/* ---- S-33: iat and exp ------------------------------------------------------------------ */

static void test_time_claim_rejections(void **state)
{
    (void)state;
    expect_parse_fail_json(GOOD_HEADER, "{\"exp\":1700003600}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000}");
    expect_parse_fail_json(GOOD_HEADER, "{}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":\"1700000000\",\"exp\":1700003600}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":\"1700003600\"}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":null,\"exp\":1700003600}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":true}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1700003600.5}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1e300}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":[1700003600]}");
}

static void test_expired(void **state)
{
    (void)state;
    /* 40142 once now >= exp (the last valid millisecond is exp*1000 - 1). */
    assert_int_equal(verify_json(GOOD_HEADER, GOOD_PAYLOAD, SECRET, EXP * 1000 - 1), 0);
    assert_int_equal(verify_json(GOOD_HEADER, GOOD_PAYLOAD, SECRET, EXP * 1000),
                     RTA_ERR_TOKEN_EXPIRED);
    assert_int_equal(verify_json(GOOD_HEADER, GOOD_PAYLOAD, SECRET, EXP * 1000 + 86400000),
                     RTA_ERR_TOKEN_EXPIRED);
    /* Far-off and negative values are refused when parsed (40144), before any arithmetic
     * (issue 11: (exp - iat) * 1000 overflowed); the range ends with year 9999. */
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":-9223372036854775807,\"exp\":-1}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":9223372036854775807}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":-1,\"exp\":1700000000}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":253402300800}");
    assert_int_equal(verify_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":253402300799}",
                                 SECRET, NOW_MS),
                     0);
}

static void test_iat_leeway(void **state)
{
    (void)state;
    /* iat up to RTA_JWT_IAT_LEEWAY_S ahead of our clock is skew; more is 40144. */
    int64_t now = (IAT - RTA_JWT_IAT_LEEWAY_S) * 1000;
    assert_int_equal(verify_json(GOOD_HEADER, GOOD_PAYLOAD, SECRET, now), 0);
    assert_int_equal(verify_json(GOOD_HEADER, GOOD_PAYLOAD, SECRET, now - 1), RTA_ERR_INVALID_JWT);
    assert_int_equal(verify_json(GOOD_HEADER, GOOD_PAYLOAD, SECRET, 0), RTA_ERR_INVALID_JWT);
    expect_parse_fail_json(GOOD_HEADER,
                           "{\"iat\":9223372036854775806,\"exp\":9223372036854775807}");
    /* A negative clock (floor, not truncation): iat 0 is 60 s ahead of -60000 ms... */
    assert_int_equal(verify_json(GOOD_HEADER, "{\"iat\":0,\"exp\":100000}", SECRET, -60000), 0);
    /* ...and more than 60 s ahead of -60001 ms. */
    assert_int_equal(verify_json(GOOD_HEADER, "{\"iat\":0,\"exp\":100000}", SECRET, -60001),
                     RTA_ERR_INVALID_JWT);
}

static void test_exp_not_after_iat(void **state)
{
    (void)state;
    assert_int_equal(
        verify_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1700000000}", SECRET, NOW_MS),
        RTA_ERR_INVALID_JWT);
    assert_int_equal(
        verify_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1699999999}", SECRET, NOW_MS),
        RTA_ERR_INVALID_JWT);
}

/* ---- S-32: signature -------------------------------------------------------------------- */

static void test_wrong_secret(void **state)
{
    (void)state;
    rta_error err;
    assert_int_equal(parse_verify(KAT1, "secretValuf", NOW_MS, &err), RTA_ERR_INVALID_CREDENTIALS);
    assert_int_equal(parse_verify(KAT1, "secretValue ", NOW_MS, &err), RTA_ERR_INVALID_CREDENTIALS);
    assert_int_equal(parse_verify(KAT1, "", NOW_MS, &err), RTA_ERR_INVALID_CREDENTIALS);
    /* The signature is checked before the times: an expired forgery is still 40101. */
    assert_int_equal(parse_verify(KAT1, "nope", EXP * 1000 + 1, &err), RTA_ERR_INVALID_CREDENTIALS);
}

static void test_tampered_payload(void **state)
{
    (void)state;
    /* KAT1's signature on a payload with a different clientId. */
    char *t = make_jwt(
        "{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"appId.keyId\"}",
        "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-capability\":\"{\\\"*\\\":[\\\"*\\\"]}\","
        "\"x-ably-clientId\":\"mallory\"}",
        NULL, KAT1_SIG);
    rta_error err;
    assert_int_equal(parse_verify(t, SECRET, NOW_MS, &err), RTA_ERR_INVALID_CREDENTIALS);
    free(t);
    /* Raising exp with the old signature. */
    t = make_jwt("{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"appId.keyId\"}",
                 "{\"iat\":1700000000,\"exp\":1800003600,\"x-ably-capability\":"
                 "\"{\\\"*\\\":[\\\"*\\\"]}\",\"x-ably-clientId\":\"alice\"}",
                 NULL, KAT1_SIG);
    assert_int_equal(parse_verify(t, SECRET, NOW_MS, &err), RTA_ERR_INVALID_CREDENTIALS);
    free(t);
    /* Re-keyed header (kid swap) with the old signature. */
    t = make_jwt("{\"typ\":\"JWT\",\"alg\":\"HS256\",\"kid\":\"appId.other\"}",
                 "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-capability\":"
                 "\"{\\\"*\\\":[\\\"*\\\"]}\",\"x-ably-clientId\":\"alice\"}",
                 NULL, KAT1_SIG);
    assert_int_equal(parse_verify(t, SECRET, NOW_MS, &err), RTA_ERR_INVALID_CREDENTIALS);
    free(t);
}

static void test_tampered_signature(void **state)
{
    (void)state;
    char buf[sizeof(KAT1)];
    const size_t sig_at = (size_t)(strrchr(KAT1, '.') - KAT1) + 1;
    rta_error err;
    /* Flip each of the first 42 signature characters (the 43rd carries 4 MAC bits and 2
     * bits that must be zero; it is covered below). */
    for (size_t i = sig_at; i < sig_at + 42; i++) {
        memcpy(buf, KAT1, sizeof(KAT1));
        buf[i] = buf[i] == 'A' ? 'B' : 'A';
        assert_int_equal(parse_verify(buf, SECRET, NOW_MS, &err), RTA_ERR_INVALID_CREDENTIALS);
    }
    /* Last character 'Q' (010000) -> 'g' (100000): low bits still zero, a different MAC. */
    memcpy(buf, KAT1, sizeof(KAT1));
    assert_int_equal(buf[sizeof(KAT1) - 2], 'Q');
    buf[sizeof(KAT1) - 2] = 'g';
    assert_int_equal(parse_verify(buf, SECRET, NOW_MS, &err), RTA_ERR_INVALID_CREDENTIALS);
    /* Non-zero trailing bits: the same MAC bytes spelled differently, not accepted. */
    buf[sizeof(KAT1) - 2] = 'R';
    expect_parse_fail(buf);
}

static void test_signature_length(void **state)
{
    (void)state;
    rta_buf b = RTA_BUF_INIT;
    const size_t sig_at = (size_t)(strrchr(KAT1, '.') - KAT1) + 1;
    /* Truncated by one character, and by four (31 bytes, canonical). */
    expect_parse_fail_len(KAT1, strlen(KAT1) - 1);
    unsigned char bytes[33] = {0};
    rta_buf_append(&b, KAT1, sig_at);
    rta_base64_encode(&b, bytes, 31, RTA_BASE64_URL);
    expect_parse_fail(b.data);
    rta_buf_reset(&b);
    rta_buf_append(&b, KAT1, sig_at);
    rta_base64_encode(&b, bytes, 33, RTA_BASE64_URL); /* 44 chars */
    expect_parse_fail(b.data);
    /* A long signature (64 bytes, e.g. an HS512 MAC) is refused before decoding. */
    unsigned char big[64] = {1};
    rta_buf_reset(&b);
    rta_buf_append(&b, KAT1, sig_at);
    rta_base64_encode(&b, big, sizeof(big), RTA_BASE64_URL);
    expect_parse_fail(b.data);
    /* Signature segment cut away entirely. */
    expect_parse_fail_len(KAT1, sig_at - 1);
    expect_parse_fail_len(KAT1, sig_at);
    rta_buf_free(&b);
}

/* ---- structure -------------------------------------------------------------------------- */

static void test_segment_count(void **state)
{
    (void)state;
    char buf[sizeof(KAT1) + sizeof(KAT1_SIG) + 8];
    const char *d1 = strchr(KAT1, '.');
    /* 2 segments: header.signature */
    snprintf(buf, sizeof(buf), "%.*s.%s", (int)(d1 - KAT1), KAT1, KAT1_SIG);
    expect_parse_fail(buf);
    /* 4 segments */
    snprintf(buf, sizeof(buf), "%s.%s", KAT1, KAT1_SIG);
    expect_parse_fail(buf);
    snprintf(buf, sizeof(buf), "%s.", KAT1);
    expect_parse_fail(buf);
    snprintf(buf, sizeof(buf), ".%s", KAT1);
    expect_parse_fail(buf);
    /* 1 segment, empty segments, empty input. */
    expect_parse_fail(KAT1_SIG);
    expect_parse_fail("..");
    expect_parse_fail("...");
    expect_parse_fail("");
    expect_parse_fail_len(NULL, 0);
    snprintf(buf, sizeof(buf), "%.*s.%s", (int)(d1 - KAT1 + 1), KAT1, KAT1_SIG); /* h..s */
    expect_parse_fail(buf);
}

static void test_base64url_strict(void **state)
{
    (void)state;
    char buf[sizeof(KAT1) + 8];
    const size_t d1 = (size_t)(strchr(KAT1, '.') - KAT1);
    const size_t d2 = (size_t)(strrchr(KAT1, '.') - KAT1);
    const size_t at[] = {0, d1 - 1, d1 + 1, d2 - 1, d2 + 1, strlen(KAT1) - 1};
    const char bad[] = {'+', '/', '=', ' ', '\n', '*', '\x80', '\0'};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        for (size_t k = 0; k < sizeof(bad); k++) {
            memcpy(buf, KAT1, sizeof(KAT1));
            buf[at[i]] = bad[k];
            expect_parse_fail_len(buf, strlen(KAT1));
        }
    }
    /* "=" or "==" appended to each segment: base64url in JWTs never carries padding. */
    const size_t cut[] = {d1, d2, strlen(KAT1)};
    for (size_t i = 0; i < 3; i++) {
        for (int n = 1; n <= 2; n++) {
            snprintf(buf, sizeof(buf), "%.*s%.*s%s", (int)cut[i], KAT1, n, "==", KAT1 + cut[i]);
            expect_parse_fail(buf);
        }
    }
    /* Whitespace around the token is not trimmed here (the transport layer's job). */
    snprintf(buf, sizeof(buf), " %s", KAT1);
    expect_parse_fail(buf);
    snprintf(buf, sizeof(buf), "%s\n", KAT1);
    expect_parse_fail(buf);
}

static void test_standard_base64_padding_vector(void **state)
{
    (void)state;
    /* A JWT whose segments genuinely need padding in standard base64, written with "=":
     * header {"alg":"HS256","kid":"a.bc"} (28 bytes) encodes to 38 characters. */
    char *h = b64url("{\"alg\":\"HS256\",\"kid\":\"a.bc\"}");
    assert_int_equal(strlen(h) % 4, 2);
    char *p = b64url(GOOD_PAYLOAD);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s==.%s.%s", h, p, KAT1_SIG);
    expect_parse_fail(buf);
    /* Without the padding it parses (signature mismatch is verify's business). */
    snprintf(buf, sizeof(buf), "%s.%s.%s", h, p, KAT1_SIG);
    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_parse(buf, strlen(buf), &j, &err), 0);
    rta_jwt_clear(&j);
    free(h);
    free(p);
}

static void test_non_object_segments(void **state)
{
    (void)state;
    expect_parse_fail_json("[\"HS256\"]", GOOD_PAYLOAD);
    expect_parse_fail_json("\"JWT\"", GOOD_PAYLOAD);
    expect_parse_fail_json("42", GOOD_PAYLOAD);
    expect_parse_fail_json("null", GOOD_PAYLOAD);
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":\"a.b\"", GOOD_PAYLOAD); /* truncated */
    expect_parse_fail_json("{\"alg\":\"HS256\",\"kid\":\"a.b\"} {}", GOOD_PAYLOAD);
    expect_parse_fail_json("not json", GOOD_PAYLOAD);
    expect_parse_fail_json(GOOD_HEADER, "[1700000000,1700003600]");
    expect_parse_fail_json(GOOD_HEADER, "1700003600");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1700003600,}");
    /* Invalid UTF-8 inside a JSON string. */
    expect_parse_fail_json(GOOD_HEADER,
                           "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-clientId\":\"\xff\"}");
}

static void test_claim_types(void **state)
{
    (void)state;
    /* S-34: the capability is JSON *text*, never an object. */
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1700003600,"
                                        "\"x-ably-capability\":{\"*\":[\"*\"]}}");
    expect_parse_fail_json(GOOD_HEADER,
                           "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-capability\":null}");
    expect_parse_fail_json(GOOD_HEADER,
                           "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-clientId\":7}");
    expect_parse_fail_json(GOOD_HEADER,
                           "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-clientId\":null}");
    expect_parse_fail_json(
        GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-revocation-key\":[\"k\"]}");
    expect_parse_fail_json(
        GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1700003600,\"x-ably-revocation-key\":false}");
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1700003600,"
                                        "\"x-ably-clientId\":\"a\\u0000b\"}");
    /* Duplicate claims are malformed, not last-one-wins. */
    expect_parse_fail_json(GOOD_HEADER, "{\"iat\":1700000000,\"exp\":1700003600,"
                                        "\"x-ably-clientId\":\"a\",\"x-ably-clientId\":\"b\"}");
}

static void test_oversize(void **state)
{
    (void)state;
    /* A clientId that makes the whole JWT land exactly on RTA_JWT_MAX_LEN parses; one
     * byte more is refused before any decoding. */
    size_t base;
    {
        rta_jwt_claims c = {KEY_NAME, IAT, EXP, NULL, "", NULL, NULL};
        rta_buf out = RTA_BUF_INIT;
        assert_int_equal(rta_jwt_sign(&c, SECRET, SECRET_LEN, &out), 0);
        base = out.len;
        rta_buf_free(&out);
    }
    /* Each 3 clientId bytes add 4 base64url characters. */
    size_t n = (RTA_JWT_MAX_LEN - base) / 4 * 3;
    char *cid = malloc(n + 1);
    assert_non_null(cid);
    memset(cid, 'x', n);
    cid[n] = '\0';
    rta_jwt_claims c = {KEY_NAME, IAT, EXP, NULL, cid, NULL, NULL};
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_jwt_sign(&c, SECRET, SECRET_LEN, &out), 0);
    assert_true(out.len <= RTA_JWT_MAX_LEN);
    assert_true(out.len > RTA_JWT_MAX_LEN - 4);
    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_parse(out.data, out.len, &j, &err), 0);
    assert_int_equal(strlen(j.client_id), n);
    assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), 0);
    rta_jwt_clear(&j);
    rta_buf_free(&out);
    free(cid);
    cid = NULL;

    /* A validly signed JWT of exactly RTA_JWT_MAX_LEN + 1 bytes is refused; one of exactly
     * RTA_JWT_MAX_LEN is accepted. base64url lengths skip every value = 1 (mod 4), so vary
     * the kid length as well as the clientId length to land on both. */
    int found_max = 0, found_over = 0;
    char kid[16];
    for (int k = 0; k < 4 && !(found_max && found_over); k++) {
        snprintf(kid, sizeof(kid), "%.*s", 4 + k, "appId.kk");
        for (size_t m = n > 16 ? n - 16 : 0; m < n + 16; m++) {
            cid = malloc(m + 1);
            assert_non_null(cid);
            memset(cid, 'x', m);
            cid[m] = '\0';
            rta_jwt_claims c2 = {kid, IAT, EXP, NULL, cid, NULL, NULL};
            assert_int_equal(rta_jwt_sign(&c2, SECRET, SECRET_LEN, &out), 0);
            if (out.len == RTA_JWT_MAX_LEN + 1) {
                found_over = 1;
                expect_parse_fail_len(out.data, out.len);
            } else if (out.len == RTA_JWT_MAX_LEN) {
                found_max = 1;
                assert_int_equal(rta_jwt_parse(out.data, out.len, &j, &err), 0);
                assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), 0);
                rta_jwt_clear(&j);
            }
            rta_buf_free(&out);
            free(cid);
        }
    }
    assert_true(found_max);
    assert_true(found_over);

    /* RTA_JWT_MAX_LEN + 1: rejected on length alone (any content). */
    char *big = malloc(RTA_JWT_MAX_LEN + 2);
    assert_non_null(big);
    memset(big, 'A', RTA_JWT_MAX_LEN + 1);
    big[100] = '.';
    big[200] = '.';
    big[RTA_JWT_MAX_LEN + 1] = '\0';
    expect_parse_fail(big);
    free(big);
}

static void test_verify_unparsed(void **state)
{
    (void)state;
    rta_jwt j;
    memset(&j, 0, sizeof(j));
    rta_error err;
    assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), RTA_ERR_INVALID_JWT);
    assert_int_equal(rta_jwt_verify(NULL, SECRET, SECRET_LEN, NOW_MS, &err), RTA_ERR_INVALID_JWT);
    rta_jwt_clear(NULL);
    /* err may be NULL everywhere. */
    assert_int_equal(rta_jwt_parse("x", 1, &j, NULL), RTA_ERR_INVALID_JWT);
    assert_int_equal(rta_jwt_parse(KAT1, strlen(KAT1), &j, NULL), 0);
    assert_int_equal(rta_jwt_verify(&j, "bad", 3, NOW_MS, NULL), RTA_ERR_INVALID_CREDENTIALS);
    rta_jwt_clear(&j);
}

static void test_parse_respects_len(void **state)
{
    (void)state;
    /* Bytes after len are never read: KAT1 followed by junk parses with len = strlen(KAT1). */
    char buf[sizeof(KAT1) + 8];
    snprintf(buf, sizeof(buf), "%s.junk", KAT1);
    rta_jwt j;
    rta_error err;
    assert_int_equal(rta_jwt_parse(buf, strlen(KAT1), &j, &err), 0);
    assert_int_equal(rta_jwt_verify(&j, SECRET, SECRET_LEN, NOW_MS, &err), 0);
    rta_jwt_clear(&j);
}

/* ---- rta_jwt_looks_like (S-31 routing) -------------------------------------------------- */

static void test_looks_like(void **state)
{
    (void)state;
    assert_int_equal(rta_jwt_looks_like(KAT1, strlen(KAT1)), 1);
    assert_int_equal(rta_jwt_looks_like(KAT2, strlen(KAT2)), 1);
    assert_int_equal(rta_jwt_looks_like("a.b.c", 5), 1);
    assert_int_equal(rta_jwt_looks_like("-_.09.zZ", 8), 1);
    /* Shape only: an alg-none JWT still looks like one (parse rejects it). */
    assert_int_equal(rta_jwt_looks_like("eyJhbGciOiJub25lIn0.e30.x", 25), 1);

    /* A native rtauth token is "<appId>.<base64url>": one dot, never a JWT. */
    const char *native = "xVLyHw.IUBWp0GdnT4BNvyGTOKfkbfrHRf4kr5aQnBT5PFqIdn4GqDJrybmLw3yT";
    assert_int_equal(rta_jwt_looks_like(native, strlen(native)), 0);
    /* Base64 without dots, an API key, Basic credentials. */
    assert_int_equal(rta_jwt_looks_like("SGVsbG8gd29ybGQ", 15), 0);
    assert_int_equal(rta_jwt_looks_like("appId.keyId:secret", 18), 0);
    assert_int_equal(rta_jwt_looks_like("a.b.c:d", 7), 0);
    /* Empty segments, wrong counts, non-base64url characters. */
    assert_int_equal(rta_jwt_looks_like("", 0), 0);
    assert_int_equal(rta_jwt_looks_like(NULL, 0), 0);
    assert_int_equal(rta_jwt_looks_like(NULL, 5), 0);
    assert_int_equal(rta_jwt_looks_like("..", 2), 0);
    assert_int_equal(rta_jwt_looks_like(".b.c", 4), 0);
    assert_int_equal(rta_jwt_looks_like("a..c", 4), 0);
    assert_int_equal(rta_jwt_looks_like("a.b.", 4), 0);
    assert_int_equal(rta_jwt_looks_like("a.b", 3), 0);
    assert_int_equal(rta_jwt_looks_like("a.b.c.d", 7), 0);
    assert_int_equal(rta_jwt_looks_like("a.b.c=", 6), 0);
    assert_int_equal(rta_jwt_looks_like("a+b.c.d", 7), 0);
    assert_int_equal(rta_jwt_looks_like("a/b.c.d", 7), 0);
    assert_int_equal(rta_jwt_looks_like("a.b.c ", 6), 0);
    assert_int_equal(rta_jwt_looks_like("a.b\0.c", 6), 0);
    /* The length is honoured: "a.b.c" seen as "a.b" is not a JWT. */
    assert_int_equal(rta_jwt_looks_like("a.b.c", 3), 0);
    assert_int_equal(rta_jwt_looks_like(KAT1, strlen(KAT1) - strlen(KAT1_SIG)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_sign_matches_python),
        cmocka_unit_test(test_kat_parse_verify),
        cmocka_unit_test(test_kat_received_bytes_are_signed),
        cmocka_unit_test(test_sign_parse_verify_all_claims),
        cmocka_unit_test(test_optional_claims_absent),
        cmocka_unit_test(test_extra_claims_ignored),
        cmocka_unit_test(test_integral_float_times_accepted),
        cmocka_unit_test(test_empty_secret),
        cmocka_unit_test(test_sign_bad_args),
        cmocka_unit_test(test_embedded_token_in_payload),
        cmocka_unit_test(test_embedded_token_in_header),
        cmocka_unit_test(test_embedded_token_rejections),
        cmocka_unit_test(test_alg_rejections),
        cmocka_unit_test(test_alg_none_unsigned),
        cmocka_unit_test(test_kid_rejections),
        cmocka_unit_test(test_time_claim_rejections),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_iat_leeway),
        cmocka_unit_test(test_exp_not_after_iat),
        cmocka_unit_test(test_wrong_secret),
        cmocka_unit_test(test_tampered_payload),
        cmocka_unit_test(test_tampered_signature),
        cmocka_unit_test(test_signature_length),
        cmocka_unit_test(test_segment_count),
        cmocka_unit_test(test_base64url_strict),
        cmocka_unit_test(test_standard_base64_padding_vector),
        cmocka_unit_test(test_non_object_segments),
        cmocka_unit_test(test_claim_types),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_verify_unparsed),
        cmocka_unit_test(test_parse_respects_len),
        cmocka_unit_test(test_looks_like),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
