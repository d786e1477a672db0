/* auth_url.c: requesting the authUrl (RSA8c) and classifying its reply (RSA4f).
 *
 * Parameters (RSA8c1-RSA8c3): TokenParams and authParams always go to the authUrl; with GET
 * in the query string, merged with the query the authUrl already has (on a clash authParams
 * beat the URL's own, TokenParams beat both); with POST in a form body, the URL's own query
 * left in the URL. authHeaders are sent as headers after "Accept: application/json,
 * text/plain" (which they may replace).
 *
 * Reply (wire protocol 4.3): non-2xx, a missing or unacceptable Content-Type, a body over
 * 128 KiB, a timeout (auth_request_ms) or a network error are all 40170 with the cause.
 * application/json is JSON text for auth_token.c to classify; text/plain and application/jwt
 * are a token string.
 *
 * Logs name the authUrl without its query string (which may carry the app's own secrets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_internal.h"

/* An ordered list of parameters where a later set replaces an earlier value in place. */
typedef struct plist {
    rta_buf names[64 + 8];
    rta_buf values[64 + 8];
    int count;
    int overflow;
} plist;

static void pl_set(plist *l, const char *name, size_t name_len, const char *value)
{
    for (int i = 0; i < l->count; i++)
        if (l->names[i].len == name_len && !memcmp(l->names[i].data, name, name_len)) {
            rta_buf_reset(&l->values[i]);
            rta_buf_puts(&l->values[i], value);
            return;
        }
    if (l->count >= (int)(sizeof(l->names) / sizeof(l->names[0]))) {
        l->overflow = 1;
        return;
    }
    rta_buf_append(&l->names[l->count], name, name_len);
    rta_buf_puts(&l->values[l->count], value);
    l->count++;
}

static void pl_free(plist *l)
{
    for (int i = 0; i < l->count; i++) {
        rta_buf_free(&l->names[i]);
        rta_buf_free(&l->values[i]);
    }
}

/* Adds the pairs of a query string (without '?'), percent-decoded. */
static void pl_add_query(plist *l, const char *q, size_t n)
{
    while (n > 0) {
        const char *amp = memchr(q, '&', n);
        size_t part = amp ? (size_t)(amp - q) : n;
        if (part > 0) {
            const char *eq = memchr(q, '=', part);
            size_t nl = eq ? (size_t)(eq - q) : part;
            rta_buf name = RTA_BUF_INIT, value = RTA_BUF_INIT;
            rta__url_decode(&name, q, nl);
            rta__url_decode(&value, eq ? eq + 1 : q + part, eq ? part - nl - 1 : 0);
            if (name.len) pl_set(l, name.data, name.len, value.data ? value.data : "");
            rta_buf_free(&name);
            rta_buf_free(&value);
        }
        q += part + (amp ? 1 : 0);
        n -= part + (amp ? 1 : 0);
    }
}

static void pl_encode(const plist *l, rta_buf *out)
{
    for (int i = 0; i < l->count; i++) {
        if (i) rta_buf_putc(out, '&');
        rta__url_encode(out, l->names[i].data);
        rta_buf_putc(out, '=');
        rta__url_encode(out, l->values[i].data ? l->values[i].data : "");
    }
}

static void pl_set_str(plist *l, const char *name, const char *value)
{
    pl_set(l, name, strlen(name), value);
}

static void pl_set_int(plist *l, const char *name, int64_t v)
{
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)v);
    pl_set_str(l, name, num);
}

static int fail(rta_error *err, const rta_error *cause, const char *fmt, const char *arg)
{
    rta_error_set(err, RTA_ERR_AUTH_CALLBACK, fmt, arg);
    if (cause) rta_error_set_cause(err, cause);
    return RTA_ERR_AUTH_CALLBACK;
}

/* Classifies a 2xx reply by its Content-Type (ably-js: contains the media type). */
static int classify(rta__http_resp *resp, rta__auth_value *out, rta_error *err)
{
    const char *ct = resp->content_type;
    if (!ct[0]) return fail(err, NULL, "authUrl response is missing a Content-Type header%s", "");
    int json = strcasestr(ct, "application/json") != NULL;
    int jwt = strcasestr(ct, "application/jwt") != NULL;
    int text = jwt || strcasestr(ct, "text/plain") != NULL;
    if (!json && !text)
        return fail(err, NULL,
                    "authUrl responded with unacceptable Content-Type %s; expected text/plain, "
                    "application/jwt or application/json",
                    ct);
    if (memchr(resp->body.data, '\0', resp->body.len))
        return fail(err, NULL, "authUrl response contains a NUL byte%s", "");
    out->kind = json ? RTA__VAL_JSON : RTA__VAL_TOKEN;
    out->jwt_content_type = jwt;
    out->text = rta_buf_detach(&resp->body, NULL);
    if (!out->text) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (text) { /* a token string: surrounding whitespace is not part of it */
        size_t n = strlen(out->text);
        while (n &&
               (out->text[n - 1] == '\n' || out->text[n - 1] == '\r' || out->text[n - 1] == ' '))
            out->text[--n] = '\0';
    }
    return 0;
}

int rta__authurl_fetch(rta_auth *a, const rta__auth_opts *o, const rta_token_params *p,
                       rta__auth_value *out, rta_error *err)
{
    rta__client *c = a->client;
    memset(out, 0, sizeof(*out));
    const char *url = o->auth_url;
    const char *q = strchr(url, '?');
    size_t base_len = q ? (size_t)(q - url) : strlen(url);
    int post = o->auth_method == RTA_AUTH_POST;

    plist *l = calloc(1, sizeof(*l));
    if (!l) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (q && !post) pl_add_query(l, q + 1, strlen(q + 1)); /* RSA8c1c */
    for (size_t i = 0; i < o->param_count; i++)            /* RSA8c1 */
        pl_set_str(l, o->params[i].name, o->params[i].value);
    if (p->ttl > 0) pl_set_int(l, "ttl", p->ttl); /* RSA8c2: TokenParams win */
    if (p->capability) pl_set_str(l, "capability", p->capability);
    if (p->client_id) pl_set_str(l, "clientId", p->client_id);
    if (p->timestamp > 0) pl_set_int(l, "timestamp", p->timestamp);

    rta_buf target = RTA_BUF_INIT, body = RTA_BUF_INIT;
    rta__headers h = {0};
    int has_accept = 0;
    for (size_t i = 0; i < o->header_count; i++)
        has_accept |= !strcasecmp(o->headers[i].name, "accept");
    if (!has_accept) rta__headers_add(&h, "Accept: application/json, text/plain");
    for (size_t i = 0; i < o->header_count; i++) /* RSA8c1a/b */
        rta__headers_add(&h, "%s: %s", o->headers[i].name, o->headers[i].value);
    if (post) {
        rta_buf_puts(&target, url);
        pl_encode(l, &body);
        if (!body.data) rta_buf_append(&body, "", 0);
        rta__headers_add(&h, "Content-Type: application/x-www-form-urlencoded");
    } else {
        rta_buf_append(&target, url, base_len);
        if (l->count) rta_buf_putc(&target, '?');
        pl_encode(l, &target);
    }
    int overflow = l->overflow;
    pl_free(l);
    free(l);
    int rc;
    if (overflow) {
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Too many authParams");
        goto done;
    }
    if (target.oom || body.oom || h.oom) {
        rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        goto done;
    }
    rta__log(c, RTA_CLIENT_LOG_DEBUG, "auth: %s %.*s", post ? "POST" : "GET", (int)base_len, url);
    rta__http_req req = {post ? "POST" : "GET",
                         target.data,
                         (const char *const *)h.lines,
                         body.data,
                         body.len,
                         c->timeouts.auth_request_ms,
                         c->timeouts.http_open_ms,
                         RTA__MAX_TOKEN_LEN};
    rta__http_resp resp;
    rta_error e;
    if ((rc = rta__http_perform(c->http, &req, &resp, &e))) {
        rc = fail(err, &e,
                  e.code == RTA_ERR_MESSAGE_TOO_LARGE
                      ? "authUrl response exceeded the maximum permitted length of 128 KiB%s"
                  : e.code == RTA_ERR_TIMEOUT ? "authUrl request timed out%s"
                                              : "authUrl request failed%s",
                  "");
        goto done;
    }
    if (resp.status < 200 || resp.status >= 300) {
        rta__error_from_response(&resp, &e);
        char status[64];
        snprintf(status, sizeof(status), "%ld", resp.status);
        rc = fail(err, &e, "authUrl responded with HTTP status %s", status);
    } else {
        rc = classify(&resp, out, err);
    }
    rta__http_resp_free(&resp);
done:
    rta__headers_free(&h);
    rta_buf_free(&target);
    rta_buf_free(&body);
    return rc;
}
