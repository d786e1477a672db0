/* gateway/dedup.c: the idempotent-publish window; see gateway/dedup.h. Every entry is on two
 * lists, oldest first: all entries (what the window and max_total drop) and its channel's
 * (what max_per_channel drops), so each drop is O(1). It never logs ids. */
#include "server/gateway/dedup.h"

#include <stdlib.h>
#include <string.h>

typedef struct dedup_channel {
    rta_dedup_entry *oldest, *newest;
    size_t count;
    size_t key_len;
    char key[]; /* app NUL channel */
} dedup_channel;

struct rta_dedup_entry {
    rta_dedup_entry *older, *newer;       /* all entries */
    rta_dedup_entry *ch_older, *ch_newer; /* its channel's */
    dedup_channel *ch;
    int64_t at; /* first publish */
    size_t key_len;
    char key[]; /* app NUL channel NUL id */
};

void rta_dedup_limits_default(rta_dedup_limits *l)
{
    l->window_ms = 120000;
    l->max_per_channel = 10000;
    l->max_total = 200000;
    l->max_id_len = 256;
}

int rta_dedup_init(rta_dedup *d, const rta_dedup_limits *limits)
{
    memset(d, 0, sizeof(*d));
    rta_dedup_limits def;
    rta_dedup_limits_default(&def);
    d->limits = limits ? *limits : def;
    if (d->limits.window_ms <= 0) d->limits.window_ms = def.window_ms;
    if (!d->limits.max_per_channel) d->limits.max_per_channel = def.max_per_channel;
    if (!d->limits.max_total) d->limits.max_total = def.max_total;
    if (!d->limits.max_id_len) d->limits.max_id_len = def.max_id_len;
    int rc = rta_hmap_init(&d->ids);
    return rc ? rc : rta_hmap_init(&d->channels);
}

static void drop(rta_dedup *d, rta_dedup_entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        d->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        d->newest = e->older;
    dedup_channel *ch = e->ch;
    if (e->ch_older)
        e->ch_older->ch_newer = e->ch_newer;
    else
        ch->oldest = e->ch_newer;
    if (e->ch_newer)
        e->ch_newer->ch_older = e->ch_older;
    else
        ch->newest = e->ch_older;
    rta_hmap_del(&d->ids, e->key, e->key_len);
    d->count--;
    if (!--ch->count) {
        rta_hmap_del(&d->channels, ch->key, ch->key_len);
        free(ch);
    }
    free(e);
}

void rta_dedup_free(rta_dedup *d)
{
    while (d->oldest)
        drop(d, d->oldest);
    rta_hmap_free(&d->ids);
    rta_hmap_free(&d->channels);
    memset(d, 0, sizeof(*d));
}

size_t rta_dedup_sweep(rta_dedup *d, int64_t now)
{
    size_t n = 0;
    while (d->oldest && now - d->oldest->at >= d->limits.window_ms) {
        drop(d, d->oldest);
        n++;
    }
    return n;
}

int rta_dedup_check(rta_dedup *d, const char *app_id, const char *channel, const char *id,
                    int64_t now)
{
    size_t alen = strlen(app_id), clen = strlen(channel), ilen = strlen(id);
    if (!ilen || ilen > d->limits.max_id_len) return 0;
    rta_dedup_sweep(d, now);
    size_t ch_len = alen + 1 + clen, key_len = ch_len + 1 + ilen;
    rta_dedup_entry *e = malloc(sizeof(*e) + key_len + 1);
    if (!e) return 0;
    memcpy(e->key, app_id, alen + 1);
    memcpy(e->key + alen + 1, channel, clen + 1);
    memcpy(e->key + ch_len + 1, id, ilen + 1);
    e->key_len = key_len;
    if (rta_hmap_get(&d->ids, e->key, key_len)) {
        free(e);
        return 1;
    }
    dedup_channel *ch = rta_hmap_get(&d->channels, e->key, ch_len);
    if (!ch) {
        ch = calloc(1, sizeof(*ch) + ch_len + 1);
        if (!ch || rta_hmap_put(&d->channels, e->key, ch_len, ch, NULL)) {
            free(ch);
            free(e);
            return 0;
        }
        memcpy(ch->key, e->key, ch_len + 1);
        ch->key_len = ch_len;
    }
    if (rta_hmap_put(&d->ids, e->key, key_len, e, NULL)) {
        if (!ch->count) {
            rta_hmap_del(&d->channels, ch->key, ch->key_len);
            free(ch);
        }
        free(e);
        return 0;
    }
    e->at = now;
    e->ch = ch;
    e->newer = e->ch_newer = NULL;
    e->older = d->newest;
    if (d->newest)
        d->newest->newer = e;
    else
        d->oldest = e;
    d->newest = e;
    e->ch_older = ch->newest;
    if (ch->newest)
        ch->newest->ch_newer = e;
    else
        ch->oldest = e;
    ch->newest = e;
    ch->count++;
    d->count++;
    /* the bounds: the channel's oldest first, then everyone's */
    while (ch->count > d->limits.max_per_channel)
        drop(d, ch->oldest); /* never e: count >= 2 */
    while (d->count > d->limits.max_total)
        drop(d, d->oldest);
    return 0;
}
