/* fuzz_console_metrics.c: the console's reader of the metrics text (console/metrics_view.h) on
 * arbitrary input: it must stay inside the input and never fail; and summing a text is the
 * same as summing it with an extra comment line and blank lines around it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/console/metrics_view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rta_console_metrics a, b;
    rta_console_metrics_summarize((const char *)data, size, &a);
    if (size > 65536) return 0;
    static const char pre[] = "# comment\n\n", post[] = "\n\n";
    char *buf = malloc(sizeof(pre) + size + sizeof(post));
    if (!buf) return 0;
    memcpy(buf, pre, sizeof(pre) - 1);
    memcpy(buf + sizeof(pre) - 1, data, size);
    memcpy(buf + sizeof(pre) - 1 + size, post, sizeof(post) - 1);
    rta_console_metrics_summarize(buf, sizeof(pre) - 1 + size + sizeof(post) - 1, &b);
    free(buf);
    if (memcmp(&a, &b, sizeof(a)) != 0) abort();
    return 0;
}
