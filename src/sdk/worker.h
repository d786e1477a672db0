/* worker.h: the per-client worker thread that runs the _async calls, in order.
 *
 * The thread starts on the first submitted job (a client that never uses an _async call never
 * has one) and runs jobs one after another; a job runs the blocking implementation and then
 * the user's completion callback, so callbacks of one client never run concurrently.
 * Stopping drains the queue: every queued job runs (and calls back) before the join.
 */
#ifndef RTA_SDK_WORKER_H
#define RTA_SDK_WORKER_H

#include <pthread.h>

typedef struct rta__job rta__job;
struct rta__job {
    void (*run)(rta__job *job); /* runs the call, calls back, frees the job */
    rta__job *next;
};

typedef struct rta__worker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rta__job *head, *tail;
    int started;
    int stopping;
    pthread_t thread;
    /* Set when the owner was destroyed from one of its own callbacks: the worker finishes the
     * queue, then calls finish(finish_ctx) as its last act (which frees the worker). */
    void (*finish)(void *ctx);
    void *finish_ctx;
} rta__worker;

void rta__worker_init(rta__worker *w);
/* Queues job, starting the thread if needed. Returns 0, or 50000 (thread creation failed). */
int rta__worker_submit(rta__worker *w, rta__job *job);
/* 1 when called on w's own thread. */
int rta__worker_is_current(rta__worker *w);
/* From any other thread: drains the queue, joins the thread, releases w's resources. */
void rta__worker_stop(rta__worker *w);
/* From w's own thread (inside a job): arranges for finish(ctx) to run once the queue is
 * drained; the thread then exits detached. finish must call rta__worker_dispose(w). */
void rta__worker_stop_deferred(rta__worker *w, void (*finish)(void *ctx), void *ctx);

/* Releases the mutex and condition of a worker whose thread is gone (deferred stop). */
void rta__worker_dispose(rta__worker *w);

#endif
