/* test_rt_decode.c: the realtime client's decoding of received message data (RSL6a,
 * src/sdk/realtime_decode.c): base64, utf-8 and json steps undone right to left; an unknown or
 * failing step stops decoding and stays in `encoding` (RSL6b). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sdk/realtime_internal.h"

static rta_message msg(const char *data, const char *encoding)
{
    rta_message m = {0};
    m.data.type = RTA_DATA_STRING;
    m.data.ptr = strdup(data);
    m.data.len = strlen(data);
    m.encoding = encoding ? strdup(encoding) : NULL;
    return m;
}

static void test_base64_to_binary(void **state)
{
    (void)state;
    rta_message m = msg("AAEC/w==", "base64");
    rta__message_decode(&m);
    assert_int_equal(m.data.type, RTA_DATA_BINARY);
    assert_int_equal(m.data.len, 4);
    assert_memory_equal(m.data.ptr, "\x00\x01\x02\xff", 4);
    assert_null(m.encoding);
    rta_message_clear(&m);
}

static void test_json_utf8_base64_chain(void **state)
{
    (void)state;
    /* {"a":1} as utf-8 bytes in base64 */
    rta_message m = msg("eyJhIjoxfQ==", "json/utf-8/base64");
    rta__message_decode(&m);
    assert_int_equal(m.data.type, RTA_DATA_JSON);
    assert_string_equal(m.data.ptr, "{\"a\":1}");
    assert_null(m.encoding);
    rta_message_clear(&m);
}

static void test_unknown_step_stays(void **state)
{
    (void)state;
    rta_message m = msg("AAEC/w==", "cipher+aes-128-cbc/base64");
    rta__message_decode(&m);
    assert_int_equal(m.data.type, RTA_DATA_BINARY); /* base64 undone */
    assert_string_equal(m.encoding, "cipher+aes-128-cbc");
    rta_message_clear(&m);
}

static void test_invalid_steps_stop(void **state)
{
    (void)state;
    rta_message m = msg("not base64!", "base64");
    rta__message_decode(&m);
    assert_int_equal(m.data.type, RTA_DATA_STRING);
    assert_string_equal(m.encoding, "base64");
    rta_message_clear(&m);
    m = msg("{broken", "json");
    rta__message_decode(&m);
    assert_int_equal(m.data.type, RTA_DATA_STRING);
    assert_string_equal(m.encoding, "json");
    rta_message_clear(&m);
    m = msg("/w==", "utf-8/base64"); /* 0xff is not UTF-8 */
    rta__message_decode(&m);
    assert_int_equal(m.data.type, RTA_DATA_BINARY);
    assert_string_equal(m.encoding, "utf-8");
    rta_message_clear(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_to_binary),
        cmocka_unit_test(test_json_utf8_base64_chain),
        cmocka_unit_test(test_unknown_step_stays),
        cmocka_unit_test(test_invalid_steps_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
