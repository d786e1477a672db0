/* protocol_roundtrip.h: the body shared by fuzz_protocol_json.c and fuzz_protocol_msgpack.c.
 *
 * Decode the input; when it is accepted, encode it in both formats and decode each result
 * again: what we accepted we must be able to relay, and the relayed frame must mean the same
 * (action, has-bits, counts, channel, strings, data). Any mismatch aborts, so libFuzzer
 * reports it. Not a .c file: fuzz/CMakeLists.txt builds every fuzz_*.c as its own target.
 */
#ifndef RTA_FUZZ_PROTOCOL_ROUNDTRIP_H
#define RTA_FUZZ_PROTOCOL_ROUNDTRIP_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/protocol.h"

static void rta_fuzz_fail(const char *what)
{
    fprintf(stderr, "protocol round trip mismatch: %s\n", what);
    abort();
}

static int rta_fuzz_streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void rta_fuzz_same_data(const rta_data *a, const rta_data *b, rta_format fmt)
{
    if (a->type == RTA_DATA_BINARY && fmt == RTA_FORMAT_JSON) {
        /* RSL4d: binary travels as a base64 string in JSON. */
        if (b->type != RTA_DATA_STRING) rta_fuzz_fail("binary data type in JSON");
        return;
    }
    if (a->type != b->type) rta_fuzz_fail("data type");
    if (a->len != b->len || (a->len && memcmp(a->ptr, b->ptr, a->len) != 0))
        rta_fuzz_fail("data bytes");
}

static void rta_fuzz_same(const rta_protocol_message *a, const rta_protocol_message *b,
                          rta_format fmt)
{
    if (a->action != b->action) rta_fuzz_fail("action");
    if (a->has != b->has) rta_fuzz_fail("has");
    if (a->flags != b->flags || a->count != b->count || a->msg_serial != b->msg_serial ||
        a->timestamp != b->timestamp)
        rta_fuzz_fail("numbers");
    if (a->message_count != b->message_count) rta_fuzz_fail("message_count");
    if (a->presence_count != b->presence_count) rta_fuzz_fail("presence_count");
    if (a->param_count != b->param_count) rta_fuzz_fail("param_count");
    if (a->res_count != b->res_count) rta_fuzz_fail("res_count");
    if (!rta_fuzz_streq(a->channel, b->channel)) rta_fuzz_fail("channel");
    if (!rta_fuzz_streq(a->id, b->id) || !rta_fuzz_streq(a->channel_serial, b->channel_serial) ||
        !rta_fuzz_streq(a->connection_id, b->connection_id) ||
        !rta_fuzz_streq(a->auth_access_token, b->auth_access_token) ||
        !rta_fuzz_streq(a->details.connection_key, b->details.connection_key))
        rta_fuzz_fail("strings");
    if (a->error.code != b->error.code || a->error.status_code != b->error.status_code ||
        strcmp(a->error.message, b->error.message) != 0)
        rta_fuzz_fail("error");
    for (size_t i = 0; i < a->message_count; i++) {
        const rta_message *x = &a->messages[i], *y = &b->messages[i];
        rta_fuzz_same_data(&x->data, &y->data, fmt);
        if (!rta_fuzz_streq(x->name, y->name) || !rta_fuzz_streq(x->extras, y->extras) ||
            x->timestamp != y->timestamp)
            rta_fuzz_fail("message");
        if (!(x->data.type == RTA_DATA_BINARY && fmt == RTA_FORMAT_JSON) &&
            !rta_fuzz_streq(x->encoding, y->encoding))
            rta_fuzz_fail("message encoding");
    }
    for (size_t i = 0; i < a->presence_count; i++) {
        rta_fuzz_same_data(&a->presence[i].data, &b->presence[i].data, fmt);
        if (a->presence[i].action != b->presence[i].action) rta_fuzz_fail("presence action");
    }
    for (size_t i = 0; i < a->param_count; i++)
        if (strcmp(a->param_keys[i], b->param_keys[i]) != 0 ||
            strcmp(a->param_values[i], b->param_values[i]) != 0)
            rta_fuzz_fail("params");
    for (size_t i = 0; i < a->res_count; i++) {
        if (a->res[i].serial_count != b->res[i].serial_count) rta_fuzz_fail("serial_count");
        for (size_t k = 0; k < a->res[i].serial_count; k++)
            if (!rta_fuzz_streq(a->res[i].serials[k], b->res[i].serials[k]))
                rta_fuzz_fail("serials");
    }
}

static void rta_fuzz_reencode(const rta_protocol_message *m, rta_format fmt)
{
    rta_buf b = RTA_BUF_INIT;
    if (rta_protocol_message_encode(m, fmt, &b) != 0) rta_fuzz_fail("encode");
    /* JSON grows binary by a third (base64): no size limit on the way back. */
    rta_parse_limits lim = {SIZE_MAX, 0};
    rta_protocol_message again;
    rta_error err;
    if (rta_protocol_message_decode(b.data, b.len, fmt, &lim, &again, &err) != 0) {
        fprintf(stderr, "re-decode failed: %d %s\n%.*s\n", err.code, err.message,
                fmt == RTA_FORMAT_JSON ? (int)b.len : 0, b.data);
        rta_fuzz_fail("decode of our own encoding");
    }
    rta_fuzz_same(m, &again, fmt);
    rta_protocol_message_clear(&again);
    rta_buf_free(&b);
}

static int rta_fuzz_protocol(const uint8_t *data, size_t size, rta_format fmt)
{
    rta_protocol_message m;
    rta_error err;
    if (rta_protocol_message_decode(data, size, fmt, NULL, &m, &err) != 0) {
        if (err.code != RTA_ERR_INVALID_BODY && err.code != RTA_ERR_MESSAGE_TOO_LARGE)
            rta_fuzz_fail("unexpected decode error code");
        return 0;
    }
    rta_fuzz_reencode(&m, RTA_FORMAT_JSON);
    rta_fuzz_reencode(&m, RTA_FORMAT_MSGPACK);
    rta_protocol_message_clear(&m);
    return 0;
}

#endif
