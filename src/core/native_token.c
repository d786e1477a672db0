/* native_token.c: mint and verify rtauth token strings; see native_token.h and
 * docs/token-format.md. */
#include "native_token.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "codec.h"

/* Fixed part of the body: version, secretId, flags, issued, expires, tokenId. */
#define FIXED_LEN (1 + 4 + 1 + 8 + 8 + RTA_TOKEN_ID_LEN)

int rta_keyring_add(rta_keyring *ring, uint32_t id, const void *secret, size_t secret_len)
{
    if (ring->count >= RTA_KEYRING_MAX) return RTA_ERR_INVALID_PARAMETER;
    for (size_t i = 0; i < ring->count; i++)
        if (ring->ids[i] == id) return RTA_ERR_INVALID_PARAMETER;
    rta_hmac *h = rta_hmac_new(secret, secret_len);
    if (!h) return RTA_ERR_INTERNAL;
    ring->ids[ring->count] = id;
    ring->macs[ring->count] = h;
    ring->count++;
    ring->current = id;
    return 0;
}

void rta_keyring_clear(rta_keyring *ring)
{
    for (size_t i = 0; i < ring->count; i++) rta_hmac_free(ring->macs[i]);
    memset(ring, 0, sizeof(*ring));
}

static rta_hmac *keyring_find(rta_keyring *ring, uint32_t id)
{
    for (size_t i = 0; i < ring->count; i++)
        if (ring->ids[i] == id) return ring->macs[i];
    return NULL;
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

/* tag = HMAC(secret, appId "." body)[0..16) */
static int compute_tag(rta_hmac *h, const char *app_id, size_t app_len, const unsigned char *body,
                       size_t body_len, unsigned char tag[RTA_SHA256_LEN])
{
    char stack[512];
    rta_buf msg;
    rta_buf_init_borrowed(&msg, stack, sizeof(stack));
    rta_buf_append(&msg, app_id, app_len);
    rta_buf_putc(&msg, '.');
    rta_buf_append(&msg, body, body_len);
    int rc = msg.oom ? RTA_ERR_INTERNAL : rta_hmac_compute(h, msg.data, msg.len, tag);
    rta_buf_free(&msg);
    return rc;
}

int rta_native_token_mint(const rta_native_token *t, rta_keyring *ring, rta_buf *out)
{
    rta_hmac *h = keyring_find(ring, ring->current);
    if (!h) return RTA_ERR_INTERNAL;
    const char *dot = strchr(t->key_name, '.');
    if (!dot) return RTA_ERR_INVALID_PARAMETER;
    size_t app_len = (size_t)(dot - t->key_name);
    const char *key_id = dot + 1;
    size_t key_id_len = strlen(key_id);
    size_t cid_len = t->client_id ? strlen(t->client_id) : 0;
    size_t cap_len = t->capability ? strlen(t->capability) : 0;
    if (key_id_len > 255 || cid_len > 0xFFFF || cap_len > RTA_TOKEN_MAX_CAPABILITY)
        return RTA_ERR_INVALID_PARAMETER;

    unsigned char stack[1024];
    size_t body_len = FIXED_LEN + 1 + key_id_len + 2 + cid_len + 2 + cap_len;
    unsigned char *body = body_len + RTA_TOKEN_TAG_LEN <= sizeof(stack)
                              ? stack
                              : malloc(body_len + RTA_TOKEN_TAG_LEN);
    if (!body) return RTA_ERR_INTERNAL;
    unsigned char *p = body;
    uint8_t flags = (uint8_t)((t->flags & RTA_TOKEN_FLAG_REVOCABLE) |
                              (t->client_id ? RTA_TOKEN_FLAG_HAS_CLIENT_ID : 0));
    *p++ = RTA_TOKEN_VERSION;
    put_be(p, ring->current, 4), p += 4;
    *p++ = flags;
    put_be(p, (uint64_t)t->issued, 8), p += 8;
    put_be(p, (uint64_t)t->expires, 8), p += 8;
    memcpy(p, t->token_id, RTA_TOKEN_ID_LEN), p += RTA_TOKEN_ID_LEN;
    *p++ = (unsigned char)key_id_len;
    memcpy(p, key_id, key_id_len), p += key_id_len;
    put_be(p, cid_len, 2), p += 2;
    if (cid_len) memcpy(p, t->client_id, cid_len), p += cid_len;
    put_be(p, cap_len, 2), p += 2;
    if (cap_len) memcpy(p, t->capability, cap_len), p += cap_len;

    unsigned char tag[RTA_SHA256_LEN];
    int rc = compute_tag(h, t->key_name, app_len, body, body_len, tag);
    if (rc == 0) {
        memcpy(body + body_len, tag, RTA_TOKEN_TAG_LEN);
        rta_buf_append(out, t->key_name, app_len);
        rta_buf_putc(out, '.');
        rta_base64_encode(out, body, body_len + RTA_TOKEN_TAG_LEN, RTA_BASE64_URL);
        if (out->oom) rc = RTA_ERR_INTERNAL;
    }
    if (body != stack) free(body);
    return rc;
}

/* A bounds-checked reader over the decoded body. */
typedef struct {
    const unsigned char *p, *end;
    int bad;
} cursor;

static const unsigned char *take(cursor *c, size_t n)
{
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    const unsigned char *at = c->p;
    c->p += n;
    return at;
}

static int text_ok(const unsigned char *p, size_t n)
{
    return !n || (!memchr(p, '\0', n) && rta_utf8_valid((const char *)p, n));
}

static char *dup_field(const unsigned char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        if (n) memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

int rta_native_token_verify(const char *s, size_t len, rta_keyring *ring, rta_native_token *out,
                            rta_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len > RTA_TOKEN_MAX_LEN)
        return rta_error_set(err, RTA_ERR_INVALID_TOKEN, "Token too long");
    const char *dot = memchr(s, '.', len);
    if (!dot || !rta_key_id_ok(s, (size_t)(dot - s)))
        return rta_error_set(err, RTA_ERR_INVALID_TOKEN, "Invalid token format");
    size_t app_len = (size_t)(dot - s);
    const char *enc = dot + 1;
    size_t enc_len = len - app_len - 1;
    char app_id[RTA_KEY_ID_MAX + 1];
    memcpy(app_id, s, app_len);
    app_id[app_len] = '\0';
    unsigned char stack[1024];
    size_t max = rta_base64_decoded_max(enc_len);
    unsigned char *raw = max <= sizeof(stack) ? stack : malloc(max);
    if (!raw) return rta_error_set(err, RTA_ERR_INTERNAL, NULL);
    int rc = 0;
    long n = rta_base64_decode(enc, enc_len, raw, RTA_BASE64_URL);
    /* base64url has no '.' or ':', so a valid decode also proves the token has one '.'. */
    if (n < (long)(FIXED_LEN + 1 + 2 + 2 + RTA_TOKEN_TAG_LEN)) {
        rc = rta_error_set(err, RTA_ERR_INVALID_TOKEN, "Invalid token format");
        goto done;
    }
    size_t body_len = (size_t)n - RTA_TOKEN_TAG_LEN;
    cursor c = {raw, raw + body_len, 0};
    const unsigned char *fixed = take(&c, FIXED_LEN);
    if (fixed[0] != RTA_TOKEN_VERSION) {
        rc = rta_error_set(err, RTA_ERR_INVALID_TOKEN, "Unsupported token version");
        goto done;
    }
    uint32_t secret_id = (uint32_t)get_be(fixed + 1, 4);
    rta_hmac *h = keyring_find(ring, secret_id);
    unsigned char tag[RTA_SHA256_LEN];
    /* Authenticate before interpreting anything else: no decoding of forged bytes. */
    if (!h || compute_tag(h, app_id, app_len, raw, body_len, tag) != 0 ||
        !rta_ct_equal(tag, RTA_TOKEN_TAG_LEN, raw + body_len, RTA_TOKEN_TAG_LEN)) {
        rc = rta_error_set(err, RTA_ERR_TOKEN_UNRECOGNISED, "Token not recognised");
        goto done;
    }
    out->secret_id = secret_id;
    out->flags = fixed[5];
    out->issued = (int64_t)get_be(fixed + 6, 8);
    out->expires = (int64_t)get_be(fixed + 14, 8);
    memcpy(out->token_id, fixed + 22, RTA_TOKEN_ID_LEN);
    const unsigned char *kl = take(&c, 1);
    size_t key_id_len = kl ? *kl : 0;
    const unsigned char *key_id = take(&c, key_id_len);
    const unsigned char *cl = take(&c, 2);
    size_t cid_len = cl ? (size_t)get_be(cl, 2) : 0;
    const unsigned char *cid = take(&c, cid_len);
    const unsigned char *pl = take(&c, 2);
    size_t cap_len = pl ? (size_t)get_be(pl, 2) : 0;
    const unsigned char *cap = take(&c, cap_len);
    /* Authentic bodies come from our minter, but decode defensively all the same: the key
     * name must be a valid key name and strings valid UTF-8 without NUL. */
    if (c.bad || c.p != c.end || key_id_len == 0 || app_len + 1 + key_id_len > RTA_KEY_NAME_MAX ||
        !text_ok(cid, cid_len) || !text_ok(cap, cap_len)) {
        rc = rta_error_set(err, RTA_ERR_INVALID_TOKEN, "Invalid token format");
        goto done;
    }
    memcpy(out->app_id, app_id, app_len + 1);
    memcpy(out->key_name, app_id, app_len);
    out->key_name[app_len] = '.';
    memcpy(out->key_name + app_len + 1, key_id, key_id_len);
    out->key_name[app_len + 1 + key_id_len] = '\0';
    if (rta_key_name_check(out->key_name, app_len + 1 + key_id_len, NULL, NULL) != 0) {
        rc = rta_error_set(err, RTA_ERR_INVALID_TOKEN, "Invalid token format");
        goto done;
    }
    out->capability = dup_field(cap, cap_len);
    if (out->flags & RTA_TOKEN_FLAG_HAS_CLIENT_ID) out->client_id = dup_field(cid, cid_len);
    if (!out->capability || ((out->flags & RTA_TOKEN_FLAG_HAS_CLIENT_ID) && !out->client_id)) {
        rta_native_token_clear(out);
        rc = rta_error_set(err, RTA_ERR_INTERNAL, NULL);
    }
done:
    if (raw != stack) free(raw);
    if (rc) rta_native_token_clear(out);
    return rc;
}

void rta_native_token_clear(rta_native_token *t)
{
    free(t->client_id);
    free(t->capability);
    memset(t, 0, sizeof(*t));
}
