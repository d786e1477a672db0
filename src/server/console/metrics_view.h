/* console/metrics_view.h: the few numbers the console's charts draw, read back from the
 * server's Prometheus text (server/metrics.h, rta_metrics_render): connections by state
 * (rtauthd_connections{app,state}, summed over apps) and token requests by result
 * (rtauthd_token_requests_total{result,code}, summed over codes). A parser of our own text
 * but still bounded and total on any input (fuzz/fuzz_console_metrics.c): lines longer than
 * RTA_CONSOLE_METRICS_LINE_MAX and values that are not whole numbers are skipped. */
#ifndef RTA_SERVER_CONSOLE_METRICS_VIEW_H
#define RTA_SERVER_CONSOLE_METRICS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#define RTA_CONSOLE_METRICS_LINE_MAX 4096

typedef struct rta_console_metrics {
    uint64_t connected, awaiting_resume;     /* the connection gauge */
    uint64_t tokens_issued, tokens_refused;  /* the token request counter */
    int have_connections, have_tokens;       /* the families were present */
} rta_console_metrics;

/* Sums the families above from text[0..len) into *out (zeroed first). Never fails. */
void rta_console_metrics_summarize(const char *text, size_t len, rta_console_metrics *out);

#endif
