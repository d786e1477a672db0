/* fuzz_stats_query.c: GET /stats's query parameters (server/stats.h rta_stats_params_parse,
 * RSC6b) on arbitrary input, read as a query string "name=value&..." (the first pair of a
 * name wins, as libwebsockets' lws_get_urlarg_by_name does). A refusal is always 40003; an
 * accepted query has a limit in 1..1000, start <= end, interval starts aligned to the unit
 * with a later next interval, and its intervals aggregate and encode (TS12a ids, a Stats
 * object in both formats) without error. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/stats.h"

typedef struct input {
    const char *q;
    size_t len;
    char value[128];
} input;

static const char *get(void *ctx, const char *name_eq)
{
    input *in = ctx;
    size_t nl = strlen(name_eq);
    for (size_t at = 0; at < in->len;) {
        const char *amp = memchr(in->q + at, '&', in->len - at);
        size_t end = amp ? (size_t)(amp - in->q) : in->len;
        if (end - at >= nl && !memcmp(in->q + at, name_eq, nl)) {
            size_t vl = end - at - nl;
            if (vl >= sizeof(in->value)) vl = sizeof(in->value) - 1;
            memcpy(in->value, in->q + at + nl, vl);
            in->value[vl] = '\0';
            return in->value;
        }
        at = end + 1;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memchr(data, '\0', size)) return 0; /* a URL argument holds no NUL */
    input in = {(const char *)data, size, {0}};
    rta_stats_params q;
    rta_error err;
    int64_t now = 1764979200000LL; /* 2025-12-06 */
    if (rta_stats_params_parse(get, &in, now, &q, &err)) {
        if (err.code != RTA_ERR_INVALID_PARAMETER) abort();
        return 0;
    }
    if (q.limit < 1 || q.limit > RTA_STATS_MAX_LIMIT || q.start > q.end) abort();
    if (q.end > RTA_STATS_MAX_MS || q.start < 0) abort();
    int64_t ends[2] = {q.first_interval, q.last_interval};
    for (int i = 0; i < 2; i++) {
        if (rta_stats_interval_start(ends[i], q.unit) != ends[i]) abort();
        if (rta_stats_interval_next(ends[i], q.unit) <= ends[i]) abort();
        char id[32];
        rta_stats_interval_id(ends[i], q.unit, id, sizeof(id));
        if (strlen(id) < 13) abort();
    }
    rta_stats_row rows[2];
    memset(rows, 0, sizeof(rows));
    for (int i = 0; i < 2; i++) {
        strcpy(rows[i].app_id, "app");
        rows[i].minute = ends[i] / 60000;
        rows[i].v[RTA_SF_MSG_OUT] = 1;
        rows[i].v[RTA_SF_CONN_PEAK] = i + 1;
    }
    rta_stats_bucket *b;
    long n = rta_stats_aggregate(rows, 2, q.unit, &b);
    if (n < 1 || n > 2) abort();
    for (rta_format f = RTA_FORMAT_JSON; f <= RTA_FORMAT_MSGPACK; f++) {
        rta_buf out = RTA_BUF_INIT;
        rta_writer w;
        rta_writer_init(&w, f, &out);
        for (long i = 0; i < n; i++) rta_stats_write(&w, &b[i], q.unit, "app", i ? "x" : NULL);
        if (out.oom || !out.len) abort();
        rta_buf_free(&out);
    }
    free(b);
    return 0;
}
