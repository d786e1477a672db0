/* store/control_log.h: the cluster's control log, the pure part: its entry and doorbell
 * formats, the body of a revocation entry, and the cursor rules that tell a node whether it
 * has every entry (docs/cluster.md, "The control log"). No I/O: the Redis store reads and
 * writes the log (store/redis.h), the process applies entries (server/cluster.c).
 *
 * Every cross-node effect is one entry with a sequence number (1, 2, ...) from one counter,
 * appended by one Redis Function call that also PUBLISHes a doorbell carrying the entry. A
 * node applies doorbells as they come (applying an entry twice is harmless: revocations
 * merge), and keeps a cursor: the last sequence number up to which it has applied every
 * entry, with that entry's stamp (Redis TIME, microseconds). A gap (a doorbell beyond
 * cursor + 1, a head beyond the cursor) is filled from the log; a log that went back, or
 * whose entry at the cursor has another stamp or is gone (a failover that lost
 * unacknowledged entries, a trimmed log, an emptied Redis), means a full reload.
 *
 * Entry types: "rev" (revocations of one key). Later slices add their own types; a node
 * skips types it does not know (but still counts them in the cursor).
 */
#ifndef RTA_SERVER_STORE_CONTROL_LOG_H
#define RTA_SERVER_STORE_CONTROL_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/key.h"
#include "server/store/store.h"

#define RTA_CTL_STAMP_MAX 24
#define RTA_CTL_TYPE_MAX 16
#define RTA_CTL_TYPE_REVOCATIONS "rev"

/* One entry, as read from the log or a doorbell; body is borrowed from the input. */
typedef struct rta_ctl_entry {
    uint64_t seq;
    char stamp[RTA_CTL_STAMP_MAX]; /* "" when unknown */
    char type[RTA_CTL_TYPE_MAX];
    const char *body;
    size_t body_len;
} rta_ctl_entry;

/* A doorbell "<seq> <stamp> <type> <body>" (body may be empty). Returns 0 or -1. */
int rta_ctl_doorbell_parse(const char *msg, size_t len, rta_ctl_entry *out);

/* The body of a "rev" entry: {"k": keyName, "r": [[target, issuedBefore, appliesAt,
 * expires], ...]}. Encode returns 0 and a malloc'd NUL-terminated text, or 50000. */
int rta_ctl_rev_body_encode(const char *key_name, const rta_revocation_record *r, size_t n,
                            char **out);

#define RTA_CTL_REV_MAX 10000 /* records in one entry */

typedef struct rta_ctl_rev_body {
    char key_name[RTA_KEY_NAME_MAX + 1];
    rta_revocation_record *recs; /* one block with the targets; key_name points at the struct's */
    size_t n;
} rta_ctl_rev_body;

/* Returns 0, or -1 for a malformed body (nothing to free then). The encoder's own compact form
 * is read in place; anything else goes through jansson. */
int rta_ctl_rev_body_decode(const char *body, size_t len, rta_ctl_rev_body *out);
void rta_ctl_rev_body_free(rta_ctl_rev_body *b);

/* The two paths, for the differential fuzzer (fuzz/fuzz_control_log.c) and tests: the fast
 * one returns -1 for what it declines as well as for what is malformed. */
int rta__ctl_rev_body_decode_fast(const char *body, size_t len, rta_ctl_rev_body *out);
int rta__ctl_rev_body_decode_json(const char *body, size_t len, rta_ctl_rev_body *out);

/* What a node has applied: every entry up to `applied`, whose stamp is `stamp`. */
typedef struct rta_ctl_cursor {
    uint64_t applied;
    char stamp[RTA_CTL_STAMP_MAX]; /* "" when unknown (then continuity is not checked) */
} rta_ctl_cursor;

typedef enum {
    RTA_CTL_NEXT, /* seq == applied + 1: the cursor moved to it */
    RTA_CTL_SEEN, /* seq <= applied: a duplicate, or a log that went back (a head check
                     tells which) */
    RTA_CTL_GAP,  /* seq > applied + 1: entries in between are missing: read the log */
} rta_ctl_verdict;

/* A doorbell arrived (its content is applied whatever the verdict). */
rta_ctl_verdict rta_ctl_cursor_doorbell(rta_ctl_cursor *c, const rta_ctl_entry *e);

typedef enum {
    RTA_CTL_HEAD_SYNCED, /* head == applied */
    RTA_CTL_HEAD_AHEAD,  /* head > applied: catch up from the log */
    RTA_CTL_HEAD_BEHIND, /* head < applied: the log went back: full reload */
} rta_ctl_head;

/* What the log's head, read from Redis while the cursor was at applied_when_read, says about
 * the cursor c now. The read takes a round trip, and doorbells may move the cursor past the
 * head meanwhile: that head is only stale. The log went back only when the head is below
 * what was applied before it was read (a full reload of every revocation then, and a walk of
 * every connection). */
rta_ctl_head rta_ctl_cursor_head(const rta_ctl_cursor *c, uint64_t head,
                                 uint64_t applied_when_read);

/* A catch-up reads the log from the cursor's own entry (from the start when applied is 0):
 * 1 when `first` (NULL: the range was empty) proves the log continues from the cursor, 0
 * when it does not (full reload). */
int rta_ctl_cursor_continues(const rta_ctl_cursor *c, const rta_ctl_entry *first);

/* Moves the cursor to an entry applied in order (catch-up) or to a full reload's head. */
void rta_ctl_cursor_set(rta_ctl_cursor *c, uint64_t seq, const char *stamp);

#endif
