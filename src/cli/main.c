/* main.c: the rtauth command-line tool: dispatch to the command groups. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/buf.h"
#include "core/codec.h"

/* clang-format off: the help text is laid out by hand */
static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: rtauth <command> [options]\n"
        "\n"
        "operators (work on an rtauthd data directory; a running rtauthd picks changes up\n"
        "within a second):\n"
        "  app create [--capability JSON] [--revocable]   new app with one key (secret shown "
        "once)\n"
        "  app list\n"
        "  app set-limits APP_ID [--max-connections N|default]\n"
        "                 [--max-connections-per-client N|default]\n"
        "                                                the app's own realtime connection caps\n"
        "  key create APP_ID [--capability JSON] [--revocable]\n"
        "  key list [APP_ID]\n"
        "  key disable KEY_NAME | key enable KEY_NAME\n"
        "  secret rotate                                 new server secret for new tokens\n"
        "  (options: --data-dir DIR, default ./var or RTAUTHD_DATA_DIR; the data directory's\n"
        "   key-encryption key, as rtauthd takes it: --kek-file FILE or RTAUTHD_KEK_FILE, or\n"
        "   RTAUTHD_KEK=<64 hex digits>; a cluster's Redis instead of a data directory:\n"
        "   --redis URL or RTAUTHD_REDIS, --redis-sentinel LIST --redis-master NAME, as\n"
        "   rtauthd takes them: every node picks changes up within a second)\n"
        "\n"
        "clients (talk to a running rtauthd through librtauth):\n"
        "  time                                          the server's clock\n"
        "  token request [--client-id ID] [--ttl MS] [--capability JSON]\n"
        "                                                a token from the key\n"
        "  token create-request [--client-id ID] [--ttl MS] [--capability JSON] [--query-time]\n"
        "                                                a signed TokenRequest, made locally\n"
        "  token revoke TARGET... [--issued-before MS] [--allow-reauth-margin]\n"
        "                                                TARGET: clientId:ID, revocationKey:K,\n"
        "                                                token:TOKEN\n"
        "  subscribe CHANNEL [--count N]                 print messages (connection states on\n"
        "                                                stderr)\n"
        "  publish CHANNEL DATA [--name NAME] [--json-data]\n"
        "                                                publish, wait for the ACK; --json-data:\n"
        "                                                DATA is a JSON object or array\n"
        "  (realtime: --token TOKEN or RTAUTH_TOKEN instead of a key; --client-id ID)\n"
        "  (options: --key KEY or RTAUTH_KEY; --host HOST (127.0.0.1), --port PORT (8080),\n"
        "   --tls, --ca-file PEM, or RTAUTH_HOST/RTAUTH_PORT; --verbose)\n"
        "\n"
        "every command: --json for machine-readable output; on failure the exit status is\n"
        "non-zero and the Ably error code is printed\n");
}
/* clang-format on */

const char *rta_cli_take(rta_cli *c, const char *name)
{
    for (int i = 0; i < c->argc; i++) {
        if (strcmp(c->argv[i], name) != 0) continue;
        if (i + 1 >= c->argc) return NULL;
        const char *v = c->argv[i + 1];
        memmove(&c->argv[i], &c->argv[i + 2], (size_t)(c->argc - i - 2) * sizeof(char *));
        c->argc -= 2;
        return v;
    }
    return NULL;
}

int rta_cli_flag(rta_cli *c, const char *name)
{
    for (int i = 0; i < c->argc; i++) {
        if (strcmp(c->argv[i], name) != 0) continue;
        memmove(&c->argv[i], &c->argv[i + 1], (size_t)(c->argc - i - 1) * sizeof(char *));
        c->argc--;
        return 1;
    }
    return 0;
}

int rta_cli_no_more_options(const rta_cli *c)
{
    for (int i = 0; i < c->argc; i++)
        if (!strncmp(c->argv[i], "--", 2)) {
            fprintf(stderr, "rtauth: unknown option %s\n", c->argv[i]);
            return 2;
        }
    return 0;
}

int rta_cli_fail(const rta_cli *c, const rta_error *err)
{
    if (c->json) {
        rta_buf msg = RTA_BUF_INIT;
        rta_json_quote(&msg, err->message, strlen(err->message));
        printf("{\"error\":{\"code\":%d,\"statusCode\":%d,\"message\":%s}}\n", err->code,
               err->status_code, msg.data);
        rta_buf_free(&msg);
    } else
        fprintf(stderr, "rtauth: error %d: %s\n", err->code, err->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    rta_cli c = {argc - 1, argv + 1, 0, NULL, NULL};
    c.json = rta_cli_flag(&c, "--json");
    c.data_dir = rta_cli_take(&c, "--data-dir");
    if (!c.data_dir) c.data_dir = getenv("RTAUTHD_DATA_DIR");
    if (!c.data_dir) c.data_dir = "./var";
    c.kek_file = rta_cli_take(&c, "--kek-file");
    if (!c.kek_file) c.kek_file = getenv("RTAUTHD_KEK_FILE");
    c.redis = rta_cli_take(&c, "--redis");
    if (!c.redis) c.redis = getenv("RTAUTHD_REDIS");
    c.redis_sentinel = rta_cli_take(&c, "--redis-sentinel");
    if (!c.redis_sentinel) c.redis_sentinel = getenv("RTAUTHD_REDIS_SENTINEL");
    c.redis_master = rta_cli_take(&c, "--redis-master");
    if (!c.redis_master) c.redis_master = getenv("RTAUTHD_REDIS_MASTER");
    const char *cmd = c.argv[0];
    c.argc--, c.argv++;
    if (!strcmp(cmd, "app")) return rta_cmd_app(&c);
    if (!strcmp(cmd, "key")) return rta_cmd_key(&c);
    if (!strcmp(cmd, "secret")) return rta_cmd_secret(&c);
    if (!strcmp(cmd, "token")) return rta_cmd_token(&c);
    if (!strcmp(cmd, "time")) return rta_cmd_time(&c);
    if (!strcmp(cmd, "subscribe")) return rta_cmd_subscribe(&c);
    if (!strcmp(cmd, "publish")) return rta_cmd_publish(&c);
    fprintf(stderr, "rtauth: unknown command %s\n", cmd);
    usage(stderr);
    return 2;
}
