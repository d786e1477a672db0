/* store/sqlite.c: the embedded SQLite implementation of store.h (the default store): one file,
 * dir/rtauth.db, shared with the rtauth CLI, which writes it from another process.
 *
 * Every write returns only after its transaction committed (WAL, synchronous=FULL), so what
 * a caller acknowledges survives a kill -9 and a power loss. Statements are prepared once at
 * open and reused.
 *
 * Must never: acknowledge a write before COMMIT returned, put a bound value (a secret, a
 * nonce) into an error message, or be called from the event loop (every call blocks on disk).
 * List callbacks must not call back into the store: the listing statement is still running.
 *
 * Used nonces are not in the database but in store/nonce_journal.c's segment files: as rows (one
 * fsync-ed commit per batch, then checkpoints) they capped requestToken at ~16-19k/s with
 * 10-40 ms stalls. Measured for batches of 100 nonces on the dev VM: FULL 3.3-4.0 ms/batch,
 * NORMAL 0.72-0.80 ms/batch; a journal append is one write().
 *
 * With a KEK (rta_store_sqlite_open_kek), key secrets and server secrets are sealed on their
 * way in and opened on their way out (store/sqlite_kek.h); nothing else changes. */
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/store/store.h"
#include "server/store/nonce_journal.h"
#include "server/store/sqlite_kek.h"
#include "server/store/sqlite_schema.h"

enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_APP_INSERT,
    ST_APP_DELETE,
    ST_APP_LIST,
    ST_APP_SET_LIMITS,
    ST_KEY_INSERT,
    ST_KEY_SET_ENABLED,
    ST_KEY_SET_CAPABILITY,
    ST_KEY_LIST,
    ST_SECRET_INSERT,
    ST_SECRET_LIST,
    ST_REV_UPSERT,
    ST_REV_LIST,
    ST_REV_PURGE,
    ST_REV_DELETE_APP,
    ST_ADMIN_VERSION,
    ST_STATS_UPSERT,
    ST_STATS_LIST,
    ST_STATS_PURGE,
    ST_STATS_DELETE_APP,
    ST_COUNT
};

/* Key names are "appId.keyId" and appIds contain no '.', so the key names of an app are
 * exactly the range ["appId.", "appId/") ('/' follows '.' in ASCII): an index range, unlike
 * LIKE, which would also treat '_' in an appId as a wildcard. */
#define APP_KEYS_RANGE "key_name >= ?1 || '.' AND key_name < ?1 || '/'"

static const char *const sql_text[ST_COUNT] = {
    /* IMMEDIATE takes the write lock up front, so a busy CLI makes us wait (busy_timeout)
     * instead of failing with SQLITE_BUSY when a read would have to turn into a write. */
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_APP_INSERT] = "INSERT INTO apps(app_id, account_id, created, sandbox, max_connections,"
                      " max_connections_per_client) VALUES(?1,?2,?3,?4,?5,?6)",
    [ST_APP_DELETE] = "DELETE FROM apps WHERE app_id = ?1",
    [ST_APP_LIST] = "SELECT app_id, account_id, created, sandbox, max_connections,"
                    " max_connections_per_client FROM apps ORDER BY app_id",
    /* A negative value keeps that column as it is. */
    [ST_APP_SET_LIMITS] = "UPDATE apps SET max_connections = iif(?2 < 0, max_connections, ?2),"
                          " max_connections_per_client ="
                          "   iif(?3 < 0, max_connections_per_client, ?3)"
                          " WHERE app_id = ?1",
    [ST_KEY_INSERT] = "INSERT INTO keys(key_name, app_id, secret, capability, revocable_tokens,"
                      " enabled, created) VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [ST_KEY_SET_ENABLED] = "UPDATE keys SET enabled = ?2 WHERE key_name = ?1",
    [ST_KEY_SET_CAPABILITY] = "UPDATE keys SET capability = ?2 WHERE key_name = ?1",
    [ST_KEY_LIST] = "SELECT key_name, app_id, secret, capability, revocable_tokens, enabled,"
                    " created FROM keys ORDER BY key_name",
    [ST_SECRET_INSERT] = "INSERT INTO secrets(id, secret, created) VALUES(?1,?2,?3)",
    [ST_SECRET_LIST] = "SELECT id, secret, created FROM secrets ORDER BY id",
    /* The same (key, target, issuedBefore) twice: keep the earlier start and the later end,
     * so the merged rule revokes at least what each of the two did. */
    [ST_REV_UPSERT] = "INSERT INTO revocations(key_name, target, issued_before, applies_at,"
                      " expires) VALUES(?1,?2,?3,?4,?5)"
                      " ON CONFLICT(key_name, target, issued_before) DO UPDATE SET"
                      " applies_at = min(applies_at, excluded.applies_at),"
                      " expires = max(expires, excluded.expires)",
    [ST_REV_LIST] = "SELECT key_name, target, issued_before, applies_at, expires FROM revocations"
                    " WHERE expires > ?1 ORDER BY key_name, target, issued_before",
    [ST_REV_PURGE] = "DELETE FROM revocations WHERE expires <= ?1",
    [ST_REV_DELETE_APP] = "DELETE FROM revocations WHERE " APP_KEYS_RANGE,
    /* One statement decides and writes: a live row is left alone (0 rows changed = replay);
     * a missing or expired one is inserted or refreshed (1 row changed). */
    /* Moves when another connection commits; never for our own writes. */
    [ST_ADMIN_VERSION] = "SELECT admin_version FROM meta WHERE id = 1",
    /* Statistics (schema v5): the columns in rta_stats_field order; sums add, peaks max. */
    [ST_STATS_UPSERT] = "INSERT INTO stats(app_id, minute, msg_in_rt, msg_in_rt_data, msg_in_rest,"
                        " msg_in_rest_data, msg_out, msg_out_data, conn_opened, chan_opened,"
                        " token_ok, token_failed, token_refused, conn_peak, chan_peak, api_ok,"
                        " api_failed, api_refused)"
                        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)"
                        " ON CONFLICT(app_id, minute) DO UPDATE SET"
                        " msg_in_rt = msg_in_rt + excluded.msg_in_rt,"
                        " msg_in_rt_data = msg_in_rt_data + excluded.msg_in_rt_data,"
                        " msg_in_rest = msg_in_rest + excluded.msg_in_rest,"
                        " msg_in_rest_data = msg_in_rest_data + excluded.msg_in_rest_data,"
                        " msg_out = msg_out + excluded.msg_out,"
                        " msg_out_data = msg_out_data + excluded.msg_out_data,"
                        " conn_opened = conn_opened + excluded.conn_opened,"
                        " chan_opened = chan_opened + excluded.chan_opened,"
                        " token_ok = token_ok + excluded.token_ok,"
                        " token_failed = token_failed + excluded.token_failed,"
                        " token_refused = token_refused + excluded.token_refused,"
                        " api_ok = api_ok + excluded.api_ok,"
                        " api_failed = api_failed + excluded.api_failed,"
                        " api_refused = api_refused + excluded.api_refused,"
                        " conn_peak = max(conn_peak, excluded.conn_peak),"
                        " chan_peak = max(chan_peak, excluded.chan_peak)",
    [ST_STATS_LIST] = "SELECT minute, msg_in_rt, msg_in_rt_data, msg_in_rest, msg_in_rest_data,"
                      " msg_out, msg_out_data, conn_opened, chan_opened, token_ok, token_failed,"
                      " token_refused, conn_peak, chan_peak, api_ok, api_failed, api_refused"
                      " FROM stats WHERE app_id = ?1 AND minute >= ?2 AND minute <= ?3"
                      " ORDER BY minute",
    [ST_STATS_PURGE] = "DELETE FROM stats WHERE minute < ?1",
    [ST_STATS_DELETE_APP] = "DELETE FROM stats WHERE app_id = ?1",
};

typedef struct rta_sqlite_store {
    rta_store base; /* first, so an rta_store * is an rta_sqlite_store * */
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    int64_t admin_version; /* at open or the last poll_changes */
    rta_nonce_journal *journal; /* used nonces live here, not in the database */
    rta_secret_box *box; /* owned; NULL: secrets stored as they are */
} rta_sqlite_store;

static rta_sqlite_store *impl(rta_store *s)
{
    return (rta_sqlite_store *)s;
}


/* sqlite3_errmsg names tables and constraints, never bound values: safe to show. */
static int db_fail(rta_sqlite_store *s, rta_error *err, const char *what)
{
    return rta_error_set(err, RTA_ERR_INTERNAL, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

/* Unbinding drops our pointers to the caller's strings (bound SQLITE_STATIC, without a copy,
 * so secrets are not duplicated into SQLite's heap by the binding). */
static void done(sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

static int run(rta_sqlite_store *s, int id)
{
    int rc = sqlite3_step(s->st[id]);
    done(s->st[id]);
    return rc;
}

static void rollback(rta_sqlite_store *s)
{
    if (!sqlite3_get_autocommit(s->db)) run(s, ST_ROLLBACK);
}

static int begin(rta_sqlite_store *s, rta_error *err)
{
    return run(s, ST_BEGIN) == SQLITE_DONE ? 0 : db_fail(s, err, "begin");
}

/* Ends a transaction: COMMIT when rc is 0 (the data is durable when this returns 0),
 * otherwise ROLLBACK, keeping the first error. */
static int finish(rta_sqlite_store *s, int rc, rta_error *err)
{
    if (rc == 0 && run(s, ST_COMMIT) != SQLITE_DONE) rc = db_fail(s, err, "commit");
    if (rc != 0) rollback(s);
    return rc;
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
    sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

/* Steps a write; constraint failures become Ably codes naming only public identifiers. */
static int write_row(rta_sqlite_store *s, int id, const char *what, const char *name,
                     rta_error *err)
{
    int rc = sqlite3_step(s->st[id]);
    int ret = 0;
    if (rc != SQLITE_DONE) {
        int ext = sqlite3_extended_errcode(s->db);
        if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
            ret = rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: %s %s already exists", what,
                                name);
        else if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            ret = rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown app for %s %s", what, name);
        else
            ret = db_fail(s, err, what);
    }
    done(s->st[id]);
    return ret;
}

/* delete_app finds an app's revocations and nonces by key-name prefix, so a key must be
 * named "<its appId>.<keyId>". */
static int check_key(const rta_key_record *k, const char *app_id, rta_error *err)
{
    size_t n = app_id ? strlen(app_id) : 0;
    if (!k->key_name || !k->app_id || !app_id || strcmp(k->app_id, app_id) != 0 ||
        strncmp(k->key_name, app_id, n) != 0 || k->key_name[n] != '.' || !k->key_name[n + 1])
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "store: key %s does not belong to app %s",
                             k->key_name ? k->key_name : "(none)", app_id ? app_id : "(none)");
    return 0;
}

static int insert_key(rta_sqlite_store *s, const rta_key_record *k, rta_error *err)
{
    char sealed[RTA_KEK_KEY_SECRET_SIZE];
    const char *stored;
    int rc = rta__kek_seal_key_secret(s->box, k->key_name, k->secret, sealed, &stored, err);
    if (rc) return rc;
    sqlite3_stmt *q = s->st[ST_KEY_INSERT];
    bind_text(q, 1, k->key_name);
    bind_text(q, 2, k->app_id);
    bind_text(q, 3, stored);
    bind_text(q, 4, k->capability);
    sqlite3_bind_int(q, 5, k->revocable_tokens != 0);
    sqlite3_bind_int(q, 6, k->enabled != 0);
    sqlite3_bind_int64(q, 7, k->created);
    return write_row(s, ST_KEY_INSERT, "key", k->key_name, err);
}

static int sq_create_app(rta_store *st, const rta_app_record *app, const rta_key_record *keys,
                         size_t key_count, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    if (!app->app_id || strchr(app->app_id, '.'))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid app id");
    for (size_t i = 0; i < key_count; i++) {
        int rc = check_key(&keys[i], app->app_id, err);
        if (rc) return rc;
    }
    int rc = begin(s, err);
    if (rc) return rc;
    sqlite3_stmt *q = s->st[ST_APP_INSERT];
    bind_text(q, 1, app->app_id);
    bind_text(q, 2, app->account_id);
    sqlite3_bind_int64(q, 3, app->created);
    sqlite3_bind_int(q, 4, app->sandbox != 0);
    sqlite3_bind_int64(q, 5, app->max_connections);
    sqlite3_bind_int64(q, 6, app->max_connections_per_client);
    rc = write_row(s, ST_APP_INSERT, "app", app->app_id, err);
    for (size_t i = 0; rc == 0 && i < key_count; i++)
        rc = insert_key(s, &keys[i], err);
    return finish(s, rc, err);
}

static int sq_delete_app(rta_store *st, const char *app_id, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    if (!app_id) return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown app");
    int rc = begin(s, err);
    if (rc) return rc;
    /* The app's used nonces stay in the journal until they expire (minutes): harmless, as
     * its key names are gone and never reused (random ids). */
    static const int steps[] = {ST_REV_DELETE_APP, ST_STATS_DELETE_APP, ST_APP_DELETE};
    for (size_t i = 0; rc == 0 && i < sizeof(steps) / sizeof(steps[0]); i++) {
        bind_text(s->st[steps[i]], 1, app_id);
        if (run(s, steps[i]) != SQLITE_DONE) rc = db_fail(s, err, "delete app");
    }
    /* Keys go with the app (ON DELETE CASCADE); changes() counts only the apps row. */
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown app %s", app_id);
    return finish(s, rc, err);
}

static int sq_add_key(rta_store *st, const rta_key_record *key, rta_error *err)
{
    int rc = check_key(key, key->app_id, err);
    return rc ? rc : insert_key(impl(st), key, err); /* one statement: its own transaction */
}

static int sq_set_app_limits(rta_store *st, const char *app_id, long long max_connections,
                             long long max_connections_per_client, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    if (!app_id) return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown app");
    sqlite3_stmt *q = s->st[ST_APP_SET_LIMITS];
    bind_text(q, 1, app_id);
    sqlite3_bind_int64(q, 2, max_connections);
    sqlite3_bind_int64(q, 3, max_connections_per_client);
    if (run(s, ST_APP_SET_LIMITS) != SQLITE_DONE) return db_fail(s, err, "set app limits");
    if (sqlite3_changes(s->db) == 0)
        return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown app %s", app_id);
    return 0;
}

static int sq_set_key_enabled(rta_store *st, const char *key_name, int enabled, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    if (!key_name) return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown key");
    sqlite3_stmt *q = s->st[ST_KEY_SET_ENABLED];
    bind_text(q, 1, key_name);
    sqlite3_bind_int(q, 2, enabled != 0);
    if (run(s, ST_KEY_SET_ENABLED) != SQLITE_DONE) return db_fail(s, err, "set key enabled");
    if (sqlite3_changes(s->db) == 0)
        return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown key %s", key_name);
    return 0;
}

static int sq_set_key_capability(rta_store *st, const char *key_name, const char *capability,
                                 rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    if (!key_name || !capability)
        return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown key");
    sqlite3_stmt *q = s->st[ST_KEY_SET_CAPABILITY];
    bind_text(q, 1, key_name);
    bind_text(q, 2, capability);
    if (run(s, ST_KEY_SET_CAPABILITY) != SQLITE_DONE)
        return db_fail(s, err, "set key capability");
    if (sqlite3_changes(s->db) == 0)
        return rta_error_set(err, RTA_ERR_NOT_FOUND, "store: unknown key %s", key_name);
    return 0;
}

static const char *text(sqlite3_stmt *q, int col)
{
    return (const char *)sqlite3_column_text(q, col);
}

/* Ends a listing: SQLITE_DONE is success; anything else (including a NULL text column, which
 * only SQLite running out of memory produces for our NOT NULL columns) is 50000. */
static int end_list(rta_sqlite_store *s, sqlite3_stmt *q, int rc, const char *what, rta_error *err)
{
    int ret = rc == SQLITE_DONE ? 0 : db_fail(s, err, what);
    done(q);
    return ret;
}

static int sq_list_apps(rta_store *st, void (*cb)(void *ctx, const rta_app_record *app), void *ctx,
                        rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->st[ST_APP_LIST];
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        rta_app_record a = {text(q, 0), text(q, 1), sqlite3_column_int64(q, 2),
                            sqlite3_column_int(q, 3), sqlite3_column_int64(q, 4),
                            sqlite3_column_int64(q, 5)};
        if (!a.app_id || !a.account_id) break;
        cb(ctx, &a);
    }
    return end_list(s, q, rc, "list apps", err);
}

static int sq_list_keys(rta_store *st, void (*cb)(void *ctx, const rta_key_record *key), void *ctx,
                        rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->st[ST_KEY_LIST];
    char secret[RTA_KEY_SECRET_MAX + 1];
    int rc, ret = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        rta_key_record k = {text(q, 0),
                            text(q, 1),
                            text(q, 2),
                            text(q, 3),
                            sqlite3_column_int(q, 4),
                            sqlite3_column_int(q, 5),
                            sqlite3_column_int64(q, 6)};
        if (!k.key_name || !k.app_id || !k.secret || !k.capability) break;
        if ((ret = rta__kek_open_key_secret(s->box, k.key_name, k.secret, secret, err))) break;
        k.secret = secret;
        cb(ctx, &k);
    }
    OPENSSL_cleanse(secret, sizeof(secret));
    if (ret) {
        done(q);
        return ret;
    }
    return end_list(s, q, rc, "list keys", err);
}

static int sq_add_secret(rta_store *st, const rta_secret_record *secret, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    unsigned char sealed[RTA_KEK_SERVER_SECRET_SIZE];
    const unsigned char *stored;
    int stored_len;
    int rc = rta__kek_seal_server_secret(s->box, secret->id, secret->secret, sealed, &stored,
                                         &stored_len, err);
    if (rc) return rc;
    sqlite3_stmt *q = s->st[ST_SECRET_INSERT];
    sqlite3_bind_int64(q, 1, secret->id);
    sqlite3_bind_blob(q, 2, stored, stored_len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, secret->created);
    char name[16];
    snprintf(name, sizeof(name), "%u", (unsigned)secret->id);
    return write_row(s, ST_SECRET_INSERT, "secret", name, err);
}

static int sq_list_secrets(rta_store *st, void (*cb)(void *ctx, const rta_secret_record *secret),
                           void *ctx, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->st[ST_SECRET_LIST];
    int rc, ret = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(q, 1);
        if (!blob) break;
        rta_secret_record r = {
            (uint32_t)sqlite3_column_int64(q, 0), {0}, sqlite3_column_int64(q, 2)};
        ret = rta__kek_open_server_secret(s->box, r.id, blob, sqlite3_column_bytes(q, 1),
                                          r.secret, err);
        if (!ret) cb(ctx, &r);
        explicit_bzero(r.secret, sizeof(r.secret)); /* no copy of a secret left on the stack */
        if (ret) break;
    }
    if (ret) {
        done(q);
        return ret;
    }
    return end_list(s, q, rc, "list secrets", err);
}

static int sq_add_revocations(rta_store *st, const rta_revocation_record *r, size_t count,
                              rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    if (count == 0) return 0;
    int rc = begin(s, err);
    sqlite3_stmt *q = s->st[ST_REV_UPSERT];
    for (size_t i = 0; rc == 0 && i < count; i++) {
        bind_text(q, 1, r[i].key_name);
        bind_text(q, 2, r[i].target);
        sqlite3_bind_int64(q, 3, r[i].issued_before);
        sqlite3_bind_int64(q, 4, r[i].applies_at);
        sqlite3_bind_int64(q, 5, r[i].expires);
        if (run(s, ST_REV_UPSERT) != SQLITE_DONE) rc = db_fail(s, err, "add revocation");
    }
    return finish(s, rc, err);
}

static int sq_list_revocations(rta_store *st, int64_t now,
                               void (*cb)(void *ctx, const rta_revocation_record *r), void *ctx,
                               rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->st[ST_REV_LIST];
    sqlite3_bind_int64(q, 1, now);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        rta_revocation_record r = {text(q, 0), text(q, 1), sqlite3_column_int64(q, 2),
                                   sqlite3_column_int64(q, 3), sqlite3_column_int64(q, 4)};
        if (!r.key_name || !r.target) break;
        cb(ctx, &r);
    }
    return end_list(s, q, rc, "list revocations", err);
}

static int sq_add_nonces(rta_store *st, const rta_nonce_record *n, size_t count,
                         unsigned char *replayed, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    if (count == 0) return 0;
    /* A single-server store: rtauthd's in-memory cache decides replays (store.h). */
    memset(replayed, 0, count);
    return rta_nonce_journal_add(s->journal, n, count, err);
}

static int sq_list_nonces(rta_store *st, int64_t now,
                          void (*cb)(void *ctx, const rta_nonce_record *n), void *ctx,
                          rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    return rta_nonce_journal_list(s->journal, now, cb, ctx, err);
}

static int sq_purge(rta_store *st, int64_t now, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    int rc = rta_nonce_journal_purge(s->journal, now, err);
    if (rc == 0) rc = begin(s, err);
    if (rc) return rc;
    sqlite3_bind_int64(s->st[ST_REV_PURGE], 1, now);
    if (run(s, ST_REV_PURGE) != SQLITE_DONE) rc = db_fail(s, err, "purge");
    sqlite3_bind_int64(s->st[ST_STATS_PURGE], 1, (now - RTA_STATS_RETENTION_MS) / 60000);
    if (rc == 0 && run(s, ST_STATS_PURGE) != SQLITE_DONE) rc = db_fail(s, err, "purge stats");
    return finish(s, rc, err);
}

static int sq_add_stats(rta_store *st, const rta_stats_row *rows, size_t n, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    int rc = begin(s, err);
    sqlite3_stmt *q = s->st[ST_STATS_UPSERT];
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bind_text(q, 1, rows[i].app_id);
        sqlite3_bind_int64(q, 2, rows[i].minute);
        for (int f = 0; f < RTA_SF_COUNT; f++) sqlite3_bind_int64(q, 3 + f, rows[i].v[f]);
        if (run(s, ST_STATS_UPSERT) != SQLITE_DONE) rc = db_fail(s, err, "add stats");
    }
    return finish(s, rc, err);
}

static int sq_list_stats(rta_store *st, const char *app_id, int64_t from_minute,
                         int64_t to_minute, void (*cb)(void *ctx, const rta_stats_row *r),
                         void *ctx, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    sqlite3_stmt *q = s->st[ST_STATS_LIST];
    bind_text(q, 1, app_id);
    sqlite3_bind_int64(q, 2, from_minute);
    sqlite3_bind_int64(q, 3, to_minute);
    rta_stats_row r;
    memset(&r, 0, sizeof(r));
    snprintf(r.app_id, sizeof(r.app_id), "%s", app_id);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        r.minute = sqlite3_column_int64(q, 0);
        for (int f = 0; f < RTA_SF_COUNT; f++) r.v[f] = sqlite3_column_int64(q, 1 + f);
        cb(ctx, &r);
    }
    return end_list(s, q, rc, "list stats", err);
}

static int read_admin_version(rta_sqlite_store *s, int64_t *out, rta_error *err)
{
    sqlite3_stmt *q = s->st[ST_ADMIN_VERSION];
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(q, 0);
    int ret = rc == SQLITE_ROW ? 0 : db_fail(s, err, "admin_version");
    done(q);
    return ret;
}

/* admin_version is bumped by triggers on apps, keys and secrets (schema v2), whoever writes:
 * a needless reload after our own change is harmless where a missed one is not. */
static int sq_poll_changes(rta_store *st, int *changed, rta_error *err)
{
    rta_sqlite_store *s = impl(st);
    int64_t v = 0;
    *changed = 0;
    int rc = read_admin_version(s, &v, err);
    if (rc) return rc;
    *changed = v != s->admin_version;
    s->admin_version = v;
    return 0;
}

static void sq_close(rta_store *st)
{
    if (!st) return;
    rta_sqlite_store *s = impl(st);
    rta_nonce_journal_close(s->journal);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]); /* NULL is a no-op */
    sqlite3_close(s->db);
    rta_secret_box_free(s->box);
    free(s);
}

static const rta_store_ops sqlite_ops = {
    .create_app = sq_create_app,
    .delete_app = sq_delete_app,
    .add_key = sq_add_key,
    .set_app_limits = sq_set_app_limits,
    .set_key_enabled = sq_set_key_enabled,
    .set_key_capability = sq_set_key_capability,
    .list_apps = sq_list_apps,
    .list_keys = sq_list_keys,
    .add_secret = sq_add_secret,
    .list_secrets = sq_list_secrets,
    .add_revocations = sq_add_revocations,
    .list_revocations = sq_list_revocations,
    .add_nonces = sq_add_nonces,
    .add_nonces_local = sq_add_nonces, /* a write(2) to the journal, which has its own lock */
    .list_nonces = sq_list_nonces,
    .purge = sq_purge,
    .add_stats = sq_add_stats,
    .list_stats = sq_list_stats,
    .poll_changes = sq_poll_changes,
    .close = sq_close,
};

int rta_store_sqlite_open(const char *dir, rta_store **out, rta_error *err)
{
    return rta_store_sqlite_open_kek(dir, NULL, out, err);
}

int rta_store_sqlite_open_kek(const char *dir, rta_secret_box *kek, rta_store **out,
                              rta_error *err)
{
    *out = NULL;
    sqlite3 *db;
    int rc = rta__sqlite_open_db(dir, &db, err);
    if (rc) {
        rta_secret_box_free(kek);
        return rc;
    }
    rta_sqlite_store *s = calloc(1, sizeof(*s));
    if (!s) {
        sqlite3_close(db);
        rta_secret_box_free(kek);
        return rta_error_set(err, RTA_ERR_INTERNAL, "store: out of memory");
    }
    s->base.ops = &sqlite_ops;
    s->db = db;
    s->box = kek;
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/%s", dir, RTA_SQLITE_DB_FILE) >= (int)sizeof(path))
        rc = rta_error_set(err, RTA_ERR_INTERNAL, "store: data directory path too long");
    /* Before any statement is prepared: sealing a plaintext database ends with a VACUUM. */
    if (rc == 0) rc = rta__sqlite_kek_attach(db, path, kek, err);
    for (int i = 0; rc == 0 && i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK)
            rc = db_fail(s, err, "prepare");
    /* The baseline is taken now, not at the first poll: a CLI change made between the
     * server's initial load and its first poll must still be reported. */
    if (rc == 0) rc = read_admin_version(s, &s->admin_version, err);
    if (rc == 0) rc = rta_nonce_journal_open(dir, &s->journal, err);
    if (rc) {
        sq_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}
