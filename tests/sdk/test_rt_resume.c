/* test_rt_resume.c: connection continuity against a real rtauthd (RTN15, RTN14e, wire doc 2.5,
 * 2.9, docs/gateway.md "Resume"), the librtauth side of tests/interop/realtime_resume.test.mjs:
 *   - a lost transport is resumed: same connectionId, no error, the channel stays attached (its
 *     re-ATTACH is answered RESUMED: no `update`, no timeout) and the messages published by
 *     another client during the gap all arrive, once, in order;
 *   - publishes in flight when the transport drops are re-sent with their msgSerial and
 *     delivered exactly once;
 *   - a failed resume (rtauthd restarted on the same data dir) gives CONNECTED with 80008 and a
 *     new connectionId; the channel is re-attached (`update`) and messages flow again;
 *   - an unreachable server: disconnected, retries, then suspended (80002) once
 *     connectionStateTtl (the server's --connection-state-ttl) has passed; the channel is
 *     suspended, and re-attached by the next successful connection;
 *   - idle detection: a server that goes silent (SIGSTOP) past maxIdleInterval (2 s here) +
 *     realtimeRequestTimeout is dropped (80003, 408) and the connection resumed when it is back.
 * The transport is dropped through the test-only hook of src/sdk/realtime_test_hooks.h. */
#include <signal.h>
#include <stdlib.h>

#include "rt_test.h"
#include "sdk/realtime_test_hooks.h"

static char keys[3][256];

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    return 0;
}

/* ---- recorders --------------------------------------------------------------------------- */

#define MAX_MSGS 64

/* Every message's data, in arrival order. */
typedef struct msg_log {
    pthread_mutex_t mu;
    char data[MAX_MSGS][64];
    int n;
} msg_log;

static void on_msg(rta_channel *ch, const rta_realtime_message *m, void *ud)
{
    (void)ch;
    msg_log *l = ud;
    pthread_mutex_lock(&l->mu);
    if (l->n < MAX_MSGS)
        snprintf(l->data[l->n], sizeof(l->data[0]), "%.*s", (int)m->data_len,
                 m->data ? m->data : "");
    l->n++;
    pthread_mutex_unlock(&l->mu);
}

static int log_count(msg_log *l)
{
    pthread_mutex_lock(&l->mu);
    int n = l->n;
    pthread_mutex_unlock(&l->mu);
    return n;
}

static int log_wait(msg_log *l, int n, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        if (log_count(l) >= n) return 1;
        usleep(10000);
    }
    return 0;
}

/* Channel events: how many of each (an `update` is RTA_CHANNEL_UPDATE). */
typedef struct chan_log {
    pthread_mutex_t mu;
    int events[8];
    int last_code;
} chan_log;

static void on_chan(rta_channel *ch, const rta_channel_state_change *c, void *ud)
{
    (void)ch;
    chan_log *l = ud;
    pthread_mutex_lock(&l->mu);
    if ((unsigned)c->event < 8) l->events[c->event]++;
    l->last_code = c->reason ? c->reason->code : 0;
    pthread_mutex_unlock(&l->mu);
}

static int chan_count(chan_log *l, rta_channel_state ev)
{
    pthread_mutex_lock(&l->mu);
    int n = l->events[ev];
    pthread_mutex_unlock(&l->mu);
    return n;
}

static int chan_wait_state(rta_channel *ch, rta_channel_state s, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        if (rta_channel_get_state(ch, NULL) == s) return 1;
        usleep(10000);
    }
    return 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void fast_options(rta_client_options *o, const char *key)
{
    sdk_options(o);
    o->auth.key = key;
    o->realtime.realtime_request_ms = 1500; /* a missing ATTACHED shows within 1.5 s */
    o->realtime.disconnected_retry_ms = 300;
    o->realtime.suspended_retry_ms = 500;
}

/* A server of the test's own with extra flags, an app on it, and fast client options for its
 * key (kept in key, which must outlive o). */
static void own_server(rta_test_server *s, const char *const *args, char key[256],
                       rta_client_options *o)
{
    assert_int_equal(rta_test_server_start(s, NULL, args), 0);
    char k[1][256];
    assert_int_equal(rta_test_create_app(s, "{\"keys\":[{}]}", k, 1, NULL), 0);
    memcpy(key, k[0], 256);
    sdk_add_secret(strchr(key, ':') + 1);
    fast_options(o, key);
    o->port = s->port;
}

static rta_realtime *connected_client(const char *key, rt_rec *rec)
{
    rta_client_options o;
    fast_options(&o, key);
    rta_realtime *rt = rt_client(&o, rec);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    return rt;
}

/* A subscriber attached to name, recording messages and channel events. */
static rta_channel *subscribed(rta_realtime *rt, const char *name, msg_log *ml, chan_log *cl)
{
    memset(ml, 0, sizeof(*ml));
    pthread_mutex_init(&ml->mu, NULL);
    memset(cl, 0, sizeof(*cl));
    pthread_mutex_init(&cl->mu, NULL);
    rta_channel *ch = rta_realtime_channel(rt, name, NULL);
    assert_non_null(ch);
    rta_channel_subscribe(ch, on_msg, ml);
    rta_channel_on(ch, on_chan, cl);
    rta_error err;
    assert_int_equal(rta_channel_attach(ch, &err), 0);
    return ch;
}

static void publish(rta_realtime *rt, const char *channel, const char *data)
{
    rta_error err = {0};
    int rc = rta_channel_publish(rta_realtime_channel(rt, channel, NULL), "m", data, &err);
    if (rc) fprintf(stderr, "publish %s: %d %s\n", data, rc, err.message);
    assert_int_equal(rc, 0);
}

static void conn_id(rta_realtime *rt, char out[128])
{
    assert_int_equal(rta_realtime_connection_id(rt, out, 128), 0);
    assert_true(out[0] != '\0');
}

/* ---- tests ------------------------------------------------------------------------------- */

/* RTN15b, RTN15c6, wire doc 2.9: resume keeps the connection and loses no message. */
static void test_resume_keeps_connection_and_messages(void **state)
{
    (void)state;
    rt_rec rec;
    rta_realtime *sub = connected_client(keys[0], &rec);
    rta_realtime *pub = connected_client(keys[0], NULL);
    msg_log ml;
    chan_log cl;
    rta_channel *ch = subscribed(sub, "resume-gap", &ml, &cl);
    publish(pub, "resume-gap", "before");
    assert_true(log_wait(&ml, 1, RT_WAIT_MS));
    char id_before[128], id_after[128];
    conn_id(sub, id_before);
    int attached_events = chan_count(&cl, RTA_CHANNEL_ATTACHED);

    /* the gap: 1.5 s without a transport, five messages published meanwhile */
    assert_int_equal(rta__realtime_drop_transport(sub, 1500), 0);
    assert_true(rt_rec_wait(&rec, RTA_CONN_DISCONNECTED, 0, 1, RT_WAIT_MS));
    for (int i = 1; i <= 5; i++) {
        char d[16];
        snprintf(d, sizeof(d), "gap-%d", i);
        publish(pub, "resume-gap", d);
    }
    assert_int_equal(log_count(&ml), 1); /* nothing can arrive without a transport */
    assert_true(rt_rec_wait(&rec, RTA_CONN_CONNECTED, 0, 2, RT_WAIT_MS));
    conn_id(sub, id_after);
    assert_string_equal(id_before, id_after); /* resumed */
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_CONNECTED, RTA_ERR_RESUME_FAILED), 0);
    assert_true(log_wait(&ml, 6, RT_WAIT_MS));
    /* The re-ATTACH (RTN15c6) must have been answered: past the 1.5 s ATTACH timeout the
     * channel is still attached, with no new `attached`, no `update` (RESUMED) and no
     * suspended event. */
    usleep(2000 * 1000);
    assert_int_equal(rta_channel_get_state(ch, NULL), RTA_CHANNEL_ATTACHED);
    assert_int_equal(chan_count(&cl, RTA_CHANNEL_ATTACHED), attached_events);
    assert_int_equal(chan_count(&cl, RTA_CHANNEL_UPDATE), 0);
    assert_int_equal(chan_count(&cl, RTA_CHANNEL_SUSPENDED), 0);
    /* all five, once each, in order */
    assert_int_equal(log_count(&ml), 6);
    assert_string_equal(ml.data[0], "before");
    for (int i = 1; i <= 5; i++) {
        char d[16];
        snprintf(d, sizeof(d), "gap-%d", i);
        assert_string_equal(ml.data[i], d);
    }
    /* and the resumed connection carries on both ways */
    publish(pub, "resume-gap", "after");
    publish(sub, "resume-gap", "from-sub");
    assert_true(log_wait(&ml, 8, RT_WAIT_MS));
    assert_string_equal(ml.data[6], "after");
    assert_string_equal(ml.data[7], "from-sub");
    rta_realtime_destroy(pub);
    rta_realtime_destroy(sub);
}

typedef struct acks {
    pthread_mutex_t mu;
    int ok, failed;
} acks;

static void on_ack(int rc, const rta_error *err, void *ud)
{
    (void)err;
    acks *a = ud;
    pthread_mutex_lock(&a->mu);
    if (rc)
        a->failed++;
    else
        a->ok++;
    pthread_mutex_unlock(&a->mu);
}

/* RTN19a, wire doc 2.6: publishes in flight when the transport drops are re-sent on the resumed
 * connection with the same msgSerial; every one is ACKed and delivered exactly once (the frame
 * may or may not have reached rtauthd before the drop: both paths must give one copy). */
static void test_inflight_publishes_exactly_once(void **state)
{
    (void)state;
    rt_rec rec;
    rta_realtime *pub = connected_client(keys[0], &rec);
    rta_realtime *sub = connected_client(keys[0], NULL);
    msg_log ml;
    chan_log cl;
    subscribed(sub, "resume-inflight", &ml, &cl);
    rta_channel *pch = rta_realtime_channel(pub, "resume-inflight", NULL);
    acks a = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
    char id_before[128], id_after[128];
    conn_id(pub, id_before);
    const int rounds = 6;
    for (int i = 0; i < rounds; i++) {
        char d[16];
        snprintf(d, sizeof(d), "p-%d", i);
        rta_publish_message m = {.name = "m", .data = d};
        assert_int_equal(rta_channel_publish_async(pch, &m, on_ack, &a, NULL), 0);
        usleep((useconds_t)(i * 700)); /* drop at various points of the publish's way out */
        rta__realtime_drop_transport(pub, 0);
        assert_true(rt_rec_wait(&rec, RTA_CONN_CONNECTED, 0, i + 2, RT_WAIT_MS));
    }
    for (int t = 0; t < RT_WAIT_MS; t += 10) {
        pthread_mutex_lock(&a.mu);
        int done = a.ok + a.failed;
        pthread_mutex_unlock(&a.mu);
        if (done == rounds) break;
        usleep(10000);
    }
    assert_int_equal(a.ok, rounds);
    assert_int_equal(a.failed, 0);
    assert_true(log_wait(&ml, rounds, RT_WAIT_MS));
    usleep(300 * 1000); /* a duplicate would come right behind */
    assert_int_equal(log_count(&ml), rounds);
    for (int i = 0; i < rounds; i++) {
        char d[16];
        snprintf(d, sizeof(d), "p-%d", i);
        assert_string_equal(ml.data[i], d);
    }
    conn_id(pub, id_after);
    assert_string_equal(id_before, id_after);
    rta_realtime_destroy(pub);
    rta_realtime_destroy(sub);
}

/* RTN15c7, wire doc 2.9: rtauthd restarted, so the resume fails: CONNECTED carries 80008 and a
 * new connectionId; the channel is attached again (an `update`, not RESUMED) and works. */
static void test_failed_resume_after_restart(void **state)
{
    (void)state;
    rt_rec rec;
    rta_realtime *sub = connected_client(keys[0], &rec);
    msg_log ml;
    chan_log cl;
    rta_channel *ch = subscribed(sub, "resume-restart", &ml, &cl);
    char id_before[128], id_after[128];
    conn_id(sub, id_before);
    assert_int_equal(rta_test_server_restart(&sdk_server, NULL), 0);
    assert_true(rt_rec_wait(&rec, RTA_CONN_CONNECTED, RTA_ERR_RESUME_FAILED, 1, RT_WAIT_MS));
    conn_id(sub, id_after);
    assert_string_not_equal(id_before, id_after);
    rta_error reason;
    assert_int_equal(rta_realtime_state(sub, &reason), RTA_CONN_CONNECTED);
    assert_int_equal(reason.code, RTA_ERR_RESUME_FAILED); /* RTN15c7: errorReason */
    for (int t = 0; t < RT_WAIT_MS && chan_count(&cl, RTA_CHANNEL_UPDATE) < 1; t += 10)
        usleep(10000);
    assert_int_equal(chan_count(&cl, RTA_CHANNEL_UPDATE), 1); /* re-attached, not resumed */
    assert_int_equal(rta_channel_get_state(ch, NULL), RTA_CHANNEL_ATTACHED);
    rta_realtime *pub = connected_client(keys[0], NULL);
    publish(pub, "resume-restart", "after-restart");
    publish(sub, "resume-restart", "own");
    assert_true(log_wait(&ml, 2, RT_WAIT_MS));
    assert_string_equal(ml.data[0], "after-restart");
    assert_string_equal(ml.data[1], "own");
    rta_realtime_destroy(pub);
    rta_realtime_destroy(sub);
}

/* RTN14e: with the server gone, disconnected and retrying until connectionStateTtl (1.5 s here,
 * advertised by rtauthd in connectionDetails) has passed, then suspended with 80002 and the
 * channel suspended; once the server is back the suspended retry connects afresh (no resume)
 * and the channel is attached again. */
static void test_suspended_after_state_ttl(void **state)
{
    (void)state;
    rta_test_server s;
    const char *args[] = {"--connection-state-ttl", "1500", NULL};
    char key[256];
    rta_client_options o;
    own_server(&s, args, key, &o);
    rt_rec rec;
    rta_realtime *rt = rt_client(&o, &rec);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    msg_log ml;
    chan_log cl;
    rta_channel *ch = subscribed(rt, "resume-ttl", &ml, &cl);
    char id_before[128], id_after[128];
    conn_id(rt, id_before);

    long long t0 = rta_test_now_ms();
    rta_test_server_kill(&s);
    rta_error err;
    assert_int_equal(rta_realtime_wait_state(rt, RTA_CONN_SUSPENDED, RT_WAIT_MS, &err), 0);
    long long took = rta_test_now_ms() - t0;
    assert_int_equal(err.code, RTA_ERR_CONNECTION_SUSPENDED);
    assert_true(took >= 1400 && took < 5000); /* the server's ttl, not the 120 s default */
    assert_true(rt_rec_count(&rec, RTA_CONN_DISCONNECTED, 0) >= 2); /* retried meanwhile */
    assert_true(chan_wait_state(ch, RTA_CHANNEL_SUSPENDED, 1000));
    assert_int_equal(rta_channel_get_state(ch, &err), RTA_CHANNEL_SUSPENDED);
    assert_int_equal(err.code, RTA_ERR_CONNECTION_SUSPENDED);

    assert_int_equal(rta_test_server_restart(&s, args), 0);
    rt_connected(rt);
    assert_true(chan_wait_state(ch, RTA_CHANNEL_ATTACHED, RT_WAIT_MS));
    conn_id(rt, id_after);
    assert_string_not_equal(id_before, id_after);
    /* no resume was attempted (the key was forgotten on suspension): no 80008 */
    assert_int_equal(rt_rec_count(&rec, RTA_CONN_CONNECTED, RTA_ERR_RESUME_FAILED), 0);
    publish(rt, "resume-ttl", "back");
    assert_true(log_wait(&ml, 1, RT_WAIT_MS));
    assert_string_equal(ml.data[0], "back");
    rta_realtime_destroy(rt);
    rta_test_server_stop(&s);
    rta_test_server_cleanup(&s);
}

/* Wire doc 2.5: rtauthd advertises maxIdleInterval (2 s here, `--max-idle-interval`). Frozen
 * with SIGSTOP, it keeps the TCP connection open but sends nothing: the client drops the
 * transport after maxIdleInterval + realtimeRequestTimeout (80003, 408) and, once the server
 * runs again, resumes the same connection. While the server runs, an otherwise silent
 * connection stays up (librtauth's HEARTBEAT halfway through maxIdleInterval is answered).
 * About 7 s. */
static void test_idle_detection(void **state)
{
    (void)state;
    rta_test_server s;
    const char *args[] = {"--max-idle-interval", "2000", NULL};
    char key[256];
    rta_client_options o;
    own_server(&s, args, key, &o);
    o.realtime.realtime_request_ms = 1000;
    rt_rec rec;
    rta_realtime *rt = rt_client(&o, &rec);
    rta_realtime_connect(rt, NULL);
    rt_connected(rt);
    char id_before[128], id_after[128];
    conn_id(rt, id_before);
    /* silent but alive: nothing drops in 3.5 s, beyond maxIdleInterval + request timeout */
    usleep(3500 * 1000);
    assert_int_equal(rta_realtime_state(rt, NULL), RTA_CONN_CONNECTED);
    long long t0 = rta_test_now_ms();
    assert_int_equal(kill(s.pid, SIGSTOP), 0);
    int dropped = rt_rec_wait(&rec, RTA_CONN_DISCONNECTED, RTA_ERR_DISCONNECTED, 1, 8000);
    long long took = rta_test_now_ms() - t0;
    kill(s.pid, SIGCONT);
    assert_true(dropped);
    assert_true(took >= 2000 && took < 5000); /* 2 s + 1 s, from the last activity */
    rta_error err;
    rta_realtime_state(rt, &err);
    assert_int_equal(err.status_code, 408);
    assert_int_equal(rta_realtime_wait_state(rt, RTA_CONN_CONNECTED, RT_WAIT_MS, NULL), 0);
    conn_id(rt, id_after);
    assert_string_equal(id_before, id_after);
    rta_realtime_destroy(rt);
    rta_test_server_stop(&s);
    rta_test_server_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_keeps_connection_and_messages),
        cmocka_unit_test(test_inflight_publishes_exactly_once),
        cmocka_unit_test(test_failed_resume_after_restart),
        cmocka_unit_test(test_suspended_after_state_ttl),
        cmocka_unit_test(test_idle_detection),
    };
    return cmocka_run_group_tests(tests, group_setup, sdk_teardown);
}
