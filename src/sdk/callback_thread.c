/* callback_thread.c: an authCallback on a thread of its own (callback_thread.h). Never touches
 * the client that started it once the callback runs: the thread owns a copy of the params, the
 * result is reference-counted, and the owner pointer only marks the thread (client.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "callback_thread.h"
#include "client.h"

struct rta__cb_thread {
    rta__cb_thread *next;
    pthread_t thread;
    atomic_int finished;
    const void *owner;
    rta_auth_callback fn;
    void *data;
    rta_token_params params;
    rta_auth_result *result;
};

void rta__cb_threads_init(rta__cb_threads *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    t->init = 1;
}

static void *run(void *arg)
{
    rta__cb_thread *c = arg;
    const void *prev = rta__callback_enter(c->owner);
    c->fn(&c->params, c->result, c->data);
    rta__callback_leave(prev);
    rta_token_params_clear(&c->params);
    atomic_store(&c->finished, 1);
    return NULL;
}

/* Joins the threads that have finished. mu held. */
static void reap_locked(rta__cb_threads *t)
{
    for (rta__cb_thread **p = &t->list; *p;) {
        rta__cb_thread *c = *p;
        if (!atomic_load(&c->finished)) {
            p = &c->next;
            continue;
        }
        *p = c->next;
        pthread_join(c->thread, NULL);
        free(c);
    }
}

int rta__cb_threads_run(rta__cb_threads *t, const void *owner, rta_auth_callback fn, void *data,
                        const rta_token_params *params, rta_auth_result *result)
{
    rta__cb_thread *c = calloc(1, sizeof(*c));
    if (!c) return RTA_ERR_INTERNAL;
    c->owner = owner;
    c->fn = fn;
    c->data = data;
    c->result = result;
    atomic_init(&c->finished, 0);
    if (rta_token_params_copy(params, &c->params)) {
        free(c);
        return RTA_ERR_INTERNAL;
    }
    pthread_mutex_lock(&t->mu);
    reap_locked(t);
    int rc = pthread_create(&c->thread, NULL, run, c);
    if (rc == 0) {
        c->next = t->list;
        t->list = c;
    }
    pthread_mutex_unlock(&t->mu);
    if (rc) {
        rta_token_params_clear(&c->params);
        free(c);
        return RTA_ERR_INTERNAL;
    }
    return 0;
}

void rta__cb_threads_release(rta__cb_threads *t)
{
    if (!t->init) return;
    pthread_mutex_lock(&t->mu);
    rta__cb_thread *list = t->list;
    t->list = NULL;
    pthread_mutex_unlock(&t->mu);
    while (list) {
        rta__cb_thread *c = list;
        list = c->next;
        if (pthread_equal(c->thread, pthread_self())) {
            /* The client destroyed from inside this callback (the headers forbid it, but it
             * must not deadlock): the thread still uses its record after the callback returns,
             * so it runs to its end detached and the record is left behind. */
            pthread_detach(c->thread);
            continue;
        }
        pthread_join(c->thread, NULL);
        free(c);
    }
    pthread_mutex_destroy(&t->mu);
    t->init = 0;
}
