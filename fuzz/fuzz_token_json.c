/* fuzz_token_json.c: libFuzzer target for the token codecs' JSON decoders; every body that
 * decodes must round-trip through both formats (see token_roundtrip.h). */
#include "token_roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return rta_fuzz_token_roundtrip(data, size, RTA_FORMAT_JSON);
}
