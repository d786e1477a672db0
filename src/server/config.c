/* config.c: defaults, config file, environment and flags; see config.h. */
#include <arpa/inet.h>
#include "server/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "server/store/redis_keys.h"
#include "server/store/redis_url.h"
#include "server/tls_policy.h"

void rta_config_defaults(rta_config *c)
{
    memset(c, 0, sizeof(*c));
    strcpy(c->listen_host, "127.0.0.1");
    c->port = 8080;
    strcpy(c->data_dir, "./var");
    c->tls_min_version = RTA_TLS_MIN_12;
    strcpy(c->tls_ciphers, RTA_TLS_DEFAULT_CIPHERS);
    strcpy(c->tls_ciphersuites, RTA_TLS_DEFAULT_CIPHERSUITES);
    c->log_level = RTA_LOG_INFO;
    c->basic_over_http = RTA_BASIC_HTTP_LOOPBACK;
    c->max_body = 64 * 1024;
    rta_cors_policy_default(&c->cors);
    rta_token_limits_default(&c->limits);
    c->gateway.max_connections = 0; /* derived from the descriptor limit at start */
    c->gateway.max_connections_per_app = 0; /* none of its own: docs/gateway.md, Limits */
    c->gateway.max_connections_per_client = 100;
    c->gateway.max_channels_per_connection = 1000;
    c->gateway.max_message_size = 65536;
    c->gateway.max_frame_size = 512 * 1024;
    c->gateway.max_inbound_rate = 250;
    c->gateway.max_queue = 1024 * 1024;
    c->gateway.max_queue_total = 256LL * 1024 * 1024;
    c->gateway.connection_state_ttl = 120000;
    c->gateway.max_idle_interval = 15000;
    rta_history_limits_default(&c->history);
    c->max_clock_skew = 10000;
    c->partition_grace = 5000;
    c->channel_linger = 30000;
    c->gateway.presence_grace = 15000;
    c->worker = -1;
}

int rta_config_cluster(const rta_config *c)
{
    return c->redis[0] || c->redis_sentinel[0];
}

int rta_config_as_worker(rta_config *c, int i, rta_error *err)
{
    char id[sizeof(c->node_id)];
    int n = snprintf(id, sizeof(id), "%s.w%d", c->node_id, i);
    if (n < 0 || (size_t)n >= sizeof(id))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "node_id is too long for --workers (at most 60 characters)");
    memcpy(c->node_id, id, sizeof(id));
    c->worker = i;
    c->reuse_port = 1;
    return 0;
}

/* Numeric settings: name, where (a size_t, int64_t or long long field), inclusive range. */
#define NUM(field, lo, hi) offsetof(rta_config, field), sizeof(((rta_config *)0)->field), lo, hi
static const struct {
    const char *name;
    size_t offset, size;
    long long min, max;
} numbers[] = {
    {"max_body", NUM(max_body, 1024, 64 * 1024 * 1024)},
    {"history_max_messages", NUM(history.max_messages, 1, 100000)},
    {"history_max_age", NUM(history.max_age_ms, 1000, 86400000)},
    {"history_max_bytes", NUM(history.max_bytes, 0, 16LL * 1024 * 1024 * 1024)},
    {"max_connections", NUM(gateway.max_connections, 0, 1000000)},
    {"max_connections_per_app", NUM(gateway.max_connections_per_app, 0, 1000000)},
    {"max_connections_per_client", NUM(gateway.max_connections_per_client, 0, 1000000)},
    {"max_channels_per_connection", NUM(gateway.max_channels_per_connection, 1, 1000000)},
    {"max_message_size", NUM(gateway.max_message_size, 1024, 16 << 20)},
    {"max_frame_size", NUM(gateway.max_frame_size, 4096, 64 << 20)},
    {"max_inbound_rate", NUM(gateway.max_inbound_rate, 1, 1000000)},
    {"max_queue", NUM(gateway.max_queue, 65536, 1LL << 30)},
    {"max_queue_total", NUM(gateway.max_queue_total, 1 << 20, 1LL << 40)},
    {"connection_state_ttl", NUM(gateway.connection_state_ttl, 0, 86400000)},
    {"max_idle_interval", NUM(gateway.max_idle_interval, 1500, 600000)},
    {"max_clock_skew", NUM(max_clock_skew, 0, 600000)},
    {"partition_grace", NUM(partition_grace, 0, 600000)},
    {"channel_linger", NUM(channel_linger, 0, 3600000)},
    {"presence_grace", NUM(gateway.presence_grace, 1000, 600000)},
    {"workers", NUM(workers, 0, 64)},
};

/* Every range is non-negative, so a size_t and an int64_t hold the value alike; the 4-byte
 * branch is for a size_t field where size_t is 32 bits (the ranges then fit too). */
static void store(void *field, size_t size, long long n)
{
    if (size == sizeof(int32_t)) {
        int32_t v = (int32_t)n;
        memcpy(field, &v, sizeof(v));
    } else {
        int64_t v = n;
        memcpy(field, &v, sizeof(v));
    }
}

void rta_config_usage(void)
{
    printf("usage: rtauthd [options]\n"
           "  --listen HOST:PORT      IP address to serve REST and WebSocket on (127.0.0.1:8080)\n"
           "  --data-dir DIR          SQLite store directory (./var)\n"
           "  --tls-cert FILE         PEM certificate: serve HTTPS and WSS\n"
           "  --tls-key FILE          PEM private key for --tls-cert\n"
           "  --tls-min-version V     lowest TLS version offered: 1.2 | 1.3 (1.2)\n"
           "  --tls-ciphers LIST      TLS 1.2 ciphers, OpenSSL syntax (ECDHE with AES-GCM or\n"
           "                          ChaCha20-Poly1305 only)\n"
           "  --tls-ciphersuites LIST TLS 1.3 suites, OpenSSL syntax (TLS 1.3's defaults)\n"
           "  --kek-file FILE         key-encryption key (32 bytes or 64 hex digits, owner-only\n"
           "                          file): key secrets and server secrets are stored\n"
           "                          encrypted; or RTAUTHD_KEK=<64 hex digits>\n"
           "  --metrics-token-file FILE  bearer token (owner-only file) that GET /metrics\n"
           "                          requires when not listening on loopback\n"
           "  --sandbox               enable POST /apps provisioning (test suites, CI)\n"
           "  --log-level LEVEL       error | warn | info | debug (info)\n"
           "  --log-format F          text | json: one JSON object per log line (text)\n"
           "  --access-log PATH|-     one line per REST request to PATH (- for stdout; off);\n"
           "                          reopened on SIGHUP\n"
           "  --no-dev-app            on first start, create no \"dev\" app (production)\n"
           "  --basic-over-http MODE  Basic auth without TLS: loopback | always | never\n"
           "                          (loopback)\n"
           "  --max-body BYTES        largest request body accepted (65536)\n"
           "  --cors-origins LIST     web page origins that may read replies: * (any), none,\n"
           "                          or origins like https://app.example.com (*)\n"
           "  --max-connections N     realtime connections at once (0: derived from the\n"
           "                          descriptor limit: 90%% of `ulimit -n` - 64)\n"
           "  --max-connections-per-app N  connections one app may hold, live or awaiting\n"
           "                          resume (0: no cap of its own; apps may override)\n"
           "  --max-connections-per-client N  connections per clientId within an app (100;\n"
           "                          0: unlimited; apps may override)\n"
           "  --max-channels-per-connection N  channels one connection may attach (1000)\n"
           "  --max-message-size B    largest message a client may publish (65536)\n"
           "  --max-frame-size B      largest WebSocket message accepted (524288)\n"
           "  --max-inbound-rate N    messages per second per connection (250)\n"
           "  --max-queue B           bytes queued for one connection, live or awaiting\n"
           "                          resume (1048576)\n"
           "  --max-queue-total B     bytes queued or held for all connections together; the\n"
           "                          oldest detached connections go first (268435456)\n"
           "  --connection-state-ttl MS  how long a dropped connection may resume (120000)\n"
           "  --max-idle-interval MS  longest silence a client should accept; rtauthd pings\n"
           "                          well within it (15000)\n"
           "  --history-max-messages N   channel history: messages kept per channel (1000)\n"
           "  --history-max-age MS       channel history: how long a message is kept (120000)\n"
           "  --history-max-bytes BYTES  channel history: memory for all channels (67108864)\n"
           "  --unsafe-skip-capability-checks  benchmark baseline only: realtime ATTACH and\n"
           "                          publish ignore the capability (never in production)\n"
           "cluster mode (several nodes sharing auth state through Redis; docs/cluster.md):\n"
           "  --redis URL             redis://[user:pass@]host:port[/db] (prefer RTAUTHD_REDIS\n"
           "                          or the config file for a password: argv is visible)\n"
           "  --redis-sentinel LIST   host:port,... of Sentinels (with --redis-master NAME);\n"
           "                          --redis then gives only credentials and db\n"
           "  --redis-master NAME     Sentinel's name for the primary\n"
           "  --redis-shard URL       a Redis for channels (repeatable; same list on every\n"
           "                          node): channels spread over them by hash, auth state\n"
           "                          stays on --redis\n"
           "  --node-id ID            this node's id, unique in the cluster (required)\n"
           "  --max-clock-skew MS     largest clock difference between nodes (10000)\n"
           "  --partition-grace MS    a node cut off from Redis drops its connections with\n"
           "                          revocable tokens after this long (5000)\n"
           "  --channel-linger MS     a node stays subscribed to a channel in Redis this long\n"
           "                          after its last local detach (30000)\n"
           "  --presence-grace MS     a dropped connection's presence members, or a dead\n"
           "                          node's, leave after this long (15000)\n"
           "  --workers N             N processes on the listen port (SO_REUSEPORT), each a\n"
           "                          cluster node <node-id>.w<i>, kept running (cluster mode)\n"
           "operator console (docs/operations.md):\n"
           "  --console               serve the operator console at /console (off)\n"
           "  --console-password-file FILE  the console's admin password (owner-only file;\n"
           "                          required with --console)\n"
           "  --config FILE           key = value settings (same names, underscores)\n"
           "Environment: RTAUTHD_LISTEN, RTAUTHD_DATA_DIR, RTAUTHD_TLS_CERT, RTAUTHD_TLS_KEY,\n"
           "RTAUTHD_TLS_MIN_VERSION, RTAUTHD_TLS_CIPHERS, RTAUTHD_TLS_CIPHERSUITES,\n"
           "RTAUTHD_KEK_FILE, RTAUTHD_KEK,\n"
           "RTAUTHD_SANDBOX, RTAUTHD_LOG_LEVEL, RTAUTHD_LOG_FORMAT, RTAUTHD_ACCESS_LOG,\n"
           "RTAUTHD_NO_DEV_APP, RTAUTHD_BASIC_OVER_HTTP, RTAUTHD_MAX_BODY,\n"
           "RTAUTHD_CORS_ORIGINS,\n"
           "RTAUTHD_MAX_CONNECTIONS, RTAUTHD_MAX_CONNECTIONS_PER_APP,\n"
           "RTAUTHD_MAX_CONNECTIONS_PER_CLIENT, RTAUTHD_MAX_CHANNELS_PER_CONNECTION,\n"
           "RTAUTHD_MAX_MESSAGE_SIZE, RTAUTHD_MAX_FRAME_SIZE,\n"
           "RTAUTHD_MAX_INBOUND_RATE, RTAUTHD_MAX_QUEUE, RTAUTHD_MAX_QUEUE_TOTAL,\n"
           "RTAUTHD_CONNECTION_STATE_TTL, RTAUTHD_PRESENCE_GRACE,\n"
           "RTAUTHD_MAX_IDLE_INTERVAL,\n"
           "RTAUTHD_HISTORY_MAX_MESSAGES, RTAUTHD_HISTORY_MAX_AGE, RTAUTHD_HISTORY_MAX_BYTES,\n"
           "RTAUTHD_REDIS, RTAUTHD_REDIS_SENTINEL, RTAUTHD_REDIS_MASTER, RTAUTHD_REDIS_SHARD,\n"
           "RTAUTHD_NODE_ID,\n"
           "RTAUTHD_MAX_CLOCK_SKEW, RTAUTHD_PARTITION_GRACE, RTAUTHD_CHANNEL_LINGER, RTAUTHD_WORKERS,\n"
           "RTAUTHD_CONSOLE, RTAUTHD_CONSOLE_PASSWORD_FILE,\n"
           "RTAUTHD_UNSAFE_SKIP_CAPABILITY_CHECKS, RTAUTHD_CONFIG. Flags override the environment, which overrides the file.\n"
           "Signals: SIGTERM, SIGINT stop; SIGHUP reloads the config file and the TLS\n"
           "certificate and key, and reopens the access log (docs/operations.md).\n");
}

static int copy_str(char *dst, size_t size, const char *v, const char *name, rta_error *err)
{
    if (strlen(v) >= size)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "%s is too long", name);
    strcpy(dst, v);
    return 0;
}

static int parse_bool(const char *v)
{
    return !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on");
}

/* One setting by its config-file name. */
static int apply(rta_config *c, const char *name, const char *v, rta_error *err)
{
    if (!strcmp(name, "listen")) {
        const char *colon = strrchr(v, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == v || *end || port < 0 || port > 65535 ||
            (size_t)(colon - v) >= sizeof(c->listen_host))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "listen must be HOST:PORT, got \"%s\"", v);
        memcpy(c->listen_host, v, (size_t)(colon - v));
        c->listen_host[colon - v] = '\0';
        c->port = (int)port;
        /* An address, not a name: libwebsockets takes a name for a network interface, and
         * `localhost:8080` listened nowhere without a word. */
        unsigned char addr[16];
        if (inet_pton(AF_INET, c->listen_host, addr) != 1 &&
            inet_pton(AF_INET6, c->listen_host, addr) != 1)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "listen: HOST must be an IP address (127.0.0.1, 0.0.0.0, ::1, "
                                 "::), got \"%s\"", c->listen_host);
        return 0;
    }
    if (!strcmp(name, "data_dir")) return copy_str(c->data_dir, sizeof(c->data_dir), v, name, err);
    if (!strcmp(name, "tls_cert")) return copy_str(c->tls_cert, sizeof(c->tls_cert), v, name, err);
    if (!strcmp(name, "tls_key")) return copy_str(c->tls_key, sizeof(c->tls_key), v, name, err);
    if (!strcmp(name, "kek_file")) return copy_str(c->kek_file, sizeof(c->kek_file), v, name, err);
    if (!strcmp(name, "console_password_file"))
        return copy_str(c->console_password_file, sizeof(c->console_password_file), v, name, err);
    if (!strcmp(name, "metrics_token_file"))
        return copy_str(c->metrics_token_file, sizeof(c->metrics_token_file), v, name, err);
    if (!strcmp(name, "redis")) return copy_str(c->redis, sizeof(c->redis), v, name, err);
    if (!strcmp(name, "redis_sentinel"))
        return copy_str(c->redis_sentinel, sizeof(c->redis_sentinel), v, name, err);
    if (!strcmp(name, "redis_master"))
        return copy_str(c->redis_master, sizeof(c->redis_master), v, name, err);
    if (!strcmp(name, "redis_shard")) { /* appends: the flag repeats; spaces separate URLs */
        for (const char *p = v; *p;) {
            size_t n = strcspn(p, " \t"), at = strlen(c->redis_shards);
            if (n && at + n + 2 > sizeof(c->redis_shards))
                return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "%s is too long", name);
            if (n) {
                memcpy(c->redis_shards + at, p, n);
                memcpy(c->redis_shards + at + n, "\n", 2);
            }
            p += n + strspn(p + n, " \t");
        }
        return 0;
    }
    if (!strcmp(name, "node_id")) {
        if (!rta_rk_node_id_ok(v))
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "node_id must be 1..64 of A-Z a-z 0-9 _ . -");
        return copy_str(c->node_id, sizeof(c->node_id), v, name, err);
    }
    if (!strcmp(name, "tls_ciphers"))
        return copy_str(c->tls_ciphers, sizeof(c->tls_ciphers), v, name, err);
    if (!strcmp(name, "tls_ciphersuites"))
        return copy_str(c->tls_ciphersuites, sizeof(c->tls_ciphersuites), v, name, err);
    if (!strcmp(name, "tls_min_version")) {
        int m = rta_tls_min_version_parse(v);
        if (m < 0)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "tls_min_version must be 1.2 or 1.3, got \"%s\"", v);
        c->tls_min_version = m;
        return 0;
    }
    if (!strcmp(name, "sandbox")) {
        c->sandbox = parse_bool(v);
        return 0;
    }
    if (!strcmp(name, "console")) {
        c->console = parse_bool(v);
        return 0;
    }
    if (!strcmp(name, "unsafe_skip_capability_checks")) {
        c->unsafe_skip_capability_checks = parse_bool(v);
        return 0;
    }
    if (!strcmp(name, "no_dev_app")) {
        c->no_dev_app = parse_bool(v);
        return 0;
    }
    if (!strcmp(name, "log_format")) {
        int f = rta_log_format_parse(v);
        if (f < 0)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "log_format must be text or json");
        c->log_format = f;
        return 0;
    }
    if (!strcmp(name, "access_log"))
        return copy_str(c->access_log, sizeof(c->access_log), v, name, err);
    if (!strcmp(name, "log_level")) {
        int l = rta_log_level_parse(v);
        if (l < 0)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "log_level must be error, warn, info or debug");
        c->log_level = l;
        return 0;
    }
    if (!strcmp(name, "cors_origins")) return rta_cors_policy_parse(&c->cors, v, err);
    if (!strcmp(name, "basic_over_http")) {
        if (!strcmp(v, "loopback"))
            c->basic_over_http = RTA_BASIC_HTTP_LOOPBACK;
        else if (!strcmp(v, "always"))
            c->basic_over_http = RTA_BASIC_HTTP_ALWAYS;
        else if (!strcmp(v, "never"))
            c->basic_over_http = RTA_BASIC_HTTP_NEVER;
        else
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "basic_over_http must be loopback, always or never");
        return 0;
    }
    for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
        if (strcmp(name, numbers[i].name)) continue;
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (!*v || *end || errno || n < numbers[i].min || n > numbers[i].max)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "%s must be %lld..%lld",
                                 name, numbers[i].min, numbers[i].max);
        store((char *)c + numbers[i].offset, numbers[i].size, n);
        return 0;
    }
    return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Unknown setting \"%s\"", name);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static int load_file(rta_config *c, const char *path, rta_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Cannot open config %s", path);
    char line[2048];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof(line), f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "%s:%d: expected key = value",
                               path, lineno);
            break;
        }
        *eq = '\0';
        rc = apply(c, trim(s), trim(eq + 1), err);
    }
    fclose(f);
    return rc;
}

static const struct {
    const char *flag, *env, *name;
    int is_bool;
} settings[] = {
    {"--listen", "RTAUTHD_LISTEN", "listen", 0},
    {"--data-dir", "RTAUTHD_DATA_DIR", "data_dir", 0},
    {"--tls-cert", "RTAUTHD_TLS_CERT", "tls_cert", 0},
    {"--tls-key", "RTAUTHD_TLS_KEY", "tls_key", 0},
    {"--tls-min-version", "RTAUTHD_TLS_MIN_VERSION", "tls_min_version", 0},
    {"--tls-ciphers", "RTAUTHD_TLS_CIPHERS", "tls_ciphers", 0},
    {"--tls-ciphersuites", "RTAUTHD_TLS_CIPHERSUITES", "tls_ciphersuites", 0},
    {"--kek-file", "RTAUTHD_KEK_FILE", "kek_file", 0},
    {"--metrics-token-file", "RTAUTHD_METRICS_TOKEN_FILE", "metrics_token_file", 0},
    {"--sandbox", "RTAUTHD_SANDBOX", "sandbox", 1},
    {"--unsafe-skip-capability-checks", "RTAUTHD_UNSAFE_SKIP_CAPABILITY_CHECKS",
     "unsafe_skip_capability_checks", 1},
    {"--log-level", "RTAUTHD_LOG_LEVEL", "log_level", 0},
    {"--log-format", "RTAUTHD_LOG_FORMAT", "log_format", 0},
    {"--access-log", "RTAUTHD_ACCESS_LOG", "access_log", 0},
    {"--no-dev-app", "RTAUTHD_NO_DEV_APP", "no_dev_app", 1},
    {"--basic-over-http", "RTAUTHD_BASIC_OVER_HTTP", "basic_over_http", 0},
    {"--max-body", "RTAUTHD_MAX_BODY", "max_body", 0},
    {"--cors-origins", "RTAUTHD_CORS_ORIGINS", "cors_origins", 0},
    {"--max-connections", "RTAUTHD_MAX_CONNECTIONS", "max_connections", 0},
    {"--max-connections-per-app", "RTAUTHD_MAX_CONNECTIONS_PER_APP", "max_connections_per_app", 0},
    {"--max-connections-per-client", "RTAUTHD_MAX_CONNECTIONS_PER_CLIENT",
     "max_connections_per_client", 0},
    {"--max-channels-per-connection", "RTAUTHD_MAX_CHANNELS_PER_CONNECTION",
     "max_channels_per_connection", 0},
    {"--max-message-size", "RTAUTHD_MAX_MESSAGE_SIZE", "max_message_size", 0},
    {"--max-frame-size", "RTAUTHD_MAX_FRAME_SIZE", "max_frame_size", 0},
    {"--max-inbound-rate", "RTAUTHD_MAX_INBOUND_RATE", "max_inbound_rate", 0},
    {"--max-queue", "RTAUTHD_MAX_QUEUE", "max_queue", 0},
    {"--max-queue-total", "RTAUTHD_MAX_QUEUE_TOTAL", "max_queue_total", 0},
    {"--connection-state-ttl", "RTAUTHD_CONNECTION_STATE_TTL", "connection_state_ttl", 0},
    {"--max-idle-interval", "RTAUTHD_MAX_IDLE_INTERVAL", "max_idle_interval", 0},
    {"--history-max-messages", "RTAUTHD_HISTORY_MAX_MESSAGES", "history_max_messages", 0},
    {"--history-max-age", "RTAUTHD_HISTORY_MAX_AGE", "history_max_age", 0},
    {"--history-max-bytes", "RTAUTHD_HISTORY_MAX_BYTES", "history_max_bytes", 0},
    {"--redis", "RTAUTHD_REDIS", "redis", 0},
    {"--redis-sentinel", "RTAUTHD_REDIS_SENTINEL", "redis_sentinel", 0},
    {"--redis-master", "RTAUTHD_REDIS_MASTER", "redis_master", 0},
    {"--redis-shard", "RTAUTHD_REDIS_SHARD", "redis_shard", 0},
    {"--node-id", "RTAUTHD_NODE_ID", "node_id", 0},
    {"--max-clock-skew", "RTAUTHD_MAX_CLOCK_SKEW", "max_clock_skew", 0},
    {"--partition-grace", "RTAUTHD_PARTITION_GRACE", "partition_grace", 0},
    {"--channel-linger", "RTAUTHD_CHANNEL_LINGER", "channel_linger", 0},
    {"--presence-grace", "RTAUTHD_PRESENCE_GRACE", "presence_grace", 0},
    {"--workers", "RTAUTHD_WORKERS", "workers", 0},
    {"--console", "RTAUTHD_CONSOLE", "console", 1},
    {"--console-password-file", "RTAUTHD_CONSOLE_PASSWORD_FILE", "console_password_file", 0},
};
#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* A KEK kept inside the data directory protects nothing against whoever can read the
 * directory (docs/security.md): allowed, but said. */
static void warn_kek_placement(const rta_config *c)
{
    char kek[PATH_MAX], dir[PATH_MAX];
    if (!c->kek_file[0] || !realpath(c->kek_file, kek) || !realpath(c->data_dir, dir)) return;
    size_t n = strlen(dir);
    if (!strncmp(kek, dir, n) && kek[n] == '/')
        rta_log_warn("the KEK file %s is inside the data directory %s: whoever can read the "
                     "directory can decrypt its secrets; keep the KEK elsewhere",
                     c->kek_file, c->data_dir);
}

int rta_config_redis_shards(const rta_config *c, rta_redis_target **out, size_t *n,
                            rta_error *err)
{
    *out = NULL;
    *n = 0;
    size_t count = 0;
    for (const char *p = c->redis_shards; *p; p++) count += *p == '\n';
    if (!count) return 0;
    if (count > RTA_CONFIG_MAX_SHARDS)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "at most %d --redis-shard",
                             RTA_CONFIG_MAX_SHARDS);
    rta_redis_target *t = calloc(count, sizeof(*t));
    if (!t) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    int rc = 0;
    char url[sizeof(c->redis_shards)];
    for (const char *p = c->redis_shards; !rc && *p && *n < count;) {
        size_t len = strcspn(p, "\n");
        memcpy(url, p, len);
        url[len] = '\0';
        rta_error why;
        if (rta_redis_url_parse(url, 0, &t[*n], &why))
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "--redis-shard %zu: %s", *n + 1,
                               why.message);
        (*n)++;
        p += len + (p[len] == '\n');
    }
    OPENSSL_cleanse(url, sizeof(url));
    *out = t;
    if (rc) {
        rta_config_redis_shards_free(t, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void rta_config_redis_shards_free(rta_redis_target *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        rta_redis_target_clear(&t[i]);
    free(t);
}

/* Cluster settings that only make sense together; the URL and Sentinel list must parse (the
 * messages never quote a password). */
static int check_cluster(const rta_config *c, rta_error *err)
{
    if (!rta_config_cluster(c)) {
        if (c->redis_shards[0])
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "--redis-shard needs cluster mode (--redis URL --node-id ID)");
        if (c->redis_master[0])
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "--redis-master goes with --redis-sentinel");
        if (c->workers > 1) /* one SQLite data directory has one writer */
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "--workers needs cluster mode (--redis URL --node-id ID): the "
                                 "workers share their state through Redis");
        return 0;
    }
    rta_redis_target t;
    memset(&t, 0, sizeof(t));
    int rc = 0;
    if (c->redis[0]) rc = rta_redis_url_parse(c->redis, c->redis_sentinel[0] != 0, &t, err);
    if (!rc && c->redis_sentinel[0]) {
        rc = rta_redis_sentinels_parse(c->redis_sentinel, &t, err);
        if (!rc && !c->redis_master[0])
            rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                               "--redis-sentinel needs --redis-master NAME");
    }
    rta_redis_target_clear(&t);
    rta_redis_target *shards = NULL;
    size_t n = 0;
    if (!rc) rc = rta_config_redis_shards(c, &shards, &n, err);
    rta_config_redis_shards_free(shards, n);
    if (!rc && !c->node_id[0])
        rc = rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                           "cluster mode needs --node-id ID, unique among the nodes");
    return rc;
}

const char *rta_config_file(int argc, char **argv)
{
    const char *file = getenv("RTAUTHD_CONFIG");
    if (file && !*file) file = NULL;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--config") && i + 1 < argc) file = argv[i + 1];
    return file;
}

int rta_config_load(rta_config *c, int argc, char **argv, rta_error *err)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            rta_config_usage();
            return 1;
        }
    }
    const char *file = rta_config_file(argc, argv);
    int rc;
    if (file && (rc = load_file(c, file, err))) return rc;
    for (size_t s = 0; s < NSETTINGS; s++) {
        const char *v = getenv(settings[s].env);
        if (v && *v && !strcmp(settings[s].name, "redis_shard")) c->redis_shards[0] = '\0';
        if (v && *v && (rc = apply(c, settings[s].name, v, err))) return rc;
    }
    for (int i = 1; i < argc; i++) /* repeated flags append to each other, not to the env's */
        if (!strcmp(argv[i], "--redis-shard")) c->redis_shards[0] = '\0';
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config")) {
            i++;
            continue;
        }
        size_t s = 0;
        while (s < NSETTINGS && strcmp(argv[i], settings[s].flag)) s++;
        if (s == NSETTINGS)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Unknown option %s", argv[i]);
        if (settings[s].is_bool) {
            rc = apply(c, settings[s].name, "true", err);
        } else {
            if (i + 1 >= argc)
                return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "%s needs a value", argv[i]);
            rc = apply(c, settings[s].name, argv[++i], err);
        }
        if (rc) return rc;
    }
    if (!c->tls_cert[0] != !c->tls_key[0])
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "--tls-cert and --tls-key go together");
    if (c->console && !c->console_password_file[0])
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "--console needs --console-password-file FILE (the admin "
                             "password: the console is never open without a credential)");
    warn_kek_placement(c);
    if ((rc = check_cluster(c, err))) return rc;
    return rta_tls_policy_check(c->tls_min_version, c->tls_ciphers, c->tls_ciphersuites, err);
}
