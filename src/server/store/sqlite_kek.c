/* store/sqlite_kek.c: the SQLite store's secrets sealed at rest under the KEK; see
 * store/sqlite_kek.h. Must never: put a secret (plain or sealed) or KEK bytes in a message
 * or the log, leave a database half sealed, or return a secret that did not authenticate. */
#include "server/store/sqlite_kek.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "server/log.h"

/* meta.kek_check: this label sealed under the KEK; opening it proves the KEK is the one the
 * database's secrets were sealed with, before any of them is read. */
#define KEK_CHECK_AAD   "kek-check"
#define KEK_CHECK_LABEL "rtauth: secrets sealed"
#define KEK_CHECK_SIZE  (sizeof(KEK_CHECK_LABEL) - 1 + RTA_SECRET_BOX_OVERHEAD)

#define NO_KEK_HINT "give its key-encryption key (--kek-file FILE, or RTAUTHD_KEK)"

/* The AAD of each kind of record: its identity, so sealed values cannot change places. */
static int key_aad(char *out, size_t size, const char *key_name, rta_error *err)
{
    if (!key_name || snprintf(out, size, "key:%s", key_name) >= (int)size)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: invalid key name");
    return 0;
}

static void secret_aad(char out[32], uint32_t id)
{
    snprintf(out, 32, "secret:%u", (unsigned)id);
}

int rta__kek_seal_key_secret(const rta_secret_box *box, const char *key_name, const char *secret,
                             char out[RTA_KEK_KEY_SECRET_SIZE], const char **stored, rta_error *err)
{
    *stored = secret;
    if (!box) return 0;
    size_t n = secret ? strlen(secret) : 0;
    if (n == 0 || n > RTA_KEY_SECRET_MAX)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "store: key %s: invalid secret",
                             key_name ? key_name : "(none)");
    char aad[RTA_KEY_NAME_MAX + 8];
    int rc = key_aad(aad, sizeof(aad), key_name, err);
    if (!rc) rc = rta_secret_box_seal_text(box, aad, secret, n, out, RTA_KEK_KEY_SECRET_SIZE, err);
    if (!rc) *stored = out;
    return rc;
}

int rta__kek_open_key_secret(const rta_secret_box *box, const char *key_name, const char *stored,
                             char out[RTA_KEY_SECRET_MAX + 1], rta_error *err)
{
    int sealed = rta_secret_box_is_sealed_text(stored);
    if (!box) {
        size_t n = strlen(stored);
        if (sealed)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "store: the secret of key %s is encrypted: " NO_KEK_HINT,
                                 key_name);
        if (n > RTA_KEY_SECRET_MAX)
            return rta_error_set(err, RTA_ERR_INTERNAL, "store: key %s: invalid secret", key_name);
        memcpy(out, stored, n + 1);
        return 0;
    }
    if (!sealed)
        return rta_error_set(err, RTA_ERR_INTERNAL,
                             "store: the secret of key %s is not encrypted, but this database's "
                             "secrets are: refusing it",
                             key_name);
    char aad[RTA_KEY_NAME_MAX + 8];
    size_t len = 0;
    rta_error why;
    int rc = key_aad(aad, sizeof(aad), key_name, err);
    if (rc) return rc;
    rc = rta_secret_box_open_text(box, aad, stored, (unsigned char *)out, RTA_KEY_SECRET_MAX, &len,
                                  &why);
    if (rc) return rta_error_set(err, rc, "store: %s", why.message);
    out[len] = '\0';
    if (strlen(out) != len) { /* an embedded NUL: we never seal such a secret */
        OPENSSL_cleanse(out, len);
        return rta_error_set(err, RTA_ERR_INTERNAL, "store: key %s: invalid secret", key_name);
    }
    return 0;
}

int rta__kek_seal_server_secret(const rta_secret_box *box, uint32_t id,
                                const unsigned char secret[RTA_SERVER_SECRET_LEN],
                                unsigned char out[RTA_KEK_SERVER_SECRET_SIZE],
                                const unsigned char **stored, int *stored_len, rta_error *err)
{
    *stored = secret;
    *stored_len = RTA_SERVER_SECRET_LEN;
    if (!box) return 0;
    char aad[32];
    secret_aad(aad, id);
    int rc = rta_secret_box_seal(box, aad, secret, RTA_SERVER_SECRET_LEN, out, err);
    if (!rc) *stored = out, *stored_len = RTA_KEK_SERVER_SECRET_SIZE;
    return rc;
}

int rta__kek_open_server_secret(const rta_secret_box *box, uint32_t id, const void *stored,
                                int stored_len, unsigned char out[RTA_SERVER_SECRET_LEN],
                                rta_error *err)
{
    int sealed = stored_len == RTA_KEK_SERVER_SECRET_SIZE &&
                 rta_secret_box_is_sealed(stored, (size_t)stored_len);
    if (!sealed && stored_len != RTA_SERVER_SECRET_LEN)
        return rta_error_set(err, RTA_ERR_INTERNAL, "store: server secret %u: invalid length",
                             (unsigned)id);
    if (!box) {
        if (sealed)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "store: server secret %u is encrypted: " NO_KEK_HINT,
                                 (unsigned)id);
        memcpy(out, stored, RTA_SERVER_SECRET_LEN);
        return 0;
    }
    if (!sealed)
        return rta_error_set(err, RTA_ERR_INTERNAL,
                             "store: server secret %u is not encrypted, but this database's "
                             "secrets are: refusing it",
                             (unsigned)id);
    char aad[32];
    secret_aad(aad, id);
    rta_error why;
    int rc = rta_secret_box_open(box, aad, stored, (size_t)stored_len, out, &why);
    return rc ? rta_error_set(err, rc, "store: %s", why.message) : 0;
}

/* ---- opening: the database's mode, and sealing a plaintext database ---------------------- */

static int db_error(sqlite3 *db, rta_error *err, const char *what)
{
    return rta_error_set(err, RTA_ERR_INTERNAL, "store: %s: %s", what, sqlite3_errmsg(db));
}

/* *check = meta.kek_check (NULL when the database is plaintext); *len its length. The copy
 * is the caller's (sqlite3_free). */
static int read_check(sqlite3 *db, unsigned char **check, int *len, rta_error *err)
{
    *check = NULL, *len = 0;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT kek_check FROM meta WHERE id = 1", -1, &q, NULL) !=
        SQLITE_OK)
        return db_error(db, err, "read kek_check");
    int rc = sqlite3_step(q) == SQLITE_ROW ? 0 : db_error(db, err, "read kek_check");
    if (rc == 0 && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        *len = sqlite3_column_bytes(q, 0);
        *check = sqlite3_malloc(*len > 0 ? *len : 1);
        if (!*check)
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "store: out of memory");
        else if (*len > 0)
            memcpy(*check, sqlite3_column_blob(q, 0), (size_t)*len);
    }
    sqlite3_finalize(q);
    return rc;
}

static int verify_check(const rta_secret_box *box, const char *path, const unsigned char *check,
                        int len, rta_error *err)
{
    if (!box)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "store: the secrets in %s are encrypted: " NO_KEK_HINT, path);
    unsigned char label[sizeof(KEK_CHECK_LABEL)];
    rta_error ignored;
    if (len != (int)KEK_CHECK_SIZE ||
        rta_secret_box_open(box, KEK_CHECK_AAD, check, (size_t)len, label, &ignored) != 0)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "store: the key-encryption key given is not the one the secrets in "
                             "%s are encrypted with",
                             path);
    return 0;
}

/* SQL functions for the one-statement sealing of each table: rta_seal_key(key_name, secret)
 * and rta_seal_secret(id, secret). An error aborts the statement, and so the transaction. */
static void sql_seal_key(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *name = (const char *)sqlite3_value_text(argv[0]);
    const char *secret = (const char *)sqlite3_value_text(argv[1]);
    char out[RTA_KEK_KEY_SECRET_SIZE];
    const char *stored;
    rta_error err;
    if (!name || !secret)
        sqlite3_result_error(ctx, "a key without name or secret", -1);
    else if (rta__kek_seal_key_secret(sqlite3_user_data(ctx), name, secret, out, &stored, &err))
        sqlite3_result_error(ctx, err.message, -1);
    else
        sqlite3_result_text(ctx, stored, -1, SQLITE_TRANSIENT);
}

static void sql_seal_secret(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    uint32_t id = (uint32_t)sqlite3_value_int64(argv[0]);
    const void *secret = sqlite3_value_blob(argv[1]);
    unsigned char out[RTA_KEK_SERVER_SECRET_SIZE];
    const unsigned char *stored;
    int len;
    rta_error err;
    if (!secret || sqlite3_value_bytes(argv[1]) != RTA_SERVER_SECRET_LEN)
        sqlite3_result_error(ctx, "a server secret of the wrong length", -1);
    else if (rta__kek_seal_server_secret(sqlite3_user_data(ctx), id, secret, out, &stored, &len,
                                         &err))
        sqlite3_result_error(ctx, err.message, -1);
    else
        sqlite3_result_blob(ctx, stored, len, SQLITE_TRANSIENT);
}

/* Every plaintext secret sealed and the check value set, in one transaction: either the
 * whole database is sealed or nothing changed. secure_delete=ON zeroes the old plaintext
 * cells and any page freed meanwhile. Returns the counts sealed. */
static int seal_all(sqlite3 *db, const char *path, const rta_secret_box *box, int *keys,
                    int *secrets, rta_error *err)
{
    if (sqlite3_create_function(db, "rta_seal_key", 2, SQLITE_UTF8, (void *)box, sql_seal_key, NULL,
                                NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "rta_seal_secret", 2, SQLITE_UTF8, (void *)box, sql_seal_secret,
                                NULL, NULL) != SQLITE_OK)
        return db_error(db, err, "register sealing functions");
    if (sqlite3_exec(db, "PRAGMA secure_delete=ON; BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_error(db, err, "begin sealing");
    /* Another process may have sealed the database since we looked. */
    unsigned char *check = NULL;
    int len = 0, rc = read_check(db, &check, &len, err);
    if (rc == 0 && check) {
        rc = verify_check(box, path, check, len, err);
        *keys = *secrets = 0;
        sqlite3_free(check);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        return rc;
    }
    if (rc == 0 && sqlite3_exec(db,
                                "UPDATE keys SET secret = rta_seal_key(key_name, secret)"
                                " WHERE secret NOT LIKE '" RTA_SECRET_BOX_VERSION ":%'",
                                NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(db, err, "sealing key secrets");
    *keys = rc ? 0 : sqlite3_changes(db);
    if (rc == 0 && sqlite3_exec(db,
                                "UPDATE secrets SET secret = rta_seal_secret(id, secret)"
                                " WHERE length(secret) = 32",
                                NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(db, err, "sealing server secrets");
    *secrets = rc ? 0 : sqlite3_changes(db);
    unsigned char sealed_check[KEK_CHECK_SIZE];
    sqlite3_stmt *q = NULL;
    if (rc == 0)
        rc = rta_secret_box_seal(box, KEK_CHECK_AAD, KEK_CHECK_LABEL, sizeof(KEK_CHECK_LABEL) - 1,
                                 sealed_check, err);
    if (rc == 0 && sqlite3_prepare_v2(db, "UPDATE meta SET kek_check = ?1 WHERE id = 1", -1, &q,
                                      NULL) != SQLITE_OK)
        rc = db_error(db, err, "set kek_check");
    if (rc == 0) {
        sqlite3_bind_blob(q, 1, sealed_check, sizeof(sealed_check), SQLITE_STATIC);
        if (sqlite3_step(q) != SQLITE_DONE) rc = db_error(db, err, "set kek_check");
    }
    sqlite3_finalize(q);
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_error(db, err, "commit sealing");
    if (rc != 0 && !sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* VACUUM, then a TRUNCATE checkpoint; -1 if either failed or a reader kept the WAL busy. */
static int compact(sqlite3 *db)
{
    if (sqlite3_exec(db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK) return -1;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "PRAGMA wal_checkpoint(TRUNCATE)", -1, &q, NULL) != SQLITE_OK)
        return -1;
    int busy = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 1;
    sqlite3_finalize(q);
    return busy ? -1 : 0;
}

int rta__sqlite_kek_attach(sqlite3 *db, const char *path, const rta_secret_box *box, rta_error *err)
{
    unsigned char *check = NULL;
    int len = 0;
    int rc = read_check(db, &check, &len, err);
    if (rc) return rc;
    if (check || !box) { /* sealed: the KEK must be there and match; plaintext without KEK */
        rc = check ? verify_check(box, path, check, len, err) : 0;
        sqlite3_free(check);
        return rc;
    }
    int keys = 0, secrets = 0;
    rc = seal_all(db, path, box, &keys, &secrets, err);
    sqlite3_exec(db, "PRAGMA secure_delete=FAST", NULL, NULL, NULL); /* store/sqlite_schema.c */
    if (rc || keys + secrets == 0) return rc;
    /* Plaintext may remain where sealing cannot reach it: pages freed earlier (secure_delete
     * FAST leaves them as they were, and schema v3 rebuilt the secrets table) and old WAL
     * frames. VACUUM rewrites every page; the TRUNCATE checkpoint empties the WAL. */
    if (compact(db) != 0)
        rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "store: %s: secrets are now encrypted, but compacting the file failed (%s): "
                     "plaintext copies may remain in its free pages until `sqlite3 %s VACUUM`",
                     path, sqlite3_errmsg(db), path);
    rta_log_event(RTA_LOG_INFO, "store.state", NULL, "store: encrypted %d key secret(s) and %d server secret(s) in %s with the "
                 "key-encryption key",
                 keys, secrets, path);
    return 0;
}
