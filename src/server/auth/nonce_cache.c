/* auth/nonce_cache.c: recently used TokenRequest nonces; see auth/nonce_cache.h. */
#include "server/auth/nonce_cache.h"

#include <stdlib.h>
#include <string.h>

int rta_nonce_cache_init(rta_nonce_cache *c, size_t max_entries)
{
    memset(c, 0, sizeof(*c));
    c->max_entries = max_entries;
    return rta_hmap_init(&c->map);
}

void rta_nonce_cache_free(rta_nonce_cache *c)
{
    for (size_t i = 0; i < c->count; i++) free(c->fifo[(c->head + i) % c->cap].key);
    free(c->fifo);
    rta_hmap_free(&c->map);
    memset(c, 0, sizeof(*c));
}

static int fifo_push(rta_nonce_cache *c, const char *key, size_t len, int64_t expires)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 1024;
        rta_nonce_fifo_entry *f = malloc(cap * sizeof(*f));
        if (!f) return -1;
        for (size_t i = 0; i < c->count; i++) f[i] = c->fifo[(c->head + i) % c->cap];
        free(c->fifo);
        c->fifo = f;
        c->cap = cap;
        c->head = 0;
    }
    char *copy = malloc(len);
    if (!copy) return -1;
    memcpy(copy, key, len);
    c->fifo[(c->head + c->count) % c->cap] = (rta_nonce_fifo_entry){copy, len, expires};
    c->count++;
    return 0;
}

size_t rta_nonce_cache_purge(rta_nonce_cache *c, int64_t now)
{
    size_t n = 0;
    while (c->count && c->fifo[c->head].expires <= now) {
        rta_nonce_fifo_entry *e = &c->fifo[c->head];
        /* a later add of the same nonce (after it expired) owns the map entry now */
        void *v = rta_hmap_get(&c->map, e->key, e->key_len);
        if (v && (int64_t)(intptr_t)v == e->expires) rta_hmap_del(&c->map, e->key, e->key_len);
        free(e->key);
        c->head = (c->head + 1) % c->cap;
        c->count--;
        n++;
    }
    return n;
}

int rta_nonce_cache_add(rta_nonce_cache *c, const char *key_name, const char *nonce,
                        int64_t expires, int64_t now, rta_error *err)
{
    char stack[512];
    size_t kl = strlen(key_name), nl = strlen(nonce);
    if (kl + 1 + nl > sizeof(stack))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Nonce too long");
    memcpy(stack, key_name, kl);
    stack[kl] = '\0'; /* key names cannot contain NUL: an unambiguous separator */
    memcpy(stack + kl + 1, nonce, nl);
    size_t len = kl + 1 + nl;
    void *seen = rta_hmap_get(&c->map, stack, len);
    if (seen && (int64_t)(intptr_t)seen > now)
        return rta_error_set(err, RTA_ERR_NONCE_REPLAYED, "Nonce value replayed");
    if (!seen && c->map.count >= c->max_entries && rta_nonce_cache_purge(c, now) == 0)
        return rta_error_set(err, RTA_ERR_RATE_LIMIT, "Too many token requests in flight");
    if (fifo_push(c, stack, len, expires) ||
        rta_hmap_put(&c->map, stack, len, (void *)(intptr_t)expires, NULL))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    return 0;
}
