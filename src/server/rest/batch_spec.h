/* rest/batch_spec.h: the body of POST /messages (RSC22, BSP): one BatchPublishSpec
 * {channels, messages} or an array of them, decoded into plain records. A parser only: no I/O,
 * no credentials, no gateway (rest/batch.c checks and publishes), so fuzz/fuzz_batch_spec.c
 * runs it on its own.
 *
 * Bounds: at most RTA_BATCH_MAX_SPECS specs, 1..RTA_BATCH_MAX_CHANNELS channels per spec and
 * RTA_BATCH_MAX_CHANNELS_TOTAL over the request, 1..RTA_PM_MAX_MESSAGES messages per spec; the
 * body itself is bounded by the caller (max_body). channels may be one string (Ably accepts
 * it) or an array of strings; messages one Message or an array (as a REST publish). Channel
 * names are only copied here: their validity is a per-channel result (40010), not a body
 * error. */
#ifndef RTA_SERVER_REST_BATCH_SPEC_H
#define RTA_SERVER_REST_BATCH_SPEC_H

#include <stddef.h>

#include "core/codec.h"
#include "core/protocol.h"

#define RTA_BATCH_MAX_SPECS          100
#define RTA_BATCH_MAX_CHANNELS       100
#define RTA_BATCH_MAX_CHANNELS_TOTAL 1000

typedef struct rta_batch_spec {
    char **channels; /* owned, NUL-terminated (a name with a NUL is refused) */
    size_t channel_count;
    rta_message *messages; /* owned */
    size_t message_count;
} rta_batch_spec;

typedef struct rta_batch_request {
    rta_batch_spec *specs; /* owned */
    size_t count;
    int single;            /* the body was one spec, not an array */
    size_t channels_total; /* sum of channel_count */
} rta_batch_request;

/* Decodes body (fmt) into *out (zeroed first; cleared again on failure). Returns 0, or 40001
 * (naming the spec and field; also for JSON/msgpack that does not parse) / 50000 with err
 * set. */
int rta_batch_request_decode(const void *body, size_t len, rta_format fmt, size_t max_body,
                             rta_batch_request *out, rta_error *err);
void rta_batch_request_clear(rta_batch_request *r);

#endif
