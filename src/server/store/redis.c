/* store/redis.c: the Redis store's life: open (connect, Functions, settings, KEK mode,
 * epoch), the operations table, close; and the helpers its files share. See store/redis.h.
 * Records: store/redis_records.c; revocations: redis_revocations.c; nonces: redis_nonces.c;
 * the control log: redis_ctl.c.
 *
 * Must never: log or return in a message a secret, a nonce or a password; serve before the
 * connection hook ran (Functions loaded, epoch known); treat an unreadable setting as fine
 * (it is said in the log). */
#include "server/store/redis_internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/crypto.h"
#include "server/log.h"
#include "server/store/redis_functions.h"

/* The KEK marker: this label sealed under the KEK (as the SQLite store's meta.kek_check). */
#define KEK_CHECK_AAD "kek-check"
#define KEK_CHECK_LABEL "rtauth: secrets sealed"
#define NO_KEK_HINT "give its key-encryption key (--kek-file FILE, or RTAUTHD_KEK)"

void rta_redis_options_init(rta_redis_options *o)
{
    memset(o, 0, sizeof(*o));
    o->nonce_retention_ms = 2 * 120000 + 10000;
}

/* ---- argument vectors ---------------------------------------------------------------------- */

void rta__redis_argv_init(rta__redis_argv *a)
{
    memset(a, 0, sizeof(*a));
}

void rta__redis_argv_free(rta__redis_argv *a)
{
    free(a->argv);
    free(a->lens);
    memset(a, 0, sizeof(*a));
}

void rta__redis_arg(rta__redis_argv *a, const char *s, size_t len)
{
    if (a->oom) return;
    if (a->argc == a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        const char **v = realloc(a->argv, (size_t)cap * sizeof(*v));
        if (v) a->argv = v;
        size_t *l = realloc(a->lens, (size_t)cap * sizeof(*l));
        if (l) a->lens = l;
        if (!v || !l) {
            a->oom = 1;
            return;
        }
        a->cap = cap;
    }
    a->argv[a->argc] = s ? s : "";
    a->lens[a->argc] = s ? len : 0;
    a->argc++;
}

void rta__redis_arg_str(rta__redis_argv *a, const char *s)
{
    rta__redis_arg(a, s, s ? strlen(s) : 0);
}

void rta__redis_arg_i64(rta__redis_argv *a, int64_t v)
{
    if (a->numbers_used == (int)(sizeof(a->numbers) / sizeof(a->numbers[0]))) {
        a->oom = 1;
        return;
    }
    char *buf = a->numbers[a->numbers_used++];
    int n = snprintf(buf, sizeof(a->numbers[0]), "%lld", (long long)v);
    rta__redis_arg(a, buf, (size_t)n);
}

redisReply *rta__redis_run(rta_redis_store *s, rta__redis_argv *a, rta_error *err)
{
    if (a->oom) {
        rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        return NULL;
    }
    return rta_redis_conn_command(s->conn, err, a->argc, a->argv, a->lens);
}

int rta__redis_reply_fail(const redisReply *r, const char *what, rta_error *err)
{
    const char *e = rta_redis_reply_error(r);
    if (r && r->type == REDIS_REPLY_ERROR && !strncmp(e, "RTA_EXISTS ", 11))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: %s already exists", e + 11);
    if (r && r->type == REDIS_REPLY_ERROR && !strncmp(e, "RTA_NOTFOUND ", 13))
        return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown %s", e + 13);
    return rta_error_set(err, RTA_ERR_INTERNAL, "store: %s: Redis said %.120s", what, e);
}

static int read_replicas(rta_redis_store *s, rta_error *err);

int rta__redis_wait_replica(rta_redis_store *s, int fresh, rta_error *err)
{
    if (fresh && read_replicas(s, err)) return RTA_ERR_INTERNAL;
    return rta__redis_wait_replica_on(s, s->conn, s->replicas, err);
}

int rta__redis_wait_replica_on(rta_redis_store *s, rta_redis_conn *c, int replicas,
                               rta_error *err)
{
    if (replicas <= 0) return 0;
    int ms = s->o.wait_timeout_ms > 0 ? s->o.wait_timeout_ms : 1000;
    char t[16];
    snprintf(t, sizeof(t), "%d", ms);
    const char *argv[] = {"WAIT", "1", t};
    if (rta_redis_conn_append(c, 3, argv, NULL, err)) return RTA_ERR_INTERNAL;
    redisReply *r = rta_redis_conn_read(c, err);
    if (!r) return RTA_ERR_INTERNAL;
    long long acked = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    if (acked < 1)
        return rta_error_set(err, RTA_ERR_INTERNAL,
                             "store: no replica confirmed the write within %d ms", ms);
    return 0;
}

int rta__redis_smembers_sorted(rta_redis_store *s, const char *key, rta__redis_strings *out,
                               rta_error *err)
{
    memset(out, 0, sizeof(*out));
    redisReply *r = rta_redis_conn_commandf(s->conn, err, "SMEMBERS %s", key);
    if (!r) return RTA_ERR_INTERNAL;
    if (r->type != REDIS_REPLY_ARRAY) {
        int rc = rta__redis_reply_fail(r, "SMEMBERS", err);
        freeReplyObject(r);
        return rc;
    }
    out->v = calloc(r->elements ? r->elements : 1, sizeof(char *));
    int rc = out->v ? 0 : rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    for (size_t i = 0; !rc && i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) continue;
        if (!(out->v[out->n] = strndup(r->element[i]->str, r->element[i]->len)))
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        else
            out->n++;
    }
    freeReplyObject(r);
    if (rc) {
        rta__redis_strings_free(out);
        return rc;
    }
    for (size_t i = 1; i < out->n; i++) /* insertion sort: listings are small */
        for (size_t j = i; j > 0 && strcmp(out->v[j - 1], out->v[j]) > 0; j--) {
            char *tmp = out->v[j];
            out->v[j] = out->v[j - 1];
            out->v[j - 1] = tmp;
        }
    return 0;
}

void rta__redis_strings_free(rta__redis_strings *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* ---- the epoch ----------------------------------------------------------------------------- */

/* The id this store proposes should it have to make the epoch: never one already used. */
static void new_candidate(rta_redis_store *s)
{
    unsigned char rnd[8] = {0};
    rta_random_bytes(rnd, sizeof(rnd)); /* an id, not a secret: a failure leaves zeros */
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(s->epoch_candidate + 2 * i, 3, "%02x", rnd[i]);
}

int rta__redis_append_epoch(rta_redis_store *s, rta_error *err)
{
    const char *argv[] = {"FCALL", RTA_REDIS_FN("rt_epoch"), "1", RTA_RK_EPOCH, s->epoch_candidate,
                          s->have_epoch ? "1" : "0"};
    return rta_redis_conn_append(s->conn, 6, argv, NULL, err);
}

int rta__redis_run_epoch(rta_redis_store *s, rta_error *err)
{
    int rc = rta__redis_append_epoch(s, err);
    if (rc) return rc;
    redisReply *r = rta_redis_conn_read(s->conn, err);
    if (!r) return RTA_ERR_INTERNAL;
    rc = rta__redis_take_epoch(s, r, err);
    freeReplyObject(r);
    return rc;
}

int rta__redis_take_epoch(rta_redis_store *s, const redisReply *r, rta_error *err)
{
    rta_rk_epoch e;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        rta_rk_epoch_parse(r->element[0]->str, r->element[0]->len, &e))
        return rta__redis_reply_fail(r, "epoch", err);
    int created = r->element[1]->type == REDIS_REPLY_INTEGER && r->element[1]->integer == 1;
    if (s->have_epoch && strcmp(e.id, s->epoch.id) != 0) {
        s->epoch_changes++;
        s->reseed_pending = 1;
        rta_log_event(RTA_LOG_ERROR, "store.error", NULL, "redis: the cluster's epoch changed (%s -> %s): Redis lost its data; "
                      "writing this node's apps, keys, secrets and revocations back",
                      s->epoch.id, e.id);
    } else if (!s->have_epoch && created) {
        rta_log_event(RTA_LOG_INFO, "store.state", NULL, "redis: new cluster epoch %s", e.id);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (e.loss && (!s->have_epoch || strcmp(e.id, s->epoch.id) != 0) &&
        now < e.birth + s->o.nonce_retention_ms)
        rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "redis: epoch %s was made after a data loss: for %lld s, a TokenRequest "
                     "whose window began before it is refused (40105): its nonce's marker may "
                     "have been lost",
                     e.id, (long long)(s->o.nonce_retention_ms / 1000));
    s->epoch = e;
    s->have_epoch = 1;
    if (!strcmp(e.id, s->epoch_candidate)) new_candidate(s); /* ours: propose another next */
    /* RFC 4120's rule, narrowed: only a TokenRequest whose window began before the loss can
     * have been used before it; its nonce expires within R of the epoch's birth. */
    s->nonce_floor = e.loss ? e.birth + s->o.nonce_retention_ms : 0;
    return 0;
}

/* ---- the connection hook: Functions, settings, replicas, epoch ------------------------------ */

/* CONFIG GET name into out ("" when unreadable). */
static void config_get(rta_redis_conn *c, const char *name, char *out, size_t size)
{
    rta_error err;
    out[0] = '\0';
    const char *argv[] = {"CONFIG", "GET", name};
    if (rta_redis_conn_append(c, 3, argv, NULL, &err)) return;
    redisReply *r = rta_redis_conn_read(c, &err);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING)
        snprintf(out, size, "%s", r->element[1]->str);
    if (r) freeReplyObject(r);
}

/* Durability needs the AOF; eviction would silently drop nonces and revocations. Refused at
 * start (40003); after a reconnect (a failover to a differently configured replica) said in
 * the log, since refusing then would stop the whole cluster. */
int rta__redis_check_settings(rta_redis_store *s, rta_redis_conn *c, const char *label,
                              rta_error *err)
{
    char aof[16], fsync[16], maxmem[32], policy[32];
    config_get(c, "appendonly", aof, sizeof(aof));
    config_get(c, "appendfsync", fsync, sizeof(fsync));
    config_get(c, "maxmemory", maxmem, sizeof(maxmem));
    config_get(c, "maxmemory-policy", policy, sizeof(policy));
    if (!aof[0] && !policy[0]) {
        rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "%s: cannot read the server's settings (CONFIG GET refused): make sure "
                     "appendonly is yes and maxmemory-policy is noeviction (docs/cluster.md)",
                      label);
        return 0;
    }
    const char *bad = NULL;
    if (strcmp(aof, "yes") != 0)
        bad = "appendonly is not yes: an acknowledged revocation or nonce would not survive a "
              "Redis restart";
    else if (strcmp(maxmem, "0") != 0 && strcmp(policy, "noeviction") != 0)
        bad = "maxmemory is set with an evicting maxmemory-policy: Redis could drop nonces and "
              "revocations; set maxmemory-policy noeviction";
    if (bad) {
        if (!s->opened) return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "%s: %s", label, bad);
        rta_log_event(RTA_LOG_ERROR, "store.error", NULL, "%s: %s", label, bad);
    }
    if (strcmp(policy, "noeviction") != 0 && !strcmp(maxmem, "0"))
        rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "%s: maxmemory-policy is %s; noeviction is safer should a maxmemory "
                     "ever be set", label, policy);
    if (strcmp(fsync, "always") != 0 && !s->opened)
        rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "%s: appendfsync is %s: a host crash may lose the last second of "
                     "acknowledged writes (a process crash loses none); use always for exact "
                     "durability (docs/cluster.md)",
                     label, fsync[0] ? fsync : "unknown");
    return 0;
}

int rta__redis_read_replicas(rta_redis_conn *c, int *replicas, rta_error *err)
{
    redisReply *r = rta_redis_conn_commandf(c, err, "ROLE");
    if (!r) return RTA_ERR_INTERNAL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
        r->element[2]->type == REDIS_REPLY_ARRAY)
        *replicas = (int)r->element[2]->elements;
    freeReplyObject(r);
    return 0;
}

static int read_replicas(rta_redis_store *s, rta_error *err)
{
    return rta__redis_read_replicas(s->conn, &s->replicas, err);
}

static int on_connect(void *ctx, rta_redis_conn *c, rta_error *err)
{
    rta_redis_store *s = ctx;
    (void)c;
    const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", rta_redis_functions_source};
    redisReply *r = rta_redis_conn_command(s->conn, err, 4, argv, NULL);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = r->type == REDIS_REPLY_ERROR ? rta__redis_reply_fail(r, "FUNCTION LOAD", err) : 0;
    freeReplyObject(r);
    if (rc) return rc;
    if (!s->o.node_id[0]) return 0;
    if ((rc = rta__redis_check_settings(s, s->conn, "Redis", err)) ||
        (rc = read_replicas(s, err)))
        return rc;
    return rta__redis_run_epoch(s, err);
}

/* ---- the KEK mode -------------------------------------------------------------------------- */

/* Seals every plaintext key secret and server secret in one MULTI/EXEC guarded by WATCH (a
 * concurrent writer makes it start again), and sets the marker. */
static int seal_in_place(rta_redis_store *s, rta_error *err)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        redisReply *r = rta_redis_conn_commandf(s->conn, err, "WATCH %s %s %s", RTA_RK_VERSION,
                                                RTA_RK_KEK, RTA_RK_SECRETS);
        if (!r) return RTA_ERR_INTERNAL;
        freeReplyObject(r);
        rta__redis_strings names;
        int rc = rta__redis_smembers_sorted(s, RTA_RK_KEYS, &names, err);
        if (rc) return rc;
        /* read: every key's secret, then the secrets hash */
        for (size_t i = 0; !rc && i < names.n; i++) {
            char k[RTA_RK_MAX];
            rta_rk_key(k, sizeof(k), names.v[i]);
            rc = rta_redis_conn_appendf(s->conn, err, "HGET %s secret", k);
        }
        if (!rc) rc = rta_redis_conn_appendf(s->conn, err, "HGETALL %s", RTA_RK_SECRETS);
        redisReply **got = calloc(names.n + 1, sizeof(*got));
        if (!got && !rc) rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        for (size_t i = 0; !rc && i <= names.n; i++)
            if (!(got[i] = rta_redis_conn_read(s->conn, err))) rc = RTA_ERR_INTERNAL;
        /* write: MULTI, sealed values, the marker, ver, EXEC */
        char (*sealed_keys)[RTA_SECRET_BOX_TEXT_SIZE(RTA_KEY_SECRET_MAX)] = NULL;
        unsigned char(*sealed_secrets)[RTA_SERVER_SECRET_LEN + RTA_SECRET_BOX_OVERHEAD] = NULL;
        if (!rc) {
            sealed_keys = calloc(names.n + 1, sizeof(*sealed_keys));
            sealed_secrets = calloc(got[names.n]->elements / 2 + 1, sizeof(*sealed_secrets));
            if (!sealed_keys || !sealed_secrets)
                rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        }
        if (!rc) rc = rta_redis_conn_appendf(s->conn, err, "MULTI");
        for (size_t i = 0; !rc && i < names.n; i++) {
            redisReply *v = got[i];
            if (v->type != REDIS_REPLY_STRING || rta_secret_box_is_sealed_text(v->str)) continue;
            char aad[RTA_KEY_NAME_MAX + 8];
            snprintf(aad, sizeof(aad), "key:%s", names.v[i]);
            rc = rta_secret_box_seal_text(s->box, aad, v->str, v->len, sealed_keys[i],
                                          sizeof(sealed_keys[i]), err);
            char k[RTA_RK_MAX];
            rta_rk_key(k, sizeof(k), names.v[i]);
            if (!rc) rc = rta_redis_conn_appendf(s->conn, err, "HSET %s secret %s", k,
                                                 sealed_keys[i]);
        }
        redisReply *h = rc ? NULL : got[names.n];
        for (size_t i = 0, n = 0; h && !rc && i + 1 < h->elements; i += 2) {
            redisReply *f = h->element[i], *v = h->element[i + 1];
            if (f->type != REDIS_REPLY_STRING || strncmp(f->str, "s:", 2) != 0 ||
                v->len != RTA_SERVER_SECRET_LEN)
                continue; /* sealed already, or a c:<id> field */
            char aad[32];
            snprintf(aad, sizeof(aad), "secret:%s", f->str + 2);
            rc = rta_secret_box_seal(s->box, aad, v->str, v->len, sealed_secrets[n], err);
            if (!rc)
                rc = rta_redis_conn_appendf(s->conn, err, "HSET %s %b %b", RTA_RK_SECRETS, f->str,
                                            f->len, sealed_secrets[n],
                                            (size_t)(RTA_SERVER_SECRET_LEN +
                                                     RTA_SECRET_BOX_OVERHEAD));
            n++;
        }
        unsigned char marker[sizeof(KEK_CHECK_LABEL) - 1 + RTA_SECRET_BOX_OVERHEAD];
        if (!rc)
            rc = rta_secret_box_seal(s->box, KEK_CHECK_AAD, KEK_CHECK_LABEL,
                                     sizeof(KEK_CHECK_LABEL) - 1, marker, err);
        if (!rc)
            rc = rta_redis_conn_appendf(s->conn, err, "SET %s %b", RTA_RK_KEK, marker,
                                        sizeof(marker));
        if (!rc) rc = rta_redis_conn_appendf(s->conn, err, "INCR %s", RTA_RK_VERSION);
        if (!rc) rc = rta_redis_conn_appendf(s->conn, err, "EXEC");
        size_t queued = 0;
        if (!rc) { /* MULTI's +OK, each QUEUED, then EXEC's array (nil: WATCH fired) */
            for (;;) {
                redisReply *q = rta_redis_conn_read(s->conn, err);
                if (!q) {
                    rc = RTA_ERR_INTERNAL;
                    break;
                }
                int is_exec = q->type == REDIS_REPLY_ARRAY || q->type == REDIS_REPLY_NIL;
                int aborted = q->type == REDIS_REPLY_NIL;
                if (q->type == REDIS_REPLY_ERROR) rc = rta__redis_reply_fail(q, "seal", err);
                freeReplyObject(q);
                if (is_exec) {
                    if (aborted && !rc) rc = -1; /* try again */
                    break;
                }
                if (rc) break;
                queued++;
            }
        }
        if (sealed_keys) OPENSSL_cleanse(sealed_keys, (names.n + 1) * sizeof(*sealed_keys));
        free(sealed_keys);
        free(sealed_secrets);
        for (size_t i = 0; got && i <= names.n; i++)
            if (got[i]) {
                if (got[i]->type == REDIS_REPLY_STRING) OPENSSL_cleanse(got[i]->str, got[i]->len);
                freeReplyObject(got[i]);
            }
        free(got);
        size_t n_keys = names.n;
        rta__redis_strings_free(&names);
        if (rc == 0) {
            rta_log_event(RTA_LOG_INFO, "store.state", NULL, "redis: key secrets and server secrets sealed under the KEK "
                         "(%zu keys)", n_keys);
            return 0;
        }
        if (rc != -1) {
            rta_redis_conn_drop(s->conn); /* leave no MULTI or WATCH behind */
            return rc;
        }
    }
    return rta_error_set(err, RTA_ERR_INTERNAL,
                         "store: Redis kept changing while its secrets were being sealed");
}

static int check_kek(rta_redis_store *s, rta_error *err)
{
    redisReply *r = rta_redis_conn_commandf(s->conn, err, "GET %s", RTA_RK_KEK);
    if (!r) return RTA_ERR_INTERNAL;
    int rc = 0;
    if (r->type == REDIS_REPLY_STRING) {
        if (!s->box) {
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                               "store: the secrets in Redis are encrypted: " NO_KEK_HINT);
        } else {
            unsigned char label[sizeof(KEK_CHECK_LABEL)];
            rta_error why;
            if (r->len != sizeof(KEK_CHECK_LABEL) - 1 + RTA_SECRET_BOX_OVERHEAD ||
                rta_secret_box_open(s->box, KEK_CHECK_AAD, (const unsigned char *)r->str, r->len,
                                    label, &why))
                rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                   "store: the secrets in Redis were encrypted with another KEK");
        }
        freeReplyObject(r);
        return rc;
    }
    freeReplyObject(r);
    return s->box ? seal_in_place(s, err) : 0;
}

/* ---- open, close ----------------------------------------------------------------------- */

static void rd_close(rta_store *st)
{
    if (!st) return;
    rta_redis_store *s = (rta_redis_store *)st;
    rta__redis_shards_close(s);
    rta_redis_conn_free(s->conn);
    rta_secret_box_free(s->box);
    OPENSSL_cleanse(s->secrets, sizeof(s->secrets));
    rta_redis_target_clear(&s->o.target);
    free(s);
}

static const rta_store_ops redis_ops = {
    .create_app = rta__redis_create_app,
    .delete_app = rta__redis_delete_app,
    .add_key = rta__redis_add_key,
    .set_app_limits = rta__redis_set_app_limits,
    .set_key_enabled = rta__redis_set_key_enabled,
    .set_key_capability = rta__redis_set_key_capability,
    .list_apps = rta__redis_list_apps,
    .list_keys = rta__redis_list_keys,
    .add_secret = rta__redis_add_secret,
    .list_secrets = rta__redis_list_secrets,
    .add_revocations = rta__redis_add_revocations,
    .list_revocations = rta__redis_list_revocations,
    .add_nonces = rta__redis_add_nonces,
    .add_nonces_local = NULL, /* a network round trip: the store thread, in batches */
    .list_nonces = rta__redis_list_nonces,
    .purge = rta__redis_purge,
    .add_stats = rta__redis_add_stats,
    .list_stats = rta__redis_list_stats,
    .poll_changes = rta__redis_poll_changes,
    .close = rd_close,
};

int rta_store_is_redis(const rta_store *s)
{
    return s && s->ops == &redis_ops;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rta_store_redis_open(const rta_redis_options *o, rta_secret_box *kek, rta_store **out,
                         rta_error *err)
{
    *out = NULL;
    rta_redis_store *s = calloc(1, sizeof(*s));
    if (!s) {
        rta_secret_box_free(kek);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    s->base.ops = &redis_ops;
    s->o = *o;
    s->box = kek;
    if (s->o.nonce_retention_ms <= 0) s->o.nonce_retention_ms = 250000;
    if (s->o.ctl_log_max <= 0) s->o.ctl_log_max = 100000;
    new_candidate(s);
    if (s->o.node_id[0]) rta_rk_node_channel(s->node_channel, sizeof(s->node_channel), o->node_id);
    rta_redis_conn_options co = {.target = o->target,
                                 .connect_timeout_ms = o->connect_timeout_ms,
                                 .command_timeout_ms = o->command_timeout_ms,
                                 .on_connect = on_connect,
                                 .ctx = s};
    int rc = rta_redis_conn_create(&co, &s->conn, err);
    rta_redis_target_clear(&co.target);
    /* keep trying while Redis starts (a node may come up first), not past the wait */
    int64_t deadline = mono_ms() + (o->start_wait_ms > 0 ? o->start_wait_ms : 0);
    while (!rc && (rc = rta_redis_conn_ensure(s->conn, err)) == RTA_ERR_INTERNAL &&
           mono_ms() < deadline)
        usleep(100 * 1000);
    if (!rc) rc = check_kek(s, err);
    if (!rc) rc = rta__redis_read_version(s, s->ver, err);
    if (!rc) rc = rta__redis_shards_open(s, o, err);
    s->o.shards = NULL; /* borrowed for the call: the shards' connections hold copies */
    s->o.shard_count = 0;
    if (rc) {
        rd_close(&s->base);
        return rc;
    }
    s->opened = 1;
    *out = &s->base;
    return 0;
}

/* ---- small accessors ------------------------------------------------------------------------ */

void rta_store_redis_primary(rta_store *st, rta_redis_addr *out, unsigned *generation)
{
    rta_redis_conn_primary(((rta_redis_store *)st)->conn, out, generation);
}

const rta_redis_target *rta_store_redis_target(const rta_store *st)
{
    return rta_redis_conn_target(((const rta_redis_store *)st)->conn);
}

int rta_store_redis_reseed_pending(const rta_store *st)
{
    return ((const rta_redis_store *)st)->reseed_pending;
}

void rta_store_redis_reseed_done(rta_store *st)
{
    ((rta_redis_store *)st)->reseed_pending = 0;
}
