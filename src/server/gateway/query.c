/* gateway/query.c: occupancy, the presence set, presence history and publish on behalf of a
 * connection, for the REST room; see gateway/query.h. Reads the gateway's records and changes
 * none of them, except the presence history window (fed from gateway/presence.c) and a
 * publish. Never logs clientIds, data or connection keys. */
#include "server/gateway/query.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/capability.h"
#include "server/gateway/internal.h"
#include "server/log.h"

int rta_gateway_occupancy(rta_gateway *gw, const char *app_id, const char *channel,
                          rta_channel_occupancy *out)
{
    memset(out, 0, sizeof(*out));
    rta_channel *ch = rta__gw_channel_find(gw, app_id, channel);
    if (!ch) return 0;
    for (size_t i = 0; i < ch->count; i++) {
        uint32_t m = ch->modes[i];
        out->connections++;
        out->publishers += !!(m & RTA_MODE_PUBLISH);
        out->subscribers += !!(m & RTA_MODE_SUBSCRIBE);
        out->presence_connections += !!(m & RTA_MODE_PRESENCE);
        out->presence_subscribers += !!(m & RTA_MODE_PRESENCE_SUBSCRIBE);
        out->object_publishers += !!(m & RTA_MODE_OBJECT_PUBLISH);
        out->object_subscribers += !!(m & RTA_MODE_OBJECT_SUBSCRIBE);
    }
    out->presence_members = (long long)ch->presence_count;
    return ch->count > 0;
}

size_t rta_gateway_presence_list(rta_gateway *gw, const char *app_id, const char *channel,
                                 const char *client_id, const char *connection_id, size_t skip,
                                 size_t limit, rta_presence_message *out, int *more)
{
    *more = 0;
    rta_channel *ch = rta__gw_channel_find(gw, app_id, channel);
    size_t seen = 0, n = 0;
    for (size_t i = 0; ch && i < ch->presence_count; i++) {
        const rta_presence_member *p = &ch->presence[i];
        if (client_id && strcmp(client_id, p->client_id)) continue;
        if (connection_id && strcmp(connection_id, p->conn_id)) continue;
        if (seen++ < skip) continue;
        if (n == limit) {
            *more = 1;
            break;
        }
        out[n++] = rta__gw_presence_view(p);
    }
    return n;
}

/* ---- presence history ----------------------------------------------------------------------- */

/* The window keeps each event as an rta_message (so that it shares gateway/history.c's bounds
 * and paging): the action travels in `name` as one digit, everything else in its own field. */
void rta__gw_presence_record(rta_gateway *gw, const rta_channel *ch, const rta_presence_message *ev,
                             size_t n)
{
    char *app = strndup(ch->key, (size_t)(ch->name - ch->key - 1)); /* "<appId>:<name>" */
    if (!app) return;
    int64_t now = gw->now();
    for (size_t i = 0; i < n; i++) {
        char action[2] = {(char)('0' + (ev[i].action & 7)), '\0'};
        rta_message m = {.id = ev[i].id,
                         .name = action,
                         .client_id = ev[i].client_id,
                         .encoding = ev[i].encoding,
                         .timestamp = ev[i].timestamp ? ev[i].timestamp : now,
                         .data = ev[i].data,
                         .extras = ev[i].extras}; /* borrowed: append copies (TP3i) */
        rta_history_stamp st = {NULL, ev[i].connection_id, now};
        if (rta_history_append(&gw->presence_history, app, ch->name, &m, 1, &st, now))
            rta_log_warn("presence history: out of memory, event not recorded");
    }
    free(app);
}

size_t rta_gateway_presence_history(rta_gateway *gw, const char *app_id, const char *channel,
                                    const rta_history_query *q, int64_t now,
                                    rta_presence_message *out, int *more, uint64_t *next_cursor)
{
    const rta_message **page = malloc((q->limit ? q->limit : 1) * sizeof(*page));
    *more = 0;
    *next_cursor = 0;
    if (!page) return 0;
    size_t n =
        rta_history_read(&gw->presence_history, app_id, channel, q, now, page, more, next_cursor);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const rta_message *m = page[i];
        rta_presence_message *p = &out[k];
        *p = (rta_presence_message){.action = m->name ? m->name[0] - '0' : 0,
                                    .timestamp = m->timestamp};
        p->id = m->id ? strdup(m->id) : NULL;
        p->client_id = m->client_id ? strdup(m->client_id) : NULL;
        p->connection_id = m->connection_id ? strdup(m->connection_id) : NULL;
        p->encoding = m->encoding ? strdup(m->encoding) : NULL;
        p->extras = m->extras ? strdup(m->extras) : NULL;
        int bad = (m->id && !p->id) || (m->client_id && !p->client_id) ||
                  (m->connection_id && !p->connection_id) || (m->encoding && !p->encoding) ||
                  (m->extras && !p->extras) ||
                  rta_data_copy(&p->data, &m->data);
        if (bad)
            rta_presence_message_clear(p); /* out of memory: the event is left out */
        else
            k++;
    }
    free(page);
    return k;
}

rta_history *rta_gateway_presence_history_window(rta_gateway *gw)
{
    return &gw->presence_history;
}

/* ---- publish on behalf of a connection --------------------------------------------------------
 */

int rta_gateway_publish_as(rta_gateway *gw, const char *app_id, const char *key,
                           const char *channel, const char *id, rta_message *msgs, size_t n,
                           rta_gateway_published_cb done, void *arg, rta_error *err)
{
    /* "<connectionId>!<secret>" (gateway/conn.c): the secret is compared in constant time */
    const char *bang = strchr(key, '!');
    rta_conn *c = bang ? rta_hmap_get(&gw->by_id, key, (size_t)(bang - key)) : NULL;
    size_t len = strlen(key);
    if (!c || c->final || strlen(c->key) != len || CRYPTO_memcmp(c->key, key, len) ||
        strcmp(c->auth.app_id, app_id))
        return rta_error_set(err, RTA_ERR_INVALID_CONNECTION_KEY,
                             "Invalid connectionKey: no such connection on this server");
    if (!rta_capability_allows(&c->auth.capability, channel, strlen(channel), RTA_OP_PUBLISH))
        return rta_error_set(err, RTA_ERR_CAPABILITY_DENIED,
                             "Permission denied: the connection has no publish capability");
    rta_speaker sp = rta_speaker_for(&c->auth, c->client_id);
    for (size_t i = 0; i < n; i++)
        if (!rta_speaker_may_name(&sp, msgs[i].client_id))
            return rta_error_set(err, RTA_ERR_INVALID_CLIENT_ID,
                                 "Message clientId does not match the connection's");
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].client_id && sp.own && !(msgs[i].client_id = strdup(sp.own)))
            return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (!gw->relay.publish) {
        rta__gw_channel_fanout(gw, app_id, c, channel, id, msgs, n);
        return 0;
    }
    /* cluster mode: sequenced by the relay; delivery skips c when it asked for echo=false */
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].connection_id);
        msgs[i].connection_id = NULL;
    }
    rta_protocol_message pm = {.action = RTA_ACTION_MESSAGE,
                               .has = RTA_PM_HAS_TIMESTAMP,
                               .timestamp = gw->now(),
                               .id = (char *)id,
                               .channel = (char *)channel,
                               .connection_id = c->id,
                               .messages = msgs,
                               .message_count = n};
    gw->relay.publish(gw->relay.ctx, app_id, channel, &pm, done, arg);
    return 0;
}
