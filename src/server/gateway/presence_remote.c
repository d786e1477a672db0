/* gateway/presence_remote.c: presence across nodes, the gateway's side (cluster mode;
 * docs/cluster.md, "Presence across nodes"; RTP2, RTP17, RTP18, RTP19).
 *
 * A channel's presence set on a node holds its own connections' members (conn set, as on a
 * single node) and a mirror of the other nodes' members (conn NULL, conn_id naming the
 * connection elsewhere). Local members are changed only by their connection here
 * (gateway/presence.c), which also tells the relay; the mirror is changed only by what the
 * relay sequenced (rta_gateway_presence_remote) and by the read of Redis at the channel's
 * first attach here (rta_gateway_presence_seed). Events of another node's member reach this
 * node's presence subscribers once each, with the channel serial Redis gave them; a LEAVE of
 * a member not in the mirror is not sent (a reaper's repeat, a LEAVE heard twice).
 *
 * A connection resumed from another node takes its members over when it joins a channel
 * here (rta__gw_presence_joined), without an event: on one node a resume keeps its members
 * too. The node it left keeps them as the new node's, without an event
 * (rta__gw_presence_orphan).
 *
 * Never: change a local member from a remote event, or send a member to a connection
 * without the presence-subscribe mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/gateway/internal.h"
#include "server/log.h"

enum { ACT_PRESENT = 1, ACT_ENTER = 2, ACT_LEAVE = 3, ACT_UPDATE = 4 }; /* TP2 */

static long find_any(const rta_channel *ch, const char *conn_id, const char *client_id)
{
    for (size_t i = 0; i < ch->presence_count; i++) {
        const rta_presence_member *p = &ch->presence[i];
        if (!strcmp(p->conn_id, conn_id) && !strcmp(p->client_id, client_id)) return (long)i;
    }
    return -1;
}

static char *tomb_key(const char *conn_id, const char *client_id)
{
    size_t a = strlen(conn_id), b = strlen(client_id);
    char *k = malloc(a + b + 2);
    if (!k) return NULL;
    memcpy(k, conn_id, a);
    k[a] = '\n';
    memcpy(k + a + 1, client_id, b + 1);
    return k;
}

static int tombed(const rta_channel *ch, const char *conn_id, const char *client_id)
{
    char *k = tomb_key(conn_id, client_id);
    int hit = 0;
    for (size_t i = 0; k && !hit && i < ch->presence_tomb_count; i++)
        hit = !strcmp(ch->presence_tombs[i], k);
    free(k);
    return hit;
}

static void tomb_add(rta_channel *ch, const char *conn_id, const char *client_id)
{
    if (ch->presence_tomb_count >= RTA_PRESENCE_MAX_MEMBERS) return; /* bounded */
    char **v = realloc(ch->presence_tombs, (ch->presence_tomb_count + 1) * sizeof(*v));
    if (!v) return;
    ch->presence_tombs = v;
    char *k = tomb_key(conn_id, client_id);
    if (k) v[ch->presence_tomb_count++] = k;
}

/* Sets member p (remote) to the state in e; takes nothing from e. Returns 0 or -1. */
static int set_remote(rta_presence_member *p, const rta_presence_message *e)
{
    char *id = strdup(e->id ? e->id : "");
    char *enc = e->encoding ? strdup(e->encoding) : NULL;
    char *ext = e->extras ? strdup(e->extras) : NULL;
    rta_data d = {0};
    if (!id || (e->encoding && !enc) || (e->extras && !ext) || rta_data_copy(&d, &e->data)) {
        free(id);
        free(enc);
        free(ext);
        free(d.ptr);
        return -1;
    }
    free(p->id);
    free(p->encoding);
    free(p->extras);
    free(p->data.ptr);
    p->id = id;
    p->encoding = enc;
    p->extras = ext;
    p->data = d;
    p->timestamp = e->timestamp;
    return 0;
}

/* A remote member from e at the end of ch's set. Returns 0, -1 (memory or the limit). */
static int add_remote(rta_channel *ch, const rta_presence_message *e)
{
    if (ch->presence_count >= RTA_PRESENCE_MAX_MEMBERS || rta__gw_presence_reserve(ch, 1))
        return -1;
    rta_presence_member *p = &ch->presence[ch->presence_count];
    *p = (rta_presence_member){0};
    snprintf(p->conn_id, sizeof(p->conn_id), "%s", e->connection_id);
    if (!(p->client_id = strdup(e->client_id)) || set_remote(p, e)) {
        rta__gw_presence_member_clear(p);
        return -1;
    }
    ch->presence_count++;
    return 0;
}

static void remove_at(rta_channel *ch, size_t i)
{
    rta__gw_presence_member_clear(&ch->presence[i]);
    memmove(&ch->presence[i], &ch->presence[i + 1],
            (ch->presence_count - i - 1) * sizeof(ch->presence[i]));
    ch->presence_count--;
}

static int usable(const rta_presence_message *e)
{
    return e->client_id && *e->client_id && e->connection_id && *e->connection_id &&
           strlen(e->connection_id) < sizeof(((rta_presence_member *)0)->conn_id);
}

void rta_gateway_presence_remote(rta_gateway *gw, const char *app_id, const char *channel,
                                 uint64_t serial, const rta_protocol_message *pm, int own)
{
    rta_channel *ch = rta__gw_channel_find(gw, app_id, channel);
    if (!ch) return; /* not followed here: the read at the next first attach has it */
    if (serial > ch->serial) ch->serial = serial;
    if (own || !pm->presence_count) return;
    rta_presence_message *ev = calloc(pm->presence_count, sizeof(*ev));
    size_t nev = 0;
    for (size_t i = 0; ev && i < pm->presence_count; i++) {
        const rta_presence_message *e = &pm->presence[i];
        if (!usable(e)) continue;
        long k = find_any(ch, e->connection_id, e->client_id);
        if (k >= 0 && ch->presence[k].conn) continue; /* ours now: the local state decides */
        int action = e->action;
        if (action == ACT_LEAVE) {
            if (ch->presence_seeding) tomb_add(ch, e->connection_id, e->client_id);
            if (k < 0) continue; /* not a member here: nothing to tell */
            remove_at(ch, (size_t)k);
        } else if (action == ACT_ENTER || action == ACT_UPDATE || action == ACT_PRESENT) {
            if (rta_hmap_get(&gw->by_id, e->connection_id, strlen(e->connection_id)))
                continue; /* a connection resumed here: its old node's late word */
            if (k >= 0 ? set_remote(&ch->presence[k], e) : add_remote(ch, e)) {
                rta_log_warn("cluster: a presence member of a channel of app %s was not "
                             "mirrored here (memory or the channel's member limit)",
                             app_id);
                continue;
            }
            if (action == ACT_PRESENT) action = k >= 0 ? ACT_UPDATE : ACT_ENTER;
        } else {
            continue;
        }
        ev[nev] = *e; /* borrowed: pm outlives the broadcast */
        ev[nev++].action = action;
    }
    rta__gw_presence_broadcast(gw, ch, NULL, ev, nev, serial);
    free(ev);
}

void rta__gw_presence_seed_begin(rta_channel *ch)
{
    ch->presence_seeding = 1;
}

void rta_gateway_presence_seed(rta_gateway *gw, const char *app_id, const char *channel,
                               const rta_presence_message *members, size_t n)
{
    rta_channel *ch = rta__gw_channel_find(gw, app_id, channel);
    if (!ch) return;
    for (size_t i = 0; i < n; i++) {
        const rta_presence_message *e = &members[i];
        /* heard live meanwhile (newer, or a LEAVE): that stands */
        if (!usable(e) || find_any(ch, e->connection_id, e->client_id) >= 0 ||
            tombed(ch, e->connection_id, e->client_id))
            continue;
        if (add_remote(ch, e))
            rta_log_warn("cluster: a presence member of a channel of app %s was not mirrored "
                         "here (memory or the channel's member limit)",
                         app_id);
    }
    ch->presence_seeding = 0;
    for (size_t i = 0; i < ch->presence_tomb_count; i++)
        free(ch->presence_tombs[i]);
    free(ch->presence_tombs);
    ch->presence_tombs = NULL;
    ch->presence_tomb_count = 0;
}

void rta__gw_presence_joined(rta_conn *c, rta_channel *ch)
{
    rta_gateway *gw = c->gw;
    if (!gw->relay.presence_owned) return;
    size_t n = 0;
    for (size_t i = 0; i < ch->presence_count; i++) {
        rta_presence_member *p = &ch->presence[i];
        if (p->conn || strcmp(p->conn_id, c->id)) continue;
        p->conn = c; /* RTN15c6: the resumed connection keeps its members */
        c->presence_members++;
        n++;
    }
    if (!n) return;
    rta_presence_message *views = calloc(n, sizeof(*views));
    size_t k = 0;
    for (size_t i = 0; views && i < ch->presence_count; i++)
        if (ch->presence[i].conn == c) views[k++] = rta__gw_presence_view(&ch->presence[i]);
    /* in Redis too: the node it left (or its reaper) then leaves them alone */
    if (views)
        gw->relay.presence_owned(gw->relay.ctx, c->auth.app_id, ch->name, views, k);
    free(views);
}

void rta__gw_presence_orphan(rta_conn *c, rta_channel *ch)
{
    rta_gateway *gw = c->gw;
    int any = 0;
    for (size_t i = 0; i < ch->presence_count; i++) {
        rta_presence_member *p = &ch->presence[i];
        if (p->conn != c) continue;
        p->conn = NULL; /* conn_id stays: the member is the other node's now */
        if (c->presence_members) c->presence_members--;
        any = 1;
    }
    if (any && gw->relay.presence_orphaned)
        gw->relay.presence_orphaned(gw->relay.ctx, c->auth.app_id, ch->name, c->id);
}
