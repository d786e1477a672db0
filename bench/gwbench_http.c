/* gwbench_http.c: the REST calls the gateway benchmark needs, with one reused libcurl handle
 * (keep-alive), and the server's resident memory from /proc. See gwbench.h. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gwbench.h"

struct gw_http {
    CURL *curl;
    char base[64];
    rta_buf reply;
};

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    rta_buf_append(ctx, p, size * n);
    return size * n;
}

gw_http *gw_http_new(const char *host, int port)
{
    gw_http *h = calloc(1, sizeof(*h));
    if (!h || !(h->curl = curl_easy_init())) gw_die("cannot start libcurl");
    snprintf(h->base, sizeof(h->base), "http://%s:%d", host, port);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &h->reply);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    return h;
}

void gw_http_free(gw_http *h)
{
    if (!h) return;
    curl_easy_cleanup(h->curl);
    rta_buf_free(&h->reply);
    free(h);
}

/* POST body to path with an optional Basic key; the reply (NUL-terminated) stays in h->reply. */
static long post(gw_http *h, const char *path, const char *key, const char *body)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", h->base, path);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    curl_easy_setopt(h->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(h->curl, CURLOPT_USERPWD, key); /* "keyName:secret", or NULL: none */
    rta_buf_reset(&h->reply);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(h->curl);
    curl_slist_free_all(hdrs);
    if (rc != CURLE_OK) gw_die("POST %s: %s", path, curl_easy_strerror(rc));
    rta_buf_append(&h->reply, "", 1);
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* A string field of the JSON object in h->reply (malloc), or NULL. */
static char *reply_string(gw_http *h, const char *path0, const char *field)
{
    json_t *root = json_loads(h->reply.data, 0, NULL);
    json_t *obj = root;
    if (obj && path0) obj = json_array_get(json_object_get(obj, path0), 0);
    const char *v = json_string_value(json_object_get(obj, field));
    char *out = v ? strdup(v) : NULL;
    json_decref(root);
    return out;
}

char *gw_http_create_app(gw_http *h)
{
    long st = post(h, "/apps", NULL, "{\"keys\":[{\"revocableTokens\":true}]}");
    char *key = st == 201 ? reply_string(h, "keys", "keyStr") : NULL;
    if (!key) gw_die("POST /apps -> %ld: %s (is rtauthd running with --sandbox?)", st, h->reply.data);
    return key;
}

static void key_path(const char *key, const char *what, char *out, size_t size)
{
    const char *colon = strchr(key, ':');
    snprintf(out, size, "/keys/%.*s/%s", colon ? (int)(colon - key) : 0, key, what);
}

char *gw_http_request_token(gw_http *h, const char *key, const char *client_id,
                            const char *capability)
{
    json_t *body = json_pack("{s:s, s:I}", "capability", capability, "ttl", (json_int_t)3600000);
    if (client_id) json_object_set_new(body, "clientId", json_string(client_id));
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char path[256];
    key_path(key, "requestToken", path, sizeof(path));
    long st = post(h, path, key, text);
    free(text);
    char *token = st == 200 ? reply_string(h, NULL, "token") : NULL;
    if (!token) gw_die("requestToken -> %ld: %s", st, h->reply.data);
    return token;
}

long gw_http_revoke_many(gw_http *h, const char *key, const char *const *targets, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(list, json_string(targets[i]));
    json_t *body = json_pack("{s:o}", "targets", list);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char path[256];
    key_path(key, "revokeTokens", path, sizeof(path));
    long st = post(h, path, key, text);
    free(text);
    return st;
}

long gw_http_revoke(gw_http *h, const char *key, const char *target)
{
    return gw_http_revoke_many(h, key, &target, 1);
}

long gw_vmrss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *fp = fopen(path, "r");
    if (!fp) return -1;
    long kib = -1;
    while (fgets(line, sizeof(line), fp))
        if (!strncmp(line, "VmRSS:", 6)) kib = strtol(line + 6, NULL, 10);
    fclose(fp);
    return kib;
}

void gw_fleet_token_paths(gw_fleet *f, gw_http *h, const char *key, const char *capability,
                          size_t revoke_n, char *is_revoked)
{
    size_t stride = revoke_n ? f->n / revoke_n : 0, marked = 0;
    for (size_t i = 0; i < f->n; i++) {
        char cid[32];
        if (stride && i % stride == 0 && marked < revoke_n) {
            is_revoked[i] = 1;
            marked++;
            snprintf(cid, sizeof(cid), "%s", GW_REVOKED_CLIENT_ID);
        } else {
            snprintf(cid, sizeof(cid), "c%zu", i);
        }
        char *tok = gw_http_request_token(h, key, cid, capability);
        size_t len = strlen(tok) + 64;
        f->clients[i].path = malloc(len);
        if (!f->clients[i].path) gw_die("out of memory");
        snprintf(f->clients[i].path, len, "/?v=6&format=json&access_token=%s", tok);
        free(tok);
    }
}
