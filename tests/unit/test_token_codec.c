/* test_token_codec.c: the token types' JSON and msgpack codecs (core/token_codec.h) and their
 * clear/copy functions (rtauth/token.h): exact bytes on the wire, round trips between the two
 * formats, the strictness rules, limits, and that failures leave nothing behind.
 * Spec IDs: TK (TokenParams), TE (TokenRequest), TD (TokenDetails), TRS/TRF/BAR2 (revocation
 * results), RSA5/RSA6 (absent is not sent), S-17/S-18/S-67 (server checklist). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/capability.h"
#include "core/token_codec.h"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Selects one of the five decoders, so tables of bad bodies can name their target. */
enum { T_PARAMS, T_REQUEST, T_DETAILS, T_REVOKE, T_BATCH };

typedef union {
    rta_token_params params;
    rta_token_request request;
    rta_token_details details;
    rta_revoke_request revoke;
    rta_revocation_batch batch;
} any_value;

static int decode_as(int type, const void *data, size_t len, rta_format fmt, any_value *v,
                     rta_error *err)
{
    switch (type) {
    case T_PARAMS:
        return rta_token_params_decode(data, len, fmt, &v->params, err);
    case T_REQUEST:
        return rta_token_request_decode(data, len, fmt, &v->request, err);
    case T_DETAILS:
        return rta_token_details_decode(data, len, fmt, &v->details, err);
    case T_REVOKE:
        return rta_revoke_request_decode(data, len, fmt, &v->revoke, err);
    default:
        return rta_revocation_batch_decode(data, len, fmt, &v->batch, err);
    }
}

static void clear_as(int type, any_value *v)
{
    switch (type) {
    case T_PARAMS:
        rta_token_params_clear(&v->params);
        break;
    case T_REQUEST:
        rta_token_request_clear(&v->request);
        break;
    case T_DETAILS:
        rta_token_details_clear(&v->details);
        break;
    case T_REVOKE:
        rta_revoke_request_clear(&v->revoke);
        break;
    default:
        rta_revocation_batch_clear(&v->batch);
        break;
    }
}

static size_t type_size(int type)
{
    switch (type) {
    case T_PARAMS:
        return sizeof(rta_token_params);
    case T_REQUEST:
        return sizeof(rta_token_request);
    case T_DETAILS:
        return sizeof(rta_token_details);
    case T_REVOKE:
        return sizeof(rta_revoke_request);
    default:
        return sizeof(rta_revocation_batch);
    }
}

/* 1 when every byte of v is zero: a failed decode must leave the struct empty. */
static int all_zero(const void *v, size_t n)
{
    const unsigned char *p = v;
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* Re-encodes JSON text as msgpack through the shared codec, so msgpack inputs can be written
 * as readable JSON in the tests. */
static void json_to_msgpack(const char *json, rta_buf *out)
{
    rta_doc *doc = NULL;
    rta_error err;
    assert_int_equal(rta_doc_parse(&doc, RTA_FORMAT_JSON, json, strlen(json), NULL, &err), 0);
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_MSGPACK, out);
    rta_w_node(&w, rta_doc_root(doc));
    assert_int_equal(rta_writer_status(&w), 0);
    rta_doc_free(doc);
}

/* Decodes a JSON body in both formats and expects the same failure code, with the message
 * naming `field`, and an empty out struct. */
static void expect_fail(int type, const char *json, int code, const char *field)
{
    rta_buf mp = RTA_BUF_INIT;
    json_to_msgpack(json, &mp);
    for (int fmt = 0; fmt < 2; fmt++) {
        any_value v;
        rta_error err;
        memset(&v, 0xa5, sizeof(v)); /* garbage in: the decoder must zero it */
        const void *data = fmt == RTA_FORMAT_JSON ? (const void *)json : (const void *)mp.data;
        size_t len = fmt == RTA_FORMAT_JSON ? strlen(json) : mp.len;
        int rc = decode_as(type, data, len, (rta_format)fmt, &v, &err);
        if (rc != code || (field && !strstr(err.message, field)))
            fail_msg("%s (fmt %d): got %d \"%s\", want %d naming %s", json, fmt, rc,
                     rc ? err.message : "", code, field ? field : "-");
        assert_int_equal(err.code, code);
        assert_int_equal(err.status_code, 400);
        assert_true(all_zero(&v, type_size(type)));
    }
    rta_buf_free(&mp);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* {"<key>":"<n times x>"<rest>} */
static char *body_with_long(const char *key, size_t n, const char *rest)
{
    char *val = repeat('x', n);
    size_t size = strlen(key) + n + strlen(rest) + 16;
    char *s = malloc(size);
    assert_non_null(s);
    snprintf(s, size, "{\"%s\":\"%s\"%s}", key, val, rest);
    free(val);
    return s;
}

#define CAP_ALL        "{\"*\":[\"*\"]}"
#define CAP_ALL_QUOTED "\"{\\\"*\\\":[\\\"*\\\"]}\""

/* ---- exact JSON output ------------------------------------------------------------------ */

/* TK2, RSA5/RSA6: absent params are absent, never null, never defaults. */
static void test_params_json_exact(void **state)
{
    (void)state;
    rta_buf b = RTA_BUF_INIT;
    rta_token_params p = {3600000, (char *)CAP_ALL, (char *)"alice", 1700000000000};
    assert_int_equal(rta_token_params_encode(&p, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(b.data, "{\"ttl\":3600000,\"capability\":" CAP_ALL_QUOTED
                                ",\"clientId\":\"alice\",\"timestamp\":1700000000000}");

    rta_buf_reset(&b);
    rta_token_params empty = {0};
    assert_int_equal(rta_token_params_encode(&empty, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(b.data, "{}");

    rta_buf_reset(&b);
    rta_token_params wild = {0, NULL, (char *)"*", 0}; /* TK2c wildcard */
    assert_int_equal(rta_token_params_encode(&wild, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(b.data, "{\"clientId\":\"*\"}");
    rta_buf_free(&b);
}

/* TE1-TE6, wire protocol 4.2/5: key order keyName, ttl, capability, clientId, timestamp,
 * nonce, mac; the capability is a JSON string. Both worked examples of section 5. */
static void test_request_json_exact(void **state)
{
    (void)state;
    rta_buf b = RTA_BUF_INIT;
    rta_token_request r = {(char *)"appId.keyId",
                           3600000,
                           (char *)"{\"*\":[\"*\"],\"chan2\":[\"publish\",\"subscribe\"]}",
                           (char *)"alice",
                           1700000000000,
                           (char *)"1234567890123456",
                           (char *)"yxDSp6EoC8f8ygDwBGMtnw6WgR+XbJXNB61vfwsabrA="};
    assert_int_equal(rta_token_request_encode(&r, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(
        b.data, "{\"keyName\":\"appId.keyId\",\"ttl\":3600000,\"capability\":\"{\\\"*\\\":[\\\"*"
                "\\\"],\\\"chan2\\\":[\\\"publish\\\",\\\"subscribe\\\"]}\",\"clientId\":\"alice\","
                "\"timestamp\":1700000000000,\"nonce\":\"1234567890123456\",\"mac\":"
                "\"yxDSp6EoC8f8ygDwBGMtnw6WgR+XbJXNB61vfwsabrA=\"}");

    rta_buf_reset(&b);
    r.capability = (char *)CAP_ALL;
    assert_int_equal(rta_token_request_encode(&r, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(
        b.data, "{\"keyName\":\"appId.keyId\",\"ttl\":3600000,\"capability\":" CAP_ALL_QUOTED
                ",\"clientId\":\"alice\",\"timestamp\":1700000000000,\"nonce\":"
                "\"1234567890123456\",\"mac\":"
                "\"yxDSp6EoC8f8ygDwBGMtnw6WgR+XbJXNB61vfwsabrA=\"}");

    /* Example 2: no ttl, capability or clientId keys at all (RSA5, RSA6). */
    rta_buf_reset(&b);
    rta_token_request r2 = {.key_name = (char *)"appId.keyId",
                            .timestamp = 1700000000000,
                            .nonce = (char *)"0000000000000001",
                            .mac = (char *)"Yq7W3GCqnun4AVR7UixOTbBG6NyRlT0YE68G3ifRsP4="};
    assert_int_equal(rta_token_request_encode(&r2, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(b.data, "{\"keyName\":\"appId.keyId\",\"timestamp\":1700000000000,"
                                "\"nonce\":\"0000000000000001\","
                                "\"mac\":\"Yq7W3GCqnun4AVR7UixOTbBG6NyRlT0YE68G3ifRsP4=\"}");
    rta_buf_free(&b);
}

/* TD1-TD6, S-26: anonymous tokens have no clientId key (null would break ably-js), a
 * wildcard token has "*". */
static void test_details_json_exact(void **state)
{
    (void)state;
    rta_buf b = RTA_BUF_INIT;
    rta_token_details d = {(char *)"appId.tok", (char *)"appId.keyId", 1700000000000,
                           1700003600000,       (char *)CAP_ALL,       (char *)"alice"};
    assert_int_equal(rta_token_details_encode(&d, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(b.data, "{\"token\":\"appId.tok\",\"keyName\":\"appId.keyId\","
                                "\"issued\":1700000000000,\"expires\":1700003600000,"
                                "\"capability\":" CAP_ALL_QUOTED ",\"clientId\":\"alice\"}");

    rta_buf_reset(&b);
    d.client_id = NULL;
    assert_int_equal(rta_token_details_encode(&d, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(b.data, "{\"token\":\"appId.tok\",\"keyName\":\"appId.keyId\","
                                "\"issued\":1700000000000,\"expires\":1700003600000,"
                                "\"capability\":" CAP_ALL_QUOTED "}");
    assert_null(strstr(b.data, "clientId"));

    rta_buf_reset(&b);
    d.client_id = (char *)"*";
    assert_int_equal(rta_token_details_encode(&d, RTA_FORMAT_JSON, &b), 0);
    assert_non_null(strstr(b.data, ",\"clientId\":\"*\"}"));

    /* A JWT known only as a string: only the token is sent. */
    rta_buf_reset(&b);
    rta_token_details jwt = {(char *)"eyJ.a.b", NULL, 0, 0, NULL, NULL};
    assert_int_equal(rta_token_details_encode(&jwt, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(b.data, "{\"token\":\"eyJ.a.b\"}");
    rta_buf_free(&b);
}

/* Strings are escaped exactly as JSON.stringify does. */
static void test_json_escaping(void **state)
{
    (void)state;
    rta_buf b = RTA_BUF_INIT;
    rta_token_params p = {0, NULL, (char *)"a\"b\\c\n\x01\xc3\xa9", 0};
    assert_int_equal(rta_token_params_encode(&p, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(b.data, "{\"clientId\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"}");
    rta_token_params back;
    rta_error err;
    assert_int_equal(rta_token_params_decode(b.data, b.len, RTA_FORMAT_JSON, &back, &err), 0);
    assert_string_equal(back.client_id, p.client_id);
    rta_token_params_clear(&back);
    rta_buf_free(&b);
}

/* ---- exact msgpack bytes ---------------------------------------------------------------- */

/* msgpack-c picks the smallest integer encoding, as @ably/msgpack-js does: fixint, 0xcd
 * uint16, 0xce uint32, 0xcf uint64 for a ms timestamp beyond 2^32. */
static void test_msgpack_exact_bytes(void **state)
{
    (void)state;
    rta_buf b = RTA_BUF_INIT;
    rta_token_params p = {3600000, NULL, NULL, 1700000000000};
    assert_int_equal(rta_token_params_encode(&p, RTA_FORMAT_MSGPACK, &b), 0);
    static const unsigned char want_params[] = {
        0x82,                                                      /* fixmap, 2 entries */
        0xa3, 't',  't',  'l',                                     /* fixstr "ttl" */
        0xce, 0x00, 0x36, 0xee, 0x80,                              /* uint32 3600000 */
        0xa9, 't',  'i',  'm',  'e',  's',  't',  'a',  'm',  'p', /* fixstr "timestamp" */
        0xcf, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,      /* uint64 1700000000000 */
    };
    assert_int_equal(b.len, sizeof(want_params));
    assert_memory_equal(b.data, want_params, sizeof(want_params));

    rta_buf_reset(&b);
    rta_token_details d = {(char *)"t", NULL, 5, 1000, NULL, (char *)"*"};
    assert_int_equal(rta_token_details_encode(&d, RTA_FORMAT_MSGPACK, &b), 0);
    static const unsigned char want_details[] = {
        0x84,                                                        /* fixmap, 4 entries */
        0xa5, 't', 'o', 'k', 'e', 'n', 0xa1, 't',                    /* token: "t" */
        0xa6, 'i', 's', 's', 'u', 'e', 'd',  0x05,                   /* issued: positive fixint 5 */
        0xa7, 'e', 'x', 'p', 'i', 'r', 'e',  's',  0xcd, 0x03, 0xe8, /* expires: uint16 1000 */
        0xa8, 'c', 'l', 'i', 'e', 'n', 't',  'I',  'd',  0xa1, '*',  /* clientId: "*" */
    };
    assert_int_equal(b.len, sizeof(want_details));
    assert_memory_equal(b.data, want_details, sizeof(want_details));

    rta_buf_reset(&b);
    char *targets[] = {(char *)"clientId:bob"};
    rta_revoke_request rv = {targets, 1, 0, 1};
    assert_int_equal(rta_revoke_request_encode(&rv, RTA_FORMAT_MSGPACK, &b), 0);
    static const unsigned char want_revoke[] =
        {
            0x82, 0xa7, 't',  'a', 'r', 'g', 'e', 't', 's', 0x91, /* targets: fixarray of 1 */
            0xac, 'c',  'l',  'i', 'e', 'n', 't', 'I', 'd', ':',  'b',
            'o',  'b',  0xb1, 'a', 'l', 'l', 'o', 'w', 'R', 'e',  'a',
            'u',  't',  'h',  'M', 'a', 'r', 'g', 'i', 'n', 0xc3, /* allowReauthMargin: true */
        };
    assert_int_equal(b.len, sizeof(want_revoke));
    assert_memory_equal(b.data, want_revoke, sizeof(want_revoke));
    rta_buf_free(&b);
}

/* ---- round trips ------------------------------------------------------------------------ */

/* JSON -> struct -> msgpack -> struct -> JSON must reproduce the first JSON byte for byte. */
static void roundtrip(int type, const char *json)
{
    any_value a, b;
    rta_error err;
    rta_buf mp = RTA_BUF_INIT, js = RTA_BUF_INIT;
    assert_int_equal(decode_as(type, json, strlen(json), RTA_FORMAT_JSON, &a, &err), 0);
    int rc1 = 0, rc2 = 0;
    switch (type) {
    case T_PARAMS:
        rc1 = rta_token_params_encode(&a.params, RTA_FORMAT_MSGPACK, &mp);
        break;
    case T_REQUEST:
        rc1 = rta_token_request_encode(&a.request, RTA_FORMAT_MSGPACK, &mp);
        break;
    case T_DETAILS:
        rc1 = rta_token_details_encode(&a.details, RTA_FORMAT_MSGPACK, &mp);
        break;
    case T_REVOKE:
        rc1 = rta_revoke_request_encode(&a.revoke, RTA_FORMAT_MSGPACK, &mp);
        break;
    default:
        rc1 = rta_revocation_batch_encode(&a.batch, RTA_FORMAT_MSGPACK, &mp);
        break;
    }
    assert_int_equal(rc1, 0);
    assert_int_equal(decode_as(type, mp.data, mp.len, RTA_FORMAT_MSGPACK, &b, &err), 0);
    switch (type) {
    case T_PARAMS:
        rc2 = rta_token_params_encode(&b.params, RTA_FORMAT_JSON, &js);
        break;
    case T_REQUEST:
        rc2 = rta_token_request_encode(&b.request, RTA_FORMAT_JSON, &js);
        break;
    case T_DETAILS:
        rc2 = rta_token_details_encode(&b.details, RTA_FORMAT_JSON, &js);
        break;
    case T_REVOKE:
        rc2 = rta_revoke_request_encode(&b.revoke, RTA_FORMAT_JSON, &js);
        break;
    default:
        rc2 = rta_revocation_batch_encode(&b.batch, RTA_FORMAT_JSON, &js);
        break;
    }
    assert_int_equal(rc2, 0);
    assert_string_equal(js.data, json);
    clear_as(type, &a);
    clear_as(type, &b);
    rta_buf_free(&mp);
    rta_buf_free(&js);
}

static void test_roundtrip_all_types(void **state)
{
    (void)state;
    roundtrip(T_PARAMS, "{\"ttl\":1,\"capability\":" CAP_ALL_QUOTED
                        ",\"clientId\":\"\xe2\x82\xac\",\"timestamp\":-5}");
    roundtrip(T_PARAMS, "{}");
    roundtrip(T_REQUEST,
              "{\"keyName\":\"appId.keyId\",\"ttl\":86400000,\"capability\":" CAP_ALL_QUOTED
              ",\"clientId\":\"alice\",\"timestamp\":1700000000000,\"nonce\":"
              "\"1234567890123456\",\"mac\":\"abc=\"}");
    roundtrip(T_REQUEST, "{\"keyName\":\"a.b\",\"timestamp\":0}"); /* unsigned, D.13 */
    roundtrip(T_DETAILS,
              "{\"token\":\"appId.tok\",\"keyName\":\"appId.keyId\",\"issued\":"
              "1700000000000,\"expires\":1700003600000,\"capability\":" CAP_ALL_QUOTED "}");
    roundtrip(T_DETAILS, "{\"token\":\"x\",\"clientId\":\"*\"}");
    roundtrip(T_REVOKE, "{\"targets\":[\"clientId:bob\",\"invalidType:abc\"],\"issuedBefore\":123,"
                        "\"allowReauthMargin\":false}");
    roundtrip(T_REVOKE, "{\"targets\":[]}");
    roundtrip(T_BATCH,
              "{\"successCount\":1,\"failureCount\":1,\"results\":[{\"target\":\"clientId:x\","
              "\"issuedBefore\":1700000000000,\"appliesAt\":1700000030000},{\"target\":"
              "\"invalidType:abc\",\"error\":{\"message\":\"bad target\",\"code\":40000,"
              "\"statusCode\":400,\"href\":\"https://help.ably.io/error/40000\"}}]}");
    roundtrip(T_BATCH, "{\"successCount\":0,\"failureCount\":0,\"results\":[]}");
}

/* ---- decoding what ably-js sends -------------------------------------------------------- */

/* TE, S-17: ably-js's requestToken body (its own key order, wire protocol 4.2); unknown
 * fields are ignored as Ably does; msgpack carries the same. */
static void test_decode_ablyjs_request(void **state)
{
    (void)state;
    const char *json = "{\"keyName\":\"app.key\",\"clientId\":\"alice\",\"ttl\":1000000,"
                       "\"timestamp\":1795810591066,\"nonce\":\"7055518762137576\","
                       "\"mac\":\"SAdw+=\",\"extra\":{\"nested\":[1,2.5,{\"x\":null}]},"
                       "\"capabilityX\":5}";
    rta_buf mp = RTA_BUF_INIT;
    json_to_msgpack(json, &mp);
    for (int fmt = 0; fmt < 2; fmt++) {
        rta_token_request r;
        rta_error err;
        int rc = fmt ? rta_token_request_decode(mp.data, mp.len, RTA_FORMAT_MSGPACK, &r, &err)
                     : rta_token_request_decode(json, strlen(json), RTA_FORMAT_JSON, &r, &err);
        assert_int_equal(rc, 0);
        assert_string_equal(r.key_name, "app.key");
        assert_string_equal(r.client_id, "alice");
        assert_int_equal(r.ttl, 1000000);
        assert_int_equal(r.timestamp, 1795810591066);
        assert_string_equal(r.nonce, "7055518762137576");
        assert_string_equal(r.mac, "SAdw+=");
        assert_null(r.capability);
        rta_token_request_clear(&r);
        assert_null(r.key_name);
    }
    rta_buf_free(&mp);
}

/* TD, TD7: a TokenDetails reply with fields we do not know. */
static void test_decode_details_reply(void **state)
{
    (void)state;
    const char *json = "{\"token\":\"xVLyHw.DQ\",\"keyName\":\"xVLyHw.LMJZxw\",\"issued\":"
                       "1700000000000,\"expires\":1700003600000.0,\"capability\":" CAP_ALL_QUOTED
                       ",\"clientId\":\"*\",\"connectionLimit\":{\"a\":[true]},\"x\":null}";
    rta_token_details d;
    rta_error err;
    assert_int_equal(rta_token_details_decode(json, strlen(json), RTA_FORMAT_JSON, &d, &err), 0);
    assert_string_equal(d.token, "xVLyHw.DQ");
    assert_string_equal(d.key_name, "xVLyHw.LMJZxw");
    assert_int_equal(d.issued, 1700000000000);
    assert_int_equal(d.expires, 1700003600000); /* an integral float is an integer (JS) */
    assert_string_equal(d.capability, CAP_ALL);
    assert_string_equal(d.client_id, "*");
    rta_token_details_clear(&d);

    /* An anonymous token: no clientId means NULL (TD6), and so does an explicit null. */
    const char *anon = "{\"token\":\"t\",\"issued\":1,\"expires\":2,\"clientId\":null}";
    assert_int_equal(rta_token_details_decode(anon, strlen(anon), RTA_FORMAT_JSON, &d, &err), 0);
    assert_null(d.client_id);
    assert_null(d.key_name);
    assert_int_equal(d.expires, 2);
    rta_token_details_clear(&d);
}

/* TE4/TK2a and wire protocol 4.2: ttl may be the decimal string ably-js signed; any other
 * string is an invalid value (40003), not a malformed body. */
static void test_ttl_as_string(void **state)
{
    (void)state;
    const char *json = "{\"keyName\":\"a.b\",\"ttl\":\"3600000\",\"timestamp\":1}";
    rta_buf mp = RTA_BUF_INIT;
    json_to_msgpack(json, &mp);
    rta_token_request r;
    rta_error err;
    assert_int_equal(rta_token_request_decode(json, strlen(json), RTA_FORMAT_JSON, &r, &err), 0);
    assert_int_equal(r.ttl, 3600000);
    rta_token_request_clear(&r);
    assert_int_equal(rta_token_request_decode(mp.data, mp.len, RTA_FORMAT_MSGPACK, &r, &err), 0);
    assert_int_equal(r.ttl, 3600000);
    rta_token_request_clear(&r);
    rta_buf_free(&mp);

    rta_token_params p;
    const char *pj = "{\"ttl\":\"1\"}";
    assert_int_equal(rta_token_params_decode(pj, strlen(pj), RTA_FORMAT_JSON, &p, &err), 0);
    assert_int_equal(p.ttl, 1);
    rta_token_params_clear(&p);

    static const char *bad[] = {
        "\"notanumber\"",           "\"-5\"", "\"\"", "\" 5\"", "\"5.0\"", "\"+5\"",
        "\"99999999999999999999\"", "1.5",    "1e300"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"keyName\":\"a.b\",\"ttl\":%s,\"timestamp\":1}", bad[i]);
        expect_fail(T_REQUEST, body, RTA_ERR_INVALID_PARAMETER, "ttl");
        snprintf(body, sizeof(body), "{\"ttl\":%s}", bad[i]);
        expect_fail(T_PARAMS, body, RTA_ERR_INVALID_PARAMETER, "ttl");
    }
    /* Only ttl takes a string: a string timestamp is the wrong type. */
    expect_fail(T_REQUEST, "{\"keyName\":\"a.b\",\"timestamp\":\"1\"}", RTA_ERR_INVALID_BODY,
                "timestamp");
}

/* Numbers: integral floats are integers; out of the int64 range is 40003 for the fields the
 * token service range-checks, 40001 elsewhere; negatives are decoded as they are. */
static void test_numbers(void **state)
{
    (void)state;
    rta_token_request r;
    rta_error err;
    const char *neg = "{\"keyName\":\"a.b\",\"ttl\":-1,\"timestamp\":-5}";
    assert_int_equal(rta_token_request_decode(neg, strlen(neg), RTA_FORMAT_JSON, &r, &err), 0);
    assert_int_equal(r.ttl, -1);
    assert_int_equal(r.timestamp, -5);
    rta_token_request_clear(&r);

    /* msgpack uint64 above INT64_MAX, and a float64 3600000.0. */
    static const unsigned char big[] = {0x81, 0xa3, 't',  't',  'l',  0xcf, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    rta_token_params p;
    assert_int_equal(rta_token_params_decode(big, sizeof(big), RTA_FORMAT_MSGPACK, &p, &err),
                     RTA_ERR_INVALID_PARAMETER);
    assert_non_null(strstr(err.message, "ttl"));
    assert_true(all_zero(&p, sizeof(p)));
    static const unsigned char dbl[] = {0x81, 0xa3, 't',  't',  'l',  0xcb, 0x41,
                                        0x4b, 0x77, 0x40, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(rta_token_params_decode(dbl, sizeof(dbl), RTA_FORMAT_MSGPACK, &p, &err), 0);
    assert_int_equal(p.ttl, 3600000);
    rta_token_params_clear(&p);

    expect_fail(T_PARAMS, "{\"timestamp\":1e19}", RTA_ERR_INVALID_PARAMETER, "timestamp");
    expect_fail(T_DETAILS, "{\"token\":\"t\",\"issued\":1.5}", RTA_ERR_INVALID_BODY, "issued");
    expect_fail(T_REVOKE, "{\"targets\":[],\"issuedBefore\":0.5}", RTA_ERR_INVALID_PARAMETER,
                "issuedBefore");
    expect_fail(T_BATCH, "{\"successCount\":4294967296,\"failureCount\":0,\"results\":[]}",
                RTA_ERR_INVALID_BODY, "successCount");
}

/* A wrong type is 40001 and the message names the field. */
static void test_wrong_types(void **state)
{
    (void)state;
    static const struct {
        int type;
        const char *json;
        const char *field;
    } cases[] = {
        {T_PARAMS, "{\"capability\":{\"*\":[\"*\"]}}", "capability"}, /* TK2b: a string */
        {T_PARAMS, "{\"clientId\":5}", "clientId"},
        {T_PARAMS, "{\"ttl\":true}", "ttl"},
        {T_PARAMS, "{\"timestamp\":[1]}", "timestamp"},
        {T_REQUEST, "{\"keyName\":5,\"timestamp\":1}", "keyName"},
        {T_REQUEST, "{\"keyName\":\"a.b\",\"timestamp\":1,\"nonce\":16}", "nonce"},
        {T_REQUEST, "{\"keyName\":\"a.b\",\"timestamp\":1,\"nonce\":\"n\",\"mac\":{}}", "mac"},
        {T_REQUEST, "{\"keyName\":\"a.b\",\"timestamp\":1,\"capability\":[]}", "capability"},
        {T_REQUEST, "{\"keyName\":\"a.b\",\"timestamp\":1,\"clientId\":false}", "clientId"},
        {T_DETAILS, "{\"token\":1}", "token"},
        {T_DETAILS, "{\"token\":\"t\",\"expires\":\"1\"}", "expires"},
        {T_DETAILS, "{\"token\":\"t\",\"keyName\":[]}", "keyName"},
        {T_REVOKE, "{\"targets\":\"clientId:bob\"}", "targets"},
        {T_REVOKE, "{\"targets\":[\"clientId:a\",7]}", "targets[1]"},
        {T_REVOKE, "{\"targets\":[],\"allowReauthMargin\":\"yes\"}", "allowReauthMargin"},
        {T_REVOKE, "{\"targets\":[],\"issuedBefore\":\"1\"}", "issuedBefore"},
        {T_BATCH, "{\"successCount\":\"1\",\"failureCount\":0,\"results\":[]}", "successCount"},
        {T_BATCH, "{\"successCount\":0,\"failureCount\":0,\"results\":{}}", "results"},
        {T_BATCH, "{\"successCount\":0,\"failureCount\":0,\"results\":[5]}", "results[0]"},
        {T_BATCH,
         "{\"successCount\":0,\"failureCount\":1,\"results\":[{\"target\":\"x\",\"error\":"
         "\"bad\"}]}",
         "results[0].error"},
        {T_BATCH,
         "{\"successCount\":0,\"failureCount\":1,\"results\":[{\"target\":\"x\",\"error\":{"
         "\"message\":\"m\",\"code\":\"40000\",\"statusCode\":400}}]}",
         "results[0].error.code"},
        {T_BATCH,
         "{\"successCount\":1,\"failureCount\":0,\"results\":[{\"target\":1,\"issuedBefore\":1,"
         "\"appliesAt\":1}]}",
         "results[0].target"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_fail(cases[i].type, cases[i].json, RTA_ERR_INVALID_BODY, cases[i].field);
}

/* Absent is not null (RSA5, RSA6): null reads as absent, for optional and required fields. */
static void test_null_is_absent(void **state)
{
    (void)state;
    const char *json = "{\"keyName\":\"a.b\",\"ttl\":null,\"capability\":null,\"clientId\":null,"
                       "\"timestamp\":7,\"nonce\":null,\"mac\":null}";
    rta_buf mp = RTA_BUF_INIT;
    json_to_msgpack(json, &mp);
    rta_token_request r;
    rta_error err;
    for (int fmt = 0; fmt < 2; fmt++) {
        int rc = fmt ? rta_token_request_decode(mp.data, mp.len, RTA_FORMAT_MSGPACK, &r, &err)
                     : rta_token_request_decode(json, strlen(json), RTA_FORMAT_JSON, &r, &err);
        assert_int_equal(rc, 0);
        assert_string_equal(r.key_name, "a.b");
        assert_int_equal(r.ttl, 0);
        assert_null(r.capability);
        assert_null(r.client_id);
        assert_int_equal(r.timestamp, 7);
        assert_null(r.nonce);
        assert_null(r.mac);
        rta_token_request_clear(&r);
    }
    rta_buf_free(&mp);

    rta_revoke_request rv;
    const char *rj = "{\"targets\":[\"clientId:a\"],\"issuedBefore\":null,"
                     "\"allowReauthMargin\":null}";
    assert_int_equal(rta_revoke_request_decode(rj, strlen(rj), RTA_FORMAT_JSON, &rv, &err), 0);
    assert_int_equal(rv.issued_before, 0);
    assert_int_equal(rv.allow_reauth_margin, -1);
    rta_revoke_request_clear(&rv);

    /* A required field given as null is missing. */
    expect_fail(T_REQUEST, "{\"keyName\":null,\"timestamp\":1}", RTA_ERR_INVALID_BODY, "keyName");
    expect_fail(T_DETAILS, "{\"token\":null}", RTA_ERR_INVALID_BODY, "token");
    expect_fail(T_REVOKE, "{\"targets\":null}", RTA_ERR_INVALID_BODY, "targets");
}

/* S-18: keyName and timestamp are always required, nonce whenever there is a mac. */
static void test_required_fields(void **state)
{
    (void)state;
    expect_fail(T_REQUEST, "{\"timestamp\":1,\"nonce\":\"n\",\"mac\":\"m\"}", RTA_ERR_INVALID_BODY,
                "keyName");
    expect_fail(T_REQUEST, "{\"keyName\":\"a.b\",\"nonce\":\"n\",\"mac\":\"m\"}",
                RTA_ERR_INVALID_BODY, "timestamp");
    expect_fail(T_REQUEST, "{\"keyName\":\"a.b\",\"timestamp\":1,\"mac\":\"m\"}",
                RTA_ERR_INVALID_BODY, "nonce");
    expect_fail(T_DETAILS, "{\"issued\":1,\"expires\":2}", RTA_ERR_INVALID_BODY, "token");
    expect_fail(T_REVOKE, "{\"issuedBefore\":1}", RTA_ERR_INVALID_BODY, "targets");
    expect_fail(T_BATCH, "{\"failureCount\":0,\"results\":[]}", RTA_ERR_INVALID_BODY,
                "successCount");
    expect_fail(T_BATCH, "{\"successCount\":0,\"results\":[]}", RTA_ERR_INVALID_BODY,
                "failureCount");
    expect_fail(T_BATCH, "{\"successCount\":0,\"failureCount\":0}", RTA_ERR_INVALID_BODY,
                "results");
    /* TRS2: a success carries both times; TRF2 / wire 2.3: an ErrorInfo all three fields. */
    expect_fail(T_BATCH,
                "{\"successCount\":1,\"failureCount\":0,\"results\":[{\"target\":\"a\","
                "\"issuedBefore\":1}]}",
                RTA_ERR_INVALID_BODY, "results[0].appliesAt");
    expect_fail(T_BATCH,
                "{\"successCount\":1,\"failureCount\":1,\"results\":[{\"target\":\"a\","
                "\"issuedBefore\":1,\"appliesAt\":2},{\"target\":\"b\",\"error\":{\"message\":"
                "\"m\",\"code\":40000}}]}",
                RTA_ERR_INVALID_BODY, "results[1].error.statusCode");
    expect_fail(T_BATCH,
                "{\"successCount\":0,\"failureCount\":1,\"results\":[{\"target\":\"b\",\"error\":"
                "{\"code\":40000,\"statusCode\":400}}]}",
                RTA_ERR_INVALID_BODY, "results[0].error.message");
    expect_fail(T_BATCH,
                "{\"successCount\":0,\"failureCount\":1,\"results\":[{\"error\":{\"message\":\"m\","
                "\"code\":40000,\"statusCode\":400}}]}",
                RTA_ERR_INVALID_BODY, "results[0].target");
}

/* Header limits: a string at the limit is fine, one byte over is 40001 naming the field. */
static void test_string_limits(void **state)
{
    (void)state;
    static const struct {
        int type;
        const char *key;
        size_t max;
        const char *rest;
    } cases[] = {
        {T_REQUEST, "keyName", RTA_MAX_KEY_NAME_LEN, ",\"timestamp\":1"},
        {T_PARAMS, "clientId", RTA_MAX_CLIENT_ID_LEN, ""},
        {T_PARAMS, "capability", RTA_CAPABILITY_MAX_BYTES, ""},
        {T_REQUEST, "nonce", RTA_MAX_NONCE_LEN, ",\"keyName\":\"a.b\",\"timestamp\":1"},
        {T_REQUEST, "mac", RTA_MAX_MAC_LEN, ",\"nonce\":\"n\",\"keyName\":\"a.b\",\"timestamp\":1"},
        {T_DETAILS, "token", RTA_MAX_TOKEN_LEN, ""}, /* RSA4f: 128 KiB */
        {T_DETAILS, "clientId", RTA_MAX_CLIENT_ID_LEN, ",\"token\":\"t\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *ok = body_with_long(cases[i].key, cases[i].max, cases[i].rest);
        any_value v;
        rta_error err;
        int rc = decode_as(cases[i].type, ok, strlen(ok), RTA_FORMAT_JSON, &v, &err);
        if (rc) fail_msg("%s at its limit: %s", cases[i].key, err.message);
        clear_as(cases[i].type, &v);
        free(ok);
        char *bad = body_with_long(cases[i].key, cases[i].max + 1, cases[i].rest);
        expect_fail(cases[i].type, bad, RTA_ERR_INVALID_BODY, cases[i].key);
        free(bad);
    }

    /* A revocation target: 2048 bytes fine, 2049 not. */
    char *t = repeat('x', RTA_MAX_TARGET_LEN + 1);
    char body[RTA_MAX_TARGET_LEN + 64];
    snprintf(body, sizeof(body), "{\"targets\":[\"%.*s\"]}", RTA_MAX_TARGET_LEN, t);
    rta_revoke_request rv;
    rta_error err;
    assert_int_equal(rta_revoke_request_decode(body, strlen(body), RTA_FORMAT_JSON, &rv, &err), 0);
    assert_int_equal(strlen(rv.targets[0]), RTA_MAX_TARGET_LEN);
    rta_revoke_request_clear(&rv);
    snprintf(body, sizeof(body), "{\"targets\":[\"%s\"]}", t);
    expect_fail(T_REVOKE, body, RTA_ERR_INVALID_BODY, "targets[0]");
    free(t);
}

/* Strings must be valid UTF-8 without NUL, whichever format carried them. */
static void test_bad_strings(void **state)
{
    (void)state;
    rta_token_details d;
    rta_error err;
    /* {"token": <str c3 28>}: a lead byte followed by a non-continuation byte. */
    static const unsigned char bad_utf8[] = {0x81, 0xa5, 't', 'o', 'k', 'e', 'n', 0xa2, 0xc3, 0x28};
    memset(&d, 0xa5, sizeof(d));
    assert_int_equal(
        rta_token_details_decode(bad_utf8, sizeof(bad_utf8), RTA_FORMAT_MSGPACK, &d, &err),
        RTA_ERR_INVALID_BODY);
    assert_true(all_zero(&d, sizeof(d)));
    /* An overlong encoding of '/' and a UTF-16 surrogate, in the value and in a key. */
    static const unsigned char overlong[] = {0x81, 0xa5, 't', 'o', 'k', 'e', 'n', 0xa2, 0xc0, 0xaf};
    assert_int_equal(
        rta_token_details_decode(overlong, sizeof(overlong), RTA_FORMAT_MSGPACK, &d, &err),
        RTA_ERR_INVALID_BODY);
    static const unsigned char surrogate_key[] = {0x82, 0xa5, 't',  'o',  'k',  'e',  'n',
                                                  0xa1, 't',  0xa3, 0xed, 0xa0, 0x80, 0xc0};
    assert_int_equal(rta_token_details_decode(surrogate_key, sizeof(surrogate_key),
                                              RTA_FORMAT_MSGPACK, &d, &err),
                     RTA_ERR_INVALID_BODY);
    /* Embedded NUL: msgpack carries it raw, JSON as \u0000; neither may reach a C string. */
    static const unsigned char nul[] = {0x81, 0xa5, 't', 'o', 'k', 'e', 'n', 0xa3, 'a', 0, 'b'};
    assert_int_equal(rta_token_details_decode(nul, sizeof(nul), RTA_FORMAT_MSGPACK, &d, &err),
                     RTA_ERR_INVALID_BODY);
    assert_non_null(strstr(err.message, "token"));
    const char *jnul = "{\"token\":\"a\\u0000b\"}";
    assert_int_equal(rta_token_details_decode(jnul, strlen(jnul), RTA_FORMAT_JSON, &d, &err),
                     RTA_ERR_INVALID_BODY);
    /* A msgpack bin where a string belongs is the wrong type. */
    static const unsigned char bin[] = {0x81, 0xa5, 't', 'o', 'k', 'e', 'n', 0xc4, 0x01, 'a'};
    assert_int_equal(rta_token_details_decode(bin, sizeof(bin), RTA_FORMAT_MSGPACK, &d, &err),
                     RTA_ERR_INVALID_BODY);
    assert_non_null(strstr(err.message, "token"));
    assert_true(all_zero(&d, sizeof(d)));
}

/* Every proper prefix of a valid msgpack body is rejected, with nothing allocated. */
static void test_truncated_msgpack(void **state)
{
    (void)state;
    rta_buf b = RTA_BUF_INIT;
    rta_token_request r = {(char *)"appId.keyId", 3600000,       (char *)CAP_ALL,
                           (char *)"alice",       1700000000000, (char *)"1234567890123456",
                           (char *)"mac="};
    assert_int_equal(rta_token_request_encode(&r, RTA_FORMAT_MSGPACK, &b), 0);
    for (size_t n = 0; n < b.len; n++) {
        rta_token_request out;
        rta_error err;
        memset(&out, 0xa5, sizeof(out));
        assert_int_equal(rta_token_request_decode(b.data, n, RTA_FORMAT_MSGPACK, &out, &err),
                         RTA_ERR_INVALID_BODY);
        assert_true(all_zero(&out, sizeof(out)));
    }
    /* ... and so is one trailing byte. */
    rta_buf_putc(&b, 0);
    rta_token_request out;
    rta_error err;
    assert_int_equal(rta_token_request_decode(b.data, b.len, RTA_FORMAT_MSGPACK, &out, &err),
                     RTA_ERR_INVALID_BODY);
    rta_buf_free(&b);

    const char *trailing = "{\"token\":\"a\"} x";
    rta_token_details d;
    assert_int_equal(
        rta_token_details_decode(trailing, strlen(trailing), RTA_FORMAT_JSON, &d, &err),
        RTA_ERR_INVALID_BODY);
    assert_int_equal(rta_token_details_decode("{\"token\":", 9, RTA_FORMAT_JSON, &d, &err),
                     RTA_ERR_INVALID_BODY);
}

/* A body that is not an object is 40001 for every type, in both formats. */
static void test_non_object_root(void **state)
{
    (void)state;
    static const char *json[] = {"[]", "\"{}\"", "42", "null", "true", "[{\"token\":\"t\"}]"};
    static const unsigned char mp[][2] = {{0x90, 0}, {0xc0, 0}, {0xa0, 0}, {0x2a, 0}, {0xc3, 0}};
    for (int type = T_PARAMS; type <= T_BATCH; type++) {
        for (size_t i = 0; i < sizeof(json) / sizeof(json[0]); i++)
            expect_fail(type, json[i], RTA_ERR_INVALID_BODY, NULL);
        for (size_t i = 0; i < sizeof(mp) / sizeof(mp[0]); i++) {
            any_value v;
            rta_error err;
            memset(&v, 0xa5, sizeof(v));
            assert_int_equal(decode_as(type, mp[i], 1, RTA_FORMAT_MSGPACK, &v, &err),
                             RTA_ERR_INVALID_BODY);
            assert_true(all_zero(&v, type_size(type)));
        }
        any_value v;
        rta_error err;
        assert_int_equal(decode_as(type, "", 0, RTA_FORMAT_JSON, &v, &err), RTA_ERR_INVALID_BODY);
        assert_int_equal(decode_as(type, "", 0, RTA_FORMAT_MSGPACK, &v, &err),
                         RTA_ERR_INVALID_BODY);
    }
}

/* S-67: at most 100 targets; targets are kept verbatim (an unknown type is a per-target
 * failure for the token service to report, S-68). */
static void test_revoke_request(void **state)
{
    (void)state;
    rta_buf body = RTA_BUF_INIT;
    rta_buf_puts(&body, "{\"targets\":[");
    for (int i = 0; i < RTA_MAX_REVOCATION_TARGETS; i++)
        rta_buf_printf(&body, "%s\"clientId:c%d\"", i ? "," : "", i);
    rta_buf_puts(&body, "],\"issuedBefore\":1700000000000,\"allowReauthMargin\":true}");
    rta_revoke_request r;
    rta_error err;
    assert_int_equal(rta_revoke_request_decode(body.data, body.len, RTA_FORMAT_JSON, &r, &err), 0);
    assert_int_equal(r.target_count, 100);
    assert_string_equal(r.targets[0], "clientId:c0");
    assert_string_equal(r.targets[99], "clientId:c99");
    assert_int_equal(r.issued_before, 1700000000000);
    assert_int_equal(r.allow_reauth_margin, 1);
    rta_revoke_request_clear(&r);

    rta_buf_reset(&body);
    rta_buf_puts(&body, "{\"targets\":[");
    for (int i = 0; i <= RTA_MAX_REVOCATION_TARGETS; i++)
        rta_buf_printf(&body, "%s\"clientId:c%d\"", i ? "," : "", i);
    rta_buf_puts(&body, "]}");
    expect_fail(T_REVOKE, body.data, RTA_ERR_INVALID_PARAMETER, "targets");
    rta_buf_free(&body);

    const char *odd = "{\"targets\":[\"invalidType:abc\",\"nocolon\",\"\"],"
                      "\"allowReauthMargin\":false}";
    assert_int_equal(rta_revoke_request_decode(odd, strlen(odd), RTA_FORMAT_JSON, &r, &err), 0);
    assert_int_equal(r.target_count, 3);
    assert_string_equal(r.targets[1], "nocolon");
    assert_string_equal(r.targets[2], "");
    assert_int_equal(r.allow_reauth_margin, 0);
    assert_int_equal(r.issued_before, 0);
    rta_revoke_request_clear(&r);

    /* Options are sent only when given (wire protocol 4.4). */
    rta_buf out = RTA_BUF_INIT;
    char *targets[] = {(char *)"clientId:bob", (char *)"invalidType:abc"};
    rta_revoke_request rq = {targets, 2, 0, -1};
    assert_int_equal(rta_revoke_request_encode(&rq, RTA_FORMAT_JSON, &out), 0);
    assert_string_equal(out.data, "{\"targets\":[\"clientId:bob\",\"invalidType:abc\"]}");
    rta_buf_reset(&out);
    rq.issued_before = 123;
    rq.allow_reauth_margin = 1;
    assert_int_equal(rta_revoke_request_encode(&rq, RTA_FORMAT_JSON, &out), 0);
    assert_string_equal(out.data, "{\"targets\":[\"clientId:bob\",\"invalidType:abc\"],"
                                  "\"issuedBefore\":123,\"allowReauthMargin\":true}");
    rta_buf_free(&out);
}

/* BAR2a-c, TRS2, TRF2: the reply with one success and one failure (wire protocol 4.4). */
static void test_batch_mixed(void **state)
{
    (void)state;
    const char *json =
        "{\"successCount\":2,\"failureCount\":1,\"results\":["
        "{\"target\":\"clientId:x\",\"issuedBefore\":1700000000000,\"appliesAt\":1700000030000},"
        "{\"target\":\"clientId:y\",\"issuedBefore\":1700000000001,\"appliesAt\":1700000000002,"
        "\"extra\":1},"
        "{\"target\":\"invalidType:abc\",\"error\":{\"message\":\"Invalid target type\","
        "\"code\":40000,\"statusCode\":400,\"href\":\"https://help.ably.io/error/40000\"}}]}";
    rta_buf mp = RTA_BUF_INIT;
    json_to_msgpack(json, &mp);
    for (int fmt = 0; fmt < 2; fmt++) {
        rta_revocation_batch b;
        rta_error err;
        int rc = fmt ? rta_revocation_batch_decode(mp.data, mp.len, RTA_FORMAT_MSGPACK, &b, &err)
                     : rta_revocation_batch_decode(json, strlen(json), RTA_FORMAT_JSON, &b, &err);
        assert_int_equal(rc, 0);
        assert_int_equal(b.success_count, 2);
        assert_int_equal(b.failure_count, 1);
        assert_int_equal(b.result_count, 3);
        assert_string_equal(b.results[0].target, "clientId:x");
        assert_int_equal(b.results[0].failed, 0);
        assert_int_equal(b.results[0].issued_before, 1700000000000);
        assert_int_equal(b.results[0].applies_at, 1700000030000);
        assert_int_equal(b.results[1].applies_at, 1700000000002);
        assert_string_equal(b.results[2].target, "invalidType:abc");
        assert_int_equal(b.results[2].failed, 1);
        assert_int_equal(b.results[2].error_code, 40000);
        assert_int_equal(b.results[2].error_status_code, 400);
        assert_string_equal(b.results[2].error_message, "Invalid target type");
        assert_null(b.results[0].error_message);
        rta_revocation_batch_clear(&b);
    }
    rta_buf_free(&mp);

    /* Writing: every ErrorInfo gets message, code and statusCode (wire 2.3), plus href; a
     * missing message falls back to the code's default text. */
    rta_revocation_result results[] = {
        {(char *)"clientId:x", 0, 1700000000000, 1700000030000, 0, 0, NULL},
        {(char *)"invalidType:abc", 1, 0, 0, 40000, 400, NULL},
    };
    rta_revocation_batch b = {1, 1, results, 2};
    rta_buf out = RTA_BUF_INIT;
    assert_int_equal(rta_revocation_batch_encode(&b, RTA_FORMAT_JSON, &out), 0);
    assert_string_equal(
        out.data, "{\"successCount\":1,\"failureCount\":1,\"results\":[{\"target\":"
                  "\"clientId:x\",\"issuedBefore\":1700000000000,\"appliesAt\":1700000030000},"
                  "{\"target\":\"invalidType:abc\",\"error\":{\"message\":\"Bad request\","
                  "\"code\":40000,\"statusCode\":400,"
                  "\"href\":\"https://help.ably.io/error/40000\"}}]}");
    rta_buf_free(&out);
}

/* The results array grows as entries prove valid: many results decode in order, and a body
 * of empty entries fails at the first one. */
static void test_batch_many_results(void **state)
{
    (void)state;
    rta_buf body = RTA_BUF_INIT;
    rta_buf_puts(&body, "{\"successCount\":37,\"failureCount\":0,\"results\":[");
    for (int i = 0; i < 37; i++)
        rta_buf_printf(&body,
                       "%s{\"target\":\"clientId:c%d\",\"issuedBefore\":%d,\"appliesAt\":%d}",
                       i ? "," : "", i, i, i + 1);
    rta_buf_puts(&body, "]}");
    rta_revocation_batch b;
    rta_error err;
    assert_int_equal(rta_revocation_batch_decode(body.data, body.len, RTA_FORMAT_JSON, &b, &err),
                     0);
    assert_int_equal(b.result_count, 37);
    for (int i = 0; i < 37; i++) {
        char want[32];
        snprintf(want, sizeof(want), "clientId:c%d", i);
        assert_string_equal(b.results[i].target, want);
        assert_int_equal(b.results[i].issued_before, i);
        assert_int_equal(b.results[i].applies_at, i + 1);
    }
    rta_revocation_batch_clear(&b);

    rta_buf_reset(&body);
    rta_buf_puts(&body, "{\"successCount\":0,\"failureCount\":0,\"results\":[");
    for (int i = 0; i < 10000; i++)
        rta_buf_puts(&body, i ? ",{}" : "{}");
    rta_buf_puts(&body, "]}");
    expect_fail(T_BATCH, body.data, RTA_ERR_INVALID_BODY, "results[0].target");
    rta_buf_free(&body);
}

/* ---- embedding -------------------------------------------------------------------------- */

/* The _write and _decode_node forms work inside a larger document (authUrl replies, JWT
 * claims, protocol messages). */
static void test_embedded(void **state)
{
    (void)state;
    rta_buf out = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_JSON, &out);
    rta_token_details d = {(char *)"tok", NULL, 1, 2, NULL, NULL};
    rta_token_request r = {(char *)"a.b", 0, NULL, NULL, 3, (char *)"n", (char *)"m"};
    rta_w_map(&w, 3);
    rta_w_key(&w, "tokenDetails");
    rta_token_details_write(&d, &w);
    rta_w_key(&w, "tokenRequest");
    rta_token_request_write(&r, &w);
    rta_w_key(&w, "params");
    rta_w_map(&w, 1);
    rta_w_key(&w, "clientId");
    rta_w_str(&w, "bob");
    rta_w_map_end(&w);
    rta_w_map_end(&w);
    assert_int_equal(rta_writer_status(&w), 0);
    assert_string_equal(out.data,
                        "{\"tokenDetails\":{\"token\":\"tok\",\"issued\":1,\"expires\":2},"
                        "\"tokenRequest\":{\"keyName\":\"a.b\",\"timestamp\":3,\"nonce\":"
                        "\"n\",\"mac\":\"m\"},\"params\":{\"clientId\":\"bob\"}}");

    rta_doc *doc;
    rta_error err;
    assert_int_equal(rta_doc_parse(&doc, RTA_FORMAT_JSON, out.data, out.len, NULL, &err), 0);
    rta_node root = rta_doc_root(doc);
    rta_token_details d2;
    rta_token_request r2;
    rta_token_params p2;
    assert_int_equal(rta_token_details_decode_node(rta_node_get(root, "tokenDetails"), &d2, &err),
                     0);
    assert_string_equal(d2.token, "tok");
    assert_int_equal(d2.expires, 2);
    assert_int_equal(rta_token_request_decode_node(rta_node_get(root, "tokenRequest"), &r2, &err),
                     0);
    assert_string_equal(r2.mac, "m");
    assert_int_equal(r2.timestamp, 3);
    assert_int_equal(rta_token_params_decode_node(rta_node_get(root, "params"), &p2, &err), 0);
    assert_string_equal(p2.client_id, "bob");
    /* A missing member is not an object. */
    rta_token_details d3;
    assert_int_equal(rta_token_details_decode_node(rta_node_get(root, "nope"), &d3, &err),
                     RTA_ERR_INVALID_BODY);
    assert_true(all_zero(&d3, sizeof(d3)));
    rta_token_details_clear(&d2);
    rta_token_request_clear(&r2);
    rta_token_params_clear(&p2);
    rta_doc_free(doc);
    rta_buf_free(&out);
}

/* Shared codec regression: msgpack-c leaves strings pointing into the buffer it parsed, so a
 * doc used to dangle once the caller reused or freed its input, against codec.h's "valid until
 * rta_doc_free()". The doc now owns a copy (fix in codec_read.c). */
static void test_msgpack_doc_outlives_input(void **state)
{
    (void)state;
    static const unsigned char body[] = {0x81, 0xa5, 't', 'o', 'k', 'e', 'n', 0xa2, 'h', 'i'};
    unsigned char *input = malloc(sizeof(body));
    assert_non_null(input);
    memcpy(input, body, sizeof(body));
    rta_doc *doc;
    rta_error err;
    assert_int_equal(rta_doc_parse(&doc, RTA_FORMAT_MSGPACK, input, sizeof(body), NULL, &err), 0);
    memset(input, 'X', sizeof(body)); /* the caller reuses its buffer ... */
    free(input);                      /* ... or frees it */
    rta_node root = rta_doc_root(doc);
    assert_int_equal(rta_node_len(root), 1);
    size_t key_len = 0;
    const char *key = rta_node_key_at(root, 0, &key_len);
    assert_non_null(key);
    assert_int_equal(key_len, 5);
    assert_memory_equal(key, "token", 5);
    rta_token_details d;
    assert_int_equal(rta_token_details_decode_node(root, &d, &err), 0);
    assert_string_equal(d.token, "hi");
    rta_token_details_clear(&d);
    rta_doc_free(doc);
}

/* ---- failures leave nothing behind ------------------------------------------------------ */

/* A failure after some strings were copied must free them and zero the struct (ASan and
 * valgrind check the freeing). */
static void test_failure_after_partial_fill(void **state)
{
    (void)state;
    expect_fail(T_REQUEST,
                "{\"keyName\":\"a.b\",\"capability\":\"{}\",\"clientId\":\"c\",\"timestamp\":1,"
                "\"nonce\":\"n\",\"mac\":7}",
                RTA_ERR_INVALID_BODY, "mac");
    expect_fail(T_DETAILS,
                "{\"token\":\"t\",\"keyName\":\"k\",\"capability\":\"{}\",\"clientId\":1}",
                RTA_ERR_INVALID_BODY, "clientId");
    expect_fail(T_REVOKE, "{\"targets\":[\"a\",\"b\",\"c\"],\"allowReauthMargin\":1}",
                RTA_ERR_INVALID_BODY, "allowReauthMargin");
    expect_fail(T_BATCH,
                "{\"successCount\":1,\"failureCount\":1,\"results\":[{\"target\":\"a\","
                "\"issuedBefore\":1,\"appliesAt\":2},{\"target\":\"b\",\"error\":{\"message\":"
                "\"m\",\"code\":40000,\"statusCode\":\"400\"}}]}",
                RTA_ERR_INVALID_BODY, "results[1].error.statusCode");
}

/* ---- clear and copy --------------------------------------------------------------------- */

static char *dup(const char *s)
{
    char *p = malloc(strlen(s) + 1);
    assert_non_null(p);
    strcpy(p, s);
    return p;
}

static void test_copy(void **state)
{
    (void)state;
    rta_token_params p = {100, dup(CAP_ALL), dup("alice"), 5}, pc;
    assert_int_equal(rta_token_params_copy(&p, &pc), 0);
    assert_ptr_not_equal(pc.capability, p.capability);
    assert_string_equal(pc.capability, CAP_ALL);
    assert_string_equal(pc.client_id, "alice");
    assert_int_equal(pc.ttl, 100);
    assert_int_equal(pc.timestamp, 5);
    rta_token_params_clear(&p);
    assert_true(all_zero(&p, sizeof(p)));
    assert_string_equal(pc.client_id, "alice"); /* the copy owns its own strings */
    rta_token_params_clear(&pc);

    rta_token_request r = {dup("a.b"), 7, NULL, dup("*"), 9, dup("nonce"), dup("mac")}, rc;
    assert_int_equal(rta_token_request_copy(&r, &rc), 0);
    assert_ptr_not_equal(rc.key_name, r.key_name);
    assert_string_equal(rc.key_name, "a.b");
    assert_null(rc.capability); /* absent stays absent */
    assert_string_equal(rc.client_id, "*");
    assert_string_equal(rc.nonce, "nonce");
    assert_string_equal(rc.mac, "mac");
    assert_int_equal(rc.ttl, 7);
    assert_int_equal(rc.timestamp, 9);
    rta_token_request_clear(&r);
    rta_token_request_clear(&rc);

    rta_token_details d = {dup("tok"), dup("a.b"), 1, 2, dup("{}"), NULL}, dc;
    assert_int_equal(rta_token_details_copy(&d, &dc), 0);
    assert_ptr_not_equal(dc.token, d.token);
    assert_string_equal(dc.token, "tok");
    assert_string_equal(dc.key_name, "a.b");
    assert_string_equal(dc.capability, "{}");
    assert_null(dc.client_id);
    assert_int_equal(dc.issued, 1);
    assert_int_equal(dc.expires, 2);
    /* Copying onto itself replaces the strings with fresh copies: free the old ones after. */
    char *old_token = d.token, *old_key = d.key_name, *old_cap = d.capability;
    assert_int_equal(rta_token_details_copy(&d, &d), 0);
    assert_string_equal(d.token, "tok");
    free(old_token);
    free(old_key);
    free(old_cap);
    rta_token_details_clear(&d);
    rta_token_details_clear(&dc);

    rta_token_details empty = {0}, ec;
    memset(&ec, 0xa5, sizeof(ec));
    assert_int_equal(rta_token_details_copy(&empty, &ec), 0);
    assert_true(all_zero(&ec, sizeof(ec)));
}

static void test_clear(void **state)
{
    (void)state;
    /* NULL is accepted, as free(NULL) is. */
    rta_token_params_clear(NULL);
    rta_token_request_clear(NULL);
    rta_token_details_clear(NULL);
    rta_revocation_target_clear(NULL);
    rta_revoke_request_clear(NULL);
    rta_revocation_batch_clear(NULL);

    rta_revocation_target t = {dup("clientId"), dup("bob")};
    rta_revocation_target_clear(&t);
    assert_true(all_zero(&t, sizeof(t)));

    rta_revoke_request r = {calloc(2, sizeof(char *)), 2, 5, 1};
    assert_non_null(r.targets);
    r.targets[0] = dup("clientId:a");
    r.targets[1] = NULL; /* a hole is tolerated */
    rta_revoke_request_clear(&r);
    assert_true(all_zero(&r, sizeof(r)));

    rta_revocation_batch b = {1, 1, calloc(2, sizeof(rta_revocation_result)), 2};
    assert_non_null(b.results);
    b.results[0].target = dup("a");
    b.results[1].target = dup("b");
    b.results[1].error_message = dup("m");
    rta_revocation_batch_clear(&b);
    assert_true(all_zero(&b, sizeof(b)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_json_exact),
        cmocka_unit_test(test_request_json_exact),
        cmocka_unit_test(test_details_json_exact),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_msgpack_exact_bytes),
        cmocka_unit_test(test_roundtrip_all_types),
        cmocka_unit_test(test_decode_ablyjs_request),
        cmocka_unit_test(test_decode_details_reply),
        cmocka_unit_test(test_ttl_as_string),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_null_is_absent),
        cmocka_unit_test(test_required_fields),
        cmocka_unit_test(test_string_limits),
        cmocka_unit_test(test_bad_strings),
        cmocka_unit_test(test_truncated_msgpack),
        cmocka_unit_test(test_non_object_root),
        cmocka_unit_test(test_revoke_request),
        cmocka_unit_test(test_batch_mixed),
        cmocka_unit_test(test_batch_many_results),
        cmocka_unit_test(test_embedded),
        cmocka_unit_test(test_msgpack_doc_outlives_input),
        cmocka_unit_test(test_failure_after_partial_fill),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
