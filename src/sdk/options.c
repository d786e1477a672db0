/* options.c: option defaults (rtauth/options.h) and the library's owned copies of AuthOptions
 * (rta__auth_opts): every string copied, the key parsed once, inputs validated where a bad
 * value could otherwise reach the wire (header injection, non-HTTP authUrl schemes). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth_internal.h"

void rta_auth_options_init(rta_auth_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof(*o));
    o->auth_method = RTA_AUTH_GET;
    o->use_token_auth = RTA_UNSET;
}

void rta_client_options_init(rta_client_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof(*o));
    rta_auth_options_init(&o->auth);
    o->tls = 1;
    o->use_binary_protocol = 1;
    o->timeouts.http_open_ms = 4000;
    o->timeouts.http_request_ms = 10000;
    o->timeouts.auth_request_ms = 10000;
    o->log_level = RTA_CLIENT_LOG_WARN;
    o->realtime.auto_connect = 1;
    o->realtime.echo_messages = 1;
    o->realtime.realtime_request_ms = 10000;
    o->realtime.disconnected_retry_ms = 15000;
    o->realtime.suspended_retry_ms = 30000;
    o->realtime.connection_state_ttl_ms = 120000;
}

void rta_client_options_init_string(rta_client_options *o, const char *key_or_token)
{
    rta_client_options_init(o);
    if (!o || !key_or_token) return;
    if (strchr(key_or_token, ':')) /* RSC1a: a ':' means an API key */
        o->auth.key = key_or_token;
    else
        o->auth.token = key_or_token;
}

/* JavaScript-style truthiness for option strings: NULL and "" are both "not given". */
static int given(const char *s)
{
    return s && *s;
}

/* A header field name (RFC 9110 token) and a value without control characters: a CR or LF
 * would let an option inject headers. */
static int header_ok(const rta_name_value *h)
{
    if (!given(h->name) || !h->value) return 0;
    for (const char *p = h->name; *p; p++)
        if (*p <= ' ' || *p >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *p)) return 0;
    for (const unsigned char *p = (const unsigned char *)h->value; *p; p++)
        if ((*p < ' ' && *p != '\t') || *p == 127) return 0;
    return 1;
}

static int copy_pairs(const rta_name_value *src, size_t n, rta_name_value **dst, size_t *count)
{
    *dst = NULL;
    *count = 0;
    if (!n) return 0;
    rta_name_value *d = calloc(n, sizeof(*d));
    if (!d) return -1;
    *dst = d;
    for (size_t i = 0; i < n; i++) {
        d[i].name = strdup(src[i].name ? src[i].name : "");
        d[i].value = strdup(src[i].value ? src[i].value : "");
        *count = i + 1; /* so a clear frees exactly what was made */
        if (!d[i].name || !d[i].value) return -1;
    }
    return 0;
}

static void free_pairs(rta_name_value *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free((char *)p[i].name);
        free((char *)p[i].value);
    }
    free(p);
}

static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!given(s)) return 0;
    *out = strdup(s);
    return *out ? 0 : -1;
}

void rta__auth_opts_clear(rta__auth_opts *o)
{
    if (!o) return;
    free(o->key);
    rta_key_wipe(&o->parsed_key);
    free(o->token);
    rta_token_details_clear(&o->token_details);
    free(o->auth_url);
    free_pairs(o->headers, o->header_count);
    free_pairs(o->params, o->param_count);
    memset(o, 0, sizeof(*o));
}

int rta__auth_opts_import(const rta_auth_options *src, rta__auth_opts *dst, rta_error *err)
{
    memset(dst, 0, sizeof(*dst));
    if (given(src->key) && rta_key_parse(src->key, strlen(src->key), &dst->parsed_key, err))
        return err ? err->code : RTA_ERR_INVALID_CREDENTIAL;
    if (given(src->auth_url) && strncasecmp(src->auth_url, "http://", 7) != 0 &&
        strncasecmp(src->auth_url, "https://", 8) != 0)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "authUrl must be an http(s) URL");
    for (size_t i = 0; i < src->auth_header_count; i++)
        if (!src->auth_headers || !header_ok(&src->auth_headers[i]))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid authHeaders entry %zu",
                                 i);
    for (size_t i = 0; i < src->auth_param_count; i++)
        if (!src->auth_params || !given(src->auth_params[i].name))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid authParams entry %zu", i);
    if (src->token_details && !given(src->token_details->token))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "tokenDetails without a token");
    dst->auth_method = src->auth_method == RTA_AUTH_POST ? RTA_AUTH_POST : RTA_AUTH_GET;
    dst->callback = src->auth_callback;
    dst->callback_data = src->auth_callback_data;
    dst->query_time = src->query_time != 0;
    dst->use_token_auth = src->use_token_auth;
    if (dup_opt(src->key, &dst->key) | dup_opt(src->token, &dst->token) |
            dup_opt(src->auth_url, &dst->auth_url) ||
        (src->token_details && rta_token_details_copy(src->token_details, &dst->token_details)) ||
        copy_pairs(src->auth_headers, src->auth_header_count, &dst->headers, &dst->header_count) ||
        copy_pairs(src->auth_params, src->auth_param_count, &dst->params, &dst->param_count)) {
        rta__auth_opts_clear(dst);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    return 0;
}

int rta__auth_opts_copy(const rta__auth_opts *src, rta__auth_opts *dst)
{
    memset(dst, 0, sizeof(*dst));
    dst->parsed_key = src->parsed_key;
    dst->auth_method = src->auth_method;
    dst->callback = src->callback;
    dst->callback_data = src->callback_data;
    dst->query_time = src->query_time;
    dst->use_token_auth = src->use_token_auth;
    if (dup_opt(src->key, &dst->key) | dup_opt(src->token, &dst->token) |
            dup_opt(src->auth_url, &dst->auth_url) ||
        (src->token_details.token &&
         rta_token_details_copy(&src->token_details, &dst->token_details)) ||
        copy_pairs(src->headers, src->header_count, &dst->headers, &dst->header_count) ||
        copy_pairs(src->params, src->param_count, &dst->params, &dst->param_count)) {
        rta__auth_opts_clear(dst);
        return RTA_ERR_INTERNAL;
    }
    return 0;
}

int rta__auth_opts_can_renew(const rta__auth_opts *o)
{
    return o->callback || o->auth_url || o->key;
}
