/* store/control_log.c: control log formats and cursor rules; see store/control_log.h. Pure:
 * no I/O. Bodies carry revocation targets (clientIds, revocation keys, token refs), which are
 * not secrets, but are still never logged here. */
#include "server/store/control_log.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>


static int parse_u64(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > 19) return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* The next space-separated token of [*p, end): its start and length; *p moves past it and
 * its space. -1 when there is none. */
static int token(const char **p, const char *end, const char **tok, size_t *len)
{
    const char *sp = memchr(*p, ' ', (size_t)(end - *p));
    if (!sp || sp == *p) return -1;
    *tok = *p;
    *len = (size_t)(sp - *p);
    *p = sp + 1;
    return 0;
}

/* The stamp and the type are printable words: a NUL in one would make it compare equal to
 * its prefix (found by fuzz/fuzz_control_log.c). */
static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~') return 0;
    return 1;
}

int rta_ctl_doorbell_parse(const char *msg, size_t len, rta_ctl_entry *out)
{
    const char *p = msg, *end = msg + len, *t;
    size_t n;
    memset(out, 0, sizeof(*out));
    if (token(&p, end, &t, &n) || parse_u64(t, n, &out->seq) || out->seq == 0) return -1;
    if (token(&p, end, &t, &n) || n >= sizeof(out->stamp) || !printable(t, n)) return -1;
    memcpy(out->stamp, t, n);
    /* the type is the last token when the body is empty */
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    n = sp ? (size_t)(sp - p) : (size_t)(end - p);
    if (n == 0 || n >= sizeof(out->type) || !printable(p, n)) return -1;
    memcpy(out->type, p, n);
    out->body = sp ? sp + 1 : end;
    out->body_len = (size_t)(end - out->body);
    return 0;
}

int rta_ctl_rev_body_encode(const char *key_name, const rta_revocation_record *r, size_t n,
                            char **out)
{
    *out = NULL;
    json_t *recs = json_array(), *root = NULL;
    int bad = !recs;
    for (size_t i = 0; !bad && i < n; i++)
        bad = json_array_append_new(recs, json_pack("[s I I I]", r[i].target,
                                                     (json_int_t)r[i].issued_before,
                                                     (json_int_t)r[i].applies_at,
                                                     (json_int_t)r[i].expires)) != 0;
    if (!bad) {
        root = json_pack("{s:s, s:O}", "k", key_name, "r", recs);
        bad = !root;
    }
    if (!bad) *out = json_dumps(root, JSON_COMPACT);
    json_decref(recs);
    json_decref(root);
    return *out ? 0 : RTA_ERR_INTERNAL;
}

void rta_ctl_rev_body_free(rta_ctl_rev_body *b)
{
    free(b->recs); /* the targets live in the same block */
    b->recs = NULL;
    b->n = 0;
}

/* One block: n records, then their targets, NUL-terminated one after the other. */
static int body_alloc(rta_ctl_rev_body *out, size_t n, size_t bytes)
{
    if (n > RTA_CTL_REV_MAX) return -1;
    out->recs = malloc(n * sizeof(*out->recs) + (bytes ? bytes : 1));
    return out->recs ? 0 : -1;
}

/* ---- the fast path: exactly what rta_ctl_rev_body_encode writes ---------------------------
 * Every node decodes every entry, and a revokeTokens request of 100 tokens is one entry of
 * 100 records: with jansson (a value, a string and an array allocated per field) decoding
 * was 11% of rtauthd's CPU revoking 10,000 tokens at 100,000 connections (make bench-scale,
 * issue 19). The scanner reads the encoder's compact form in place and declines anything it
 * is not certain to read exactly as jansson does (whitespace, escapes, non-ASCII, numbers that
 * are not plain integers of at most 18 digits, other member orders): jansson decides those.
 * fuzz/fuzz_control_log.c checks that both agree. */

typedef struct {
    const char *p, *end;
} scanner;

static int lit(scanner *s, const char *text, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, text, n) != 0) return -1;
    s->p += n;
    return 0;
}
#define LIT(s, text) lit((s), (text), sizeof(text) - 1)

/* A string of printable ASCII without escapes: its bytes between the quotes. */
static int plain_string(scanner *s, const char **str, size_t *len)
{
    if (LIT(s, "\"")) return -1;
    *str = s->p;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = (unsigned char)*s->p;
        if (c < 0x20 || c > 0x7e || c == '\\') return -1;
        s->p++;
    }
    *len = (size_t)(s->p - *str);
    return LIT(s, "\"");
}

static int plain_int(scanner *s, int64_t *v)
{
    int neg = s->p < s->end && *s->p == '-';
    s->p += neg;
    const char *d = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    size_t n = (size_t)(s->p - d);
    if (n == 0 || n > 18 || (n > 1 && d[0] == '0')) return -1; /* 18 digits fit in int64 */
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) x = x * 10 + (d[i] - '0');
    *v = neg ? -x : x;
    return 0;
}

/* One pass. The first (out->recs NULL) counts records and target bytes into *n and *bytes;
 * the second, once out->recs has room for them, fills it, reading *n to find where the
 * targets begin (after the records). Returns 0, or -1 to decline. */
static int scan(const char *body, size_t len, rta_ctl_rev_body *out, size_t *n, size_t *bytes)
{
    scanner s = {body, body + len};
    const char *k;
    size_t kl, i = 0, b = 0;
    if (LIT(&s, "{\"k\":") || plain_string(&s, &k, &kl) || kl == 0 || kl > RTA_KEY_NAME_MAX ||
        LIT(&s, ",\"r\":["))
        return -1;
    if (out->recs) {
        memcpy(out->key_name, k, kl);
        out->key_name[kl] = '\0';
    }
    int more = LIT(&s, "]") != 0;
    while (more) {
        const char *t;
        size_t tl;
        int64_t ib, aa, ex;
        if (i == RTA_CTL_REV_MAX || LIT(&s, "[") || plain_string(&s, &t, &tl) || LIT(&s, ",") ||
            plain_int(&s, &ib) || LIT(&s, ",") || plain_int(&s, &aa) || LIT(&s, ",") ||
            plain_int(&s, &ex) || LIT(&s, "]"))
            return -1;
        if (out->recs) {
            char *dst = (char *)(out->recs + *n) + b;
            memcpy(dst, t, tl);
            dst[tl] = '\0';
            out->recs[i] = (rta_revocation_record){out->key_name, dst, ib, aa, ex};
        }
        b += tl + 1;
        i++;
        more = LIT(&s, ",") == 0;
        if (!more && LIT(&s, "]")) return -1;
    }
    if (LIT(&s, "}") || s.p != s.end) return -1;
    if (!out->recs) {
        *n = i;
        *bytes = b;
    }
    return 0;
}

int rta__ctl_rev_body_decode_fast(const char *body, size_t len, rta_ctl_rev_body *out)
{
    memset(out, 0, sizeof(*out));
    size_t n, bytes;
    if (scan(body, len, out, &n, &bytes) || body_alloc(out, n, bytes)) return -1;
    if (scan(body, len, out, &n, &bytes)) { /* cannot differ from the first pass */
        rta_ctl_rev_body_free(out);
        return -1;
    }
    out->n = n;
    return 0;
}

/* ---- the general path: jansson ------------------------------------------------------------ */

static int json_record(json_t *e, const char **target, size_t *tl, int64_t v[3])
{
    json_t *t = json_array_get(e, 0);
    if (json_array_size(e) != 4 || !json_is_string(t)) return -1;
    *target = json_string_value(t);
    *tl = json_string_length(t);
    if (strlen(*target) != *tl) return -1; /* an embedded NUL */
    for (size_t f = 0; f < 3; f++) {
        json_t *x = json_array_get(e, f + 1);
        if (!json_is_integer(x)) return -1;
        v[f] = json_integer_value(x);
    }
    return 0;
}

int rta__ctl_rev_body_decode_json(const char *body, size_t len, rta_ctl_rev_body *out)
{
    memset(out, 0, sizeof(*out));
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *k = json_object_get(root, "k"), *r = json_object_get(root, "r");
    int rc = -1;
    if (!json_is_string(k) || !json_is_array(r) || json_string_length(k) == 0 ||
        json_string_length(k) > RTA_KEY_NAME_MAX || json_array_size(r) > RTA_CTL_REV_MAX)
        goto done;
    memcpy(out->key_name, json_string_value(k), json_string_length(k) + 1);
    if (strlen(out->key_name) != json_string_length(k)) goto done;
    size_t n = json_array_size(r), bytes = 0, tl;
    const char *t;
    int64_t v[3];
    for (size_t i = 0; i < n; i++) {
        if (json_record(json_array_get(r, i), &t, &tl, v)) goto done;
        bytes += tl + 1;
    }
    if (body_alloc(out, n, bytes)) goto done;
    char *dst = (char *)(out->recs + n);
    for (size_t i = 0; i < n; i++) {
        (void)json_record(json_array_get(r, i), &t, &tl, v);
        memcpy(dst, t, tl + 1);
        out->recs[i] = (rta_revocation_record){out->key_name, dst, v[0], v[1], v[2]};
        dst += tl + 1;
    }
    out->n = n;
    rc = 0;
done:
    if (rc) rta_ctl_rev_body_free(out);
    json_decref(root);
    return rc;
}

int rta_ctl_rev_body_decode(const char *body, size_t len, rta_ctl_rev_body *out)
{
    if (rta__ctl_rev_body_decode_fast(body, len, out) == 0) return 0;
    return rta__ctl_rev_body_decode_json(body, len, out);
}

rta_ctl_verdict rta_ctl_cursor_doorbell(rta_ctl_cursor *c, const rta_ctl_entry *e)
{
    if (e->seq <= c->applied) return RTA_CTL_SEEN;
    if (e->seq > c->applied + 1) return RTA_CTL_GAP;
    rta_ctl_cursor_set(c, e->seq, e->stamp);
    return RTA_CTL_NEXT;
}

rta_ctl_head rta_ctl_cursor_head(const rta_ctl_cursor *c, uint64_t head,
                                 uint64_t applied_when_read)
{
    if (head < applied_when_read) return RTA_CTL_HEAD_BEHIND;
    return head > c->applied ? RTA_CTL_HEAD_AHEAD : RTA_CTL_HEAD_SYNCED;
}

int rta_ctl_cursor_continues(const rta_ctl_cursor *c, const rta_ctl_entry *first)
{
    if (c->applied == 0) return !first || first->seq == 1; /* the log from its first entry */
    if (!first || first->seq != c->applied) return 0;       /* our entry is gone */
    return !c->stamp[0] || !strcmp(c->stamp, first->stamp); /* ...or is another one */
}

void rta_ctl_cursor_set(rta_ctl_cursor *c, uint64_t seq, const char *stamp)
{
    c->applied = seq;
    size_t n = stamp ? strlen(stamp) : 0;
    if (n >= sizeof(c->stamp)) n = 0;
    memcpy(c->stamp, stamp ? stamp : "", n);
    c->stamp[n] = '\0';
}
