/* test_codec.c: the shared JSON/msgpack reader and writer, base64 and rta_buf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/codec.h"

static rta_doc *parse_ok(rta_format fmt, const void *data, size_t len)
{
    rta_doc *doc = NULL;
    rta_error err;
    int rc = rta_doc_parse(&doc, fmt, data, len, NULL, &err);
    if (rc) fail_msg("parse failed: %d %s", rc, err.message);
    return doc;
}

static int parse_code(rta_format fmt, const void *data, size_t len, const rta_parse_limits *lim)
{
    rta_doc *doc = NULL;
    rta_error err;
    int rc = rta_doc_parse(&doc, fmt, data, len, lim, &err);
    if (rc == 0) rta_doc_free(doc);
    return rc;
}

/* JSON text -> msgpack bytes -> JSON text must be the identity on compact input. */
static char *reencode(rta_format from, const void *data, size_t len, rta_format to, size_t *out_len)
{
    rta_doc *doc = parse_ok(from, data, len);
    rta_buf out = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, to, &out);
    rta_w_node(&w, rta_doc_root(doc));
    assert_int_equal(rta_writer_status(&w), 0);
    rta_doc_free(doc);
    return rta_buf_detach(&out, out_len);
}

static void test_json_msgpack_round_trip(void **state)
{
    (void)state;
    const char *json = "{\"action\":15,\"channel\":\"room\",\"msgSerial\":0,\"messages\":[{\"name\":"
                       "\"greet\",\"data\":\"hi\\n\\\"x\\\"\\u0001\"}],\"t\":1700000000000,\"f\":"
                       "true,\"n\":null,\"neg\":-5,\"r\":1.5}";
    size_t mp_len, back_len;
    char *mp = reencode(RTA_FORMAT_JSON, json, strlen(json), RTA_FORMAT_MSGPACK, &mp_len);
    char *back = reencode(RTA_FORMAT_MSGPACK, mp, mp_len, RTA_FORMAT_JSON, &back_len);
    assert_string_equal(back, json);
    free(mp);
    free(back);
}

static void test_msgpack_smallest_ints(void **state)
{
    (void)state;
    rta_buf out = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_MSGPACK, &out);
    rta_w_array(&w, 4);
    rta_w_int(&w, 5);             /* positive fixint */
    rta_w_int(&w, -1);            /* negative fixint */
    rta_w_int(&w, 300);           /* uint16 */
    rta_w_int(&w, 1700000000000); /* uint64, as @ably/msgpack-js writes timestamps */
    rta_w_array_end(&w);
    const unsigned char want[] = {0x94, 0x05, 0xff, 0xcd, 0x01, 0x2c, 0xcf, 0x00, 0x00,
                                  0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00};
    assert_int_equal(out.len, sizeof(want));
    assert_memory_equal(out.data, want, sizeof(want));
    rta_buf_free(&out);
}

static void test_json_stringify_escaping(void **state)
{
    (void)state;
    rta_buf out = RTA_BUF_INIT;
    const char s[] = "a\"b\\c\b\f\n\r\t\x1f/\xc3\xa9\x7f";
    rta_json_quote(&out, s, sizeof(s) - 1);
    /* JSON.stringify: short escapes, \u00XX lowercase, '/' and non-ASCII and DEL verbatim */
    assert_string_equal(out.data, "\"a\\\"b\\\\c\\b\\f\\n\\r\\t\\u001f/\xc3\xa9\x7f\"");
    rta_buf_free(&out);
}

static void test_writer_nesting_and_commas(void **state)
{
    (void)state;
    rta_buf out = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_JSON, &out);
    rta_w_map(&w, 3);
    rta_w_key(&w, "a");
    rta_w_array(&w, 2);
    rta_w_map(&w, 0);
    rta_w_map_end(&w);
    rta_w_array(&w, 0);
    rta_w_array_end(&w);
    rta_w_array_end(&w);
    rta_w_key(&w, "b");
    rta_w_bool(&w, 0);
    rta_w_key(&w, "c");
    rta_w_bin(&w, "\xff\x00", 2);
    rta_w_map_end(&w);
    assert_int_equal(rta_writer_status(&w), 0);
    assert_string_equal(out.data, "{\"a\":[{},[]],\"b\":false,\"c\":\"/wA=\"}");
    rta_buf_free(&out);
}

static void test_node_access(void **state)
{
    (void)state;
    const char *json = "{\"s\":\"x\",\"i\":42,\"f\":3600000.0,\"g\":1.5,\"b\":true,\"a\":[1,2]}";
    rta_doc *doc = parse_ok(RTA_FORMAT_JSON, json, strlen(json));
    rta_node root = rta_doc_root(doc);
    int64_t v;
    assert_true(rta_node_int(rta_node_get(root, "i"), &v));
    assert_int_equal(v, 42);
    /* JavaScript numbers: an integral float is an integer, 1.5 is not */
    assert_true(rta_node_int(rta_node_get(root, "f"), &v));
    assert_int_equal(v, 3600000);
    assert_false(rta_node_int(rta_node_get(root, "g"), &v));
    assert_int_equal(rta_node_kind(rta_node_get(root, "missing")), RTA_NODE_ABSENT);
    assert_int_equal(rta_node_len(rta_node_get(root, "a")), 2);
    assert_int_equal(rta_node_kind(rta_node_at(rta_node_get(root, "a"), 2)), RTA_NODE_ABSENT);
    size_t klen;
    assert_string_equal(rta_node_key_at(root, 1, &klen), "i");
    char *copy = NULL;
    rta_error err;
    assert_int_equal(rta_node_strdup(rta_node_get(root, "s"), 10, "s", &copy, &err), 0);
    assert_string_equal(copy, "x");
    free(copy);
    assert_int_equal(rta_node_strdup(rta_node_get(root, "i"), 10, "i", &copy, &err), 40001);
    assert_non_null(strstr(err.message, "i must be a string"));
    rta_doc_free(doc);
}

static void test_parse_rejections(void **state)
{
    (void)state;
    /* malformed, trailing bytes, duplicate keys */
    assert_int_equal(parse_code(RTA_FORMAT_JSON, "{\"a\":", 5, NULL), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_JSON, "{} x", 4, NULL), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_JSON, "{\"a\":1,\"a\":2}", 13, NULL), 40001);
    /* invalid UTF-8 in JSON and msgpack strings */
    assert_int_equal(parse_code(RTA_FORMAT_JSON, "[\"\xc3\x28\"]", 6, NULL), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\xa2\xc3\x28", 3, NULL), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\xa3\xed\xa0\x80", 4, NULL), 40001);
    /* size and depth limits */
    rta_parse_limits lim = {10, 3};
    assert_int_equal(parse_code(RTA_FORMAT_JSON, "[1,2,3,4,5]", 11, &lim), 40009);
    assert_int_equal(parse_code(RTA_FORMAT_JSON, "[[[1]]]", 7, &lim), 0);
    assert_int_equal(parse_code(RTA_FORMAT_JSON, "[[[[1]]]]", 9, &lim), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\x91\x91\x91\x91\x01", 5, &lim), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\x91\x91\x91\x01", 4, &lim), 0);
}

/* msgpack-c allocates from declared counts: lies must be refused before it sees them. */
static void test_msgpack_prescan_lies(void **state)
{
    (void)state;
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\xdd\xff\xff\xff\xff\x01", 6, NULL), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\xdf\x7f\xff\xff\xff", 5, NULL), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\xdb\xff\xff\xff\xff", 5, NULL), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\xc6\x00\x00\x00\x05\x01", 6, NULL), 40001);
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\x92\x01", 2, NULL), 40001); /* short */
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\x01\x02", 2, NULL), 40001); /* trailing */
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\xc1", 1, NULL), 40001);     /* never used */
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\x92\x01\x02", 3, NULL), 0);
    assert_int_equal(parse_code(RTA_FORMAT_MSGPACK, "\xd4\x00\x00", 3, NULL), 0); /* fixext1 */
}

static void test_base64_strict(void **state)
{
    (void)state;
    rta_buf out = RTA_BUF_INIT;
    rta_base64_encode(&out, "any carnal pleas", 16, RTA_BASE64_STD);
    assert_string_equal(out.data, "YW55IGNhcm5hbCBwbGVhcw==");
    rta_buf_reset(&out);
    rta_base64_encode(&out, "\xfb\xff", 2, RTA_BASE64_URL);
    assert_string_equal(out.data, "-_8");
    rta_buf_free(&out);

    char dst[32];
    assert_int_equal(rta_base64_decode("YW55IGNhcm5hbCBwbGVhcw==", 24, dst, RTA_BASE64_STD), 16);
    assert_memory_equal(dst, "any carnal pleas", 16);
    assert_int_equal(rta_base64_decode("-_8", 3, dst, RTA_BASE64_URL), 2);
    assert_int_equal(rta_base64_decode("", 0, dst, RTA_BASE64_STD), 0);
    /* non-canonical or foreign: wrong padding, stray bits, whitespace, other alphabet */
    assert_int_equal(rta_base64_decode("YW55", 3, dst, RTA_BASE64_STD), -1);
    assert_int_equal(rta_base64_decode("YR==", 4, dst, RTA_BASE64_STD), -1);
    assert_int_equal(rta_base64_decode("YW5 5", 5, dst, RTA_BASE64_STD), -1);
    assert_int_equal(rta_base64_decode("-_8=", 4, dst, RTA_BASE64_STD), -1);
    assert_int_equal(rta_base64_decode("+/8", 3, dst, RTA_BASE64_URL), -1);
    assert_int_equal(rta_base64_decode("YW55=", 5, dst, RTA_BASE64_URL), -1);
    assert_int_equal(rta_base64_decode("Y", 1, dst, RTA_BASE64_URL), -1);
}

static void test_buf_borrowed_grows_to_heap(void **state)
{
    (void)state;
    char stack[4];
    rta_buf b;
    rta_buf_init_borrowed(&b, stack, sizeof(stack));
    rta_buf_puts(&b, "abc");
    assert_ptr_equal(b.data, stack);
    rta_buf_puts(&b, "defgh");
    assert_ptr_not_equal(b.data, stack);
    assert_string_equal(b.data, "abcdefgh");
    rta_buf_printf(&b, "-%d-%s", 42, "a-long-string-that-does-not-fit-in-the-128-byte-scratch-"
                                      "buffer-of-printf-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    assert_int_equal(b.len, 8 + 4 + 56 + 55 + 40);
    size_t len;
    char *p = rta_buf_detach(&b, &len);
    assert_int_equal(len, 163);
    free(p);
}

/* codec_flat.c: flat objects of scalars skip jansson; everything else is declined (and then
 * read by jansson with its own verdict). fuzz_flat_json checks equivalence at large. */
static void test_flat_json_fast_path(void **state)
{
    (void)state;
    const char *accepted[] = {
        "{\"keyName\":\"a.b\",\"ttl\":3600000,\"capability\":\"{\\\"*\\\":[\\\"*\\\"]}\",\"mac\":\"x/+=\"}",
        " { } ", "{\"a\":true,\"b\":false,\"c\":null,\"d\":-12,\"e\":\"\\n\\t\\/\"}",
    };
    const char *declined[] = {"{\"a\":1.5}", "{\"a\":1e3}", "{\"a\":01}", "{\"a\":-0}",
                              "{\"a\":1,\"a\":2}", "{\"a\":{}}", "{\"a\":[]}",
                              "{\"\\u00e9\":1}", "{\"\xc3\xa9\":1}", "[]", "{\"a\":1}x",
                              "{\"a\" 1}", "{\"a\":1,}", "{\"a\":tru}", "{\"a\":1234567890123456789}"};
    rta_buf mp = RTA_BUF_INIT;
    for (size_t i = 0; i < sizeof(accepted) / sizeof(*accepted); i++)
        assert_int_equal(rta__json_flat_to_msgpack(accepted[i], strlen(accepted[i]), &mp), 1);
    for (size_t i = 0; i < sizeof(declined) / sizeof(*declined); i++)
        assert_int_equal(rta__json_flat_to_msgpack(declined[i], strlen(declined[i]), &mp), 0);
    rta_buf_free(&mp);

    rta_doc *doc;
    rta_error err;
    assert_int_equal(rta_doc_parse_scalars(&doc, RTA_FORMAT_JSON, accepted[0], strlen(accepted[0]),
                                           NULL, &err), 0);
    rta_node root = rta_doc_root(doc);
    int64_t ttl;
    const char *s;
    size_t n;
    assert_true(rta_node_int(rta_node_get(root, "ttl"), &ttl));
    assert_int_equal(ttl, 3600000);
    assert_true(rta_node_str(rta_node_get(root, "capability"), &s, &n));
    assert_int_equal(n, strlen("{\"*\":[\"*\"]}"));
    assert_memory_equal(s, "{\"*\":[\"*\"]}", n);
    rta_doc_free(doc);
    /* declined input: jansson's verdict, e.g. duplicate keys are an error */
    assert_int_equal(rta_doc_parse_scalars(&doc, RTA_FORMAT_JSON, declined[4], strlen(declined[4]),
                                           NULL, &err), RTA_ERR_INVALID_BODY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_msgpack_round_trip),
        cmocka_unit_test(test_msgpack_smallest_ints),
        cmocka_unit_test(test_json_stringify_escaping),
        cmocka_unit_test(test_writer_nesting_and_commas),
        cmocka_unit_test(test_node_access),
        cmocka_unit_test(test_parse_rejections),
        cmocka_unit_test(test_msgpack_prescan_lies),
        cmocka_unit_test(test_base64_strict),
        cmocka_unit_test(test_buf_borrowed_grows_to_heap),
        cmocka_unit_test(test_flat_json_fast_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
