/* workers.c: the supervisor of --workers; see workers.h. */
#include "server/workers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/log.h"

#define MAX_WORKERS     64
#define RESTART_DELAY_S 1
#define FAILS_MAX       5  /* failures of one worker within FAILS_WINDOW_S: give up */
#define FAILS_WINDOW_S  60
#define STOP_GRACE_S    30 /* SIGTERM, then SIGKILL after this */

typedef struct worker {
    pid_t pid;         /* 0: not running */
    time_t restart_at; /* 0: none due */
    time_t fails[FAILS_MAX];
    int nfails;
} worker;

static time_t now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Forks worker i. Returns 0 in the child (cfg made worker i's), 1 in the parent. */
static int spawn(rta_config *cfg, worker *w, int i, const sigset_t *old_mask)
{
    pid_t supervisor = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        /* A supervisor killed -9 cannot pass SIGTERM on: its workers would keep the port
         * and serve unsupervised. The kernel tells them instead (then they stop as on
         * SIGTERM); the check covers a supervisor that died before the prctl. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != supervisor) _exit(1);
        sigprocmask(SIG_SETMASK, old_mask, NULL);
        rta_error err;
        if (rta_config_as_worker(cfg, i, &err)) {
            rta_log_error("worker %d: %s", i, err.message);
            _exit(2);
        }
        return 0;
    }
    if (pid < 0) {
        rta_log_error("cannot start worker %d: %s; trying again", i, strerror(errno));
        w->restart_at = now_s() + RESTART_DELAY_S;
        return 1;
    }
    w->pid = pid;
    w->restart_at = 0;
    rta_log_event(RTA_LOG_INFO, "worker.started", NULL, "worker %d started (pid %d)", i, (int)pid);
    return 1;
}

/* A worker exited without being asked to: 1 when it may start again, 0 when it failed too
 * often (FAILS_MAX within FAILS_WINDOW_S). */
static int note_failure(worker *w, time_t now)
{
    int recent = 0;
    for (int k = 0; k < w->nfails; k++)
        if (now - w->fails[k] < FAILS_WINDOW_S) w->fails[recent++] = w->fails[k];
    w->nfails = recent;
    if (w->nfails == FAILS_MAX) return 0;
    w->fails[w->nfails++] = now;
    return w->nfails < FAILS_MAX;
}

static void signal_all(worker *ws, int n, int sig)
{
    for (int i = 0; i < n; i++)
        if (ws[i].pid > 0) kill(ws[i].pid, sig);
}

int rta_workers_start(rta_config *cfg, int *exit_code)
{
    int n = (int)cfg->workers;
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    worker ws[MAX_WORKERS];
    memset(ws, 0, sizeof(ws));
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &old); /* taken with sigtimedwait below; workers unblock */
    rta_log_event(RTA_LOG_INFO, "workers.starting", NULL, "starting %d workers on %s:%d", n,
                  cfg->listen_host, cfg->port);
    for (int i = 0; i < n; i++)
        if (!spawn(cfg, &ws[i], i, &old)) return 0;

    int stopping = 0, failed = 0;
    time_t stop_deadline = 0;
    for (;;) {
        struct timespec tick = {1, 0};
        siginfo_t info;
        int sig = sigtimedwait(&set, &info, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
            if (!stopping) {
                rta_log_event(RTA_LOG_INFO, "workers.stopping", NULL, "stopping the workers");
                stopping = 1;
                stop_deadline = now_s() + STOP_GRACE_S;
                signal_all(ws, n, SIGTERM);
            }
        } else if (sig == SIGHUP && !stopping) {
            signal_all(ws, n, SIGHUP); /* each reloads (server/reload.c) */
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < n; i++) {
                if (ws[i].pid != pid) continue;
                ws[i].pid = 0;
                int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
                if (stopping) {
                    if (!clean && !(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)) failed = 1;
                    break;
                }
                rta_log_event(RTA_LOG_WARN, "worker.exited", NULL,
                              "worker %d (pid %d) exited (%s %d); restarting it", i, (int)pid,
                              WIFSIGNALED(status) ? "signal" : "status",
                              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
                if (note_failure(&ws[i], now_s())) {
                    ws[i].restart_at = now_s() + RESTART_DELAY_S;
                } else {
                    rta_log_event(RTA_LOG_ERROR, "workers.failed", NULL,
                                  "worker %d failed %d times within %d s: stopping", i,
                                  FAILS_MAX, FAILS_WINDOW_S);
                    failed = stopping = 1;
                    stop_deadline = now_s() + STOP_GRACE_S;
                    signal_all(ws, n, SIGTERM);
                }
                break;
            }
        }
        int running = 0;
        for (int i = 0; i < n; i++) {
            if (!stopping && !ws[i].pid && ws[i].restart_at && now_s() >= ws[i].restart_at &&
                !spawn(cfg, &ws[i], i, &old))
                return 0;
            running += ws[i].pid > 0;
        }
        if (stopping && !running) break;
        if (stopping && now_s() >= stop_deadline) {
            signal_all(ws, n, SIGKILL);
            stop_deadline = now_s() + STOP_GRACE_S;
            failed = 1;
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    *exit_code = failed ? 1 : 0;
    return 1;
}
