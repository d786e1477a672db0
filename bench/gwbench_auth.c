/* gwbench_auth.c: in-band AUTH round trips under load (see gwbench.h), shared by the 10,000-
 * connection load run (bench_gateway.c) and the 100,000-connection generators
 * (gwbench_scale.c): each sample is a fresh token sent as AUTH on a chosen connection, timed
 * from the frame's write to the CONNECTED reply, with a bounded number in flight. */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "gwbench.h"

void gw_raise_fd_limit(size_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl)) return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < need)
        gw_die("need %zu file descriptors, the hard limit is %llu", need,
               (unsigned long long)rl.rlim_max);
}

void gw_auth_init(gw_auth_sampler *a, size_t n_clients, size_t samples, size_t max_in_flight)
{
    memset(a, 0, sizeof(*a));
    a->cap = samples;
    a->max_in_flight = max_in_flight ? max_in_flight : 1;
    a->tokens = calloc(samples + 1, sizeof(char *));
    a->clients = calloc(samples + 1, sizeof(int));
    a->ms = calloc(samples + 1, sizeof(double));
    a->pending = calloc(n_clients ? n_clients : 1, sizeof(int));
    if (!a->tokens || !a->clients || !a->ms || !a->pending) gw_die("out of memory");
}

void gw_auth_add(gw_auth_sampler *a, int client, char *token)
{
    if (a->samples == a->cap) gw_die("more AUTH samples than room for them");
    a->clients[a->samples] = client;
    a->tokens[a->samples++] = token;
}

void gw_auth_start(gw_auth_sampler *a, gw_fleet *f)
{
    while (a->next < a->samples && a->in_flight < a->max_in_flight) {
        size_t s = a->next++;
        gw_client *c = &f->clients[a->clients[s]];
        rta_protocol_message m = {.action = RTA_ACTION_AUTH, .has = RTA_PM_HAS_AUTH,
                                  .auth_access_token = a->tokens[s]};
        a->pending[c->index] = (int)s + 1;
        a->in_flight++;
        gw_send(c, &m);
    }
}

int gw_auth_on_message(gw_auth_sampler *a, gw_fleet *f, gw_client *c,
                       const rta_protocol_message *m)
{
    if (!a->pending || !a->pending[c->index]) return 0;
    size_t s = (size_t)a->pending[c->index] - 1;
    a->ms[s] = gw_now_ms() - c->t_sent;
    if (m->action != RTA_ACTION_CONNECTED || !m->connection_id ||
        strcmp(m->connection_id, c->conn_id))
        a->wrong++;
    a->pending[c->index] = 0;
    a->in_flight--;
    a->done++;
    gw_auth_start(a, f);
    return 1;
}

int gw_auth_finished(const gw_auth_sampler *a) { return a->done >= a->samples; }

void gw_auth_free(gw_auth_sampler *a)
{
    for (size_t s = 0; s < a->samples; s++) free(a->tokens[s]);
    free(a->tokens);
    free(a->clients);
    free(a->ms);
    free(a->pending);
    memset(a, 0, sizeof(*a));
}
