/* auth/nonce_cache.h: TokenRequest nonces seen recently, per key (spec RSA9c, TE5; checklist
 * S-21). A (keyName, nonce) pair is accepted once: it is remembered until the end of its
 * request's timestamp window, after which the timestamp check alone refuses a replay. The
 * store keeps the same set durably so a restart does not forget it (issue 3).
 *
 * Expiry is incremental: entries also sit in a FIFO in arrival order, and purge pops only
 * what has expired from its head, so housekeeping costs what expired, not the whole set (a
 * full scan of a few hundred thousand nonces every second stalled the loop for tens of ms).
 * Arrival order is expiry order give or take the clients' clock skew, so an entry can
 * outlive its expiry by at most the timestamp window; an expired entry never counts as seen. */
#ifndef RTA_SERVER_NONCE_CACHE_H
#define RTA_SERVER_NONCE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/hmap.h"
#include "rtauth/error.h"

typedef struct rta_nonce_fifo_entry {
    char *key; /* keyName '\0' nonce, owned */
    size_t key_len;
    int64_t expires;
} rta_nonce_fifo_entry;

typedef struct rta_nonce_cache {
    rta_hmap map; /* keyName '\0' nonce -> expiry (ms, stored in the pointer) */
    size_t max_entries;
    rta_nonce_fifo_entry *fifo; /* ring buffer */
    size_t head, count, cap;
} rta_nonce_cache;

int rta_nonce_cache_init(rta_nonce_cache *c, size_t max_entries);
void rta_nonce_cache_free(rta_nonce_cache *c);

/* 0 when the nonce is fresh (it is now remembered until `expires`); 40105 when it was seen
 * and has not expired; 42910 when the cache is full of unexpired nonces. */
int rta_nonce_cache_add(rta_nonce_cache *c, const char *key_name, const char *nonce,
                        int64_t expires, int64_t now, rta_error *err);
/* Forgets nonces expired by now from the head of the FIFO; returns how many. */
size_t rta_nonce_cache_purge(rta_nonce_cache *c, int64_t now);

#endif
