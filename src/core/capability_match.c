/* capability_match.c: resource pattern matching for capabilities (S-41, S-43, D.11).
 *
 * This is the realtime hot path (every attach, publish and presence action asks allows()),
 * so it must never allocate: resources are split into a qualifier and ':'-separated segments
 * by walking the bytes in place. See capability.h for the pattern language.
 */
#include "capability.h"

#include <string.h>

#include "capability_internal.h"

void rta__cap_split(const char *s, size_t len, rta__cap_resource *r)
{
    r->type = s;
    r->type_len = 0;
    r->body = s;
    r->body_len = len;
    /* "[type]", "[type?params]" or "[?params]": params never affect matching (S-43).
     * An unclosed '[' is not a qualifier; the whole text is then an ordinary name. */
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close) {
            const char *q = s + 1;
            size_t q_len = (size_t)(close - q);
            const char *params = memchr(q, '?', q_len);
            r->type = q;
            r->type_len = params ? (size_t)(params - q) : q_len;
            r->body = close + 1;
            r->body_len = len - (size_t)(r->body - s);
        }
    }
    /* One pass: count segments and note which are exactly "*". */
    const char *b = r->body;
    size_t n = r->body_len, start = 0, stars = 0;
    r->nseg = 1;
    r->trailing = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && b[i] != ':') continue;
        int star = i - start == 1 && b[start] == '*';
        if (i < n) {
            r->nseg++;
            stars += (size_t)star;
            start = i + 1;
        } else {
            r->trailing = star;
        }
    }
    r->mid_stars = stars;
}

static int is_star(const char *s, size_t len)
{
    return len == 1 && s[0] == '*';
}

/* Every name q can match, p matches. Treating q as a pattern is also right when q is a
 * plain channel name: a name's "*" segments then only match p's "*" segments, which is
 * exactly what matching the literal name would give. */
int rta__cap_covers(const rta__cap_resource *p, const rta__cap_resource *q)
{
    if (!is_star(p->type, p->type_len) &&
        (p->type_len != q->type_len || memcmp(p->type, q->type, p->type_len) != 0))
        return 0;
    /* A trailing "*" in p takes one or more segments, so q needs at least as many as p
     * (ns:* does not match ns, D.11); otherwise the counts are equal. A trailing "*" in q
     * against a fixed-length p fails below: p's last segment is not "*" but q's is. */
    if (p->trailing ? q->nseg < p->nseg : q->nseg != p->nseg) return 0;
    if (p->mid_stars == 0) {
        /* The common shapes, "chat" and "chat:*", are a plain byte prefix test: p's body
         * without its final "*" ("chat:") must begin q's body. */
        size_t fixed = p->body_len - (p->trailing ? 1 : 0);
        if (p->trailing ? q->body_len < fixed : q->body_len != fixed) return 0;
        return memcmp(p->body, q->body, fixed) == 0;
    }
    /* General case: walk both bodies segment by segment in one byte loop. */
    size_t fixed = p->nseg - (p->trailing ? 1 : 0);
    const char *ps = p->body, *pe = p->body + p->body_len;
    const char *qs = q->body, *qe = q->body + q->body_len;
    for (size_t i = 0; i < fixed; i++) {
        if (ps < pe && *ps == '*' && (ps + 1 == pe || ps[1] == ':')) {
            /* a middle "*" is exactly one segment, whatever it holds: skip q's */
            ps++;
            while (qs < qe && *qs != ':')
                qs++;
        } else {
            /* a literal segment: the bytes must agree up to the same ':' (or the end) */
            while (ps < pe && *ps != ':') {
                if (qs == qe || *qs != *ps) return 0;
                ps++, qs++;
            }
            if (qs < qe && *qs != ':') return 0;
        }
        /* both now sit on a ':' or at the end (the segment counts were checked above) */
        if (ps < pe) ps++;
        if (qs < qe) qs++;
    }
    return 1;
}

int rta_capability_pattern_covers(const char *p, size_t plen, const char *q, size_t qlen)
{
    if (!p || !q) return 0;
    rta__cap_resource rp, rq;
    rta__cap_split(p, plen, &rp);
    rta__cap_split(q, qlen, &rq);
    return rta__cap_covers(&rp, &rq);
}

uint32_t rta_capability_ops_for(const rta_capability *cap, const char *name, size_t name_len)
{
    if (!cap || !name) return 0;
    rta__cap_resource rn;
    rta__cap_split(name, name_len, &rn);
    uint32_t ops = 0;
    for (size_t i = 0; i < cap->count; i++) {
        const rta_capability_entry *e = &cap->entries[i];
        rta__cap_resource rp;
        rta__cap_split(e->resource, e->resource_len, &rp);
        if (rta__cap_covers(&rp, &rn)) ops |= e->ops;
    }
    return ops;
}

int rta_capability_allows(const rta_capability *cap, const char *name, size_t name_len, uint32_t op)
{
    if (!cap || !name || !op) return 0;
    rta__cap_resource rn;
    rta__cap_split(name, name_len, &rn);
    for (size_t i = 0; i < cap->count; i++) {
        const rta_capability_entry *e = &cap->entries[i];
        if (!(e->ops & (op | RTA_OP_ALL))) continue; /* cheap test before the match */
        rta__cap_resource rp;
        rta__cap_split(e->resource, e->resource_len, &rp);
        if (rta__cap_covers(&rp, &rn)) return 1;
    }
    return 0;
}
