/* pool.h: memory for long-lived state, kept apart from malloc's heap.
 *
 * Why: glibc gives a heap page back only when nothing on it is live. State that lives for an
 * hour (a revocation record is kept until every token it covers has expired), allocated while
 * 100,000 connections fill the heap, lands in the holes between their allocations; once they
 * close, every such record keeps its page resident. 10,000 records pinned about 9 MiB per
 * worker in `make bench-scale` (issue 19). A pool takes its memory from mmap, in 64 KiB chunks
 * it carves in order, and unmaps a chunk when the last allocation on it is freed: its state
 * costs what it holds, plus the part of each chunk that is freed while a neighbour lives.
 * That waste is small for state that dies in about the order it was made (records that expire
 * after a fixed TTL), which is what a pool is for; a map's churn belongs in malloc.
 *
 * Allocations are 16-byte aligned; one larger than a quarter of a chunk gets a mapping of its
 * own. Not thread-safe. Under AddressSanitizer freed and unused pool memory is poisoned, so a
 * use after free is still reported.
 */
#ifndef RTA_CORE_POOL_H
#define RTA_CORE_POOL_H

#include <stddef.h>

typedef struct rta_pool_chunk rta_pool_chunk;

typedef struct rta_pool {
    rta_pool_chunk *chunks;  /* every chunk, the one allocations are carved from first */
    size_t mapped;           /* bytes mapped, headers included */
    size_t live;             /* allocations not yet freed */
} rta_pool;

#define RTA_POOL_CHUNK (64 * 1024)

void rta_pool_init(rta_pool *p);
/* Unmaps every chunk, freed or not: what was allocated from p is gone. */
void rta_pool_destroy(rta_pool *p);

/* n bytes (n may be 0), or NULL when out of memory. */
void *rta_pool_alloc(rta_pool *p, size_t n);
/* n zeroed bytes, or NULL. */
void *rta_pool_calloc(rta_pool *p, size_t n);
/* ptr came from rta_pool_alloc/calloc of this pool, or is NULL. */
void rta_pool_free(rta_pool *p, void *ptr);

#endif
