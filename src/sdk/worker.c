/* worker.c: see worker.h. */
#include "worker.h"

#include <stddef.h>

void rta__worker_init(rta__worker *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->head = w->tail = NULL;
    w->started = w->stopping = 0;
    w->finish = NULL;
    w->finish_ctx = NULL;
}

static void *worker_main(void *arg)
{
    rta__worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping && !w->finish)
            pthread_cond_wait(&w->cv, &w->mu);
        rta__job *job = w->head;
        if (!job) break; /* stopping (or finishing) with an empty queue */
        w->head = job->next;
        if (!w->head) w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        job->run(job);
        pthread_mutex_lock(&w->mu);
    }
    void (*finish)(void *) = w->finish;
    void *ctx = w->finish_ctx;
    pthread_mutex_unlock(&w->mu);
    if (finish) finish(ctx); /* frees w: nothing may touch it afterwards */
    return NULL;
}

int rta__worker_submit(rta__worker *w, rta__job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (!w->started) {
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            pthread_mutex_unlock(&w->mu);
            return 50000;
        }
        w->started = 1;
    }
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

int rta__worker_is_current(rta__worker *w)
{
    pthread_mutex_lock(&w->mu);
    int cur = w->started && pthread_equal(w->thread, pthread_self());
    pthread_mutex_unlock(&w->mu);
    return cur;
}

void rta__worker_stop(rta__worker *w)
{
    pthread_mutex_lock(&w->mu);
    int started = w->started;
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (started) pthread_join(w->thread, NULL);
    rta__worker_dispose(w);
}

void rta__worker_dispose(rta__worker *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

void rta__worker_stop_deferred(rta__worker *w, void (*finish)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&w->mu);
    w->finish = finish;
    w->finish_ctx = ctx;
    pthread_detach(w->thread);
    pthread_mutex_unlock(&w->mu);
}
