/* capability.c: parse, validate, canonicalise, copy and intersect Ably capabilities.
 * See capability.h. Pattern matching (covers, allows, ops_for) is in capability_match.c.
 *
 * Every rta_capability holds its entries and their strings in one heap block (see pack()),
 * so a parsed capability costs one allocation besides the transient JSON tree, and freeing
 * or copying it is cheap. Nothing here does I/O or keeps global state.
 */
#include "capability.h"

#include <stdlib.h>
#include <string.h>

#include "capability_internal.h"
#include "codec.h"

/* Indexed by bit position; the enum is in alphabetical order, which is also the order
 * JavaScript's sort() gives these names (they are lowercase ASCII and '-'). */
static const char *const op_names[RTA_OP_COUNT] = {
    "annotation-publish",
    "annotation-subscribe",
    "channel-metadata",
    "history",
    "message-delete-any",
    "message-delete-own",
    "message-update-any",
    "message-update-own",
    "object-publish",
    "object-subscribe",
    "presence",
    "privileged-headers",
    "publish",
    "push-admin",
    "push-subscribe",
    "stats",
    "subscribe",
};

uint32_t rta_op_from_name(const char *name, size_t len)
{
    if (!name) return 0;
    if (len == 1 && name[0] == '*') return RTA_OP_ALL;
    for (unsigned i = 0; i < RTA_OP_COUNT; i++)
        if (strlen(op_names[i]) == len && memcmp(op_names[i], name, len) == 0) return 1u << i;
    return 0;
}

const char *rta_op_name(uint32_t op)
{
    if (op == RTA_OP_ALL) return "*";
    for (unsigned i = 0; i < RTA_OP_COUNT; i++)
        if (op == 1u << i) return op_names[i];
    return NULL;
}

/* ---- canonical order ------------------------------------------------------------------ */

/* JavaScript orders an object's array-index keys (canonical decimal 0..2^32-2) before all
 * other keys, numerically; JSON.stringify follows that order, so c14n() does too. */
static int array_index(const char *s, size_t n, uint64_t *value)
{
    if (n == 0 || n > 10 || (s[0] == '0' && n > 1)) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > 4294967294u) return 0;
    *value = v;
    return 1;
}

/* Weight of the first differing byte of two valid UTF-8 strings with a common prefix. UTF-8
 * byte order equals code point order, but JavaScript compares UTF-16 code units, where a
 * supplementary character (surrogates, 0xD800..) sorts before U+E000..U+FFFF. The bytes
 * differ at the same position in the same character, so only lead bytes 0xEE/0xEF (U+E000..
 * U+FFFF) against 0xF0..0xF4 (supplementary) disagree: lift the former above the latter. */
static unsigned utf16_weight(unsigned char c)
{
    return (c == 0xEE || c == 0xEF) ? c + 0x200u : c;
}

static int resource_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    uint64_t ia, ib;
    int a_index = array_index(a, an, &ia), b_index = array_index(b, bn, &ib);
    if (a_index && b_index) return ia < ib ? -1 : ia > ib;
    if (a_index != b_index) return a_index ? -1 : 1;
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            unsigned wa = utf16_weight((unsigned char)a[i]), wb = utf16_weight((unsigned char)b[i]);
            return wa < wb ? -1 : 1;
        }
    }
    return an < bn ? -1 : an > bn;
}

static int entry_cmp(const void *x, const void *y)
{
    const rta_capability_entry *a = x, *b = y;
    return resource_cmp(a->resource, a->resource_len, b->resource, b->resource_len);
}

/* ---- operation sets ------------------------------------------------------------------- */

/* "*" is kept as the single value RTA_OP_ALL (it also covers operations added later), so
 * these two treat any set holding that bit as "everything". */
static uint32_t ops_meet(uint32_t a, uint32_t b)
{
    if (a & RTA_OP_ALL) return b;
    if (b & RTA_OP_ALL) return a;
    return a & b;
}

static uint32_t ops_join(uint32_t a, uint32_t b)
{
    return ((a | b) & RTA_OP_ALL) ? RTA_OP_ALL : (a | b);
}

/* ---- storage -------------------------------------------------------------------------- */

/* Copies n entries (whose resources may be borrowed from anywhere) into one fresh block:
 * the entry array followed by the NUL-terminated strings. */
static int pack(const rta_capability_entry *src, size_t n, rta_capability *out)
{
    out->entries = NULL;
    out->count = 0;
    if (n == 0) return 0;
    size_t bytes = n * sizeof(rta_capability_entry);
    for (size_t i = 0; i < n; i++)
        bytes += src[i].resource_len + 1;
    char *block = malloc(bytes);
    if (!block) return RTA_ERR_INTERNAL;
    rta_capability_entry *entries = (rta_capability_entry *)(void *)block;
    char *str = block + n * sizeof(rta_capability_entry);
    for (size_t i = 0; i < n; i++) {
        memcpy(str, src[i].resource, src[i].resource_len);
        str[src[i].resource_len] = '\0';
        entries[i].resource = str;
        entries[i].resource_len = src[i].resource_len;
        entries[i].ops = src[i].ops;
        str += src[i].resource_len + 1;
    }
    out->entries = entries;
    out->count = n;
    return 0;
}

void rta_capability_free(rta_capability *cap)
{
    if (!cap) return;
    free(cap->entries); /* the strings live in the same block */
    cap->entries = NULL;
    cap->count = 0;
}

int rta_capability_is_empty(const rta_capability *cap)
{
    return !cap || cap->count == 0;
}

int rta_capability_copy(const rta_capability *src, rta_capability *dst)
{
    return pack(src->entries, src->count, dst);
}

/* ---- parsing -------------------------------------------------------------------------- */

/* Length of the longest prefix of s (at most max bytes) that ends on a UTF-8 character
 * boundary, so error messages quoting user text stay valid UTF-8. */
static int clip(const char *s, size_t len, size_t max)
{
    if (len <= max) return (int)len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

static int bad(rta_error *err, const char *what, const char *res, size_t res_len)
{
    return rta_error_set(err, RTA_ERR_BAD_REQUEST, "Invalid capability: %s for resource \"%.*s\"",
                         what, clip(res, res_len, 64), res);
}

static int parse_ops(rta_node list, const char *res, size_t res_len, uint32_t *ops, rta_error *err)
{
    if (rta_node_kind(list) != RTA_NODE_ARRAY)
        return bad(err, "operations must be an array of strings", res, res_len);
    size_t n = rta_node_len(list);
    if (n == 0) return bad(err, "empty operation list", res, res_len);
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name;
        size_t name_len;
        if (!rta_node_str(rta_node_at(list, i), &name, &name_len))
            return bad(err, "operations must be an array of strings", res, res_len);
        uint32_t op = rta_op_from_name(name, name_len);
        if (!op) {
            return rta_error_set(err, RTA_ERR_BAD_REQUEST,
                                 "Invalid capability: unknown operation \"%.*s\"",
                                 clip(name, name_len, 32), name);
        }
        acc |= op; /* duplicates simply merge */
    }
    if ((acc & RTA_OP_ALL) && (acc & ~(uint32_t)RTA_OP_ALL))
        return bad(err, "\"*\" cannot be combined with other operations", res, res_len);
    *ops = acc;
    return 0;
}

int rta_capability_parse(const char *json, size_t len, rta_capability *out, rta_error *err)
{
    out->entries = NULL;
    out->count = 0;
    if (!json) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "Invalid capability: missing");
    if (len > RTA_CAPABILITY_MAX_BYTES) {
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "Invalid capability: longer than %d bytes",
                             RTA_CAPABILITY_MAX_BYTES);
    }
    rta_doc *doc = NULL;
    rta_error perr;
    rta_parse_limits limits = {RTA_CAPABILITY_MAX_BYTES, 0};
    int rc = rta_doc_parse(&doc, RTA_FORMAT_JSON, json, len, &limits, &perr);
    if (rc == RTA_ERR_INTERNAL) return rta_error_set(err, rc, "Out of memory");
    if (rc) {
        /* The reader's message may quote input bytes; keep a valid UTF-8 prefix only, since
         * the message may end up in a JSON error response. */
        size_t m = (size_t)clip(perr.message, strlen(perr.message), 160);
        while (m > 0 && !rta_utf8_valid(perr.message, m))
            m--;
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "Invalid capability: %.*s", (int)m,
                             perr.message);
    }

    rta_node root = rta_doc_root(doc);
    rta_capability_entry *tmp = NULL;
    size_t n = rta_node_len(root);
    if (rta_node_kind(root) != RTA_NODE_MAP) {
        rc = rta_error_set(err, RTA_ERR_BAD_REQUEST, "Invalid capability: not a JSON object");
        goto done;
    }
    if (n > RTA_CAPABILITY_MAX_RESOURCES) {
        rc = rta_error_set(err, RTA_ERR_BAD_REQUEST, "Invalid capability: more than %d resources",
                           RTA_CAPABILITY_MAX_RESOURCES);
        goto done;
    }
    if (n == 0) goto done; /* {} is valid: it grants nothing */
    /* Entries first borrow their resource names from the JSON tree; pack() copies them. */
    tmp = malloc(n * sizeof(*tmp));
    if (!tmp) {
        rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t key_len = 0;
        const char *key = rta_node_key_at(root, i, &key_len);
        if (!key || key_len == 0) {
            rc = rta_error_set(err, RTA_ERR_BAD_REQUEST, "Invalid capability: empty resource");
            goto done;
        }
        if (key_len > RTA_CAPABILITY_MAX_RESOURCE_LEN) {
            rc = rta_error_set(err, RTA_ERR_BAD_REQUEST,
                               "Invalid capability: resource longer than %d bytes",
                               RTA_CAPABILITY_MAX_RESOURCE_LEN);
            goto done;
        }
        tmp[i].resource = (char *)key;
        tmp[i].resource_len = key_len;
        rc = parse_ops(rta_node_value_at(root, i), key, key_len, &tmp[i].ops, err);
        if (rc) goto done;
    }
    qsort(tmp, n, sizeof(*tmp), entry_cmp);
    /* The JSON reader rejects duplicate keys, but merge equal neighbours anyway so the
     * "unique resources" invariant never rests on another module's option. */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && entry_cmp(&tmp[w - 1], &tmp[i]) == 0)
            tmp[w - 1].ops = ops_join(tmp[w - 1].ops, tmp[i].ops);
        else
            tmp[w++] = tmp[i];
    }
    if (pack(tmp, w, out)) rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
done:
    free(tmp);
    rta_doc_free(doc);
    return rc;
}

/* ---- canonical text ------------------------------------------------------------------- */

void rta_capability_canonical(const rta_capability *cap, rta_buf *out)
{
    rta_buf_putc(out, '{');
    for (size_t i = 0; cap && i < cap->count; i++) {
        const rta_capability_entry *e = &cap->entries[i];
        if (i) rta_buf_putc(out, ',');
        rta_json_quote(out, e->resource, e->resource_len);
        rta_buf_puts(out, ":[");
        if (e->ops & RTA_OP_ALL) {
            rta_buf_puts(out, "\"*\"");
        } else {
            int first = 1;
            for (unsigned b = 0; b < RTA_OP_COUNT; b++) {
                if (!(e->ops & (1u << b))) continue;
                if (!first) rta_buf_putc(out, ',');
                first = 0;
                rta_buf_putc(out, '"');
                rta_buf_puts(out, op_names[b]); /* plain ASCII: nothing to escape */
                rta_buf_putc(out, '"');
            }
        }
        rta_buf_putc(out, ']');
    }
    rta_buf_putc(out, '}');
}

int rta_capability_canonicalise(const char *json, size_t len, char **canonical, rta_error *err)
{
    rta_capability cap;
    int rc = rta_capability_parse(json, len, &cap, err);
    if (rc) return rc;
    rta_buf b = RTA_BUF_INIT;
    rta_capability_canonical(&cap, &b);
    rta_capability_free(&cap);
    char *text = rta_buf_detach(&b, NULL);
    if (!text) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    *canonical = text;
    return 0;
}

/* ---- intersection --------------------------------------------------------------------- */

static int denied(rta_error *err)
{
    return rta_error_set(err, RTA_ERR_CAPABILITY_DENIED,
                         "Requested capability not permitted by key");
}

int rta_capability_intersect(const rta_capability *key, const rta_capability *requested,
                             rta_capability *out, rta_error *err)
{
    out->entries = NULL;
    out->count = 0;
    size_t nr = requested->count, nk = key->count;
    if (nr == 0 || nk == 0) return denied(err);

    /* Each result is named by a requested or a key resource, so one op set per entry of
     * each side is enough; no per-pair storage is needed. Every resource is split once
     * up front rather than once per pair. */
    uint32_t *r_ops = calloc(nr + nk, sizeof(uint32_t));
    rta__cap_resource *split = malloc((nr + nk) * sizeof(*split));
    if (!r_ops || !split) {
        free(r_ops);
        free(split);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    uint32_t *k_ops = r_ops + nr;
    rta__cap_resource *r_split = split, *k_split = split + nr;
    for (size_t i = 0; i < nr; i++)
        rta__cap_split(requested->entries[i].resource, requested->entries[i].resource_len,
                       &r_split[i]);
    for (size_t j = 0; j < nk; j++)
        rta__cap_split(key->entries[j].resource, key->entries[j].resource_len, &k_split[j]);
    for (size_t i = 0; i < nr; i++) {
        for (size_t j = 0; j < nk; j++) {
            uint32_t ops = ops_meet(requested->entries[i].ops, key->entries[j].ops);
            if (!ops) continue;
            /* Keep the more specific pattern; results are unioned (checklist D.10). When
             * neither covers the other the overlap is partial (e.g. "a:*:c" vs "a:b:*"):
             * S-44 suggests synthesising the narrower combination, but granting nothing
             * is the conservative choice the header documents. */
            if (rta__cap_covers(&k_split[j], &r_split[i]))
                r_ops[i] = ops_join(r_ops[i], ops);
            else if (rta__cap_covers(&r_split[i], &k_split[j]))
                k_ops[j] = ops_join(k_ops[j], ops);
        }
    }
    free(split);

    /* Both sides are in canonical order: merge them, unioning results that name the same
     * resource (e.g. "a:b" reached both as a requested name and as a key name). */
    rta_capability_entry *tmp = malloc((nr + nk) * sizeof(*tmp));
    if (!tmp) {
        free(r_ops);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    size_t i = 0, j = 0, n = 0;
    while (i < nr || j < nk) {
        const rta_capability_entry *r = i < nr ? &requested->entries[i] : NULL;
        const rta_capability_entry *k = j < nk ? &key->entries[j] : NULL;
        int c = !r ? 1 : !k ? -1 : entry_cmp(r, k);
        rta_capability_entry e;
        if (c < 0) {
            e = *r, e.ops = r_ops[i++];
        } else if (c > 0) {
            e = *k, e.ops = k_ops[j++];
        } else {
            e = *r, e.ops = ops_join(r_ops[i++], k_ops[j++]);
        }
        if (e.ops) tmp[n++] = e;
    }
    free(r_ops);
    int rc = pack(tmp, n, out); /* n == 0 allocates nothing */
    free(tmp);
    if (rc) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    return n ? 0 : denied(err);
}
