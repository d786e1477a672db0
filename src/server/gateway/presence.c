/* gateway/presence.c: presence on the realtime gateway (RTP2, RTP8-RTP10, RTP14-RTP15 as the
 * server sees them; wire protocol 2.1 HAS_PRESENCE, 2.6 ACK/NACK; checklist S-45, S-46,
 * S-51..S-54).
 *
 * A channel's presence set is a small ordered array of members, each keyed by connection and
 * clientId (RTP2). PRESENCE from a client is checked as a whole (capability 40160, requested
 * mode 40165, clientId 40012/91000, size 40009, limits 91003), then applied, ACKed, and fanned
 * out to the connections attached with the presence-subscribe mode, encoded once per format.
 * An ATTACHED with that mode carries HAS_PRESENCE when the set is not empty and is followed by
 * SYNC pages of "present" members. Members leave on their own (a synthesized LEAVE) when their
 * connection leaves the channel for any reason or loses the presence mode.
 *
 * In cluster mode the same happens where the client is connected, and the events also go to
 * the relay (stored in Redis and sequenced for the other nodes; the PRESENCE is ACKed once
 * it confirmed them); the set also mirrors the other nodes' members (gateway/presence_remote.c).
 *
 * Never: log clientIds or data, hold a member whose connection is not attached, or send a
 * member to a connection without the presence-subscribe mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/capability.h"
#include "server/gateway/internal.h"

/* A SYNC page stops growing at about this many encoded bytes (a single member always fits:
 * its data is bounded by maxMessageSize). */
#define SYNC_PAGE_BYTES (64 * 1024)

enum { ACT_PRESENT = 1, ACT_ENTER = 2, ACT_LEAVE = 3, ACT_UPDATE = 4 }; /* TP2 */

static long find_member(const rta_channel *ch, const rta_conn *c, const char *client_id)
{
    for (size_t i = 0; i < ch->presence_count; i++) {
        const rta_presence_member *p = &ch->presence[i];
        if (p->conn == c && !strcmp(p->client_id, client_id)) return (long)i;
    }
    return -1;
}

void rta__gw_presence_member_clear(rta_presence_member *p)
{
    free(p->client_id);
    free(p->id);
    free(p->encoding);
    free(p->extras);
    free(p->data.ptr);
}

/* Removes member i, keeping the order of the others (SYNC and get() list in entry order). */
static void remove_member(rta_channel *ch, size_t i)
{
    rta_presence_member *p = &ch->presence[i];
    if (p->conn && p->conn->presence_members) p->conn->presence_members--;
    rta__gw_presence_member_clear(p);
    memmove(p, p + 1, (ch->presence_count - i - 1) * sizeof(*p));
    ch->presence_count--;
}

void rta__gw_presence_free(rta_channel *ch)
{
    for (size_t i = 0; i < ch->presence_count; i++)
        rta__gw_presence_member_clear(&ch->presence[i]);
    free(ch->presence);
    ch->presence = NULL;
    ch->presence_count = ch->presence_cap = 0;
    for (size_t i = 0; i < ch->presence_tomb_count; i++)
        free(ch->presence_tombs[i]);
    free(ch->presence_tombs);
    ch->presence_tombs = NULL;
    ch->presence_tomb_count = 0;
}

/* An event owning copies of a member's fields (the member may change or go before the
 * fan-out). `with`, when given, supplies data and encoding instead (a leave with data).
 * Returns 0 or -1. */
static int event_of(rta_presence_message *ev, int action, const rta_presence_member *p,
                    const char *id, int64_t ts, const rta_presence_message *with)
{
    const char *encoding = with ? with->encoding : p->encoding;
    const char *extras = with ? with->extras : p->extras;
    *ev = (rta_presence_message){.action = action, .timestamp = ts};
    ev->id = strdup(id);
    ev->client_id = strdup(p->client_id);
    ev->connection_id = strdup(p->conn_id);
    ev->encoding = encoding ? strdup(encoding) : NULL;
    ev->extras = extras ? strdup(extras) : NULL;
    int bad = !ev->id || !ev->client_id || !ev->connection_id || (encoding && !ev->encoding) ||
              (extras && !ev->extras) || rta_data_copy(&ev->data, with ? &with->data : &p->data);
    if (bad) rta_presence_message_clear(ev);
    return bad ? -1 : 0;
}

/* PRESENCE to every connection attached with presence-subscribe except `except`, one
 * encoding per wire format (as MESSAGE fan-out). Each event carries its own id, clientId,
 * connectionId and timestamp, so nothing is inherited from the ProtocolMessage. */
void rta__gw_presence_broadcast(rta_gateway *gw, rta_channel *ch, const rta_conn *except,
                                rta_presence_message *ev, size_t n, uint64_t at)
{
    if (!n) return;
    char serial[32];
    snprintf(serial, sizeof(serial), "%llu", (unsigned long long)at);
    rta_protocol_message out = {.action = RTA_ACTION_PRESENCE,
                                .has = RTA_PM_HAS_TIMESTAMP,
                                .timestamp = gw->now(),
                                .channel = ch->name,
                                .channel_serial = serial,
                                .presence = ev,
                                .presence_count = n};
    rta__gw_channel_broadcast(ch, &out, RTA_MODE_PRESENCE_SUBSCRIBE, except);
    rta__gw_presence_record(gw, ch, ev, n); /* REST presence history (RSP4) */
}

/* This node's own events. In cluster mode the channel's serials are Redis's: the event gets
 * its own once sequenced (the other nodes send it with that one), so here it carries the
 * last one delivered, which a re-attach can name (RTL4c1) without skipping anything. */
static void broadcast(rta_gateway *gw, rta_channel *ch, const rta_conn *except,
                      rta_presence_message *ev, size_t n)
{
    uint64_t at = gw->relay.presence ? ch->serial : ++ch->serial;
    rta__gw_presence_broadcast(gw, ch, except, ev, n, at);
}

static void clear_events(rta_presence_message *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rta_presence_message_clear(&ev[i]);
    free(ev);
}

size_t rta__gw_presence_conn_left(rta_conn *c, rta_channel *ch)
{
    if (c->claimed && c->gw->relay.presence) { /* resumed on another node: they move there */
        rta__gw_presence_orphan(c, ch);
        return 0;
    }
    size_t n = 0;
    for (size_t i = 0; i < ch->presence_count; i++)
        n += ch->presence[i].conn == c;
    if (!n) return 0;
    rta_presence_message *ev = calloc(n, sizeof(*ev));
    size_t nev = 0;
    int64_t now = c->gw->now();
    for (size_t i = ch->presence_count; i-- > 0;) {
        if (ch->presence[i].conn != c) continue;
        /* A synthesized leave (RTP2b1): its id does not start with the connectionId, so
         * clients order it against the member by timestamp, not by msgSerial. */
        char id[64];
        snprintf(id, sizeof(id), "leave:%s:%zu", c->id, nev);
        if (ev && !event_of(&ev[nev], ACT_LEAVE, &ch->presence[i], id, now, NULL)) nev++;
        remove_member(ch, i);
    }
    broadcast(c->gw, ch, c, ev, nev); /* c is leaving: it clears its own view (RTP5a) */
    rta_gateway *gw = c->gw;
    if (gw->relay.presence && nev) /* the other nodes' mirrors (nobody waits for an answer) */
        gw->relay.presence(gw->relay.ctx, c->auth.app_id, ch->name, ev, nev, NULL, NULL);
    clear_events(ev, nev);
    return n;
}

void rta__gw_presence_modes_changed(rta_conn *c, rta_channel *ch, uint32_t granted)
{
    if (!(granted & RTA_MODE_PRESENCE)) rta__gw_presence_conn_left(c, ch);
}

uint32_t rta__gw_presence_attach_flags(const rta_channel *ch, uint32_t granted)
{
    /* Only a connection that will get the SYNC may be told to wait for one: with
     * HAS_PRESENCE ably-js starts a sync that only a SYNC without a cursor ends (RTP1). */
    return (granted & RTA_MODE_PRESENCE_SUBSCRIBE) && ch->presence_count ? RTA_FLAG_HAS_PRESENCE
                                                                         : 0;
}

static size_t member_bytes(const rta_presence_member *p)
{
    size_t data = p->data.type == RTA_DATA_BINARY ? (p->data.len + 2) / 3 * 4 : p->data.len;
    return 96 + strlen(p->client_id) + strlen(p->id) + strlen(p->conn_id) +
           (p->encoding ? strlen(p->encoding) : 0) + (p->extras ? strlen(p->extras) : 0) + data;
}

rta_presence_message rta__gw_presence_view(const rta_presence_member *p)
{
    return (rta_presence_message){.action = ACT_PRESENT,
                                  .id = p->id,
                                  .client_id = p->client_id,
                                  .connection_id = (char *)p->conn_id,
                                  .encoding = p->encoding,
                                  .timestamp = p->timestamp,
                                  .data = p->data,
                                  .extras = p->extras};
}

/* SYNC pages (RTP18): channelSerial "<syncId>:<cursor>", the cursor naming the next member;
 * the last page has an empty cursor, which ends the sync in ably-js. Always the whole set:
 * ably-js makes every member it had before the sync and does not see in it leave (RTP19).
 * An empty set is one empty page when `even_empty` (the answer to a SYNC request). */
static void send_sync(rta_conn *c, rta_channel *ch, int even_empty)
{
    size_t n = ch->presence_count;
    if (!n) {
        if (!even_empty) return;
        char serial[32];
        snprintf(serial, sizeof(serial), "%llu:", (unsigned long long)ch->serial);
        rta_protocol_message m = {
            .action = RTA_ACTION_SYNC, .channel = ch->name, .channel_serial = serial};
        rta__gw_conn_send(c, &m);
        return;
    }
    rta_presence_message *views = calloc(n, sizeof(*views));
    if (!views) return;
    for (size_t i = 0; i < n; i++) { /* borrowed: never cleared */
        const rta_presence_member *p = &ch->presence[i];
        views[i] = rta__gw_presence_view(p);
    }
    for (size_t start = 0; start < n;) {
        size_t end = start, bytes = 0;
        while (end < n) {
            size_t b = member_bytes(&ch->presence[end]);
            if (end > start && bytes + b > SYNC_PAGE_BYTES) break;
            bytes += b;
            end++;
        }
        char serial[64];
        if (end < n)
            snprintf(serial, sizeof(serial), "%llu:%zu", (unsigned long long)ch->serial, end);
        else
            snprintf(serial, sizeof(serial), "%llu:", (unsigned long long)ch->serial);
        rta_protocol_message m = {.action = RTA_ACTION_SYNC,
                                  .channel = ch->name,
                                  .channel_serial = serial,
                                  .presence = views + start,
                                  .presence_count = end - start};
        rta__gw_conn_send(c, &m);
        start = end;
    }
    free(views);
}

void rta__gw_presence_sync(rta_conn *c, rta_channel *ch, uint32_t granted)
{
    if (granted & RTA_MODE_PRESENCE_SUBSCRIBE) send_sync(c, ch, 0);
}

void rta__gw_presence_sync_request(rta_conn *c, const rta_protocol_message *m)
{
    rta_channel *ch = m->channel ? rta__gw_channel_find(c->gw, c->auth.app_id, m->channel) : NULL;
    long at = ch ? rta__gw_channel_member_index(ch, c) : -1;
    /* not attached, or without presence_subscribe: nothing to sync (ably-js only asks when
     * attached) */
    if (at >= 0 && (ch->modes[at] & RTA_MODE_PRESENCE_SUBSCRIBE)) send_sync(c, ch, 1);
}

/* ---- PRESENCE from a client ------------------------------------------------------------------ */

/* The clientId a presence message acts for (S-51..S-54): an identified connection its own
 * (another is 40012); wildcard and unidentified Basic connections the one given (enterClient,
 * RTP14a/RTP15a); an anonymous token connection none (40012 if it names one). Without any:
 * 91000 (RTP8j, RTP8i). Returns 0 or the error code, with *msg set. */
static int client_id_for(const rta_conn *c, const char *asked, const char **out, const char **msg)
{
    rta_speaker sp = rta_speaker_for(&c->auth, c->client_id);
    if (asked) {
        if (!*asked || !rta_speaker_may_name(&sp, asked)) {
            *msg = "Presence clientId does not match the connection";
            return RTA_ERR_INVALID_CLIENT_ID;
        }
        *out = asked;
        return 0;
    }
    if (!sp.own) {
        *msg = "Cannot enter presence without a clientId";
        return RTA_ERR_PRESENCE_NO_CLIENT_ID;
    }
    *out = sp.own;
    return 0;
}

/* Checks the whole message before anything changes (all or nothing). Returns 0 or the NACK
 * code with *msg set; cids[i] receives each entry's clientId (borrowed). */
static int check(rta_conn *c, rta_channel **chp, const rta_protocol_message *m, const char **cids,
                 const char **msg)
{
    rta_gateway *gw = c->gw;
    if (!m->channel || !*m->channel) {
        *msg = "Invalid channel name";
        return RTA_ERR_INVALID_CHANNEL;
    }
    if (!rta_capability_allows(&c->auth.capability, m->channel, strlen(m->channel),
                               RTA_OP_PRESENCE)) { /* S-45, S-54 */
        *msg = "Permission denied: no presence capability";
        return RTA_ERR_CAPABILITY_DENIED;
    }
    rta_channel *ch = rta__gw_channel_find(gw, c->auth.app_id, m->channel);
    long at = ch ? rta__gw_channel_member_index(ch, c) : -1;
    if (at < 0) { /* members live as long as their attachment: ably-js always attaches first */
        *msg = "Presence requires the channel to be attached";
        return RTA_ERR_CHANNEL_FAILED;
    }
    if (!(ch->requested[at] & RTA_MODE_PRESENCE)) { /* S-46 */
        *msg = "Channel attached without the presence mode";
        return RTA_ERR_MODE_NOT_REQUESTED;
    }
    if (!(ch->modes[at] & RTA_MODE_PRESENCE)) {
        *msg = "Permission denied: no presence capability";
        return RTA_ERR_CAPABILITY_DENIED;
    }
    size_t adds = 0;
    for (size_t i = 0; i < m->presence_count; i++) {
        const rta_presence_message *p = &m->presence[i];
        if (p->action != ACT_ENTER && p->action != ACT_LEAVE && p->action != ACT_UPDATE) {
            *msg = "Invalid presence action";
            return RTA_ERR_BAD_REQUEST;
        }
        int rc = client_id_for(c, p->client_id, &cids[i], msg);
        if (rc) return rc;
        /* Each member's size (clientId, data, encoding; as TO3l8 counts a message) is bounded,
         * not the sum: ably-js sends the presence queued while attaching in one message. */
        size_t bytes = strlen(cids[i]) + p->data.len + (p->encoding ? strlen(p->encoding) : 0) +
                       (p->extras ? strlen(p->extras) : 0);
        if (bytes > (size_t)gw->limits.max_message_size) {
            *msg = "Presence message larger than maxMessageSize";
            return RTA_ERR_MESSAGE_TOO_LARGE;
        }
        if (p->action != ACT_LEAVE && find_member(ch, c, cids[i]) < 0) adds++;
        /* adds may count one new clientId twice (two enters in one message): erring low is
         * safe. Checked as we go, so an oversized message stops early. */
        if (ch->presence_count + adds > RTA_PRESENCE_MAX_MEMBERS) {
            *msg = "Maximum number of presence members on this channel exceeded";
            return RTA_ERR_PRESENCE_LIMIT;
        }
        if (c->presence_members + adds > RTA_PRESENCE_MAX_PER_CONN) {
            *msg = "Maximum number of presence members for this connection exceeded";
            return RTA_ERR_PRESENCE_LIMIT;
        }
    }
    if (rta__gw_presence_reserve(ch, adds)) {
        *msg = "Out of memory";
        return RTA_ERR_INTERNAL;
    }
    *chp = ch;
    return 0;
}

int rta__gw_presence_reserve(rta_channel *ch, size_t adds)
{
    if (!adds || ch->presence_count + adds <= ch->presence_cap) return 0;
    size_t cap = ch->presence_cap ? ch->presence_cap : 4;
    while (cap < ch->presence_count + adds)
        cap *= 2;
    rta_presence_member *grown = realloc(ch->presence, cap * sizeof(*grown));
    if (!grown) return -1;
    ch->presence = grown;
    ch->presence_cap = cap;
    return 0;
}

/* Applies one checked entry; appends its event (if any) to ev[*nev]. Takes p's data and
 * encoding. Returns 0 or -1 (out of memory: this entry is dropped). */
static int apply(rta_conn *c, rta_channel *ch, rta_presence_message *p, const char *cid,
                 const char *id, int64_t now, rta_presence_message *ev, size_t *nev)
{
    long k = find_member(ch, c, cid);
    if (p->action == ACT_LEAVE) {
        if (k < 0) return 0; /* not a member: nothing to do, still ACKed */
        const rta_presence_message *with = p->data.type != RTA_DATA_NONE || p->extras ? p : NULL;
        int rc = event_of(&ev[*nev], ACT_LEAVE, &ch->presence[k], id, now, with);
        if (!rc) (*nev)++;
        remove_member(ch, (size_t)k);
        return rc;
    }
    int action = k < 0 ? ACT_ENTER : ACT_UPDATE; /* an enter of a member is an update */
    char *new_id = strdup(id);
    if (!new_id) return -1;
    if (k < 0) { /* room was reserved by check() */
        char *client_id = strdup(cid);
        if (!client_id) {
            free(new_id);
            return -1;
        }
        k = (long)ch->presence_count++;
        ch->presence[k] = (rta_presence_member){.conn = c, .client_id = client_id};
        snprintf(ch->presence[k].conn_id, sizeof(ch->presence[k].conn_id), "%s", c->id);
        c->presence_members++;
    }
    rta_presence_member *mem = &ch->presence[k];
    free(mem->id);
    free(mem->encoding);
    free(mem->data.ptr);
    mem->id = new_id;
    free(mem->extras);
    mem->encoding = p->encoding; /* taken from the decoded message */
    mem->extras = p->extras;
    mem->data = p->data;
    mem->timestamp = now;
    p->encoding = NULL;
    p->extras = NULL;
    p->data = (rta_data){0};
    if (event_of(&ev[*nev], action, mem, id, now, NULL)) return -1;
    (*nev)++;
    return 0;
}

void rta__gw_presence_handle(rta_conn *c, rta_protocol_message *m)
{
    const char *msg = NULL;
    const char **cids = calloc(m->presence_count ? m->presence_count : 1, sizeof(*cids));
    rta_presence_message *ev = calloc(m->presence_count ? m->presence_count : 1, sizeof(*ev));
    rta_channel *ch = NULL;
    int rc = !cids || !ev ? RTA_ERR_INTERNAL : check(c, &ch, m, cids, &msg);
    if (rc) {
        rta__gw_conn_reply(c, m, rc, msg ? msg : "Out of memory");
        free(cids);
        free(ev);
        return;
    }
    size_t nev = 0;
    int failed = 0;
    int64_t now = c->gw->now();
    for (size_t i = 0; i < m->presence_count; i++) {
        char id[128]; /* RTP2b2: <connectionId>:<msgSerial>:<index> orders a connection's events */
        snprintf(id, sizeof(id), "%s:%lld:%zu", c->id, (long long)m->msg_serial, i);
        failed |= apply(c, ch, &m->presence[i], cids[i], id, now, ev, &nev);
    }
    if (c->gw->relay.presence && nev && !failed) /* answered once the other nodes can see them */
        rta__gw_relay_presence(c, m, ch, ev, nev);
    else
        rta__gw_conn_reply(c, m, failed ? RTA_ERR_INTERNAL : 0, "Out of memory");
    broadcast(c->gw, ch, NULL, ev, nev); /* the sender too: ably-js tracks its own members (RTP17) */
    clear_events(ev, nev);
    free(cids);
}
