/* gateway/adopt.c: connection resume across nodes (cluster mode; issue 14, RTN15).
 *
 * A connection's state lives on the node that has it; when that node dies, or the balancer
 * sends the client's reconnect elsewhere, the client asks another node to resume it
 * (resume=<connectionKey>). In cluster mode every connectionKey is verifiable by every node:
 *
 *     <connectionId>!<secret id: 8 hex><tag: 22 base64url>
 *     tag = the first 16 bytes of HMAC-SHA256(server secret, "rtauth-ck1" LF id LF appId LF
 *           clientId LF format), under the cluster's shared server secret of that id (the
 *           keyring native tokens use; rotation keeps the older secrets, so keys stay valid)
 *
 * A node that does not have the connection but can verify its key for the credentials the
 * client presents now (same app, same clientId, same format) takes it over: CONNECTED with
 * the same connectionId and no error, and tells the other nodes (the relay's `claim`: a
 * message on the cluster's claims channel), so that the node that had it, if it still runs,
 * drops its copy at once: its transport, if it still thinks it has one (half-open TCP), is
 * closed without a word, and its presence members leave (one LEAVE each, there). That is the
 * fence: from the claim on, only the new node acts for the connection. What the old node held
 * for it is not carried over; ably-js re-attaches every channel with its channelSerial, which
 * catches up from the shared stream (gateway/catch_up.c), and re-enters its presence members
 * (RTP17). A node that misses the claim (cut off from Redis) keeps a detached copy no client
 * can reach until connectionStateTtl; two nodes adopting the same key at once each drop
 * theirs on hearing the other, and the client's next reconnect adopts it once more.
 *
 * Loop thread only. On a single node keys stay "<id>!<random>" and resume stays per process. */
#include <stdio.h>
#include <string.h>

#include "core/base64.h"
#include "core/crypto.h"
#include "server/auth/token_service.h"
#include "server/gateway/conn_key.h"
#include "server/gateway/internal.h"
#include "server/log.h"

#define ID_LEN  RTA__GW_CK_ID_LEN
#define SID_LEN RTA__GW_CK_SID_LEN
#define TAG_LEN RTA__GW_CK_TAG_LEN

static rta_hmac *secret_mac(rta_gateway *gw, uint32_t id)
{
    rta_keyring *ring = gw->tokens ? &gw->tokens->keyring : NULL;
    for (size_t i = 0; ring && i < ring->count; i++)
        if (ring->ids[i] == id) return ring->macs[i];
    return NULL;
}

/* The tag of (id, app, clientId, format) under secret `sid`, into out (TAG_LEN + 1). */
static int make_tag(rta_gateway *gw, uint32_t sid, const char *id, const rta_conn *c, char *out)
{
    rta_hmac *h = secret_mac(gw, sid);
    if (!h) return -1;
    char msg[512];
    int n = snprintf(msg, sizeof(msg), "rtauth-ck1\n%s\n%s\n%s\n%c", id, c->auth.app_id,
                     c->client_id ? c->client_id : "", c->fmt == RTA_FORMAT_MSGPACK ? 'm' : 'j');
    unsigned char mac[RTA_SHA256_LEN];
    if (n < 0 || (size_t)n >= sizeof(msg) || rta_hmac_compute(h, msg, (size_t)n, mac)) return -1;
    rta_buf b = RTA_BUF_INIT;
    rta_base64_encode(&b, mac, 16, RTA_BASE64_URL);
    int ok = !b.oom && b.len == TAG_LEN;
    if (ok) memcpy(out, b.data, TAG_LEN + 1);
    out[TAG_LEN] = '\0';
    rta_buf_free(&b);
    return ok ? 0 : -1;
}

void rta__gw_conn_key_assign(rta_conn *c)
{
    rta_gateway *gw = c->gw;
    if (!gw->relay.claim || !gw->tokens || !gw->tokens->keyring.count) return;
    uint32_t sid = gw->tokens->keyring.current;
    char tag[TAG_LEN + 1];
    if (make_tag(gw, sid, c->id, c, tag)) return; /* keeps its random key: resumable here only */
    snprintf(c->key, sizeof(c->key), "%s!%08x%s", c->id, (unsigned)sid, tag);
}

static int alnum(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

int rta__gw_conn_key_parse(const char *key, char id[ID_LEN + 1], uint32_t *sid)
{
    if (strlen(key) != RTA__GW_CK_LEN || key[ID_LEN] != '!') return -1;
    for (int i = 0; i < ID_LEN; i++)
        if (!alnum(key[i])) return -1;
    uint32_t v = 0;
    for (int i = 0; i < SID_LEN; i++) {
        char ch = key[ID_LEN + 1 + i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | (uint32_t)d;
    }
    /* the MAC check would refuse any other byte as well; refused here, the parser's contract
     * (conn_key.h) does not lean on it */
    for (int i = ID_LEN + 1 + SID_LEN; i < RTA__GW_CK_LEN; i++)
        if (!alnum(key[i]) && key[i] != '-' && key[i] != '_') return -1;
    memcpy(id, key, ID_LEN);
    id[ID_LEN] = '\0';
    *sid = v;
    return 0;
}

int rta__gw_conn_adopt(rta_conn *fresh, const char *key)
{
    rta_gateway *gw = fresh->gw;
    char id[ID_LEN + 1], tag[TAG_LEN + 1];
    uint32_t sid;
    if (!gw->relay.claim || rta__gw_conn_key_parse(key, id, &sid) ||
        rta_hmap_get(&gw->by_id, id, ID_LEN) || make_tag(gw, sid, id, fresh, tag) ||
        !rta_ct_equal(tag, TAG_LEN, key + ID_LEN + 1 + SID_LEN, TAG_LEN))
        return 0; /* not one of the cluster's, or not for these credentials */
    /* fresh becomes the connection: its id and key are the client's */
    rta_hmap_del(&gw->by_id, fresh->id, strlen(fresh->id));
    memcpy(fresh->id, id, ID_LEN + 1);
    if (rta_hmap_put(&gw->by_id, fresh->id, ID_LEN, fresh, NULL)) {
        fresh->id[0] = '\0'; /* out of memory: unreachable by id; it is failed by the caller */
        return -1;
    }
    snprintf(fresh->key, sizeof(fresh->key), "%s", key);
    gw->relay.claim(gw->relay.ctx, fresh->id);
    return 1;
}

void rta_gateway_connection_claimed(rta_gateway *gw, const char *conn_id, size_t len)
{
    rta_conn *c = len == ID_LEN ? rta_hmap_get(&gw->by_id, conn_id, len) : NULL;
    if (!c || c->closing) return;
    rta_log_event(RTA_LOG_INFO, "connection.claimed", RTA__GW_LOG_FIELDS(c, .code = 0),
                  "connection %s resumed on another node; dropped here", c->id);
    if (c->transport) { /* half-open: the client is elsewhere */
        if (c->slot) *c->slot = NULL;
        c->slot = NULL;
        gw->hooks.close_now(gw->hooks.data, c->transport);
        c->transport = NULL;
        gw->live_count--;
    }
    c->final = 1;
    c->claimed = 1; /* presence across nodes: its members move with it (presence_remote.c) */
    rta__gw_conn_free(c); /* its channels left, its presence members with them */
}
