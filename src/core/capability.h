/* capability.h: Ably capabilities: parse, validate, canonicalise, intersect, check.
 *
 * A capability is a JSON object mapping resource patterns to operation lists, e.g.
 * {"chat:*":["publish","subscribe"],"[*]*":["history"]} (spec TC2, TD5, TE3; Ably docs
 * auth/capabilities). Here it is parsed once into a sorted array of entries whose operations
 * are a bitmask, so `allows()` on the realtime hot path is a scan with no allocation.
 *
 * Canonical form (S-38, RSA9f): no whitespace, resources sorted, each operation list sorted,
 * strings escaped as JSON.stringify does; sorting compares UTF-16 code units as JavaScript's
 * default sort does, so our text equals ably-js's c14n() byte for byte. One JavaScript quirk is
 * kept for the same reason: JSON.stringify emits keys that are array indices (canonical decimal
 * integers 0..4294967294, e.g. "5") first, in numeric order, whatever order they were set in.
 * This is the text that goes into a TokenRequest MAC and into TokenDetails.capability.
 *
 * Resource patterns (S-41, checklist decision D.11):
 *   - an optional qualifier: "[*]" any channel type, "[queue]", "[meta]", or "[?params]"
 *     (channel params, ignored for matching); without one, only ordinary channels match;
 *   - then segments split on ':'; a segment "*" alone stands for whole segments only:
 *     a trailing "*" matches one or more remaining segments ("ns:*" matches "ns:a" and
 *     "ns:a:b", not "ns"); a "*" elsewhere matches exactly one segment; "foo*" is literal;
 *   - "*" alone matches every ordinary channel; "[*]*" matches everything.
 *
 * Ownership: rta_capability owns its entries and strings; free with rta_capability_free().
 * The entries and their strings share one allocation, so build capabilities only through the
 * functions below (parse, copy, intersect), never by filling the struct by hand.
 * Thread-safety: a built capability is immutable and may be shared across threads.
 */
#ifndef RTA_CORE_CAPABILITY_H
#define RTA_CORE_CAPABILITY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rtauth/error.h"

/* Operations, one bit each, in alphabetical order of their names (so canonical output
 * iterates bits in order). RTA_OP_ALL is the "*" operation: every operation, present and
 * future; it is kept distinct from "all bits set" because intersections treat it specially
 * (S-44: key "*" ∩ requested explicit = requested; requested "*" ∩ key explicit = key's). */
typedef enum {
    RTA_OP_ANNOTATION_PUBLISH = 1u << 0,
    RTA_OP_ANNOTATION_SUBSCRIBE = 1u << 1,
    RTA_OP_CHANNEL_METADATA = 1u << 2,
    RTA_OP_HISTORY = 1u << 3,
    RTA_OP_MESSAGE_DELETE_ANY = 1u << 4,
    RTA_OP_MESSAGE_DELETE_OWN = 1u << 5,
    RTA_OP_MESSAGE_UPDATE_ANY = 1u << 6,
    RTA_OP_MESSAGE_UPDATE_OWN = 1u << 7,
    RTA_OP_OBJECT_PUBLISH = 1u << 8,
    RTA_OP_OBJECT_SUBSCRIBE = 1u << 9,
    RTA_OP_PRESENCE = 1u << 10,
    RTA_OP_PRIVILEGED_HEADERS = 1u << 11,
    RTA_OP_PUBLISH = 1u << 12,
    RTA_OP_PUSH_ADMIN = 1u << 13,
    RTA_OP_PUSH_SUBSCRIBE = 1u << 14,
    RTA_OP_STATS = 1u << 15,
    RTA_OP_SUBSCRIBE = 1u << 16,
    RTA_OP_ALL = 1u << 31, /* "*" */
} rta_op;

#define RTA_OP_COUNT 17 /* named operations, not counting "*" */

/* Limits (every one answered with 40000 when exceeded). */
#define RTA_CAPABILITY_MAX_BYTES (64 * 1024) /* the capability JSON text */
#define RTA_CAPABILITY_MAX_RESOURCES 1000
#define RTA_CAPABILITY_MAX_RESOURCE_LEN 1024 /* bytes of one resource pattern */

typedef struct rta_capability_entry {
    char *resource; /* NUL-terminated pattern, owned */
    size_t resource_len;
    uint32_t ops; /* rta_op bits; exactly RTA_OP_ALL when the list is ["*"] */
} rta_capability_entry;

typedef struct rta_capability {
    rta_capability_entry *entries; /* sorted by resource, canonical order; unique resources */
    size_t count;
} rta_capability;

/* Parses and validates a capability given as JSON text (TokenParams.capability, JWT claim,
 * key record). Errors (all 40000, status 400, message naming the problem): not a JSON
 * object; a value that is not an array of strings; an unknown operation ("publish_"); an
 * empty operation list; "*" mixed with other operations; an empty resource name; a limit
 * exceeded. An empty object {} is valid here and means "nothing"; callers that need a
 * non-empty capability check rta_capability_is_empty(). Duplicate operations are merged.
 * On success *out is filled (caller frees); on failure *out is left empty. */
int rta_capability_parse(const char *json, size_t len, rta_capability *out, rta_error *err);

void rta_capability_free(rta_capability *cap);
int rta_capability_is_empty(const rta_capability *cap);
/* Deep copy. Returns 0 or 50000. */
int rta_capability_copy(const rta_capability *src, rta_capability *dst);

/* Appends the canonical JSON text of cap to out (see the top of this file). */
void rta_capability_canonical(const rta_capability *cap, rta_buf *out);

/* Parses text and writes its canonical form into *canonical (heap, caller frees).
 * The function createTokenRequest uses. Returns 0 or the parse error. */
int rta_capability_canonicalise(const char *json, size_t len, char **canonical, rta_error *err);

/* Token capability = requested ∩ key (S-44, TE3). For each requested entry r and key entry
 * k where one pattern covers the other, the result holds the more specific pattern with
 * ops(r) ∩ ops(k) ("*" standing for all); results for the same pattern are unioned; patterns
 * that only partly overlap grant nothing (conservative). An empty result is
 * 40160 / 401 "Requested capability not permitted by key". *out is filled on success. */
int rta_capability_intersect(const rta_capability *key, const rta_capability *requested,
                             rta_capability *out, rta_error *err);

/* 1 when op (a single rta_op bit) is allowed on channel `name` (S-43): some entry's pattern
 * matches the name and its ops contain op or "*". Names with a "[?params]" qualifier are
 * checked by their base name. No allocation. */
int rta_capability_allows(const rta_capability *cap, const char *name, size_t name_len, uint32_t op);

/* All operations granted on `name`: the union of the ops of every matching entry (RTA_OP_ALL
 * stays as is). Used to compute ATTACHED mode flags in one pass. */
uint32_t rta_capability_ops_for(const rta_capability *cap, const char *name, size_t name_len);

/* 1 when pattern `p` covers pattern or name `q`: every channel q can match, p matches. */
int rta_capability_pattern_covers(const char *p, size_t plen, const char *q, size_t qlen);

/* Operation name <-> bit. rta_op_from_name returns 0 for an unknown name. */
uint32_t rta_op_from_name(const char *name, size_t len);
const char *rta_op_name(uint32_t op);

#endif
