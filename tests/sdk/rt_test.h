/* rt_test.h: helpers of the realtime tests (header-only: each test binary includes it once):
 * a recorder of connection state changes and received messages, and client constructors. */
#ifndef RTA_TEST_RT_TEST_H
#define RTA_TEST_RT_TEST_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sdk_test.h"

#define RT_WAIT_MS 8000

typedef struct rt_rec {
    pthread_mutex_t mu;
    int events[64]; /* rta_connection_state of each change's event */
    int codes[64];  /* its reason code */
    int n;
    char last_data[256];
    char last_client_id[64];
    int messages;
} rt_rec;

static inline void rt_rec_on_change(const rta_connection_state_change *c, void *ud)
{
    rt_rec *r = ud;
    pthread_mutex_lock(&r->mu);
    if (r->n < 64) {
        r->events[r->n] = c->event;
        r->codes[r->n] = c->reason ? c->reason->code : 0;
        r->n++;
    }
    pthread_mutex_unlock(&r->mu);
    if (getenv("RTA_SDK_TEST_LOG"))
        fprintf(stderr, "state: %s (%d)\n", rta_connection_state_name(c->event),
                c->reason ? c->reason->code : 0);
}

static inline void rt_rec_on_message(rta_channel *ch, const rta_realtime_message *m, void *ud)
{
    (void)ch;
    rt_rec *r = ud;
    pthread_mutex_lock(&r->mu);
    snprintf(r->last_data, sizeof(r->last_data), "%.*s", (int)m->data_len,
             m->data ? m->data : "");
    snprintf(r->last_client_id, sizeof(r->last_client_id), "%s",
             m->client_id ? m->client_id : "");
    r->messages++;
    pthread_mutex_unlock(&r->mu);
}

/* Number of recorded events equal to ev (and, when code != 0, with that reason code). */
static inline int rt_rec_count(rt_rec *r, rta_connection_state ev, int code)
{
    pthread_mutex_lock(&r->mu);
    int c = 0;
    for (int i = 0; i < r->n; i++)
        if (r->events[i] == (int)ev && (!code || r->codes[i] == code)) c++;
    pthread_mutex_unlock(&r->mu);
    return c;
}

/* Polls until rt_rec_count(r, ev, code) >= n or ms pass. Returns 1 when reached. */
static inline int rt_rec_wait(rt_rec *r, rta_connection_state ev, int code, int n, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        if (rt_rec_count(r, ev, code) >= n) return 1;
        usleep(10000);
    }
    return 0;
}

static inline int rt_rec_wait_messages(rt_rec *r, int n, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        pthread_mutex_lock(&r->mu);
        int got = r->messages;
        pthread_mutex_unlock(&r->mu);
        if (got >= n) return 1;
        usleep(10000);
    }
    return 0;
}

/* A realtime client from options, with a recorder attached before it connects. */
static inline rta_realtime *rt_client(rta_client_options *o, rt_rec *rec)
{
    int autoc = o->realtime.auto_connect;
    o->realtime.auto_connect = 0;
    rta_realtime *rt = NULL;
    rta_error err = {0};
    int rc = rta_realtime_create(o, &rt, &err);
    if (rc) fprintf(stderr, "rta_realtime_create: %d %s\n", rc, err.message);
    assert_int_equal(rc, 0);
    if (rec) {
        memset(rec, 0, sizeof(*rec));
        pthread_mutex_init(&rec->mu, NULL);
        rta_realtime_on(rt, rt_rec_on_change, rec);
    }
    if (autoc) rta_realtime_connect(rt, NULL);
    return rt;
}

static inline void rt_connected(rta_realtime *rt)
{
    rta_error err = {0};
    int rc = rta_realtime_wait_state(rt, RTA_CONN_CONNECTED, RT_WAIT_MS, &err);
    if (rc) fprintf(stderr, "not connected: %d %s\n", rc, err.message);
    assert_int_equal(rc, 0);
}

#endif
