/* cluster_publish.c: publishes in line for Redis, in batches; see cluster_publish.h. */
#include "server/cluster_publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/log.h"
#include "server/server.h"

#define BATCH_MAX 256    /* publishes per pipeline */
#define QUEUE_MAX 100000 /* queued publishes: beyond, refused at once (50000) */

typedef struct pub_item {
    struct pub_item *next;
    char *app_id, *channel, *msg_id; /* app_id NULL: a callback only */
    char *payload;
    size_t len;
    int refused; /* failed before Redis: code and message in it.err */
    rta_ch_publish_item it;
    rta_gateway_published_cb done;
    void *arg;
} pub_item;

typedef struct batch_job {
    rta_store_job job;
    rta_cluster_publisher *p;
    pub_item *head;
    size_t n;
} batch_job;

struct rta_cluster_publisher {
    rta_server *srv;
    rta_ch_limits lim;
    pub_item *head, *tail;
    size_t queued;
    int in_flight;
    int stopping;
};

int rta_cluster_publisher_create(rta_server *srv, const rta_ch_limits *lim,
                                 rta_cluster_publisher **out)
{
    *out = calloc(1, sizeof(**out));
    if (!*out) return RTA_ERR_INTERNAL;
    (*out)->srv = srv;
    (*out)->lim = *lim;
    return 0;
}

static void item_free(pub_item *it)
{
    free(it->app_id);
    free(it->channel);
    free(it->msg_id);
    free(it->payload);
    free(it);
}

/* The callbacks of a finished list, in order; then the items go. */
static void finish(pub_item *it)
{
    while (it) {
        pub_item *next = it->next;
        if (it->done) {
            if (!it->app_id || !it->it.rc)
                it->done(it->arg, 0, NULL);
            else {
                char why[RTA_ERROR_MESSAGE_MAX + 64];
                snprintf(why, sizeof(why), "Publish not confirmed by the cluster's store: %s",
                         it->it.err.message);
                /* 50000 whatever the store said: the publish may be retried (same id) */
                it->done(it->arg,
                         it->it.rc == RTA_ERR_INVALID_PARAMETER ? it->it.rc : RTA_ERR_INTERNAL,
                         why);
            }
        }
        item_free(it);
        it = next;
    }
}

static void batch_run(rta_store_job *job, rta_store *store)
{
    batch_job *b = (batch_job *)job;
    rta_ch_publish_item *items = calloc(b->n ? b->n : 1, sizeof(*items));
    if (!items) {
        job->rc = rta_error_set(&job->err, RTA_ERR_INTERNAL, "Out of memory");
        return;
    }
    size_t n = 0;
    for (pub_item *it = b->head; it; it = it->next)
        if (it->app_id && !it->refused)
            items[n++] = (rta_ch_publish_item){.app_id = it->app_id,
                                               .channel = it->channel,
                                               .msg_id = it->msg_id,
                                               .payload = it->payload,
                                               .len = it->len};
    if (n) job->rc = rta_store_redis_ch_publish(store, &b->p->lim, items, n, &job->err);
    n = 0;
    for (pub_item *it = b->head; it; it = it->next)
        if (it->app_id && !it->refused) it->it = items[n++];
    free(items);
}

static void submit_batch(rta_cluster_publisher *p);

static void batch_done(rta_store_job *job)
{
    batch_job *b = (batch_job *)job;
    rta_cluster_publisher *p = b->p;
    p->in_flight = 0;
    if (job->rc) { /* the whole batch failed before Redis answered */
        for (pub_item *it = b->head; it; it = it->next)
            if (it->app_id && !it->refused) {
                it->it.rc = job->rc;
                it->it.err = job->err;
            }
    }
    finish(b->head);
    free(b);
    if (p->head) submit_batch(p);
}

static void submit_batch(rta_cluster_publisher *p)
{
    if (p->in_flight || !p->head || p->stopping) return;
    batch_job *b = calloc(1, sizeof(*b));
    if (!b) return; /* the next push or completion tries again */
    b->p = p;
    b->head = p->head;
    pub_item *last = p->head;
    b->n = 1;
    while (last->next && b->n < BATCH_MAX) {
        last = last->next;
        b->n++;
    }
    p->head = last->next;
    if (!p->head) p->tail = NULL;
    last->next = NULL;
    p->queued -= b->n;
    b->job.run = batch_run;
    b->job.done = batch_done;
    p->in_flight = 1;
    rta_server_submit(p->srv, &b->job);
}

void rta_cluster_publisher_push(rta_cluster_publisher *p, const char *app_id, const char *channel,
                                const char *msg_id, const void *payload, size_t len,
                                rta_gateway_published_cb done, void *arg)
{
    pub_item *it = calloc(1, sizeof(*it));
    if (!it) {
        done(arg, RTA_ERR_INTERNAL, "Out of memory"); /* nothing else can keep its place */
        return;
    }
    it->done = done;
    it->arg = arg;
    if (app_id) {
        it->app_id = strdup(app_id);
        it->channel = strdup(channel);
        it->msg_id = strdup(msg_id);
        it->payload = malloc(len ? len : 1);
        it->len = len;
        if (it->payload && payload && len) memcpy(it->payload, payload, len);
        if (!it->app_id || !it->channel || !it->msg_id || !it->payload || !payload) {
            it->refused = 1;
            it->it.rc = rta_error_set(&it->it.err, RTA_ERR_INTERNAL, "Out of memory");
        } else if (p->stopping || p->queued >= QUEUE_MAX) {
            it->refused = 1;
            it->it.rc = rta_error_set(&it->it.err, RTA_ERR_INTERNAL, "%s",
                                      p->stopping ? "the node is stopping"
                                                  : "too many publishes waiting for Redis");
        }
    }
    if (p->stopping) { /* shutting down: nothing will run it later */
        finish(it);
        return;
    }
    if (p->tail)
        p->tail->next = it;
    else
        p->head = it;
    p->tail = it;
    p->queued++;
    submit_batch(p);
}

void rta_cluster_publisher_stop(rta_cluster_publisher *p)
{
    if (!p || p->stopping) return;
    p->stopping = 1;
    pub_item *head = p->head;
    p->head = p->tail = NULL;
    p->queued = 0;
    for (pub_item *it = head; it; it = it->next)
        if (it->app_id && !it->refused) {
            it->refused = 1;
            it->it.rc = rta_error_set(&it->it.err, RTA_ERR_INTERNAL, "the node is stopping");
        }
    finish(head);
}

void rta_cluster_publisher_free(rta_cluster_publisher *p)
{
    free(p);
}
