/* store/redis_keys.c: the cluster's Redis key names and value formats; see store/redis_keys.h.
 * Pure string work: no I/O, no allocation. */
#include "server/store/redis_keys.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

static size_t fmt_done(int n, size_t size)
{
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

size_t rta_rk_app(char *out, size_t size, const char *app_id)
{
    if (!app_id || !*app_id) return 0;
    return fmt_done(snprintf(out, size, "rt:{g}:app:%s", app_id), size);
}

size_t rta_rk_app_keys(char *out, size_t size, const char *app_id)
{
    if (!app_id || !*app_id) return 0;
    return fmt_done(snprintf(out, size, "rt:{g}:app:%s:keys", app_id), size);
}

size_t rta_rk_key(char *out, size_t size, const char *key_name)
{
    if (!key_name || !*key_name) return 0;
    return fmt_done(snprintf(out, size, RTA_RK_KEY_PREFIX "%s", key_name), size);
}

size_t rta_rk_rev(char *out, size_t size, const char *app_id)
{
    if (!app_id || !*app_id) return 0;
    return fmt_done(snprintf(out, size, RTA_RK_REV_PREFIX "%s", app_id), size);
}

size_t rta_rk_node_channel(char *out, size_t size, const char *node_id)
{
    if (!node_id || !*node_id) return 0;
    return fmt_done(snprintf(out, size, "rt:{g}:node:%s", node_id), size);
}

size_t rta_rk_nonce(char *out, size_t size, const char *key_name, const char *nonce)
{
    if (!key_name || !*key_name || !nonce) return 0;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)nonce, strlen(nonce), md);
    char hex[33];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return fmt_done(snprintf(out, size, "rt:n:%s:%s", key_name, hex), size);
}

int rta_rk_node_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > RTA_NODE_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

size_t rta_rk_rev_field(char *out, size_t size, const char *key_name, int64_t issued_before,
                        const char *target)
{
    if (!key_name || !*key_name || strchr(key_name, ' ') || !target) return 0;
    return fmt_done(snprintf(out, size, "%s %lld %s", key_name, (long long)issued_before, target),
                    size);
}

int rta_rk_parse_i64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (len && s[0] == '-') neg = 1, i = 1;
    if (i == len || len - i > 18) return -1; /* 18 digits: no overflow */
    int64_t v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

int rta_rk_rev_field_parse(const char *field, size_t field_len, char *key_out, size_t key_size,
                           int64_t *issued_before, const char **target, size_t *target_len)
{
    const char *sp1 = memchr(field, ' ', field_len);
    if (!sp1 || sp1 == field || (size_t)(sp1 - field) >= key_size) return -1;
    const char *rest = sp1 + 1;
    size_t rest_len = field_len - (size_t)(rest - field);
    const char *sp2 = memchr(rest, ' ', rest_len);
    if (!sp2 || rta_rk_parse_i64(rest, (size_t)(sp2 - rest), issued_before)) return -1;
    memcpy(key_out, field, (size_t)(sp1 - field));
    key_out[sp1 - field] = '\0';
    *target = sp2 + 1;
    *target_len = field_len - (size_t)(sp2 + 1 - field);
    return *target_len ? 0 : -1;
}

int rta_rk_rev_value_parse(const char *v, size_t len, int64_t *applies_at, int64_t *expires)
{
    const char *sp = memchr(v, ' ', len);
    if (!sp) return -1;
    return rta_rk_parse_i64(v, (size_t)(sp - v), applies_at) ||
                   rta_rk_parse_i64(sp + 1, len - (size_t)(sp + 1 - v), expires)
               ? -1
               : 0;
}

int rta_rk_epoch_parse(const char *v, size_t len, rta_rk_epoch *out)
{
    const char *c1 = memchr(v, ':', len);
    if (!c1 || c1 == v || (size_t)(c1 - v) >= sizeof(out->id)) return -1;
    const char *rest = c1 + 1;
    size_t rest_len = len - (size_t)(rest - v);
    const char *c2 = memchr(rest, ':', rest_len);
    if (!c2) return -1;
    int64_t loss;
    if (rta_rk_parse_i64(rest, (size_t)(c2 - rest), &out->birth) ||
        rta_rk_parse_i64(c2 + 1, len - (size_t)(c2 + 1 - v), &loss) || (loss != 0 && loss != 1))
        return -1;
    memcpy(out->id, v, (size_t)(c1 - v));
    out->id[c1 - v] = '\0';
    out->loss = (int)loss;
    return 0;
}
