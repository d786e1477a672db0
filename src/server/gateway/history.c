/* gateway/history.c: per-channel windows of recent messages; see gateway/history.h.
 * Each channel keeps a ring of entries, oldest first, growing by doubling up to
 * max_messages; channels sit on a list ordered by their last append, which is the order in
 * which the byte budget evicts. It never logs message contents. */
#include "server/gateway/history.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    uint64_t seq;
    int64_t arrived; /* server time of the append: what max_age_ms counts from */
    size_t bytes;    /* accounted size */
    rta_message msg; /* owned */
} entry;

struct rta_history_channel {
    char *key; /* app id, NUL, channel name (the map copies it; this copy is for deletion) */
    size_t key_len;
    entry *ring;
    size_t cap, head, count;          /* ring[head] is the oldest */
    rta_history_channel *prev, *next; /* eviction list: prev is older */
};

void rta_history_limits_default(rta_history_limits *l)
{
    l->max_messages = 1000;
    l->max_age_ms = 120000;
    l->max_bytes = 64u * 1024 * 1024;
}

int rta_history_init(rta_history *h, const rta_history_limits *limits)
{
    memset(h, 0, sizeof(*h));
    if (limits)
        h->limits = *limits;
    else
        rta_history_limits_default(&h->limits);
    if (h->limits.max_messages == 0) h->limits.max_messages = 1;
    h->next_seq = 1;
    return rta_hmap_init(&h->channels);
}

static size_t str_bytes(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

/* What one entry costs: the message's heap strings and data, plus the entry itself. */
static size_t entry_bytes(const rta_message *m)
{
    size_t data = m->data.type != RTA_DATA_NONE ? m->data.len + 1 : 0;
    return sizeof(entry) + str_bytes(m->id) + str_bytes(m->name) + str_bytes(m->client_id) +
           str_bytes(m->connection_id) + str_bytes(m->encoding) + str_bytes(m->extras) + data;
}

static entry *at(rta_history_channel *ch, size_t i)
{
    return &ch->ring[(ch->head + i) % ch->cap];
}

static void pop_oldest(rta_history *h, rta_history_channel *ch)
{
    entry *e = at(ch, 0);
    h->bytes -= e->bytes;
    h->entries--;
    rta_message_clear(&e->msg);
    ch->head = (ch->head + 1) % ch->cap;
    ch->count--;
}

static void unlink_channel(rta_history *h, rta_history_channel *ch)
{
    if (ch->prev)
        ch->prev->next = ch->next;
    else
        h->oldest = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    else
        h->newest = ch->prev;
    ch->prev = ch->next = NULL;
}

static void link_newest(rta_history *h, rta_history_channel *ch)
{
    ch->prev = h->newest;
    ch->next = NULL;
    if (h->newest)
        h->newest->next = ch;
    else
        h->oldest = ch;
    h->newest = ch;
}

static void channel_free(rta_history *h, rta_history_channel *ch)
{
    while (ch->count)
        pop_oldest(h, ch);
    free(ch->ring);
    free(ch->key);
    free(ch);
}

/* Removes an empty channel from the map and the list, and frees it. */
static void channel_drop(rta_history *h, rta_history_channel *ch)
{
    rta_hmap_del(&h->channels, ch->key, ch->key_len);
    unlink_channel(h, ch);
    channel_free(h, ch);
}

void rta_history_free(rta_history *h)
{
    rta_history_channel *ch = h->oldest;
    while (ch) {
        rta_history_channel *next = ch->next;
        channel_free(h, ch);
        ch = next;
    }
    rta_hmap_free(&h->channels);
    memset(h, 0, sizeof(*h));
}

/* The map key: app id, a NUL, then the name (neither contains a NUL). */
static rta_history_channel *lookup(rta_history *h, const char *app_id, const char *channel,
                                   int create)
{
    char buf[512];
    size_t len;
    char *key = rta_hmap_pair_key(app_id, '\0', channel, buf, sizeof(buf), &len);
    if (!key) return NULL;
    rta_history_channel *ch = rta_hmap_get(&h->channels, key, len);
    if (!ch && create) {
        char *own = key != buf ? key : rta_hmap_pair_key(app_id, '\0', channel, NULL, 0, &len);
        ch = own ? calloc(1, sizeof(*ch)) : NULL;
        if (!ch || rta_hmap_put(&h->channels, own, len, ch, NULL)) {
            free(ch);
            free(own);
            return NULL;
        }
        ch->key = own;
        ch->key_len = len;
        link_newest(h, ch);
        return ch;
    }
    if (key != buf) free(key);
    return ch;
}

static void expire(rta_history *h, rta_history_channel *ch, int64_t now)
{
    while (ch->count && now - at(ch, 0)->arrived >= h->limits.max_age_ms)
        pop_oldest(h, ch);
}

/* Room for one more entry: grow the ring, or drop the oldest at max_messages. */
static int make_room(rta_history *h, rta_history_channel *ch)
{
    if (ch->count == h->limits.max_messages) {
        pop_oldest(h, ch);
        return 0;
    }
    if (ch->count < ch->cap) return 0;
    size_t cap = ch->cap ? ch->cap * 2 : 8;
    if (cap > h->limits.max_messages) cap = h->limits.max_messages;
    entry *ring = malloc(cap * sizeof(*ring));
    if (!ring) return -1;
    for (size_t i = 0; i < ch->count; i++)
        ring[i] = *at(ch, i); /* unwrap */
    free(ch->ring);
    ch->ring = ring;
    ch->cap = cap;
    ch->head = 0;
    return 0;
}

/* Over the byte budget: the least recently published channels lose their oldest entries. */
static void evict(rta_history *h, rta_history_channel *keep)
{
    while (h->bytes > h->limits.max_bytes && h->oldest) {
        rta_history_channel *ch = h->oldest;
        if (!ch->count) break; /* only `keep` can be empty here, and it is never over budget */
        pop_oldest(h, ch);
        if (!ch->count && ch != keep) channel_drop(h, ch);
    }
}

/* A copy of m as history shows it (see rta_history_stamp). Returns 0 or -1. */
static int stamped_copy(rta_message *out, const rta_message *m, const rta_history_stamp *st,
                        size_t index)
{
    if (rta_message_copy(out, m)) return -1;
    free(out->connection_id);
    out->connection_id = st->connection_id ? strdup(st->connection_id) : NULL;
    if (!out->timestamp) out->timestamp = st->timestamp;
    int bad = st->connection_id && !out->connection_id;
    if (!out->id && st->id) {
        size_t len = strlen(st->id) + 24;
        out->id = malloc(len);
        if (out->id)
            snprintf(out->id, len, "%s:%zu", st->id, index);
        else
            bad = 1;
    }
    if (bad) rta_message_clear(out);
    return bad ? -1 : 0;
}

int rta_history_append(rta_history *h, const char *app_id, const char *channel,
                       const rta_message *msgs, size_t n, const rta_history_stamp *stamp,
                       int64_t now)
{
    if (!n) return 0;
    rta_history_channel *ch = lookup(h, app_id, channel, 1);
    if (!ch) return RTA_ERR_INTERNAL;
    unlink_channel(h, ch); /* now the most recently published */
    link_newest(h, ch);
    expire(h, ch, now);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rta_message copy;
        if (stamped_copy(&copy, &msgs[i], stamp, i)) {
            rc = RTA_ERR_INTERNAL;
            break;
        }
        size_t bytes = entry_bytes(&copy);
        if (bytes > h->limits.max_bytes || make_room(h, ch)) { /* too big ever to fit, or OOM */
            rc = bytes > h->limits.max_bytes ? 0 : RTA_ERR_INTERNAL;
            rta_message_clear(&copy);
            if (rc) break;
            continue;
        }
        entry *e = &ch->ring[(ch->head + ch->count) % ch->cap];
        e->msg = copy;
        e->seq = h->shared_seq ? (*h->shared_seq)++ : h->next_seq++;
        e->arrived = now;
        e->bytes = bytes;
        ch->count++;
        h->entries++;
        h->bytes += bytes;
        evict(h, ch);
    }
    if (!ch->count) channel_drop(h, ch);
    return rc;
}

static int matches(const entry *e, const rta_history_query *q)
{
    return e->msg.timestamp >= q->start && e->msg.timestamp <= q->end;
}

size_t rta_history_read(rta_history *h, const char *app_id, const char *channel,
                        const rta_history_query *q, int64_t now, const rta_message **out, int *more,
                        uint64_t *next_cursor)
{
    *more = 0;
    *next_cursor = 0;
    rta_history_channel *ch = lookup(h, app_id, channel, 0);
    if (!ch) return 0;
    expire(h, ch, now);
    if (!ch->count) {
        channel_drop(h, ch);
        return 0;
    }
    size_t found = 0;
    for (size_t k = 0; k < ch->count; k++) {
        entry *e = at(ch, q->forwards ? k : ch->count - 1 - k); /* seq rises with k forwards */
        if (q->has_cursor && (q->forwards ? e->seq < q->cursor : e->seq > q->cursor)) continue;
        if (q->has_until && e->seq > q->until) continue; /* after the attach (RTL10b) */
        if (!matches(e, q)) continue;
        if (found == q->limit) {
            *more = 1;
            *next_cursor = e->seq;
            break;
        }
        out[found++] = &e->msg;
    }
    return found;
}

uint64_t rta_history_seq_of(const rta_message *m)
{
    return ((const entry *)((const char *)m - offsetof(entry, msg)))->seq;
}

uint64_t rta_history_position(const rta_history *h)
{
    uint64_t next = h->shared_seq ? *h->shared_seq : h->next_seq;
    return next ? next - 1 : 0;
}

size_t rta_history_sweep(rta_history *h, int64_t now)
{
    size_t before = h->entries;
    rta_history_channel *ch = h->oldest;
    while (ch) {
        rta_history_channel *next = ch->next;
        expire(h, ch, now);
        if (!ch->count) channel_drop(h, ch);
        ch = next;
    }
    return before - h->entries;
}
