/* test_log_format.c: the log's escaping (server/log.h) and the access log's query redaction
 * (rest/access_log.h): a client's bytes can never forge a line, break the JSON, or carry a
 * credential into a log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "server/log.h"
#include "server/rest/access_log.h"

static char *json_escaped(const char *s, size_t n)
{
    rta_buf b = RTA_BUF_INIT;
    rta_buf_putc(&b, '"');
    rta_log_json_escape(&b, s, n);
    rta_buf_putc(&b, '"');
    return rta_buf_detach(&b, NULL);
}

static void json_escapes(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"plain", 5, "\"plain\""},
        {"a\"b\\c", 5, "\"a\\\"b\\\\c\""},
        {"l1\nl2\r\t", 7, "\"l1\\nl2\\r\\t\""},
        {"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\""},
        {"caf\xc3\xa9", 5, "\"caf\xc3\xa9\""},                 /* valid UTF-8 stays */
        {"\xff\xfe", 2, "\"\\ufffd\\ufffd\""},                 /* invalid bytes replaced */
        {"\xc0\xaf", 2, "\"\\ufffd\\ufffd\""},                 /* an overlong '/' */
        {"\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""},       /* a surrogate */
        {"\xe2\x82", 2, "\"\\ufffd\\ufffd\""},                 /* cut short */
        {"\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\""},       /* U+1F600 */
        {"a\0b", 3, "\"a\\u0000b\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = json_escaped(cases[i].in, cases[i].len);
        assert_string_equal(got, cases[i].out);
        json_error_t e;
        json_t *v = json_loads(got, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e); /* and jansson agrees it is JSON */
        assert_non_null(v);
        json_decref(v);
        free(got);
    }
}

static void text_escapes(void **state)
{
    (void)state;
    rta_buf b = RTA_BUF_INIT;
    static const char forged[] = "x\n2026-01-01T00:00:00.000Z error forged\x1b[1m";
    rta_log_text_escape(&b, forged, sizeof(forged) - 1);
    assert_null(strchr(b.data, '\n'));
    assert_null(strchr(b.data, '\x1b'));
    assert_non_null(strstr(b.data, "x\\x0a2026"));
    rta_buf_free(&b);
}

static void levels_and_formats(void **state)
{
    (void)state;
    assert_int_equal(rta_log_format_parse("text"), RTA_LOG_TEXT);
    assert_int_equal(rta_log_format_parse("json"), RTA_LOG_JSON);
    assert_int_equal(rta_log_format_parse("Json"), -1);
    rta_log_set_level(RTA_LOG_WARN);
    assert_true(rta_log_enabled(RTA_LOG_ERROR));
    assert_false(rta_log_enabled(RTA_LOG_INFO));
    rta_log_set_level(RTA_LOG_INFO);
    char ts[32];
    rta_log_timestamp(ts);
    assert_int_equal(strlen(ts), 24); /* 2026-01-02T03:04:05.678Z */
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[19], '.');
    assert_int_equal(ts[23], 'Z');
}

/* One line of JSON per event, with the fields, through stderr. */
static void json_event_line(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/rtauth-test-log-%d", (int)getpid());
    fflush(stderr);
    int saved = dup(2);
    FILE *f = freopen(path, "w", stderr);
    assert_non_null(f);
    rta_log_set_format(RTA_LOG_JSON);
    rta_log_event(RTA_LOG_INFO, "connection.closed",
                  &(rta_log_fields){.key_name = "appA.key1", .client_id = "al\"ice\n",
                                    .connection_id = "c1", .code = 40142},
                  "connection %s closed", "c1");
    rta_log_info("plain %d", 7);
    rta_log_debug("not shown at info");
    fflush(stderr);
    rta_log_set_format(RTA_LOG_TEXT);
    dup2(saved, 2);
    close(saved);
    FILE *in = fopen(path, "r");
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof(line), in)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        assert_non_null(o);
        assert_non_null(json_string_value(json_object_get(o, "time")));
        if (n == 0) {
            assert_string_equal(json_string_value(json_object_get(o, "event")), "connection.closed");
            assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
            assert_string_equal(json_string_value(json_object_get(o, "app")), "appA");
            assert_string_equal(json_string_value(json_object_get(o, "keyName")), "appA.key1");
            assert_string_equal(json_string_value(json_object_get(o, "clientId")), "al\"ice\n");
            assert_string_equal(json_string_value(json_object_get(o, "connectionId")), "c1");
            assert_int_equal(json_integer_value(json_object_get(o, "code")), 40142);
        } else {
            assert_string_equal(json_string_value(json_object_get(o, "event")), "log");
            assert_string_equal(json_string_value(json_object_get(o, "msg")), "plain 7");
            assert_null(json_object_get(o, "code"));
        }
        json_decref(o);
        n++;
    }
    fclose(in);
    unlink(path);
    assert_int_equal(n, 2);
}

static void query_redaction(void **state)
{
    (void)state;
    static const char *args[] = {"format=json", "access_token=abc&def.ghi", "accessToken=T",
                                 "KEY=app.k:secret", "x=a b%#\"", "flag", "key"};
    char out[256];
    size_t at = 0;
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++)
        at = rta_access_log_query_add(out, sizeof(out), at, args[i], strlen(args[i]));
    assert_string_equal(out, "format=json&access_token=REDACTED&accessToken=REDACTED&"
                             "KEY=REDACTED&x=a%20b%25%23%22&flag&key");
    assert_null(strstr(out, "def"));
    assert_null(strstr(out, "secret"));
    /* cut short: never a piece of a credential */
    char small[24];
    at = 0;
    at = rta_access_log_query_add(small, sizeof(small), at, "a=1", 3);
    at = rta_access_log_query_add(small, sizeof(small), at, "access_token=LONGSECRET", 23);
    assert_true(at < sizeof(small));
    assert_null(strstr(small, "LONG"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_escapes),     cmocka_unit_test(text_escapes),
        cmocka_unit_test(levels_and_formats), cmocka_unit_test(json_event_line),
        cmocka_unit_test(query_redaction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
