/* fuzz_protocol_json.c: libFuzzer target for rta_protocol_message_decode on JSON
 * frames, plus the encode/decode round trip of protocol_roundtrip.h.
 * Seeds: fuzz/corpus/protocol_json/. */
#include "protocol_roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return rta_fuzz_protocol(data, size, RTA_FORMAT_JSON);
}
