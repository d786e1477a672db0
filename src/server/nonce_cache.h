/* nonce_cache.h: TokenRequest nonces seen recently, per key (spec RSA9c, TE5; checklist
 * S-21). A (keyName, nonce) pair is accepted once: it is remembered until the end of its
 * request's timestamp window, after which the timestamp check alone refuses a replay. The
 * store keeps the same set durably so a restart does not forget it (issue 3). */
#ifndef RTA_SERVER_NONCE_CACHE_H
#define RTA_SERVER_NONCE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/hmap.h"
#include "rtauth/error.h"

typedef struct rta_nonce_cache {
    rta_hmap map; /* keyName '\0' nonce -> expiry (ms, stored in the pointer) */
    size_t max_entries;
} rta_nonce_cache;

int rta_nonce_cache_init(rta_nonce_cache *c, size_t max_entries);
void rta_nonce_cache_free(rta_nonce_cache *c);

/* 0 when the nonce is fresh (it is now remembered until `expires`); 40105 when it was seen
 * and has not expired; 42910 when the cache is full of unexpired nonces. */
int rta_nonce_cache_add(rta_nonce_cache *c, const char *key_name, const char *nonce,
                        int64_t expires, int64_t now, rta_error *err);
/* Forgets expired nonces; returns how many. */
size_t rta_nonce_cache_purge(rta_nonce_cache *c, int64_t now);

#endif
