/* store/nonce_journal.h: used TokenRequest nonces, kept in append-only segment files beside the
 * SQLite database (the SQLite store's add_nonces/list_nonces/purge).
 *
 * Why not a table: a nonce lives for its 2-minute window and is only ever read back at
 * start. As SQLite rows, each requestToken cost index pages, WAL frames and, every thousand
 * pages, a checkpoint with an fsync on the write path (replies stalled 10-40 ms whenever the
 * disk was busy). Here a batch is one write() to the segment of its expiry minute; a whole
 * segment is deleted once its minute has passed.
 *
 * Durability: a write() that returned is in the kernel's page cache, so a kill -9 of rtauthd
 * loses nothing acknowledged. An OS crash or power loss can lose the last seconds of nonces,
 * which reopens the rest of their window to whoever holds those exact signed TokenRequests;
 * keys, secrets and revocations stay in SQLite with synchronous=FULL.
 *
 * Records: 0xA5, keyLen (1 byte), nonceLen (2, big-endian), expires (8, big-endian), key,
 * nonce. Opening the journal cuts each segment at its first torn or invalid record (an OS
 * crash mid-write), so later appends are never hidden behind it. Appends use O_APPEND, so
 * two processes may add to one segment.
 */
#ifndef RTA_SERVER_NONCE_JOURNAL_H
#define RTA_SERVER_NONCE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rtauth/error.h"
#include "server/store/store.h"

typedef struct rta_nonce_journal rta_nonce_journal;

/* dir/nonces, created 0700. Returns 0 or 50000. */
int rta_nonce_journal_open(const char *dir, rta_nonce_journal **out, rta_error *err);
void rta_nonce_journal_close(rta_nonce_journal *j);

int rta_nonce_journal_add(rta_nonce_journal *j, const rta_nonce_record *n, size_t count,
                          rta_error *err);
/* Each unexpired (key, nonce) once, with its latest expiry. */
int rta_nonce_journal_list(rta_nonce_journal *j, int64_t now,
                           void (*cb)(void *ctx, const rta_nonce_record *n), void *ctx,
                           rta_error *err);
/* Deletes segments whose every record has expired by now. */
int rta_nonce_journal_purge(rta_nonce_journal *j, int64_t now, rta_error *err);

#endif
