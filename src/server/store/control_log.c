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

int rta_ctl_doorbell_parse(const char *msg, size_t len, rta_ctl_entry *out)
{
    const char *p = msg, *end = msg + len, *t;
    size_t n;
    memset(out, 0, sizeof(*out));
    if (token(&p, end, &t, &n) || parse_u64(t, n, &out->seq) || out->seq == 0) return -1;
    if (token(&p, end, &t, &n) || n >= sizeof(out->stamp)) return -1;
    memcpy(out->stamp, t, n);
    /* the type is the last token when the body is empty */
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    n = sp ? (size_t)(sp - p) : (size_t)(end - p);
    if (n == 0 || n >= sizeof(out->type)) return -1;
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
    for (size_t i = 0; i < b->n; i++) free((char *)b->recs[i].target);
    free(b->recs);
    b->recs = NULL;
    b->n = 0;
}

int rta_ctl_rev_body_decode(const char *body, size_t len, rta_ctl_rev_body *out)
{
    memset(out, 0, sizeof(*out));
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *k = json_object_get(root, "k"), *r = json_object_get(root, "r");
    int rc = -1;
    if (!json_is_string(k) || !json_is_array(r) || json_string_length(k) == 0 ||
        json_string_length(k) > RTA_KEY_NAME_MAX || json_array_size(r) > 10000)
        goto done;
    memcpy(out->key_name, json_string_value(k), json_string_length(k) + 1);
    if (strlen(out->key_name) != json_string_length(k)) goto done;
    size_t n = json_array_size(r);
    out->recs = calloc(n ? n : 1, sizeof(*out->recs));
    if (!out->recs) goto done;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(r, i);
        json_t *t = json_array_get(e, 0), *ib = json_array_get(e, 1), *aa = json_array_get(e, 2),
               *ex = json_array_get(e, 3);
        if (json_array_size(e) != 4 || !json_is_string(t) || !json_is_integer(ib) ||
            !json_is_integer(aa) || !json_is_integer(ex) ||
            strlen(json_string_value(t)) != json_string_length(t))
            goto done;
        char *target = strdup(json_string_value(t));
        if (!target) goto done;
        out->recs[out->n++] = (rta_revocation_record){out->key_name, target, json_integer_value(ib),
                                                      json_integer_value(aa),
                                                      json_integer_value(ex)};
    }
    rc = 0;
done:
    if (rc) rta_ctl_rev_body_free(out);
    json_decref(root);
    return rc;
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
