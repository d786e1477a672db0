/* callback_thread.h: runs an authCallback on a thread of its own (RSA4c, RSA4e).
 *
 * The thread that needs a token waits for the callback's rta_auth_result at most
 * auth_request_ms from the call, whatever the callback does: a callback that blocks (a
 * synchronous HTTP call to a hung backend) blocks only its own thread, and the token request
 * fails on time (40170; 80019 on a connection). Its late answer is discarded by the result.
 * Threads are joined when they have finished (reaped on the next call) and at the client's
 * release, which therefore waits for a callback still running.
 */
#ifndef RTA_SDK_CALLBACK_THREAD_H
#define RTA_SDK_CALLBACK_THREAD_H

#include <pthread.h>

#include "rtauth/auth_result.h"
#include "rtauth/options.h"

typedef struct rta__cb_thread rta__cb_thread;

typedef struct rta__cb_threads {
    pthread_mutex_t mu;
    rta__cb_thread *list; /* started, not joined yet */
    int init;
} rta__cb_threads;

void rta__cb_threads_init(rta__cb_threads *t);
/* Joins every thread (a thread releasing its own client is detached instead). */
void rta__cb_threads_release(rta__cb_threads *t);

/* Calls fn(params, result, data) on a new thread, inside rta__callback_enter(owner). params is
 * copied. Returns 0, or 50000 when the thread or the copy cannot be made (nothing called). */
int rta__cb_threads_run(rta__cb_threads *t, const void *owner, rta_auth_callback fn, void *data,
                        const rta_token_params *params, rta_auth_result *result);

#endif
