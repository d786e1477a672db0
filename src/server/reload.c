/* reload.c: SIGHUP. The settings are loaded again exactly as at start (built-in defaults, the
 * config file read again, the same environment, the same flags: config.c's precedence, so a
 * flag still wins over the file), then:
 *
 *   1. checked: the whole config (a bad line fails it), the new access log opened, the TLS
 *      certificate and key read and checked (tls_certs.h);
 *   2. what cannot change in a running process is compared with what runs, and each
 *      difference is a warning naming the setting; the running value stays;
 *   3. only when every check passed, what can change is applied: the log level and format,
 *      the access log (reopened even when its path is the same: logrotate), the CORS origins,
 *      Basic over HTTP, the request body limit, the gateway limits that are read afresh at
 *      each use, and the certificate and key of the TLS listener (new handshakes use them;
 *      established connections are untouched).
 *
 * A failure at step 1 is an error in the log and changes nothing. docs/operations.md lists
 * what can and cannot change. Runs on the loop thread (a uv_signal_t), never in a signal
 * handler. Logs setting names, never values of secret settings (redis, kek_file's content). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "server/log.h"
#include "server/server.h"
#include "server/tls_certs.h"

/* Settings read once, at start: a change needs a restart. */
#define FIELD(name, member) {name, offsetof(rta_config, member), sizeof(((rta_config *)0)->member)}
static const struct {
    const char *name;
    size_t offset, size;
} fixed[] = {
    FIELD("listen", listen_host),
    FIELD("listen", port),
    FIELD("data_dir", data_dir),
    FIELD("kek_file", kek_file),
    FIELD("tls_min_version", tls_min_version),
    FIELD("tls_ciphers", tls_ciphers),
    FIELD("tls_ciphersuites", tls_ciphersuites),
    FIELD("sandbox", sandbox),
    FIELD("unsafe_skip_capability_checks", unsafe_skip_capability_checks),
    FIELD("max_frame_size", gateway.max_frame_size),     /* advertised in CONNECTED */
    FIELD("max_idle_interval", gateway.max_idle_interval), /* clients time out by it */
    FIELD("history_max_messages", history.max_messages),
    FIELD("history_max_age", history.max_age_ms),
    FIELD("history_max_bytes", history.max_bytes),
    FIELD("redis", redis),
    FIELD("redis_sentinel", redis_sentinel),
    FIELD("redis_master", redis_master),
    FIELD("redis_shard", redis_shards),
    FIELD("node_id", node_id),
    FIELD("max_clock_skew", max_clock_skew),
    FIELD("partition_grace", partition_grace),
    FIELD("channel_linger", channel_linger),
    FIELD("workers", workers),
    FIELD("console", console),                             /* the console is set up at start */
    FIELD("console_password_file", console_password_file), /* its credential too */
    FIELD("metrics_token_file", metrics_token_file),
};

/* Keeps what cannot change, warning once per setting. Strings compare as strings (the bytes
 * after their NUL are not settings). */
static void keep_fixed(const rta_config *running, rta_config *fresh)
{
    const char *warned = "";
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        const char *a = (const char *)running + fixed[i].offset;
        char *b = (char *)fresh + fixed[i].offset;
        int is_str = fixed[i].size > sizeof(long long);
        int differs = is_str ? strncmp(a, b, fixed[i].size) != 0 : memcmp(a, b, fixed[i].size) != 0;
        if (!differs) continue;
        memcpy(b, a, fixed[i].size);
        if (!strcmp(warned, fixed[i].name)) continue;
        warned = fixed[i].name;
        rta_log_event(RTA_LOG_WARN, "reload.ignored", NULL,
                      "reload: %s cannot change while rtauthd runs: the running value is kept "
                      "(restart to apply it)",
                      fixed[i].name);
    }
    if (!running->tls_cert[0] != !fresh->tls_cert[0]) {
        rta_log_event(RTA_LOG_WARN, "reload.ignored", NULL,
                      "reload: TLS cannot be turned %s while rtauthd runs: tls_cert and tls_key "
                      "are kept (restart to apply them)",
                      running->tls_cert[0] ? "off" : "on");
        memcpy(fresh->tls_cert, running->tls_cert, sizeof(fresh->tls_cert));
        memcpy(fresh->tls_key, running->tls_key, sizeof(fresh->tls_key));
    }
}

static void note(char *changed, size_t size, const char *what)
{
    size_t n = strlen(changed);
    snprintf(changed + n, size - n, "%s%s", n ? ", " : "", what);
}

/* The gateway limits that every use reads afresh (gateway/limits.c, conn.c, frames.c). */
static void apply_limits(rta_server *srv, const rta_config *fresh, char *changed, size_t size)
{
    rta_gateway_limits *run = &srv->cfg.gateway, *gw = &srv->gateway.limits;
    const rta_gateway_limits *in = &fresh->gateway;
    /* 0 is "derived from the descriptor limit", as at start */
    long long max_connections =
        in->max_connections ? in->max_connections : srv->derived_max_connections;
    struct {
        const char *name;
        long long *run, *gw, value;
    } l[] = {
        {"max_connections", &run->max_connections, &gw->max_connections, max_connections},
        {"max_connections_per_app", &run->max_connections_per_app,
         &gw->max_connections_per_app, in->max_connections_per_app},
        {"max_connections_per_client", &run->max_connections_per_client,
         &gw->max_connections_per_client, in->max_connections_per_client},
        {"max_channels_per_connection", &run->max_channels_per_connection,
         &gw->max_channels_per_connection, in->max_channels_per_connection},
        {"max_message_size", &run->max_message_size, &gw->max_message_size,
         in->max_message_size},
        {"max_inbound_rate", &run->max_inbound_rate, &gw->max_inbound_rate, in->max_inbound_rate},
        {"max_queue", &run->max_queue, &gw->max_queue, in->max_queue},
        {"max_queue_total", &run->max_queue_total, &gw->max_queue_total, in->max_queue_total},
        {"connection_state_ttl", &run->connection_state_ttl, &gw->connection_state_ttl,
         in->connection_state_ttl},
    };
    for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++) {
        if (*l[i].run == l[i].value) continue;
        *l[i].run = *l[i].gw = l[i].value;
        note(changed, size, l[i].name);
    }
    srv->rest.max_connections = run->max_connections;
    srv->rest.max_connections_per_app = run->max_connections_per_app;
    srv->rest.max_connections_per_client = run->max_connections_per_client;
    srv->rest.max_message_size = (size_t)run->max_message_size;
}

int rta_server_reload(rta_server *srv)
{
    rta_error err;
    rta_config fresh;
    rta_config_defaults(&fresh);
    const char *file = srv->argv ? rta_config_file(srv->argc, srv->argv) : NULL;
    rta_log_event(RTA_LOG_INFO, "reload.started", NULL, "SIGHUP: reloading%s%s",
                  file ? " " : " (no config file: certificate and access log only)",
                  file ? file : "");
    int rc = srv->argv ? rta_config_load(&fresh, srv->argc, srv->argv, &err) : 0;
    if (!srv->argv) fresh = srv->loaded;
    if (!rc && srv->cfg.worker >= 0) /* a worker of --workers: the same worker again */
        rc = rta_config_as_worker(&fresh, srv->cfg.worker, &err);
    if (rc) {
        rta_log_event(RTA_LOG_ERROR, "reload.failed", &(rta_log_fields){.code = err.code},
                      "reload failed, nothing changed: %s", err.message);
        return err.code ? err.code : RTA_ERR_INVALID_PARAMETER;
    }
    rta_config loaded = fresh; /* as loaded: what the next reload compares with */
    keep_fixed(&srv->cfg, &fresh);

    /* 1. checks: nothing is applied unless all pass */
    rta_access_log alog;
    memset(&alog, 0, sizeof(alog));
    if ((rc = rta_access_log_reopen(&alog, fresh.access_log, &err))) {
        rta_log_event(RTA_LOG_ERROR, "reload.failed", &(rta_log_fields){.code = rc},
                      "reload failed, nothing changed: %s", err.message);
        return rc;
    }
    rta_tls_certs certs;
    memset(&certs, 0, sizeof(certs));
    int tls = srv->tls_ctx && fresh.tls_cert[0];
    if (!srv->tls_ctx && fresh.tls_cert[0]) /* libwebsockets never showed us its context */
        rta_log_event(RTA_LOG_WARN, "reload.ignored", NULL,
                      "reload: the TLS listener's context is unknown: the certificate is not "
                      "reloaded (restart to apply it)");
    if (tls) {
        rc = rta_tls_certs_load(fresh.tls_cert, fresh.tls_key, fresh.tls_min_version,
                                fresh.tls_ciphers, fresh.tls_ciphersuites, &certs, &err);
        if (!rc) rc = rta_tls_certs_apply(srv->tls_ctx, &certs, &err); /* checks, then swaps */
        if (rc) {
            rta_access_log_close(&alog);
            rta_tls_certs_free(&certs);
            rta_log_event(RTA_LOG_ERROR, "reload.failed", &(rta_log_fields){.code = rc},
                          "reload failed, nothing changed (the running certificate is still "
                          "served): %s",
                          err.message);
            return rc;
        }
    }

    /* 2. apply (the certificate is in place already) */
    char changed[1024] = "";
    if (tls) {
        char what[256];
        snprintf(what, sizeof(what), "TLS certificate (SHA-256 %s, expires %s)", certs.sha256,
                 certs.not_after);
        note(changed, sizeof(changed), what);
        memcpy(srv->cfg.tls_cert, fresh.tls_cert, sizeof(fresh.tls_cert));
        memcpy(srv->cfg.tls_key, fresh.tls_key, sizeof(fresh.tls_key));
        rta_tls_certs_free(&certs);
    }
    if (srv->cfg.log_level != fresh.log_level) {
        srv->cfg.log_level = fresh.log_level;
        rta_log_set_level((rta_log_level)fresh.log_level);
        lws_set_log_level(fresh.log_level >= RTA_LOG_DEBUG ? LLL_ERR | LLL_WARN : LLL_ERR, NULL);
        note(changed, sizeof(changed), "log_level");
    }
    if (srv->cfg.log_format != fresh.log_format) {
        srv->cfg.log_format = fresh.log_format;
        rta_log_set_format((rta_log_format)fresh.log_format);
        note(changed, sizeof(changed), "log_format");
    }
    if (strcmp(srv->cfg.access_log, fresh.access_log)) note(changed, sizeof(changed), "access_log");
    rta_access_log_close(&srv->access_log);
    srv->access_log = alog; /* the REST room points at srv->access_log */
    memcpy(srv->cfg.access_log, fresh.access_log, sizeof(fresh.access_log));
    if (srv->cfg.cors.any != fresh.cors.any || srv->cfg.cors.len != fresh.cors.len ||
        memcmp(srv->cfg.cors.list, fresh.cors.list, fresh.cors.len)) {
        srv->cfg.cors = fresh.cors; /* srv->rest.cors points here */
        note(changed, sizeof(changed), "cors_origins");
    }
    if (srv->cfg.basic_over_http != fresh.basic_over_http) {
        srv->cfg.basic_over_http = srv->rest.basic_over_http = fresh.basic_over_http;
        srv->gateway.basic_over_http = fresh.basic_over_http;
        note(changed, sizeof(changed), "basic_over_http");
    }
    if (srv->cfg.max_body != fresh.max_body) {
        srv->cfg.max_body = srv->rest.max_body = fresh.max_body;
        note(changed, sizeof(changed), "max_body");
    }
    apply_limits(srv, &fresh, changed, sizeof(changed));
    srv->cfg.no_dev_app = fresh.no_dev_app; /* read at a first start only */
    srv->loaded = loaded;
    rta_log_event(RTA_LOG_INFO, "reload.done", NULL, "reload done: %s",
                  changed[0] ? changed : "nothing changed (access log reopened)");
    return 0;
}

static void on_hup(uv_signal_t *h, int signum)
{
    (void)signum;
    rta_server_reload(h->data);
}

void rta_server_enable_reload(rta_server *srv, int argc, char **argv)
{
    srv->argc = argc;
    srv->argv = argv;
    if (!srv->loop_ready || srv->hup_ready) return;
    if (uv_signal_init(&srv->loop, &srv->hup)) return;
    srv->hup.data = srv;
    srv->hup_ready = 1;
    if (uv_signal_start(&srv->hup, on_hup, SIGHUP) == 0)
        uv_unref((uv_handle_t *)&srv->hup); /* never keeps the loop alive on its own */
}
