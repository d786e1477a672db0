/* workers.h: --workers N, several rtauthd processes as one server on one machine (issue 19;
 * docs/performance.md). One process uses one core (one event loop) and, on some machines,
 * cannot hold more descriptors than a hard limit; N workers share the listen port (the
 * kernel spreads new connections over them, SO_REUSEPORT) and their state through Redis, as
 * the nodes of a cluster do: worker i is the cluster node "<node-id>.w<i>". A client whose
 * worker died resumes on another one (gateway/adopt.c).
 *
 * The process that starts them supervises: it forwards SIGTERM/SIGINT (then waits for every
 * worker; SIGKILL after 30 s) and SIGHUP (each worker reloads), and restarts a worker that
 * exits on its own after a second, giving up (stopping the others, exit 1) when one fails
 * five times within a minute. It holds no socket, store or thread of its own. */
#ifndef RTA_SERVER_WORKERS_H
#define RTA_SERVER_WORKERS_H

#include "server/config.h"

/* With cfg->workers >= 2: forks the workers and supervises them. Returns 0 in a worker (cfg
 * made the worker's: go on and serve), or 1 in the supervisor once every worker is gone,
 * with *exit_code (0 after a requested stop, 1 after a failure). */
int rta_workers_start(rta_config *cfg, int *exit_code);

#endif
