/* realtime_decode.c: the data of a received message decoded from its `encoding` (RSL6a, TM2d):
 * the steps are undone right to left, as ably-js does: "base64" (string -> bytes: how binary
 * travels in JSON, RSL4d), "utf-8" (bytes -> text), "json" (text that is the JSON encoding of a
 * non-string value, RSL4c: kept as its JSON text, typed RTA_DATA_JSON). Decoding stops at the
 * first step it does not know (e.g. "cipher+...") or that fails; what is left stays in
 * `encoding` for the application (RSL6b), so a message is never dropped for its encoding.
 *
 * rta__json_text_valid is also the check on data published with the json flag (RSL4c).
 *
 * Pure: no lock, no I/O; runs on the I/O thread before messages are handed to subscribers.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/codec.h"
#include "realtime_internal.h"

int rta__json_text_valid(const char *text, size_t len, int container)
{
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    int ok = v && (!container || json_is_object(v) || json_is_array(v));
    json_decref(v);
    return ok;
}

/* Undoes step (len bytes) on d. 1 when done, 0 when unknown or invalid (d unchanged). */
static int undo(rta_data *d, const char *step, size_t len)
{
    if (len == 6 && !memcmp(step, "base64", 6) && d->type == RTA_DATA_STRING) {
        char *out = malloc(rta_base64_decoded_max(d->len) + 1);
        if (!out) return 0;
        long n = rta_base64_decode(d->ptr, d->len, out, RTA_BASE64_STD);
        if (n < 0) {
            free(out);
            return 0;
        }
        out[n] = '\0'; /* not part of the data: keeps every buffer NUL-terminated */
        free(d->ptr);
        d->ptr = out;
        d->len = (size_t)n;
        d->type = RTA_DATA_BINARY;
        return 1;
    }
    if (len == 5 && !memcmp(step, "utf-8", 5) &&
        (d->type == RTA_DATA_BINARY || d->type == RTA_DATA_STRING)) {
        if (!rta_utf8_valid(d->ptr, d->len) || memchr(d->ptr, '\0', d->len)) return 0;
        if (d->type == RTA_DATA_BINARY) {
            char *s = realloc(d->ptr, d->len + 1); /* NUL-terminated as STRING promises */
            if (!s) return 0;
            s[d->len] = '\0';
            d->ptr = s;
            d->type = RTA_DATA_STRING;
        }
        return 1;
    }
    if (len == 4 && !memcmp(step, "json", 4) && d->type == RTA_DATA_STRING) {
        if (!rta__json_text_valid(d->ptr, d->len, 0)) return 0;
        d->type = RTA_DATA_JSON;
        return 1;
    }
    return 0;
}

void rta__message_decode(rta_message *m)
{
    if (!m->encoding || m->data.type == RTA_DATA_NONE || !m->data.ptr) return;
    size_t end = strlen(m->encoding);
    while (end > 0) {
        size_t start = end;
        while (start > 0 && m->encoding[start - 1] != '/')
            start--;
        if (!undo(&m->data, m->encoding + start, end - start)) break;
        end = start ? start - 1 : 0;
    }
    if (end == 0) {
        free(m->encoding);
        m->encoding = NULL;
    } else {
        m->encoding[end] = '\0';
    }
}
