/* nonce_cache.c: recently used TokenRequest nonces; see nonce_cache.h. */
#include "nonce_cache.h"

#include <string.h>

int rta_nonce_cache_init(rta_nonce_cache *c, size_t max_entries)
{
    c->max_entries = max_entries;
    return rta_hmap_init(&c->map);
}

void rta_nonce_cache_free(rta_nonce_cache *c)
{
    rta_hmap_free(&c->map);
}

static int keep_unexpired(void *ctx, const char *key, size_t len, void *value)
{
    (void)key, (void)len;
    return (int64_t)(intptr_t)value > *(const int64_t *)ctx;
}

size_t rta_nonce_cache_purge(rta_nonce_cache *c, int64_t now)
{
    return rta_hmap_filter(&c->map, keep_unexpired, &now);
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
    void *seen = rta_hmap_get(&c->map, stack, kl + 1 + nl);
    if (seen && (int64_t)(intptr_t)seen > now)
        return rta_error_set(err, RTA_ERR_NONCE_REPLAYED, "Nonce value replayed");
    if (!seen && c->map.count >= c->max_entries && rta_nonce_cache_purge(c, now) == 0)
        return rta_error_set(err, RTA_ERR_RATE_LIMIT, "Too many token requests in flight");
    if (rta_hmap_put(&c->map, stack, kl + 1 + nl, (void *)(intptr_t)expires, NULL))
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    return 0;
}
