/* hmap.h: a small string-keyed hash map (open addressing, linear probing, backward-shift
 * deletion) for the server's in-memory indexes: keys by name, nonces, revocations,
 * connections by clientId.
 *
 * Keys are byte strings (may contain any byte); the map copies them. Values are void
 * pointers the map does not own. Hashing is SipHash-1-3 under a per-map random key, so
 * clients cannot choose keys that collide (hash flooding). Not thread-safe.
 */
#ifndef RTA_CORE_HMAP_H
#define RTA_CORE_HMAP_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

typedef struct rta_hmap_slot {
    char *key; /* NULL = empty slot */
    size_t key_len;
    uint64_t hash;
    void *value;
} rta_hmap_slot;

typedef struct rta_hmap {
    rta_hmap_slot *slots;
    size_t cap; /* power of two, or 0 before the first insert */
    size_t count;
    uint64_t k0, k1; /* SipHash key */
    rta_pool *pool;  /* where its keys and table live; NULL: malloc */
} rta_hmap;

/* Returns 0, or 50000 if the CSPRNG fails. */
int rta_hmap_init(rta_hmap *m);
/* The same, for a map whose keys and table come from `pool` (core/pool.h: long-lived state
 * kept out of malloc's heap); the pool must outlive the map. */
int rta_hmap_init_pooled(rta_hmap *m, rta_pool *pool);
/* Frees the map's own memory (keys, slots), not the values. */
void rta_hmap_free(rta_hmap *m);

void *rta_hmap_get(const rta_hmap *m, const void *key, size_t key_len);
/* Inserts or replaces. *old (if not NULL) receives the replaced value or NULL.
 * Returns 0 or 50000 (out of memory: the map is unchanged). */
int rta_hmap_put(rta_hmap *m, const void *key, size_t key_len, void *value, void **old);
/* Removes the key; returns its value or NULL. The table shrinks when it is mostly empty. */
void *rta_hmap_del(rta_hmap *m, const void *key, size_t key_len);
/* Where key's value is stored, to change it in place (never fails, never grows the map), or
 * NULL when the key is absent. Valid until the next put or del. */
void **rta_hmap_ref(const rta_hmap *m, const void *key, size_t key_len);

/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].key) ...
 * Deleting during iteration is not allowed (backward shift moves entries); collect keys
 * first, or use rta_hmap_filter. */

/* Removes every entry for which keep(ctx, key, key_len, value) returns 0, calling it once
 * per entry (an entry that wraps around the table end may be seen twice: keep must be a pure
 * predicate). Returns the number removed. */
size_t rta_hmap_filter(rta_hmap *m, int (*keep)(void *ctx, const char *key, size_t key_len,
                                                void *value),
                       void *ctx);

/* The two-part key a, sep, b (a NUL-terminated string of *len = strlen(a) + 1 + strlen(b)
 * bytes; sep may be '\0'), written into buf when it fits in size bytes, else malloc'd (buf
 * may be NULL). Returns buf, a heap copy the caller frees, or NULL (out of memory). Lets a
 * lookup by (app, name) build its key on the stack. */
char *rta_hmap_pair_key(const char *a, char sep, const char *b, char *buf, size_t size,
                        size_t *len);

uint64_t rta_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len);

#endif
