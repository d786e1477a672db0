/* fuzz_batch_spec.c: rest/batch_spec.c, the POST /messages body parser (RSC22). The first
 * byte picks the format (odd: msgpack), the rest is the body. Whatever it accepts must hold
 * its bounds (specs, channels, messages) and NUL-free channel names; everything is freed
 * (leaks show under ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/rest/batch_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size) return 0;
    rta_format fmt = data[0] & 1 ? RTA_FORMAT_MSGPACK : RTA_FORMAT_JSON;
    rta_batch_request r;
    rta_error err;
    if (rta_batch_request_decode(data + 1, size - 1, fmt, 1 << 20, &r, &err)) {
        if (r.specs || r.count) abort(); /* cleared on failure */
        return 0;
    }
    if (!r.count || r.count > RTA_BATCH_MAX_SPECS) abort();
    if (r.single && r.count != 1) abort();
    size_t total = 0;
    for (size_t i = 0; i < r.count; i++) {
        const rta_batch_spec *s = &r.specs[i];
        if (!s->channel_count || s->channel_count > RTA_BATCH_MAX_CHANNELS) abort();
        if (!s->message_count || s->message_count > RTA_PM_MAX_MESSAGES) abort();
        for (size_t k = 0; k < s->channel_count; k++)
            if (!s->channels[k] || strlen(s->channels[k]) > RTA_CHANNEL_NAME_MAX) abort();
        total += s->channel_count;
    }
    if (total != r.channels_total || total > RTA_BATCH_MAX_CHANNELS_TOTAL) abort();
    rta_batch_request_clear(&r);
    return 0;
}
