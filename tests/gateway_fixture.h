/* gateway_fixture.h: a realtime gateway without sockets, for tests/unit/test_gateway_frames.c
 * and fuzz/fuzz_gateway.c. A real rta_gateway over a real registry and token service (one
 * app, two keys), and an lws context without a listener for its timers. Connections are
 * bare (rta__gw_conn_create): no transport, so what the gateway sends stays in c->out_head
 * (replies) and c->held_head (channel messages, held as for a detached connection).
 * Header-only; include it once per program. */
#ifndef RTA_TESTS_GATEWAY_FIXTURE_H
#define RTA_TESTS_GATEWAY_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "server/gateway/internal.h"
#include "server/gateway/transport_lws.h"
#include "server/log.h"
#include "server/auth/registry.h"
#include "server/server.h"

static rta_server fx_srv;

static inline int fx_not_loopback(struct lws *wsi)
{
    (void)wsi;
    return 0;
}

/* Key "app.all" may do everything; "app.limited" only publish/subscribe on "chan:*". */
static inline int fx_init(void)
{
    memset(&fx_srv, 0, sizeof(fx_srv));
    rta_config_defaults(&fx_srv.cfg);
    rta_log_set_level(RTA_LOG_ERROR);
    if (rta_registry_init(&fx_srv.registry)) return -1;
    rta_app_record app = {"app", "acct", 1, 0};
    rta_key_record all = {"app.all", "app", "secret-all", "{\"*\":[\"*\"]}", 0, 1, 1};
    rta_key_record lim = {"app.limited", "app", "secret-lim",
                          "{\"chan:*\":[\"publish\",\"subscribe\"]}", 0, 1, 1};
    if (rta_registry_put_app(&fx_srv.registry, &app, NULL) ||
        rta_registry_put_key(&fx_srv.registry, &all, NULL) ||
        rta_registry_put_key(&fx_srv.registry, &lim, NULL) ||
        rta_token_service_init(&fx_srv.tokens, &fx_srv.registry, NULL))
        return -1;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    lws_set_log_level(0, NULL);
    if (!(fx_srv.lws = lws_create_context(&info))) return -1;
    rta_gateway_deps deps = {.tokens = &fx_srv.tokens,
                             .limits = fx_srv.cfg.gateway,
                             .history = fx_srv.cfg.history,
                             .server_id = fx_srv.server_id};
    if (rta_gateway_lws_hooks(&deps.hooks, &fx_srv.gateway, &fx_srv.lws, fx_not_loopback))
        return -1;
    return rta_gateway_init(&fx_srv.gateway, &deps);
}

static inline void fx_free(void)
{
    rta_gateway_free(&fx_srv.gateway);
    lws_context_destroy(fx_srv.lws);
    rta_token_service_free(&fx_srv.tokens);
    rta_registry_free(&fx_srv.registry);
}

/* A connection authenticated with a key (Basic), with an optional clientId. */
static inline rta_conn *fx_conn(const char *key_name, const char *secret, const char *client_id,
                         rta_format fmt)
{
    rta_conn *c = rta__gw_conn_create(&fx_srv.gateway, fmt);
    if (!c) return NULL;
    if (rta_token_service_basic(&fx_srv.tokens, key_name, strlen(key_name), secret,
                                strlen(secret), &c->auth, NULL)) {
        rta__gw_conn_free(c);
        return NULL;
    }
    c->client_id = client_id ? strdup(client_id) : NULL;
    c->connected = 1;
    return c;
}

/* Removes c's oldest reply (held: its oldest held channel message) and decodes it into *m
 * (0; clear it after), or returns -1 when there is none. */
static inline int fx_pop(rta_conn *c, int held, rta_protocol_message *m)
{
    rta_frame **head = held ? &c->held_head : &c->out_head;
    rta_frame **tail = held ? &c->held_tail : &c->out_tail;
    rta_frame *f = *head;
    if (!f) return -1;
    *head = f->next;
    if (!*head) *tail = NULL;
    if (f == c->close_after) c->close_after = NULL;
    c->out_bytes -= f->bytes.len + sizeof(*f);
    rta_format fmt = c->fmt;
    rta_error e;
    size_t headroom = c->gw->hooks.headroom;
    int rc = rta_protocol_message_decode(f->bytes.data + headroom, f->bytes.len - headroom, fmt,
                                         NULL, m, &e);
    free(f->channel);
    rta_buf_free(&f->bytes);
    free(f);
    return rc ? -1 : 0;
}

#endif
