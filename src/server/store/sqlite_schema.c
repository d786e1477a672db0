/* store/sqlite_schema.c: opens rtauthd's SQLite database: the data directory and file with
 * owner-only permissions (the file holds key secrets and server secrets), the connection's
 * pragmas, and the schema with its numbered migrations (PRAGMA user_version).
 *
 * Must never: widen permissions of anything, open a database written by a newer schema (it
 * would misread it), or put a secret into an error message or the log. */
#include "server/store/sqlite_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/store/private_files.h"
#include "server/store/secret_box.h"
#include "server/store/store.h"

/* The rtauth CLI writes the same file from another process; a write lock is held only for
 * one short transaction, so waiting a few seconds is always enough unless something hangs. */
#define RTA_SQLITE_BUSY_TIMEOUT_MS 5000
#define RTA_SQLITE_WAL_RETRY_MS    10

_Static_assert(RTA_SERVER_SECRET_LEN == 32, "the secrets table checks length(secret) = 32");
_Static_assert(RTA_SERVER_SECRET_LEN + RTA_SECRET_BOX_OVERHEAD == 64 &&
                   RTA_SECRET_BOX_VERSION_LEN == 4,
               "the secrets table checks a sealed secret's length (64) and prefix (kek1)");

/* migrations[v] takes the schema from version v to v + 1; never edit a released entry, append.
 *
 * Design notes for version 1:
 *   - keys reference apps with ON DELETE CASCADE, so deleting an app deletes its keys.
 *   - revocations and nonces deliberately have no foreign key to keys: a nonce batch or a
 *     revocation must never fail because the CLI deleted the key a moment earlier. delete_app
 *     removes them by key-name prefix ("appId."; key names are always "appId.keyId").
 *   - revocations are keyed (key_name, target, issued_before): a later re-revocation of the
 *     same target with a later issuedBefore is a new row, so no earlier rule is lost; the
 *     in-memory index applies all of them. The same triple stored twice is merged.
 *   - nonces are WITHOUT ROWID (the primary key is the only lookup); the expiry indexes keep
 *     purge() from scanning the table, which can hold a whole replay window of nonces. */
static const char *const migrations[RTA_SQLITE_SCHEMA_VERSION] = {
    "CREATE TABLE apps ("
    "  app_id TEXT NOT NULL PRIMARY KEY,"
    "  account_id TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  sandbox INTEGER NOT NULL);"
    "CREATE TABLE keys ("
    "  key_name TEXT NOT NULL PRIMARY KEY,"
    "  app_id TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,"
    "  secret TEXT NOT NULL,"
    "  capability TEXT NOT NULL,"
    "  revocable_tokens INTEGER NOT NULL,"
    "  enabled INTEGER NOT NULL,"
    "  created INTEGER NOT NULL);"
    "CREATE INDEX keys_by_app ON keys(app_id);"
    "CREATE TABLE secrets ("
    "  id INTEGER NOT NULL PRIMARY KEY,"
    "  secret BLOB NOT NULL CHECK (length(secret) = 32),"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE revocations ("
    "  key_name TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  issued_before INTEGER NOT NULL,"
    "  applies_at INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  PRIMARY KEY (key_name, target, issued_before)) WITHOUT ROWID;"
    "CREATE INDEX revocations_by_expiry ON revocations(expires);"
    "CREATE TABLE nonces ("
    "  key_name TEXT NOT NULL,"
    "  nonce TEXT NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  PRIMARY KEY (key_name, nonce)) WITHOUT ROWID;"
    "CREATE INDEX nonces_by_expiry ON nonces(expires);",

    /* Version 2: nonces leave SQLite for append-only segment files (store/nonce_journal.h: as
     * rows they cost index pages, WAL frames and checkpoint fsyncs on every requestToken). */
    "DROP TABLE nonces;"
    /* poll_changes reads admin_version, which triggers bump on every change to apps, keys or
     * secrets, by any process. (PRAGMA data_version also counts every nonce write.) */
    "CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1), admin_version INTEGER NOT NULL);"
    "INSERT INTO meta VALUES (1, 0);"
    "CREATE TRIGGER apps_ins AFTER INSERT ON apps BEGIN"
    "  UPDATE meta SET admin_version = admin_version + 1; END;"
    "CREATE TRIGGER apps_del AFTER DELETE ON apps BEGIN"
    "  UPDATE meta SET admin_version = admin_version + 1; END;"
    "CREATE TRIGGER keys_ins AFTER INSERT ON keys BEGIN"
    "  UPDATE meta SET admin_version = admin_version + 1; END;"
    "CREATE TRIGGER keys_upd AFTER UPDATE ON keys BEGIN"
    "  UPDATE meta SET admin_version = admin_version + 1; END;"
    "CREATE TRIGGER keys_del AFTER DELETE ON keys BEGIN"
    "  UPDATE meta SET admin_version = admin_version + 1; END;"
    "CREATE TRIGGER secrets_ins AFTER INSERT ON secrets BEGIN"
    "  UPDATE meta SET admin_version = admin_version + 1; END;",

    /* Version 3: secrets may be sealed under the operator's KEK (store/secret_box.h,
     * store/sqlite_kek.h). meta.kek_check is NULL for a plaintext database and holds a sealed
     * check value for a sealed one. A sealed key secret is text ("kek1:..."), which the keys
     * table takes as it is; a sealed server secret is 64 bytes starting "kek1", which the
     * secrets table's CHECK refused, so the table is rebuilt (SQLite cannot alter a CHECK). */
    "ALTER TABLE meta ADD COLUMN kek_check BLOB;"
    "CREATE TABLE secrets_v3 ("
    "  id INTEGER NOT NULL PRIMARY KEY,"
    "  secret BLOB NOT NULL CHECK (length(secret) = 32 OR"
    "    (length(secret) = 64 AND substr(secret, 1, 4) = x'6b656b31')),"
    "  created INTEGER NOT NULL);"
    "INSERT INTO secrets_v3(id, secret, created) SELECT id, secret, created FROM secrets;"
    "DROP TABLE secrets;"
    "ALTER TABLE secrets_v3 RENAME TO secrets;"
    "CREATE TRIGGER secrets_ins AFTER INSERT ON secrets BEGIN"
    "  UPDATE meta SET admin_version = admin_version + 1; END;"
    /* Once sealed, a database takes no plaintext secret, whoever writes: a process opened
     * without the KEK before another one sealed the file must not slip one in. */
    "CREATE TRIGGER keys_sealed_ins BEFORE INSERT ON keys"
    "  WHEN (SELECT kek_check FROM meta) IS NOT NULL AND NEW.secret NOT LIKE 'kek1:%' BEGIN"
    "  SELECT RAISE(ABORT, 'this database''s secrets are encrypted: a KEK is needed'); END;"
    "CREATE TRIGGER keys_sealed_upd BEFORE UPDATE OF secret ON keys"
    "  WHEN (SELECT kek_check FROM meta) IS NOT NULL AND NEW.secret NOT LIKE 'kek1:%' BEGIN"
    "  SELECT RAISE(ABORT, 'this database''s secrets are encrypted: a KEK is needed'); END;"
    "CREATE TRIGGER secrets_sealed_ins BEFORE INSERT ON secrets"
    "  WHEN (SELECT kek_check FROM meta) IS NOT NULL AND length(NEW.secret) <> 64 BEGIN"
    "  SELECT RAISE(ABORT, 'this database''s secrets are encrypted: a KEK is needed'); END;",

    /* Version 4: an app's own connection caps (gateway/limits.c; 0: the server's default),
     * and an apps update trigger so that `rtauth app set-limits` reaches a running server. */
    "ALTER TABLE apps ADD COLUMN max_connections INTEGER NOT NULL DEFAULT 0"
    "  CHECK (max_connections >= 0);"
    "ALTER TABLE apps ADD COLUMN max_connections_per_client INTEGER NOT NULL DEFAULT 0"
    "  CHECK (max_connections_per_client >= 0);"
    "CREATE TRIGGER apps_upd AFTER UPDATE ON apps BEGIN"
    "  UPDATE meta SET admin_version = admin_version + 1; END;",

    /* Version 5: app statistics (GET /stats, RSC6; server/stats.h), one row per app and
     * minute; the columns are rta_stats_field's, sums but for the two peaks (max). Kept
     * RTA_STATS_RETENTION_MS (purge); no trigger: statistics are not admin changes. */
    "CREATE TABLE stats ("
    "  app_id TEXT NOT NULL,"
    "  minute INTEGER NOT NULL,"
    "  msg_in_rt INTEGER NOT NULL DEFAULT 0,"
    "  msg_in_rt_data INTEGER NOT NULL DEFAULT 0,"
    "  msg_in_rest INTEGER NOT NULL DEFAULT 0,"
    "  msg_in_rest_data INTEGER NOT NULL DEFAULT 0,"
    "  msg_out INTEGER NOT NULL DEFAULT 0,"
    "  msg_out_data INTEGER NOT NULL DEFAULT 0,"
    "  conn_opened INTEGER NOT NULL DEFAULT 0,"
    "  chan_opened INTEGER NOT NULL DEFAULT 0,"
    "  token_ok INTEGER NOT NULL DEFAULT 0,"
    "  token_failed INTEGER NOT NULL DEFAULT 0,"
    "  token_refused INTEGER NOT NULL DEFAULT 0,"
    "  conn_peak INTEGER NOT NULL DEFAULT 0,"
    "  chan_peak INTEGER NOT NULL DEFAULT 0,"
    "  api_ok INTEGER NOT NULL DEFAULT 0,"
    "  api_failed INTEGER NOT NULL DEFAULT 0,"
    "  api_refused INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (app_id, minute)) WITHOUT ROWID;"
    "CREATE INDEX stats_by_minute ON stats(minute);",
};

static int db_error(sqlite3 *db, rta_error *err, const char *what)
{
    return rta_error_set(err, RTA_ERR_INTERNAL, "store: %s: %s", what, sqlite3_errmsg(db));
}

/* Owner-only access: the directory and the database hold secrets. An existing directory or
 * file that others can access is tightened (and logged) when it is ours, so an upgrade fixes
 * an old installation, and refused when it is not (store/private_files.h). */
static int prepare_files(const char *dir, const char *path, rta_error *err)
{
    int rc = rta_private_dir(dir, 1, err);
    if (rc) return rc;

    /* Create the file ourselves: SQLite would create it with 0644 & ~umask, and it gives the
     * -wal and -shm files the main file's mode, so 0600 here covers all three. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return rta_error_set(err, RTA_ERR_INTERNAL, "store: open %s: %s", path, strerror(errno));
    close(fd);

    char side[4096];
    rc = rta_private_file(path, 1, err);
    for (int i = 0; rc == 0 && i < 2; i++) {
        if (snprintf(side, sizeof(side), "%s%s", path, i ? "-shm" : "-wal") >= (int)sizeof(side))
            return rta_error_set(err, RTA_ERR_INTERNAL, "store: data directory path too long");
        rc = rta_private_file(side, 0, err);
    }
    return rc;
}

static int get_int_pragma(sqlite3 *db, const char *sql, int *out, rta_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return db_error(db, err, sql);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int(st, 0);
    int ret = rc == SQLITE_ROW ? 0 : db_error(db, err, sql);
    sqlite3_finalize(st);
    return ret;
}

/* WAL: readers never block the writer, and a commit is one append (+ fsync) to the log.
 * Switching a new file to WAL needs an exclusive lock and SQLite does not call the busy
 * handler for it, so two processes opening a fresh file together (rtauthd starting while the
 * CLI creates the first app) would fail without this retry. */
static int enable_wal(sqlite3 *db, rta_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, err, "journal_mode");
    int ret = -1;
    for (int waited = 0; ret < 0; waited += RTA_SQLITE_WAL_RETRY_MS) {
        int rc = sqlite3_step(st);
        const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (mode && sqlite3_stricmp(mode, "wal") == 0)
            ret = 0;
        else if (rc == SQLITE_ROW) /* the file system cannot do WAL: don't run without it */
            ret = rta_error_set(err, RTA_ERR_INTERNAL, "store: cannot enable WAL mode");
        else if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited >= RTA_SQLITE_BUSY_TIMEOUT_MS)
            ret = db_error(db, err, "journal_mode");
        sqlite3_reset(st);
        if (ret < 0) sqlite3_sleep(RTA_SQLITE_WAL_RETRY_MS);
    }
    sqlite3_finalize(st);
    return ret;
}

static int configure(sqlite3 *db, rta_error *err)
{
    sqlite3_extended_result_codes(db, 1); /* to tell a duplicate from a missing parent */
    if (sqlite3_busy_timeout(db, RTA_SQLITE_BUSY_TIMEOUT_MS) != SQLITE_OK)
        return db_error(db, err, "busy_timeout");

    int rc = enable_wal(db, err);
    if (rc) return rc;

    /* synchronous=FULL: every commit is fsynced before the write call returns, so an
     * acknowledged write survives power loss too, not only a crash. See store/sqlite.c for
     * the measurement that made this affordable for nonce batches as well.
     * secure_delete=FAST: zero deleted key secrets inside their pages, at no extra I/O.
     * cache_size 64 MiB, mmap 256 MiB: the nonce index is probed on every token request;
     * with the default 2 MB cache each probe was a pread system call. */
    if (sqlite3_exec(db,
                     "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=FAST;"
                     "PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;",
                     NULL, NULL, NULL) != SQLITE_OK)
        return db_error(db, err, "pragmas");
    int fk = 0;
    rc = get_int_pragma(db, "PRAGMA foreign_keys", &fk, err);
    if (rc != 0) return rc;
    if (!fk) return rta_error_set(err, RTA_ERR_INTERNAL, "store: SQLite lacks foreign keys");
    return 0;
}

/* BEGIN IMMEDIATE: two processes (rtauthd, the CLI) opening a new file at once must not both
 * create the schema; the second one waits, then sees the version the first one wrote. */
static int migrate(sqlite3 *db, rta_error *err)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(db, err, "begin migration");
    int version = 0;
    int rc = get_int_pragma(db, "PRAGMA user_version", &version, err);
    if (rc == 0 && (version < 0 || version > RTA_SQLITE_SCHEMA_VERSION))
        rc = rta_error_set(err, RTA_ERR_INTERNAL,
                           "store: database schema version %d is not supported (this build: %d)",
                           version, RTA_SQLITE_SCHEMA_VERSION);
    for (; rc == 0 && version < RTA_SQLITE_SCHEMA_VERSION; version++)
        if (sqlite3_exec(db, migrations[version], NULL, NULL, NULL) != SQLITE_OK)
            rc = db_error(db, err, "schema migration");
    if (rc == 0) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", version);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = db_error(db, err, "commit migration");
    }
    if (rc != 0 && !sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int rta__sqlite_open_db(const char *dir, sqlite3 **out, rta_error *err)
{
    *out = NULL;
    if (!dir || !*dir) return rta_error_set(err, RTA_ERR_INTERNAL, "store: no data directory");
    size_t len = strlen(dir) + sizeof("/" RTA_SQLITE_DB_FILE);
    char *path = malloc(len);
    if (!path) return rta_error_set(err, RTA_ERR_INTERNAL, "store: out of memory");
    snprintf(path, len, "%s/%s", dir, RTA_SQLITE_DB_FILE);

    int rc = prepare_files(dir, path, err);
    sqlite3 *db = NULL;
    if (rc == 0) {
        /* NOMUTEX: a store handle is used by one thread at a time (store.h). */
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
        if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK)
            rc = db ? db_error(db, err, "open")
                    : rta_error_set(err, RTA_ERR_INTERNAL, "store: out of memory");
    }
    free(path);
    if (rc == 0) rc = configure(db, err);
    if (rc == 0) rc = migrate(db, err);
    if (rc != 0) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}
