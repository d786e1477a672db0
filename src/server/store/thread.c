/* store/thread.c: the store worker and its two queues; see store/thread.h. */
#include "server/store/thread.h"

#include "server/metrics.h"

#include <stdlib.h>
#include <string.h>

#define MAX_NONCE_BATCH 512

static void push(rta_store_job **head, rta_store_job **tail, rta_store_job *job)
{
    job->next = NULL;
    if (*tail)
        (*tail)->next = job;
    else
        *head = job;
    *tail = job;
}

static void run_nonce_batch(rta_store *store, rta_store_job **jobs, size_t n)
{
    rta_nonce_record recs[MAX_NONCE_BATCH];
    unsigned char replayed[MAX_NONCE_BATCH];
    for (size_t i = 0; i < n; i++) recs[i] = jobs[i]->nonce;
    rta_error err;
    int rc = store->ops->add_nonces(store, recs, n, replayed, &err);
    for (size_t i = 0; i < n; i++) {
        jobs[i]->rc = rc;
        if (rc) jobs[i]->err = err;
        jobs[i]->replayed = rc ? 0 : replayed[i];
    }
}

static void *thread_main(void *arg)
{
    rta_store_thread *t = arg;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (!t->queue && !t->stopping) {
            t->idle = 1;
            pthread_cond_wait(&t->cond, &t->lock);
            t->idle = 0;
        }
        if (!t->queue && t->stopping) break;
        rta_store_job *batch = t->queue;
        t->queue = t->queue_tail = NULL;
        pthread_mutex_unlock(&t->lock);

        rta_store_job *finished = NULL, *finished_tail = NULL;
        while (batch) {
            if (batch->is_nonce) {
                rta_store_job *nonces[MAX_NONCE_BATCH];
                size_t n = 0;
                while (batch && batch->is_nonce && n < MAX_NONCE_BATCH) {
                    nonces[n++] = batch;
                    batch = batch->next;
                }
                uint64_t t0 = rta_metrics_now_ns();
                run_nonce_batch(t->store, nonces, n);
                rta_metrics_observe_since(RTA_H_STORE_OP, t0);
                for (size_t i = 0; i < n; i++) push(&finished, &finished_tail, nonces[i]);
            } else {
                rta_store_job *job = batch;
                batch = batch->next;
                uint64_t t0 = rta_metrics_now_ns();
                job->run(job, t->store);
                rta_metrics_observe_since(RTA_H_STORE_OP, t0);
                push(&finished, &finished_tail, job);
            }
        }

        pthread_mutex_lock(&t->lock);
        if (finished) {
            if (t->done_tail)
                t->done_tail->next = finished;
            else
                t->done = finished;
            t->done_tail = finished_tail;
        }
        if (t->wake) t->wake(t->wake_ctx);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int rta_store_thread_start(rta_store_thread *t, rta_store *store, void (*wake)(void *),
                           void *wake_ctx)
{
    memset(t, 0, sizeof(*t));
    t->store = store;
    t->wake = wake;
    t->wake_ctx = wake_ctx;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    if (pthread_create(&t->thread, NULL, thread_main, t)) return RTA_ERR_INTERNAL;
    t->started = 1;
    return 0;
}

void rta_store_thread_submit(rta_store_thread *t, rta_store_job *job)
{
    pthread_mutex_lock(&t->lock);
    push(&t->queue, &t->queue_tail, job);
    /* Only a sleeping thread needs waking; a busy one takes the whole queue when it loops
     * round (saves a futex wake per request under load). A nonce job waits for the turn's
     * kick (thread.h). */
    if (job->is_nonce)
        t->kick_pending = 1;
    else if (t->idle)
        pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

void rta_store_thread_kick(rta_store_thread *t)
{
    if (!t->started || !t->kick_pending) return;
    pthread_mutex_lock(&t->lock);
    t->kick_pending = 0;
    if (t->idle && t->queue) pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
}

int rta_store_thread_drain(rta_store_thread *t)
{
    pthread_mutex_lock(&t->lock);
    rta_store_job *list = t->done;
    t->done = t->done_tail = NULL;
    pthread_mutex_unlock(&t->lock);
    int n = 0;
    while (list) {
        rta_store_job *job = list;
        list = list->next;
        job->done(job);
        n++;
    }
    return n;
}

void rta_store_thread_stop(rta_store_thread *t)
{
    if (!t->started) return;
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_signal(&t->cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    rta_store_thread_drain(t);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->cond);
    t->started = 0;
}
