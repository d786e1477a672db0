/* error.c: the Ably error table and rta_error helpers. No allocation, no I/O. */
#include "rtauth/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int code;
    int status;
    const char *message;
} error_row;

static const error_row error_rows[] = {
#define RTA__ERR_ROW(name, code, status, msg) {code, status, msg},
    RTA_ERROR_TABLE(RTA__ERR_ROW)
#undef RTA__ERR_ROW
};

static const error_row *find_row(int code)
{
    for (size_t i = 0; i < sizeof(error_rows) / sizeof(error_rows[0]); i++)
        if (error_rows[i].code == code) return &error_rows[i];
    return NULL;
}

const char *rta_strerror(int code)
{
    const error_row *row = find_row(code);
    return row ? row->message : "Unknown error";
}

int rta_error_status(int code)
{
    const error_row *row = find_row(code);
    if (row) return row->status;
    if (code >= 40000 && code < 60000) return code / 100;
    return 500;
}

static void vset(rta_error *err, int code, int status, const char *fmt, va_list ap)
{
    err->code = code;
    err->status_code = status;
    if (fmt)
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
    else
        snprintf(err->message, sizeof(err->message), "%s", rta_strerror(code));
    err->cause_code = 0;
    err->cause_status_code = 0;
    err->cause_message[0] = '\0';
}

int rta_error_set(rta_error *err, int code, const char *fmt, ...)
{
    if (!err) return code;
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, rta_error_status(code), fmt, ap);
    va_end(ap);
    return code;
}

int rta_error_set_status(rta_error *err, int code, int status_code, const char *fmt, ...)
{
    if (!err) return code;
    va_list ap;
    va_start(ap, fmt);
    vset(err, code, status_code, fmt, ap);
    va_end(ap);
    return code;
}

void rta_error_set_cause(rta_error *err, const rta_error *cause)
{
    if (!err || !cause) return;
    err->cause_code = cause->code;
    err->cause_status_code = cause->status_code;
    snprintf(err->cause_message, sizeof(err->cause_message), "%s", cause->message);
}

void rta_error_clear(rta_error *err)
{
    if (err) memset(err, 0, sizeof(*err));
}

size_t rta_error_href(int code, char *buf, size_t size)
{
    int n = snprintf(buf, buf ? size : 0, "https://help.ably.io/error/%d", code);
    return n < 0 ? 0 : (size_t)n;
}
