/* store/nonce_journal.c: append-only nonce segments; see store/nonce_journal.h. Never puts a nonce in
 * an error message. */
#include "server/store/nonce_journal.h"

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/hmap.h"
#include "server/store/private_files.h"

#define SEGMENT_MS 60000 /* one file per expiry minute */
#define MAGIC 0xA5
#define HEADER 12 /* magic, keyLen, nonceLen(2), expires(8) */
#define OPEN_SEGMENTS 4

/* add() may run on the event loop (store.h add_nonces_local) while purge() or list() run on
 * the store thread: the lock keeps the open-segment table consistent. */
struct rta_nonce_journal {
    pthread_mutex_t lock;
    char dir[1100];
    struct {
        int64_t minute;
        int fd;
    } open[OPEN_SEGMENTS]; /* recently written segments, fd -1 when unused */
    unsigned next_slot;
};

static int fail(rta_error *err, const char *what)
{
    return rta_error_set(err, RTA_ERR_INTERNAL, "nonce journal: %s: %s", what, strerror(errno));
}

/* Cuts a segment at its first torn or invalid record, so that records appended later
 * (after an OS crash left half a record) are not hidden behind it. Returns 0 or -1. */
static int repair_segment(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    if (fseek(f, 0, SEEK_END)) {
        fclose(f);
        return -1;
    }
    long size = ftell(f), good = 0;
    rewind(f);
    unsigned char h[HEADER];
    while (good + HEADER <= size && fread(h, 1, HEADER, f) == HEADER && h[0] == MAGIC && h[1]) {
        long end = good + HEADER + h[1] + ((long)h[2] << 8 | h[3]);
        if (end > size || fseek(f, end, SEEK_SET)) break;
        good = end;
    }
    fclose(f);
    return size > good ? truncate(path, good) : 0;
}

int rta_nonce_journal_open(const char *dir, rta_nonce_journal **out, rta_error *err)
{
    *out = NULL;
    rta_nonce_journal *j = calloc(1, sizeof(*j));
    if (!j) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    pthread_mutex_init(&j->lock, NULL);
    snprintf(j->dir, sizeof(j->dir), "%s/nonces", dir);
    if (rta_private_dir(j->dir, 1, err)) { /* owner-only, like the data directory */
        pthread_mutex_destroy(&j->lock);
        free(j);
        return RTA_ERR_INTERNAL;
    }
    for (int i = 0; i < OPEN_SEGMENTS; i++) j->open[i].fd = -1;
    DIR *d = opendir(j->dir);
    struct dirent *e;
    int rc = 0;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".log") != 0) continue;
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", j->dir, e->d_name);
        repair_segment(path);
        if (rc == 0) rc = rta_private_file(path, 0, err);
    }
    if (d) closedir(d);
    if (rc) {
        rta_nonce_journal_close(j);
        return rc;
    }
    *out = j;
    return 0;
}

void rta_nonce_journal_close(rta_nonce_journal *j)
{
    if (!j) return;
    for (int i = 0; i < OPEN_SEGMENTS; i++)
        if (j->open[i].fd >= 0) close(j->open[i].fd);
    pthread_mutex_destroy(&j->lock);
    free(j);
}

static int segment_fd(rta_nonce_journal *j, int64_t minute, rta_error *err)
{
    for (int i = 0; i < OPEN_SEGMENTS; i++)
        if (j->open[i].fd >= 0 && j->open[i].minute == minute) return j->open[i].fd;
    char path[1200];
    snprintf(path, sizeof(path), "%s/%lld.log", j->dir, (long long)minute);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return fail(err, "open segment"), -1;
    unsigned slot = j->next_slot++ % OPEN_SEGMENTS; /* oldest out: minutes only move forward */
    if (j->open[slot].fd >= 0) close(j->open[slot].fd);
    j->open[slot].fd = fd;
    j->open[slot].minute = minute;
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

static void put_record(rta_buf *b, const rta_nonce_record *n)
{
    size_t kl = strlen(n->key_name), nl = strlen(n->nonce);
    unsigned char h[HEADER];
    uint64_t e = (uint64_t)n->expires;
    h[0] = MAGIC, h[1] = (unsigned char)kl, h[2] = (unsigned char)(nl >> 8), h[3] = (unsigned char)nl;
    for (int i = 0; i < 8; i++) h[4 + i] = (unsigned char)(e >> (56 - 8 * i));
    rta_buf_append(b, h, HEADER);
    rta_buf_append(b, n->key_name, kl);
    rta_buf_append(b, n->nonce, nl);
}

int rta_nonce_journal_add(rta_nonce_journal *j, const rta_nonce_record *n, size_t count,
                          rta_error *err)
{
    /* Records of one batch usually share a minute: one write per distinct minute. */
    unsigned char *done = calloc(count ? count : 1, 1);
    if (!done) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    rta_buf b = RTA_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (done[i]) continue;
        int64_t minute = n[i].expires / SEGMENT_MS;
        rta_buf_reset(&b);
        for (size_t k = i; k < count; k++) {
            if (done[k] || n[k].expires / SEGMENT_MS != minute) continue;
            if (strlen(n[k].key_name) > 255 || strlen(n[k].nonce) > 65535) {
                rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "nonce journal: record too long");
                break;
            }
            put_record(&b, &n[k]);
            done[k] = 1;
        }
        if (rc) break;
        if (b.oom) {
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
            break;
        }
        pthread_mutex_lock(&j->lock);
        int fd = segment_fd(j, minute, err);
        if (fd < 0 || write_all(fd, b.data, b.len) != 0) rc = fd < 0 ? RTA_ERR_INTERNAL : fail(err, "write");
        pthread_mutex_unlock(&j->lock);
    }
    rta_buf_free(&b);
    free(done);
    return rc;
}

typedef struct {
    int64_t expires;
} seen_nonce;

/* Reads one segment into `seen` (latest expiry per key '\0' nonce). */
static void read_segment(const char *path, int64_t now, rta_hmap *seen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    unsigned char h[HEADER];
    char rec[256 + 65536];
    while (fread(h, 1, HEADER, f) == HEADER && h[0] == MAGIC) {
        size_t kl = h[1], nl = (size_t)h[2] << 8 | h[3];
        int64_t e = 0;
        for (int i = 0; i < 8; i++) e = (int64_t)((uint64_t)e << 8 | h[4 + i]);
        if (!kl || fread(rec, 1, kl + nl, f) != kl + nl) break; /* a torn last record */
        memmove(rec + kl + 1, rec + kl, nl);
        rec[kl] = '\0';
        if (e <= now) continue;
        seen_nonce *s = rta_hmap_get(seen, rec, kl + 1 + nl);
        if (s) {
            if (e > s->expires) s->expires = e;
        } else if ((s = malloc(sizeof(*s)))) {
            s->expires = e;
            if (rta_hmap_put(seen, rec, kl + 1 + nl, s, NULL)) free(s);
        }
    }
    fclose(f);
}

int rta_nonce_journal_list(rta_nonce_journal *j, int64_t now,
                           void (*cb)(void *ctx, const rta_nonce_record *n), void *ctx,
                           rta_error *err)
{
    DIR *d = opendir(j->dir);
    if (!d) return fail(err, "opendir");
    rta_hmap seen;
    if (rta_hmap_init(&seen)) {
        closedir(d);
        return rta_error_set(err, RTA_ERR_INTERNAL, "CSPRNG unavailable");
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long long minute = strtoll(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".log") != 0 || (minute + 1) * SEGMENT_MS <= now)
            continue;
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", j->dir, e->d_name);
        read_segment(path, now, &seen);
    }
    closedir(d);
    for (size_t i = 0; i < seen.cap; i++) {
        rta_hmap_slot *s = &seen.slots[i];
        if (!s->key) continue;
        rta_nonce_record r = {s->key, s->key + strlen(s->key) + 1,
                              ((seen_nonce *)s->value)->expires};
        cb(ctx, &r);
        free(s->value);
    }
    rta_hmap_free(&seen);
    return 0;
}

int rta_nonce_journal_purge(rta_nonce_journal *j, int64_t now, rta_error *err)
{
    pthread_mutex_lock(&j->lock);
    DIR *d = opendir(j->dir);
    if (!d) {
        pthread_mutex_unlock(&j->lock);
        return fail(err, "opendir");
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long long minute = strtoll(e->d_name, &end, 10);
        if (end == e->d_name || strcmp(end, ".log") != 0 || (minute + 1) * SEGMENT_MS > now)
            continue;
        for (int i = 0; i < OPEN_SEGMENTS; i++)
            if (j->open[i].fd >= 0 && j->open[i].minute == minute) {
                close(j->open[i].fd);
                j->open[i].fd = -1;
            }
        char path[1400];
        snprintf(path, sizeof(path), "%s/%s", j->dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    pthread_mutex_unlock(&j->lock);
    return 0;
}
