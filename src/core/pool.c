/* pool.c: mmap-backed chunks for long-lived state; see pool.h. */
#include "pool.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MAP_POPULATE /* Linux's; elsewhere pages fault in as they are touched */
#define MAP_POPULATE 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

struct rta_pool_chunk {
    rta_pool_chunk *prev, *next;
    size_t size; /* mapped bytes */
    size_t used; /* bytes carved, from the chunk's start (header included) */
    size_t live; /* allocations on it not yet freed */
};

/* Before every allocation: its chunk (free finds it there) and its carved size. */
typedef struct alloc_header {
    rta_pool_chunk *chunk;
    size_t size;
} alloc_header;

#define ALIGN 16
#define ROUND(n) (((n) + ALIGN - 1) & ~(size_t)(ALIGN - 1))
#define CHUNK_HEADER ROUND(sizeof(rta_pool_chunk))
#define OWN_MAPPING_ABOVE (RTA_POOL_CHUNK / 4)

_Static_assert(sizeof(alloc_header) % ALIGN == 0, "allocations stay 16-byte aligned");

void rta_pool_init(rta_pool *p) { memset(p, 0, sizeof(*p)); }

/* What an allocation of n bytes takes, its header included (n <= SIZE_MAX / 2). */
static size_t carved(size_t n) { return sizeof(alloc_header) + ROUND(n ? n : 1); }

static void unlink_chunk(rta_pool *p, rta_pool_chunk *c)
{
    if (c->prev) c->prev->next = c->next;
    else p->chunks = c->next;
    if (c->next) c->next->prev = c->prev;
}

static void unmap_chunk(rta_pool *p, rta_pool_chunk *c)
{
    unlink_chunk(p, c);
    p->mapped -= c->size;
    UNPOISON(c, c->size); /* the range may be mapped again, by anyone */
    munmap(c, c->size);
}

/* A new chunk of at least `need` carvable bytes: first in the list when it is to be carved
 * from (`current`), else second (an allocation with a mapping of its own). */
static rta_pool_chunk *map_chunk(rta_pool *p, size_t need, int current)
{
    size_t page = 4096, size = RTA_POOL_CHUNK;
    if (need > RTA_POOL_CHUNK - CHUNK_HEADER) size = (CHUNK_HEADER + need + page - 1) & ~(page - 1);
    /* Populated at once: what is mapped gets used (chunks are carved in order, and a table's
     * entries spread over all its pages), and one call that faults in all pages costs 60% of
     * faulting them one at a time on this VM (115 against 196 us per 64 KiB): growing the
     * revocation index by 10,000 records was a quarter of applying them (make bench-scale's
     * token round, issue 19). */
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    if (m == MAP_FAILED) return NULL;
    rta_pool_chunk *c = m;
    *c = (rta_pool_chunk){.size = size, .used = CHUNK_HEADER};
    POISON((char *)c + CHUNK_HEADER, size - CHUNK_HEADER);
    rta_pool_chunk *before = current || !p->chunks ? NULL : p->chunks;
    c->prev = before;
    c->next = before ? before->next : p->chunks;
    if (c->next) c->next->prev = c;
    if (before) before->next = c;
    else p->chunks = c;
    p->mapped += size;
    return c;
}

void *rta_pool_alloc(rta_pool *p, size_t n)
{
    if (n > SIZE_MAX / 2) return NULL;
    size_t need = carved(n);
    rta_pool_chunk *c = p->chunks;
    if (need > OWN_MAPPING_ABOVE) {
        c = map_chunk(p, need, 0);
    } else if (!c || c->used + need > c->size) {
        /* The full chunk stays mapped while something on it lives: free() unmaps it. */
        if (c && !c->live) unmap_chunk(p, c);
        c = map_chunk(p, need, 1);
    }
    if (!c) return NULL;
    alloc_header *h = (alloc_header *)((char *)c + c->used);
    UNPOISON(h, sizeof(*h) + n); /* the rounding stays poisoned */
    c->used += need;
    c->live++;
    p->live++;
    *h = (alloc_header){c, need};
    return h + 1;
}

void *rta_pool_calloc(rta_pool *p, size_t n)
{
    void *m = rta_pool_alloc(p, n);
    /* A mapping of its own is fresh from mmap, so already zero: writing it again would only
     * cost time (1.5% of the machine in a profile of make bench-scale's token round, issue 19,
     * before mappings were populated). Carved memory may have been used before. */
    if (m && carved(n) <= OWN_MAPPING_ABOVE) memset(m, 0, n);
    return m;
}

void rta_pool_free(rta_pool *p, void *ptr)
{
    if (!ptr) return;
    alloc_header *h = (alloc_header *)ptr - 1;
    rta_pool_chunk *c = h->chunk;
    POISON(h, h->size);
    p->live--;
    if (--c->live) return;
    if (c == p->chunks && c->size == RTA_POOL_CHUNK) { /* the chunk being carved: start over */
        c->used = CHUNK_HEADER;
        return;
    }
    unmap_chunk(p, c);
}

void rta_pool_destroy(rta_pool *p)
{
    while (p->chunks) unmap_chunk(p, p->chunks);
    p->live = 0;
}
