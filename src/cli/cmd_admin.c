/* cmd_admin.c: `rtauth app ...` and `rtauth key ...`: operators' commands on a data
 * directory's store. A key secret is printed once, when the key is created, and never again
 * (key list shows key names, capabilities and flags only). */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/buf.h"
#include "core/codec.h"
#include "core/crypto.h"
#include "core/native_token.h"
#include "server/auth/provision.h"
#include "server/store/secret_box.h"
#include "server/clock.h"
#include "server/store/redis.h"
#include "server/store/store.h"

static void print_json_string(const char *s)
{
    rta_buf b = RTA_BUF_INIT;
    rta_json_quote(&b, s, strlen(s));
    fputs(b.data, stdout);
    rta_buf_free(&b);
}

static void print_new_key(const rta_cli *c, const rta_new_key *k, int last)
{
    if (c->json) {
        printf("{\"keyName\":");
        print_json_string(k->key_name);
        printf(",\"key\":\"%s:%s\",\"capability\":", k->key_name, k->secret);
        print_json_string(k->capability);
        printf(",\"revocableTokens\":%s}%s", k->revocable ? "true" : "false", last ? "" : ",");
    } else {
        printf("key      %s:%s\ncapability %s%s\n", k->key_name, k->secret, k->capability,
               k->revocable ? "  (revocable tokens)" : "");
    }
}

/* A cluster's Redis (--redis, --redis-sentinel with --redis-master), as a client: it writes
 * records, makes no epoch and judges no settings (the nodes do). */
static int open_redis(const rta_cli *c, rta_secret_box *kek, rta_store **store, rta_error *err)
{
    rta_redis_options o;
    rta_redis_options_init(&o);
    int sentinel = c->redis_sentinel && *c->redis_sentinel;
    int rc = 0;
    if (c->redis && *c->redis) rc = rta_redis_url_parse(c->redis, sentinel, &o.target, err);
    if (!rc && sentinel) {
        rc = rta_redis_sentinels_parse(c->redis_sentinel, &o.target, err);
        if (!rc && !(c->redis_master && *c->redis_master))
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                               "--redis-sentinel needs --redis-master NAME");
        if (!rc)
            snprintf(o.target.master_name, sizeof(o.target.master_name), "%s", c->redis_master);
    }
    if (rc)
        rta_secret_box_free(kek);
    else
        rc = rta_store_redis_open(&o, kek, store, err);
    rta_redis_target_clear(&o.target);
    return rc;
}

/* With the data directory's KEK when one is given (the same settings as rtauthd's): a key
 * created here is sealed like the server's, and a sealed database opens only with it. */
static int open_store(const rta_cli *c, rta_store **store, rta_error *err)
{
    rta_secret_box *kek = NULL; /* the store takes it */
    int rc = rta_secret_box_load(c->kek_file, getenv("RTAUTHD_KEK"), "RTAUTHD_KEK", &kek, err);
    if (rc) return rc;
    if ((c->redis && *c->redis) || (c->redis_sentinel && *c->redis_sentinel))
        return open_redis(c, kek, store, err);
    return rta_store_sqlite_open_kek(c->data_dir, kek, store, err);
}

static int app_create(rta_cli *c)
{
    rta_key_spec spec = {rta_cli_take(c, "--capability"), rta_cli_flag(c, "--revocable")};
    int rc = rta_cli_no_more_options(c);
    if (rc) return rc;
    rta_error err;
    rta_store *store = NULL;
    rta_new_app app = {0};
    rc = open_store(c, &store, &err);
    if (!rc) rc = rta_new_app_prepare(NULL, &spec, 1, 0, rta_clock_now(), &app, &err);
    if (!rc) rc = rta_new_app_store(store, &app, &err);
    if (!rc) {
        if (c->json) {
            printf("{\"appId\":\"%s\",\"keys\":[", app.app_id);
            print_new_key(c, &app.keys[0], 1);
            printf("]}\n");
        } else {
            printf("app      %s\n", app.app_id);
            print_new_key(c, &app.keys[0], 1);
            printf("(the secret is shown only now)\n");
        }
    }
    rta_new_app_clear(&app);
    if (store) store->ops->close(store);
    return rc ? rta_cli_fail(c, &err) : 0;
}

typedef struct {
    const rta_cli *c;
    const char *filter;
    int n;
} list_ctx;

/* An app's own connection cap, or the server's default (0). */
static void print_cap(const char *what, long long v)
{
    if (v)
        printf("  %s %lld", what, v);
    else
        printf("  %s default", what);
}

static void print_app(void *ctx, const rta_app_record *a)
{
    list_ctx *l = ctx;
    if (l->c->json) {
        printf("%s{\"appId\":\"%s\",\"created\":%lld,\"sandbox\":%s,\"maxConnections\":%lld,"
               "\"maxConnectionsPerClient\":%lld}",
               l->n ? "," : "", a->app_id, (long long)a->created, a->sandbox ? "true" : "false",
               a->max_connections, a->max_connections_per_client);
    } else {
        printf("%-12s created %lld%s", a->app_id, (long long)a->created,
               a->sandbox ? "  (sandbox)" : "");
        print_cap("max-connections", a->max_connections);
        print_cap("max-connections-per-client", a->max_connections_per_client);
        printf("\n");
    }
    l->n++;
}

static void print_key(void *ctx, const rta_key_record *k)
{
    list_ctx *l = ctx;
    if (l->filter && strcmp(k->app_id, l->filter) != 0) return;
    if (l->c->json) {
        printf("%s{\"keyName\":\"%s\",\"appId\":\"%s\",\"capability\":", l->n ? "," : "",
               k->key_name, k->app_id);
        print_json_string(k->capability);
        printf(",\"revocableTokens\":%s,\"enabled\":%s}", k->revocable_tokens ? "true" : "false",
               k->enabled ? "true" : "false");
    } else {
        printf("%-20s %-8s %s%s\n", k->key_name, k->enabled ? "enabled" : "DISABLED",
               k->capability, k->revocable_tokens ? "  (revocable tokens)" : "");
    }
    l->n++;
}

static void print_set(void *ctx, const rta_app_record *a)
{
    list_ctx *l = ctx;
    if (strcmp(a->app_id, l->c->argv[1]) != 0) return;
    print_app(ctx, a);
    if (l->c->json) printf("\n");
}

static int list(rta_cli *c, int keys)
{
    list_ctx l = {c, keys && c->argc > 1 ? c->argv[1] : NULL, 0};
    int rc = rta_cli_no_more_options(c);
    if (rc) return rc;
    rta_error err;
    rta_store *store = NULL;
    rc = open_store(c, &store, &err);
    if (c->json && !rc) printf("[");
    if (!rc && keys) rc = store->ops->list_keys(store, print_key, &l, &err);
    if (!rc && !keys) rc = store->ops->list_apps(store, print_app, &l, &err);
    if (c->json && !rc) printf("]\n");
    if (store) store->ops->close(store);
    return rc ? rta_cli_fail(c, &err) : 0;
}

/* One cap for set-limits: absent (-1: unchanged), "default" (0: the server's), or 1..1000000.
 * Returns 0, or 2 after printing why. */
static int parse_cap(const char *flag, const char *v, long long *out)
{
    *out = -1;
    if (!v) return 0;
    if (!strcmp(v, "default")) {
        *out = 0;
        return 0;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < 1 || n > 1000000) {
        fprintf(stderr, "rtauth: %s must be 1..1000000 or \"default\", got \"%s\"\n", flag, v);
        return 2;
    }
    *out = n;
    return 0;
}

/* `rtauth app set-limits APP_ID`: the app's own connection caps, which override rtauthd's
 * --max-connections-per-app and --max-connections-per-client for it; a running rtauthd
 * applies them to new connections within a second. */
static int app_set_limits(rta_cli *c)
{
    const char *conns = rta_cli_take(c, "--max-connections");
    const char *per_client = rta_cli_take(c, "--max-connections-per-client");
    int rc = rta_cli_no_more_options(c);
    if (rc) return rc;
    long long max_conns, max_per_client;
    if ((rc = parse_cap("--max-connections", conns, &max_conns)) ||
        (rc = parse_cap("--max-connections-per-client", per_client, &max_per_client)))
        return rc;
    if (c->argc != 2 || (!conns && !per_client)) {
        fprintf(stderr, "usage: rtauth app set-limits APP_ID [--max-connections N|default]\n"
                        "       [--max-connections-per-client N|default]\n");
        return 2;
    }
    rta_error err;
    rta_store *store = NULL;
    rc = open_store(c, &store, &err);
    if (!rc) rc = store->ops->set_app_limits(store, c->argv[1], max_conns, max_per_client, &err);
    list_ctx l = {c, NULL, 0};
    if (!rc) rc = store->ops->list_apps(store, print_set, &l, &err); /* what it is now */
    if (store) store->ops->close(store);
    return rc ? rta_cli_fail(c, &err) : 0;
}

int rta_cmd_app(rta_cli *c)
{
    const char *sub = c->argc ? c->argv[0] : "";
    if (!strcmp(sub, "create")) return app_create(c);
    if (!strcmp(sub, "list")) return list(c, 0);
    if (!strcmp(sub, "set-limits")) return app_set_limits(c);
    fprintf(stderr, "usage: rtauth app create|list|set-limits [--data-dir DIR] [--json]\n");
    return 2;
}

static int key_create(rta_cli *c)
{
    rta_key_spec spec = {rta_cli_take(c, "--capability"), rta_cli_flag(c, "--revocable")};
    int rc = rta_cli_no_more_options(c);
    if (rc) return rc;
    if (c->argc < 2) {
        fprintf(stderr, "usage: rtauth key create APP_ID [--capability JSON] [--revocable]\n");
        return 2;
    }
    rta_error err;
    rta_store *store = NULL;
    rta_new_key key = {0};
    rc = open_store(c, &store, &err);
    if (!rc) rc = rta_new_key_prepare(c->argv[1], &spec, &key, &err);
    if (!rc) {
        rta_key_record rec = rta_new_key_record(&key, c->argv[1], rta_clock_now());
        rc = store->ops->add_key(store, &rec, &err);
    }
    if (!rc) {
        print_new_key(c, &key, 1);
        if (c->json) printf("\n");
    }
    rta_new_key_clear(&key);
    if (store) store->ops->close(store);
    return rc ? rta_cli_fail(c, &err) : 0;
}

static int key_enable(rta_cli *c, int enabled)
{
    int rc = rta_cli_no_more_options(c);
    if (rc) return rc;
    if (c->argc < 2) {
        fprintf(stderr, "usage: rtauth key %s KEY_NAME\n", enabled ? "enable" : "disable");
        return 2;
    }
    rta_error err;
    rta_store *store = NULL;
    rc = open_store(c, &store, &err);
    if (!rc) rc = store->ops->set_key_enabled(store, c->argv[1], enabled, &err);
    if (!rc && !c->json) printf("key %s %s\n", c->argv[1], enabled ? "enabled" : "disabled");
    if (!rc && c->json) printf("{\"keyName\":\"%s\",\"enabled\":%s}\n", c->argv[1],
                               enabled ? "true" : "false");
    if (store) store->ops->close(store);
    return rc ? rta_cli_fail(c, &err) : 0;
}

int rta_cmd_key(rta_cli *c)
{
    const char *sub = c->argc ? c->argv[0] : "";
    if (!strcmp(sub, "create")) return key_create(c);
    if (!strcmp(sub, "list")) return list(c, 1);
    if (!strcmp(sub, "disable")) return key_enable(c, 0);
    if (!strcmp(sub, "enable")) return key_enable(c, 1);
    fprintf(stderr, "usage: rtauth key create|list|disable|enable ...\n");
    return 2;
}

typedef struct {
    uint32_t max_id;
    int n;
} secret_scan;

static void scan_secret(void *ctx, const rta_secret_record *s)
{
    secret_scan *sc = ctx;
    if (s->id > sc->max_id) sc->max_id = s->id;
    sc->n++;
}

/* `rtauth secret rotate`: a new server secret signs every token issued from now on; tokens
 * signed with older secrets keep verifying (docs/token-format.md). */
int rta_cmd_secret(rta_cli *c)
{
    const char *sub = c->argc ? c->argv[0] : "";
    int rc = rta_cli_no_more_options(c);
    if (rc) return rc;
    if (strcmp(sub, "rotate") != 0) {
        fprintf(stderr, "usage: rtauth secret rotate [--data-dir DIR]\n");
        return 2;
    }
    rta_error err;
    rta_store *store = NULL;
    secret_scan sc = {0, 0};
    rc = open_store(c, &store, &err);
    if (!rc) rc = store->ops->list_secrets(store, scan_secret, &sc, &err);
    if (!rc && sc.n >= RTA_KEYRING_MAX)
        rc = rta_error_set(&err, RTA_ERR_INVALID_PARAMETER,
                           "%d server secrets already: the limit is %d", sc.n, RTA_KEYRING_MAX);
    rta_secret_record s = {.id = sc.max_id + 1, .created = rta_clock_now()};
    if (!rc && rta_random_bytes(s.secret, sizeof(s.secret)))
        rc = rta_error_set(&err, RTA_ERR_INTERNAL, "CSPRNG unavailable");
    if (!rc) rc = store->ops->add_secret(store, &s, &err);
    OPENSSL_cleanse(&s, sizeof(s));
    if (!rc) {
        if (c->json)
            printf("{\"secretId\":%u}\n", sc.max_id + 1);
        else
            printf("server secret %u added; rtauthd (every node of a cluster) signs new tokens "
                   "with it within a second\n",
                   sc.max_id + 1);
    }
    if (store) store->ops->close(store);
    return rc ? rta_cli_fail(c, &err) : 0;
}
