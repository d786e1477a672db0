/* buf.h: a growable byte buffer for encoders (JSON, msgpack, sign texts).
 *
 * Appends never fail loudly: on allocation failure the buffer sets `oom` and ignores
 * further appends, so an encoder writes straight through and checks once at the end.
 * The data is always NUL-terminated (the NUL is not counted in len).
 */
#ifndef RTA_CORE_BUF_H
#define RTA_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct rta_buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    int oom; /* set when an allocation failed; the content is then incomplete */
    int borrowed; /* data is caller memory (e.g. a stack array): moved to the heap on growth */
} rta_buf;

#define RTA_BUF_INIT {NULL, 0, 0, 0, 0}

/* Starts b on caller memory (size >= 1): no allocation until the content outgrows it.
 * rta_buf_free() is still required, and frees only what the buffer allocated. */
void rta_buf_init_borrowed(rta_buf *b, char *mem, size_t size);

void rta_buf_append(rta_buf *b, const void *p, size_t n);
void rta_buf_puts(rta_buf *b, const char *s);
void rta_buf_putc(rta_buf *b, char c);
void rta_buf_printf(rta_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes room for n more bytes; returns a pointer to them or NULL (and oom) on failure.
 * The caller writes them and then calls rta_buf_commit(b, written). */
char *rta_buf_reserve(rta_buf *b, size_t n);
void rta_buf_commit(rta_buf *b, size_t n);
void rta_buf_reset(rta_buf *b); /* len = 0, keeps the memory */
void rta_buf_free(rta_buf *b);
/* Hands the data to the caller (who frees it with free()); the buffer is left empty.
 * Returns NULL if oom was set. */
char *rta_buf_detach(rta_buf *b, size_t *len);

#endif
