/* test_store_redis.c: cluster mode's Redis store (store/redis.h) against a real redis-server
 * (AOF on, a temporary directory, a free port), two store handles standing in for two nodes:
 * records written by one are listed by the other and reported by poll_changes; a nonce used
 * on one is replayed on the other and after reopening; revocations merge, are logged with
 * their doorbell's sequence and are purged; the KEK seals what Redis holds (and a sealed
 * Redis opens only with it); an emptied Redis is noticed (epoch change) and refuses nonces
 * from before the loss; a Redis without AOF is refused to a node; an unreachable Redis fails
 * fast. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server/store/redis.h"
#include "server/store/secret_box.h"

typedef struct {
    pid_t pid;
    int port;
    char dir[64];
} redis_proc;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static redisContext *cli(const redis_proc *r)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

static void redis_start(redis_proc *r, const char *appendonly)
{
    if (!r->dir[0]) {
        strcpy(r->dir, "/tmp/rta-redis-XXXXXX");
        assert_non_null(mkdtemp(r->dir));
        r->port = free_port();
    }
    char port[16];
    snprintf(port, sizeof(port), "%d", r->port);
    r->pid = fork();
    if (r->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--dir",
               r->dir, "--appendonly", appendonly, "--appendfsync", "always", "--save", "",
               "--daemonize", "no", "--loglevel", "warning", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100; i++) {
        struct timeval tv = {0, 200000};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
        if (c && !c->err) {
            redisReply *p = redisCommand(c, "PING");
            int ok = p && p->type == REDIS_REPLY_STATUS;
            if (p) freeReplyObject(p);
            redisFree(c);
            if (ok) return;
        } else if (c) {
            redisFree(c);
        }
        usleep(50000);
    }
    fail_msg("redis-server did not start on port %d", r->port);
}

static void redis_kill(redis_proc *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    r->pid = 0;
}

static void redis_cleanup(redis_proc *r)
{
    redis_kill(r);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
    if (system(cmd)) {
    }
}

static rta_store *open_store(const redis_proc *r, const char *node, rta_secret_box *kek, int *rc)
{
    rta_redis_options o;
    rta_redis_options_init(&o);
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", r->port);
    rta_error err;
    assert_int_equal(rta_redis_url_parse(url, 0, &o.target, &err), 0);
    if (node) snprintf(o.node_id, sizeof(o.node_id), "%s", node);
    o.connect_timeout_ms = 300;
    rta_store *s = NULL;
    *rc = rta_store_redis_open(&o, kek, &s, &err);
    if (*rc) print_message("open: %d %s\n", *rc, err.message);
    return s;
}

static rta_store *must_open(const redis_proc *r, const char *node, rta_secret_box *kek)
{
    int rc;
    rta_store *s = open_store(r, node, kek, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(s);
    return s;
}

/* ---- collectors ---- */

typedef struct {
    char names[16][64];
    char secrets[16][130];
    char caps[16][130];
    int enabled[16];
    long long maxc[16];
    int n;
} seen;

static void see_key(void *ctx, const rta_key_record *k)
{
    seen *s = ctx;
    snprintf(s->names[s->n], 64, "%s", k->key_name);
    snprintf(s->secrets[s->n], 130, "%s", k->secret);
    snprintf(s->caps[s->n], 130, "%s", k->capability);
    s->enabled[s->n++] = k->enabled;
}

static void see_app(void *ctx, const rta_app_record *a)
{
    seen *s = ctx;
    snprintf(s->names[s->n], 64, "%s", a->app_id);
    s->maxc[s->n++] = a->max_connections;
}

static void see_secret(void *ctx, const rta_secret_record *r)
{
    seen *s = ctx;
    snprintf(s->names[s->n], 64, "%u", (unsigned)r->id);
    memcpy(s->secrets[s->n++], r->secret, RTA_SERVER_SECRET_LEN);
}

typedef struct {
    rta_revocation_record r[16];
    char targets[16][64];
    int n;
} revs;

static void see_rev(void *ctx, const rta_revocation_record *r)
{
    revs *v = ctx;
    v->r[v->n] = *r;
    snprintf(v->targets[v->n], 64, "%s", r->target);
    v->r[v->n].target = v->targets[v->n];
    v->r[v->n].key_name = NULL;
    v->n++;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    size_t n;
    long long dup_applies, dup_expires;
} rev_count;

static void count_rev(void *ctx, const rta_revocation_record *r)
{
    rev_count *c = ctx;
    c->n++;
    if (!strcmp(r->target, "token:dup")) {
        c->dup_applies = r->applies_at;
        c->dup_expires = r->expires;
    }
}

/* ---- tests ---- */

static void test_records_across_handles(void **state)
{
    (void)state;
    redis_proc r = {0};
    redis_start(&r, "yes");
    rta_store *a = must_open(&r, "n1", NULL), *b = must_open(&r, "n2", NULL);
    rta_error err;
    int changed = -1;
    assert_int_equal(b->ops->poll_changes(b, &changed, &err), 0);
    assert_int_equal(changed, 0);

    rta_app_record app = {"app1", "acct", 1000, 1, 0, 0};
    rta_key_record keys[2] = {
        {"app1.k1", "app1", "secret-one", "{\"*\":[\"*\"]}", 1, 1, 1000},
        {"app1.k2", "app1", "secret-two", "{\"a\":[\"publish\"]}", 0, 1, 1000},
    };
    assert_int_equal(a->ops->create_app(a, &app, keys, 2, &err), 0);
    assert_int_equal(a->ops->create_app(a, &app, keys, 2, &err), 40003);
    rta_key_record stray = {"app2.k1", "app2", "s", "{}", 0, 1, 1};
    assert_int_equal(a->ops->add_key(a, &stray, &err), 40400);
    rta_key_record wrong = {"app1.k3", "app9", "s", "{}", 0, 1, 1};
    assert_int_equal(a->ops->add_key(a, &wrong, &err), 40003);

    assert_int_equal(b->ops->poll_changes(b, &changed, &err), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(b->ops->poll_changes(b, &changed, &err), 0);
    assert_int_equal(changed, 0);
    seen k = {0};
    assert_int_equal(b->ops->list_keys(b, see_key, &k, &err), 0);
    assert_int_equal(k.n, 2);
    assert_string_equal(k.names[0], "app1.k1");
    assert_string_equal(k.secrets[1], "secret-two");

    assert_int_equal(a->ops->set_key_enabled(a, "app1.k2", 0, &err), 0);
    assert_int_equal(a->ops->set_key_enabled(a, "app1.nope", 0, &err), 40400);
    /* the console's capability change (issue 18) */
    assert_int_equal(a->ops->set_key_capability(a, "app1.k1", "{\"x\":[\"subscribe\"]}", &err), 0);
    assert_int_equal(a->ops->set_key_capability(a, "app1.nope", "{}", &err), 40400);
    assert_int_equal(a->ops->set_app_limits(a, "app1", 5, -1, &err), 0);
    assert_int_equal(a->ops->set_app_limits(a, "nope", 5, -1, &err), 40400);
    assert_int_equal(b->ops->poll_changes(b, &changed, &err), 0);
    assert_int_equal(changed, 1);
    memset(&k, 0, sizeof(k));
    b->ops->list_keys(b, see_key, &k, &err);
    assert_int_equal(k.enabled[1], 0);
    assert_string_equal(k.caps[0], "{\"x\":[\"subscribe\"]}");
    seen apps = {0};
    assert_int_equal(b->ops->list_apps(b, see_app, &apps, &err), 0);
    assert_int_equal(apps.n, 1);
    assert_int_equal(apps.maxc[0], 5);

    /* secrets: one id once */
    rta_secret_record s1 = {1, {0}, 5};
    memset(s1.secret, 0xab, sizeof(s1.secret));
    assert_int_equal(a->ops->add_secret(a, &s1, &err), 0);
    assert_int_equal(b->ops->add_secret(b, &s1, &err), 40003);
    seen sec = {0};
    assert_int_equal(b->ops->list_secrets(b, see_secret, &sec, &err), 0);
    assert_int_equal(sec.n, 1);
    assert_memory_equal(sec.secrets[0], s1.secret, RTA_SERVER_SECRET_LEN);

    assert_int_equal(a->ops->delete_app(a, "app1", &err), 0);
    assert_int_equal(a->ops->delete_app(a, "app1", &err), 40400);
    memset(&k, 0, sizeof(k));
    b->ops->list_keys(b, see_key, &k, &err);
    assert_int_equal(k.n, 0);
    a->ops->close(a);
    b->ops->close(b);
    redis_cleanup(&r);
}

static void test_nonces_across_nodes(void **state)
{
    (void)state;
    redis_proc r = {0};
    redis_start(&r, "yes");
    rta_store *a = must_open(&r, "n1", NULL), *b = must_open(&r, "n2", NULL);
    rta_error err;
    long long exp = now_ms() + 120000;
    rta_nonce_record n[3] = {{"app.k", "nonce-aaaaaaaaaaaa", exp},
                             {"app.k", "nonce-bbbbbbbbbbbb", exp},
                             {"app.k", "nonce-aaaaaaaaaaaa", exp}};
    unsigned char rep[3];
    assert_int_equal(a->ops->add_nonces(a, n, 3, rep, &err), 0);
    assert_int_equal(rep[0], 0);
    assert_int_equal(rep[1], 0);
    assert_int_equal(rep[2], 1); /* the same nonce twice in one batch */
    assert_int_equal(b->ops->add_nonces(b, n + 1, 1, rep, &err), 0);
    assert_int_equal(rep[0], 1); /* another node used it */
    rta_nonce_record other = {"app.k2", "nonce-bbbbbbbbbbbb", exp};
    assert_int_equal(b->ops->add_nonces(b, &other, 1, rep, &err), 0);
    assert_int_equal(rep[0], 0); /* per key */
    assert_null(b->ops->add_nonces_local);

    /* markers live R = 2W + S, and hold no nonce */
    redisContext *c = cli(&r);
    redisReply *keys = redisCommand(c, "KEYS rt:n:*");
    assert_int_equal(keys->elements, 3);
    for (size_t i = 0; i < keys->elements; i++) {
        assert_null(strstr(keys->element[i]->str, "nonce-"));
        redisReply *t = redisCommand(c, "PTTL %s", keys->element[i]->str);
        assert_true(t->integer > 240000 && t->integer <= 250000);
        freeReplyObject(t);
    }
    freeReplyObject(keys);

    /* a restart of Redis (AOF) and of the node: still replayed */
    a->ops->close(a);
    redis_kill(&r);
    redis_start(&r, "yes");
    a = must_open(&r, "n1", NULL);
    assert_int_equal(a->ops->add_nonces(a, n, 1, rep, &err), 0);
    assert_int_equal(rep[0], 1);

    /* Redis unreachable: the batch fails (5xx for the caller), fast, never "fresh" */
    redis_kill(&r);
    rta_nonce_record fresh = {"app.k", "nonce-cccccccccccc", exp};
    rep[0] = 7;
    long long t0 = now_ms();
    assert_int_equal(a->ops->add_nonces(a, &fresh, 1, rep, &err), 50000);
    assert_int_equal(a->ops->add_nonces(a, &fresh, 1, rep, &err), 50000);
    assert_true(now_ms() - t0 < 1500);
    assert_null(strstr(err.message, "nonce-"));
    redis_start(&r, "yes");
    int ok = 0;
    for (int i = 0; i < 30 && !ok; i++) { /* back-off ends within a second */
        ok = a->ops->add_nonces(a, &fresh, 1, rep, &err) == 0;
        if (!ok) usleep(100000);
    }
    assert_true(ok);
    assert_int_equal(rep[0], 0);
    freeReplyObject(redisCommand(c, "PING"));
    redisFree(c);
    a->ops->close(a);
    b->ops->close(b);
    redis_cleanup(&r);
}

static uint64_t last_seq;
static char last_body[512];
static void see_entry(void *ctx, const rta_ctl_entry *e)
{
    (void)ctx;
    last_seq = e->seq;
    snprintf(last_body, sizeof(last_body), "%.*s", (int)e->body_len, e->body);
}

/* One call with more records than rt_rev_apply writes at once (it batches 1,000 fields per
 * HMGET, HSET and ZADD), among them the same (key, target, issuedBefore) twice: all stored,
 * in the expiry index, and the twice-named one merged (the earlier appliesAt, the later
 * expiry) as across calls. */
static void test_revocations_many_in_one_call(void **state)
{
    (void)state;
    redis_proc r = {0};
    redis_start(&r, "yes");
    rta_store *a = must_open(&r, "n1", NULL);
    rta_error err;
    rta_app_record app = {"app1", "acct", 1000, 0, 0, 0};
    rta_key_record key = {"app1.k1", "app1", "sec", "{\"*\":[\"*\"]}", 1, 1, 1};
    assert_int_equal(a->ops->create_app(a, &app, &key, 1, &err), 0);
    enum { N = 1500 };
    static rta_revocation_record rv[N + 2];
    static char targets[N][24];
    long long now = now_ms();
    for (int i = 0; i < N; i++) {
        snprintf(targets[i], sizeof(targets[i]), "token:t%d", i);
        rv[i] = (rta_revocation_record){"app1.k1", targets[i], now, now, now + 60000 + (i % 2) * 60000};
    }
    rv[N] = (rta_revocation_record){"app1.k1", "token:dup", now, now + 20000, now + 70000};
    rv[N + 1] = (rta_revocation_record){"app1.k1", "token:dup", now, now + 5000, now + 65000};
    assert_int_equal(a->ops->add_revocations(a, rv, N + 2, &err), 0);
    rev_count c = {0};
    assert_int_equal(a->ops->list_revocations(a, now, count_rev, &c, &err), 0);
    assert_int_equal(c.n, N + 1);
    assert_int_equal(c.dup_applies, now + 5000);
    assert_int_equal(c.dup_expires, now + 70000);
    /* the expiry index has every one: a purge takes exactly those expired */
    assert_int_equal(a->ops->purge(a, now + 90000, &err), 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(a->ops->list_revocations(a, 0, count_rev, &c, &err), 0);
    assert_int_equal(c.n, N / 2);
    a->ops->close(a);
    redis_cleanup(&r);
}

static void test_revocations_and_log(void **state)
{
    (void)state;
    redis_proc r = {0};
    redis_start(&r, "yes");
    rta_store *a = must_open(&r, "n1", NULL), *b = must_open(&r, "n2", NULL);
    rta_error err;
    rta_app_record app = {"app1", "acct", 1000, 0, 0, 0};
    rta_key_record key = {"app1.k1", "app1", "sec", "{\"*\":[\"*\"]}", 1, 1, 1};
    assert_int_equal(a->ops->create_app(a, &app, &key, 1, &err), 0);
    rta_redis_head h;
    assert_int_equal(rta_store_redis_head(b, &h, &err), 0);
    assert_int_equal(h.seq, 0);
    assert_int_equal(h.replicas, 0);

    long long now = now_ms();
    rta_revocation_record rv[2] = {{"app1.k1", "clientId:bob", now, now, now + 3600000},
                                   {"app1.k1", "token:abc", now, now + 30000, now + 60000}};
    assert_int_equal(a->ops->add_revocations(a, rv, 2, &err), 0);
    /* the same (key, target, issuedBefore) again: earlier appliesAt, later expiry win */
    rta_revocation_record again = {"app1.k1", "token:abc", now, now + 10000, now + 50000};
    assert_int_equal(a->ops->add_revocations(a, &again, 1, &err), 0);
    revs v = {0};
    assert_int_equal(b->ops->list_revocations(b, now, see_rev, &v, &err), 0);
    assert_int_equal(v.n, 2);
    for (int i = 0; i < 2; i++)
        if (!strcmp(v.targets[i], "token:abc")) {
            assert_int_equal(v.r[i].applies_at, now + 10000);
            assert_int_equal(v.r[i].expires, now + 60000);
        }

    /* two log entries, one per call, readable from any handle */
    assert_int_equal(rta_store_redis_head(b, &h, &err), 0);
    assert_int_equal(h.seq, 2);
    size_t count;
    assert_int_equal(rta_store_redis_ctl_read(b, 0, 10, see_entry, NULL, &count, &err), 0);
    assert_int_equal(count, 2);
    assert_int_equal(last_seq, 2);
    rta_ctl_rev_body body;
    assert_int_equal(rta_ctl_rev_body_decode(last_body, strlen(last_body), &body), 0);
    assert_string_equal(body.key_name, "app1.k1");
    assert_int_equal(body.n, 1);
    assert_string_equal(body.recs[0].target, "token:abc");
    rta_ctl_rev_body_free(&body);
    assert_int_equal(rta_store_redis_ctl_read(b, 2, 10, see_entry, NULL, &count, &err), 0);
    assert_int_equal(count, 1);
    uint64_t seq = 0;
    assert_int_equal(rta_store_redis_ctl_append(a, "ping", "", 0, &seq, &err), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(rta_store_redis_ctl_append(a, "bad type", "", 0, &seq, &err), 40003);

    /* purge: only what expired */
    assert_int_equal(b->ops->purge(b, now + 60000, &err), 0);
    memset(&v, 0, sizeof(v));
    b->ops->list_revocations(b, 0, see_rev, &v, &err);
    assert_int_equal(v.n, 1);
    assert_string_equal(v.targets[0], "clientId:bob");
    /* deleting the app takes its revocations */
    assert_int_equal(a->ops->delete_app(a, "app1", &err), 0);
    memset(&v, 0, sizeof(v));
    b->ops->list_revocations(b, 0, see_rev, &v, &err);
    assert_int_equal(v.n, 0);
    a->ops->close(a);
    b->ops->close(b);
    redis_cleanup(&r);
}

static rta_secret_box *kek(unsigned char fill)
{
    unsigned char k[RTA_KEK_LEN];
    memset(k, fill, sizeof(k));
    rta_secret_box *b;
    rta_error err;
    assert_int_equal(rta_secret_box_new(k, &b, &err), 0);
    return b;
}

static void test_kek(void **state)
{
    (void)state;
    redis_proc r = {0};
    redis_start(&r, "yes");
    rta_store *a = must_open(&r, "", NULL); /* a client, as the CLI */
    rta_error err;
    rta_app_record app = {"app1", "acct", 1000, 0, 0, 0};
    rta_key_record key = {"app1.k1", "app1", "plain-secret-xyz", "{\"*\":[\"*\"]}", 0, 1, 1};
    assert_int_equal(a->ops->create_app(a, &app, &key, 1, &err), 0);
    rta_secret_record s1 = {1, {0}, 5};
    memset(s1.secret, 0x5a, sizeof(s1.secret));
    assert_int_equal(a->ops->add_secret(a, &s1, &err), 0);
    a->ops->close(a);

    /* opened with a KEK: sealed in place */
    rta_store *k = must_open(&r, "n1", kek(1));
    rta_key_record key2 = {"app1.k2", "app1", "second-secret-xyz", "{}", 0, 1, 1};
    assert_int_equal(k->ops->add_key(k, &key2, &err), 0);
    seen ks = {0};
    assert_int_equal(k->ops->list_keys(k, see_key, &ks, &err), 0);
    assert_int_equal(ks.n, 2);
    assert_string_equal(ks.secrets[0], "plain-secret-xyz");
    seen sec = {0};
    assert_int_equal(k->ops->list_secrets(k, see_secret, &sec, &err), 0);
    assert_memory_equal(sec.secrets[0], s1.secret, RTA_SERVER_SECRET_LEN);
    k->ops->close(k);

    /* what Redis holds (and would dump): no plaintext secret */
    redisContext *c = cli(&r);
    const char *fields[][2] = {{"rt:{g}:key:app1.k1", "secret"}, {"rt:{g}:key:app1.k2", "secret"}};
    for (int i = 0; i < 2; i++) {
        redisReply *v = redisCommand(c, "HGET %s %s", fields[i][0], fields[i][1]);
        assert_int_equal(strncmp(v->str, "kek1:", 5), 0);
        assert_null(strstr(v->str, "secret-xyz"));
        freeReplyObject(v);
    }
    redisReply *v = redisCommand(c, "HGET rt:{g}:secrets s:1");
    assert_int_equal(v->len, RTA_SERVER_SECRET_LEN + RTA_SECRET_BOX_OVERHEAD);
    assert_null(memmem(v->str, v->len, s1.secret, 8));
    freeReplyObject(v);
    redisFree(c);

    /* without the KEK, or with another: refused */
    int rc;
    assert_null(open_store(&r, "n2", NULL, &rc));
    assert_int_equal(rc, 40003);
    assert_null(open_store(&r, "n2", kek(2), &rc));
    assert_int_equal(rc, 40003);
    k = must_open(&r, "n2", kek(1));
    k->ops->close(k);
    redis_cleanup(&r);
}

static void test_epoch_loss(void **state)
{
    (void)state;
    redis_proc r = {0};
    redis_start(&r, "yes");
    rta_store *a = must_open(&r, "n1", NULL);
    rta_error err;
    rta_redis_head h;
    assert_int_equal(rta_store_redis_head(a, &h, &err), 0);
    assert_int_equal(h.epoch_changes, 0);
    char before[48];
    strcpy(before, h.epoch_id);
    rta_secret_record s1 = {1, {0}, 5};
    memset(s1.secret, 0x11, sizeof(s1.secret));
    assert_int_equal(a->ops->add_secret(a, &s1, &err), 0);
    long long now = now_ms();
    /* a TokenRequest stamped just now: its nonce expires at now + W + 1 */
    rta_nonce_record used = {"app.k", "nonce-before-loss", now + 120001};
    unsigned char rep;
    assert_int_equal(a->ops->add_nonces(a, &used, 1, &rep, &err), 0);
    assert_int_equal(rep, 0);

    redisContext *c = cli(&r);
    freeReplyObject(redisCommand(c, "FLUSHALL"));
    /* the replay comes before any poll: the batch's own epoch check catches it */
    assert_int_equal(a->ops->add_nonces(a, &used, 1, &rep, &err), 0);
    assert_int_equal(rep, 1);
    assert_true(rta_store_redis_reseed_pending(a));
    int changed = 1;
    assert_int_equal(a->ops->poll_changes(a, &changed, &err), 0);
    assert_int_equal(changed, 0); /* held back until re-seeded */
    assert_int_equal(rta_store_redis_head(a, &h, &err), 0);
    assert_int_equal(h.epoch_changes, 1);
    assert_string_not_equal(h.epoch_id, before);
    /* a TokenRequest made well after the loss is fine */
    rta_nonce_record later = {"app.k", "nonce-after-loss", now + 400000};
    assert_int_equal(a->ops->add_nonces(a, &later, 1, &rep, &err), 0);
    assert_int_equal(rep, 0);
    /* re-seed: the secret this store saw is back */
    assert_int_equal(rta_store_redis_reseed_secrets(a, &err), 0);
    rta_store_redis_reseed_done(a);
    seen sec = {0};
    assert_int_equal(a->ops->list_secrets(a, see_secret, &sec, &err), 0);
    assert_int_equal(sec.n, 1);
    assert_int_equal(a->ops->poll_changes(a, &changed, &err), 0);
    assert_int_equal(changed, 1);
    /* a second node opening now sees the loss flag too */
    rta_store *b = must_open(&r, "n2", NULL);
    assert_int_equal(b->ops->add_nonces(b, &used, 1, &rep, &err), 0);
    assert_int_equal(rep, 1);
    redisFree(c);
    a->ops->close(a);
    b->ops->close(b);
    redis_cleanup(&r);
}

static void test_settings_refused(void **state)
{
    (void)state;
    redis_proc r = {0};
    redis_start(&r, "no");
    int rc;
    assert_null(open_store(&r, "n1", NULL, &rc));
    assert_int_equal(rc, 40003);
    rta_store *cli_store = must_open(&r, "", NULL); /* the CLI does not judge the server */
    cli_store->ops->close(cli_store);
    redis_cleanup(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_across_handles),
        cmocka_unit_test(test_nonces_across_nodes),
        cmocka_unit_test(test_revocations_and_log),
        cmocka_unit_test(test_revocations_many_in_one_call),
        cmocka_unit_test(test_kek),
        cmocka_unit_test(test_epoch_loss),
        cmocka_unit_test(test_settings_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
