/* gateway/revindex.c: live and detached connections by the revocation targets their
 * credentials name (RSA17, S-68): "<keyName>\0clientId:<id>", "<keyName>\0revocationKey:<k>"
 * and "<keyName>\0token:<ref>", for the token and for a JWT wrapping it (S-37). The key is
 * the revocation index's own (auth/revocations.c), so a stored target finds its connections
 * with one lookup.
 *
 * Why: a revocation used to walk every connection of its key, which is O(connections) per
 * revokeTokens request and per control-log entry a cluster node applies. Revoking 10,000
 * tokens by token (100 requests of 100 targets) at 100,000 connections over 6 workers was
 * 100 walks of 16,700 connections on every worker (make bench-scale, issue 19). Now each
 * request visits only the connections it names.
 *
 * Each connection holds RTA_REVLINKS intrusive links (rta_revlink, internal.h); the map's
 * value is the first link of a doubly linked list. Only revocable credentials are indexed:
 * the others cannot be revoked. */
#include <stdlib.h>
#include <string.h>

#include "server/gateway/internal.h"

static void unlink_one(rta_gateway *gw, rta_revlink *l)
{
    if (!l->key) return;
    if (l->prev) {
        l->prev->next = l->next;
    } else if (l->next) {
        void **head = rta_hmap_ref(&gw->revindex, l->key, l->key_len);
        if (head) *head = l->next;
    } else {
        rta_hmap_del(&gw->revindex, l->key, l->key_len);
    }
    if (l->next) l->next->prev = l->prev;
    free(l->key);
    l->key = NULL;
    l->prev = l->next = NULL;
}

/* Links l under key_name and type:value. Returns 0 or 50000. */
static int link_one(rta_gateway *gw, rta_revlink *l, const char *key_name, const char *type,
                    const char *value)
{
    size_t kl = strlen(key_name), tl = strlen(type), vl = strlen(value);
    char *key = malloc(kl + 1 + tl + vl + 1);
    if (!key) return RTA_ERR_INTERNAL;
    memcpy(key, key_name, kl + 1); /* with its NUL: the separator */
    memcpy(key + kl + 1, type, tl);
    memcpy(key + kl + 1 + tl, value, vl + 1);
    size_t len = kl + 1 + tl + vl;
    rta_revlink *head = rta_hmap_get(&gw->revindex, key, len);
    if (!head && rta_hmap_put(&gw->revindex, key, len, l, NULL)) {
        free(key);
        return RTA_ERR_INTERNAL;
    }
    if (head) { /* second in the list: the map's value stays the head */
        l->next = head->next;
        if (head->next) head->next->prev = l;
        head->next = l;
        l->prev = head;
    }
    l->key = key;
    l->key_len = len;
    return 0;
}

void rta__gw_revindex_remove(rta_conn *c)
{
    for (int i = 0; i < RTA_REVLINKS; i++) unlink_one(c->gw, &c->revlinks[i]);
}

static int link_identity(rta_conn *c, rta_revlink *l, const char *key_name,
                         const char *client_id, const char *revocation_key,
                         const char *token_ref)
{
    int rc = 0;
    if (client_id && !rc) rc = link_one(c->gw, &l[0], key_name, "clientId:", client_id);
    if (revocation_key && !rc)
        rc = link_one(c->gw, &l[1], key_name, "revocationKey:", revocation_key);
    if (token_ref && token_ref[0] && !rc) rc = link_one(c->gw, &l[2], key_name, "token:", token_ref);
    return rc;
}

int rta__gw_revindex_update(rta_conn *c)
{
    rta__gw_revindex_remove(c);
    for (int i = 0; i < RTA_REVLINKS; i++) c->revlinks[i].conn = c;
    const rta_auth_context *a = &c->auth;
    if (a->method == RTA_AUTH_BASIC) return 0;
    int rc = 0;
    if (a->revocable)
        rc = link_identity(c, &c->revlinks[0], a->key_name, a->client_id, a->revocation_key,
                           a->token_ref);
    const rta_auth_wrapper *w = a->wrapper;
    if (!rc && w && w->revocable)
        rc = link_identity(c, &c->revlinks[3], w->key_name, w->client_id, w->revocation_key,
                           w->token_ref);
    if (rc) rta__gw_revindex_remove(c);
    return rc;
}

void rta_gateway_revoked_targets(rta_gateway *gw, const char *key_name,
                                 const char *const *targets, size_t n)
{
    /* Collect first: acting on a connection may end it, and a connection named by two
     * targets (its clientId and its token) is acted on once (a closing one is skipped). */
    size_t count = 0, cap = 0;
    rta_conn **found = NULL;
    size_t kl = strlen(key_name);
    char small[512]; /* the usual key: no allocation per target */
    for (size_t i = 0; i < n; i++) {
        size_t tl = strlen(targets[i]);
        char *key = kl + 1 + tl + 1 <= sizeof(small) ? small : malloc(kl + 1 + tl + 1);
        if (!key) goto walk_all;
        memcpy(key, key_name, kl + 1);
        memcpy(key + kl + 1, targets[i], tl + 1);
        rta_revlink *l = rta_hmap_get(&gw->revindex, key, kl + 1 + tl);
        if (key != small) free(key);
        for (; l; l = l->next) {
            if (count == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                rta_conn **grown = realloc(found, ncap * sizeof(*found));
                if (!grown) goto walk_all;
                found = grown;
                cap = ncap;
            }
            found[count++] = l->conn;
        }
    }
    int64_t now = gw->now();
    for (size_t i = 0; i < count; i++) rta__gw_conn_check_revoked(found[i], now);
    free(found);
    return;
walk_all: /* out of memory: the slow way still ends every revoked connection */
    free(found);
    rta_gateway_revoked(gw, key_name);
}
