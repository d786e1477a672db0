/* fuzz_gateway.c: the realtime gateway's frame-to-message path (tests/gateway_fixture.h): a
 * sequence of WebSocket messages, each from one of three connections (two keys, JSON and
 * msgpack, identified or not), through decode, the limits, and every action's handler:
 * attach, detach, publish and fan-out, presence, AUTH, held messages. Input: records of
 * [selector byte][length, 2 bytes big-endian][bytes]; selector bits 0-1 pick the
 * connection, bit 2 asks for a simulated resume (await re-attach) first. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/gateway_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (fx_init()) abort();
        ready = 1;
    }
    rta_conn *c[3] = {
        fx_conn("app.all", "secret-all", NULL, RTA_FORMAT_JSON),
        fx_conn("app.all", "secret-all", "alice", RTA_FORMAT_MSGPACK),
        fx_conn("app.limited", "secret-lim", NULL, RTA_FORMAT_JSON),
    };
    if (!c[0] || !c[1] || !c[2]) abort();
    size_t pos = 0;
    while (pos + 3 <= size) {
        uint8_t sel = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos) len = size - pos;
        rta_conn *to = c[(sel & 3) % 3];
        if (sel & 4) rta__gw_conn_await_reattach(to);
        rta__gw_conn_handle_message(to, data + pos, len);
        pos += len;
        /* drain replies now and then, as a transport would */
        rta_protocol_message m;
        if (sel & 8)
            while (fx_pop(to, 0, &m) == 0) rta_protocol_message_clear(&m);
    }
    for (int i = 0; i < 3; i++) rta__gw_conn_free(c[i]);
    if (fx.gateway.conns || fx.gateway.channels.count) abort(); /* nothing leaks */
    return 0;
}
