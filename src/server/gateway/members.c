/* gateway/members.c: a channel's members (the connections attached to it) with an index by
 * connection, so that "is c attached to ch, and where" (every ATTACH, PRESENCE, MESSAGE on an
 * attached channel, held-message release after a resume) and removing a member (DETACH,
 * close, capability loss) cost O(1) however many connections the channel has. Before, both
 * were a linear scan of the member list.
 *
 * The index is open addressing with linear probing over 2 * cap slots (load at most 1/2);
 * a slot holds a member's position + 1 (0: empty), so it costs 4 bytes per slot and nothing
 * per connection. Keys are our own heap addresses, never chosen by a client, so a fixed
 * multiplicative hash is enough (no flooding to fear, unlike hmap.c's client-chosen keys).
 *
 * Must never: dereference a member (they are only keys here: tests use fake pointers), or
 * leave the index out of step with ch->members on any path, out of memory included. */
#include <stdint.h>
#include <stdlib.h>

#include "server/gateway/internal.h"

static size_t home(const rta_channel *ch, const rta_conn *c)
{
    uint64_t h = (uint64_t)(uintptr_t)c * 0x9E3779B97F4A7C15ULL; /* Fibonacci hashing */
    return (size_t)(h >> 32) & (2 * ch->cap - 1);
}

long rta__gw_channel_member_index(const rta_channel *ch, const rta_conn *c)
{
    if (!ch->count) return -1;
    size_t mask = 2 * ch->cap - 1;
    for (size_t s = home(ch, c);; s = (s + 1) & mask) {
        uint32_t v = ch->index[s];
        if (!v) return -1;
        if (ch->members[v - 1] == c) return (long)v - 1;
    }
}

/* The slot holding member i. */
static size_t slot_of(const rta_channel *ch, size_t i)
{
    size_t mask = 2 * ch->cap - 1;
    size_t s = home(ch, ch->members[i]);
    while (ch->index[s] != i + 1) s = (s + 1) & mask;
    return s;
}

static void index_put(rta_channel *ch, size_t i)
{
    size_t mask = 2 * ch->cap - 1;
    size_t s = home(ch, ch->members[i]);
    while (ch->index[s]) s = (s + 1) & mask;
    ch->index[s] = (uint32_t)(i + 1);
}

/* Empties slot s, shifting later entries of its probe run back so that every entry stays
 * reachable from its home slot (no tombstones: a busy channel never degrades). */
static void index_clear(rta_channel *ch, size_t s)
{
    size_t mask = 2 * ch->cap - 1;
    ch->index[s] = 0;
    for (size_t j = (s + 1) & mask; ch->index[j]; j = (j + 1) & mask) {
        size_t h = home(ch, ch->members[ch->index[j] - 1]);
        /* j's entry may move to s unless its home lies cyclically in (s, j] */
        int stays = s <= j ? (h > s && h <= j) : (h > s || h <= j);
        if (stays) continue;
        ch->index[s] = ch->index[j];
        ch->index[j] = 0;
        s = j;
    }
}

/* Room for one more member: the arrays double, the index is rebuilt at twice the size. */
static int grow(rta_channel *ch)
{
    size_t cap = ch->cap ? ch->cap * 2 : 4;
    if (cap > UINT32_MAX / 4) return -1; /* positions + 1 fit a slot; 2 * cap slots fit size_t */
    rta_conn **m = realloc(ch->members, cap * sizeof(*m));
    if (m) ch->members = m;
    uint32_t *md = m ? realloc(ch->modes, cap * sizeof(*md)) : NULL;
    if (md) ch->modes = md;
    uint32_t *rq = md ? realloc(ch->requested, cap * sizeof(*rq)) : NULL;
    if (rq) ch->requested = rq;
    uint32_t *ln = rq ? realloc(ch->links, cap * sizeof(*ln)) : NULL;
    if (ln) ch->links = ln;
    uint32_t *ix = ln ? calloc(2 * cap, sizeof(*ix)) : NULL;
    if (!ix) return -1; /* the arrays that grew are merely bigger: cap still tells the truth */
    free(ch->index);
    ch->index = ix;
    ch->cap = cap;
    for (size_t i = 0; i < ch->count; i++) index_put(ch, i);
    return 0;
}

long rta__gw_members_add(rta_channel *ch, rta_conn *c, uint32_t modes, uint32_t requested,
                      uint32_t link)
{
    if (ch->count == ch->cap && grow(ch)) return -1;
    size_t i = ch->count++;
    ch->members[i] = c;
    ch->modes[i] = modes;
    ch->requested[i] = requested;
    ch->links[i] = link;
    index_put(ch, i);
    return (long)i;
}

void rta__gw_members_remove(rta_channel *ch, size_t i)
{
    size_t last = ch->count - 1;
    index_clear(ch, slot_of(ch, i));
    if (i != last) { /* the last member moves into the hole; its slot follows it */
        ch->index[slot_of(ch, last)] = (uint32_t)(i + 1);
        ch->members[i] = ch->members[last];
        ch->modes[i] = ch->modes[last];
        ch->requested[i] = ch->requested[last];
        ch->links[i] = ch->links[last];
    }
    ch->count--;
}

void rta__gw_members_free(rta_channel *ch)
{
    free(ch->members);
    free(ch->modes);
    free(ch->requested);
    free(ch->links);
    free(ch->index);
    ch->members = NULL;
    ch->modes = ch->requested = ch->links = ch->index = NULL;
    ch->count = ch->cap = 0;
}
