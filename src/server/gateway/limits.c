/* gateway/limits.c: per-app and per-clientId connection caps, so that one tenant of a shared
 * rtauthd, or one clientId within an app, cannot take every connection slot (the server-wide
 * --max-connections, counted in gw->live_count, stays as it is). Over a cap a new connection
 * gets DISCONNECTED 40111 naming the cap that was hit (retryable, like the server-wide one:
 * ably-js tries again after disconnectedRetryTimeout).
 *
 * What is counted: every connection admitted here until it is freed, live or detached
 * (awaiting a resume for connectionStateTtl). A detached connection still holds its channels
 * and up to max_queue bytes of messages; counting only live ones would let a client get
 * round its cap by dropping transports and opening new connections. A resume takes over the
 * connection it names, which is already counted, so it is never refused here; an in-band
 * AUTH cannot change a connection's app or clientId (reauth in gateway/auth.c, refusal in
 * gateway/resume.c), so the counts never move then. Anonymous and wildcard ("*")
 * connections count towards their app only.
 *
 * The caps: an app's own (registry, set with `rtauth app set-limits` or at sandbox creation)
 * or else the server's --max-connections-per-app / --max-connections-per-client; 0 means
 * none. Lowering a cap never drops connections: it refuses new ones until the count is
 * under it.
 *
 * The counts are two hash maps, per app and per (app, clientId) with connections, holding
 * the count in the value slot: O(1) for every admission and release, no allocation beyond
 * the map's own key copy and slot (about 0.1 KiB per clientId with connections).
 *
 * Must never: count a connection twice or release one it did not count (the `admitted`
 * bit), or put a clientId, key or token in a message or the log. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/gateway/internal.h"
#include "server/metrics.h"
#include "server/stats.h"
#include "server/log.h"

int rta__gw_conn_counts_init(rta_conn_counts *k)
{
    int rc = rta_hmap_init(&k->per_app);
    return rc ? rc : rta_hmap_init(&k->per_client);
}

void rta__gw_conn_counts_free(rta_conn_counts *k)
{
    rta_hmap_free(&k->per_app);
    rta_hmap_free(&k->per_client);
}

/* A count lives in the map's value slot as an integer (GINT_TO_POINTER style): no allocation
 * per entry, and it changes in place (rta_hmap_ref), so giving a place back cannot fail. */
static size_t count_of(const rta_hmap *m, const char *key, size_t len)
{
    return (size_t)(uintptr_t)rta_hmap_get(m, key, len);
}

/* One more for key. Returns 0, or 50000 (out of memory: unchanged). */
static int count_up(rta_hmap *m, const char *key, size_t len)
{
    void **v = rta_hmap_ref(m, key, len);
    if (!v) return rta_hmap_put(m, key, len, (void *)(uintptr_t)1, NULL);
    *v = (void *)((uintptr_t)*v + 1);
    return 0;
}

/* One fewer; an entry at 0 goes, so the maps hold only apps and clientIds with connections. */
static void count_down(rta_hmap *m, const char *key, size_t len)
{
    void **v = rta_hmap_ref(m, key, len);
    if (!v) return;
    if ((uintptr_t)*v > 1)
        *v = (void *)((uintptr_t)*v - 1);
    else
        rta_hmap_del(m, key, len);
}

/* The per-clientId key "<appId>:<clientId>" (app ids have no ':'), or NULL for a connection
 * without a clientId of its own; *heap is set when the key had to be allocated. */
static char *client_key(const rta_conn *c, char *buf, size_t size, size_t *len, int *heap)
{
    *heap = 0;
    if (!c->client_id || !strcmp(c->client_id, "*")) return NULL;
    char *key = rta_hmap_pair_key(c->auth.app_id, ':', c->client_id, buf, size, len);
    *heap = key && key != buf;
    return key;
}

int rta__gw_conn_admit(rta_conn *c, rta_error *e)
{
    rta_gateway *gw = c->gw;
    rta_conn_counts *k = &gw->held;
    const char *app = c->auth.app_id;
    size_t app_len = strlen(app);
    const rta_app_entry *own = rta_registry_app(gw->tokens->registry, app);
    long long app_cap = own && own->max_connections ? own->max_connections
                                                    : gw->limits.max_connections_per_app;
    long long client_cap = own && own->max_connections_per_client
                               ? own->max_connections_per_client
                               : gw->limits.max_connections_per_client;

    size_t in_app = count_of(&k->per_app, app, app_len);
    if (app_cap > 0 && in_app >= (size_t)app_cap) {
        rta_log_debug("connection %s refused: app %s holds %zu connections (cap %lld)", c->id,
                      app, in_app, app_cap);
        return rta_error_set(e, RTA_ERR_CONNECTION_LIMIT,
                             "Connection limit for this app (%lld) reached", app_cap);
    }
    char buf[256];
    size_t key_len = 0;
    int heap;
    char *key = client_key(c, buf, sizeof(buf), &key_len, &heap);
    int identified = c->client_id && strcmp(c->client_id, "*");
    size_t of_client = key ? count_of(&k->per_client, key, key_len) : 0;
    int rc = 0;
    if (identified && !key) {
        rc = rta_error_set(e, RTA_ERR_INTERNAL, "Out of memory");
    } else if (key && client_cap > 0 && of_client >= (size_t)client_cap) {
        rta_log_debug("connection %s refused: a clientId of app %s holds %zu connections "
                      "(cap %lld)", c->id, app, of_client, client_cap);
        rc = rta_error_set(e, RTA_ERR_CONNECTION_LIMIT,
                           "Connection limit for this clientId (%lld) reached", client_cap);
    } else if (count_up(&k->per_app, app, app_len)) {
        rc = rta_error_set(e, RTA_ERR_INTERNAL, "Out of memory");
    } else if (key && count_up(&k->per_client, key, key_len)) {
        count_down(&k->per_app, app, app_len);
        rc = rta_error_set(e, RTA_ERR_INTERNAL, "Out of memory");
    } else {
        c->admitted = 1;
        rta_metrics_connection_opened(app);
        rta_stats_connection(app, 1, gw->now());
    }
    if (heap) free(key);
    return rc;
}

void rta__gw_conn_release(rta_conn *c)
{
    if (!c->admitted) return;
    c->admitted = 0;
    rta_conn_counts *k = &c->gw->held;
    count_down(&k->per_app, c->auth.app_id, strlen(c->auth.app_id));
    char buf[256];
    size_t key_len = 0;
    int heap;
    char *key = client_key(c, buf, sizeof(buf), &key_len, &heap);
    if (key) count_down(&k->per_client, key, key_len);
    /* key NULL for an identified connection (out of memory for a long key): its count stays
     * one too high, erring towards refusing rather than exceeding the cap */
    if (heap) free(key);
}
