/* channel_order.c: deliver once, in serial order; see channel_order.h. Pure. */
#include "server/channel_order.h"

#include <stdio.h>
#include <string.h>

static void set_epoch(rta_channel_order *o, const char *epoch)
{
    snprintf(o->epoch, sizeof(o->epoch), "%s", epoch ? epoch : "");
}

/* A different epoch than ours: Redis made the channel anew, serials start again at 1. */
static int new_epoch(rta_channel_order *o, const char *epoch)
{
    if (!epoch || !*epoch || !strcmp(o->epoch, epoch)) return 0;
    int had = o->epoch[0] != '\0';
    set_epoch(o, epoch);
    if (!had) return 0; /* the first epoch seen: the head's serials are in it */
    o->last = 0;
    o->want = 0;
    return 1;
}

void rta_channel_order_start(rta_channel_order *o, uint64_t head, const char *epoch)
{
    o->known = 1;
    o->last = head;
    set_epoch(o, epoch);
    if (o->want <= head) o->want = 0;
}

rta_order_verdict rta_channel_order_heard(rta_channel_order *o, uint64_t serial, const char *epoch)
{
    if (!o->known) { /* before the start: the start decides what is before the attach */
        if (serial > o->want) o->want = serial;
        return RTA_ORDER_WAIT;
    }
    new_epoch(o, epoch);
    if (serial <= o->last) return RTA_ORDER_DUPLICATE;
    if (o->reading) {
        if (serial > o->want) o->want = serial;
        return RTA_ORDER_WAIT;
    }
    if (serial == o->last + 1) {
        o->last = serial;
        if (o->want <= serial) o->want = 0;
        return RTA_ORDER_DELIVER;
    }
    if (serial > o->want) o->want = serial;
    o->reading = 1;
    return RTA_ORDER_READ;
}

uint64_t rta_channel_order_read_begin(rta_channel_order *o)
{
    o->reading = 1;
    o->want_at_read = o->want;
    return o->last + 1;
}

int rta_channel_order_read_epoch(rta_channel_order *o, const char *epoch)
{
    int reset = new_epoch(o, epoch);
    if (reset) o->want_at_read = 0;
    return reset;
}

rta_order_verdict rta_channel_order_read(rta_channel_order *o, uint64_t serial, uint64_t *skipped)
{
    *skipped = 0;
    if (serial <= o->last) return RTA_ORDER_DUPLICATE;
    *skipped = serial - o->last - 1;
    o->last = serial;
    return RTA_ORDER_DELIVER;
}

int rta_channel_order_read_done(rta_channel_order *o, int page_full, uint64_t *lost)
{
    *lost = 0;
    if (page_full) return 1;
    if (o->want_at_read > o->last) { /* heard before the read, yet not in the stream: gone */
        *lost = o->want_at_read - o->last;
        o->last = o->want_at_read;
    }
    o->want_at_read = 0;
    if (o->want > o->last) return 1; /* heard during the read: read again */
    o->reading = 0;
    o->want = 0;
    return 0;
}
