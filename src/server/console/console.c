/* console/console.c: the operator console's HTTP side: pages, login and logout, the session
 * cookie, the CSRF rules and the security headers; see console.h. The actions are in api.c. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/clock.h"
#include "server/console/internal.h"
#include "server/log.h"

#define COOKIE "rtauthd_console"

int rta_console_create(const char *password_file, const rta_console_deps *deps,
                       rta_console **out, rta_error *err)
{
    *out = NULL;
    char password[RTA_CONSOLE_PASSWORD_MAX + 1];
    int rc = rta_console_password_read(password_file, password, sizeof(password), err);
    if (rc) return rc;
    rta_console *c = calloc(1, sizeof(*c));
    if (!c) rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (!rc) rc = rta_console_guard_init(&c->guard, password, strlen(password), err);
    OPENSSL_cleanse(password, sizeof(password));
    if (rc) {
        free(c);
        return rc;
    }
    c->deps = *deps;
    *out = c;
    return 0;
}

void rta_console_free(rta_console *c)
{
    if (!c) return;
    rta_console_guard_clear(&c->guard);
    free(c);
}

/* ---- replies ----------------------------------------------------------------------------- */

/* On every console reply: the page may load only its own files and never be framed. */
static void security_headers(rta_http_session *s)
{
    rta_http_add_header(s, "content-security-policy:",
                        "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                        "form-action 'self'; frame-ancestors 'none'");
    rta_http_add_header(s, "x-content-type-options:", "nosniff");
    rta_http_add_header(s, "referrer-policy:", "no-referrer");
    rta_http_add_header(s, "x-frame-options:", "DENY");
    rta_http_add_header(s, "cache-control:", "no-store");
}

void rta__console_reply_json(rta_http_session *s, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        rta__console_reply_error(s, RTA_ERR_INTERNAL, 500, "Out of memory");
        return;
    }
    rta_http_reply_body(s, status, "application/json", text, strlen(text));
    free(text);
}

void rta__console_reply_error(rta_http_session *s, int code, int status, const char *message)
{
    rta_error e;
    rta_error_set(&e, code, message ? "%s" : NULL, message);
    if (status) e.status_code = status;
    s->reply_format = RTA_FORMAT_JSON; /* the console speaks JSON only */
    rta_http_reply_error(s, &e);
}

/* ---- request headers --------------------------------------------------------------------- */

/* Header h into buf ("" when absent or longer than buf). */
static void header(rta_http_session *s, enum lws_token_indexes h, char *buf, size_t size)
{
    buf[0] = '\0';
    int n = lws_hdr_total_length(s->wsi, h);
    if (n > 0 && (size_t)n < size) lws_hdr_copy(s->wsi, buf, (int)size, h);
}

static void custom_header(rta_http_session *s, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    int n = lws_hdr_custom_length(s->wsi, name, (int)strlen(name));
    if (n > 0 && (size_t)n < size)
        lws_hdr_custom_copy(s->wsi, buf, (int)size, name, (int)strlen(name));
}

/* The rtauthd_console cookie's value into id ("" when none or malformed). */
static void session_cookie(rta_http_session *s, char id[RTA_CONSOLE_ID_CHARS + 1])
{
    char cookies[4096];
    id[0] = '\0';
    header(s, WSI_TOKEN_HTTP_COOKIE, cookies, sizeof(cookies));
    for (char *p = cookies; p && *p;) {
        while (*p == ' ' || *p == ';') p++;
        if (!strncmp(p, COOKIE "=", sizeof(COOKIE))) {
            p += sizeof(COOKIE);
            size_t n = strcspn(p, ";");
            if (n == RTA_CONSOLE_ID_CHARS) {
                memcpy(id, p, n);
                id[n] = '\0';
            }
            break;
        }
        p = strchr(p, ';');
    }
    OPENSSL_cleanse(cookies, sizeof(cookies));
}

/* 1 when the request may come from rtauthd's own pages: no Origin (not a browser's
 * cross-origin request), or one equal to scheme://Host of this request. */
static int same_origin(rta_http_session *s)
{
    char origin[512], host[300], own[320];
    header(s, WSI_TOKEN_ORIGIN, origin, sizeof(origin));
    if (!origin[0] && lws_hdr_total_length(s->wsi, WSI_TOKEN_ORIGIN) <= 0) return 1;
    header(s, WSI_TOKEN_HOST, host, sizeof(host));
    if (!host[0]) return 0;
    snprintf(own, sizeof(own), "%s://%s", s->tls ? "https" : "http", host);
    return !strcasecmp(origin, own);
}

/* A state-changing request's form (console.h): POST, JSON, same origin. Replies 403 or 405
 * and returns 0 when it is not. */
static int mutation_form_ok(rta_http_session *s)
{
    char ct[128];
    if (s->method != RTA_HTTP_POST) {
        rta__console_reply_error(s, RTA_ERR_METHOD_NOT_ALLOWED, 405, "Use POST");
        s->allow_methods = "POST";
        return 0;
    }
    header(s, WSI_TOKEN_HTTP_CONTENT_TYPE, ct, sizeof(ct));
    if (strncasecmp(ct, "application/json", 16) || (ct[16] && ct[16] != ';')) {
        rta__console_reply_error(s, RTA_ERR_FORBIDDEN, 403,
                                 "Console actions need Content-Type: application/json");
        return 0;
    }
    if (!same_origin(s)) {
        rta__console_reply_error(s, RTA_ERR_FORBIDDEN, 403, "Cross-origin request refused");
        return 0;
    }
    return 1;
}

/* The POST body as a JSON object (NULL after replying 400). */
static json_t *body_object(rta_http_session *s)
{
    json_error_t jerr;
    json_t *j = s->body.len && s->body.len <= RTA_CONSOLE_MAX_BODY
                    ? json_loadb(s->body.data, s->body.len, JSON_REJECT_DUPLICATES, &jerr)
                    : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        rta__console_reply_error(s, RTA_ERR_INVALID_BODY, 400, "The body must be a JSON object");
        return NULL;
    }
    return j;
}

static void peer_address(rta_http_session *s, char *buf, size_t size)
{
    if (!lws_get_peer_simple(s->wsi, buf, size)) snprintf(buf, size, "?");
}

/* ---- login, logout, session -------------------------------------------------------------- */

static void set_cookie(rta_http_session *s, const char *id)
{
    char v[256];
    snprintf(v, sizeof(v), COOKIE "=%s; Path=/console; HttpOnly; SameSite=Strict%s%s", id,
             s->tls ? "; Secure" : "", id[0] ? "" : "; Max-Age=0");
    rta_http_add_header(s, "set-cookie:", v);
    OPENSSL_cleanse(v, sizeof(v));
}

static json_t *session_json(const rta_console *c, const rta_console_session *ses)
{
    return json_pack("{s:s, s:I, s:I}", "csrfToken", ses->csrf, "idleTimeoutMs",
                     (json_int_t)c->guard.idle_ms, "expiresAt",
                     (json_int_t)(ses->created + c->guard.absolute_ms));
}

static void login(rta_console *c, rta_http_session *s)
{
    if (!mutation_form_ok(s)) return;
    char addr[64];
    peer_address(s, addr, sizeof(addr));
    int64_t now = rta_clock_now();
    int64_t wait = rta_console_login_wait(&c->guard, addr, now);
    if (wait > 0) {
        char secs[32];
        snprintf(secs, sizeof(secs), "%lld", (long long)((wait + 999) / 1000));
        rta_http_add_header(s, "retry-after:", secs);
        rta_log_warn("console: login from %s refused: too many failed attempts", addr);
        rta__console_reply_error(s, RTA_ERR_RATE_LIMIT, 429,
                                 "Too many failed logins; try again later");
        return;
    }
    json_t *body = body_object(s);
    if (!body) return;
    json_t *pw = json_object_get(body, "password");
    int ok = json_is_string(pw) &&
             rta_console_password_ok(&c->guard, json_string_value(pw), json_string_length(pw));
    json_decref(body);
    if (s->body.data) OPENSSL_cleanse(s->body.data, s->body.len); /* the password */
    if (!ok) {
        rta_console_login_failed(&c->guard, addr, now);
        rta_log_warn("console: failed login from %s", addr);
        rta__console_reply_error(s, RTA_ERR_INVALID_CREDENTIALS, 401, "Wrong console password");
        return;
    }
    const rta_console_session *ses = rta_console_session_new(&c->guard, now);
    if (!ses) {
        rta__console_reply_error(s, RTA_ERR_INTERNAL, 500, "Cannot create a session");
        return;
    }
    rta_log_info("console: login from %s", addr);
    set_cookie(s, ses->id);
    rta__console_reply_json(s, 200, session_json(c, ses));
}

static void logout(rta_console *c, rta_http_session *s, const char *id)
{
    rta_console_session_end(&c->guard, id);
    set_cookie(s, "");
    rta_http_reply_body(s, 204, NULL, "", 0);
}

/* ---- pages ------------------------------------------------------------------------------- */

static const char *mime_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && !strcmp(dot, ".html")) return "text/html; charset=utf-8";
    if (dot && !strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
    if (dot && !strcmp(dot, ".css")) return "text/css; charset=utf-8";
    if (dot && !strcmp(dot, ".svg")) return "image/svg+xml";
    return "application/octet-stream";
}

static void page(rta_http_session *s, const char *name)
{
    if (s->method != RTA_HTTP_GET) {
        rta__console_reply_error(s, RTA_ERR_METHOD_NOT_ALLOWED, 405, NULL);
        s->allow_methods = "GET";
        return;
    }
    for (size_t i = 0; i < rta__console_asset_count; i++) {
        const rta_console_asset *a = &rta__console_assets[i];
        if (!strcmp(a->name, name)) {
            rta_http_reply_body(s, 200, mime_of(name), a->data, a->len);
            return;
        }
    }
    rta__console_reply_error(s, RTA_ERR_NOT_FOUND, 404, "No such resource");
}

/* ---- routing ----------------------------------------------------------------------------- */

static void api(rta_console *c, rta_http_session *s, const char *route)
{
    if (!strcmp(route, "login")) {
        login(c, s);
        return;
    }
    char id[RTA_CONSOLE_ID_CHARS + 1];
    session_cookie(s, id);
    const rta_console_session *ses = rta_console_session_find(&c->guard, id, rta_clock_now());
    if (!ses) {
        OPENSSL_cleanse(id, sizeof(id));
        rta__console_reply_error(s, RTA_ERR_INVALID_CREDENTIALS, 401, "Log in to the console");
        return;
    }
    if (s->method == RTA_HTTP_GET) {
        if (!strcmp(route, "session"))
            rta__console_reply_json(s, 200, session_json(c, ses));
        else if (!strcmp(route, "apps"))
            rta__console_apps(c, s);
        else if (!strcmp(route, "connections"))
            rta__console_connections(c, s);
        else if (!strcmp(route, "metrics"))
            rta__console_metrics(c, s);
        else
            rta__console_reply_error(s, RTA_ERR_NOT_FOUND, 404, "No such resource");
        OPENSSL_cleanse(id, sizeof(id));
        return;
    }
    /* Everything else changes state: POST, JSON, same origin, the session's CSRF token. */
    char csrf[RTA_CONSOLE_ID_CHARS + 2];
    custom_header(s, "x-csrf-token:", csrf, sizeof(csrf));
    if (mutation_form_ok(s)) {
        if (!rta_console_csrf_ok(ses, csrf)) {
            rta__console_reply_error(s, RTA_ERR_FORBIDDEN, 403, "Missing or wrong X-CSRF-Token");
        } else if (!strcmp(route, "logout")) {
            logout(c, s, id);
        } else {
            json_t *body = body_object(s);
            if (!body)
                ; /* replied */
            else if (!strcmp(route, "keys"))
                rta__console_create_key(c, s, body);
            else if (!strcmp(route, "keys/state"))
                rta__console_key_state(c, s, body);
            else if (!strcmp(route, "keys/capability"))
                rta__console_key_capability(c, s, body);
            else if (!strcmp(route, "revoke"))
                rta__console_revoke(c, s, body);
            else
                rta__console_reply_error(s, RTA_ERR_NOT_FOUND, 404, "No such resource");
            json_decref(body);
        }
    }
    OPENSSL_cleanse(id, sizeof(id));
    OPENSSL_cleanse(csrf, sizeof(csrf));
}

void rta_console_route(rta_console *c, rta_http_session *s)
{
    const char *path = s->path;
    security_headers(s);
    if (!strcmp(path, "/console")) {
        rta_http_reply_body(s, 302, "text/plain", "", 0);
        rta_http_add_header(s, "location:", "/console/");
    } else if (!strcmp(path, "/console/")) {
        page(s, "index.html");
    } else if (!strncmp(path, "/console/api/", 13)) {
        api(c, s, path + 13);
    } else {
        page(s, path + 9);
    }
}
