/* console/metrics_view.c: see metrics_view.h. No allocation; reads only inside text. */
#include "server/console/metrics_view.h"

#include <string.h>

/* 1 when needle occurs in s[0..n). */
static int contains(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (!memcmp(s + i, needle, m)) return 1;
    return 0;
}

/* The sample value at the end of a line: the digits after its last space. 0 when there are
 * none, or more than 19 (no overflow). */
static int value_of(const char *line, size_t n, uint64_t *out)
{
    size_t sp = n;
    while (sp > 0 && line[sp - 1] != ' ') sp--;
    if (sp == 0 || sp == n || n - sp > 19) return 0;
    uint64_t v = 0;
    for (size_t i = sp; i < n; i++) {
        if (line[i] < '0' || line[i] > '9') return 0;
        v = v * 10 + (uint64_t)(line[i] - '0');
    }
    *out = v;
    return 1;
}

static int starts(const char *line, size_t n, const char *name)
{
    size_t m = strlen(name);
    return n > m && !memcmp(line, name, m) && (line[m] == '{' || line[m] == ' ');
}

static void add(uint64_t *sum, uint64_t v)
{
    *sum = *sum + v < *sum ? UINT64_MAX : *sum + v;
}

void rta_console_metrics_summarize(const char *text, size_t len, rta_console_metrics *out)
{
    memset(out, 0, sizeof(*out));
    size_t at = 0;
    while (at < len) {
        const char *line = text + at;
        const char *nl = memchr(line, '\n', len - at);
        size_t n = nl ? (size_t)(nl - line) : len - at;
        at += n + 1;
        if (n == 0 || n > RTA_CONSOLE_METRICS_LINE_MAX || line[0] == '#') continue;
        uint64_t v;
        if (starts(line, n, "rtauthd_connections")) {
            if (!value_of(line, n, &v)) continue;
            out->have_connections = 1;
            if (contains(line, n, "state=\"connected\""))
                add(&out->connected, v);
            else if (contains(line, n, "state=\"awaiting_resume\""))
                add(&out->awaiting_resume, v);
        } else if (starts(line, n, "rtauthd_token_requests_total")) {
            if (!value_of(line, n, &v)) continue;
            out->have_tokens = 1;
            if (contains(line, n, "result=\"issued\""))
                add(&out->tokens_issued, v);
            else
                add(&out->tokens_refused, v);
        }
    }
}
