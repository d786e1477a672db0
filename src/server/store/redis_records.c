/* store/redis_records.c: apps, keys and server secrets in Redis (store.h's admin records),
 * and the admin version that poll_changes watches. Every write is one Function call (atomic,
 * INCR of rt:{g}:ver included). Key secrets and server secrets are sealed with the same
 * helpers, formats and AADs as the SQLite store's (store/sqlite_kek.h), so a KEK means the
 * same thing in both stores.
 *
 * Must never: put a secret into a message, or hand a caller a secret that did not open. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/redis_functions.h"
#include "server/store/redis_internal.h"
#include "server/store/sqlite_kek.h"

/* A field of an HGETALL reply, or NULL. */
static const redisReply *hfield(const redisReply *h, const char *name)
{
    if (!h || h->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && !strcmp(h->element[i]->str, name) &&
            h->element[i + 1]->type == REDIS_REPLY_STRING)
            return h->element[i + 1];
    return NULL;
}

static const char *hstr(const redisReply *h, const char *name)
{
    const redisReply *v = hfield(h, name);
    return v ? v->str : NULL;
}

static long long hnum(const redisReply *h, const char *name)
{
    const char *v = hstr(h, name);
    return v ? strtoll(v, NULL, 10) : 0;
}

/* A key must be named "<its appId>.<keyId>" (delete_app and revocations find an app's keys
 * by that prefix), as in the SQLite store. */
static int check_key(const rta_key_record *k, const char *app_id, rta_error *err)
{
    size_t n = app_id ? strlen(app_id) : 0;
    if (!k->key_name || !k->app_id || !app_id || strcmp(k->app_id, app_id) != 0 ||
        strncmp(k->key_name, app_id, n) != 0 || k->key_name[n] != '.' || !k->key_name[n + 1] ||
        strchr(k->key_name + n + 1, '.') || strchr(k->key_name, ' ') || !k->capability)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "store: key %s does not belong to app %s",
                             k->key_name ? k->key_name : "(none)", app_id ? app_id : "(none)");
    return 0;
}

static int valid_app_id(const char *app_id)
{
    return app_id && *app_id && !strchr(app_id, '.') && !strchr(app_id, ' ') &&
           strlen(app_id) <= RTA_KEY_ID_MAX;
}

/* Runs a Function call and maps its refusals; 0 on an integer reply. */
static int fcall(rta_redis_store *s, rta__redis_argv *a, const char *what, rta_error *err)
{
    redisReply *r = rta__redis_run(s, a, err);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = r->type == REDIS_REPLY_INTEGER ? 0 : rta__redis_reply_fail(r, what, err);
    freeReplyObject(r);
    if (!rc) rc = rta__redis_wait_replica(s, 1, err);
    return rc;
}

int rta__redis_create_app(rta_store *st, const rta_app_record *app, const rta_key_record *keys,
                          size_t key_count, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    if (!valid_app_id(app->app_id))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid app id");
    for (size_t i = 0; i < key_count; i++) {
        int rc = check_key(&keys[i], app->app_id, err);
        if (rc) return rc;
    }
    char app_key[RTA_RK_MAX], app_keys[RTA_RK_MAX];
    rta_rk_app(app_key, sizeof(app_key), app->app_id);
    rta_rk_app_keys(app_keys, sizeof(app_keys), app->app_id);
    char (*names)[RTA_RK_MAX] = calloc(key_count + 1, sizeof(*names));
    char (*sealed)[RTA_KEK_KEY_SECRET_SIZE] = calloc(key_count + 1, sizeof(*sealed));
    const char **stored = calloc(key_count + 1, sizeof(*stored));
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    int rc = names && sealed && stored ? 0 : rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t i = 0; !rc && i < key_count; i++) {
        rta_rk_key(names[i], sizeof(names[i]), keys[i].key_name);
        rc = rta__kek_seal_key_secret(s->box, keys[i].key_name, keys[i].secret, sealed[i],
                                      &stored[i], err);
    }
    if (!rc) {
        rta__redis_arg_str(&a, "FCALL");
        rta__redis_arg_str(&a, RTA_REDIS_FN("rt_app_create"));
        rta__redis_arg_i64(&a, (int64_t)(5 + key_count));
        rta__redis_arg_str(&a, RTA_RK_APPS);
        rta__redis_arg_str(&a, RTA_RK_KEYS);
        rta__redis_arg_str(&a, RTA_RK_VERSION);
        rta__redis_arg_str(&a, app_key);
        rta__redis_arg_str(&a, app_keys);
        for (size_t i = 0; i < key_count; i++) rta__redis_arg_str(&a, names[i]);
        rta__redis_arg_str(&a, app->app_id);
        rta__redis_arg_str(&a, app->account_id ? app->account_id : "");
        rta__redis_arg_i64(&a, app->created);
        rta__redis_arg_i64(&a, app->sandbox != 0);
        rta__redis_arg_i64(&a, app->max_connections);
        rta__redis_arg_i64(&a, app->max_connections_per_client);
        rta__redis_arg_i64(&a, (int64_t)key_count);
        /* per key: up to 6 numbers; the vector holds 64 formatted numbers */
        char (*nums)[3][24] = calloc(key_count + 1, sizeof(*nums));
        if (!nums) rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        for (size_t i = 0; !rc && i < key_count; i++) {
            snprintf(nums[i][0], 24, "%d", keys[i].revocable_tokens != 0);
            snprintf(nums[i][1], 24, "%d", keys[i].enabled != 0);
            snprintf(nums[i][2], 24, "%lld", (long long)keys[i].created);
            rta__redis_arg_str(&a, keys[i].key_name);
            rta__redis_arg_str(&a, stored[i]);
            rta__redis_arg_str(&a, keys[i].capability);
            rta__redis_arg_str(&a, nums[i][0]);
            rta__redis_arg_str(&a, nums[i][1]);
            rta__redis_arg_str(&a, nums[i][2]);
        }
        if (!rc) rc = fcall(s, &a, "create app", err);
        free(nums);
    }
    rta__redis_argv_free(&a);
    if (sealed) OPENSSL_cleanse(sealed, (key_count + 1) * sizeof(*sealed));
    free(names);
    free(sealed);
    free(stored);
    return rc;
}

int rta__redis_delete_app(rta_store *st, const char *app_id, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    if (!valid_app_id(app_id)) return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown app");
    char app_key[RTA_RK_MAX], app_keys[RTA_RK_MAX], rev[RTA_RK_MAX];
    rta_rk_app(app_key, sizeof(app_key), app_id);
    rta_rk_app_keys(app_keys, sizeof(app_keys), app_id);
    rta_rk_rev(rev, sizeof(rev), app_id);
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    const char *args[] = {"FCALL",    RTA_REDIS_FN("rt_app_delete"), "7", RTA_RK_APPS, RTA_RK_KEYS,
                          RTA_RK_VERSION, app_key,    app_keys, rev, RTA_RK_REV_EXPIRY,
                          app_id,   RTA_RK_KEY_PREFIX};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) rta__redis_arg_str(&a, args[i]);
    int rc = fcall(s, &a, "delete app", err);
    rta__redis_argv_free(&a);
    return rc;
}

int rta__redis_add_key(rta_store *st, const rta_key_record *key, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    int rc = check_key(key, key->app_id, err);
    if (rc) return rc;
    char app_key[RTA_RK_MAX], app_keys[RTA_RK_MAX], k[RTA_RK_MAX];
    rta_rk_app(app_key, sizeof(app_key), key->app_id);
    rta_rk_app_keys(app_keys, sizeof(app_keys), key->app_id);
    rta_rk_key(k, sizeof(k), key->key_name);
    char sealed[RTA_KEK_KEY_SECRET_SIZE];
    const char *stored;
    if ((rc = rta__kek_seal_key_secret(s->box, key->key_name, key->secret, sealed, &stored, err)))
        return rc;
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    const char *args[] = {"FCALL", RTA_REDIS_FN("rt_key_add"), "5", app_key, app_keys, RTA_RK_KEYS, k,
                          RTA_RK_VERSION, key->key_name, key->app_id, stored, key->capability};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) rta__redis_arg_str(&a, args[i]);
    rta__redis_arg_i64(&a, key->revocable_tokens != 0);
    rta__redis_arg_i64(&a, key->enabled != 0);
    rta__redis_arg_i64(&a, key->created);
    rc = fcall(s, &a, "add key", err);
    rta__redis_argv_free(&a);
    OPENSSL_cleanse(sealed, sizeof(sealed));
    return rc;
}

int rta__redis_set_app_limits(rta_store *st, const char *app_id, long long max_connections,
                              long long max_connections_per_client, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    if (!valid_app_id(app_id)) return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown app");
    char app_key[RTA_RK_MAX];
    rta_rk_app(app_key, sizeof(app_key), app_id);
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    const char *args[] = {"FCALL", RTA_REDIS_FN("rt_app_limits"), "2", app_key, RTA_RK_VERSION};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) rta__redis_arg_str(&a, args[i]);
    rta__redis_arg_i64(&a, max_connections);
    rta__redis_arg_i64(&a, max_connections_per_client);
    int rc = fcall(s, &a, "set app limits", err);
    rta__redis_argv_free(&a);
    if (rc == RTA_ERR_NOT_FOUND) rta_error_set(err, rc, "store: unknown app %s", app_id);
    return rc;
}

int rta__redis_set_key_enabled(rta_store *st, const char *key_name, int enabled, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    char k[RTA_RK_MAX];
    if (!key_name || !rta_rk_key(k, sizeof(k), key_name))
        return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown key");
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    const char *args[] = {"FCALL", RTA_REDIS_FN("rt_key_enable"), "2", k, RTA_RK_VERSION};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) rta__redis_arg_str(&a, args[i]);
    rta__redis_arg_i64(&a, enabled != 0);
    int rc = fcall(s, &a, "set key enabled", err);
    rta__redis_argv_free(&a);
    if (rc == RTA_ERR_NOT_FOUND) rta_error_set(err, rc, "store: unknown key %s", key_name);
    return rc;
}

/* A script, not a function of the rtauthd_v1 library: an older node's FUNCTION LOAD REPLACE
 * during a rolling upgrade would drop a function added to it (redis_functions.h). Atomic all
 * the same (EVAL), and the admin version moves so that every node reloads its keys. */
static const char set_capability_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('RTA_NOTFOUND key') end\n"
    "redis.call('HSET', KEYS[1], 'capability', ARGV[1])\n"
    "redis.call('INCR', KEYS[2])\n"
    "return 1\n";

int rta__redis_set_key_capability(rta_store *st, const char *key_name, const char *capability,
                                  rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    char k[RTA_RK_MAX];
    if (!key_name || !capability || !rta_rk_key(k, sizeof(k), key_name))
        return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown key");
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    const char *args[] = {"EVAL", set_capability_script, "2", k, RTA_RK_VERSION, capability};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) rta__redis_arg_str(&a, args[i]);
    int rc = fcall(s, &a, "set key capability", err);
    rta__redis_argv_free(&a);
    if (rc == RTA_ERR_NOT_FOUND) rta_error_set(err, rc, "store: unknown key %s", key_name);
    return rc;
}

/* HGETALL of each name (through make_key) in one pipeline; replies[i] to free. */
static int hgetall_each(rta_redis_store *s, const rta__redis_strings *names,
                        size_t (*make_key)(char *, size_t, const char *), redisReply ***replies,
                        rta_error *err)
{
    *replies = calloc(names->n + 1, sizeof(**replies));
    if (!*replies) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    int rc = rta_redis_conn_ensure(s->conn, err);
    for (size_t i = 0; !rc && i < names->n; i++) {
        char k[RTA_RK_MAX];
        if (!make_key(k, sizeof(k), names->v[i])) k[0] = '\0';
        rc = rta_redis_conn_appendf(s->conn, err, "HGETALL %s", k);
    }
    for (size_t i = 0; !rc && i < names->n; i++)
        if (!((*replies)[i] = rta_redis_conn_read(s->conn, err))) rc = RTA_ERR_INTERNAL;
    return rc;
}

static void free_replies(redisReply **r, size_t n, int wipe)
{
    for (size_t i = 0; r && i < n; i++) {
        if (!r[i]) continue;
        if (wipe && r[i]->type == REDIS_REPLY_ARRAY)
            for (size_t j = 0; j < r[i]->elements; j++)
                if (r[i]->element[j]->type == REDIS_REPLY_STRING)
                    OPENSSL_cleanse(r[i]->element[j]->str, r[i]->element[j]->len);
        freeReplyObject(r[i]);
    }
    free(r);
}

int rta__redis_list_apps(rta_store *st, void (*cb)(void *ctx, const rta_app_record *app),
                         void *ctx, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    rta__redis_strings ids;
    int rc = rta__redis_smembers_sorted(s, RTA_RK_APPS, &ids, err);
    if (rc) return rc;
    redisReply **h = NULL;
    rc = hgetall_each(s, &ids, rta_rk_app, &h, err);
    for (size_t i = 0; !rc && i < ids.n; i++) {
        if (!hstr(h[i], "id")) continue; /* deleted meanwhile */
        rta_app_record a = {ids.v[i],
                            hstr(h[i], "account") ? hstr(h[i], "account") : "",
                            hnum(h[i], "created"),
                            (int)hnum(h[i], "sandbox"),
                            hnum(h[i], "maxc"),
                            hnum(h[i], "maxpc")};
        cb(ctx, &a);
    }
    free_replies(h, ids.n, 0);
    rta__redis_strings_free(&ids);
    return rc;
}

int rta__redis_list_keys(rta_store *st, void (*cb)(void *ctx, const rta_key_record *key),
                         void *ctx, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    rta__redis_strings names;
    int rc = rta__redis_smembers_sorted(s, RTA_RK_KEYS, &names, err);
    if (rc) return rc;
    redisReply **h = NULL;
    rc = hgetall_each(s, &names, rta_rk_key, &h, err);
    char secret[RTA_KEY_SECRET_MAX + 1];
    for (size_t i = 0; !rc && i < names.n; i++) {
        const char *app = hstr(h[i], "app"), *stored = hstr(h[i], "secret"),
                   *cap = hstr(h[i], "capability");
        if (!app || !stored || !cap) continue; /* deleted meanwhile */
        if ((rc = rta__kek_open_key_secret(s->box, names.v[i], stored, secret, err))) break;
        rta_key_record k = {names.v[i],
                            app,
                            secret,
                            cap,
                            (int)hnum(h[i], "revocable"),
                            (int)hnum(h[i], "enabled"),
                            hnum(h[i], "created")};
        cb(ctx, &k);
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    free_replies(h, names.n, 1);
    rta__redis_strings_free(&names);
    return rc;
}

void rta__redis_cache_secret(rta_redis_store *s, const rta_secret_record *r)
{
    for (size_t i = 0; i < s->secret_count; i++)
        if (s->secrets[i].id == r->id) return;
    if (s->secret_count < RTA_KEYRING_MAX) s->secrets[s->secret_count++] = *r;
}

int rta__redis_add_secret(rta_store *st, const rta_secret_record *secret, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    unsigned char sealed[RTA_KEK_SERVER_SECRET_SIZE];
    const unsigned char *stored;
    int stored_len;
    int rc = rta__kek_seal_server_secret(s->box, secret->id, secret->secret, sealed, &stored,
                                         &stored_len, err);
    if (rc) return rc;
    rta__redis_argv a;
    rta__redis_argv_init(&a);
    const char *args[] = {"FCALL", RTA_REDIS_FN("rt_secret_add"), "2", RTA_RK_SECRETS, RTA_RK_VERSION};
    for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) rta__redis_arg_str(&a, args[i]);
    rta__redis_arg_i64(&a, secret->id);
    rta__redis_arg(&a, (const char *)stored, (size_t)stored_len);
    rta__redis_arg_i64(&a, secret->created);
    rc = fcall(s, &a, "add secret", err);
    rta__redis_argv_free(&a);
    OPENSSL_cleanse(sealed, sizeof(sealed));
    if (!rc) rta__redis_cache_secret(s, secret);
    return rc;
}

int rta__redis_list_secrets(rta_store *st,
                            void (*cb)(void *ctx, const rta_secret_record *secret), void *ctx,
                            rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    redisReply *h = rta_redis_conn_commandf(s->conn, err, "HGETALL %s", RTA_RK_SECRETS);
    if (!h) return RTA_ERR_INTERNAL;
    int rc = h->type == REDIS_REPLY_ARRAY ? 0 : rta__redis_reply_fail(h, "list secrets", err);
    /* in id order, as the SQLite store lists them */
    uint32_t ids[64];
    size_t n = 0;
    for (size_t i = 0; !rc && i + 1 < h->elements; i += 2) {
        const redisReply *f = h->element[i];
        if (f->type != REDIS_REPLY_STRING || strncmp(f->str, "s:", 2) != 0 || n == 64) continue;
        ids[n++] = (uint32_t)strtoul(f->str + 2, NULL, 10);
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            uint32_t t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    for (size_t i = 0; !rc && i < n; i++) {
        char sf[24], cf[24];
        snprintf(sf, sizeof(sf), "s:%u", (unsigned)ids[i]);
        snprintf(cf, sizeof(cf), "c:%u", (unsigned)ids[i]);
        const redisReply *v = hfield(h, sf);
        if (!v) continue;
        rta_secret_record r = {ids[i], {0}, hnum(h, cf)};
        rc = rta__kek_open_server_secret(s->box, r.id, v->str, (int)v->len, r.secret, err);
        if (!rc) {
            rta__redis_cache_secret(s, &r);
            cb(ctx, &r);
        }
        OPENSSL_cleanse(r.secret, sizeof(r.secret));
    }
    redisReply **one = malloc(sizeof(*one)); /* free_replies frees the array too */
    if (one) {
        one[0] = h;
        free_replies(one, 1, 1);
    } else {
        freeReplyObject(h);
    }
    return rc;
}

int rta_store_redis_reseed_secrets(rta_store *st, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    for (size_t i = 0; i < s->secret_count; i++) {
        int rc = rta__redis_add_secret(st, &s->secrets[i], err);
        if (rc && rc != RTA_ERR_INVALID_PARAMETER) return rc; /* exists: another node was first */
    }
    if (s->box) { /* the KEK marker went with the data */
        unsigned char marker[64];
        const char label[] = "rtauth: secrets sealed";
        size_t n = sizeof(label) - 1 + RTA_SECRET_BOX_OVERHEAD;
        int rc = rta_secret_box_seal(s->box, "kek-check", label, sizeof(label) - 1, marker, err);
        redisReply *r = rc ? NULL
                           : rta_redis_conn_commandf(s->conn, err, "SET %s %b NX", RTA_RK_KEK,
                                                     marker, n);
        if (!r) return RTA_ERR_INTERNAL;
        freeReplyObject(r);
    }
    return 0;
}

int rta__redis_read_version(rta_redis_store *s, char out[32], rta_error *err)
{
    redisReply *r = rta_redis_conn_commandf(s->conn, err, "GET %s", RTA_RK_VERSION);
    if (!r) return RTA_ERR_INTERNAL;
    snprintf(out, 32, "%s", r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    return 0;
}

/* A node also checks the epoch here (once a second): after a loss it holds back the reload
 * that would replace its apps and keys with an emptied Redis's, until it has re-seeded. */
int rta__redis_poll_changes(rta_store *st, int *changed, rta_error *err)
{
    rta_redis_store *s = (rta_redis_store *)st;
    *changed = 0;
    int rc = rta_redis_conn_ensure(s->conn, err);
    if (!rc && s->o.node_id[0]) {
        rc = rta__redis_run_epoch(s, err);
    }
    char v[32];
    if (!rc) rc = rta__redis_read_version(s, v, err);
    if (rc || s->reseed_pending) return rc;
    *changed = strcmp(v, s->ver) != 0;
    memcpy(s->ver, v, sizeof(s->ver));
    return 0;
}
