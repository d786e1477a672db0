/* fuzz_protocol_msgpack.c: libFuzzer target for rta_protocol_message_decode on MSGPACK
 * frames, plus the encode/decode round trip of protocol_roundtrip.h.
 * Seeds: fuzz/corpus/protocol_msgpack/. */
#include "protocol_roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return rta_fuzz_protocol(data, size, RTA_FORMAT_MSGPACK);
}
