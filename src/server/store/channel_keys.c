/* store/channel_keys.c: channel key names and PUB/SUB message text; see
 * store/channel_keys.h. Pure string work: no I/O, no allocation. */
#include "server/store/channel_keys.h"

#include <string.h>

/* Appends s (escaped when esc) to out at *at; 0, or -1 when it does not fit. */
static int put(char *out, size_t size, size_t *at, const char *s, int esc)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int special = esc && (c == '%' || c == '{' || c == '}');
        size_t need = special ? 3 : 1;
        if (*at + need >= size) return -1;
        if (special) {
            out[(*at)++] = '%';
            out[(*at)++] = hex[c >> 4];
            out[(*at)++] = hex[c & 15];
        } else {
            out[(*at)++] = (char)c;
        }
    }
    out[*at] = '\0';
    return 0;
}

size_t rta_ck_key(char *out, size_t size, const char *app_id, const char *channel,
                  const char *suffix)
{
    if (!out || !size || !app_id || !*app_id || !channel || !*channel || !suffix) return 0;
    size_t at = 0;
    if (put(out, size, &at, "rt:{c:", 0) || put(out, size, &at, app_id, 1) ||
        put(out, size, &at, ":", 0) || put(out, size, &at, channel, 1) ||
        put(out, size, &at, "}", 0) || put(out, size, &at, suffix, 0)) {
        out[0] = '\0';
        return 0;
    }
    return at;
}

int rta_ck_message_parse(const char *msg, size_t len, uint64_t *serial,
                         char epoch[RTA_CK_EPOCH_MAX], const char **payload, size_t *payload_len)
{
    size_t i = 0;
    uint64_t s = 0;
    if (!msg) return -1;
    for (; i < len && msg[i] >= '0' && msg[i] <= '9'; i++) {
        if (s > (UINT64_MAX - 9) / 10) return -1;
        s = s * 10 + (uint64_t)(msg[i] - '0');
    }
    if (i == 0 || i == len || msg[i] != ':' || s == 0) return -1;
    size_t e = ++i;
    for (; i < len && msg[i] != ':'; i++) {
        char c = msg[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return -1;
    }
    if (i == len || i == e || i - e >= RTA_CK_EPOCH_MAX) return -1;
    memcpy(epoch, msg + e, i - e);
    epoch[i - e] = '\0';
    *serial = s;
    *payload = msg + i + 1;
    *payload_len = len - i - 1;
    return 0;
}

/* The jump consistent hash (Lamping, Veach: "A Fast, Minimal Memory, Consistent Hash
 * Algorithm", 2014): a linear congruential step per jump; the division is IEEE double
 * arithmetic, the same on every node. */
static uint32_t jump(uint64_t key, uint32_t n)
{
    int64_t b = -1, j = 0;
    while (j < (int64_t)n) {
        b = j;
        key = key * 2862933555777941757ULL + 1;
        j = (int64_t)((double)(b + 1) * ((double)(1LL << 31) / (double)((key >> 33) + 1)));
    }
    return (uint32_t)b;
}

uint32_t rta_ck_shard(const char *name, size_t len, uint32_t n)
{
    if (n <= 1 || !name) return 0;
    const char *open = memchr(name, '{', len);
    if (!open) return 0;
    size_t rest = len - (size_t)(open + 1 - name);
    const char *close = memchr(open + 1, '}', rest);
    if (!close) return 0;
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = open + 1; p < close; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    return jump(h, n);
}
