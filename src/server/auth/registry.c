/* auth/registry.c: in-memory apps and keys; see auth/registry.h. Never logs a secret. */
#include "server/auth/registry.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

int rta_registry_init(rta_registry *r)
{
    memset(r, 0, sizeof(*r));
    if (rta_hmap_init(&r->keys) || rta_hmap_init(&r->apps)) return RTA_ERR_INTERNAL;
    return 0;
}

static void key_entry_free(rta_key_entry *k)
{
    if (!k) return;
    rta_hmac_free(k->hmac);
    rta_capability_free(&k->capability);
    free(k->capability_text);
    OPENSSL_cleanse(k->secret, sizeof(k->secret));
    free(k);
}

static void app_entry_free(rta_app_entry *a)
{
    if (!a) return;
    free(a->account_id);
    free(a);
}

void rta_registry_free(rta_registry *r)
{
    for (size_t i = 0; i < r->keys.cap; i++)
        if (r->keys.slots[i].key) key_entry_free(r->keys.slots[i].value);
    for (size_t i = 0; i < r->apps.cap; i++)
        if (r->apps.slots[i].key) app_entry_free(r->apps.slots[i].value);
    rta_hmap_free(&r->keys);
    rta_hmap_free(&r->apps);
}

int rta_registry_put_app(rta_registry *r, const rta_app_record *app, rta_error *err)
{
    rta_app_entry *a = calloc(1, sizeof(*a));
    if (!a || strlen(app->app_id) > RTA_KEY_ID_MAX) {
        free(a);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Cannot add app");
    }
    strcpy(a->app_id, app->app_id);
    a->account_id = strdup(app->account_id ? app->account_id : "");
    a->sandbox = app->sandbox;
    a->created = app->created;
    a->max_connections = app->max_connections;
    a->max_connections_per_client = app->max_connections_per_client;
    void *old = NULL;
    if (!a->account_id || rta_hmap_put(&r->apps, a->app_id, strlen(a->app_id), a, &old)) {
        app_entry_free(a);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    app_entry_free(old);
    return 0;
}

int rta_registry_put_key(rta_registry *r, const rta_key_record *key, rta_error *err)
{
    size_t secret_len = strlen(key->secret);
    if (strlen(key->key_name) > RTA_KEY_NAME_MAX || strlen(key->app_id) > RTA_KEY_ID_MAX ||
        secret_len > RTA_KEY_SECRET_MAX)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Key record too large");
    rta_key_entry *k = calloc(1, sizeof(*k));
    if (!k) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    strcpy(k->key_name, key->key_name);
    strcpy(k->app_id, key->app_id);
    memcpy(k->secret, key->secret, secret_len);
    k->secret_len = secret_len;
    k->revocable = key->revocable_tokens;
    k->enabled = key->enabled;
    k->created = key->created;
    int rc = rta_capability_parse(key->capability, strlen(key->capability), &k->capability, err);
    if (rc) {
        key_entry_free(k);
        return rc;
    }
    rta_buf text = RTA_BUF_INIT;
    rta_capability_canonical(&k->capability, &text);
    k->capability_text = rta_buf_detach(&text, NULL);
    k->hmac = rta_hmac_new(k->secret, k->secret_len);
    void *old = NULL;
    if (!k->capability_text || !k->hmac ||
        rta_hmap_put(&r->keys, k->key_name, strlen(k->key_name), k, &old)) {
        key_entry_free(k);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    key_entry_free(old);
    return 0;
}

static int keep_other_apps(void *ctx, const char *name, size_t len, void *value)
{
    (void)name, (void)len;
    const rta_key_entry *k = value;
    if (strcmp(k->app_id, ctx) != 0) return 1;
    key_entry_free(value);
    return 0;
}

void rta_registry_remove_app(rta_registry *r, const char *app_id)
{
    /* keep_other_apps frees what it drops; it is called once per entry it drops (an entry
     * is dropped the first time it is seen, so a wrapped second visit cannot happen). */
    rta_hmap_filter(&r->keys, keep_other_apps, (void *)app_id);
    app_entry_free(rta_hmap_del(&r->apps, app_id, strlen(app_id)));
}

const rta_key_entry *rta_registry_key(const rta_registry *r, const char *name, size_t len)
{
    return rta_hmap_get(&r->keys, name, len);
}

const rta_app_entry *rta_registry_app(const rta_registry *r, const char *app_id)
{
    return rta_hmap_get(&r->apps, app_id, strlen(app_id));
}

typedef struct {
    rta_registry *r;
    int rc;
    rta_error *err;
} load_ctx;

static void load_app(void *ctx, const rta_app_record *app)
{
    load_ctx *c = ctx;
    if (!c->rc) c->rc = rta_registry_put_app(c->r, app, c->err);
}

static void load_key(void *ctx, const rta_key_record *key)
{
    load_ctx *c = ctx;
    if (!c->rc) c->rc = rta_registry_put_key(c->r, key, c->err);
}

int rta_registry_load(rta_registry *r, rta_store *store, rta_error *err)
{
    load_ctx c = {r, 0, err};
    int rc = store->ops->list_apps(store, load_app, &c, err);
    if (!rc) rc = c.rc;
    if (!rc) rc = store->ops->list_keys(store, load_key, &c, err);
    if (!rc) rc = c.rc;
    return rc;
}
