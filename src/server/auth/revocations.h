/* auth/revocations.h: the in-memory revocation index (spec RSA17; checklist S-66..S-69), kept in
 * sync with the store, so that checking a token costs a few hash lookups (DESIGN 5).
 *
 * A revocation names a key and a target ("clientId:bob", "revocationKey:k", or rtauth's
 * "token:<token ref>"). A token is revoked when it was issued by that key with revocable
 * status, matches the target, was issued strictly before issuedBefore, and appliesAt has
 * passed. Several revocations of one target are all kept (a later one does not delay an
 * earlier one); each is forgotten after `expires`, when no token it covers can be alive.
 */
#ifndef RTA_SERVER_REVOCATIONS_H
#define RTA_SERVER_REVOCATIONS_H

#include <stddef.h>
#include <stdint.h>

#include "core/hmap.h"

/* Records live in a pool of their own (core/pool.h): kept for up to an hour, they would pin
 * the heap pages of the connections around them once those close (issue 19). */
typedef struct rta_revocations {
    rta_pool pool; /* the map's keys and table, and every rev_list */
    rta_hmap map;  /* keyName '\0' target -> struct rev_list* */
    size_t count;
} rta_revocations;

/* r must not move afterwards (its map points at its pool). */
int rta_revocations_init(rta_revocations *r);
void rta_revocations_free(rta_revocations *r);

/* Returns 0 or 50000. */
int rta_revocations_add(rta_revocations *r, const char *key_name, const char *target,
                        int64_t issued_before, int64_t applies_at, int64_t expires);

/* The targets a token can be matched by. NULL members are skipped. */
typedef struct rta_token_targets {
    const char *client_id;
    const char *revocation_key;
    const char *token_ref; /* see rta_token_ref() in auth/token_service.h */
} rta_token_targets;

/* 1 when a revocation applies to a token of key_name issued at `issued`, at time now.
 * *pending_at (if not NULL) is set to the earliest appliesAt > now of a matching revocation
 * (0 if none): a connection is told to reauthenticate then disconnected at that time. */
int rta_revocations_check(const rta_revocations *r, const char *key_name,
                          const rta_token_targets *t, int64_t issued, int64_t now,
                          int64_t *pending_at);

size_t rta_revocations_purge(rta_revocations *r, int64_t now);

/* Calls cb for every revocation held (cluster mode writes them back to a store that lost
 * them). cb must not change r. */
void rta_revocations_each(const rta_revocations *r,
                          void (*cb)(void *ctx, const char *key_name, const char *target,
                                     int64_t issued_before, int64_t applies_at, int64_t expires),
                          void *ctx);

#endif
