/* cli.h: the rtauth command-line tool's shared pieces: option scanning and output. Every
 * command prints readable text by default and JSON with --json; failures print the Ably
 * error code and exit non-zero. */
#ifndef RTA_CLI_CLI_H
#define RTA_CLI_CLI_H

#include "rtauth/error.h"

typedef struct rta_cli {
    int argc;
    char **argv; /* positional arguments left after options were taken out */
    int json;
    const char *data_dir;
    const char *kek_file; /* --kek-file or RTAUTHD_KEK_FILE; RTAUTHD_KEK is read at use */
    /* cluster mode: the Redis store instead of the data directory (rtauthd's settings) */
    const char *redis;          /* --redis or RTAUTHD_REDIS */
    const char *redis_sentinel; /* --redis-sentinel or RTAUTHD_REDIS_SENTINEL */
    const char *redis_master;   /* --redis-master or RTAUTHD_REDIS_MASTER */
} rta_cli;

/* Removes "--name value" from the argument list and returns value (NULL if absent). */
const char *rta_cli_take(rta_cli *c, const char *name);
/* Removes a boolean "--name"; returns 1 if it was there. */
int rta_cli_flag(rta_cli *c, const char *name);
/* Reports err on stderr (or as JSON on stdout with --json) and returns the exit code. */
int rta_cli_fail(const rta_cli *c, const rta_error *err);
/* Any option left is unknown: reports it and returns 2; else 0. */
int rta_cli_no_more_options(const rta_cli *c);

int rta_cmd_app(rta_cli *c);
int rta_cmd_key(rta_cli *c);
int rta_cmd_secret(rta_cli *c);
int rta_cmd_token(rta_cli *c);
int rta_cmd_time(rta_cli *c);
int rta_cmd_subscribe(rta_cli *c);
int rta_cmd_publish(rta_cli *c);

#endif
