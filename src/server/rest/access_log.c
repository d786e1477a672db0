/* rest/access_log.c: the access log; see access_log.h. */
#include "server/rest/access_log.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "server/log.h"

int rta_access_log_reopen(rta_access_log *l, const char *path, rta_error *err)
{
    FILE *f = NULL;
    int is_stdout = 0;
    if (strlen(path) >= sizeof(l->path))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "access_log is too long");
    if (!strcmp(path, "-")) {
        f = stdout, is_stdout = 1;
    } else if (path[0]) {
        f = fopen(path, "ae"); /* O_APPEND: several writers (and logrotate copytruncate) */
        if (!f)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Cannot open the access log %s",
                                 path);
    }
    rta_access_log_close(l);
    l->f = f;
    l->is_stdout = is_stdout;
    strcpy(l->path, path);
    return 0;
}

void rta_access_log_close(rta_access_log *l)
{
    if (l->f && !l->is_stdout) fclose(l->f);
    if (l->f && l->is_stdout) fflush(l->f);
    l->f = NULL;
    l->is_stdout = 0;
    l->path[0] = '\0';
}

/* Query arguments whose value may be a credential (RSA3c's accessToken, lws-style
 * access_token, the Basic key, and anything else named like one). */
static int secret_name(const char *name, size_t len)
{
    static const char *names[] = {"access_token", "accessToken", "key",  "token",
                                  "mac",          "authorization", "secret", "password"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && !strncasecmp(names[i], name, len)) return 1;
    return 0;
}

/* Appends src[0..n) percent-encoding what would make the line ambiguous. */
static size_t put_encoded(char *out, size_t size, size_t at, const char *src, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        int plain = c > 0x20 && c < 0x7f && c != '%' && c != '&' && c != '#' && c != '"';
        size_t need = plain ? 1 : 3;
        if (at + need >= size) break;
        if (plain) {
            out[at++] = (char)c;
        } else {
            out[at++] = '%';
            out[at++] = hex[c >> 4];
            out[at++] = hex[c & 15];
        }
    }
    out[at] = '\0';
    return at;
}

size_t rta_access_log_query_add(char *out, size_t size, size_t at, const char *arg, size_t len)
{
    if (!size || at >= size) return at;
    out[at] = '\0';
    if (at && at + 1 < size) out[at++] = '&', out[at] = '\0';
    const char *eq = memchr(arg, '=', len);
    size_t name = eq ? (size_t)(eq - arg) : len;
    at = put_encoded(out, size, at, arg, name);
    if (!eq) return at;
    if (at + 1 < size) out[at++] = '=', out[at] = '\0';
    if (secret_name(arg, name)) {
        if (at + 8 < size) memcpy(out + at, "REDACTED", 9), at += 8;
        return at;
    }
    return put_encoded(out, size, at, eq + 1, len - name - 1);
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static void json_str(rta_buf *b, const char *name, const char *v)
{
    if (!v || !*v) return;
    rta_buf_printf(b, ",\"%s\":\"", name);
    rta_log_json_escape(b, v, strnlen(v, 1024));
    rta_buf_putc(b, '"');
}

void rta_access_log_write(rta_access_log *l, const rta_access_entry *e)
{
    if (!l || !l->f) return;
    char query[1100] = "";
    if (e->query && e->query[0]) snprintf(query, sizeof(query), "?%s", e->query);
    char ts[32];
    rta_log_timestamp(ts);
    char mem[4096];
    rta_buf b;
    rta_buf_init_borrowed(&b, mem, sizeof(mem));
    if (rta_log_get_format() == RTA_LOG_JSON) {
        rta_buf_printf(&b, "{\"time\":\"%s\"", ts);
        json_str(&b, "remote", e->remote);
        json_str(&b, "method", e->method);
        rta_buf_puts(&b, ",\"path\":\"");
        rta_log_json_escape(&b, or_dash(e->path), strnlen(or_dash(e->path), 1024));
        rta_log_json_escape(&b, query, strlen(query));
        rta_buf_printf(&b, "\",\"status\":%d,\"bytes\":%zu,\"durationMs\":%.3f", e->status,
                       e->bytes, e->duration_ms);
        json_str(&b, "keyName", e->key_name);
        json_str(&b, "clientId", e->client_id);
        if (e->code) rta_buf_printf(&b, ",\"code\":%d", e->code);
        rta_buf_puts(&b, "}\n");
    } else {
        rta_buf_printf(&b, "%s - ", or_dash(e->remote));
        rta_log_text_escape(&b, or_dash(e->client_id), strnlen(or_dash(e->client_id), 256));
        rta_buf_printf(&b, " [%s] \"%s ", ts, or_dash(e->method));
        rta_log_text_escape(&b, or_dash(e->path), strnlen(or_dash(e->path), 1024));
        rta_log_text_escape(&b, query, strlen(query));
        rta_buf_printf(&b, "\" %d %zu %.3fms", e->status, e->bytes, e->duration_ms);
        if (e->key_name && *e->key_name) {
            rta_buf_puts(&b, " key=");
            rta_log_text_escape(&b, e->key_name, strnlen(e->key_name, 256));
        }
        if (e->code) rta_buf_printf(&b, " code=%d", e->code);
        rta_buf_putc(&b, '\n');
    }
    if (!b.oom) {
        fwrite(b.data, 1, b.len, l->f);
        fflush(l->f);
    }
    rta_buf_free(&b);
}
