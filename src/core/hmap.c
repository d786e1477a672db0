/* hmap.c: open-addressing hash map with SipHash-1-3; see hmap.h. */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "rtauth/error.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1, v1 = ROTL(v1, 13), v1 ^= v0, v0 = ROTL(v0, 32);                                  \
        v2 += v3, v3 = ROTL(v3, 16), v3 ^= v2;                                                     \
        v0 += v3, v3 = ROTL(v3, 21), v3 ^= v0;                                                     \
        v2 += v1, v1 = ROTL(v1, 17), v1 ^= v2, v2 = ROTL(v2, 32);                                  \
    } while (0)

uint64_t rta_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = 0;
        for (int b = 7; b >= 0; b--) m = (m << 8) | p[i + (size_t)b]; /* little-endian */
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t last = (uint64_t)len << 56;
    for (size_t b = 0; b < (len & 7); b++) last |= (uint64_t)p[full + b] << (8 * b);
    v3 ^= last;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

int rta_hmap_init_pooled(rta_hmap *m, rta_pool *pool)
{
    memset(m, 0, sizeof(*m));
    m->pool = pool;
    uint64_t k[2];
    if (rta_random_bytes(k, sizeof(k))) return RTA_ERR_INTERNAL;
    m->k0 = k[0], m->k1 = k[1];
    return 0;
}

int rta_hmap_init(rta_hmap *m) { return rta_hmap_init_pooled(m, NULL); }

static void *mem_alloc(const rta_hmap *m, size_t n, int zeroed)
{
    if (m->pool) return zeroed ? rta_pool_calloc(m->pool, n) : rta_pool_alloc(m->pool, n);
    return zeroed ? calloc(1, n) : malloc(n);
}

static void mem_free(const rta_hmap *m, void *p)
{
    if (m->pool) rta_pool_free(m->pool, p);
    else free(p);
}

void rta_hmap_free(rta_hmap *m)
{
    for (size_t i = 0; i < m->cap; i++) mem_free(m, m->slots[i].key);
    mem_free(m, m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

static size_t find(const rta_hmap *m, const void *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const rta_hmap_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && s->key_len == len && memcmp(s->key, key, len) == 0))
            return i;
    }
}

void **rta_hmap_ref(const rta_hmap *m, const void *key, size_t key_len)
{
    if (!m->count) return NULL;
    uint64_t h = rta_siphash13(m->k0, m->k1, key, key_len);
    size_t i = find(m, key, key_len, h);
    return m->slots[i].key ? &m->slots[i].value : NULL;
}

void *rta_hmap_get(const rta_hmap *m, const void *key, size_t key_len)
{
    void **v = rta_hmap_ref(m, key, key_len);
    return v ? *v : NULL;
}

static int resize(rta_hmap *m, size_t cap)
{
    if (cap > SIZE_MAX / sizeof(rta_hmap_slot)) return RTA_ERR_INTERNAL;
    rta_hmap_slot *slots = mem_alloc(m, cap * sizeof(*slots), 1);
    if (!slots) return RTA_ERR_INTERNAL;
    rta_hmap old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].key) continue;
        size_t j = find(m, old.slots[i].key, old.slots[i].key_len, old.slots[i].hash);
        m->slots[j] = old.slots[i];
    }
    mem_free(m, old.slots);
    return 0;
}

static int grow(rta_hmap *m) { return resize(m, m->cap ? m->cap * 2 : 16); }

/* A map that held 10,000 connections and now holds a few gives its table back (issue 19:
 * RSS after a storm closes). Shrinks at load 1/8 to load 1/4, so a map hovering around one
 * size never resizes back and forth; a failed shrink just keeps the larger table. */
#define SHRINK_MIN_CAP 64
static void maybe_shrink(rta_hmap *m)
{
    if (m->cap > SHRINK_MIN_CAP && m->count * 8 < m->cap) (void)resize(m, m->cap / 2);
}

int rta_hmap_put(rta_hmap *m, const void *key, size_t key_len, void *value, void **old)
{
    if (old) *old = NULL;
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m)) return RTA_ERR_INTERNAL; /* load <= 3/4 */
    uint64_t h = rta_siphash13(m->k0, m->k1, key, key_len);
    size_t i = find(m, key, key_len, h);
    rta_hmap_slot *s = &m->slots[i];
    if (s->key) {
        if (old) *old = s->value;
        s->value = value;
        return 0;
    }
    char *copy = mem_alloc(m, key_len + 1, 0);
    if (!copy) return RTA_ERR_INTERNAL;
    memcpy(copy, key, key_len);
    copy[key_len] = '\0';
    s->key = copy;
    s->key_len = key_len;
    s->hash = h;
    s->value = value;
    m->count++;
    return 0;
}

/* Backward-shift deletion keeps probe sequences intact without tombstones. */
static void remove_at(rta_hmap *m, size_t i)
{
    size_t mask = m->cap - 1;
    mem_free(m, m->slots[i].key);
    m->slots[i].key = NULL;
    m->count--;
    for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        /* move j back to i if i lies cyclically in [home, j) */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            m->slots[j].key = NULL;
            i = j;
        }
    }
}

void *rta_hmap_del(rta_hmap *m, const void *key, size_t key_len)
{
    if (!m->count) return NULL;
    uint64_t h = rta_siphash13(m->k0, m->k1, key, key_len);
    size_t i = find(m, key, key_len, h);
    if (!m->slots[i].key) return NULL;
    void *v = m->slots[i].value;
    remove_at(m, i);
    maybe_shrink(m);
    return v;
}

size_t rta_hmap_filter(rta_hmap *m,
                       int (*keep)(void *ctx, const char *key, size_t key_len, void *value),
                       void *ctx)
{
    /* Collect first: deleting while scanning would move unvisited entries behind us. */
    size_t removed = 0;
    for (size_t i = 0; i < m->cap;) {
        rta_hmap_slot *s = &m->slots[i];
        if (s->key && !keep(ctx, s->key, s->key_len, s->value)) {
            remove_at(m, i);
            removed++;
            continue; /* slot i now holds a shifted entry (or is empty): look again */
        }
        i++;
    }
    while (removed && m->cap > SHRINK_MIN_CAP && m->count * 8 < m->cap) {
        size_t cap = m->cap;
        maybe_shrink(m);
        if (m->cap == cap) break; /* out of memory: keep the table */
    }
    return removed;
}

char *rta_hmap_pair_key(const char *a, char sep, const char *b, char *buf, size_t size,
                        size_t *len)
{
    size_t na = strlen(a), nb = strlen(b);
    char *k = buf && na + nb + 2 <= size ? buf : malloc(na + nb + 2);
    if (!k) return NULL;
    memcpy(k, a, na);
    k[na] = sep;
    memcpy(k + na + 1, b, nb + 1);
    *len = na + 1 + nb;
    return k;
}
