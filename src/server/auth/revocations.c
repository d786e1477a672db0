/* auth/revocations.c: the revocation index; see auth/revocations.h. */
#include "server/auth/revocations.h"

#include <stdlib.h>
#include <string.h>

#include "rtauth/error.h"

typedef struct rev_item {
    int64_t issued_before, applies_at, expires;
} rev_item;

typedef struct rev_list {
    size_t n;
    rev_item items[];
} rev_list;

int rta_revocations_init(rta_revocations *r)
{
    r->count = 0;
    rta_pool_init(&r->pool);
    return rta_hmap_init_pooled(&r->map, &r->pool);
}

void rta_revocations_free(rta_revocations *r)
{
    for (size_t i = 0; i < r->map.cap; i++)
        if (r->map.slots[i].key) rta_pool_free(&r->pool, r->map.slots[i].value);
    rta_hmap_free(&r->map);
    rta_pool_destroy(&r->pool);
}

/* The map's key: keyName '\0' target, the target given as type and value ("clientId:", "bob")
 * or whole (type ""), so a check builds it without joining the two first. 0 when it does
 * not fit. */
static size_t make_key(char *buf, size_t size, const char *key_name, const char *type,
                       const char *value)
{
    size_t kl = strlen(key_name), tl = strlen(type), vl = strlen(value);
    if (kl + 1 + tl + vl > size) return 0;
    memcpy(buf, key_name, kl + 1); /* with its NUL: the separator */
    memcpy(buf + kl + 1, type, tl);
    memcpy(buf + kl + 1 + tl, value, vl);
    return kl + 1 + tl + vl;
}

int rta_revocations_add(rta_revocations *r, const char *key_name, const char *target,
                        int64_t issued_before, int64_t applies_at, int64_t expires)
{
    char key[4096];
    size_t len = make_key(key, sizeof(key), key_name, "", target);
    if (!len) return RTA_ERR_INVALID_PARAMETER;
    rev_list *old = rta_hmap_get(&r->map, key, len);
    size_t n = old ? old->n : 0;
    for (size_t i = 0; i < n; i++) /* the same revocation loaded twice: nothing to add */
        if (old->items[i].issued_before == issued_before && old->items[i].applies_at == applies_at)
            return 0;
    rev_list *l = rta_pool_alloc(&r->pool, sizeof(rev_list) + (n + 1) * sizeof(rev_item));
    if (!l) return RTA_ERR_INTERNAL;
    if (n) memcpy(l->items, old->items, n * sizeof(rev_item));
    l->items[n] = (rev_item){issued_before, applies_at, expires};
    l->n = n + 1;
    if (rta_hmap_put(&r->map, key, len, l, NULL)) { /* `old` stays in the map */
        rta_pool_free(&r->pool, l);
        return RTA_ERR_INTERNAL;
    }
    rta_pool_free(&r->pool, old);
    r->count++;
    return 0;
}

static int match_one(const rta_revocations *r, const char *key_name, const char *type,
                     const char *value, int64_t issued, int64_t now, int64_t *pending_at)
{
    if (!value) return 0;
    /* targets are under 2048 bytes, as a plan stores them (token_service.c) */
    if (strlen(type) + strlen(value) >= 2048) return 0;
    char key[4096];
    size_t len = make_key(key, sizeof(key), key_name, type, value);
    if (!len) return 0;
    const rev_list *l = rta_hmap_get(&r->map, key, len);
    if (!l) return 0;
    int revoked = 0;
    for (size_t i = 0; i < l->n; i++) {
        const rev_item *it = &l->items[i];
        if (issued >= it->issued_before) continue;
        if (it->applies_at <= now)
            revoked = 1;
        else if (pending_at && (*pending_at == 0 || it->applies_at < *pending_at))
            *pending_at = it->applies_at;
    }
    return revoked;
}

int rta_revocations_check(const rta_revocations *r, const char *key_name,
                          const rta_token_targets *t, int64_t issued, int64_t now,
                          int64_t *pending_at)
{
    if (pending_at) *pending_at = 0;
    if (!r->count) return 0;
    int a = match_one(r, key_name, "clientId:", t->client_id, issued, now, pending_at);
    int b = match_one(r, key_name, "revocationKey:", t->revocation_key, issued, now, pending_at);
    int c = match_one(r, key_name, "token:", t->token_ref, issued, now, pending_at);
    return a || b || c;
}

typedef struct {
    rta_pool *pool;
    int64_t now;
    size_t dropped;
} purge_ctx;

static int keep_live(void *ctx, const char *key, size_t len, void *value)
{
    (void)key, (void)len;
    purge_ctx *p = ctx;
    rev_list *l = value;
    size_t j = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].expires > p->now) l->items[j++] = l->items[i];
    p->dropped += l->n - j;
    l->n = j;
    if (j) return 1;
    rta_pool_free(p->pool, l);
    return 0;
}

size_t rta_revocations_purge(rta_revocations *r, int64_t now)
{
    purge_ctx p = {&r->pool, now, 0};
    rta_hmap_filter(&r->map, keep_live, &p);
    r->count -= p.dropped;
    return p.dropped;
}

void rta_revocations_each(const rta_revocations *r,
                          void (*cb)(void *ctx, const char *key_name, const char *target,
                                     int64_t issued_before, int64_t applies_at, int64_t expires),
                          void *ctx)
{
    for (size_t i = 0; i < r->map.cap; i++) {
        const rta_hmap_slot *slot = &r->map.slots[i];
        if (!slot->key) continue;
        /* the map's key is keyName '\0' target (make_key) */
        const char *key_name = slot->key, *target = slot->key + strlen(slot->key) + 1;
        if ((size_t)(target - slot->key) > slot->key_len) continue;
        char t[2048];
        size_t tl = slot->key_len - (size_t)(target - slot->key);
        if (tl >= sizeof(t)) continue;
        memcpy(t, target, tl);
        t[tl] = '\0';
        const rev_list *l = slot->value;
        for (size_t j = 0; j < l->n; j++)
            cb(ctx, key_name, t, l->items[j].issued_before, l->items[j].applies_at,
               l->items[j].expires);
    }
}
