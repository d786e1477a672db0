/* rest/channel_info.c: the REST channel reads beyond message history:
 *   GET /channels/{name}                   ChannelDetails (RSL8, CHD2, CHS2, CHO2, CHM2):
 *                                          capability channel-metadata (40160);
 *   GET /channels/{name}/presence          the presence set (RSP3): capability subscribe
 *                                          (Ably: "get the presence set"), limit (1..1000,
 *                                          default 100), clientId, connectionId, paged by Link;
 *   GET /channels/{name}/presence/history  presence events (RSP4): capability history,
 *                                          start/end/direction/limit, paged as message history.
 * All of it is the gateway's view on this node (gateway/query.h): in cluster mode occupancy
 * and presence are node-local (docs/cluster.md). Never logs clientIds or data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/capability.h"
#include "server/clock.h"
#include "server/rest/channel_common.h"
#include "server/rest/routes.h"
#include "server/rest/rest.h"

#define PRESENCE_DEFAULT_LIMIT 100 /* RSP3a1 */
#define PRESENCE_MAX_LIMIT     1000

/* ---- GET /channels/{name} (RSL8) --------------------------------------------------------- */

static void metric(rta_writer *w, const char *key, long long v)
{
    rta_w_key(w, key);
    rta_w_int(w, v);
}

void rta__rest_write_channel_details(rta_writer *w, const char *name, int active,
                                     const rta_channel_occupancy *o)
{
    rta_w_map(w, 2);
    rta_w_key(w, "channelId");
    rta_w_str(w, name);
    rta_w_key(w, "status");
    rta_w_map(w, 2);
    rta_w_key(w, "isActive");
    rta_w_bool(w, active);
    rta_w_key(w, "occupancy");
    rta_w_map(w, 1);
    rta_w_key(w, "metrics");
    rta_w_map(w, 8);
    metric(w, "connections", o->connections);
    metric(w, "publishers", o->publishers);
    metric(w, "subscribers", o->subscribers);
    metric(w, "presenceConnections", o->presence_connections);
    metric(w, "presenceMembers", o->presence_members);
    metric(w, "presenceSubscribers", o->presence_subscribers);
    metric(w, "objectPublishers", o->object_publishers);
    metric(w, "objectSubscribers", o->object_subscribers);
    rta_w_map_end(w);
    rta_w_map_end(w);
    rta_w_map_end(w);
    rta_w_map_end(w);
}

void rta__rest_channel_status(rta_http_session *s)
{
    rta_auth_context auth;
    char *name;
    if (rta__rest_channel_prepare(s, "", RTA_OP_CHANNEL_METADATA, "channel-metadata", &auth, &name))
        return;
    rta_channel_occupancy o;
    int active = rta_gateway_occupancy(s->env->gateway, auth.app_id, name, &o);
    rta_writer w;
    rta_http_begin_reply(s, &w);
    rta__rest_write_channel_details(&w, name, active, &o);
    rta_http_reply_encoded(s, 200);
    free(name);
    rta_auth_context_clear(&auth);
}

/* ---- GET /channels/{name}/presence (RSP3) ------------------------------------------------- */

/* Percent-encodes v for a query string (RFC 3986 unreserved characters kept). */
static void url_encode(rta_buf *b, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            rta_buf_append(b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            rta_buf_append(b, e, 3);
        }
    }
}

typedef struct presence_query {
    size_t limit, skip;
    char *client_id, *connection_id; /* NULL: any */
} presence_query;

static void presence_link(rta_buf *b, const presence_query *q, size_t cursor, const char *rel)
{
    if (b->len) rta_buf_puts(b, ", ");
    rta_buf_printf(b, "<./presence?limit=%zu", q->limit);
    if (q->client_id) {
        rta_buf_puts(b, "&clientId=");
        url_encode(b, q->client_id);
    }
    if (q->connection_id) {
        rta_buf_puts(b, "&connectionId=");
        url_encode(b, q->connection_id);
    }
    if (cursor) rta_buf_printf(b, "&cursor=%zu", cursor);
    rta_buf_printf(b, ">; rel=\"%s\"", rel);
}

/* A string query parameter into a heap copy (NULL when absent); -1 when too long or empty. */
static int string_arg(rta_http_session *s, const char *name_eq, char **out)
{
    char buf[RTA_CHANNEL_NAME_MAX + 1];
    *out = NULL;
    const char *v = lws_get_urlarg_by_name(s->wsi, name_eq, buf, (int)sizeof(buf));
    if (!v) return 0; /* absent */
    size_t len = strlen(v);
    if (len == 0 || len >= sizeof(buf) - 1 - strlen(name_eq)) return -1;
    *out = strndup(v, len);
    return *out ? 0 : -1;
}

static int presence_params(rta_http_session *s, presence_query *q, rta_error *err)
{
    char buf[64];
    const char *v;
    long long n;
    memset(q, 0, sizeof(*q));
    q->limit = PRESENCE_DEFAULT_LIMIT;
    if ((v = lws_get_urlarg_by_name(s->wsi, "limit=", buf, sizeof(buf)))) {
        if (!rta__rest_parse_int(v, 1, PRESENCE_MAX_LIMIT, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "limit must be an integer from 1 to %d", PRESENCE_MAX_LIMIT);
        q->limit = (size_t)n;
    }
    if ((v = lws_get_urlarg_by_name(s->wsi, "cursor=", buf, sizeof(buf)))) {
        if (!rta__rest_parse_int(v, 1, RTA_PRESENCE_MAX_MEMBERS, &n))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid cursor");
        q->skip = (size_t)n;
    }
    if (string_arg(s, "clientId=", &q->client_id))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid clientId parameter");
    if (string_arg(s, "connectionId=", &q->connection_id))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Invalid connectionId parameter");
    return 0;
}

/* Writes n presence messages as an array. Returns 0 or 50000. */
int rta__rest_write_presence(rta_writer *w, const rta_presence_message *p, size_t n)
{
    int rc = 0;
    rta_w_array(w, n);
    for (size_t i = 0; i < n && !rc; i++)
        rc = rta_presence_message_write(&p[i], w);
    rta_w_array_end(w);
    return rc;
}

void rta__rest_presence_get(rta_http_session *s)
{
    rta_auth_context auth;
    char *name;
    if (rta__rest_channel_prepare(s, "/presence", RTA_OP_SUBSCRIBE, "subscribe", &auth, &name))
        return;
    rta_error err;
    presence_query q;
    rta_presence_message *page = NULL;
    int rc = presence_params(s, &q, &err);
    if (!rc && !(page = calloc(q.limit, sizeof(*page))))
        rc = rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    if (rc) {
        rta_http_reply_error(s, &err);
    } else {
        int more;
        size_t n = rta_gateway_presence_list(s->env->gateway, auth.app_id, name, q.client_id,
                                             q.connection_id, q.skip, q.limit, page, &more);
        rta_writer w;
        rta_http_begin_reply(s, &w);
        rc = rta__rest_write_presence(&w, page, n);
        rta_buf link = RTA_BUF_INIT;
        presence_link(&link, &q, 0, "first");
        presence_link(&link, &q, q.skip, "current");
        if (more) presence_link(&link, &q, q.skip + n, "next");
        if (rc || link.oom) {
            rta_http_reply_code(s, RTA_ERR_INTERNAL, "Could not encode the presence set");
        } else {
            rta_http_reply_encoded(s, 200);
            size_t len;
            if (s->status == 200) s->link = rta_buf_detach(&link, &len);
        }
        rta_buf_free(&link);
    }
    free(page); /* borrowed views */
    free(q.client_id);
    free(q.connection_id);
    free(name);
    rta_auth_context_clear(&auth);
}

/* ---- GET /channels/{name}/presence/history (RSP4) ------------------------------------------ */

void rta__rest_presence_history(rta_http_session *s)
{
    rta_auth_context auth;
    char *name;
    if (rta__rest_channel_prepare(s, "/presence/history", RTA_OP_HISTORY, "history", &auth, &name))
        return;
    rta_error err;
    rta_history_query q;
    rta_presence_message *page = NULL;
    int rc = rta__rest_history_query(s, &q, &err);
    if (!rc && !(page = calloc(q.limit, sizeof(*page))))
        rc = rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    size_t n = 0;
    if (rc) {
        rta_http_reply_error(s, &err);
    } else {
        int more;
        uint64_t next;
        n = rta_gateway_presence_history(s->env->gateway, auth.app_id, name, &q, rta_clock_now(),
                                         page, &more, &next);
        rta_writer w;
        rta_http_begin_reply(s, &w);
        rc = rta__rest_write_presence(&w, page, n);
        rta_buf link = RTA_BUF_INIT;
        rta__rest_link_rel(&link, "history", &q, 0, 0, "first");
        rta__rest_link_rel(&link, "history", &q, q.has_cursor, q.cursor, "current");
        if (more) rta__rest_link_rel(&link, "history", &q, 1, next, "next");
        if (rc || link.oom) {
            rta_http_reply_code(s, RTA_ERR_INTERNAL, "Could not encode the presence history");
        } else {
            rta_http_reply_encoded(s, 200);
            size_t len;
            if (s->status == 200) s->link = rta_buf_detach(&link, &len);
        }
        rta_buf_free(&link);
    }
    for (size_t i = 0; i < n; i++)
        rta_presence_message_clear(&page[i]);
    free(page);
    free(name);
    rta_auth_context_clear(&auth);
}

size_t rta__rest_presence_all(rta_http_session *s, const char *app_id, const char *channel,
                              rta_presence_message **out)
{
    *out = calloc(RTA_PRESENCE_MAX_MEMBERS, sizeof(**out));
    if (!*out) return 0;
    int more;
    return rta_gateway_presence_list(s->env->gateway, app_id, channel, NULL, NULL, 0,
                                     RTA_PRESENCE_MAX_MEMBERS, *out, &more);
}

int rta__rest_ably_version(rta_http_session *s)
{
    static const char name[] = "x-ably-version:";
    char v[16];
    int n = lws_hdr_custom_length(s->wsi, name, (int)sizeof(name) - 1);
    if (n <= 0 || n >= (int)sizeof(v)) return 0;
    if (lws_hdr_custom_copy(s->wsi, v, sizeof(v), name, (int)sizeof(name) - 1) < 0) return 0;
    long long out;
    return rta__rest_parse_int(v, 0, 1000, &out) ? (int)out : 0;
}
