/* gateway/params.c: channel params on ATTACH (RTL4k, RTL4k1) and the rewind backlog they may
 * ask for (RTL4k, Ably's `rewind` channel param). The ATTACHED carries back only the params
 * honoured: `rewind` (with the history capability: the backlog comes from gateway/history.c,
 * or in cluster mode from the channel's stream through gateway/catch_up.c), nothing
 * else (`delta` among them: no VCDIFF encoder here, so ably-js keeps full payloads; see
 * docs/gateway.md). Values are bounded: a rewind of at most RTA_REWIND_MAX messages and at
 * most the history's age. Never logs params. */
#include <stdlib.h>
#include <string.h>

#include "core/capability.h"
#include "server/gateway/internal.h"

/* "N" (1..RTA_REWIND_MAX messages) or "Ns" / "Nm" (a duration); 0 when it is neither. */
static int parse_rewind(const char *v, rta_rewind *r)
{
    size_t len = strlen(v), digits = strspn(v, "0123456789");
    if (!digits || digits > 6 || (v[0] == '0' && digits > 1)) return 0;
    long n = strtol(v, NULL, 10);
    if (digits == len) {
        if (n < 1 || n > RTA_REWIND_MAX) return 0;
        r->count = (size_t)n;
        r->ms = 0;
        return 1;
    }
    if (digits + 1 != len || n < 1) return 0;
    if (v[digits] == 's')
        r->ms = (int64_t)n * 1000;
    else if (v[digits] == 'm')
        r->ms = (int64_t)n * 60000;
    else
        return 0;
    r->count = RTA_REWIND_MAX;
    return 1;
}

void rta__gw_attach_params(const rta_conn *c, const rta_protocol_message *m, rta_rewind *rewind,
                           rta_protocol_message *reply)
{
    memset(rewind, 0, sizeof(*rewind));
    for (size_t i = 0; i < m->param_count; i++) {
        const char *k = m->param_keys[i], *v = m->param_values[i];
        if (!k || !v || strcmp(k, "rewind")) continue; /* not honoured: dropped (RTL4k1) */
        /* cluster mode: the backlog comes from the channel's stream in Redis, through the
         * relay's backlog reader (gateway/catch_up.c); without one, not honoured */
        if ((c->gw->relay.publish && !c->gw->relay.backlog) || !parse_rewind(v, rewind)) continue;
        /* the backlog is history: a capability without it gets none (and no echo) */
        if (!c->gw->skip_capability_checks &&
            !rta_capability_allows(&c->auth.capability, m->channel, strlen(m->channel),
                                   RTA_OP_HISTORY)) {
            memset(rewind, 0, sizeof(*rewind));
            continue;
        }
        rewind->value = v;
        reply->param_keys = &m->param_keys[i];
        reply->param_values = &m->param_values[i];
        reply->param_count = 1;
    }
}

size_t rta__gw_rewind_read(rta_conn *c, const char *channel, const rta_rewind *rw, rta_message *out,
                           uint64_t *start)
{
    if (!rw->count) return 0;
    rta_gateway *gw = c->gw;
    int64_t now = gw->now();
    rta_history_query q = {.start = rw->ms ? now - rw->ms : INT64_MIN,
                           .end = INT64_MAX,
                           .forwards = 0,
                           .limit = rw->count};
    const rta_message *page[RTA_REWIND_MAX];
    int more;
    uint64_t next;
    size_t n = rta_history_read(&gw->history, c->auth.app_id, channel, &q, now, page, &more, &next);
    for (size_t i = 0; i < n; i++)
        out[i] = *page[n - 1 - i];                       /* oldest first, borrowed */
    if (n) *start = rta_history_seq_of(page[n - 1]) - 1; /* just before the oldest */
    return n;
}
