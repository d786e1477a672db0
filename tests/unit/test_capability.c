/* test_capability.c: the capability algebra (checklist B6, S-38..S-47; spec TC2, TD5, TE3).
 *
 * Expected canonical texts were produced with ably-js's c14n() under Node (JSON.parse, keys
 * sorted with the default sort, op lists sorted, JSON.stringify), so they pin byte-for-byte
 * compatibility rather than our own reading of it. Test names carry the checklist IDs; the
 * JST cases are the ably-js test/rest/capability.test.js cases of the same name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/capability.h"
#include "core/codec.h"

/* The ably-common test app's keys (S-15), verbatim including the whitespace. */
#define KEY0 "{\"*\":[\"*\"]}"
#define KEY1                                                                                       \
    "{ \"cansubscribe:*\":[\"subscribe\"], \"canpublish:*\":[\"publish\"], "                       \
    "\"canpublish:andpresence\":[\"presence\",\"publish\"], "                                      \
    "\"pushenabled:*\":[\"publish\",\"subscribe\",\"push-subscribe\"], "                           \
    "\"pushenabled:admin:*\":[\"publish\",\"subscribe\",\"push-admin\"] }"
#define KEY1_C14N                                                                                  \
    "{\"canpublish:*\":[\"publish\"],\"canpublish:andpresence\":[\"presence\",\"publish\"],"       \
    "\"cansubscribe:*\":[\"subscribe\"],\"pushenabled:*\":[\"publish\",\"push-subscribe\","        \
    "\"subscribe\"],\"pushenabled:admin:*\":[\"publish\",\"push-admin\",\"subscribe\"]}"
#define KEY2                                                                                       \
    "{ \"channel0\":[\"publish\"], \"channel1\":[\"publish\"], \"channel2\":[\"publish\", "        \
    "\"subscribe\"], \"channel3\":[\"subscribe\"], \"channel4\":[\"presence\", \"publish\", "      \
    "\"subscribe\"], \"channel5\":[\"presence\"], \"channel6\":[\"*\"] }"
#define KEY2_C14N                                                                                  \
    "{\"channel0\":[\"publish\"],\"channel1\":[\"publish\"],\"channel2\":[\"publish\","            \
    "\"subscribe\"],\"channel3\":[\"subscribe\"],\"channel4\":[\"presence\",\"publish\","          \
    "\"subscribe\"],\"channel5\":[\"presence\"],\"channel6\":[\"*\"]}"
#define KEY3 "{ \"*\":[\"subscribe\"] }"
#define KEY5 "{ \"[*]*\":[\"*\"] }"

/* ---- helpers ------------------------------------------------------------------------- */

static rta_capability parse_ok(const char *json)
{
    rta_capability cap;
    rta_error err;
    int rc = rta_capability_parse(json, strlen(json), &cap, &err);
    if (rc) fail_msg("parse of %s failed: %d %s", json, rc, err.message);
    return cap;
}

/* Returns the parse error code (0 on success), checking the error fields match it. */
static int parse_code(const char *json, size_t len)
{
    rta_capability cap = {(rta_capability_entry *)1, 99}; /* must be reset on failure */
    rta_error err;
    memset(&err, 0, sizeof(err));
    int rc = rta_capability_parse(json, len, &cap, &err);
    if (rc == 0) {
        rta_capability_free(&cap);
        return 0;
    }
    assert_null(cap.entries);
    assert_int_equal(cap.count, 0);
    assert_int_equal(err.code, rc);
    assert_int_equal(err.status_code, rc == 40000 ? 400 : 500);
    assert_true(strlen(err.message) > 0);
    return rc;
}

static char *canon_cap(const rta_capability *cap)
{
    rta_buf b = RTA_BUF_INIT;
    rta_capability_canonical(cap, &b);
    char *s = rta_buf_detach(&b, NULL);
    assert_non_null(s);
    return s;
}

static void assert_canonical(const char *json, const char *expected)
{
    char *out = NULL;
    rta_error err;
    int rc = rta_capability_canonicalise(json, strlen(json), &out, &err);
    if (rc) fail_msg("canonicalise of %s failed: %d %s", json, rc, err.message);
    assert_string_equal(out, expected);
    free(out);
}

/* requested ∩ key as canonical text; fails the test on an error. */
static void assert_intersect(const char *key, const char *req, const char *expected)
{
    rta_capability k = parse_ok(key), r = parse_ok(req), out;
    rta_error err;
    int rc = rta_capability_intersect(&k, &r, &out, &err);
    if (rc) fail_msg("intersect failed: %d %s", rc, err.message);
    char *s = canon_cap(&out);
    assert_string_equal(s, expected);
    free(s);
    rta_capability_free(&out);
    rta_capability_free(&k);
    rta_capability_free(&r);
}

static void assert_intersect_empty(const char *key, const char *req)
{
    rta_capability k = parse_ok(key), r = parse_ok(req), out = {(rta_capability_entry *)1, 9};
    rta_error err;
    assert_int_equal(rta_capability_intersect(&k, &r, &out, &err), 40160);
    assert_int_equal(err.code, 40160);
    assert_int_equal(err.status_code, 401);
    assert_string_equal(err.message, "Requested capability not permitted by key");
    assert_null(out.entries);
    assert_int_equal(out.count, 0);
    rta_capability_free(&k);
    rta_capability_free(&r);
}

static int covers(const char *p, const char *q)
{
    return rta_capability_pattern_covers(p, strlen(p), q, strlen(q));
}

static int allows(const rta_capability *cap, const char *name, uint32_t op)
{
    return rta_capability_allows(cap, name, strlen(name), op);
}

/* ---- operations (S-39) --------------------------------------------------------------- */

static void test_s39_operation_names(void **state)
{
    (void)state;
    static const char *const names[RTA_OP_COUNT] = {"annotation-publish",
                                                    "annotation-subscribe",
                                                    "channel-metadata",
                                                    "history",
                                                    "message-delete-any",
                                                    "message-delete-own",
                                                    "message-update-any",
                                                    "message-update-own",
                                                    "object-publish",
                                                    "object-subscribe",
                                                    "presence",
                                                    "privileged-headers",
                                                    "publish",
                                                    "push-admin",
                                                    "push-subscribe",
                                                    "stats",
                                                    "subscribe"};
    for (unsigned i = 0; i < RTA_OP_COUNT; i++) {
        assert_int_equal(rta_op_from_name(names[i], strlen(names[i])), 1u << i);
        assert_string_equal(rta_op_name(1u << i), names[i]);
        /* the bit order is the JavaScript sort order, which canonical output relies on */
        if (i) assert_true(strcmp(names[i - 1], names[i]) < 0);
    }
    assert_int_equal(rta_op_from_name("*", 1), RTA_OP_ALL);
    assert_string_equal(rta_op_name(RTA_OP_ALL), "*");
    assert_int_equal(rta_op_from_name("publish_", 8), 0);
    assert_int_equal(rta_op_from_name("publis", 6), 0);
    assert_int_equal(rta_op_from_name("Publish", 7), 0);
    assert_int_equal(rta_op_from_name("", 0), 0);
    assert_int_equal(rta_op_from_name("publish", 6), 0); /* length, not strlen, counts */
    assert_null(rta_op_name(0));
    assert_null(rta_op_name(RTA_OP_PUBLISH | RTA_OP_SUBSCRIBE));
    assert_null(rta_op_name(1u << 20));
}

/* ---- canonical form (S-38) ----------------------------------------------------------- */

static void test_s38_canonical_sorts_and_strips(void **state)
{
    (void)state;
    assert_canonical("{\"chan2\":[\"subscribe\",\"publish\"],\"*\":[\"*\"]}",
                     "{\"*\":[\"*\"],\"chan2\":[\"publish\",\"subscribe\"]}");
    assert_canonical(" {\n \"b\" : [ \"history\" , \"stats\" ] ,\t\"a\":[\"presence\"] } ",
                     "{\"a\":[\"presence\"],\"b\":[\"history\",\"stats\"]}");
    assert_canonical("{}", "{}");
    /* duplicates merge (ably-js would keep both; the header chose to merge) */
    assert_canonical("{\"x\":[\"publish\",\"subscribe\",\"publish\"]}",
                     "{\"x\":[\"publish\",\"subscribe\"]}");
    assert_canonical("{\"x\":[\"*\",\"*\"]}", "{\"x\":[\"*\"]}");
    assert_canonical(KEY1, KEY1_C14N);
    assert_canonical(KEY2, KEY2_C14N);
    assert_canonical(KEY5, "{\"[*]*\":[\"*\"]}");
    /* every operation, listed in reverse */
    assert_canonical(
        "{\"all\":[\"subscribe\",\"stats\",\"push-subscribe\",\"push-admin\",\"publish\","
        "\"privileged-headers\",\"presence\",\"object-subscribe\",\"object-publish\","
        "\"message-update-own\",\"message-update-any\",\"message-delete-own\","
        "\"message-delete-any\",\"history\",\"channel-metadata\",\"annotation-subscribe\","
        "\"annotation-publish\"]}",
        "{\"all\":[\"annotation-publish\",\"annotation-subscribe\",\"channel-metadata\","
        "\"history\",\"message-delete-any\",\"message-delete-own\",\"message-update-any\","
        "\"message-update-own\",\"object-publish\",\"object-subscribe\",\"presence\","
        "\"privileged-headers\",\"publish\",\"push-admin\",\"push-subscribe\",\"stats\","
        "\"subscribe\"]}");
}

/* JSON.stringify escaping: quote, backslash, \n, other controls as \u00XX; U+2028 and
 * non-ASCII stay raw; JSON input escapes are decoded first. */
static void test_s38_canonical_escaping(void **state)
{
    (void)state;
    assert_canonical("{\"a\\\"b\\\\c\\n\\u0001\\u2028\":[\"presence\"],\"\\u00e9\\/\":"
                     "[\"history\"],\"t\\tb\\b\\u001f\\u007f\":[\"stats\"]}",
                     "{\"a\\\"b\\\\c\\n\\u0001\xe2\x80\xa8\":[\"presence\"],"
                     "\"t\\tb\\b\\u001f\x7f\":[\"stats\"],\"\xc3\xa9/\":[\"history\"]}");
}

/* Keys sort by UTF-16 code units, as JavaScript's sort(): U+1F600 (a surrogate pair, 0xD83D)
 * sorts before U+FF01 even though its UTF-8 bytes (F0..) are greater than EF... */
static void test_s38_canonical_non_bmp_order(void **state)
{
    (void)state;
    assert_canonical("{\"\\uff01\":[\"publish\"],\"\\ud83d\\ude00\":[\"subscribe\"],"
                     "\"\\u00e9\":[\"history\"]}",
                     "{\"\xc3\xa9\":[\"history\"],\"\xf0\x9f\x98\x80\":[\"subscribe\"],"
                     "\"\xef\xbc\x81\":[\"publish\"]}");
    /* U+E000 (EE 80 80) against U+10000 (F0 90 80 80), and U+D7FF (ED 9F BF) below both */
    assert_canonical("{\"x\xee\x80\x80\":[\"publish\"],\"x\xf0\x90\x80\x80\":[\"publish\"],"
                     "\"x\xed\x9f\xbf\":[\"publish\"]}",
                     "{\"x\xed\x9f\xbf\":[\"publish\"],\"x\xf0\x90\x80\x80\":[\"publish\"],"
                     "\"x\xee\x80\x80\":[\"publish\"]}");
    /* a prefix sorts first; within the same plane byte order holds */
    assert_canonical("{\"ab\":[\"publish\"],\"a\":[\"publish\"],\"\xf0\x9f\x98\x81\":[\"publish\"],"
                     "\"\xf0\x9f\x98\x80\":[\"publish\"]}",
                     "{\"a\":[\"publish\"],\"ab\":[\"publish\"],\"\xf0\x9f\x98\x80\":[\"publish\"],"
                     "\"\xf0\x9f\x98\x81\":[\"publish\"]}");
}

/* JSON.stringify puts array-index keys ("0".."4294967294") first, numerically. */
static void test_s38_canonical_array_index_keys(void **state)
{
    (void)state;
    assert_canonical("{\"*\":[\"*\"],\"10\":[\"publish\"],\"9\":[\"subscribe\"],\"01\":"
                     "[\"history\"],\"4294967295\":[\"presence\"],\"4294967294\":[\"stats\"],"
                     "\"a\":[\"publish\"],\"0\":[\"publish\"],\"-1\":[\"publish\"]}",
                     "{\"0\":[\"publish\"],\"9\":[\"subscribe\"],\"10\":[\"publish\"],"
                     "\"4294967294\":[\"stats\"],\"*\":[\"*\"],\"-1\":[\"publish\"],\"01\":"
                     "[\"history\"],\"4294967295\":[\"presence\"],\"a\":[\"publish\"]}");
    assert_canonical("{\"99999999999\":[\"publish\"],\"5\":[\"publish\"]}",
                     "{\"5\":[\"publish\"],\"99999999999\":[\"publish\"]}");
}

static void test_s38_round_trip(void **state)
{
    (void)state;
    const char *inputs[] = {
        KEY0,
        KEY1,
        KEY2,
        KEY3,
        KEY5,
        ("{\"[meta]*\":[\"subscribe\"],\"[?rewind=1]x\":[\"history\"],"
         "\"\\ud83d\\ude00\":[\"publish\"],\"12\":[\"stats\"],\"q\\\"\":[\"*\"]}")};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        rta_capability a = parse_ok(inputs[i]);
        char *ca = canon_cap(&a);
        rta_capability b = parse_ok(ca);
        char *cb = canon_cap(&b);
        assert_string_equal(ca, cb);
        assert_int_equal(a.count, b.count);
        for (size_t j = 0; j < a.count; j++) {
            assert_string_equal(a.entries[j].resource, b.entries[j].resource);
            assert_int_equal(a.entries[j].resource_len, strlen(a.entries[j].resource));
            assert_int_equal(a.entries[j].ops, b.entries[j].ops);
        }
        free(ca);
        free(cb);
        rta_capability_free(&a);
        rta_capability_free(&b);
    }
}

static void test_parse_entries_and_copy(void **state)
{
    (void)state;
    rta_capability cap = parse_ok(KEY2);
    assert_int_equal(cap.count, 7);
    assert_string_equal(cap.entries[2].resource, "channel2");
    assert_int_equal(cap.entries[2].ops, RTA_OP_PUBLISH | RTA_OP_SUBSCRIBE);
    assert_int_equal(cap.entries[6].ops, RTA_OP_ALL); /* exactly the "*" bit */
    assert_false(rta_capability_is_empty(&cap));

    rta_capability copy;
    assert_int_equal(rta_capability_copy(&cap, &copy), 0);
    char *c1 = canon_cap(&cap);
    rta_capability_free(&cap);
    assert_null(cap.entries);
    rta_capability_free(&cap); /* twice is harmless */
    char *c2 = canon_cap(&copy);
    assert_string_equal(c1, c2);
    assert_string_equal(c2, KEY2_C14N);
    free(c1);
    free(c2);
    rta_capability_free(&copy);

    rta_capability empty = parse_ok("{}");
    assert_true(rta_capability_is_empty(&empty));
    assert_true(rta_capability_is_empty(NULL));
    assert_int_equal(rta_capability_copy(&empty, &copy), 0);
    assert_true(rta_capability_is_empty(&copy));
    char *ce = canon_cap(&empty);
    assert_string_equal(ce, "{}");
    free(ce);
    rta_capability_free(&empty);
    rta_capability_free(&copy);
}

/* ---- validation (S-40) --------------------------------------------------------------- */

static void test_s40_jst_invalid_capabilities(void **state)
{
    (void)state;
    /* JST "Invalid capabilities 1": unknown op */
    const char *inv0 = "{\"channel0\":[\"publish_\"]}";
    /* JST "Invalid capabilities 2": "*" mixed with another op */
    const char *inv1 = "{\"channel0\":[\"*\",\"publish\"]}";
    const char *inv1b = "{\"channel0\":[\"publish\",\"*\"]}";
    /* JST "Invalid capabilities 3": empty op list */
    const char *inv2 = "{\"channel0\":[]}";
    assert_int_equal(parse_code(inv0, strlen(inv0)), 40000);
    assert_int_equal(parse_code(inv1, strlen(inv1)), 40000);
    assert_int_equal(parse_code(inv1b, strlen(inv1b)), 40000);
    assert_int_equal(parse_code(inv2, strlen(inv2)), 40000);

    rta_capability cap;
    rta_error err;
    assert_int_equal(rta_capability_parse(inv0, strlen(inv0), &cap, &err), 40000);
    assert_non_null(strstr(err.message, "publish_"));
    char *out = (char *)1;
    assert_int_equal(rta_capability_canonicalise(inv2, strlen(inv2), &out, &err), 40000);
    assert_ptr_equal(out, (char *)1); /* untouched on failure */
}

static void test_s40_invalid_shapes(void **state)
{
    (void)state;
    const char *bad[] = {
        "[]",                                /* not an object */
        "[{\"a\":[\"publish\"]}]",           /* not an object */
        "\"{\\\"a\\\":[\\\"publish\\\"]}\"", /* a string holding JSON is still a string */
        "42",
        "null",
        "true",
        "",
        "{",                       /* malformed */
        "{\"a\":[\"publish\"]} x", /* trailing bytes */
        "{\"a\":[\"publish\"],}",  /* trailing comma */
        "{\"a\":\"publish\"}",     /* value not an array */
        "{\"a\":null}",
        "{\"a\":{\"b\":[\"publish\"]}}", /* nested object */
        "{\"a\":[[\"publish\"]]}",       /* nested array */
        "{\"a\":[1]}",                   /* non-string op */
        "{\"a\":[\"publish\",null]}",
        "{\"\":[\"publish\"]}", /* empty resource */
        "{\"a\":[\"\"]}",       /* empty op */
        "{\"a\":[\"PUBLISH\"]}",
        "{\"a\":[\"publish \"]}",
        "{\"a\":[\"publish\"],\"a\":[\"subscribe\"]}", /* duplicate resource */
        "{\"a\":[\"publish\\u0000\"]}",
        "{\"a\\u0000\":[\"publish\"]}",
        "{\"a\":[\"publish\"]",
        "{\"a\":[\"\xff\"]}",          /* invalid UTF-8 */
        "{\"\\ud800\":[\"publish\"]}", /* lone surrogate */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_code(bad[i], strlen(bad[i])) != 40000) fail_msg("accepted: %s", bad[i]);
    }
    /* length is honoured: a valid prefix of a longer buffer parses */
    const char *buf = "{\"a\":[\"publish\"]}garbage";
    assert_int_equal(parse_code(buf, 17), 0);
    rta_capability cap = {NULL, 0};
    rta_error err;
    assert_int_equal(rta_capability_parse(NULL, 0, &cap, &err), 40000);
}

/* Error messages may reach a JSON error response, so quoted user text is clipped on a
 * character boundary: a 2-byte "é" straddling the 64-byte limit is dropped whole. */
static void test_s40_error_messages_stay_utf8(void **state)
{
    (void)state;
    char json[256];
    char res[80];
    memset(res, 'a', 63);
    strcpy(res + 63, "\xc3\xa9"
                     "bbbb");
    snprintf(json, sizeof(json), "{\"%s\":[]}", res);
    rta_capability cap;
    rta_error err;
    assert_int_equal(rta_capability_parse(json, strlen(json), &cap, &err), 40000);
    assert_true(rta_utf8_valid(err.message, strlen(err.message)));
    char expected[160];
    snprintf(expected, sizeof(expected),
             "Invalid capability: empty operation list for resource \"%.63s\"", res);
    assert_string_equal(err.message, expected);

    const char *bad_json = "{\"a\":[tr\xc3\xa9]}";
    assert_int_equal(rta_capability_parse(bad_json, strlen(bad_json), &cap, &err), 40000);
    assert_true(rta_utf8_valid(err.message, strlen(err.message)));
    assert_non_null(strstr(err.message, "Invalid capability: "));
}

static char *deep_nesting(int depth)
{
    char *s = malloc((size_t)depth * 2 + 32);
    assert_non_null(s);
    size_t n = (size_t)sprintf(s, "{\"a\":");
    for (int i = 0; i < depth; i++)
        s[n++] = '[';
    for (int i = 0; i < depth; i++)
        s[n++] = ']';
    s[n++] = '}';
    s[n] = '\0';
    return s;
}

static void test_s40_limits(void **state)
{
    (void)state;
    /* deeply nested values: refused by the JSON reader's depth limit or the shape check */
    char *deep = deep_nesting(5000);
    assert_int_equal(parse_code(deep, strlen(deep)), 40000);
    free(deep);
    deep = deep_nesting(10);
    assert_int_equal(parse_code(deep, strlen(deep)), 40000);
    free(deep);

    /* resource count: 1000 accepted, 1001 refused */
    rta_buf b = RTA_BUF_INIT;
    for (int n = RTA_CAPABILITY_MAX_RESOURCES; n <= RTA_CAPABILITY_MAX_RESOURCES + 1; n++) {
        rta_buf_reset(&b);
        rta_buf_putc(&b, '{');
        for (int i = 0; i < n; i++)
            rta_buf_printf(&b, "%s\"r%d\":[\"publish\"]", i ? "," : "", i);
        rta_buf_putc(&b, '}');
        assert_int_equal(parse_code(b.data, b.len), n > RTA_CAPABILITY_MAX_RESOURCES ? 40000 : 0);
    }

    /* resource length: 1024 bytes accepted, 1025 refused */
    for (int len = RTA_CAPABILITY_MAX_RESOURCE_LEN; len <= RTA_CAPABILITY_MAX_RESOURCE_LEN + 1;
         len++) {
        rta_buf_reset(&b);
        rta_buf_puts(&b, "{\"");
        for (int i = 0; i < len; i++)
            rta_buf_putc(&b, 'x');
        rta_buf_puts(&b, "\":[\"publish\"]}");
        assert_int_equal(parse_code(b.data, b.len),
                         len > RTA_CAPABILITY_MAX_RESOURCE_LEN ? 40000 : 0);
    }

    /* total text: 64 KiB accepted (padding with whitespace), one byte more refused */
    const char *body = "{\"a\":[\"publish\"]}";
    for (size_t total = RTA_CAPABILITY_MAX_BYTES; total <= RTA_CAPABILITY_MAX_BYTES + 1; total++) {
        rta_buf_reset(&b);
        rta_buf_puts(&b, body);
        while (b.len < total)
            rta_buf_putc(&b, ' ');
        assert_int_equal(parse_code(b.data, b.len), total > RTA_CAPABILITY_MAX_BYTES ? 40000 : 0);
    }
    rta_buf_free(&b);
}

/* ---- matching (S-41, S-43, D.11) ----------------------------------------------------- */

static void test_s41_segment_wildcards(void **state)
{
    (void)state;
    /* trailing "*": one or more segments; not the bare namespace (D.11) */
    assert_true(covers("ns:*", "ns:a"));
    assert_true(covers("ns:*", "ns:a:b"));
    assert_false(covers("ns:*", "ns"));
    assert_false(covers("ns:*", "nsx:a"));
    assert_false(covers("ns:*", "n:a"));
    /* middle "*": exactly one segment */
    assert_true(covers("foo:*:baz", "foo:bar:baz"));
    assert_false(covers("foo:*:baz", "foo:bar:bam:baz"));
    assert_false(covers("foo:*:baz", "foo:baz"));
    assert_true(covers("*:b", "a:b"));
    assert_false(covers("*:b", "a:b:c"));
    assert_false(covers("*:b", "b"));
    assert_true(covers("*:*", "a:b:c"));
    assert_false(covers("*:*", "a"));
    /* "foo*" is a literal name */
    assert_true(covers("foo*", "foo*"));
    assert_false(covers("foo*", "foobar"));
    assert_false(covers("foo*", "foo"));
    assert_false(covers("a:b*", "a:bc"));
    /* "*" alone: every ordinary channel */
    assert_true(covers("*", "a"));
    assert_true(covers("*", "a:b:c"));
    assert_true(covers("*", "foo*"));
    assert_true(covers("*", ":"));
    /* literals */
    assert_true(covers("channel2", "channel2"));
    assert_false(covers("channel2", "channel20"));
    assert_false(covers("channel2", "channel"));
    assert_false(covers("", "a"));
    assert_false(rta_capability_pattern_covers(NULL, 0, "a", 1));
}

static void test_s41_qualifiers(void **state)
{
    (void)state;
    /* "*" matches ordinary channels only, not queues or metachannels */
    assert_false(covers("*", "[queue]app:q"));
    assert_false(covers("*", "[meta]log"));
    assert_true(covers("[queue]*", "[queue]app:q"));
    assert_false(covers("[queue]*", "app:q"));
    assert_false(covers("[queue]*", "[meta]log"));
    assert_true(covers("[meta]*", "[meta]log"));
    assert_true(covers("[meta]log", "[meta]log"));
    assert_false(covers("[meta]log", "log"));
    assert_false(covers("log", "[meta]log"));
    /* "[*]*" (keys[5]) matches everything */
    assert_true(covers("[*]*", "foo"));
    assert_true(covers("[*]*", "a:b"));
    assert_true(covers("[*]*", "[meta]log"));
    assert_true(covers("[*]*", "[queue]q"));
    assert_true(covers("[*]*", "[?rewind=1]foo"));
    assert_true(covers("[*]foo", "[meta]foo"));
    assert_false(covers("[*]foo", "[meta]bar"));
    /* "[?params]" names are checked by their base name (S-43) */
    assert_true(covers("foo", "[?rewind=1]foo"));
    assert_true(covers("*", "[?rewind=1&delta=vcdiff]a:b"));
    assert_true(covers("ns:*", "[?rewind=1]ns:a"));
    assert_false(covers("ns:*", "[?rewind=1]ns"));
    assert_true(covers("[meta]*", "[meta?rewind=1]log"));
    assert_true(covers("[?rewind=1]foo", "foo")); /* params in a pattern are ignored too */
    /* an unclosed bracket is no qualifier: the text is an ordinary literal name */
    assert_true(covers("[meta", "[meta"));
    assert_true(covers("*", "[meta"));
}

static void test_s44_pattern_covers_pattern(void **state)
{
    (void)state;
    /* JST "Resources wildcard matching 1-3" */
    assert_true(covers("*", "cansubscribe"));
    assert_true(covers("*", "cansubscribe:*"));
    assert_true(covers("canpublish:*", "canpublish:check"));
    assert_false(covers("cansubscribe:*", "*"));
    /* wildcard patterns against each other */
    assert_true(covers("ns:*", "ns:a:*"));
    assert_true(covers("ns:*", "ns:*:b"));
    assert_false(covers("ns:a:*", "ns:*"));
    assert_true(covers("a:*:c", "a:b:c"));
    assert_true(covers("a:*:c", "a:*:c"));
    assert_false(covers("a:*:c", "a:b:*"));
    assert_false(covers("a:b:*", "a:*:c"));
    assert_false(covers("a:b:c", "a:*:c"));
    assert_false(covers("a:*", "*"));
    assert_true(covers("*", "*"));
    assert_false(covers("x:y", "x:*")); /* a fixed pattern never covers a trailing one */
    assert_true(covers("[*]*", "[meta]*"));
    assert_true(covers("[*]*", "*"));
    assert_true(covers("[*]*", "[*]*"));
    assert_false(covers("*", "[*]*"));
    assert_false(covers("[meta]*", "[*]*"));
    assert_false(covers("[meta]*", "[*]foo"));
}

static void test_s43_allows_and_ops_for(void **state)
{
    (void)state;
    rta_capability k1 = parse_ok(KEY1);
    assert_true(allows(&k1, "cansubscribe:x", RTA_OP_SUBSCRIBE));
    assert_false(allows(&k1, "cansubscribe:x", RTA_OP_PUBLISH));
    assert_false(allows(&k1, "cansubscribe", RTA_OP_SUBSCRIBE)); /* D.11 */
    assert_true(allows(&k1, "canpublish:andpresence", RTA_OP_PRESENCE));
    assert_false(allows(&k1, "canpublish:other", RTA_OP_PRESENCE));
    assert_true(allows(&k1, "[?rewind=1]canpublish:other", RTA_OP_PUBLISH));
    assert_true(allows(&k1, "pushenabled:admin:x", RTA_OP_PUSH_ADMIN));
    assert_true(allows(&k1, "pushenabled:admin:x", RTA_OP_PUSH_SUBSCRIBE)); /* via pushenabled:* */
    assert_false(allows(&k1, "pushenabled:x", RTA_OP_PUSH_ADMIN));
    assert_false(allows(&k1, "other", RTA_OP_SUBSCRIBE));
    assert_false(allows(&k1, "canpublish:x", 0));
    /* union of every matching entry (D.10) */
    assert_int_equal(rta_capability_ops_for(&k1, "canpublish:andpresence", 22),
                     RTA_OP_PUBLISH | RTA_OP_PRESENCE);
    assert_int_equal(rta_capability_ops_for(&k1, "pushenabled:admin:x", 19),
                     RTA_OP_PUBLISH | RTA_OP_SUBSCRIBE | RTA_OP_PUSH_ADMIN | RTA_OP_PUSH_SUBSCRIBE);
    assert_int_equal(rta_capability_ops_for(&k1, "nothing", 7), 0);
    rta_capability_free(&k1);

    rta_capability k2 = parse_ok(KEY2);
    assert_true(allows(&k2, "channel6", RTA_OP_STATS)); /* "*" grants every op */
    assert_true(allows(&k2, "channel6", RTA_OP_ALL));
    assert_false(allows(&k2, "channel2", RTA_OP_ALL));
    assert_false(allows(&k2, "channel6:x", RTA_OP_PUBLISH));
    assert_int_equal(rta_capability_ops_for(&k2, "channel6", 8), RTA_OP_ALL);
    rta_capability_free(&k2);

    rta_capability k5 = parse_ok(KEY5);
    assert_true(allows(&k5, "[meta]log", RTA_OP_SUBSCRIBE));
    assert_true(allows(&k5, "[queue]q", RTA_OP_HISTORY));
    assert_true(allows(&k5, "x:y:z", RTA_OP_OBJECT_PUBLISH));
    rta_capability_free(&k5);

    rta_capability k3 = parse_ok(KEY3);
    assert_true(allows(&k3, "anything:at:all", RTA_OP_SUBSCRIBE));
    assert_false(allows(&k3, "[meta]log", RTA_OP_SUBSCRIBE));
    assert_false(allows(&k3, "x", RTA_OP_PUBLISH));
    rta_capability_free(&k3);

    rta_capability mixed = parse_ok("{\"a:*\":[\"*\"],\"a:b\":[\"publish\"]}");
    assert_int_equal(rta_capability_ops_for(&mixed, "a:b", 3), RTA_OP_ALL | RTA_OP_PUBLISH);
    rta_capability_free(&mixed);

    rta_capability empty = {NULL, 0};
    assert_false(allows(&empty, "x", RTA_OP_PUBLISH));
    assert_false(rta_capability_allows(NULL, "x", 1, RTA_OP_PUBLISH));
    assert_int_equal(rta_capability_ops_for(NULL, "x", 1), 0);
}

/* ---- intersection (S-44; JST rest/capability) ---------------------------------------- */

static void test_s44_jst_blanket_and_equal_intersection(void **state)
{
    (void)state;
    /* "Blanket intersection with specified key": with no requested capability the server
     * issues the key's own; its canonical text is what TokenDetails carries. */
    assert_canonical(KEY1, KEY1_C14N);
    /* "Equal intersection with specified key": keys[1] ∩ keys[1] = keys[1]; the overlapping
     * canpublish:* / canpublish:andpresence and pushenabled:* / pushenabled:admin:* pairs
     * must union back to the original entries. */
    assert_intersect(KEY1, KEY1, KEY1_C14N);
    assert_intersect(KEY2, KEY2, KEY2_C14N);
    assert_intersect(KEY5, KEY5, "{\"[*]*\":[\"*\"]}");
}

static void test_s44_jst_empty_intersections(void **state)
{
    (void)state;
    /* "Empty ops intersection": keys[1] only has publish on canpublish:* → 401 */
    assert_intersect_empty(KEY1, "{\"canpublish:test\":[\"subscribe\"]}");
    /* "Empty paths intersection": keys[2] has no channelx → 401 */
    assert_intersect_empty(KEY2, "{\"channelx\":[\"publish\"]}");
    /* an empty {} on either side grants nothing */
    assert_intersect_empty(KEY2, "{}");
    assert_intersect_empty("{}", KEY0);
}

static void test_s44_jst_ops_and_paths(void **state)
{
    (void)state;
    /* "Ops intersection non-empty" */
    assert_intersect(KEY2, "{\"channel2\":[\"presence\",\"subscribe\"]}",
                     "{\"channel2\":[\"subscribe\"]}");
    /* "Paths intersection non-empty": channelx is dropped */
    assert_intersect(KEY2,
                     "{\"channel2\":[\"presence\",\"subscribe\"],"
                     "\"channelx\":[\"presence\",\"subscribe\"]}",
                     "{\"channel2\":[\"subscribe\"]}");
    /* "Wildcard token with publish and subscribe key": requested "*" → key's ops */
    assert_intersect(KEY2, "{\"channel2\":[\"*\"]}", "{\"channel2\":[\"publish\",\"subscribe\"]}");
    /* "Publish and subscribe token with wildcard key": key "*" → requested ops */
    assert_intersect(KEY2, "{\"channel6\":[\"publish\",\"subscribe\"]}",
                     "{\"channel6\":[\"publish\",\"subscribe\"]}");
    assert_intersect(KEY0, KEY0, KEY0);
    assert_intersect(KEY0, "{\"onlythischannel\":[\"subscribe\"]}",
                     "{\"onlythischannel\":[\"subscribe\"]}");
}

static void test_s44_jst_resource_wildcards(void **state)
{
    (void)state;
    /* "Resources wildcard matching 1-3": the requested (more specific) resource is kept */
    assert_intersect(KEY3, "{\"cansubscribe\":[\"subscribe\"]}",
                     "{\"cansubscribe\":[\"subscribe\"]}");
    assert_intersect(KEY1, "{\"canpublish:check\":[\"publish\"]}",
                     "{\"canpublish:check\":[\"publish\"]}");
    assert_intersect(KEY3, "{\"cansubscribe:*\":[\"subscribe\"]}",
                     "{\"cansubscribe:*\":[\"subscribe\"]}");
}

static void test_s44_docs_example(void **state)
{
    (void)state;
    assert_intersect("{\"ns:*\":[\"publish\",\"subscribe\",\"presence\"],"
                     "\"notifications\":[\"subscribe\",\"history\"],\"alerts\":[\"subscribe\"]}",
                     "{\"ns:user-123\":[\"subscribe\"],\"notifications\":[\"*\"],"
                     "\"private\":[\"publish\",\"subscribe\"]}",
                     "{\"notifications\":[\"history\",\"subscribe\"],"
                     "\"ns:user-123\":[\"subscribe\"]}");
}

static void test_s44_specificity_union_and_partial(void **state)
{
    (void)state;
    /* the key is the more specific side: its resource is kept */
    assert_intersect("{\"ns:a\":[\"publish\",\"subscribe\"]}", "{\"ns:*\":[\"subscribe\"]}",
                     "{\"ns:a\":[\"subscribe\"]}");
    assert_intersect(KEY0, "{\"ns:*\":[\"history\"],\"x\":[\"*\"]}",
                     "{\"ns:*\":[\"history\"],\"x\":[\"*\"]}");
    assert_intersect("{\"x\":[\"presence\"],\"y:*\":[\"*\"]}", "{\"*\":[\"*\"]}",
                     "{\"x\":[\"presence\"],\"y:*\":[\"*\"]}");
    /* union of several key entries covering one request (D.10) */
    assert_intersect(KEY1, "{\"canpublish:andpresence\":[\"*\"]}",
                     "{\"canpublish:andpresence\":[\"presence\",\"publish\"]}");
    /* the same resource reached from both sides merges into one entry */
    assert_intersect("{\"a:*\":[\"publish\"],\"a:b\":[\"subscribe\"]}",
                     "{\"a:*\":[\"subscribe\"],\"a:b\":[\"publish\"]}",
                     "{\"a:b\":[\"publish\",\"subscribe\"]}");
    /* "*" unioned with explicit ops stays "*" */
    assert_intersect("{\"a:*\":[\"*\"]}", "{\"a:*\":[\"*\"],\"a:b\":[\"publish\"]}",
                     "{\"a:*\":[\"*\"],\"a:b\":[\"publish\"]}");
    assert_intersect("{\"a:b\":[\"*\"],\"*\":[\"history\"]}", "{\"a:*\":[\"*\"]}",
                     "{\"a:*\":[\"history\"],\"a:b\":[\"*\"]}");
    /* partial overlaps grant nothing */
    assert_intersect_empty("{\"a:*:c\":[\"publish\"]}", "{\"a:b:*\":[\"publish\"]}");
    assert_intersect_empty("{\"ns:*\":[\"publish\"]}", "{\"ns\":[\"publish\"]}");
}

static void test_s44_qualified_intersections(void **state)
{
    (void)state;
    /* keys[5] "[*]*" covers qualified requests */
    assert_intersect(KEY5,
                     "{\"[meta]*\":[\"subscribe\"],\"[queue]q\":[\"*\"],\"chat:*\":[\"publish\"]}",
                     "{\"[meta]*\":[\"subscribe\"],\"[queue]q\":[\"*\"],\"chat:*\":[\"publish\"]}");
    /* a plain "*" key does not reach metachannels or queues */
    assert_intersect_empty(KEY0, "{\"[meta]*\":[\"subscribe\"]}");
    assert_intersect(KEY0, "{\"[meta]log\":[\"subscribe\"],\"x\":[\"publish\"]}",
                     "{\"x\":[\"publish\"]}");
    /* requested "[*]*" against a plain key: narrowed to the key's patterns */
    assert_intersect(KEY3, KEY5, "{\"*\":[\"subscribe\"]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s39_operation_names),
        cmocka_unit_test(test_s38_canonical_sorts_and_strips),
        cmocka_unit_test(test_s38_canonical_escaping),
        cmocka_unit_test(test_s38_canonical_non_bmp_order),
        cmocka_unit_test(test_s38_canonical_array_index_keys),
        cmocka_unit_test(test_s38_round_trip),
        cmocka_unit_test(test_parse_entries_and_copy),
        cmocka_unit_test(test_s40_jst_invalid_capabilities),
        cmocka_unit_test(test_s40_invalid_shapes),
        cmocka_unit_test(test_s40_error_messages_stay_utf8),
        cmocka_unit_test(test_s40_limits),
        cmocka_unit_test(test_s41_segment_wildcards),
        cmocka_unit_test(test_s41_qualifiers),
        cmocka_unit_test(test_s44_pattern_covers_pattern),
        cmocka_unit_test(test_s43_allows_and_ops_for),
        cmocka_unit_test(test_s44_jst_blanket_and_equal_intersection),
        cmocka_unit_test(test_s44_jst_empty_intersections),
        cmocka_unit_test(test_s44_jst_ops_and_paths),
        cmocka_unit_test(test_s44_jst_resource_wildcards),
        cmocka_unit_test(test_s44_docs_example),
        cmocka_unit_test(test_s44_specificity_union_and_partial),
        cmocka_unit_test(test_s44_qualified_intersections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
