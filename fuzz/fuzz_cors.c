/* fuzz_cors.c: the CORS parsers on arbitrary input (cors.h). The input's first line is a
 * --cors-origins value, the rest an Origin and an Access-Control-Request-Headers value.
 * Whatever rtauthd would echo into a response header (an allowed Origin, an accepted request
 * header list) must hold no byte that could end or split a header; every exact origin a
 * parsed policy holds must be allowed by it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/rest/cors.h"

static void echo_safe(const uint8_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0x21 || v[i] > 0x7e) {
            if (v[i] == ' ' || v[i] == '\t') continue; /* inside a list only */
            abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t spec_len = nl ? (size_t)(nl - data) : size;
    const uint8_t *rest = nl ? nl + 1 : data + size;
    size_t rest_len = size - (size_t)(rest - data);

    if (rta_cors_header_list_valid((const char *)rest, rest_len)) echo_safe(rest, rest_len);

    rta_cors_policy any;
    rta_cors_policy_default(&any);
    if (rta_cors_origin_allowed(&any, (const char *)rest, rest_len)) {
        echo_safe(rest, rest_len);
        if (memchr(rest, ' ', rest_len) || memchr(rest, '\t', rest_len) ||
            memchr(rest, ',', rest_len))
            abort();
    }

    char *spec = malloc(spec_len + 1);
    if (!spec) return 0;
    memcpy(spec, data, spec_len);
    spec[spec_len] = '\0';
    rta_cors_policy p;
    rta_error err;
    rta_cors_policy_default(&p);
    if (!memchr(data, '\0', spec_len) && rta_cors_policy_parse(&p, spec, &err) == 0) {
        for (size_t at = 0; at < p.len;) {
            const char *e = p.list + at;
            size_t el = strlen(e);
            at += el + 1;
            if (!strchr(e, '*') && !rta_cors_origin_allowed(&p, e, el)) abort();
        }
        rta_cors_origin_allowed(&p, (const char *)rest, rest_len);
    }
    free(spec);
    return 0;
}
