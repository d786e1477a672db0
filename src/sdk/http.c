/* http.c: libcurl easy handles in a small pool; see http.h. */
#include "http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Handles kept for reuse; more concurrent requests than this still work, their extra handles
 * are just closed afterwards. */
#define POOL_MAX 16

struct rta__http {
    pthread_mutex_t mu;
    CURL *pool[POOL_MAX];
    int pooled;
    char *ca_file;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

rta__http *rta__http_new(const char *ca_file)
{
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) return NULL;
    rta__http *h = calloc(1, sizeof(*h));
    if (!h) return NULL;
    if (ca_file && !(h->ca_file = strdup(ca_file))) {
        free(h);
        return NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    return h;
}

void rta__http_free(rta__http *h)
{
    if (!h) return;
    for (int i = 0; i < h->pooled; i++)
        curl_easy_cleanup(h->pool[i]);
    pthread_mutex_destroy(&h->mu);
    free(h->ca_file);
    free(h);
}

static CURL *take_handle(rta__http *h)
{
    CURL *c = NULL;
    pthread_mutex_lock(&h->mu);
    if (h->pooled > 0) c = h->pool[--h->pooled];
    pthread_mutex_unlock(&h->mu);
    if (c)
        curl_easy_reset(c); /* options only: the connection cache survives */
    else
        c = curl_easy_init();
    return c;
}

static void give_back(rta__http *h, CURL *c)
{
    pthread_mutex_lock(&h->mu);
    if (h->pooled < POOL_MAX) {
        h->pool[h->pooled++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&h->mu);
    if (c) curl_easy_cleanup(c);
}

typedef struct sink {
    rta__http_resp *resp;
    size_t max_body;
    int too_large;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    sink *s = ctx;
    size_t len = size * n;
    if (s->resp->body.len + len > s->max_body) {
        s->too_large = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    rta_buf_append(&s->resp->body, p, len);
    return s->resp->body.oom ? 0 : len;
}

/* Copies a header's value (trimmed) into out when the line starts with name. */
static int header_value(const char *line, size_t len, const char *name, char *out, size_t size)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0) return 0;
    const char *v = line + nl, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t vl = (size_t)(end - v);
    if (vl >= size) vl = size - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
    return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
    sink *s = ctx;
    rta__http_resp *r = s->resp;
    size_t len = size * n;
    char code[16];
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) { /* a new response (after a 100 Continue) */
        r->content_type[0] = '\0';
        r->error_code = 0;
        r->error_message[0] = '\0';
    } else if (header_value(p, len, "content-type:", r->content_type, sizeof(r->content_type))) {
    } else if (header_value(p, len, "x-ably-errorcode:", code, sizeof(code))) {
        r->error_code = atoi(code);
    } else {
        header_value(p, len, "x-ably-errormessage:", r->error_message, sizeof(r->error_message));
    }
    return len;
}

static int map_curl_error(CURLcode rc, const sink *s, const rta__http_req *req, rta_error *err)
{
    if (s->too_large)
        return rta_error_set(err, RTA_ERR_MESSAGE_TOO_LARGE, "Response body larger than %zu bytes",
                             s->max_body);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return rta_error_set(err, RTA_ERR_TIMEOUT, "HTTP %s timed out after %lld ms", req->method,
                             (long long)req->timeout_ms);
    if (rc == CURLE_OUT_OF_MEMORY || s->resp->body.oom)
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    return rta_error_set(err, RTA_ERR_CONNECTION_FAILED, "HTTP %s failed: %s", req->method,
                         curl_easy_strerror(rc));
}

int rta__http_perform(rta__http *h, const rta__http_req *req, rta__http_resp *resp, rta_error *err)
{
    memset(resp, 0, sizeof(*resp));
    CURL *c = take_handle(h);
    if (!c) return rta_error_set(err, RTA_ERR_INTERNAL, "Could not create an HTTP handle");
    struct curl_slist *hdrs = NULL, *tmp;
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        if (!(tmp = curl_slist_append(hdrs, req->headers[i]))) goto oom;
        hdrs = tmp;
    }
    /* No "Expect: 100-continue" round trip before small bodies. */
    if (!(tmp = curl_slist_append(hdrs, "Expect:"))) goto oom;
    hdrs = tmp;

    sink s = {resp, req->max_body ? req->max_body : RTA__HTTP_DEFAULT_MAX_BODY, 0};
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    if (req->timeout_ms > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    if (req->connect_timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
    if (h->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    if (!strcmp(req->method, "GET")) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
        if (req->body || strcmp(req->method, "DELETE") != 0) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        }
    }
    CURLcode rc = curl_easy_perform(c);
    int out = 0;
    if (rc != CURLE_OK) {
        out = map_curl_error(rc, &s, req, err);
        /* A failed transfer may leave the connection in an unknown state: don't reuse it. */
        curl_easy_cleanup(c);
        c = NULL;
        rta_buf_free(&resp->body);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        if (!resp->body.data) rta_buf_append(&resp->body, "", 0);
        if (resp->body.oom) out = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    curl_slist_free_all(hdrs);
    if (c) give_back(h, c);
    return out;
oom:
    curl_slist_free_all(hdrs);
    give_back(h, c);
    return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
}

void rta__http_resp_free(rta__http_resp *resp)
{
    if (!resp) return;
    rta_buf_free(&resp->body);
    memset(resp, 0, sizeof(*resp));
}

void rta__url_encode(rta_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char ch = *p;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            rta_buf_putc(out, (char)ch);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rta_buf_append(out, e, 3);
        }
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void rta__url_decode(rta_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            rta_buf_putc(out, ' ');
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            rta_buf_putc(out, (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
            i += 2;
        } else {
            rta_buf_putc(out, s[i]);
        }
    }
    if (!out->data) rta_buf_append(out, "", 0);
}
