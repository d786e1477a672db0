/* log.c: leveled stderr logging, text or JSON lines; see log.h. Holds no state but the
 * level and the format. */
#include "server/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define MSG_MAX 1024  /* a message's bytes before escaping (longer ones are cut) */
#define FIELD_MAX 256 /* a field's bytes before escaping */

static _Atomic int current = RTA_LOG_INFO;
static _Atomic int format = RTA_LOG_TEXT;
static const char *names[] = {"error", "warn", "info", "debug"};

void rta_log_set_level(rta_log_level level)
{
    atomic_store(&current, (int)level);
}

rta_log_level rta_log_get_level(void)
{
    return (rta_log_level)atomic_load(&current);
}

int rta_log_enabled(rta_log_level level)
{
    return (int)level <= atomic_load(&current);
}

int rta_log_level_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

void rta_log_set_format(rta_log_format f)
{
    atomic_store(&format, (int)f);
}

rta_log_format rta_log_get_format(void)
{
    return (rta_log_format)atomic_load(&format);
}

int rta_log_format_parse(const char *s)
{
    if (!strcmp(s, "text")) return RTA_LOG_TEXT;
    if (!strcmp(s, "json")) return RTA_LOG_JSON;
    return -1;
}

void rta_log_timestamp(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char t[96]; /* room for any int the compiler imagines; real times take 24 bytes */
    snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts.tv_nsec / 1000000));
    snprintf(out, 32, "%.31s", t);
}

/* Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 when s does not start one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c == 0xE0) len = 3, lo = 0xA0;
    else if (c >= 0xE1 && c <= 0xEC) len = 3;
    else if (c == 0xED) len = 3, hi = 0x9F;
    else if (c >= 0xEE && c <= 0xEF) len = 3;
    else if (c == 0xF0) len = 4, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3) len = 4;
    else if (c == 0xF4) len = 4, hi = 0x8F;
    else return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

void rta_log_json_escape(rta_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t run = i; /* plain bytes go out in one append */
        while (run < n && s[run] >= 0x20 && s[run] < 0x7f && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) {
            rta_buf_append(b, s + i, run - i);
            i = run;
            continue;
        }
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            rta_buf_append(b, e, 2);
            i++;
        } else if (c == '\n') {
            rta_buf_append(b, "\\n", 2), i++;
        } else if (c == '\r') {
            rta_buf_append(b, "\\r", 2), i++;
        } else if (c == '\t') {
            rta_buf_append(b, "\\t", 2), i++;
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rta_buf_append(b, e, 6);
            i++;
        } else {
            size_t len = utf8_seq(s + i, n - i);
            if (len) {
                rta_buf_append(b, s + i, len);
                i += len;
            } else {
                rta_buf_append(b, "\\ufffd", 6);
                i++;
            }
        }
    }
}

void rta_log_text_escape(rta_buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] >= 0x20 && s[run] != 0x7f) run++;
        if (run > i) {
            rta_buf_append(b, s + i, run - i);
            i = run;
            continue;
        }
        char e[4] = {'\\', 'x', hex[s[i] >> 4], hex[s[i] & 15]};
        rta_buf_append(b, e, 4);
        i++;
    }
}

static size_t capped(const char *s, size_t max)
{
    return strnlen(s, max);
}

static void json_field(rta_buf *b, const char *name, const char *v, size_t len)
{
    rta_buf_putc(b, ',');
    rta_buf_putc(b, '"');
    rta_buf_puts(b, name);
    rta_buf_puts(b, "\":\"");
    rta_log_json_escape(b, v, len);
    rta_buf_putc(b, '"');
}

static void emit(rta_log_level level, const char *event, const rta_log_fields *f,
                 const char *fmt, va_list ap)
{
    char msg[MSG_MAX];
    int m = vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t mlen = m < 0 ? 0 : (size_t)m < sizeof(msg) ? (size_t)m : sizeof(msg) - 1;
    char ts[32];
    rta_log_timestamp(ts);
    char mem[4096];
    rta_buf b;
    rta_buf_init_borrowed(&b, mem, sizeof(mem));
    if (atomic_load(&format) == RTA_LOG_JSON) {
        rta_buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"event\":\"", ts, names[level]);
        rta_log_json_escape(&b, event, strlen(event));
        rta_buf_puts(&b, "\",\"msg\":\"");
        rta_log_json_escape(&b, msg, mlen);
        rta_buf_putc(&b, '"');
        if (f) {
            const char *app = f->app;
            size_t app_len = app ? capped(app, FIELD_MAX) : 0;
            if (!app && f->key_name) { /* "appId.keyId" */
                const char *dot = strchr(f->key_name, '.');
                if (dot && dot > f->key_name) app = f->key_name, app_len = (size_t)(dot - app);
                if (app_len > FIELD_MAX) app_len = FIELD_MAX;
            }
            if (app && app_len) json_field(&b, "app", app, app_len);
            if (f->key_name) json_field(&b, "keyName", f->key_name, capped(f->key_name, FIELD_MAX));
            if (f->client_id)
                json_field(&b, "clientId", f->client_id, capped(f->client_id, FIELD_MAX));
            if (f->connection_id)
                json_field(&b, "connectionId", f->connection_id,
                           capped(f->connection_id, FIELD_MAX));
            if (f->code) rta_buf_printf(&b, ",\"code\":%d", f->code);
        }
        rta_buf_puts(&b, "}\n");
    } else {
        rta_buf_printf(&b, "%s %-5s ", ts, names[level]);
        rta_log_text_escape(&b, msg, mlen);
        rta_buf_putc(&b, '\n');
    }
    /* one write per line, so concurrent threads never interleave within a line */
    if (!b.oom) fwrite(b.data, 1, b.len, stderr);
    rta_buf_free(&b);
}

void rta_log(rta_log_level level, const char *fmt, ...)
{
    if (!rta_log_enabled(level)) return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, "log", NULL, fmt, ap);
    va_end(ap);
}

void rta_log_event(rta_log_level level, const char *event, const rta_log_fields *fields,
                   const char *fmt, ...)
{
    if (!rta_log_enabled(level)) return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, event, fields, fmt, ap);
    va_end(ap);
}
