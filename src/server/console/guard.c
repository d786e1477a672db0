/* console/guard.c: the console's credential, login rate limiter and sessions; see guard.h.
 * Never logs. */
#include "server/console/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rta_console_password_read(const char *path, char *out, size_t size, rta_error *err)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "Cannot open the console password file %s: %s", path,
                             strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                           "Cannot stat the console password file %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                           "The console password file %s is not a regular file", path);
    else if (st.st_mode & 077)
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                           "The console password file %s is mode %04o: group/others can access "
                           "it; make it owner-only (chmod 600 %s)",
                           path, (unsigned)(st.st_mode & 07777), path);
    char buf[RTA_CONSOLE_PASSWORD_MAX + 3]; /* the password, a line end, one byte more */
    size_t n = 0;
    while (rc == 0 && n < sizeof(buf)) {
        ssize_t r = read(fd, buf + n, sizeof(buf) - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                               "Cannot read the console password file %s: %s", path,
                               strerror(errno));
        if (r <= 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (rc == 0) {
        if (n > 0 && buf[n - 1] == '\n') n--;
        if (n > 0 && buf[n - 1] == '\r') n--;
        if (n < RTA_CONSOLE_PASSWORD_MIN || n > RTA_CONSOLE_PASSWORD_MAX || n + 1 > size ||
            memchr(buf, '\0', n) || memchr(buf, '\n', n))
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                               "The console password file %s must hold one line of %d..%d bytes",
                               path, RTA_CONSOLE_PASSWORD_MIN, RTA_CONSOLE_PASSWORD_MAX);
        else {
            memcpy(out, buf, n);
            out[n] = '\0';
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

static void mac(const unsigned char key[32], const char *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, 32, (const unsigned char *)data, len, out, &n);
}

int rta_console_guard_init(rta_console_guard *g, const char *password, size_t len,
                           rta_error *err)
{
    memset(g, 0, sizeof(*g));
    g->idle_ms = RTA_CONSOLE_IDLE_MS;
    g->absolute_ms = RTA_CONSOLE_ABSOLUTE_MS;
    g->global.tokens_milli = RTA_CONSOLE_GLOBAL_BURST * 1000LL;
    g->global.at = -1;
    if (RAND_bytes(g->mac_key, sizeof(g->mac_key)) != 1)
        return rta_error_set(err, RTA_ERR_INTERNAL, "CSPRNG failed");
    mac(g->mac_key, password, len, g->password_mac);
    return 0;
}

void rta_console_guard_clear(rta_console_guard *g)
{
    OPENSSL_cleanse(g, sizeof(*g));
}

int rta_console_password_ok(const rta_console_guard *g, const char *candidate, size_t len)
{
    unsigned char m[32];
    mac(g->mac_key, candidate, len, m);
    int ok = CRYPTO_memcmp(m, g->password_mac, sizeof(m)) == 0;
    OPENSSL_cleanse(m, sizeof(m));
    return ok;
}

/* ---- the failed-login limiter ------------------------------------------------------------ */

/* Brings b up to now: one token per refill_ms, at most burst. A fresh bucket (at < 0) is full. */
static void refill(rta_console_bucket *b, int64_t now, int64_t burst, int64_t refill_ms)
{
    if (b->at < 0 || now < b->at) {
        if (b->at < 0) b->tokens_milli = burst * 1000;
        b->at = now;
        return;
    }
    int64_t gained = (now - b->at) * 1000 / refill_ms;
    b->tokens_milli += gained;
    /* advance by the time these milli-tokens took, so frequent calls lose no fraction */
    b->at += gained * refill_ms / 1000;
    if (b->tokens_milli >= burst * 1000) {
        b->tokens_milli = burst * 1000;
        b->at = now;
    }
}

/* ms until b holds a whole token (0: it does). */
static int64_t wait_of(const rta_console_bucket *b, int64_t refill_ms)
{
    if (b->tokens_milli >= 1000) return 0;
    return (1000 - b->tokens_milli) * refill_ms / 1000 + 1;
}

/* addr's bucket; create: take a free slot or the stalest one. NULL when absent and !create. */
static rta_console_bucket *peer(rta_console_guard *g, const char *addr, int create)
{
    rta_console_bucket *stalest = NULL;
    for (size_t i = 0; i < RTA_CONSOLE_PEERS; i++) {
        rta_console_bucket *b = &g->peers[i];
        if (b->addr[0] && !strncmp(b->addr, addr, sizeof(b->addr) - 1)) return b;
        if (!stalest || !b->addr[0] || (stalest->addr[0] && b->at < stalest->at)) stalest = b;
    }
    if (!create) return NULL;
    memset(stalest, 0, sizeof(*stalest));
    snprintf(stalest->addr, sizeof(stalest->addr), "%s", addr[0] ? addr : "?");
    stalest->at = -1;
    return stalest;
}

int64_t rta_console_login_wait(rta_console_guard *g, const char *addr, int64_t now)
{
    refill(&g->global, now, RTA_CONSOLE_GLOBAL_BURST, RTA_CONSOLE_GLOBAL_REFILL_MS);
    int64_t wait = wait_of(&g->global, RTA_CONSOLE_GLOBAL_REFILL_MS);
    rta_console_bucket *b = peer(g, addr, 0);
    if (b) {
        refill(b, now, RTA_CONSOLE_PEER_BURST, RTA_CONSOLE_PEER_REFILL_MS);
        int64_t w = wait_of(b, RTA_CONSOLE_PEER_REFILL_MS);
        if (w > wait) wait = w;
    }
    return wait;
}

void rta_console_login_failed(rta_console_guard *g, const char *addr, int64_t now)
{
    rta_console_bucket *b = peer(g, addr, 1);
    refill(b, now, RTA_CONSOLE_PEER_BURST, RTA_CONSOLE_PEER_REFILL_MS);
    refill(&g->global, now, RTA_CONSOLE_GLOBAL_BURST, RTA_CONSOLE_GLOBAL_REFILL_MS);
    if (b->tokens_milli >= 1000) b->tokens_milli -= 1000;
    if (g->global.tokens_milli >= 1000) g->global.tokens_milli -= 1000;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static int random_hex(char out[RTA_CONSOLE_ID_CHARS + 1])
{
    unsigned char r[RTA_CONSOLE_ID_CHARS / 2];
    if (RAND_bytes(r, sizeof(r)) != 1) return -1;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(r); i++) {
        out[2 * i] = hex[r[i] >> 4];
        out[2 * i + 1] = hex[r[i] & 15];
    }
    out[RTA_CONSOLE_ID_CHARS] = '\0';
    OPENSSL_cleanse(r, sizeof(r));
    return 0;
}

static int expired(const rta_console_guard *g, const rta_console_session *s, int64_t now)
{
    return now - s->last_used >= g->idle_ms || now - s->created >= g->absolute_ms;
}

static void end(rta_console_session *s)
{
    OPENSSL_cleanse(s, sizeof(*s));
}

const rta_console_session *rta_console_session_new(rta_console_guard *g, int64_t now)
{
    rta_console_session *slot = NULL;
    for (size_t i = 0; i < RTA_CONSOLE_SESSIONS_MAX; i++) {
        rta_console_session *s = &g->sessions[i];
        if (s->id[0] && expired(g, s, now)) end(s);
        if (!s->id[0]) {
            if (!slot || slot->id[0]) slot = s;
        } else if (!slot || (slot->id[0] && s->last_used < slot->last_used)) {
            slot = s;
        }
    }
    end(slot); /* free, or the least recently used */
    if (random_hex(slot->id) || random_hex(slot->csrf)) {
        end(slot);
        return NULL;
    }
    slot->created = slot->last_used = now;
    return slot;
}

static rta_console_session *lookup(rta_console_guard *g, const char *id)
{
    if (!id || strlen(id) != RTA_CONSOLE_ID_CHARS) return NULL;
    rta_console_session *found = NULL;
    for (size_t i = 0; i < RTA_CONSOLE_SESSIONS_MAX; i++) { /* every slot: no early exit */
        rta_console_session *s = &g->sessions[i];
        if (s->id[0] && CRYPTO_memcmp(s->id, id, RTA_CONSOLE_ID_CHARS) == 0) found = s;
    }
    return found;
}

const rta_console_session *rta_console_session_find(rta_console_guard *g, const char *id,
                                                    int64_t now)
{
    rta_console_session *s = lookup(g, id);
    if (!s) return NULL;
    if (expired(g, s, now)) {
        end(s);
        return NULL;
    }
    s->last_used = now;
    return s;
}

void rta_console_session_end(rta_console_guard *g, const char *id)
{
    rta_console_session *s = lookup(g, id);
    if (s) end(s);
}

int rta_console_csrf_ok(const rta_console_session *s, const char *token)
{
    return token && strlen(token) == RTA_CONSOLE_ID_CHARS &&
           CRYPTO_memcmp(s->csrf, token, RTA_CONSOLE_ID_CHARS) == 0;
}

size_t rta_console_session_count(rta_console_guard *g, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < RTA_CONSOLE_SESSIONS_MAX; i++) {
        rta_console_session *s = &g->sessions[i];
        if (s->id[0] && expired(g, s, now)) end(s);
        n += s->id[0] != 0;
    }
    return n;
}
