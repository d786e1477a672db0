/* main.c: rtauthd's entry point: configuration, signals, the server loop. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "server/config.h"
#include "server/log.h"
#include "server/malloc_tuning.h"
#include "server/server.h"
#include "server/workers.h"

static rta_server server;

static void on_signal(int sig)
{
    (void)sig;
    rta_server_stop(&server);
}

int main(int argc, char **argv)
{
    rta_malloc_tuning_apply(argv); /* may start rtauthd again: first */
    rta_config cfg;
    rta_error err;
    rta_config_defaults(&cfg);
    int rc = rta_config_load(&cfg, argc, argv, &err);
    if (rc == 1) return 0;
    if (rc) {
        fprintf(stderr, "rtauthd: %s (try --help)\n", err.message);
        return 2;
    }
    if (cfg.workers > 1) { /* the supervisor returns here only when every worker is gone */
        int code;
        if (rta_workers_start(&cfg, &code)) return code;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if ((rc = rta_server_init(&server, &cfg, &err))) {
        rta_log_event(RTA_LOG_ERROR, "server.failed", &(rta_log_fields){.code = rc},
                      "cannot start: %s", err.message);
        rta_server_free(&server);
        return 1;
    }
    rta_server_enable_reload(&server, argc, argv); /* SIGHUP: server/reload.c */
    rta_server_run(&server);
    rta_log_event(RTA_LOG_INFO, "server.stopping", NULL, "shutting down");
    rta_server_free(&server);
    return 0;
}
