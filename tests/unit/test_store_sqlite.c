/* test_store_sqlite.c: the SQLite store (store.h, store/sqlite.c): every op, persistence
 * across reopen, permissions, nonce replay rules, change polling between two connections,
 * concurrent writers, durability of acknowledged writes across kill -9 of the writer, and
 * secrets sealed at rest under a KEK (store/sqlite_kek.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/store/secret_box.h"
#include "server/store/store.h"

#define SECRET "Sup3rS3cretValue"
#define CAP    "{\"*\":[\"*\"]}"

/* ---- helpers: temp dirs, collected listings ------------------------------------------------ */

typedef struct fixture {
    char base[64];  /* mkdtemp directory, removed afterwards */
    char dir[96];   /* the store's data dir, base/data: open must create it */
    char file[128]; /* dir/rtauth.db */
    rta_store *s;
} fixture;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static rta_store *open_store(const char *dir)
{
    rta_store *s = NULL;
    rta_error err;
    int rc = rta_store_sqlite_open(dir, &s, &err);
    if (rc) fail_msg("open %s: %d %s", dir, rc, err.message);
    assert_non_null(s);
    return s;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->base, "/tmp/rta_store_XXXXXX");
    assert_non_null(mkdtemp(f->base));
    snprintf(f->dir, sizeof(f->dir), "%s/data", f->base);
    snprintf(f->file, sizeof(f->file), "%s/rtauth.db", f->dir);
    f->s = open_store(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->s) f->s->ops->close(f->s);
    nftw(f->base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void reopen(fixture *f)
{
    f->s->ops->close(f->s);
    f->s = open_store(f->dir);
}

/* Listings are collected as formatted lines, so tests compare whole records at once. */
typedef struct lines {
    char **v;
    size_t n, cap;
} lines;

static void lines_add(lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void lines_add(lines *l, const char *fmt, ...)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        assert_non_null(l->v);
    }
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    l->v[l->n] = strdup(buf);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static int lines_has(const lines *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0) return 1;
    return 0;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static void app_cb(void *ctx, const rta_app_record *a)
{
    if (a->max_connections || a->max_connections_per_client)
        lines_add(ctx, "%s|%s|%lld|%d|limits %lld/%lld", a->app_id, a->account_id,
                  (long long)a->created, a->sandbox, a->max_connections,
                  a->max_connections_per_client);
    else
        lines_add(ctx, "%s|%s|%lld|%d", a->app_id, a->account_id, (long long)a->created,
                  a->sandbox);
}

static void key_cb(void *ctx, const rta_key_record *k)
{
    lines_add(ctx, "%s|%s|%s|%s|%d|%d|%lld", k->key_name, k->app_id, k->secret, k->capability,
              k->revocable_tokens, k->enabled, (long long)k->created);
}

static void rev_cb(void *ctx, const rta_revocation_record *r)
{
    lines_add(ctx, "%s|%s|%lld|%lld|%lld", r->key_name, r->target, (long long)r->issued_before,
              (long long)r->applies_at, (long long)r->expires);
}

static void nonce_cb(void *ctx, const rta_nonce_record *n)
{
    lines_add(ctx, "%s|%s", n->key_name, n->nonce);
}

static void secret_cb(void *ctx, const rta_secret_record *r)
{
    char hex[2 * RTA_SERVER_SECRET_LEN + 1];
    for (int i = 0; i < RTA_SERVER_SECRET_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", r->secret[i]);
    lines_add(ctx, "%u|%s|%lld", (unsigned)r->id, hex, (long long)r->created);
}

static lines list_apps(rta_store *s)
{
    lines l = {0};
    rta_error err;
    assert_int_equal(s->ops->list_apps(s, app_cb, &l, &err), 0);
    return l;
}

static lines list_keys(rta_store *s)
{
    lines l = {0};
    rta_error err;
    assert_int_equal(s->ops->list_keys(s, key_cb, &l, &err), 0);
    return l;
}

static lines list_revs(rta_store *s, int64_t now)
{
    lines l = {0};
    rta_error err;
    assert_int_equal(s->ops->list_revocations(s, now, rev_cb, &l, &err), 0);
    return l;
}

static lines list_nonces(rta_store *s, int64_t now)
{
    lines l = {0};
    rta_error err;
    assert_int_equal(s->ops->list_nonces(s, now, nonce_cb, &l, &err), 0);
    return l;
}

static rta_key_record key(const char *app, const char *name)
{
    return (rta_key_record){name, app, SECRET, CAP, 1, 1, 1000};
}

static void create_app(rta_store *s, const char *app, const char *key_name)
{
    rta_app_record a = {app, "acct", 5, 0};
    rta_key_record k = key(app, key_name);
    rta_error err;
    assert_int_equal(s->ops->create_app(s, &a, &k, key_name ? 1 : 0, &err), 0);
}

static void add_nonce(rta_store *s, const char *key_name, const char *nonce, int64_t expires,
                      int expect_replayed)
{
    rta_nonce_record n = {key_name, nonce, expires};
    unsigned char replayed = 9;
    rta_error err;
    assert_int_equal(s->ops->add_nonces(s, &n, 1, &replayed, &err), 0);
    assert_int_equal(replayed, expect_replayed);
}

static void add_rev(rta_store *s, const char *key_name, const char *target, int64_t issued_before,
                    int64_t applies_at, int64_t expires)
{
    rta_revocation_record r = {key_name, target, issued_before, applies_at, expires};
    rta_error err;
    assert_int_equal(s->ops->add_revocations(s, &r, 1, &err), 0);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* ---- open, permissions, schema -------------------------------------------------------------- */

static void test_open_creates_private_dir_and_file(void **state)
{
    fixture *f = *state;
    assert_int_equal(mode_of(f->dir), 0700);
    assert_int_equal(mode_of(f->file), 0600);
    create_app(f->s, "app", "app.k1"); /* a write creates the -wal and -shm files */
    char side[160];
    snprintf(side, sizeof(side), "%s-wal", f->file);
    assert_int_equal(mode_of(side), 0600);
    snprintf(side, sizeof(side), "%s-shm", f->file);
    assert_int_equal(mode_of(side), 0600);

    /* A file left readable by others (an old install) is tightened on open. */
    f->s->ops->close(f->s);
    f->s = NULL;
    assert_int_equal(chmod(f->file, 0644), 0);
    f->s = open_store(f->dir);
    assert_int_equal(mode_of(f->file), 0600);
    lines k = list_keys(f->s);
    assert_int_equal(k.n, 1);
    lines_free(&k);
}

/* An existing data directory keeps no group/other access: it holds key secrets. What we own
 * is tightened on open: the directory (0755 stayed 0755 before), the database, its -wal and
 * -shm, the nonce journal's directory and its segments. */
static void test_open_tightens_existing_dir_and_files(void **state)
{
    fixture *f = *state;
    create_app(f->s, "app", "app.k1");
    add_nonce(f->s, "app.k1", "nonce-0123456789abcdef", now_ms() + 60000, 0);
    /* A second connection keeps the -wal and -shm files in place across our reopen. */
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->file, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "SELECT count(*) FROM apps", NULL, NULL, NULL), SQLITE_OK);
    f->s->ops->close(f->s);
    f->s = NULL;

    char wal[160], shm[160], nonces[160], segment[400] = "";
    snprintf(wal, sizeof(wal), "%s-wal", f->file);
    snprintf(shm, sizeof(shm), "%s-shm", f->file);
    snprintf(nonces, sizeof(nonces), "%s/nonces", f->dir);
    DIR *d = opendir(nonces);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".log"))
            snprintf(segment, sizeof(segment), "%s/%.200s", nonces, e->d_name);
    closedir(d);
    assert_true(segment[0]);
    const char *files[] = {f->file, wal, shm, segment};
    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(chmod(nonces, 0750), 0);
    for (size_t i = 0; i < 4; i++) assert_int_equal(chmod(files[i], 0644), 0);

    f->s = open_store(f->dir);
    assert_int_equal(mode_of(f->dir), 0700);
    assert_int_equal(mode_of(nonces), 0700);
    for (size_t i = 0; i < 4; i++) {
        if (mode_of(files[i]) != 0600) fail_msg("%s is %o", files[i], mode_of(files[i]));
    }
    lines k = list_keys(f->s);
    assert_int_equal(k.n, 1);
    lines_free(&k);
    sqlite3_close(other);
}

/* A directory that others can read and that is not ours is refused (we must not chmod
 * another user's directory, and must not put secrets where others can read them), with an
 * error naming the directory and its mode; the same for a file in it. */
static void test_open_refuses_foreign_open_dir(void **state)
{
    fixture *f = *state;
    rta_store *s = NULL;
    rta_error err;
    f->s->ops->close(f->s);
    f->s = NULL;
    /* root is the owner of nothing it chowns away; others can use a root-owned dir */
    const char *foreign = geteuid() == 0 ? f->dir : "/tmp";
    if (geteuid() == 0) {
        assert_int_equal(chown(f->dir, 65534, 65534), 0);
        assert_int_equal(chmod(f->dir, 0755), 0);
    }
    assert_int_equal(rta_store_sqlite_open(foreign, &s, &err), RTA_ERR_INTERNAL);
    assert_null(s);
    assert_non_null(strstr(err.message, foreign));
    assert_non_null(strstr(err.message, geteuid() == 0 ? "0755" : "1777"));
    assert_int_equal(mode_of(foreign), geteuid() == 0 ? 0755 : 01777); /* left alone */
    if (geteuid() != 0) return;

    /* Ours again, but the database file belongs to someone else and others can read it. */
    assert_int_equal(chown(f->dir, 0, 0), 0);
    assert_int_equal(chown(f->file, 65534, 65534), 0);
    assert_int_equal(chmod(f->file, 0644), 0);
    assert_int_equal(rta_store_sqlite_open(f->dir, &s, &err), RTA_ERR_INTERNAL);
    assert_non_null(strstr(err.message, f->file));
    assert_non_null(strstr(err.message, "0644"));
    assert_int_equal(mode_of(f->file), 0644);
    assert_int_equal(mode_of(f->dir), 0700); /* the directory was ours: fixed */
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    rta_store *s = (rta_store *)&s; /* must be reset to NULL on failure */
    rta_error err;
    char path[160];

    /* The data dir is a regular file. */
    snprintf(path, sizeof(path), "%s/plain", f->base);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(rta_store_sqlite_open(path, &s, &err), RTA_ERR_INTERNAL);
    assert_null(s);

    /* Its parent does not exist (only the last component is created). */
    snprintf(path, sizeof(path), "%s/missing/data", f->base);
    assert_int_equal(rta_store_sqlite_open(path, &s, &err), RTA_ERR_INTERNAL);
    assert_int_equal(err.status_code, 500);

    /* A database written by a newer schema is refused, not misread. */
    f->s->ops->close(f->s);
    f->s = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->file, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(rta_store_sqlite_open(f->dir, &s, &err), RTA_ERR_INTERNAL);
    assert_null(s);
    assert_non_null(strstr(err.message, "99"));
}

static void test_schema_version_and_pragmas(void **state)
{
    fixture *f = *state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->file, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 5); /* v3: sealed secrets (KEK); v4: caps;
                                                     * v5: stats */
    sqlite3_finalize(st);
    /* journal_mode=WAL is persistent in the file: a second connection sees it. */
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- apps and keys -------------------------------------------------------------------------- */

static void test_apps_and_keys_roundtrip_and_reopen(void **state)
{
    fixture *f = *state;
    rta_error err;
    rta_app_record a = {"appA", "acct1", 1700000000123LL, 1};
    rta_key_record keys[2] = {
        {"appA.k1", "appA", SECRET, CAP, 1, 1, 1700000000124LL},
        {"appA.k2", "appA", "other-secret", "{\"ch\":[\"publish\"]}", 0, 0, 1700000000125LL}};
    assert_int_equal(f->s->ops->create_app(f->s, &a, keys, 2, &err), 0);
    create_app(f->s, "appB", NULL); /* an app without keys */

    for (int round = 0; round < 2; round++) {
        lines apps = list_apps(f->s);
        assert_int_equal(apps.n, 2);
        assert_string_equal(apps.v[0], "appA|acct1|1700000000123|1");
        assert_string_equal(apps.v[1], "appB|acct|5|0");
        lines k = list_keys(f->s);
        assert_int_equal(k.n, 2);
        assert_string_equal(k.v[0], "appA.k1|appA|" SECRET "|" CAP "|1|1|1700000000124");
        assert_string_equal(k.v[1],
                            "appA.k2|appA|other-secret|{\"ch\":[\"publish\"]}|0|0|1700000000125");
        lines_free(&apps);
        lines_free(&k);
        reopen(f);
    }
}

static void test_create_app_duplicate_and_atomic(void **state)
{
    fixture *f = *state;
    rta_error err;
    create_app(f->s, "app", "app.k1");

    rta_app_record a = {"app", "acct", 1, 0};
    rta_key_record k = key("app", "app.k9");
    assert_int_equal(f->s->ops->create_app(f->s, &a, &k, 1, &err), RTA_ERR_INVALID_PARAMETER);
    assert_null(strstr(err.message, SECRET));
    assert_non_null(strstr(err.message, "app"));

    /* All or nothing: the second key collides, so neither the app nor its first key exist. */
    rta_app_record b = {"appB", "acct", 1, 0};
    rta_key_record dup[2] = {key("appB", "appB.k1"), key("appB", "appB.k1")};
    assert_int_equal(f->s->ops->create_app(f->s, &b, dup, 2, &err), RTA_ERR_INVALID_PARAMETER);
    assert_null(strstr(err.message, SECRET));
    lines apps = list_apps(f->s);
    assert_int_equal(apps.n, 1);
    lines keys = list_keys(f->s);
    assert_int_equal(keys.n, 1);
    assert_false(lines_has(&keys, "appB.k1|appB|" SECRET "|" CAP "|1|1|1000"));
    lines_free(&apps);
    lines_free(&keys);

    /* Keys must be named "<appId>.<keyId>" of their own app. */
    rta_key_record wrong[] = {key("appC", "appB.k1"), key("appB", "appBk1"), key("appB", "appB."),
                              key("other", "appB.k1")};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
        assert_int_equal(f->s->ops->create_app(f->s, &b, &wrong[i], 1, &err),
                         RTA_ERR_INVALID_PARAMETER);
    rta_app_record dotted = {"app.x", "acct", 1, 0};
    assert_int_equal(f->s->ops->create_app(f->s, &dotted, NULL, 0, &err),
                     RTA_ERR_INVALID_PARAMETER);

    /* After the failures the store is still writable. */
    assert_int_equal(f->s->ops->create_app(f->s, &b, dup, 1, &err), 0);
}

/* An app's own connection caps (gateway/limits.c): stored at creation, changed one at a time
 * (a negative value keeps one), reported to a server polling from another connection. */
static void test_app_limits(void **state)
{
    fixture *f = *state;
    rta_error err;
    rta_app_record a = {"capped", "acct", 7, 1, 50, 3};
    assert_int_equal(f->s->ops->create_app(f->s, &a, NULL, 0, &err), 0);
    create_app(f->s, "plain", NULL);
    int changed;
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);

    rta_store *cli = open_store(f->dir);
    assert_int_equal(cli->ops->set_app_limits(cli, "plain", 10, -1, &err), 0);
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);
    assert_int_equal(changed, 1); /* apps had no update trigger before v4 */
    assert_int_equal(cli->ops->set_app_limits(cli, "capped", -1, 0, &err), 0);
    assert_int_equal(cli->ops->set_app_limits(cli, "nope", 1, 1, &err), RTA_ERR_NOT_FOUND);
    assert_int_equal(err.status_code, 404);
    cli->ops->close(cli);

    for (int round = 0; round < 2; round++) {
        lines apps = list_apps(f->s);
        assert_int_equal(apps.n, 2);
        assert_string_equal(apps.v[0], "capped|acct|7|1|limits 50/0");
        assert_string_equal(apps.v[1], "plain|acct|5|0|limits 10/0");
        lines_free(&apps);
        reopen(f);
    }
}

/* A version 3 database (before the caps) migrates: its apps get no caps of their own. */
static void test_migration_from_v3_keeps_apps(void **state)
{
    fixture *f = *state;
    create_app(f->s, "old", "old.k1");
    f->s->ops->close(f->s);
    f->s = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->file, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE stats;" /* v5 */
                                  "DROP TRIGGER apps_upd;"
                                  "ALTER TABLE apps DROP COLUMN max_connections;"
                                  "ALTER TABLE apps DROP COLUMN max_connections_per_client;"
                                  "PRAGMA user_version=3;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    f->s = open_store(f->dir);
    lines apps = list_apps(f->s);
    assert_int_equal(apps.n, 1);
    assert_string_equal(apps.v[0], "old|acct|5|0");
    lines_free(&apps);
    rta_error err;
    assert_int_equal(f->s->ops->set_app_limits(f->s, "old", 2, 1, &err), 0);
    apps = list_apps(f->s);
    assert_string_equal(apps.v[0], "old|acct|5|0|limits 2/1");
    lines_free(&apps);
}

static void test_add_key_and_set_key_enabled(void **state)
{
    fixture *f = *state;
    rta_error err;
    rta_key_record orphan = key("nope", "nope.k1");
    assert_int_equal(f->s->ops->add_key(f->s, &orphan, &err), RTA_ERR_NOT_FOUND);
    assert_int_equal(err.status_code, 404);
    assert_null(strstr(err.message, SECRET));

    create_app(f->s, "app", NULL);
    rta_key_record k = key("app", "app.k1");
    assert_int_equal(f->s->ops->add_key(f->s, &k, &err), 0);
    assert_int_equal(f->s->ops->add_key(f->s, &k, &err), RTA_ERR_INVALID_PARAMETER);
    assert_null(strstr(err.message, SECRET));
    rta_key_record bad = key("app", "other.k1");
    assert_int_equal(f->s->ops->add_key(f->s, &bad, &err), RTA_ERR_INVALID_PARAMETER);

    assert_int_equal(f->s->ops->set_key_enabled(f->s, "app.k1", 0, &err), 0);
    assert_int_equal(f->s->ops->set_key_enabled(f->s, "app.k2", 0, &err), RTA_ERR_NOT_FOUND);
    reopen(f);
    lines keys = list_keys(f->s);
    assert_int_equal(keys.n, 1);
    assert_string_equal(keys.v[0], "app.k1|app|" SECRET "|" CAP "|1|0|1000");
    lines_free(&keys);

    assert_int_equal(f->s->ops->set_key_enabled(f->s, "app.k1", 7, &err), 0); /* stored as 1 */
    keys = list_keys(f->s);
    assert_string_equal(keys.v[0], "app.k1|app|" SECRET "|" CAP "|1|1|1000");
    lines_free(&keys);

    /* the console's capability change (issue 18): stored, seen by poll_changes */
    int changed;
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);
    assert_int_equal(f->s->ops->set_key_capability(f->s, "app.k1", "{\"a\":[\"publish\"]}", &err), 0);
    assert_int_equal(f->s->ops->set_key_capability(f->s, "app.k2", "{}", &err), RTA_ERR_NOT_FOUND);
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);
    assert_int_equal(changed, 1);
    reopen(f);
    keys = list_keys(f->s);
    assert_string_equal(keys.v[0], "app.k1|app|" SECRET "|{\"a\":[\"publish\"]}|1|1|1000");
    lines_free(&keys);
}

static void test_delete_app_cascades(void **state)
{
    fixture *f = *state;
    rta_error err;
    int64_t later = now_ms() + 3600000;
    /* Neighbours whose names share a prefix with "app" must survive its deletion. */
    static const char *apps[] = {"app", "app2", "app-x", "ap", "app_"};
    static const char *keys[] = {"app.k1", "app2.k1", "app-x.k1", "ap.k1", "app_.k1"};
    for (int i = 0; i < 5; i++) {
        create_app(f->s, apps[i], keys[i]);
        add_rev(f->s, keys[i], "clientId:bob", 10, 10, later);
        add_nonce(f->s, keys[i], "n1", later, 0);
    }
    rta_key_record k2 = key("app", "app.k2");
    assert_int_equal(f->s->ops->add_key(f->s, &k2, &err), 0);
    add_nonce(f->s, "app.k2", "n2", later, 0);

    assert_int_equal(f->s->ops->delete_app(f->s, "app", &err), 0);
    assert_int_equal(f->s->ops->delete_app(f->s, "app", &err), RTA_ERR_NOT_FOUND);
    assert_int_equal(f->s->ops->delete_app(f->s, "zzz", &err), RTA_ERR_NOT_FOUND);
    reopen(f);

    lines a = list_apps(f->s), k = list_keys(f->s);
    lines r = list_revs(f->s, 0), n = list_nonces(f->s, 0);
    assert_int_equal(a.n, 4);
    assert_int_equal(k.n, 4);
    assert_int_equal(r.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_true(strncmp(k.v[i], "app.", 4) != 0);
        assert_true(strncmp(r.v[i], "app.", 4) != 0);
    }
    /* Used nonces are journaled, not rows: they outlive the app until they expire (their key
     * names are never reused), which only keeps a replay of them refused. */
    assert_int_equal(n.n, 6);
    assert_true(lines_has(&n, "app_.k1|n1"));
    assert_true(lines_has(&n, "app.k2|n2"));
    lines_free(&a);
    lines_free(&k);
    lines_free(&r);
    lines_free(&n);

    /* The nonce and revocation rows are really gone: a re-created app starts clean. */
    create_app(f->s, "app", "app.k1");
    add_nonce(f->s, "app.k1", "n1", later, 0);
}

/* ---- secrets, revocations, nonces ----------------------------------------------------------- */

static void test_secrets(void **state)
{
    fixture *f = *state;
    rta_error err;
    rta_secret_record s1 = {7, {0}, 111}, s2 = {4000000000u, {0}, 222};
    for (int i = 0; i < RTA_SERVER_SECRET_LEN; i++) {
        s1.secret[i] = (unsigned char)i;
        s2.secret[i] = (unsigned char)(255 - i);
    }
    s1.secret[5] = 0; /* a blob, not a string: zero bytes survive */
    assert_int_equal(f->s->ops->add_secret(f->s, &s2, &err), 0);
    assert_int_equal(f->s->ops->add_secret(f->s, &s1, &err), 0);
    assert_int_equal(f->s->ops->add_secret(f->s, &s1, &err), RTA_ERR_INVALID_PARAMETER);
    assert_null(strstr(err.message, "0001020304"));
    reopen(f);
    lines l = {0};
    assert_int_equal(f->s->ops->list_secrets(f->s, secret_cb, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0],
                        "7|000102030400060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f|111");
    assert_string_equal(
        l.v[1], "4000000000|fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0|222");
    lines_free(&l);
}

static void test_revocations(void **state)
{
    fixture *f = *state;
    rta_error err;
    int64_t now = now_ms();
    rta_revocation_record batch[] = {
        {"app.k1", "clientId:bob", 100, 200, now + 60000},
        {"app.k1", "clientId:old", 100, 200, now - 1}, /* expired: not listed */
        {"app.k1", "clientId:edge", 100, 200, now},    /* expires == now: expired */
        {"app.k2", "token:abcd", 150, 150, now + 1000},
    };
    assert_int_equal(f->s->ops->add_revocations(f->s, batch, 4, &err), 0);
    assert_int_equal(f->s->ops->add_revocations(f->s, NULL, 0, &err), 0);
    /* Re-revocation with a later issuedBefore is a second rule; the same triple is merged
     * to the earlier start and the later end. */
    add_rev(f->s, "app.k1", "clientId:bob", 300, 330, now + 90000);
    add_rev(f->s, "app.k2", "token:abcd", 150, 120, now + 500);
    add_rev(f->s, "app.k2", "token:abcd", 150, 170, now + 5000);
    reopen(f);

    lines l = list_revs(f->s, now);
    assert_int_equal(l.n, 3);
    char want[128];
    snprintf(want, sizeof(want), "app.k1|clientId:bob|100|200|%lld", (long long)(now + 60000));
    assert_string_equal(l.v[0], want);
    snprintf(want, sizeof(want), "app.k1|clientId:bob|300|330|%lld", (long long)(now + 90000));
    assert_string_equal(l.v[1], want);
    snprintf(want, sizeof(want), "app.k2|token:abcd|150|120|%lld", (long long)(now + 5000));
    assert_string_equal(l.v[2], want);
    lines_free(&l);
    l = list_revs(f->s, now - 10); /* both expired ones are still stored until purge */
    assert_int_equal(l.n, 5);
    lines_free(&l);
}

/* The SQLite store serves one rtauthd, whose memory decides replays (store.h): it records
 * every nonce durably, flags none, and lists each (key, nonce) once with its latest expiry. */
static void test_nonce_records(void **state)
{
    fixture *f = *state;
    rta_error err;
    int64_t later = now_ms() + 600000;
    rta_nonce_record b1[] = {{"app.k1", "a", later}, {"app.k1", "b", later}};
    unsigned char rep[8];
    memset(rep, 9, sizeof(rep));
    assert_int_equal(f->s->ops->add_nonces(f->s, b1, 2, rep, &err), 0);
    assert_int_equal(rep[0], 0);
    assert_int_equal(rep[1], 0);

    /* the same nonce again (for the same key, or another key) is stored, never flagged */
    rta_nonce_record b2[] = {
        {"app.k1", "a", later + 5}, {"app.k1", "c", later}, {"app.k2", "a", later}};
    memset(rep, 9, sizeof(rep));
    assert_int_equal(f->s->ops->add_nonces(f->s, b2, 3, rep, &err), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(rep[i], 0);

    /* an expired record does not list; a later live one for the same nonce does */
    add_nonce(f->s, "app.k1", "old", now_ms() - 1000, 0);
    add_nonce(f->s, "app.k1", "old", later, 0);
    reopen(f); /* persisted across reopen */

    lines l = list_nonces(f->s, now_ms());
    assert_int_equal(l.n, 5); /* k1: a b c old; k2: a, each once */
    static const char *want[] = {"app.k1|a", "app.k1|b", "app.k1|c", "app.k2|a", "app.k1|old"};
    for (size_t i = 0; i < 5; i++)
        assert_true(lines_has(&l, want[i]));
    lines_free(&l);

    assert_int_equal(f->s->ops->add_nonces(f->s, NULL, 0, NULL, &err), 0);
}

static void test_list_nonces_skips_expired_and_purge(void **state)
{
    fixture *f = *state;
    rta_error err;
    int64_t t = 1000000;
    add_nonce(f->s, "app.k1", "past", t - 1, 0);
    add_nonce(f->s, "app.k1", "edge", t, 0);
    add_nonce(f->s, "app.k1", "future", now_ms() + 60000, 0);
    add_rev(f->s, "app.k1", "clientId:past", 1, 1, t - 1);
    add_rev(f->s, "app.k1", "clientId:edge", 1, 1, t);
    add_rev(f->s, "app.k1", "clientId:future", 1, 1, t + 1);

    lines n = list_nonces(f->s, t);
    assert_int_equal(n.n, 1);
    assert_string_equal(n.v[0], "app.k1|future");
    lines_free(&n);

    /* The journal purges whole minutes: at t the minute of "past" and "edge" is not over, so
     * they are still stored (and still never listed once expired); a minute later they go. */
    assert_int_equal(f->s->ops->purge(f->s, t, &err), 0);
    reopen(f);
    n = list_nonces(f->s, 0); /* everything still stored */
    assert_int_equal(n.n, 3);
    lines_free(&n);
    lines r = list_revs(f->s, 0); /* revocations purge exactly */
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0], "app.k1|clientId:future|1|1|1000001");
    lines_free(&r);
    assert_int_equal(f->s->ops->purge(f->s, t + 60000, &err), 0);
    n = list_nonces(f->s, 0);
    assert_int_equal(n.n, 1);
    assert_string_equal(n.v[0], "app.k1|future");
    lines_free(&n);
    assert_int_equal(f->s->ops->purge(f->s, t, &err), 0); /* idempotent */
}

/* ---- a second connection: change polling, concurrent writers -------------------------------- */

static void test_poll_changes_sees_other_connection(void **state)
{
    fixture *f = *state;
    rta_error err;
    int changed = -1;
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);
    assert_int_equal(changed, 0);

    /* A change made between open and the first poll is reported. */
    rta_store *cli = open_store(f->dir);
    create_app(cli, "app", "app.k1");
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);
    assert_int_equal(changed, 0);
    lines k = list_keys(f->s);
    assert_int_equal(k.n, 1);
    lines_free(&k);

    /* Nonce writes are not admin changes; admin writes count whoever makes them (a reload
     * after our own is harmless, and never misses a concurrent one). */
    add_nonce(f->s, "app.k1", "n", now_ms() + 60000, 0);
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);
    assert_int_equal(changed, 0);
    rta_key_record k2 = key("app", "app.k2");
    assert_int_equal(f->s->ops->add_key(f->s, &k2, &err), 0);
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);
    assert_int_equal(changed, 1);

    assert_int_equal(cli->ops->set_key_enabled(cli, "app.k2", 0, &err), 0);
    add_rev(cli, "app.k1", "clientId:bob", 1, 1, now_ms() + 60000);
    assert_int_equal(f->s->ops->poll_changes(f->s, &changed, &err), 0);
    assert_int_equal(changed, 1);
    lines r = list_revs(f->s, now_ms());
    assert_int_equal(r.n, 1);
    lines_free(&r);
    cli->ops->close(cli);
}

#define CONCURRENT_BATCHES 60
#define CONCURRENT_PER     20

static int write_nonce_batches(rta_store *s, const char *prefix)
{
    int64_t later = now_ms() + 600000;
    for (int b = 0; b < CONCURRENT_BATCHES; b++) {
        char names[CONCURRENT_PER][32];
        rta_nonce_record n[CONCURRENT_PER];
        unsigned char rep[CONCURRENT_PER];
        for (int i = 0; i < CONCURRENT_PER; i++) {
            snprintf(names[i], sizeof(names[i]), "%s-%d-%d", prefix, b, i);
            n[i] = (rta_nonce_record){"app.k1", names[i], later};
        }
        rta_error err;
        if (s->ops->add_nonces(s, n, CONCURRENT_PER, rep, &err) != 0) return -1;
        for (int i = 0; i < CONCURRENT_PER; i++)
            if (rep[i]) return -2;
    }
    return 0;
}

/* Two processes write at once (rtauthd and the CLI): the busy timeout and BEGIN IMMEDIATE
 * make them take turns, with no SQLITE_BUSY surfacing as an error. */
static void test_concurrent_writers(void **state)
{
    fixture *f = *state;
    f->s->ops->close(f->s);
    f->s = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        rta_store *s;
        rta_error err;
        if (rta_store_sqlite_open(f->dir, &s, &err) != 0) _exit(2);
        int rc = write_nonce_batches(s, "child");
        s->ops->close(s);
        _exit(rc == 0 ? 0 : 3);
    }
    f->s = open_store(f->dir);
    assert_int_equal(write_nonce_batches(f->s, "parent"), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    lines n = list_nonces(f->s, now_ms());
    assert_int_equal(n.n, 2 * CONCURRENT_BATCHES * CONCURRENT_PER);
    lines_free(&n);
}

/* rtauthd starting while the CLI creates the first app: several processes open a fresh data
 * dir at the same moment. Switching a new file to WAL needs an exclusive lock that SQLite
 * does not wait for; before open retried it, a few races in a hundred failed here. */
static void test_simultaneous_first_open(void **state)
{
    fixture *f = *state;
    enum { ROUNDS = 25, PROCS = 4 };
    /* No connection may cross a fork (and valgrind would report it as lost in the child). */
    f->s->ops->close(f->s);
    f->s = NULL;
    for (int round = 0; round < ROUNDS; round++) {
        char dir[128];
        snprintf(dir, sizeof(dir), "%s/fresh%d", f->base, round);
        pid_t pids[PROCS];
        for (int i = 0; i < PROCS; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                rta_store *s;
                rta_error err;
                char app[16];
                snprintf(app, sizeof(app), "app%d", i);
                rta_app_record a = {app, "acct", 1, 0};
                if (rta_store_sqlite_open(dir, &s, &err) != 0) _exit(2);
                int rc = s->ops->create_app(s, &a, NULL, 0, &err);
                s->ops->close(s);
                _exit(rc == 0 ? 0 : 3);
            }
        }
        for (int i = 0; i < PROCS; i++) {
            int status;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            assert_true(WIFEXITED(status));
            if (WEXITSTATUS(status) != 0)
                fail_msg("round %d: process %d failed (%d)", round, i, WEXITSTATUS(status));
        }
        rta_store *s = open_store(dir);
        lines a = list_apps(s);
        assert_int_equal(a.n, PROCS);
        lines_free(&a);
        s->ops->close(s);
    }
}

/* ---- kill -9 durability -----------------------------------------------------------------------
 */

/* The child acknowledges each write on the pipe only after the call returned 0, as rtauthd
 * acknowledges clients. One write() per line keeps lines whole (< PIPE_BUF). */
static void ack(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ack(int fd, const char *fmt, ...)
{
    char line[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (write(fd, line, (size_t)n) != n) _exit(4);
}

#define KILL_NONCES 8

static void __attribute__((noreturn)) kill_child(const char *dir, int fd, int round)
{
    rta_store *s;
    rta_error err;
    if (rta_store_sqlite_open(dir, &s, &err) != 0) _exit(2);
    int64_t later = now_ms() + 3600000;
    for (int i = 0;; i++) {
        char name[64], target[64], nonces[KILL_NONCES][64];
        snprintf(name, sizeof(name), "kapp.r%dk%d", round, i);
        rta_key_record k = {name, "kapp", SECRET, CAP, 1, 1, i};
        if (s->ops->add_key(s, &k, &err) != 0) _exit(3);
        ack(fd, "K %s\n", name);

        snprintf(target, sizeof(target), "clientId:r%dc%d", round, i);
        rta_revocation_record r = {"kapp.k0", target, i, i, later};
        if (s->ops->add_revocations(s, &r, 1, &err) != 0) _exit(3);
        ack(fd, "R %s\n", target);

        rta_nonce_record n[KILL_NONCES];
        unsigned char rep[KILL_NONCES];
        for (int j = 0; j < KILL_NONCES; j++) {
            snprintf(nonces[j], sizeof(nonces[j]), "r%dn%d_%d", round, i, j);
            n[j] = (rta_nonce_record){"kapp.k0", nonces[j], later};
        }
        if (s->ops->add_nonces(s, n, KILL_NONCES, rep, &err) != 0) _exit(3);
        ack(fd, "N r%dn%d\n", round, i);
    }
}

/* Reads acks until at least min_acks arrived and delay_ms passed (or max_acks arrived), kills
 * the child with SIGKILL, then drains what it acknowledged before dying. */
static void run_kill_round(const char *dir, int round, int delay_ms, size_t min_acks,
                           size_t max_acks, lines *acks)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        kill_child(dir, p[1], round);
    }
    close(p[1]);
    int64_t start = now_ms();
    char buf[8192];
    size_t have = 0;
    int killed = 0;
    for (;;) {
        int64_t elapsed = now_ms() - start;
        if (!killed && ((elapsed >= delay_ms && acks->n >= min_acks) || acks->n >= max_acks)) {
            assert_int_equal(kill(pid, SIGKILL), 0);
            killed = 1;
        }
        if (!killed && elapsed > 60000) fail_msg("round %d: only %zu acks", round, acks->n);
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (!killed && poll(&pfd, 1, 5) == 0) continue;
        ssize_t got = read(p[0], buf + have, sizeof(buf) - 1 - have);
        if (got < 0 && errno == EINTR) continue;
        assert_true(got >= 0);
        if (got == 0) break; /* the child is dead and everything it wrote is read */
        have += (size_t)got;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            lines_add(acks, "%s", line);
            line = nl + 1;
        }
        have = strlen(line);
        memmove(buf, line, have);
    }
    close(p[0]);
    assert_int_equal(have, 0); /* no torn line */
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status)); /* killed, not exited on a store error */
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void assert_integrity(const char *file)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_kill9_keeps_acknowledged_writes(void **state)
{
    fixture *f = *state;
    create_app(f->s, "kapp", "kapp.k0");
    f->s->ops->close(f->s);
    f->s = NULL;

    /* Kill moments: at once (during open), early, mid-stream, and after many writes. */
    static const struct {
        int delay_ms;
        size_t min_acks, max_acks;
    } rounds[] = {{0, 0, 1}, {20, 3, 500}, {120, 30, 500}, {300, 60, 500}, {1000, 1, 500}};
    size_t total = 0;
    for (int round = 0; round < (int)(sizeof(rounds) / sizeof(rounds[0])); round++) {
        lines acks = {0};
        run_kill_round(f->dir, round, rounds[round].delay_ms, rounds[round].min_acks,
                       rounds[round].max_acks, &acks);
        assert_integrity(f->file);

        f->s = open_store(f->dir);
        lines k = list_keys(f->s), r = list_revs(f->s, now_ms()), n = list_nonces(f->s, now_ms());
        for (size_t i = 0; i < acks.n; i++) {
            const char *what = acks.v[i] + 2;
            char want[160];
            if (acks.v[i][0] == 'K') {
                snprintf(want, sizeof(want), "%s|kapp|" SECRET "|" CAP "|1|1|", what);
                int found = 0;
                for (size_t j = 0; j < k.n && !found; j++)
                    found = strncmp(k.v[j], want, strlen(want)) == 0;
                if (!found) fail_msg("round %d: acked key %s lost", round, what);
            } else if (acks.v[i][0] == 'R') {
                int found = 0;
                snprintf(want, sizeof(want), "kapp.k0|%s|", what);
                for (size_t j = 0; j < r.n && !found; j++)
                    found = strncmp(r.v[j], want, strlen(want)) == 0;
                if (!found) fail_msg("round %d: acked revocation %s lost", round, what);
            } else {
                assert_int_equal(acks.v[i][0], 'N');
                for (int j = 0; j < KILL_NONCES; j++) {
                    snprintf(want, sizeof(want), "kapp.k0|%s_%d", what, j);
                    if (!lines_has(&n, want))
                        fail_msg("round %d: acked nonce %s lost", round, want);
                }
            }
        }
        /* The reopened store takes writes again (the next child also writes after a kill). */
        add_nonce(f->s, "kapp.k0", "after-kill", now_ms() + 60000, 0);
        total += acks.n;
        lines_free(&k);
        lines_free(&r);
        lines_free(&n);
        lines_free(&acks);
        f->s->ops->close(f->s);
        f->s = NULL;
    }
    assert_true(total >= 90); /* the rounds above really acknowledged writes */
}

/* ---- secrets sealed under a KEK ------------------------------------------------------------ */

#define SECRET2 "An0therK3ySecretValue"

static rta_secret_box *kek_box(unsigned char first)
{
    unsigned char kek[RTA_KEK_LEN];
    for (int i = 0; i < RTA_KEK_LEN; i++) kek[i] = (unsigned char)(first + 3 * i);
    rta_secret_box *b = NULL;
    rta_error err;
    assert_int_equal(rta_secret_box_new(kek, &b, &err), 0);
    return b;
}

static rta_store *open_kek(const char *dir, unsigned char first)
{
    rta_store *s = NULL;
    rta_error err;
    int rc = rta_store_sqlite_open_kek(dir, kek_box(first), &s, &err);
    if (rc) fail_msg("open %s with a KEK: %d %s", dir, rc, err.message);
    return s;
}

/* 1 when the bytes of needle occur in the file (absent file: 0). */
static int file_has(const char *path, const void *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *data = malloc(size > 0 ? (size_t)size : 1);
    assert_non_null(data);
    size_t got = fread(data, 1, (size_t)(size > 0 ? size : 0), f);
    fclose(f);
    int found = got >= n && memmem(data, got, needle, n) != NULL;
    free(data);
    return found;
}

/* ... in the database or its WAL. */
static int db_has(const fixture *f, const void *needle, size_t n)
{
    char wal[160];
    snprintf(wal, sizeof(wal), "%s-wal", f->file);
    return file_has(f->file, needle, n) || file_has(wal, needle, n);
}

static const unsigned char server_secret[RTA_SERVER_SECRET_LEN] = "0123456789abcdefServerSecret!!!";

static void add_server_secret(rta_store *s, uint32_t id)
{
    rta_secret_record r = {id, {0}, 77};
    memcpy(r.secret, server_secret, sizeof(r.secret));
    rta_error err;
    assert_int_equal(s->ops->add_secret(s, &r, &err), 0);
}

/* Column 1 of the first row of sql, read by a raw connection, as text (sqlite3_free it). */
static char *raw_text(const fixture *f, const char *sql, int *bytes)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(f->file, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    *bytes = sqlite3_column_bytes(st, 0);
    char *v = sqlite3_malloc(*bytes + 1);
    memcpy(v, sqlite3_column_blob(st, 0), (size_t)*bytes);
    v[*bytes] = '\0';
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const fixture *f, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->file, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
    sqlite3_close(db);
}

/* With a KEK, key secrets and server secrets round-trip through the store but are not in the
 * file: each row is sealed ("kek1" prefix) and nothing of the plaintext is on disk. */
static void test_kek_seals_secrets_at_rest(void **state)
{
    fixture *f = *state;
    f->s->ops->close(f->s);
    f->s = open_kek(f->dir, 1);
    create_app(f->s, "app", "app.k1");
    add_server_secret(f->s, 5);
    lines k = list_keys(f->s);
    assert_int_equal(k.n, 1);
    assert_string_equal(k.v[0], "app.k1|app|" SECRET "|" CAP "|1|1|1000");
    lines_free(&k);
    lines sec = {0};
    rta_error err;
    assert_int_equal(f->s->ops->list_secrets(f->s, secret_cb, &sec, &err), 0);
    assert_int_equal(sec.n, 1);
    assert_string_equal(sec.v[0], "5|303132333435363738396162636465665365727665725365637265742121"
                                  "2100|77");
    lines_free(&sec);

    int n;
    char *v = raw_text(f, "SELECT secret FROM keys", &n);
    assert_memory_equal(v, "kek1:", 5);
    assert_null(strstr(v, SECRET));
    sqlite3_free(v);
    v = raw_text(f, "SELECT secret FROM secrets", &n);
    assert_int_equal(n, 64);
    assert_memory_equal(v, "kek1", 4);
    sqlite3_free(v);
    assert_false(db_has(f, SECRET, strlen(SECRET)));
    assert_false(db_has(f, server_secret, 16));

    /* reopened with the same KEK: the same secrets */
    f->s->ops->close(f->s);
    f->s = open_kek(f->dir, 1);
    k = list_keys(f->s);
    assert_string_equal(k.v[0], "app.k1|app|" SECRET "|" CAP "|1|1|1000");
    lines_free(&k);
}

/* A sealed database opens only with its KEK: without one, or with another, open fails before
 * anything is read, and the message names the database, never a secret. */
static void test_kek_required_and_checked(void **state)
{
    fixture *f = *state;
    f->s->ops->close(f->s);
    f->s = open_kek(f->dir, 1);
    create_app(f->s, "app", "app.k1");
    f->s->ops->close(f->s);
    f->s = NULL;

    rta_store *s = (rta_store *)&s;
    rta_error err;
    assert_int_equal(rta_store_sqlite_open(f->dir, &s, &err), RTA_ERR_INVALID_PARAMETER);
    assert_null(s);
    assert_non_null(strstr(err.message, f->file));
    assert_non_null(strstr(err.message, "encrypted"));
    assert_non_null(strstr(err.message, "--kek-file"));
    assert_int_equal(rta_store_sqlite_open_kek(f->dir, kek_box(2), &s, &err),
                     RTA_ERR_INVALID_PARAMETER);
    assert_null(s);
    assert_non_null(strstr(err.message, "not the one"));
    assert_null(strstr(err.message, SECRET));
    f->s = open_kek(f->dir, 1); /* and the right one still works */
    lines k = list_keys(f->s);
    assert_int_equal(k.n, 1);
    lines_free(&k);
}

/* A database written in plaintext (schema v2, before KEKs existed) is sealed in place when
 * opened with a KEK: every key secret and server secret, and afterwards no plaintext copy is
 * left in the file or its WAL (not in free pages, not in old WAL frames). */
static void test_kek_migrates_plaintext_db(void **state)
{
    fixture *f = *state;
    create_app(f->s, "app", "app.k1");
    rta_key_record k2 = {"app.k2", "app", SECRET2, CAP, 0, 1, 2000};
    rta_error err;
    assert_int_equal(f->s->ops->add_key(f->s, &k2, &err), 0);
    add_server_secret(f->s, 1);
    f->s->ops->close(f->s);
    f->s = NULL;
    /* Back to a version 2 database, as an older rtauthd left it. */
    raw_exec(f, "PRAGMA foreign_keys=OFF; BEGIN;"
                "DROP TRIGGER apps_upd; ALTER TABLE apps DROP COLUMN max_connections;"
                "ALTER TABLE apps DROP COLUMN max_connections_per_client;" /* v4 */
                "DROP TABLE stats;"                                        /* v5 */
                "DROP TRIGGER keys_sealed_ins; DROP TRIGGER keys_sealed_upd;"
                "DROP TRIGGER secrets_sealed_ins;"
                "CREATE TABLE secrets_v2 (id INTEGER NOT NULL PRIMARY KEY,"
                "  secret BLOB NOT NULL CHECK (length(secret) = 32), created INTEGER NOT NULL);"
                "INSERT INTO secrets_v2 SELECT * FROM secrets; DROP TABLE secrets;"
                "ALTER TABLE secrets_v2 RENAME TO secrets;"
                "CREATE TRIGGER secrets_ins AFTER INSERT ON secrets BEGIN"
                "  UPDATE meta SET admin_version = admin_version + 1; END;"
                "ALTER TABLE meta DROP COLUMN kek_check; PRAGMA user_version=2; COMMIT;");
    assert_true(db_has(f, SECRET, strlen(SECRET))); /* the premise: plaintext on disk */
    assert_true(db_has(f, SECRET2, strlen(SECRET2)));
    assert_true(db_has(f, server_secret, 16));

    f->s = open_kek(f->dir, 1);
    lines k = list_keys(f->s);
    assert_int_equal(k.n, 2);
    assert_string_equal(k.v[0], "app.k1|app|" SECRET "|" CAP "|1|1|1000");
    assert_string_equal(k.v[1], "app.k2|app|" SECRET2 "|" CAP "|0|1|2000");
    lines_free(&k);
    lines sec = {0};
    assert_int_equal(f->s->ops->list_secrets(f->s, secret_cb, &sec, &err), 0);
    assert_int_equal(sec.n, 1);
    lines_free(&sec);
    int n;
    char *v = raw_text(f, "SELECT secret FROM secrets", &n);
    assert_int_equal(n, 64);
    sqlite3_free(v);
    assert_false(db_has(f, SECRET, strlen(SECRET)));
    assert_false(db_has(f, SECRET2, strlen(SECRET2)));
    assert_false(db_has(f, server_secret, 16));
    /* A key added afterwards is sealed too; without the KEK the database is refused now. */
    rta_key_record k3 = {"app.k3", "app", "Th1rdSecretValue", CAP, 0, 1, 3000};
    assert_int_equal(f->s->ops->add_key(f->s, &k3, &err), 0);
    assert_false(db_has(f, "Th1rdSecretValue", 16));
    f->s->ops->close(f->s);
    f->s = NULL;
    rta_store *s = NULL;
    assert_int_equal(rta_store_sqlite_open(f->dir, &s, &err), RTA_ERR_INVALID_PARAMETER);
    f->s = open_kek(f->dir, 1);
}

/* A store opened without a KEK before another process sealed the database cannot add a
 * plaintext secret to it afterwards: the database itself refuses (schema v3 triggers). */
static void test_kek_sealed_db_takes_no_plaintext(void **state)
{
    fixture *f = *state;
    create_app(f->s, "app", "app.k1"); /* f->s: opened without a KEK, plaintext so far */
    rta_store *sealer = open_kek(f->dir, 1);
    sealer->ops->close(sealer);
    rta_key_record k2 = {"app.k2", "app", SECRET2, CAP, 0, 1, 2000};
    rta_error err;
    assert_int_not_equal(f->s->ops->add_key(f->s, &k2, &err), 0);
    assert_non_null(strstr(err.message, "KEK"));
    assert_null(strstr(err.message, SECRET2));
    rta_secret_record r = {9, {1, 2, 3}, 1};
    assert_int_not_equal(f->s->ops->add_secret(f->s, &r, &err), 0);
    assert_false(db_has(f, SECRET2, strlen(SECRET2)));
    f->s->ops->close(f->s);
    f->s = open_kek(f->dir, 1);
    lines k = list_keys(f->s);
    assert_int_equal(k.n, 1);
    lines_free(&k);
}

/* Sealed values carry their record's identity: one copied into another row, a changed byte,
 * or a plaintext row slipped into a sealed database are refused when read, naming the row. */
static void test_kek_rows_cannot_be_swapped_or_altered(void **state)
{
    fixture *f = *state;
    f->s->ops->close(f->s);
    f->s = open_kek(f->dir, 1);
    create_app(f->s, "app", "app.k1");
    rta_key_record k2 = {"app.k2", "app", SECRET2, CAP, 0, 1, 2000};
    rta_error err;
    assert_int_equal(f->s->ops->add_key(f->s, &k2, &err), 0);
    add_server_secret(f->s, 1);
    add_server_secret(f->s, 2);
    f->s->ops->close(f->s);
    f->s = NULL;

    /* k2's sealed secret copied onto k1 (an attacker who can write the file but has no KEK
     * wants k1 to take a secret he knows the use of) */
    raw_exec(f, "UPDATE keys SET secret = (SELECT secret FROM keys WHERE key_name = 'app.k2')"
                " WHERE key_name = 'app.k1'");
    rta_store *s = open_kek(f->dir, 1);
    lines l = {0};
    assert_int_equal(s->ops->list_keys(s, key_cb, &l, &err), RTA_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "app.k1"));
    assert_null(strstr(err.message, SECRET2));
    lines_free(&l);
    /* server secret 2's value moved to id 1 */
    raw_exec(f, "UPDATE secrets SET secret = (SELECT secret FROM secrets WHERE id = 2)"
                " WHERE id = 1");
    assert_int_equal(s->ops->list_secrets(s, secret_cb, &l, &err), RTA_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "secret:1"));
    lines_free(&l);
    s->ops->close(s);

    /* one flipped bit in a sealed server secret */
    raw_exec(f, "DELETE FROM secrets WHERE id = 1; DELETE FROM keys WHERE key_name = 'app.k1'");
    int n;
    char *v = raw_text(f, "SELECT secret FROM secrets WHERE id = 2", &n);
    assert_int_equal(n, 64);
    v[40] ^= 1;
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(f->file, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "UPDATE secrets SET secret = ?1 WHERE id = 2", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(st, 1, v, n, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    sqlite3_free(v);
    s = open_kek(f->dir, 1);
    assert_int_equal(s->ops->list_secrets(s, secret_cb, &l, &err), RTA_ERR_INTERNAL);
    lines_free(&l);
    l = list_keys(s); /* k2 is intact */
    assert_int_equal(l.n, 1);
    lines_free(&l);
    s->ops->close(s);

    /* a plaintext key secret inserted behind the store's back (the database refuses it:
     * whoever can write the file can drop the trigger first) */
    assert_int_equal(sqlite3_open(f->file, &db), SQLITE_OK);
    assert_int_not_equal(
        sqlite3_exec(db, "INSERT INTO keys VALUES('app.k9', 'app', 'Plain', '{}', 0, 1, 1)", NULL,
                     NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    raw_exec(f, "DROP TRIGGER keys_sealed_ins;"
                "INSERT INTO keys VALUES('app.k9', 'app', 'Plain', '{}', 0, 1, 1)");
    s = open_kek(f->dir, 1);
    assert_int_equal(s->ops->list_keys(s, key_cb, &l, &err), RTA_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "app.k9"));
    lines_free(&l);
    s->ops->close(s);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_creates_private_dir_and_file),
        T(test_open_tightens_existing_dir_and_files),
        T(test_open_refuses_foreign_open_dir),
        T(test_open_errors),
        T(test_schema_version_and_pragmas),
        T(test_apps_and_keys_roundtrip_and_reopen),
        T(test_create_app_duplicate_and_atomic),
        T(test_app_limits),
        T(test_migration_from_v3_keeps_apps),
        T(test_add_key_and_set_key_enabled),
        T(test_delete_app_cascades),
        T(test_secrets),
        T(test_revocations),
        T(test_nonce_records),
        T(test_list_nonces_skips_expired_and_purge),
        T(test_poll_changes_sees_other_connection),
        T(test_concurrent_writers),
        T(test_simultaneous_first_open),
        T(test_kill9_keeps_acknowledged_writes),
        T(test_kek_seals_secrets_at_rest),
        T(test_kek_required_and_checked),
        T(test_kek_migrates_plaintext_db),
        T(test_kek_sealed_db_takes_no_plaintext),
        T(test_kek_rows_cannot_be_swapped_or_altered),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
