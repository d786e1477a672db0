/* fuzz_capability.c: libFuzzer target for the capability parser and algebra.
 *
 * Beyond "no crash, no leak" it checks the invariants the rest of rtauth relies on:
 *   - canonical text is a fixed point: parse(canonical(c)) canonicalises to the same bytes;
 *   - c ∩ c == c (every off-diagonal pair only adds a subset of an existing entry);
 *   - an intersection never grants more than either side: for each resulting resource used
 *     as a channel name, every op it allows is allowed by the key and by the request.
 * A violated invariant calls abort(), so libFuzzer keeps the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/capability.h"

/* A key with every kind of pattern: plain, trailing and middle wildcards, qualifiers. */
static const char fixed_key_json[] =
    "{\"*\":[\"publish\",\"subscribe\"],\"ns:*\":[\"*\"],\"[meta]*\":[\"subscribe\"],"
    "\"a:*:c\":[\"history\"],\"x\":[\"presence\"],\"[*]q:*\":[\"push-admin\"],"
    "\"canpublish:andpresence\":[\"presence\",\"publish\"]}";

static char *canonical_of(const rta_capability *cap)
{
    rta_buf b = RTA_BUF_INIT;
    rta_capability_canonical(cap, &b);
    char *s = rta_buf_detach(&b, NULL);
    if (!s) abort();
    return s;
}

static uint32_t expand(uint32_t ops)
{
    return (ops & RTA_OP_ALL) ? ((1u << RTA_OP_COUNT) - 1) : ops;
}

/* result ⊆ key and result ⊆ requested, checked at result resources. Each check scans whole
 * capabilities, so only a few entries, spread over the result, are checked: checking all of
 * a 1000-entry result costs minutes under ASan and would drown the fuzzer in timeouts. */
static void check_sound(const rta_capability *key, const rta_capability *req,
                        const rta_capability *result)
{
    size_t n = result->count <= 16 ? result->count : result->count <= 128 ? 16 : 4;
    for (size_t s = 0; s < n; s++) {
        size_t i = s * result->count / n;
        const char *name = result->entries[i].resource;
        size_t len = result->entries[i].resource_len;
        uint32_t granted = expand(rta_capability_ops_for(result, name, len));
        if (granted & ~expand(rta_capability_ops_for(key, name, len))) abort();
        if (granted & ~expand(rta_capability_ops_for(req, name, len))) abort();
        for (unsigned b = 0; b < RTA_OP_COUNT; b++) {
            uint32_t op = 1u << b;
            int a = rta_capability_allows(result, name, len, op);
            if (a != ((granted & op) != 0)) abort(); /* allows agrees with ops_for */
            if (a && !rta_capability_allows(key, name, len, op)) abort();
        }
    }
}

static void intersect_and_check(const rta_capability *key, const rta_capability *req)
{
    rta_capability out;
    rta_error err;
    int rc = rta_capability_intersect(key, req, &out, &err);
    if (rc == 0) {
        if (rta_capability_is_empty(&out)) abort();
        check_sound(key, req, &out);
        rta_capability_free(&out);
    } else if (rc != RTA_ERR_CAPABILITY_DENIED && rc != RTA_ERR_INTERNAL) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rta_capability key;
    static int key_ready;
    if (!key_ready) {
        rta_error err;
        if (rta_capability_parse(fixed_key_json, sizeof(fixed_key_json) - 1, &key, &err)) abort();
        key_ready = 1; /* kept for the process lifetime: parsed once, never freed */
    }

    rta_capability cap;
    rta_error err;
    if (rta_capability_parse((const char *)data, size, &cap, &err)) {
        if (err.code != RTA_ERR_BAD_REQUEST && err.code != RTA_ERR_INTERNAL) abort();
        return 0;
    }

    char *c1 = canonical_of(&cap);
    rta_capability again;
    if (rta_capability_parse(c1, strlen(c1), &again, &err)) abort();
    char *c2 = canonical_of(&again);
    if (strcmp(c1, c2) != 0) abort();
    rta_capability_free(&again);

    /* c ∩ c == c. Intersection tests every pair of entries, so a 1000-entry input costs a
     * million pattern tests: fine in production, but seconds under ASan, where it would only
     * produce libFuzzer timeouts. The logic does not depend on the size, so cap it. */
    rta_capability self;
    int rc = cap.count > 256 ? -1 : rta_capability_intersect(&cap, &cap, &self, &err);
    if (rc == -1) {
        /* skipped */
    } else if (rta_capability_is_empty(&cap)) {
        if (rc != RTA_ERR_CAPABILITY_DENIED) abort();
    } else {
        if (rc) abort();
        char *cs = canonical_of(&self);
        if (strcmp(cs, c1) != 0) abort();
        free(cs);
        rta_capability_free(&self);
    }

    intersect_and_check(&key, &cap);
    intersect_and_check(&cap, &key);

    static const char *const names[] = {"x",     "ns",        "ns:a",     "ns:a:b",
                                        "a:b:c", "[meta]log", "[queue]q", "[?rewind=1]ns:a",
                                        "*",     "[*]*"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t len = strlen(names[i]);
        uint32_t ops = rta_capability_ops_for(&cap, names[i], len);
        int a = rta_capability_allows(&cap, names[i], len, RTA_OP_PUBLISH);
        if (a != ((expand(ops) & RTA_OP_PUBLISH) != 0)) abort();
    }
    /* the input's own resources as names: each entry matches itself */
    for (size_t i = 0; i < cap.count; i++) {
        const rta_capability_entry *e = &cap.entries[i];
        if (!rta_capability_pattern_covers(e->resource, e->resource_len, e->resource,
                                           e->resource_len))
            abort();
    }

    rta_capability copy;
    if (rta_capability_copy(&cap, &copy) == 0) {
        char *cc = canonical_of(&copy);
        if (strcmp(cc, c1) != 0) abort();
        free(cc);
        rta_capability_free(&copy);
    }

    free(c1);
    free(c2);
    rta_capability_free(&cap);
    return 0;
}
