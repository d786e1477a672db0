/* config.h: rtauthd's settings, from (lowest to highest precedence) built-in defaults, a
 * config file, environment variables and command-line flags. Every limit the server applies
 * is here, with its default.
 *
 *   flag                   environment              config file key     default
 *   --listen HOST:PORT     RTAUTHD_LISTEN           listen              127.0.0.1:8080
 *   --data-dir DIR         RTAUTHD_DATA_DIR         data_dir            ./var
 *   --tls-cert FILE        RTAUTHD_TLS_CERT         tls_cert            (none: plain HTTP/WS)
 *   --tls-key FILE         RTAUTHD_TLS_KEY          tls_key
 *   --tls-min-version V    RTAUTHD_TLS_MIN_VERSION  tls_min_version     1.2 (V: 1.2 | 1.3)
 *   --tls-ciphers LIST     RTAUTHD_TLS_CIPHERS      tls_ciphers         ECDHE with AES-GCM or
 *                          (TLS 1.2, OpenSSL cipher-list syntax)         ChaCha20-Poly1305
 *   --tls-ciphersuites LIST RTAUTHD_TLS_CIPHERSUITES tls_ciphersuites   TLS 1.3's defaults
 *                          (TLS 1.3, OpenSSL ciphersuites syntax; tls_policy.h)
 *   --kek-file FILE        RTAUTHD_KEK_FILE         kek_file            (none: secrets stored
 *                          RTAUTHD_KEK (64 hex digits, environment only)   in plaintext)
 *                          (the key-encryption key that seals key secrets and server secrets
 *                          in the store; store/secret_box.h, docs/security.md)
 *   --metrics-token-file FILE RTAUTHD_METRICS_TOKEN_FILE metrics_token_file (none)
 *                          (bearer token for GET /metrics when rtauthd does not listen on
 *                          loopback; owner-only file, read at start; server/metrics.h)
 *   --sandbox              RTAUTHD_SANDBOX=1        sandbox = true      off
 *   --log-level LEVEL      RTAUTHD_LOG_LEVEL        log_level           info
 *   --log-format F         RTAUTHD_LOG_FORMAT       log_format          text (F: text | json;
 *                                                   log.h)
 *   --access-log PATH      RTAUTHD_ACCESS_LOG       access_log          (none: off; "-" is
 *                          stdout; one line per REST request, rest/access_log.h)
 *   --no-dev-app           RTAUTHD_NO_DEV_APP=1     no_dev_app = true   off (on first start,
 *                          create no "dev" app with an all-powerful key)
 *   --basic-over-http M    RTAUTHD_BASIC_OVER_HTTP  basic_over_http     loopback
 *                          (M: loopback | always | never; Basic auth without TLS, S-2)
 *   --max-body BYTES       RTAUTHD_MAX_BODY         max_body            65536
 *   --cors-origins LIST    RTAUTHD_CORS_ORIGINS     cors_origins        * (any origin)
 *                          (LIST: * | none | origins such as https://app.example.com; a
 *                          host *.example.com means its subdomains; which web pages may
 *                          read replies, cors.h)
 *   realtime gateway limits (wire protocol 2.4; issue 5):
 *   --max-connections N    RTAUTHD_MAX_CONNECTIONS  max_connections     0 (derived: 90% of
 *                                                   the descriptor limit less 64)
 *   --max-connections-per-app N  RTAUTHD_MAX_CONNECTIONS_PER_APP  max_connections_per_app  0
 *                          (connections one app holds, live or awaiting resume; 0: only
 *                          max_connections bounds them; an app's own limit overrides it)
 *   --max-connections-per-client N  RTAUTHD_MAX_CONNECTIONS_PER_CLIENT
 *                          max_connections_per_client  100 (per clientId within an app;
 *                          0: unlimited; an app's own limit overrides it)
 *   --max-channels-per-connection N  RTAUTHD_MAX_CHANNELS_PER_CONNECTION
 *                          max_channels_per_connection  1000
 *   --max-message-size B   RTAUTHD_MAX_MESSAGE_SIZE max_message_size    65536
 *   --max-frame-size B     RTAUTHD_MAX_FRAME_SIZE   max_frame_size      524288
 *   --max-inbound-rate N   RTAUTHD_MAX_INBOUND_RATE max_inbound_rate    250 (messages/s
 *                                                                        per connection)
 *   --max-queue B          RTAUTHD_MAX_QUEUE        max_queue           1048576 (bytes queued
 *                                                   for one connection, live or resumable)
 *   --max-queue-total B    RTAUTHD_MAX_QUEUE_TOTAL  max_queue_total     268435456 (bytes
 *                                                   queued or held for all connections
 *                                                   together; the oldest detached ones
 *                                                   are dropped first)
 *   --connection-state-ttl MS RTAUTHD_CONNECTION_STATE_TTL connection_state_ttl 120000
 *   --max-idle-interval MS RTAUTHD_MAX_IDLE_INTERVAL max_idle_interval   15000 (advertised;
 *                                                   pings go out well within it)
 *   --history-max-messages N  RTAUTHD_HISTORY_MAX_MESSAGES  history_max_messages  1000
 *   --history-max-age MS      RTAUTHD_HISTORY_MAX_AGE       history_max_age       120000
 *   --history-max-bytes BYTES RTAUTHD_HISTORY_MAX_BYTES     history_max_bytes     67108864
 *                          (the in-memory channel history window: per channel, its age, and
 *                          all channels together; history_max_bytes 0 keeps none)
 *   --unsafe-skip-capability-checks  RTAUTHD_UNSAFE_SKIP_CAPABILITY_CHECKS=1
 *                          unsafe_skip_capability_checks = true                    off
 *                          (BENCHMARK BASELINE ONLY: ATTACH grants the requested modes and
 *                          MESSAGE skips the publish check; never in production)
 *   cluster mode (docs/cluster.md): several nodes sharing auth state through Redis
 *   --redis URL            RTAUTHD_REDIS            redis               (none: SQLite, one node)
 *                          (redis://[user:pass@]host:port[/db]; with Sentinel, the user,
 *                          password and db of the primary, host ignored: redis://:pass@/db)
 *   --redis-sentinel LIST  RTAUTHD_REDIS_SENTINEL   redis_sentinel      (none; host:port,...)
 *   --redis-master NAME    RTAUTHD_REDIS_MASTER     redis_master        (Sentinel's name for
 *                                                   the primary; with --redis-sentinel)
 *   --redis-shard URL      RTAUTHD_REDIS_SHARD      redis_shard         (none; repeatable: the
 *                          Redis instances channels are spread over, docs/cluster.md; the
 *                          environment and file forms take several URLs separated by spaces,
 *                          and flags replace the environment's list, which replaces the file's)
 *   --node-id ID           RTAUTHD_NODE_ID          node_id             (required in cluster
 *                                                   mode; [A-Za-z0-9_.-], at most 64)
 *   --max-clock-skew MS    RTAUTHD_MAX_CLOCK_SKEW   max_clock_skew      10000 (between nodes:
 *                          a used nonce is remembered 2 x timestamp window + this)
 *   --partition-grace MS   RTAUTHD_PARTITION_GRACE  partition_grace     5000 (how long a node
 *                          cut off from Redis keeps connections with revocable tokens)
 *   --channel-linger MS    RTAUTHD_CHANNEL_LINGER   channel_linger      30000 (how long a node
 *                          stays subscribed to a channel after its last local detach)
 *   --presence-grace MS    RTAUTHD_PRESENCE_GRACE   presence_grace      15000 (how long a
 *                          dropped connection's members stay; a dead node's, plus 1 s)
 *   operator console (docs/operations.md, "Operator console"; issue 18):
 *   --console              RTAUTHD_CONSOLE=1        console = true      off (no /console)
 *   --console-password-file FILE  RTAUTHD_CONSOLE_PASSWORD_FILE  console_password_file
 *                          (required with --console: the admin password, an owner-only
 *                          file, checked as --kek-file is; server/console/console.h)
 *   --config FILE          RTAUTHD_CONFIG           -                   (none)
 *
 * The config file has one `key = value` per line; '#' starts a comment.
 * On SIGHUP the settings are loaded again the same way; server/reload.c applies those that can
 * change live and keeps (with a warning) those read only at start.
 */
#ifndef RTA_SERVER_CONFIG_H
#define RTA_SERVER_CONFIG_H

#include <stddef.h>

#include "server/gateway/gateway.h" /* rta_gateway_limits: see the table above */
#include "server/gateway/history.h"
#include "server/rest/cors.h"
#include "rtauth/error.h"
#include "server/auth/token_service.h"

typedef struct rta_config {
    char listen_host[256];
    int port;
    char data_dir[1024];
    char tls_cert[1024];
    char tls_key[1024];
    int tls_min_version;    /* RTA_TLS_MIN_12 or RTA_TLS_MIN_13 (tls_policy.h) */
    char tls_ciphers[1024]; /* TLS 1.2 */
    char tls_ciphersuites[512]; /* TLS 1.3 */
    char kek_file[1024];        /* "" = none (RTAUTHD_KEK may still give one) */
    char metrics_token_file[1024]; /* "" = none: /metrics only on a loopback listener */
    int sandbox;
    int unsafe_skip_capability_checks; /* benchmark baseline only (scripts/bench-gateway) */
    int log_level; /* rta_log_level */
    int log_format; /* rta_log_format */
    char access_log[1024]; /* "" = off, "-" = stdout */
    int no_dev_app;
    rta_basic_over_http basic_over_http;
    size_t max_body;
    rta_cors_policy cors;
    rta_token_limits limits;
    rta_gateway_limits gateway;
    rta_history_limits history;
    /* cluster mode: on when redis or redis_sentinel is set */
    char redis[1024];          /* holds a password: never logged */
    char redis_sentinel[1024];
    char redis_master[256];
    /* --redis-shard URL (repeatable): channel shards, one URL per line, in order (holds
     * passwords: never logged); "": channels on the main Redis */
    char redis_shards[4096];
    char node_id[65];
    long long max_clock_skew;  /* ms */
    long long partition_grace; /* ms */
    long long channel_linger;  /* ms */
    /* --workers N (server/workers.h): N processes on one listen port (SO_REUSEPORT), each a
     * cluster node "<node_id>.w<i>"; 0 or 1: this process serves. `worker` is the index of
     * this process once it is one (-1 otherwise); `reuse_port` shares the listen port. */
    long long workers;
    int worker;
    int reuse_port;
    /* the operator console (server/console/console.h) */
    int console;
    char console_password_file[1024];
} rta_config;

/* --redis-shard's URLs parsed, in order (*n of them; none: NULL, 0). 0, or 40003 naming the
 * shard whose URL is wrong (never quoting a password). Free with rta_config_redis_shards_free
 * (wipes the credentials). */
#define RTA_CONFIG_MAX_SHARDS 16 /* RTA_REDIS_MAX_SHARDS */
struct rta_redis_target;
int rta_config_redis_shards(const rta_config *c, struct rta_redis_target **out, size_t *n,
                            rta_error *err);
void rta_config_redis_shards_free(struct rta_redis_target *t, size_t n);

/* 1 when the settings ask for cluster mode (the Redis store). */
int rta_config_cluster(const rta_config *c);
/* Makes c worker i's (--workers): node_id gets ".w<i>", the listen port is shared. 0, or
 * 40003 when the node id would be too long. */
int rta_config_as_worker(rta_config *c, int i, rta_error *err);

void rta_config_defaults(rta_config *c);

/* Applies the config file named by --config or RTAUTHD_CONFIG, then the environment, then
 * argv. Returns 0; 1 when --help was asked (usage already printed to stdout); or 40003 with
 * err naming the bad setting. Logs nothing but warnings; may be called again (SIGHUP reload,
 * server/reload.c) with the same argv, so flags keep their precedence over the file. */
int rta_config_load(rta_config *c, int argc, char **argv, rta_error *err);

/* The config file's path given by --config or RTAUTHD_CONFIG, or NULL. */
const char *rta_config_file(int argc, char **argv);

void rta_config_usage(void);

#endif
