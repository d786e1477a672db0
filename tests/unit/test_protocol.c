/* test_protocol.c: the ProtocolMessage model and its JSON/msgpack codecs (core/protocol.h).
 *
 * The frames are those of docs/wire-protocol.md 2.10 (a session verified
 * against ably-js 2.28.0), decoded from their exact text and re-encoded; then msgpack round
 * trips, binary data (RSL4d), ably-js's extra fields, and every refusal with its code.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/protocol.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static void decode_ok(const char *json, rta_protocol_message *m)
{
    rta_error err = {0};
    int rc = rta_protocol_message_decode(json, strlen(json), RTA_FORMAT_JSON, NULL, m, &err);
    if (rc) fail_msg("decode of %s failed: %d %s", json, rc, err.message);
}

static int decode_code(const void *data, size_t len, rta_format fmt, const rta_parse_limits *limits,
                       rta_error *err)
{
    rta_protocol_message m;
    int rc = rta_protocol_message_decode(data, len, fmt, limits, &m, err);
    /* On failure *out is empty: all zero. */
    rta_protocol_message zero;
    memset(&zero, 0, sizeof(zero));
    if (rc) assert_memory_equal(&m, &zero, sizeof(m));
    rta_protocol_message_clear(&m);
    return rc;
}

static int json_code(const char *json, rta_error *err)
{
    return decode_code(json, strlen(json), RTA_FORMAT_JSON, NULL, err);
}

static char *encode(const rta_protocol_message *m, rta_format fmt, size_t *len)
{
    rta_buf b = RTA_BUF_INIT;
    assert_int_equal(rta_protocol_message_encode(m, fmt, &b), 0);
    return rta_buf_detach(&b, len);
}

static void assert_json(const rta_protocol_message *m, const char *expected)
{
    size_t len;
    char *out = encode(m, RTA_FORMAT_JSON, &len);
    assert_string_equal(out, expected);
    assert_int_equal(len, strlen(expected));
    free(out);
}

/* Decodes json and checks its JSON re-encoding against expected (NULL: the input itself);
 * then the same through msgpack: JSON -> struct -> msgpack -> struct -> JSON. */
static void roundtrip(const char *json, const char *expected)
{
    if (!expected) expected = json;
    rta_protocol_message m, m2;
    decode_ok(json, &m);
    assert_json(&m, expected);

    size_t len;
    char *mp = encode(&m, RTA_FORMAT_MSGPACK, &len);
    rta_error err = {0};
    assert_int_equal(rta_protocol_message_decode(mp, len, RTA_FORMAT_MSGPACK, NULL, &m2, &err), 0);
    assert_json(&m2, expected);
    assert_int_equal(m2.action, m.action);
    assert_int_equal(m2.has, m.has);
    free(mp);
    rta_protocol_message_clear(&m);
    rta_protocol_message_clear(&m2);
}

/* ---- the 2.10 session, frame by frame --------------------------------------------------- */

/* CONNECTED (RTN4, CD2): connectionDetails decoded field by field; the re-encoding adds the
 * legacy top-level connectionKey that real Ably sends. */
static void test_session_connected(void **state)
{
    (void)state;
    const char *in = "{\"action\":4,\"connectionId\":\"c1\",\"connectionDetails\":{"
                     "\"connectionKey\":\"k1\",\"clientId\":\"alice\",\"maxIdleInterval\":15000,"
                     "\"connectionStateTtl\":120000,\"maxMessageSize\":65536,\"serverId\":\"s\"}}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_int_equal(m.action, RTA_ACTION_CONNECTED);
    assert_int_equal(m.has, RTA_PM_HAS_CONNECTION_DETAILS);
    assert_string_equal(m.connection_id, "c1");
    assert_string_equal(m.details.connection_key, "k1");
    assert_string_equal(m.details.client_id, "alice");
    assert_string_equal(m.details.server_id, "s");
    assert_int_equal(m.details.max_idle_interval, 15000);
    assert_int_equal(m.details.connection_state_ttl, 120000);
    assert_int_equal(m.details.max_message_size, 65536);
    assert_int_equal(m.details.max_frame_size, 0);
    assert_int_equal(m.details.max_inbound_rate, 0);
    assert_json(&m, "{\"action\":4,\"connectionId\":\"c1\",\"connectionKey\":\"k1\","
                    "\"connectionDetails\":{\"connectionKey\":\"k1\",\"clientId\":\"alice\","
                    "\"maxIdleInterval\":15000,\"connectionStateTtl\":120000,"
                    "\"maxMessageSize\":65536,\"serverId\":\"s\"}}");
    rta_protocol_message_clear(&m);
    assert_null(m.connection_id);
    assert_int_equal(m.has, 0);
}

/* The realistic CONNECTED of 2.4: clientId null is absent (anonymous), maxOutboundRate and
 * the top-level connectionKey are ignored on decode. */
static void test_connected_real_ably_shape(void **state)
{
    (void)state;
    const char *in = "{\"action\":4,\"connectionId\":\"id\",\"connectionKey\":\"key\","
                     "\"connectionDetails\":{\"connectionKey\":\"key\",\"clientId\":null,"
                     "\"maxMessageSize\":65536,\"maxInboundRate\":250,\"maxOutboundRate\":100,"
                     "\"maxFrameSize\":524288,\"serverId\":\"srv\",\"connectionStateTtl\":120000,"
                     "\"maxIdleInterval\":15000}}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_null(m.details.client_id);
    assert_int_equal(m.details.max_inbound_rate, 250);
    assert_int_equal(m.details.max_frame_size, 524288);
    assert_json(&m, "{\"action\":4,\"connectionId\":\"id\",\"connectionKey\":\"key\","
                    "\"connectionDetails\":{\"connectionKey\":\"key\",\"maxIdleInterval\":15000,"
                    "\"connectionStateTtl\":120000,\"maxMessageSize\":65536,"
                    "\"maxInboundRate\":250,\"maxFrameSize\":524288,\"serverId\":\"srv\"}}");
    rta_protocol_message_clear(&m);
}

/* ATTACH / ATTACHED (RTL4, 2.7): flags carry the granted modes. */
static void test_session_attach_attached(void **state)
{
    (void)state;
    roundtrip("{\"action\":10,\"channel\":\"room\"}", NULL);
    roundtrip("{\"action\":10,\"channel\":\"room\",\"channelSerial\":\"s1\"}", NULL);

    const char *attached = "{\"action\":11,\"channel\":\"room\",\"flags\":983040,"
                           "\"channelSerial\":\"s0\"}";
    rta_protocol_message m;
    decode_ok(attached, &m);
    assert_int_equal(m.action, RTA_ACTION_ATTACHED);
    assert_int_equal(m.has, RTA_PM_HAS_FLAGS);
    assert_int_equal(m.flags, RTA_MODES_DEFAULT);
    assert_string_equal(m.channel, "room");
    assert_string_equal(m.channel_serial, "s0");
    assert_json(&m, attached);
    rta_protocol_message_clear(&m);
    roundtrip(attached, NULL);

    /* ATTACH with modes and params (RTL4k, RTL4l), ATTACHED echoing params. */
    roundtrip("{\"action\":11,\"channel\":\"room\",\"flags\":131077,\"channelSerial\":\"x\","
              "\"params\":{\"rewind\":\"1\",\"delta\":\"vcdiff\"}}",
              NULL);
}

/* Client MESSAGE (RTL6, TM): ably-js adds Message "action" and "size", which are ignored. */
static void test_session_client_message(void **state)
{
    (void)state;
    const char *in = "{\"action\":15,\"channel\":\"room\",\"messages\":[{\"name\":\"greet\","
                     "\"data\":\"hi\",\"action\":0,\"size\":7}],\"msgSerial\":0}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_int_equal(m.action, RTA_ACTION_MESSAGE);
    assert_true(m.has & RTA_PM_HAS_MSG_SERIAL);
    assert_int_equal(m.msg_serial, 0);
    assert_int_equal(m.message_count, 1);
    assert_string_equal(m.messages[0].name, "greet");
    assert_int_equal(m.messages[0].data.type, RTA_DATA_STRING);
    assert_string_equal(m.messages[0].data.ptr, "hi");
    assert_int_equal(m.messages[0].data.len, 2);
    assert_null(m.messages[0].encoding);
    assert_json(&m, "{\"action\":15,\"channel\":\"room\",\"messages\":[{\"name\":\"greet\","
                    "\"data\":\"hi\"}],\"msgSerial\":0}");
    rta_protocol_message_clear(&m);
}

/* ACK with res (2.6, TR4): msgSerial, count and one PublishResult per message. */
static void test_session_ack(void **state)
{
    (void)state;
    const char *in = "{\"action\":1,\"msgSerial\":0,\"count\":1,\"res\":[{\"serials\":[\"s1\"]}]}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_int_equal(m.action, RTA_ACTION_ACK);
    assert_int_equal(m.has, RTA_PM_HAS_MSG_SERIAL | RTA_PM_HAS_COUNT);
    assert_int_equal(m.count, 1);
    assert_int_equal(m.res_count, 1);
    assert_int_equal(m.res[0].serial_count, 1);
    assert_string_equal(m.res[0].serials[0], "s1");
    assert_json(&m, in);
    rta_protocol_message_clear(&m);
    roundtrip(in, NULL);
}

/* ACK with a null serial (a message discarded, e.g. by conflation): kept as NULL so that
 * serials still line up with messages by position. */
static void test_ack_null_serial(void **state)
{
    (void)state;
    const char *in = "{\"action\":1,\"msgSerial\":5,\"count\":3,"
                     "\"res\":[{\"serials\":[\"a\",null,\"c\"]},{\"serials\":[]},{}]}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_int_equal(m.res_count, 3);
    assert_int_equal(m.res[0].serial_count, 3);
    assert_string_equal(m.res[0].serials[0], "a");
    assert_null(m.res[0].serials[1]);
    assert_string_equal(m.res[0].serials[2], "c");
    assert_int_equal(m.res[1].serial_count, 0);
    assert_int_equal(m.res[2].serial_count, 0);
    rta_protocol_message_clear(&m);
    roundtrip(in, "{\"action\":1,\"msgSerial\":5,\"count\":3,\"res\":[{\"serials\":[\"a\",null,"
                  "\"c\"]},{\"serials\":[]},{\"serials\":[]}]}");
}

/* Server MESSAGE (TM2, RTL7): the frame the server relays, byte for byte. */
static void test_session_server_message(void **state)
{
    (void)state;
    const char *in = "{\"action\":15,\"channel\":\"room\",\"id\":\"c1:0\",\"connectionId\":\"c1\","
                     "\"timestamp\":1700000000000,\"channelSerial\":\"s1\",\"messages\":[{"
                     "\"name\":\"greet\",\"data\":\"hi\",\"clientId\":\"alice\"}]}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_int_equal(m.has, RTA_PM_HAS_TIMESTAMP);
    assert_int_equal(m.timestamp, 1700000000000LL);
    assert_string_equal(m.id, "c1:0");
    assert_string_equal(m.messages[0].client_id, "alice");
    assert_json(&m, in);
    rta_protocol_message_clear(&m);
    roundtrip(in, NULL);
}

/* AUTH (RTC8, RTN22): with a token, without any payload, and with an empty auth object. */
static void test_session_auth(void **state)
{
    (void)state;
    const char *with = "{\"action\":17,\"auth\":{\"accessToken\":\"T2\"}}";
    rta_protocol_message m;
    decode_ok(with, &m);
    assert_int_equal(m.action, RTA_ACTION_AUTH);
    assert_int_equal(m.has, RTA_PM_HAS_AUTH);
    assert_string_equal(m.auth_access_token, "T2");
    assert_json(&m, with);
    rta_protocol_message_clear(&m);
    roundtrip(with, NULL);

    decode_ok("{\"action\":17}", &m); /* server-initiated re-auth request (RTN22) */
    assert_int_equal(m.has, 0);
    assert_null(m.auth_access_token);
    assert_json(&m, "{\"action\":17}");
    rta_protocol_message_clear(&m);
    roundtrip("{\"action\":17}", NULL);

    decode_ok("{\"action\":17,\"auth\":{}}", &m);
    assert_int_equal(m.has, RTA_PM_HAS_AUTH);
    assert_null(m.auth_access_token);
    rta_protocol_message_clear(&m);
    roundtrip("{\"action\":17,\"auth\":{\"accessToken\":null}}", "{\"action\":17,\"auth\":{}}");
}

/* DISCONNECTED with a token error (RTN15h, TI1): href is added on the way out. */
static void test_session_disconnected(void **state)
{
    (void)state;
    const char *in = "{\"action\":6,\"error\":{\"message\":\"Token "
                     "expired\",\"code\":40142,\"statusCode\":401}}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_int_equal(m.action, RTA_ACTION_DISCONNECTED);
    assert_int_equal(m.has, RTA_PM_HAS_ERROR);
    assert_int_equal(m.error.code, 40142);
    assert_int_equal(m.error.status_code, 401);
    assert_string_equal(m.error.message, "Token expired");
    assert_int_equal(m.error.cause_code, 0);
    const char *out = "{\"action\":6,\"error\":{\"message\":\"Token expired\",\"code\":40142,"
                      "\"statusCode\":401,\"href\":\"https://help.ably.io/error/40142\"}}";
    assert_json(&m, out);
    rta_protocol_message_clear(&m);
    roundtrip(in, out);
}

/* NACK with error (2.6, RTN7): capability denial. */
static void test_nack(void **state)
{
    (void)state;
    const char *in = "{\"action\":2,\"msgSerial\":3,\"count\":2,\"error\":{\"message\":\"denied\","
                     "\"code\":40160,\"statusCode\":401}}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_int_equal(m.action, RTA_ACTION_NACK);
    assert_int_equal(m.has, RTA_PM_HAS_MSG_SERIAL | RTA_PM_HAS_COUNT | RTA_PM_HAS_ERROR);
    assert_int_equal(m.msg_serial, 3);
    assert_int_equal(m.count, 2);
    assert_int_equal(m.error.code, 40160);
    assert_json(&m, "{\"action\":2,\"msgSerial\":3,\"count\":2,\"error\":{\"message\":\"denied\","
                    "\"code\":40160,\"statusCode\":401,"
                    "\"href\":\"https://help.ably.io/error/40160\"}}");
    rta_protocol_message_clear(&m);
}

/* HEARTBEAT with id (RTN13, 2.5): the ping id is echoed. CLOSE/CLOSED (RTN12). */
static void test_heartbeat_close(void **state)
{
    (void)state;
    const char *ping = "{\"action\":0,\"id\":\"0123456789012345\"}";
    rta_protocol_message m;
    decode_ok(ping, &m);
    assert_int_equal(m.action, RTA_ACTION_HEARTBEAT);
    assert_string_equal(m.id, "0123456789012345");
    assert_json(&m, ping);
    rta_protocol_message_clear(&m);
    roundtrip(ping, NULL);
    roundtrip("{\"action\":7}", NULL);
    roundtrip("{\"action\":8}", NULL);
    roundtrip("{\"action\":12,\"channel\":\"room\"}", NULL);
    roundtrip("{\"action\":13,\"channel\":\"room\"}", NULL);
}

/* msgSerial 0 is a value, not absence (RTN7b: the first serial is 0). */
static void test_msg_serial_zero(void **state)
{
    (void)state;
    rta_protocol_message m;
    decode_ok("{\"action\":15,\"channel\":\"room\"}", &m);
    assert_false(m.has & RTA_PM_HAS_MSG_SERIAL);
    assert_json(&m, "{\"action\":15,\"channel\":\"room\"}");
    rta_protocol_message_clear(&m);

    decode_ok("{\"action\":15,\"channel\":\"room\",\"msgSerial\":null}", &m);
    assert_false(m.has & RTA_PM_HAS_MSG_SERIAL);
    rta_protocol_message_clear(&m);

    rta_protocol_message h;
    memset(&h, 0, sizeof(h));
    h.action = RTA_ACTION_ACK;
    h.has = RTA_PM_HAS_MSG_SERIAL | RTA_PM_HAS_COUNT;
    h.count = 1;
    assert_json(&h, "{\"action\":1,\"msgSerial\":0,\"count\":1}");
    h.has = RTA_PM_HAS_COUNT;
    h.msg_serial = 7; /* ignored: has-bit clear */
    assert_json(&h, "{\"action\":1,\"count\":1}");
}

/* Every action number, with a frame that uses most fields, survives JSON -> msgpack -> JSON
 * (TR2: unknown actions decode fine too). */
static void test_all_actions_msgpack_roundtrip(void **state)
{
    (void)state;
    for (int a = 0; a <= RTA_ACTION_MAX + 2; a++) {
        char json[1024];
        snprintf(json, sizeof(json),
                 "{\"action\":%d,\"channel\":\"ch\",\"flags\":%u,\"id\":\"i\","
                 "\"connectionId\":\"c\",\"timestamp\":1700000000123,\"channelSerial\":\"cs\","
                 "\"messages\":[{\"id\":\"m\",\"name\":\"n\",\"data\":{\"k\":[1,true,null]},"
                 "\"encoding\":\"json\",\"clientId\":\"u\",\"connectionId\":\"c\","
                 "\"timestamp\":-5,\"extras\":{\"headers\":{\"h\":\"v\"}}}],"
                 "\"presence\":[{\"action\":2,\"id\":\"p\",\"clientId\":\"u\","
                 "\"connectionId\":\"c\",\"data\":\"x\",\"encoding\":\"utf-8\","
                 "\"timestamp\":9}],\"msgSerial\":4294967296,\"count\":2,"
                 "\"res\":[{\"serials\":[\"a\"]}],\"error\":{\"message\":\"m\",\"code\":50000,"
                 "\"statusCode\":500,\"href\":\"https://help.ably.io/error/50000\"},"
                 "\"auth\":{\"accessToken\":\"t\"},\"connectionDetails\":{\"connectionKey\":\"k\""
                 "},\"params\":{\"a\":\"b\"}}",
                 a, (unsigned)(RTA_FLAG_RESUMED | RTA_MODE_OBJECT_PUBLISH));
        if (a == RTA_ACTION_CONNECTED) {
            /* CONNECTED gains the top-level connectionKey (after connectionId). */
            char expected[1100];
            const char *at = strstr(json, "\"timestamp\"");
            snprintf(expected, sizeof(expected), "%.*s\"connectionKey\":\"k\",%s", (int)(at - json),
                     json, at);
            roundtrip(json, expected);
        } else {
            roundtrip(json, NULL);
        }
    }
}

/* ---- data and extras (TM2d, TM2i, RSL4) ------------------------------------------------- */

/* A msgpack frame as ably-js writes it (1.4): bin data, uint64 timestamp. Written to a JSON
 * client, binary becomes base64 and "base64" is appended to encoding (RSL4d). */
static void test_binary_msgpack_to_json(void **state)
{
    (void)state;
    static const char mp[] = "\x83\xa6"
                             "action"
                             "\x0f\xa7"
                             "channel"
                             "\xa4"
                             "room"
                             "\xa8"
                             "messages"
                             "\x92\x83\xa4"
                             "name"
                             "\xa1"
                             "b"
                             "\xa4"
                             "data"
                             "\xc4\x03\x01\x02\x03"
                             "\xa9"
                             "timestamp"
                             "\xcf\x00\x00\x01\x8b\xcf\xe5\x68\x00"
                             "\x82\xa4"
                             "data"
                             "\xc4\x00"
                             "\xa8"
                             "encoding"
                             "\xb8"
                             "utf-8/cipher+aes-128-cbc";
    rta_protocol_message m;
    rta_error err = {0};
    assert_int_equal(
        rta_protocol_message_decode(mp, sizeof(mp) - 1, RTA_FORMAT_MSGPACK, NULL, &m, &err), 0);
    assert_int_equal(m.message_count, 2);
    assert_int_equal(m.messages[0].data.type, RTA_DATA_BINARY);
    assert_int_equal(m.messages[0].data.len, 3);
    assert_memory_equal(m.messages[0].data.ptr, "\x01\x02\x03", 3);
    assert_int_equal(m.messages[0].timestamp, 1700000000000LL);
    assert_int_equal(m.messages[1].data.type, RTA_DATA_BINARY);
    assert_int_equal(m.messages[1].data.len, 0);
    assert_json(&m, "{\"action\":15,\"channel\":\"room\",\"messages\":[{\"name\":\"b\","
                    "\"data\":\"AQID\",\"encoding\":\"base64\",\"timestamp\":1700000000000},"
                    "{\"data\":\"\",\"encoding\":\"utf-8/cipher+aes-128-cbc/base64\"}]}");

    /* Back to msgpack: bin stays bin, the encoding is untouched, the timestamp is uint64. */
    size_t len;
    char *out = encode(&m, RTA_FORMAT_MSGPACK, &len);
    assert_int_equal(len, sizeof(mp) - 1);
    assert_memory_equal(out, mp, len);
    free(out);
    rta_protocol_message_clear(&m);
}

/* JSON-typed data and extras are kept as compact JSON text and become real msgpack maps. */
static void test_json_data_to_msgpack(void **state)
{
    (void)state;
    const char *in = "{\"action\":15,\"messages\":[{\"data\":{ \"a\" : [1, 2.5, \"x\"] },"
                     "\"extras\":{\"push\":{\"notification\":{\"title\":\"t\"}}}}]}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_int_equal(m.messages[0].data.type, RTA_DATA_JSON);
    assert_string_equal(m.messages[0].data.ptr, "{\"a\":[1,2.5,\"x\"]}");
    assert_int_equal(m.messages[0].data.len, strlen("{\"a\":[1,2.5,\"x\"]}"));
    assert_string_equal(m.messages[0].extras, "{\"push\":{\"notification\":{\"title\":\"t\"}}}");

    size_t len;
    char *out = encode(&m, RTA_FORMAT_MSGPACK, &len);
    static const char expected[] = "\x82\xa6"
                                   "action"
                                   "\x0f\xa8"
                                   "messages"
                                   "\x91\x82\xa4"
                                   "data"
                                   "\x81\xa1"
                                   "a"
                                   "\x93\x01\xcb\x40\x04\x00\x00\x00\x00\x00\x00\xa1"
                                   "x"
                                   "\xa6"
                                   "extras"
                                   "\x81\xa4"
                                   "push"
                                   "\x81\xac"
                                   "notification"
                                   "\x81\xa5"
                                   "title"
                                   "\xa1"
                                   "t";
    assert_int_equal(len, sizeof(expected) - 1);
    assert_memory_equal(out, expected, len);
    free(out);
    rta_protocol_message_clear(&m);

    /* An array is JSON data too. */
    decode_ok("{\"action\":15,\"messages\":[{\"data\":[]}]}", &m);
    assert_int_equal(m.messages[0].data.type, RTA_DATA_JSON);
    assert_string_equal(m.messages[0].data.ptr, "[]");
    rta_protocol_message_clear(&m);
}

/* msgpack numbers inside JSON-typed data become stable JSON text: one more trip through
 * either format gives the same text. (Regression, found by fuzz_protocol_msgpack: -0.0 was
 * written "-0", which reads back as the integer 0 and is then written "0"; JSON.stringify
 * writes "0" too.) */
static void test_float_data_stable(void **state)
{
    (void)state;
    rta_buf b = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_MSGPACK, &b);
    rta_w_map(&w, 2);
    rta_w_key(&w, "action");
    rta_w_int(&w, 15);
    rta_w_key(&w, "messages");
    rta_w_array(&w, 1);
    rta_w_map(&w, 1);
    rta_w_key(&w, "data");
    rta_w_array(&w, 7);
    rta_w_double(&w, -0.0);
    rta_w_double(&w, 5e-324);
    rta_w_double(&w, 0.1);
    rta_w_double(&w, 1e300);
    rta_w_double(&w, 3.0);
    rta_w_double(&w, NAN);
    rta_buf_append(&b, "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9); /* 2^64-1 */
    assert_int_equal(rta_writer_status(&w), 0);

    const char *text = "[0,4.9406564584124654e-324,0.10000000000000001,1.0000000000000001e+300,3,"
                       "null,1.8446744073709552e+19]";
    rta_protocol_message m, m2;
    rta_error err = {0};
    assert_int_equal(rta_protocol_message_decode(b.data, b.len, RTA_FORMAT_MSGPACK, NULL, &m, &err),
                     0);
    assert_int_equal(m.messages[0].data.type, RTA_DATA_JSON);
    assert_string_equal(m.messages[0].data.ptr, text);
    for (int f = RTA_FORMAT_JSON; f <= RTA_FORMAT_MSGPACK; f++) {
        size_t len;
        char *out = encode(&m, (rta_format)f, &len);
        assert_int_equal(rta_protocol_message_decode(out, len, (rta_format)f, NULL, &m2, &err), 0);
        assert_string_equal(m2.messages[0].data.ptr, text);
        rta_protocol_message_clear(&m2);
        free(out);
    }
    rta_protocol_message_clear(&m);
    rta_buf_free(&b);
}

/* What ably-js really sends (2.2): Message action/size, a REST-style idempotent id, a
 * JSON-encoded string with encoding "json", a top-level connectionKey; all tolerated. */
static void test_ably_js_shapes(void **state)
{
    (void)state;
    const char *in = "{\"action\":15,\"channel\":\"room\",\"connectionKey\":\"legacy\","
                     "\"annotations\":[],\"state\":[],\"messages\":[{\"name\":\"greet\","
                     "\"data\":\"{\\\"x\\\":1}\",\"encoding\":\"json\",\"action\":0,\"size\":12,"
                     "\"id\":\"abcd:0\",\"serial\":\"z\",\"version\":{}}],\"msgSerial\":1}";
    rta_protocol_message m;
    decode_ok(in, &m);
    assert_int_equal(m.message_count, 1);
    assert_string_equal(m.messages[0].data.ptr, "{\"x\":1}");
    assert_string_equal(m.messages[0].encoding, "json");
    assert_string_equal(m.messages[0].id, "abcd:0");
    assert_json(&m, "{\"action\":15,\"channel\":\"room\",\"messages\":[{\"id\":\"abcd:0\","
                    "\"name\":\"greet\",\"data\":\"{\\\"x\\\":1}\",\"encoding\":\"json\"}],"
                    "\"msgSerial\":1}");
    rta_protocol_message_clear(&m);

    /* null anywhere is absent (ably-js serialises undefined optional fields as null in
     * some paths; its msgpack encoder omits them). */
    decode_ok("{\"action\":10,\"channel\":\"r\",\"channelSerial\":null,\"flags\":null,"
              "\"params\":null,\"error\":null,\"auth\":null,\"connectionDetails\":null,"
              "\"messages\":null,\"presence\":null,\"res\":null,\"id\":null}",
              &m);
    assert_int_equal(m.has, 0);
    assert_null(m.channel_serial);
    assert_json(&m, "{\"action\":10,\"channel\":\"r\"}");
    rta_protocol_message_clear(&m);
}

/* Floats are JavaScript numbers: an integral float is an integer (action 15.0). */
static void test_integral_floats(void **state)
{
    (void)state;
    rta_protocol_message m;
    decode_ok("{\"action\":15.0,\"msgSerial\":2.0}", &m);
    assert_int_equal(m.action, 15);
    assert_int_equal(m.msg_serial, 2);
    rta_protocol_message_clear(&m);
    rta_error err = {0};
    assert_int_equal(json_code("{\"action\":15,\"msgSerial\":2.5}", &err), 40001);
    assert_non_null(strstr(err.message, "msgSerial"));
}

/* Presence (TP3): fields and binary data. */
static void test_presence(void **state)
{
    (void)state;
    roundtrip("{\"action\":14,\"channel\":\"room\",\"presence\":[{\"action\":2,"
              "\"clientId\":\"alice\",\"data\":\"here\"},{\"action\":3,\"clientId\":\"bob\"}]}",
              NULL);
    rta_presence_message p;
    memset(&p, 0, sizeof(p));
    char bytes[] = {0, 1, 2};
    p.action = 4;
    p.data.type = RTA_DATA_BINARY;
    p.data.ptr = bytes;
    p.data.len = 3;
    p.encoding = (char *)"cipher";
    rta_protocol_message h;
    memset(&h, 0, sizeof(h));
    h.action = RTA_ACTION_PRESENCE;
    h.presence = &p;
    h.presence_count = 1;
    assert_json(&h, "{\"action\":14,\"presence\":[{\"action\":4,\"data\":\"AAEC\","
                    "\"encoding\":\"cipher/base64\"}]}");
    /* TP3i: extras are kept, as a Message's, in both formats */
    roundtrip("{\"action\":14,\"channel\":\"room\",\"presence\":[{\"action\":2,"
              "\"clientId\":\"alice\",\"extras\":{\"headers\":{\"k\":\"v\"},\"n\":[1,2]}}]}",
              NULL);
}

/* ---- ErrorInfo (TI1, 2.3) --------------------------------------------------------------- */

static void test_error_info(void **state)
{
    (void)state;
    rta_error e, err = {0};
    rta_error_set(&e, RTA_ERR_TOKEN_REQUEST_FAILED, "Token request failed");
    rta_error c;
    rta_error_set(&c, RTA_ERR_AUTH_CALLBACK, "callback threw");
    rta_error_set_cause(&e, &c);
    rta_buf b = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_JSON, &b);
    rta_error_info_write(&e, &w);
    assert_int_equal(rta_writer_status(&w), 0);
    const char *expected =
        "{\"message\":\"Token request failed\",\"code\":80019,\"statusCode\":401,"
        "\"href\":\"https://help.ably.io/error/80019\",\"cause\":{\"message\":\"callback threw\","
        "\"code\":40170,\"statusCode\":401,\"href\":\"https://help.ably.io/error/40170\"}}";
    assert_string_equal(b.data, expected);

    /* And back: the cause is read when well-formed (RSA4c1). */
    rta_doc *doc;
    assert_int_equal(rta_doc_parse(&doc, RTA_FORMAT_JSON, b.data, b.len, NULL, &err), 0);
    rta_error back;
    assert_int_equal(rta_error_info_read(rta_doc_root(doc), &back, &err), 0);
    assert_int_equal(back.code, 80019);
    assert_int_equal(back.status_code, 401);
    assert_string_equal(back.message, "Token request failed");
    assert_int_equal(back.cause_code, 40170);
    assert_int_equal(back.cause_status_code, 401);
    assert_string_equal(back.cause_message, "callback threw");
    rta_doc_free(doc);
    rta_buf_free(&b);

    /* A malformed cause is ignored, not fatal. */
    rta_protocol_message m;
    decode_ok("{\"action\":9,\"error\":{\"message\":\"x\",\"code\":40101,\"statusCode\":401,"
              "\"cause\":{\"message\":\"y\"},\"detail\":{\"a\":\"b\"}}}",
              &m);
    assert_int_equal(m.error.code, 40101);
    assert_int_equal(m.error.cause_code, 0);
    assert_string_equal(m.error.cause_message, "");
    rta_protocol_message_clear(&m);
    decode_ok("{\"action\":9,\"error\":{\"message\":\"x\",\"code\":40101,\"statusCode\":401,"
              "\"cause\":\"a string\"}}",
              &m);
    assert_int_equal(m.error.cause_code, 0);
    rta_protocol_message_clear(&m);
}

/* A long error message is truncated at a character boundary: never invalid UTF-8. */
static void test_error_message_truncated_utf8(void **state)
{
    (void)state;
    char json[2048];
    size_t n = (size_t)snprintf(json, sizeof(json), "{\"action\":9,\"error\":{\"message\":\"a");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(json + n, sizeof(json) - n, "\xc3\xa9");
    snprintf(json + n, sizeof(json) - n, "\",\"code\":40000,\"statusCode\":400}}");
    rta_protocol_message m;
    decode_ok(json, &m);
    size_t len = strlen(m.error.message);
    assert_true(len <= RTA_ERROR_MESSAGE_MAX - 1);
    assert_true(len >= RTA_ERROR_MESSAGE_MAX - 3);
    assert_true(rta_utf8_valid(m.error.message, len));
    /* and the encoder's output re-decodes */
    size_t olen;
    char *out = encode(&m, RTA_FORMAT_JSON, &olen);
    rta_protocol_message_clear(&m);
    rta_error err = {0};
    assert_int_equal(decode_code(out, olen, RTA_FORMAT_JSON, NULL, &err), 0);
    free(out);

    /* A hand-made rta_error cut mid-character is written without the partial character. */
    rta_protocol_message h;
    memset(&h, 0, sizeof(h));
    h.action = RTA_ACTION_ERROR;
    h.has = RTA_PM_HAS_ERROR;
    h.error.code = 40000;
    h.error.status_code = 400;
    memcpy(h.error.message, "ab\xc3", 4);
    assert_json(&h, "{\"action\":9,\"error\":{\"message\":\"ab\",\"code\":40000,"
                    "\"statusCode\":400,\"href\":\"https://help.ably.io/error/40000\"}}");
}

/* ---- refusals: each with its code ------------------------------------------------------- */

static void expect_json_error(const char *json, int code, const char *field)
{
    rta_error err = {0};
    int rc = json_code(json, &err);
    if (rc != code) fail_msg("%s: expected %d, got %d (%s)", json, code, rc, err.message);
    assert_int_equal(err.code, code);
    if (field && !strstr(err.message, field))
        fail_msg("%s: message \"%s\" does not name %s", json, err.message, field);
}

static void test_reject_structure(void **state)
{
    (void)state;
    expect_json_error("{}", 40001, "action");
    expect_json_error("{\"channel\":\"x\"}", 40001, "action");
    expect_json_error("{\"action\":null}", 40001, "action");
    expect_json_error("{\"action\":\"15\"}", 40001, "action");
    expect_json_error("{\"action\":true}", 40001, "action");
    expect_json_error("{\"action\":1.5}", 40001, "action");
    expect_json_error("{\"action\":-1}", 40001, "action");
    expect_json_error("{\"action\":4294967296}", 40001, "action");
    expect_json_error("[{\"action\":0}]", 40001, NULL);
    expect_json_error("15", 40001, NULL);
    expect_json_error("{\"action\":0", 40001, NULL);
    expect_json_error("", 40001, NULL);
    expect_json_error("{\"action\":0,\"action\":1}", 40001, NULL); /* duplicate key */
}

/* TI1 / 2.3: an ErrorInfo without message, code and statusCode is refused (ably-js would
 * drop the whole frame). */
static void test_reject_error_info(void **state)
{
    (void)state;
    expect_json_error("{\"action\":6,\"error\":{\"message\":\"x\",\"code\":40142}}", 40001,
                      "statusCode");
    expect_json_error("{\"action\":6,\"error\":{\"message\":\"x\",\"statusCode\":401}}", 40001,
                      "code");
    expect_json_error("{\"action\":6,\"error\":{\"code\":40142,\"statusCode\":401}}", 40001,
                      "message");
    expect_json_error("{\"action\":6,\"error\":{\"message\":1,\"code\":1,\"statusCode\":401}}",
                      40001, "message");
    expect_json_error("{\"action\":6,\"error\":{\"message\":\"x\",\"code\":\"40142\","
                      "\"statusCode\":401}}",
                      40001, "code");
    expect_json_error("{\"action\":6,\"error\":{\"message\":\"x\",\"code\":40142,"
                      "\"statusCode\":4294967296}}",
                      40001, "statusCode");
    expect_json_error("{\"action\":6,\"error\":\"Token expired\"}", 40001, "error");
}

static void test_reject_field_types(void **state)
{
    (void)state;
    expect_json_error("{\"action\":10,\"channel\":5}", 40001, "channel");
    expect_json_error("{\"action\":10,\"channelSerial\":[]}", 40001, "channelSerial");
    expect_json_error("{\"action\":0,\"id\":1}", 40001, "id");
    expect_json_error("{\"action\":4,\"connectionId\":{}}", 40001, "connectionId");
    expect_json_error("{\"action\":11,\"flags\":\"1\"}", 40001, "flags");
    expect_json_error("{\"action\":11,\"flags\":-1}", 40001, "flags");
    expect_json_error("{\"action\":11,\"flags\":4294967296}", 40001, "flags");
    expect_json_error("{\"action\":1,\"count\":\"1\"}", 40001, "count");
    expect_json_error("{\"action\":15,\"msgSerial\":\"0\"}", 40001, "msgSerial");
    expect_json_error("{\"action\":15,\"timestamp\":false}", 40001, "timestamp");
    expect_json_error("{\"action\":15,\"messages\":{}}", 40001, "messages");
    expect_json_error("{\"action\":15,\"messages\":[\"x\"]}", 40001, "messages[0]");
    expect_json_error("{\"action\":15,\"messages\":[{},{\"name\":1}]}", 40001, "messages[1]");
    expect_json_error("{\"action\":15,\"messages\":[{\"data\":1}]}", 40001, "data");
    expect_json_error("{\"action\":15,\"messages\":[{\"data\":true}]}", 40001, "data");
    expect_json_error("{\"action\":15,\"messages\":[{\"extras\":\"x\"}]}", 40001, "extras");
    expect_json_error("{\"action\":15,\"messages\":[{\"extras\":[]}]}", 40001, "extras");
    expect_json_error("{\"action\":15,\"messages\":[{\"timestamp\":\"1\"}]}", 40001, "timestamp");
    expect_json_error("{\"action\":15,\"messages\":[{\"encoding\":2}]}", 40001, "encoding");
    expect_json_error("{\"action\":14,\"presence\":[{\"action\":\"enter\"}]}", 40001,
                      "presence[0]");
    expect_json_error("{\"action\":14,\"presence\":5}", 40001, "presence");
    expect_json_error("{\"action\":14,\"presence\":[{\"action\":2,\"extras\":\"x\"}]}", 40001,
                      "extras"); /* TP3i: an object, as TM2i */
    expect_json_error("{\"action\":10,\"params\":[]}", 40001, "params");
    expect_json_error("{\"action\":10,\"params\":{\"a\":1}}", 40001, "params");
    expect_json_error("{\"action\":1,\"res\":{}}", 40001, "res");
    expect_json_error("{\"action\":1,\"res\":[1]}", 40001, "res[0]");
    expect_json_error("{\"action\":1,\"res\":[{\"serials\":\"a\"}]}", 40001, "serials");
    expect_json_error("{\"action\":1,\"res\":[{\"serials\":[1]}]}", 40001, "serials");
    expect_json_error("{\"action\":4,\"connectionDetails\":\"k\"}", 40001, "connectionDetails");
    expect_json_error("{\"action\":4,\"connectionDetails\":{\"maxIdleInterval\":\"1\"}}", 40001,
                      "maxIdleInterval");
    expect_json_error("{\"action\":4,\"connectionDetails\":{\"clientId\":7}}", 40001, "clientId");
    expect_json_error("{\"action\":17,\"auth\":\"T\"}", 40001, "auth");
    expect_json_error("{\"action\":17,\"auth\":{\"accessToken\":{}}}", 40001, "accessToken");
}

static void test_reject_limits(void **state)
{
    (void)state;
    /* RTA_PM_MAX_MESSAGES messages are fine, one more is not. */
    rta_buf b = RTA_BUF_INIT;
    rta_buf_puts(&b, "{\"action\":15,\"messages\":[{}");
    for (int i = 1; i < RTA_PM_MAX_MESSAGES; i++)
        rta_buf_puts(&b, ",{}");
    rta_buf_puts(&b, "]}");
    rta_error err = {0};
    rta_protocol_message m;
    assert_int_equal(rta_protocol_message_decode(b.data, b.len, RTA_FORMAT_JSON, NULL, &m, &err),
                     0);
    assert_int_equal(m.message_count, RTA_PM_MAX_MESSAGES);
    rta_protocol_message_clear(&m);
    b.len -= 2;
    rta_buf_puts(&b, ",{}]}");
    assert_int_equal(decode_code(b.data, b.len, RTA_FORMAT_JSON, NULL, &err), 40001);
    assert_non_null(strstr(err.message, "messages"));
    rta_buf_reset(&b);

    /* Too many params. */
    rta_buf_puts(&b, "{\"action\":10,\"params\":{");
    for (int i = 0; i <= RTA_PM_MAX_PARAMS; i++)
        rta_buf_printf(&b, "%s\"p%d\":\"v\"", i ? "," : "", i);
    rta_buf_puts(&b, "}}");
    assert_int_equal(decode_code(b.data, b.len, RTA_FORMAT_JSON, NULL, &err), 40001);
    assert_non_null(strstr(err.message, "params"));
    rta_buf_reset(&b);

    /* A string field longer than RTA_PM_MAX_STRING; message data has no such limit. */
    rta_buf_puts(&b, "{\"action\":10,\"channel\":\"");
    for (int i = 0; i <= RTA_PM_MAX_STRING; i++)
        rta_buf_putc(&b, 'c');
    rta_buf_puts(&b, "\"}");
    assert_int_equal(decode_code(b.data, b.len, RTA_FORMAT_JSON, NULL, &err), 40001);
    assert_non_null(strstr(err.message, "channel"));
    rta_buf_reset(&b);
    rta_buf_puts(&b, "{\"action\":15,\"messages\":[{\"data\":\"");
    for (int i = 0; i <= RTA_PM_MAX_STRING; i++)
        rta_buf_putc(&b, 'd');
    rta_buf_puts(&b, "\"}]}");
    assert_int_equal(decode_code(b.data, b.len, RTA_FORMAT_JSON, NULL, &err), 0);

    /* Oversize frame: 40009 (rta_parse_limits.max_bytes). */
    rta_parse_limits small = {64, 0};
    assert_int_equal(decode_code(b.data, b.len, RTA_FORMAT_JSON, &small, &err), 40009);
    assert_int_equal(err.status_code, 400);
    rta_buf_free(&b);
}

/* Nesting: extras at exactly the parse depth limit decode AND re-encode in both formats;
 * one level deeper is refused. (Regression: the JSON writer supported one level less than
 * the reader accepts, so a frame we had accepted failed to encode with 50000.) */
static void test_nesting_depth(void **state)
{
    (void)state;
    /* root(1) > messages(2) > message(3) > extras(4) > 28 more levels = 32 */
    for (int extra = 28; extra <= 29; extra++) {
        rta_buf b = RTA_BUF_INIT;
        rta_buf_puts(&b, "{\"action\":15,\"messages\":[{\"extras\":");
        for (int i = 0; i < extra; i++)
            rta_buf_puts(&b, "{\"a\":");
        rta_buf_puts(&b, "{}");
        for (int i = 0; i < extra; i++)
            rta_buf_puts(&b, "}");
        rta_buf_puts(&b, "}]}");
        rta_error err = {0};
        rta_protocol_message m;
        int rc = rta_protocol_message_decode(b.data, b.len, RTA_FORMAT_JSON, NULL, &m, &err);
        if (extra == 28) {
            assert_int_equal(rc, 0);
            assert_json(&m, b.data);
            size_t len;
            char *mp = encode(&m, RTA_FORMAT_MSGPACK, &len);
            rta_protocol_message_clear(&m);
            assert_int_equal(decode_code(mp, len, RTA_FORMAT_MSGPACK, NULL, &err), 0);
            free(mp);
        } else {
            assert_int_equal(rc, 40001);
            assert_non_null(strstr(err.message, "deep"));
        }
        rta_buf_free(&b);
    }
    /* And the writer alone: RTA_WRITER_MAX_DEPTH nested containers are fine, one more is
     * an overflow (50000). */
    for (int depth = RTA_WRITER_MAX_DEPTH; depth <= RTA_WRITER_MAX_DEPTH + 1; depth++) {
        rta_buf b = RTA_BUF_INIT;
        rta_writer w;
        rta_writer_init(&w, RTA_FORMAT_JSON, &b);
        for (int i = 0; i < depth; i++)
            rta_w_array(&w, 1);
        for (int i = 0; i < depth; i++)
            rta_w_array_end(&w);
        assert_int_equal(rta_writer_status(&w), depth == RTA_WRITER_MAX_DEPTH ? 0 : 50000);
        if (depth == RTA_WRITER_MAX_DEPTH) assert_int_equal(b.len, 2 * (size_t)depth);
        rta_buf_free(&b);
    }
}

/* A large extras object costs linear time. (Regression: rta_w_node walked a jansson object
 * from its first key for every key, O(n^2): 400 KB of extras took 16 s to decode and 16 s
 * more to relay, a cheap denial of service. 30000 keys took ~9 s then; now ~0.03 s, and
 * well under the bound below even under valgrind.) */
static void test_large_extras_linear(void **state)
{
    (void)state;
    enum { KEYS = 30000 };
    rta_buf b = RTA_BUF_INIT;
    rta_buf_puts(&b, "{\"action\":15,\"messages\":[{\"extras\":{");
    for (int i = 0; i < KEYS; i++)
        rta_buf_printf(&b, "%s\"%d\":%d", i ? "," : "", i, i);
    rta_buf_puts(&b, "}}]}");
    clock_t t0 = clock();
    rta_protocol_message m;
    rta_error err = {0};
    assert_int_equal(rta_protocol_message_decode(b.data, b.len, RTA_FORMAT_JSON, NULL, &m, &err),
                     0);
    size_t len;
    char *mp = encode(&m, RTA_FORMAT_MSGPACK, &len);
    char *js = encode(&m, RTA_FORMAT_JSON, &len);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_string_equal(js, b.data);
    assert_true(secs < 8.0);
    free(mp);
    free(js);
    rta_protocol_message_clear(&m);
    rta_buf_free(&b);
}

static void test_reject_msgpack(void **state)
{
    (void)state;
    rta_error err = {0};
    /* {"action":15,"channel":"room"} */
    static const char ok[] = "\x82\xa6"
                             "action"
                             "\x0f\xa7"
                             "channel"
                             "\xa4"
                             "room";
    assert_int_equal(decode_code(ok, sizeof(ok) - 1, RTA_FORMAT_MSGPACK, NULL, &err), 0);
    /* Every truncation of it is refused. */
    for (size_t n = 0; n < sizeof(ok) - 1; n++)
        assert_int_equal(decode_code(ok, n, RTA_FORMAT_MSGPACK, NULL, &err), 40001);
    /* Trailing bytes. */
    assert_int_equal(decode_code(ok, sizeof(ok), RTA_FORMAT_MSGPACK, NULL, &err), 40001);

    /* Invalid UTF-8 in a msgpack str. */
    static const char bad_utf8[] = "\x82\xa6"
                                   "action"
                                   "\x0f\xa7"
                                   "channel"
                                   "\xa2\xc3\x28";
    assert_int_equal(decode_code(bad_utf8, sizeof(bad_utf8) - 1, RTA_FORMAT_MSGPACK, NULL, &err),
                     40001);
    /* ... and in JSON. */
    assert_int_equal(json_code("{\"action\":10,\"channel\":\"\xc3\x28\"}", &err), 40001);

    /* action as a msgpack str. */
    static const char action_str[] = "\x81\xa6"
                                     "action"
                                     "\xa2"
                                     "15";
    assert_int_equal(
        decode_code(action_str, sizeof(action_str) - 1, RTA_FORMAT_MSGPACK, NULL, &err), 40001);
    assert_non_null(strstr(err.message, "action"));

    /* A container count that lies (2^32-1 elements in a few bytes). */
    static const char huge[] = "\x82\xa6"
                               "action"
                               "\x0f\xa8"
                               "messages"
                               "\xdd\xff\xff\xff\xff";
    assert_int_equal(decode_code(huge, sizeof(huge) - 1, RTA_FORMAT_MSGPACK, NULL, &err), 40001);

    /* Duplicate params keys (possible in msgpack only): refused, JSON has no form for it. */
    static const char dup_params[] = "\x82\xa6"
                                     "action"
                                     "\x0a\xa6"
                                     "params"
                                     "\x82\xa1"
                                     "a"
                                     "\xa1"
                                     "1"
                                     "\xa1"
                                     "a"
                                     "\xa1"
                                     "2";
    assert_int_equal(
        decode_code(dup_params, sizeof(dup_params) - 1, RTA_FORMAT_MSGPACK, NULL, &err), 40001);
    assert_non_null(strstr(err.message, "duplicate"));

    /* Duplicate keys inside extras likewise. */
    static const char dup_extras[] = "\x82\xa6"
                                     "action"
                                     "\x0f\xa8"
                                     "messages"
                                     "\x91\x81\xa6"
                                     "extras"
                                     "\x82\xa1"
                                     "k"
                                     "\x01\xa1"
                                     "k"
                                     "\x02";
    assert_int_equal(
        decode_code(dup_extras, sizeof(dup_extras) - 1, RTA_FORMAT_MSGPACK, NULL, &err), 40001);
    assert_non_null(strstr(err.message, "extras"));

    /* ... and a NUL in a string inside extras (no JSON reader of ours would take it). */
    static const char nul_extras[] = "\x82\xa6"
                                     "action"
                                     "\x0f\xa8"
                                     "messages"
                                     "\x91\x81\xa6"
                                     "extras"
                                     "\x81\xa1"
                                     "k"
                                     "\xa2"
                                     "a\x00";
    assert_int_equal(
        decode_code(nul_extras, sizeof(nul_extras) - 1, RTA_FORMAT_MSGPACK, NULL, &err), 40001);
    assert_non_null(strstr(err.message, "extras"));

    /* A NUL inside message data: our JSON reader refuses \u0000, so it could not be relayed
     * to a JSON client; refused at the door. */
    static const char nul_data[] = "\x82\xa6"
                                   "action"
                                   "\x0f\xa8"
                                   "messages"
                                   "\x91\x81\xa4"
                                   "data"
                                   "\xa3"
                                   "a\x00"
                                   "b";
    assert_int_equal(decode_code(nul_data, sizeof(nul_data) - 1, RTA_FORMAT_MSGPACK, NULL, &err),
                     40001);
    assert_non_null(strstr(err.message, "NUL"));

    /* Deep nesting in msgpack extras. */
    static const char deep_head[] = "\x82\xa6"
                                    "action"
                                    "\x0f\xa8"
                                    "messages"
                                    "\x91\x81\xa6"
                                    "extras";
    rta_buf b = RTA_BUF_INIT;
    rta_buf_append(&b, deep_head, sizeof(deep_head) - 1);
    for (int i = 0; i < 40; i++)
        rta_buf_append(&b,
                       "\x81\xa1"
                       "a",
                       3);
    rta_buf_putc(&b, 0);
    assert_int_equal(decode_code(b.data, b.len, RTA_FORMAT_MSGPACK, NULL, &err), 40001);
    rta_buf_free(&b);

    /* Oversize msgpack: 40009. */
    rta_parse_limits small = {8, 0};
    assert_int_equal(decode_code(ok, sizeof(ok) - 1, RTA_FORMAT_MSGPACK, &small, &err), 40009);
}

/* Hand-built messages the encoder cannot write: 50000, and the buffer is left as it was. */
static void test_encode_failure(void **state)
{
    (void)state;
    rta_message msg;
    memset(&msg, 0, sizeof(msg));
    msg.data.type = RTA_DATA_JSON;
    msg.data.ptr = (char *)"{not json";
    msg.data.len = strlen(msg.data.ptr);
    rta_protocol_message h;
    memset(&h, 0, sizeof(h));
    h.action = RTA_ACTION_MESSAGE;
    h.messages = &msg;
    h.message_count = 1;
    rta_buf b = RTA_BUF_INIT;
    rta_buf_puts(&b, "prefix");
    assert_int_equal(rta_protocol_message_encode(&h, RTA_FORMAT_JSON, &b), 50000);
    assert_int_equal(rta_protocol_message_encode(&h, RTA_FORMAT_MSGPACK, &b), 50000);
    assert_string_equal(b.data, "prefix");
    assert_int_equal(b.len, 6);

    /* Two frames appended one after the other. */
    msg.data.ptr = (char *)"[1]";
    msg.data.len = 3;
    rta_buf_reset(&b);
    assert_int_equal(rta_protocol_message_encode(&h, RTA_FORMAT_JSON, &b), 0);
    assert_int_equal(rta_protocol_message_encode(&h, RTA_FORMAT_JSON, &b), 0);
    assert_string_equal(b.data, "{\"action\":15,\"messages\":[{\"data\":[1]}]}"
                                "{\"action\":15,\"messages\":[{\"data\":[1]}]}");
    rta_buf_free(&b);
}

/* Clear functions free everything and zero the struct; clearing twice is harmless. */
/* A lone Message (REST bodies, RSL1/RSL2): decode from a node, deep copy, write back. */
static void test_single_message(void **state)
{
    (void)state;
    const char *in = "{\"id\":\"b:0\",\"name\":\"n\",\"data\":{\"a\":[1,2]},\"clientId\":\"c\","
                     "\"extras\":{\"h\":1},\"size\":9,\"timestamp\":5}";
    rta_doc *doc = NULL;
    rta_error err;
    assert_int_equal(rta_doc_parse(&doc, RTA_FORMAT_JSON, in, strlen(in), NULL, &err), 0);
    rta_message m, copy;
    assert_int_equal(rta_message_decode_node(rta_doc_root(doc), &m, &err), 0);
    rta_doc_free(doc);
    assert_int_equal(rta_message_copy(&copy, &m), 0);
    rta_message_clear(&m);
    rta_buf out = RTA_BUF_INIT;
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_JSON, &out);
    assert_int_equal(rta_message_write(&copy, &w), 0);
    assert_string_equal(out.data, "{\"id\":\"b:0\",\"name\":\"n\",\"data\":{\"a\":[1,2]},"
                                  "\"clientId\":\"c\",\"timestamp\":5,\"extras\":{\"h\":1}}");
    rta_buf_free(&out);
    rta_message_clear(&copy);
    /* binary data survives the copy byte for byte, NUL included */
    rta_message b = {0};
    b.data.type = RTA_DATA_BINARY;
    b.data.ptr = "\0\1\2";
    b.data.len = 3;
    assert_int_equal(rta_message_copy(&copy, &b), 0);
    assert_int_equal(copy.data.len, 3);
    assert_memory_equal(copy.data.ptr, "\0\1\2", 3);
    rta_message_clear(&copy);
    /* not an object: 40001, and nothing to clear */
    assert_int_equal(rta_doc_parse(&doc, RTA_FORMAT_JSON, "[1]", 3, NULL, &err), 0);
    assert_int_equal(rta_message_decode_node(rta_node_at(rta_doc_root(doc), 0), &m, &err), 40001);
    assert_null(m.name);
    rta_doc_free(doc);
}

static void test_clear(void **state)
{
    (void)state;
    rta_protocol_message m;
    decode_ok("{\"action\":14,\"presence\":[{\"clientId\":\"a\",\"data\":[1]}],"
              "\"messages\":[{\"name\":\"n\",\"extras\":{}}]}",
              &m);
    rta_message_clear(&m.messages[0]);
    assert_null(m.messages[0].name);
    assert_null(m.messages[0].extras);
    rta_presence_message_clear(&m.presence[0]);
    assert_null(m.presence[0].data.ptr);
    assert_int_equal(m.presence[0].data.type, RTA_DATA_NONE);
    rta_protocol_message_clear(&m);
    rta_protocol_message zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(&m, &zero, sizeof(m));
    rta_protocol_message_clear(&m);
    rta_protocol_message_clear(NULL);
    rta_message_clear(NULL);
    rta_presence_message_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_connected),
        cmocka_unit_test(test_connected_real_ably_shape),
        cmocka_unit_test(test_session_attach_attached),
        cmocka_unit_test(test_session_client_message),
        cmocka_unit_test(test_session_ack),
        cmocka_unit_test(test_ack_null_serial),
        cmocka_unit_test(test_session_server_message),
        cmocka_unit_test(test_session_auth),
        cmocka_unit_test(test_session_disconnected),
        cmocka_unit_test(test_nack),
        cmocka_unit_test(test_heartbeat_close),
        cmocka_unit_test(test_msg_serial_zero),
        cmocka_unit_test(test_all_actions_msgpack_roundtrip),
        cmocka_unit_test(test_binary_msgpack_to_json),
        cmocka_unit_test(test_json_data_to_msgpack),
        cmocka_unit_test(test_float_data_stable),
        cmocka_unit_test(test_ably_js_shapes),
        cmocka_unit_test(test_integral_floats),
        cmocka_unit_test(test_presence),
        cmocka_unit_test(test_single_message),
        cmocka_unit_test(test_error_info),
        cmocka_unit_test(test_error_message_truncated_utf8),
        cmocka_unit_test(test_reject_structure),
        cmocka_unit_test(test_reject_error_info),
        cmocka_unit_test(test_reject_field_types),
        cmocka_unit_test(test_reject_limits),
        cmocka_unit_test(test_nesting_depth),
        cmocka_unit_test(test_large_extras_linear),
        cmocka_unit_test(test_reject_msgpack),
        cmocka_unit_test(test_encode_failure),
        cmocka_unit_test(test_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
