/* buf.c: growable byte buffer; see buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rta_buf_reserve(rta_buf *b, size_t n)
{
    if (b->oom) return NULL;
    if (n >= SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return NULL;
    }
    size_t need = b->len + n + 1; /* +1 keeps room for the terminating NUL */
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need) cap *= 2;
        char *p = b->borrowed ? malloc(cap) : realloc(b->data, cap);
        if (!p) {
            b->oom = 1;
            return NULL;
        }
        if (b->borrowed) {
            if (b->len) memcpy(p, b->data, b->len);
            b->borrowed = 0;
        }
        b->data = p;
        b->cap = cap;
    }
    return b->data + b->len;
}

void rta_buf_commit(rta_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

void rta_buf_init_borrowed(rta_buf *b, char *mem, size_t size)
{
    b->data = mem;
    b->len = 0;
    b->cap = size;
    b->oom = 0;
    b->borrowed = 1;
    mem[0] = '\0';
}

void rta_buf_append(rta_buf *b, const void *p, size_t n)
{
    char *dst = rta_buf_reserve(b, n);
    if (!dst) return;
    if (n) memcpy(dst, p, n);
    rta_buf_commit(b, n);
}

void rta_buf_puts(rta_buf *b, const char *s)
{
    rta_buf_append(b, s, strlen(s));
}

void rta_buf_putc(rta_buf *b, char c)
{
    rta_buf_append(b, &c, 1);
}

void rta_buf_printf(rta_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[128];
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(tmp)) {
        rta_buf_append(b, tmp, (size_t)n);
        return;
    }
    char *dst = rta_buf_reserve(b, (size_t)n);
    if (!dst) return;
    va_start(ap, fmt);
    vsnprintf(dst, (size_t)n + 1, fmt, ap);
    va_end(ap);
    rta_buf_commit(b, (size_t)n);
}

void rta_buf_reset(rta_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->data) b->data[0] = '\0';
}

void rta_buf_free(rta_buf *b)
{
    if (!b->borrowed) free(b->data);
    b->borrowed = 0;
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

char *rta_buf_detach(rta_buf *b, size_t *len)
{
    if (b->oom) {
        rta_buf_free(b);
        return NULL;
    }
    if (b->borrowed) { /* hand out heap memory, never the caller's */
        char *p = malloc(b->len + 1);
        if (p) memcpy(p, b->data, b->len + 1);
        if (len) *len = b->len;
        rta_buf_free(b);
        return p;
    }
    if (!b->data) rta_buf_append(b, "", 0);
    char *p = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
