/* test_store_thread.c: the store worker (store/thread.h) over a real SQLite store: nonce jobs
 * are written in batches with add_nonces (the path of stores without add_nonces_local, such
 * as a Redis store), other jobs run in submission order among them, every job completes on
 * the caller's thread through drain(), the wake callback fires, and stop() finishes what
 * was queued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/store/store.h"
#include "server/store/thread.h"

#define JOBS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t woken = PTHREAD_COND_INITIALIZER;
static int wakes;

static void wake(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&lock);
    wakes++;
    pthread_cond_signal(&woken);
    pthread_mutex_unlock(&lock);
}

typedef struct {
    rta_store_job job;
    char nonce[32];
    int index;
    int *done_order; /* where completion order is recorded */
    int *done_count;
} test_job;

static void job_done(rta_store_job *job)
{
    test_job *t = (test_job *)job;
    assert_int_equal(job->rc, 0);
    assert_int_equal(job->replayed, 0);
    t->done_order[(*t->done_count)++] = t->index;
}

static int ran_in_order = 1, last_run = -1;

static void run_marker(rta_store_job *job, rta_store *store)
{
    (void)store;
    test_job *t = (test_job *)job;
    if (t->index < last_run) ran_in_order = 0;
    last_run = t->index;
    job->rc = 0;
}

typedef struct {
    int n;
} counter;

static void count_nonce(void *ctx, const rta_nonce_record *r)
{
    (void)r;
    ((counter *)ctx)->n++;
}

static void test_batches_and_order(void **state)
{
    (void)state;
    char dir[] = "/tmp/rta-store-thread-XXXXXX";
    assert_non_null(mkdtemp(dir));
    rta_store *store;
    rta_error err;
    assert_int_equal(rta_store_sqlite_open(dir, &store, &err), 0);
    rta_store_thread t;
    assert_int_equal(rta_store_thread_start(&t, store, wake, NULL), 0);

    static test_job jobs[JOBS];
    static int order[JOBS];
    int done = 0;
    int64_t expires = 4102444800000; /* 2100: nothing purges them */
    for (int i = 0; i < JOBS; i++) {
        test_job *j = &jobs[i];
        memset(j, 0, sizeof(*j));
        j->index = i;
        j->done_order = order;
        j->done_count = &done;
        j->job.done = job_done;
        if (i % 100 == 99) { /* a non-nonce job now and then, between nonce runs */
            j->job.run = run_marker;
        } else {
            snprintf(j->nonce, sizeof(j->nonce), "nonce-%06d-abcdefgh", i);
            j->job.is_nonce = 1;
            j->job.nonce = (rta_nonce_record){"app.key", j->nonce, expires};
        }
        rta_store_thread_submit(&t, &j->job);
    }
    /* drain as the loop would, woken by the thread */
    for (int spins = 0; done < JOBS && spins < 1000; spins++) {
        pthread_mutex_lock(&lock);
        if (!wakes) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&woken, &lock, &ts);
        }
        wakes = 0;
        pthread_mutex_unlock(&lock);
        rta_store_thread_drain(&t);
    }
    assert_int_equal(done, JOBS);
    for (int i = 0; i < JOBS; i++) assert_int_equal(order[i], i); /* completion in order */
    assert_true(ran_in_order);
    rta_store_thread_stop(&t);

    counter c = {0};
    assert_int_equal(store->ops->list_nonces(store, 0, count_nonce, &c, &err), 0);
    assert_int_equal(c.n, JOBS - JOBS / 100); /* every nonce job was written */
    store->ops->close(store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* stop() runs what is still queued and drains it. */
static void test_stop_finishes_queue(void **state)
{
    (void)state;
    char dir[] = "/tmp/rta-store-thread-XXXXXX";
    assert_non_null(mkdtemp(dir));
    rta_store *store;
    rta_error err;
    assert_int_equal(rta_store_sqlite_open(dir, &store, &err), 0);
    rta_store_thread t;
    assert_int_equal(rta_store_thread_start(&t, store, NULL, NULL), 0);
    static test_job jobs[64];
    static int order[64];
    int done = 0;
    for (int i = 0; i < 64; i++) {
        jobs[i] = (test_job){.index = i, .done_order = order, .done_count = &done};
        snprintf(jobs[i].nonce, sizeof(jobs[i].nonce), "stop-%04d-abcdefghijkl", i);
        jobs[i].job.is_nonce = 1;
        jobs[i].job.nonce = (rta_nonce_record){"app.key", jobs[i].nonce, 4102444800000};
        jobs[i].job.done = job_done;
        rta_store_thread_submit(&t, &jobs[i].job);
    }
    rta_store_thread_stop(&t);
    assert_int_equal(done, 64);
    store->ops->close(store);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_and_order),
        cmocka_unit_test(test_stop_finishes_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
