/* cors.c: the CORS policy, request reading and reply headers; see cors.h. Never logs a
 * header value other than a well-formed Origin, and never decides whether a request is
 * authorised: that is the routes' job, whatever the Origin. */
#include "server/rest/cors.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/log.h"

/* The request headers ably-js (defaults.ts defaultGetHeaders/defaultPostHeaders, resource.ts)
 * and librtauth send: allowed in a preflight that names none or an invalid list. */
#define DEFAULT_ALLOW_HEADERS                                                                      \
    "accept, authorization, content-type, x-ably-version, ably-agent, x-ably-clientid"
/* The response headers a page may read besides the CORS-safelisted ones: the error headers
 * ably-js tests for (web xhrrequest.ts / fetchrequest.ts isAblyError: without them an error
 * reply becomes 40170 in the page), the Link of paged replies (paginatedresource.ts), and
 * content-length, which ably-js's XHR transport reads to tell a streamed reply (safelisted in
 * current browsers, listed for older ones). */
#define EXPOSE_HEADERS "x-ably-errorcode, x-ably-errormessage, link, content-length"

/* ---- syntax ------------------------------------------------------------------------------ */

static int is_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_host_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_';
}

/* Splits "scheme://host[:port]" (host a name or a bracketed IPv6 literal). Returns 1 and the
 * offset of the host when o[0..len) is such an origin, else 0. */
static int origin_parse(const char *o, size_t len, size_t *host_at)
{
    size_t i = 0;
    if (!len || !isalpha((unsigned char)o[0])) return 0;
    while (i < len && (isalnum((unsigned char)o[i]) || o[i] == '+' || o[i] == '-' || o[i] == '.'))
        i++;
    if (len - i < 3 || memcmp(o + i, "://", 3)) return 0;
    i += 3;
    size_t host = i;
    if (i < len && o[i] == '[') {
        while (++i < len && (isxdigit((unsigned char)o[i]) || o[i] == ':' || o[i] == '.')) {}
        if (i >= len || o[i] != ']' || i == host + 1) return 0;
        i++;
    } else {
        while (i < len && is_host_char((unsigned char)o[i]))
            i++;
        if (i == host) return 0;
    }
    if (i < len && o[i] == ':') {
        size_t digits = ++i;
        long port = 0;
        while (i < len && isdigit((unsigned char)o[i]) && port <= 65535)
            port = port * 10 + (o[i++] - '0');
        if (i == digits || port > 65535) return 0;
    }
    if (i != len) return 0;
    *host_at = host;
    return 1;
}

int rta_cors_header_list_valid(const char *v, size_t len)
{
    if (!len || len > RTA_CORS_REQUEST_HEADERS_MAX) return 0;
    size_t i = 0, names = 0;
    for (;;) {
        while (i < len && (v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t start = i;
        while (i < len && is_tchar((unsigned char)v[i]))
            i++;
        if (i == start || ++names > RTA_CORS_REQUEST_HEADER_NAMES) return 0;
        while (i < len && (v[i] == ' ' || v[i] == '\t'))
            i++;
        if (i == len) return 1;
        if (v[i++] != ',') return 0;
    }
}

/* ---- policy ------------------------------------------------------------------------------ */

void rta_cors_policy_default(rta_cors_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->any = 1;
}

/* Appends one --cors-origins entry to p, lowercased and without a default port. */
static int add_entry(rta_cors_policy *p, const char *e, size_t n, rta_error *err)
{
    char buf[RTA_CORS_ORIGIN_MAX + 1];
    size_t host_at;
    if (n > RTA_CORS_ORIGIN_MAX)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "cors_origins: an origin is longer than %d bytes",
                             RTA_CORS_ORIGIN_MAX);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)e[i]);
    buf[n] = '\0';
    if (strcmp(buf, "null")) {
        /* a host "*.domain" is checked as if the '*' were a label; a '*' anywhere else is
         * not a host character, so the check refuses it */
        char *star = strstr(buf, "://*.");
        char probe[RTA_CORS_ORIGIN_MAX + 1];
        memcpy(probe, buf, n + 1);
        if (star) probe[star - buf + 3] = 'x';
        if (!origin_parse(probe, n, &host_at))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "cors_origins: \"%.*s\" is not an origin (scheme://host[:port], "
                                 "no path or trailing slash)",
                                 (int)n, e);
        /* browsers leave the default port out of Origin */
        size_t s = host_at - 3;
        if ((s == 4 && !memcmp(buf, "http", 4) && n > 3 && !strcmp(buf + n - 3, ":80")) ||
            (s == 5 && !memcmp(buf, "https", 5) && n > 4 && !strcmp(buf + n - 4, ":443"))) {
            n = strrchr(buf, ':') - buf;
            buf[n] = '\0';
        }
    }
    if (p->len + n + 1 > sizeof(p->list))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "cors_origins: more than %d bytes",
                             RTA_CORS_POLICY_MAX);
    memcpy(p->list + p->len, buf, n + 1);
    p->len += n + 1;
    return 0;
}

int rta_cors_policy_parse(rta_cors_policy *p, const char *spec, rta_error *err)
{
    rta_cors_policy np;
    memset(&np, 0, sizeof(np));
    int entries = 0, special = 0;
    for (const char *s = spec; *s;) {
        while (*s == ',' || isspace((unsigned char)*s))
            s++;
        size_t n = 0;
        while (s[n] && s[n] != ',' && !isspace((unsigned char)s[n]))
            n++;
        if (!n) break;
        entries++;
        int rc = 0;
        if (n == 1 && *s == '*')
            np.any = 1, special = 1;
        else if (n == 4 && !strncasecmp(s, "none", 4))
            special = 1;
        else
            rc = add_entry(&np, s, n, err);
        if (rc) return rc;
        s += n;
    }
    if (!entries || (special && entries > 1))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "cors_origins must be *, none, or a list of origins");
    *p = np;
    return 0;
}

/* An allowed entry with the host "*.domain" against a well-formed origin. */
static int wildcard_match(const char *e, size_t el, const char *o, size_t len, size_t host_at)
{
    const char *star = strstr(e, "://*.");
    if (!star) return 0;
    size_t scheme = (size_t)(star - e) + 3; /* through "://" */
    const char *rest = star + 4;            /* ".domain[:port]" */
    size_t rl = el - (size_t)(rest - e);
    if (host_at != scheme || strncasecmp(o, e, scheme) || len <= scheme + rl) return 0;
    if (strncasecmp(o + len - rl, rest, rl)) return 0;
    for (size_t i = scheme; i < len - rl; i++) /* the subdomain: labels only, no port */
        if (o[i] == ':' || o[i] == '[') return 0;
    return 1;
}

int rta_cors_origin_allowed(const rta_cors_policy *p, const char *origin, size_t len)
{
    size_t host_at = 0;
    int is_null = len == 4 && !memcmp(origin, "null", 4);
    if (len > RTA_CORS_ORIGIN_MAX || (!is_null && !origin_parse(origin, len, &host_at))) return 0;
    if (p->any && !is_null) return 1;
    for (size_t at = 0; at < p->len;) {
        const char *e = p->list + at;
        size_t el = strlen(e);
        at += el + 1;
        if (el == len && !strncasecmp(e, origin, len)) return 1;
        if (!is_null && wildcard_match(e, el, origin, len, host_at)) return 1;
    }
    return 0;
}

/* ---- requests and replies ---------------------------------------------------------------- */

void rta_cors_read(rta_cors_request *r, const rta_cors_policy *p, struct lws *wsi, int is_options)
{
    r->vary = p->any || p->len;
    int n = r->vary ? lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) : 0;
    if (n <= 0) return; /* not a cross-origin browser request: no CORS headers */
    char origin[RTA_CORS_ORIGIN_MAX + 1];
    size_t host_at;
    if (n > RTA_CORS_ORIGIN_MAX || lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) != n)
        origin[0] = '\0';
    if (!origin[0] || !rta_cors_origin_allowed(p, origin, (size_t)n)) {
        int shown =
            origin[0] && (!strcmp(origin, "null") || origin_parse(origin, (size_t)n, &host_at));
        rta_log_debug("CORS: origin %s refused: no CORS headers", shown ? origin : "(malformed)");
        return;
    }
    memcpy(r->origin, origin, (size_t)n + 1);
    if (!is_options) return;
    /* Every OPTIONS is answered as a preflight: Access-Control-Request-Method would have to
     * be read as an lws custom header, which lws does not keep for HTTP/2 streams. */
    r->preflight = 1;
    int h = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AC_REQUEST_HEADERS);
    if (h <= 0 || h > RTA_CORS_REQUEST_HEADERS_MAX) return;
    char list[RTA_CORS_REQUEST_HEADERS_MAX + 1];
    if (lws_hdr_copy(wsi, list, sizeof(list), WSI_TOKEN_HTTP_AC_REQUEST_HEADERS) != h ||
        !rta_cors_header_list_valid(list, (size_t)h))
        return; /* the default list instead */
    r->allow_headers = strdup(list);
}

void rta_cors_clear(rta_cors_request *r)
{
    free(r->allow_headers);
    memset(r, 0, sizeof(*r));
}

static int add(struct lws *wsi, const char *name, const char *value, unsigned char **pp,
               unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), pp, end);
}

int rta_cors_add_headers(const rta_cors_request *r, const char *allow_methods, struct lws *wsi,
                         unsigned char **pp, unsigned char *end)
{
    if (!r->origin[0]) return r->vary ? add(wsi, "vary:", "Origin", pp, end) : 0;
    if (add(wsi, "access-control-allow-origin:", r->origin, pp, end) ||
        add(wsi, "access-control-allow-credentials:", "true", pp, end))
        return -1;
    if (!r->preflight || !allow_methods) /* an OPTIONS refused before routing is no preflight */
        return add(wsi, "access-control-expose-headers:", EXPOSE_HEADERS, pp, end) ||
               add(wsi, "vary:", "Origin", pp, end);
    return add(wsi, "access-control-allow-methods:", allow_methods, pp, end) ||
           add(wsi, "access-control-allow-headers:",
               r->allow_headers ? r->allow_headers : DEFAULT_ALLOW_HEADERS, pp, end) ||
           add(wsi, "access-control-max-age:", RTA_CORS_MAX_AGE, pp, end) ||
           add(wsi, "vary:", "Origin, Access-Control-Request-Headers", pp, end);
}
