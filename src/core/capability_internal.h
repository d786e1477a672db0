/* capability_internal.h: pattern splitting shared by capability.c (intersection) and
 * capability_match.c (matching). Internal to src/core; not part of any public API.
 *
 * Splitting a resource once and reusing the result lets intersection test every
 * requested/key pair without re-scanning both strings for each pair.
 */
#ifndef RTA_CORE_CAPABILITY_INTERNAL_H
#define RTA_CORE_CAPABILITY_INTERNAL_H

#include <stddef.h>

/* A resource pattern or channel name, split without copying (it borrows the text). */
typedef struct rta__cap_resource {
    const char *type; /* qualifier type: "" ordinary, "*" any, "queue", "meta", ... */
    size_t type_len;
    const char *body; /* the text after the qualifier: segments separated by ':' */
    size_t body_len;
    size_t nseg;      /* number of segments; at least 1, even for an empty body */
    size_t mid_stars; /* "*" segments other than a trailing one */
    int trailing;     /* the last segment is "*" (as a pattern: one or more segments) */
} rta__cap_resource;

void rta__cap_split(const char *s, size_t len, rta__cap_resource *r);

/* 1 when every name q can match, p matches (see rta_capability_pattern_covers). */
int rta__cap_covers(const rta__cap_resource *p, const rta__cap_resource *q);

#endif
