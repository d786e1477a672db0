/* store/sqlite_kek.h: internal to the SQLite store (store/sqlite*.c): key secrets and server
 * secrets sealed at rest under the operator's KEK (store/secret_box.h), and the database's KEK mode.
 *
 * A database is either plaintext (meta.kek_check NULL: every secret stored as is) or sealed
 * (meta.kek_check holds a value sealed under the KEK: every secret sealed, with the record's
 * identity as AAD: "key:<keyName>", "secret:<id>"). Opening checks the mode against the KEK
 * given: a sealed database without a KEK, or with another KEK, is refused before any secret
 * is read; a plaintext database opened with a KEK is sealed in place, in one transaction,
 * then compacted so no plaintext copy stays in free pages or the WAL.
 *
 * The row helpers enforce the mode too: with a KEK a plaintext row is refused, without one a
 * sealed row is refused. Errors name the database, key names and secret ids, never secrets. */
#ifndef RTA_SERVER_STORE_SQLITE_KEK_H
#define RTA_SERVER_STORE_SQLITE_KEK_H

#include <sqlite3.h>
#include <stdint.h>

#include "core/key.h"
#include "rtauth/error.h"
#include "server/store/secret_box.h"
#include "server/store/store.h"

/* What a key secret takes in the keys table, NUL included, sealed or not. */
#define RTA_KEK_KEY_SECRET_SIZE RTA_SECRET_BOX_TEXT_SIZE(RTA_KEY_SECRET_MAX)
/* A sealed server secret (the secrets table's CHECK allows this or the 32 plaintext bytes). */
#define RTA_KEK_SERVER_SECRET_SIZE (RTA_SERVER_SECRET_LEN + RTA_SECRET_BOX_OVERHEAD)

/* Checks db's KEK mode against box (NULL: no KEK) and seals a plaintext database when box is
 * given. path names the database in messages. Returns 0; 40003 when the database is sealed
 * and box is NULL or another KEK; 50000 on database errors (nothing changed then). */
int rta__sqlite_kek_attach(sqlite3 *db, const char *path, const rta_secret_box *box,
                           rta_error *err);

/* The value to store for a key secret: sealed text under box, or the secret itself when box
 * is NULL (then out is not used and *stored points at secret). */
int rta__kek_seal_key_secret(const rta_secret_box *box, const char *key_name, const char *secret,
                             char out[RTA_KEK_KEY_SECRET_SIZE], const char **stored,
                             rta_error *err);
/* The key secret from a stored value, NUL-terminated in out (wipe it after use). */
int rta__kek_open_key_secret(const rta_secret_box *box, const char *key_name, const char *stored,
                             char out[RTA_KEY_SECRET_MAX + 1], rta_error *err);

/* The same for a server secret: *stored and *stored_len are out (sealed) or secret. */
int rta__kek_seal_server_secret(const rta_secret_box *box, uint32_t id,
                                const unsigned char secret[RTA_SERVER_SECRET_LEN],
                                unsigned char out[RTA_KEK_SERVER_SECRET_SIZE],
                                const unsigned char **stored, int *stored_len, rta_error *err);
int rta__kek_open_server_secret(const rta_secret_box *box, uint32_t id, const void *stored,
                                int stored_len, unsigned char out[RTA_SERVER_SECRET_LEN],
                                rta_error *err);

#endif
