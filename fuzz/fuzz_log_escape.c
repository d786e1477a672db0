/* fuzz_log_escape.c: the log's escapers (server/log.h) and the access log's query argument
 * redaction (rest/access_log.h) on arbitrary bytes, as a client's clientId, path or query may
 * hold. The JSON escape must always yield a string jansson parses back to valid UTF-8 with
 * every valid sequence of the input kept; the text escape must never let a control byte
 * through (no forged line); a redacted argument must never hold a byte of a credential's value
 * and never a byte that splits the line or the query. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/log.h"
#include "server/rest/access_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    rta_buf b = RTA_BUF_INIT;
    rta_buf_putc(&b, '"');
    rta_log_json_escape(&b, s, size);
    rta_buf_putc(&b, '"');
    if (b.oom) abort();
    json_error_t e;
    json_t *v = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v || !json_is_string(v)) abort();
    if (size && json_string_length(v) == 0) abort();
    json_decref(v);
    for (size_t i = 0; i < b.len; i++)
        if ((unsigned char)b.data[i] < 0x20) abort();
    rta_buf_free(&b);

    rta_buf t = RTA_BUF_INIT;
    rta_log_text_escape(&t, s, size);
    for (size_t i = 0; i < t.len; i++)
        if ((unsigned char)t.data[i] < 0x20 || (unsigned char)t.data[i] == 0x7f) abort();
    rta_buf_free(&t);

    char out[128];
    size_t at = rta_access_log_query_add(out, sizeof(out), 0, s, size);
    if (at >= sizeof(out) || strlen(out) != at) abort();
    for (size_t i = 0; i < at; i++)
        if ((unsigned char)out[i] <= 0x20 || (unsigned char)out[i] >= 0x7f || out[i] == '&' ||
            out[i] == '"')
            abort();
    const char *eq = memchr(s, '=', size);
    static const char *secret[] = {"access_token", "accessToken", "key", "token", "mac"};
    for (size_t k = 0; eq && k < sizeof(secret) / sizeof(secret[0]); k++) {
        size_t n = (size_t)(eq - s);
        if (n == strlen(secret[k]) && !strncasecmp(s, secret[k], n)) {
            const char *val = strchr(out, '=');
            if (!val || (val[1] && strcmp(val + 1, "REDACTED"))) abort();
        }
    }
    return 0;
}
