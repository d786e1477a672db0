/* auth/provision.c: app and key creation; see auth/provision.h. */
#include "server/auth/provision.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"
#include "core/capability.h"
#include "core/crypto.h"

int rta_random_alnum(char *out, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t i = 0;
    while (i < n) {
        unsigned char b[32];
        if (rta_random_bytes(b, sizeof(b))) return RTA_ERR_INTERNAL;
        for (size_t k = 0; k < sizeof(b) && i < n; k++)
            if (b[k] < 248) out[i++] = alphabet[b[k] % 62]; /* 248 = 4 * 62: no modulo bias */
    }
    out[n] = '\0';
    return 0;
}

void rta_new_key_clear(rta_new_key *k)
{
    free(k->capability);
    OPENSSL_cleanse(k, sizeof(*k));
}

void rta_new_app_clear(rta_new_app *a)
{
    for (size_t i = 0; i < a->key_count; i++) rta_new_key_clear(&a->keys[i]);
    free(a->keys);
    memset(a, 0, sizeof(*a));
}

int rta_new_key_prepare(const char *app_id, const rta_key_spec *spec, rta_new_key *out,
                        rta_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *cap = spec->capability ? spec->capability : RTA_DEFAULT_CAPABILITY;
    rta_capability parsed;
    int rc = rta_capability_parse(cap, strlen(cap), &parsed, err);
    if (rc) return rc;
    if (rta_capability_is_empty(&parsed)) {
        rta_capability_free(&parsed);
        return rta_error_set(err, RTA_ERR_BAD_REQUEST, "A key capability must not be empty");
    }
    rta_buf text = RTA_BUF_INIT;
    rta_capability_canonical(&parsed, &text);
    rta_capability_free(&parsed);
    out->capability = rta_buf_detach(&text, NULL);
    out->revocable = spec->revocable;
    unsigned char raw[32];
    rta_buf secret;
    rta_buf_init_borrowed(&secret, out->secret, sizeof(out->secret));
    if (!out->capability || rta_random_alnum(out->key_id, RTA_KEY_ID_LEN) ||
        rta_random_bytes(raw, sizeof(raw))) {
        rta_new_key_clear(out);
        return rta_error_set(err, RTA_ERR_INTERNAL, NULL);
    }
    rta_base64_encode(&secret, raw, sizeof(raw), RTA_BASE64_URL);
    OPENSSL_cleanse(raw, sizeof(raw));
    snprintf(out->key_name, sizeof(out->key_name), "%s.%s", app_id, out->key_id);
    return 0;
}

int rta_new_app_prepare(const char *app_id, const rta_key_spec *specs, size_t n, int sandbox,
                        int64_t now, rta_new_app *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = 0;
    if (app_id) {
        if (strlen(app_id) > RTA_KEY_ID_MAX) return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "appId too long");
        strcpy(out->app_id, app_id);
    } else if ((rc = rta_random_alnum(out->app_id, RTA_APP_ID_LEN))) {
        return rta_error_set(err, rc, NULL);
    }
    if ((rc = rta_random_alnum(out->account_id, RTA_APP_ID_LEN))) return rta_error_set(err, rc, NULL);
    out->sandbox = sandbox;
    out->created = now;
    out->keys = calloc(n ? n : 1, sizeof(*out->keys));
    if (!out->keys) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t i = 0; i < n; i++) {
        if ((rc = rta_new_key_prepare(out->app_id, &specs[i], &out->keys[i], err))) {
            rta_new_app_clear(out);
            return rc;
        }
        out->key_count++;
    }
    return 0;
}

rta_key_record rta_new_key_record(const rta_new_key *k, const char *app_id, int64_t created)
{
    rta_key_record r = {k->key_name, app_id, k->secret, k->capability, k->revocable, 1, created};
    return r;
}

int rta_new_app_store(rta_store *store, const rta_new_app *app, rta_error *err)
{
    rta_key_record *recs = calloc(app->key_count ? app->key_count : 1, sizeof(*recs));
    if (!recs) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t i = 0; i < app->key_count; i++)
        recs[i] = rta_new_key_record(&app->keys[i], app->app_id, app->created);
    rta_app_record a = {app->app_id, app->account_id, app->created, app->sandbox,
                        app->max_connections, app->max_connections_per_client};
    int rc = store->ops->create_app(store, &a, recs, app->key_count, err);
    free(recs);
    return rc;
}

int rta_new_app_register(rta_registry *reg, const rta_new_app *app, rta_error *err)
{
    rta_app_record a = {app->app_id, app->account_id, app->created, app->sandbox,
                        app->max_connections, app->max_connections_per_client};
    int rc = rta_registry_put_app(reg, &a, err);
    for (size_t i = 0; !rc && i < app->key_count; i++) {
        rta_key_record k = rta_new_key_record(&app->keys[i], app->app_id, app->created);
        rc = rta_registry_put_key(reg, &k, err);
    }
    return rc;
}
