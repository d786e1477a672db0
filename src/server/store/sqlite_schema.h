/* store/sqlite_schema.h: internal to the SQLite store (store/sqlite*.c): opening the database
 * file with safe permissions, its connection settings, and the schema and its migrations.
 * Nothing outside the SQLite store includes this; everything else goes through store.h. */
#ifndef RTA_SERVER_STORE_SQLITE_SCHEMA_H
#define RTA_SERVER_STORE_SQLITE_SCHEMA_H

#include <sqlite3.h>

#include "rtauth/error.h"

/* The schema version this build writes and understands (PRAGMA user_version). */
#define RTA_SQLITE_SCHEMA_VERSION 5

/* The file inside the data directory. */
#define RTA_SQLITE_DB_FILE "rtauth.db"

/* Creates dir (0700) if missing, creates or opens dir/rtauth.db (0600), configures the
 * connection (WAL, busy timeout, foreign keys, synchronous=FULL) and migrates the schema to
 * RTA_SQLITE_SCHEMA_VERSION. Returns 0 and *out, or 50000 with err filled and nothing open. */
int rta__sqlite_open_db(const char *dir, sqlite3 **out, rta_error *err);

#endif
