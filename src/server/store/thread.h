/* store/thread.h: the one thread that talks to the store, so the event loop never blocks
 * on disk (DESIGN 5). The loop submits jobs; the thread runs them and hands them back; the
 * loop is woken (wake callback, e.g. lws_cancel_service) and calls
 * rta_store_thread_drain() to run each job's `done` on the loop thread.
 *
 * Group commit: consecutive nonce jobs in the queue are written with one add_nonces call,
 * one transaction, so a burst of requestToken calls costs one commit, not one each. A nonce
 * job does not wake the thread itself: the loop calls rta_store_thread_kick() once per turn,
 * so that every nonce of one turn goes into one batch (for Redis: one round trip and one
 * fsync), not the first alone and the rest in the next.
 */
#ifndef RTA_SERVER_STORE_THREAD_H
#define RTA_SERVER_STORE_THREAD_H

#include <pthread.h>

#include "server/store/store.h"

typedef struct rta_store_job rta_store_job;

struct rta_store_job {
    /* Runs on the store thread; sets rc/err. NULL for nonce jobs. */
    void (*run)(rta_store_job *job, rta_store *store);
    /* Runs on the loop thread after run (or after the nonce batch). Owns the job. */
    void (*done)(rta_store_job *job);
    /* Nonce jobs: the record to write; `replayed` is set from the store's answer. */
    int is_nonce;
    rta_nonce_record nonce;
    unsigned char replayed;
    int rc;
    rta_error err;
    void *ctx;
    rta_store_job *next; /* queue link, private */
};

typedef struct rta_store_thread {
    rta_store *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    rta_store_job *queue, *queue_tail; /* submitted, not yet run */
    rta_store_job *done, *done_tail;   /* run, waiting for the loop */
    int stopping;
    int started;
    int idle; /* waiting on cond: submit must signal */
    int kick_pending; /* loop thread only: a nonce job was queued since the last kick */
    void (*wake)(void *ctx);
    void *wake_ctx;
} rta_store_thread;

int rta_store_thread_start(rta_store_thread *t, rta_store *store, void (*wake)(void *),
                           void *wake_ctx);
void rta_store_thread_submit(rta_store_thread *t, rta_store_job *job);
/* Loop thread, once per loop turn (before it polls, and after): wakes the thread for the
 * nonce jobs submitted since the last kick. Cheap when there were none. */
void rta_store_thread_kick(rta_store_thread *t);
/* Loop thread: runs `done` for every finished job. Returns how many. */
int rta_store_thread_drain(rta_store_thread *t);
/* Runs every queued job, then stops the thread and drains. */
void rta_store_thread_stop(rta_store_thread *t);

#endif
