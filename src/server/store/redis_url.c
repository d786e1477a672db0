/* store/redis_url.c: parsing redis:// URLs and Sentinel lists; see store/redis_url.h. No I/O;
 * error messages never quote the user or the password. */
#include "server/store/redis_url.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* %-decodes s[0..n) into out (size bytes, NUL-terminated). -1 if malformed or too long. */
static int pct_decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) return -1;
            c = hi << 4 | lo;
            if (c == 0) return -1;
            i += 2;
        }
        if (o + 1 >= size) return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

int rta_redis_addr_parse(const char *s, size_t len, int default_port, rta_redis_addr *a,
                         rta_error *err)
{
    const char *host = s, *port = NULL;
    size_t host_len;
    if (len && s[0] == '[') { /* [v6]:port */
        const char *close = memchr(s, ']', len);
        if (!close) goto bad;
        host = s + 1;
        host_len = (size_t)(close - host);
        size_t rest = len - (size_t)(close + 1 - s);
        if (rest) {
            if (close[1] != ':') goto bad;
            port = close + 2;
        }
    } else {
        const char *colon = NULL;
        for (size_t i = 0; i < len; i++)
            if (s[i] == ':') {
                if (colon) goto bad; /* a bare IPv6 address needs brackets */
                colon = s + i;
            }
        host_len = colon ? (size_t)(colon - s) : len;
        if (colon) port = colon + 1;
    }
    if (host_len == 0 || host_len > RTA_REDIS_HOST_MAX) goto bad;
    for (size_t i = 0; i < host_len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c <= ' ' || c == '/' || c == '@' || c == '?' || c == '#' || c >= 0x7f) goto bad;
    }
    long p = default_port;
    if (port) {
        size_t plen = len - (size_t)(port - s);
        if (plen == 0 || plen > 5) goto bad;
        p = 0;
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9') goto bad;
            p = p * 10 + (port[i] - '0');
        }
        if (p < 1 || p > 65535) goto bad;
    }
    memcpy(a->host, host, host_len);
    a->host[host_len] = '\0';
    a->port = (int)p;
    return 0;
bad:
    return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                         "a Redis address must be host:port (or [ipv6]:port), got \"%.*s\"",
                         (int)(len > 200 ? 200 : len), s);
}

int rta_redis_url_parse(const char *url, int allow_empty_host, rta_redis_target *t,
                        rta_error *err)
{
    static const char scheme[] = "redis://";
    if (!url || strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "the Redis URL must start with redis:// (rediss:// is not supported)");
    const char *p = url + sizeof(scheme) - 1;
    const char *end = p + strlen(p);
    /* authority ends at the first '/' after the last '@' (a password may hold '/' only
     * %-encoded, so the first '/' is the path) */
    const char *slash = strchr(p, '/');
    const char *auth_end = slash ? slash : end;
    const char *at = NULL;
    for (const char *q = p; q < auth_end; q++)
        if (*q == '@') at = q;
    t->user[0] = t->password[0] = '\0';
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *user_end = colon ? colon : at;
        if (pct_decode(p, (size_t)(user_end - p), t->user, sizeof(t->user)) ||
            (colon && pct_decode(colon + 1, (size_t)(at - colon - 1), t->password,
                                 sizeof(t->password)))) {
            rta_redis_target_clear(t);
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "the Redis URL's user or password is malformed or too long");
        }
        if (!colon && t->user[0]) { /* redis://secret@host: a password alone, as redis-cli */
            memcpy(t->password, t->user, sizeof(t->password));
            OPENSSL_cleanse(t->user, sizeof(t->user));
            t->user[0] = '\0';
        }
        p = at + 1;
    }
    int rc = 0;
    if (p == auth_end) {
        if (!allow_empty_host)
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                               "the Redis URL needs a host: redis://host:port[/db]");
        t->addr.host[0] = '\0';
        t->addr.port = RTA_REDIS_DEFAULT_PORT;
    } else {
        rc = rta_redis_addr_parse(p, (size_t)(auth_end - p), RTA_REDIS_DEFAULT_PORT, &t->addr,
                                  err);
    }
    t->db = 0;
    if (!rc && slash && slash[1]) {
        char *e;
        long db = strtol(slash + 1, &e, 10);
        if (*e || db < 0 || db > 1023 || slash[1] < '0' || slash[1] > '9')
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                               "the Redis URL's database must be a number 0..1023");
        else
            t->db = (int)db;
    }
    if (rc) rta_redis_target_clear(t);
    return rc;
}

int rta_redis_sentinels_parse(const char *list, rta_redis_target *t, rta_error *err)
{
    t->sentinel_count = 0;
    const char *p = list ? list : "";
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && p[0] == ' ') p++, n--;
        while (n && p[n - 1] == ' ') n--;
        if (t->sentinel_count == RTA_REDIS_MAX_SENTINELS)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "at most %d Sentinels",
                                 RTA_REDIS_MAX_SENTINELS);
        int rc = rta_redis_addr_parse(p, n, RTA_REDIS_DEFAULT_SENTINEL_PORT,
                                      &t->sentinels[t->sentinel_count], err);
        if (rc) return rc;
        t->sentinel_count++;
        p = comma ? comma + 1 : p + strlen(p);
    }
    if (!t->sentinel_count)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "the Sentinel list is empty: host:port,host:port");
    return 0;
}

void rta_redis_addr_format(const rta_redis_addr *a, char *out, size_t size)
{
    if (strchr(a->host, ':'))
        snprintf(out, size, "[%s]:%d", a->host, a->port);
    else
        snprintf(out, size, "%s:%d", a->host, a->port);
}

void rta_redis_target_clear(rta_redis_target *t)
{
    OPENSSL_cleanse(t->user, sizeof(t->user));
    OPENSSL_cleanse(t->password, sizeof(t->password));
}
