/* console/guard.h: what stands between the network and the operator console (issue 18): the
 * admin credential, the failed-login rate limiter and the session table. Pure logic with the
 * clock passed in (tests/unit/test_console_guard.c drives it); no I/O but reading the password
 * file, no threads (the loop thread only).
 *
 *   - The password is never kept: only HMAC-SHA256(k, password) under a random per-process k.
 *     A candidate is MACed the same way and compared with CRYPTO_memcmp, so the comparison
 *     takes the same time whatever the candidate's length or content.
 *   - Failed logins spend a token from the caller's address's bucket and from a global one
 *     (token buckets); an empty bucket refuses the next attempt before the password is even
 *     looked at (42910 with Retry-After). A success spends nothing.
 *   - Sessions: at most RTA_CONSOLE_SESSIONS_MAX, each with a 256-bit CSPRNG id (the cookie)
 *     and its own 256-bit CSRF token; a session ends after RTA_CONSOLE_IDLE_MS without use or
 *     RTA_CONSOLE_ABSOLUTE_MS after login, whichever is first, or at logout. A new login when
 *     the table is full ends the least recently used session.
 *
 * Must never: log or return the password, a session id or a CSRF token in an error message. */
#ifndef RTA_SERVER_CONSOLE_GUARD_H
#define RTA_SERVER_CONSOLE_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "rtauth/error.h"

#define RTA_CONSOLE_SESSIONS_MAX 32
#define RTA_CONSOLE_IDLE_MS (30LL * 60 * 1000)       /* 30 minutes without a request */
#define RTA_CONSOLE_ABSOLUTE_MS (12LL * 3600 * 1000) /* 12 hours after login */
#define RTA_CONSOLE_ID_CHARS 64                      /* hex of 32 random bytes */
#define RTA_CONSOLE_PASSWORD_MIN 12
#define RTA_CONSOLE_PASSWORD_MAX 1024
/* failed logins: per address, a burst then one more every PEER_REFILL_MS; all addresses
 * together, a larger burst then one every GLOBAL_REFILL_MS */
#define RTA_CONSOLE_PEER_BURST 5
#define RTA_CONSOLE_PEER_REFILL_MS 12000
#define RTA_CONSOLE_GLOBAL_BURST 30
#define RTA_CONSOLE_GLOBAL_REFILL_MS 2000
#define RTA_CONSOLE_PEERS 256 /* addresses tracked; the stalest is forgotten first */

typedef struct rta_console_session {
    char id[RTA_CONSOLE_ID_CHARS + 1];   /* "" = free slot */
    char csrf[RTA_CONSOLE_ID_CHARS + 1];
    int64_t created, last_used;          /* ms */
} rta_console_session;

typedef struct rta_console_bucket {
    char addr[64]; /* "" = free (the global bucket has none) */
    int64_t at;    /* when tokens was last brought up to date, ms */
    int64_t tokens_milli; /* tokens x 1000 */
} rta_console_bucket;

typedef struct rta_console_guard {
    unsigned char mac_key[32];
    unsigned char password_mac[32];
    int64_t idle_ms, absolute_ms; /* RTA_CONSOLE_*_MS; tests may shorten them */
    rta_console_session sessions[RTA_CONSOLE_SESSIONS_MAX];
    rta_console_bucket peers[RTA_CONSOLE_PEERS];
    rta_console_bucket global;
} rta_console_guard;

/* Reads the admin password from path: a regular file that only its owner may access (as the
 * KEK file, store/secret_box.c: checked on the open descriptor), holding one line of
 * RTA_CONSOLE_PASSWORD_MIN..RTA_CONSOLE_PASSWORD_MAX bytes (a final line end is dropped).
 * Writes it to out (size bytes, NUL-terminated). Returns 0, or 40003 with err naming the
 * file and what is wrong with it (never its content). */
int rta_console_password_read(const char *path, char *out, size_t size, rta_error *err);

/* Keeps the password's MAC under a fresh random key. Returns 0 or 50000 (CSPRNG). */
int rta_console_guard_init(rta_console_guard *g, const char *password, size_t len,
                           rta_error *err);
/* Forgets every secret (OPENSSL_cleanse). */
void rta_console_guard_clear(rta_console_guard *g);

/* 1 when candidate is the password (constant time in the candidate's content). */
int rta_console_password_ok(const rta_console_guard *g, const char *candidate, size_t len);

/* 0 when addr may try a login now; else the milliseconds until it may (429 Retry-After). */
int64_t rta_console_login_wait(rta_console_guard *g, const char *addr, int64_t now);
/* A failed login from addr: spends a token from its bucket and the global one. */
void rta_console_login_failed(rta_console_guard *g, const char *addr, int64_t now);

/* A new session (ending the least recently used when the table is full). Returns it, or NULL
 * when the CSPRNG fails. Valid until the next call that changes the table. */
const rta_console_session *rta_console_session_new(rta_console_guard *g, int64_t now);
/* The live session whose id is id (NULL when none, expired (then freed), or malformed); its
 * last use becomes now. */
const rta_console_session *rta_console_session_find(rta_console_guard *g, const char *id,
                                                    int64_t now);
/* Ends the session with that id, if any. */
void rta_console_session_end(rta_console_guard *g, const char *id);
/* 1 when token is s's CSRF token (constant time). */
int rta_console_csrf_ok(const rta_console_session *s, const char *token);
/* Live sessions (expired ones are freed first). */
size_t rta_console_session_count(rta_console_guard *g, int64_t now);

#endif
