/* log.c: leveled stderr logging; see log.h. */
#include "server/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static rta_log_level current = RTA_LOG_INFO;
static const char *names[] = {"error", "warn", "info", "debug"};

void rta_log_set_level(rta_log_level level)
{
    current = level;
}

rta_log_level rta_log_get_level(void)
{
    return current;
}

int rta_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

void rta_log(rta_log_level level, const char *fmt, ...)
{
    if (level > current) return;
    char line[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    /* one write per line, so concurrent threads never interleave within a line */
    size_t len = strlen(line);
    if (len < sizeof(line) - 1) line[len++] = '\n';
    fwrite(line, 1, len, stderr);
}
