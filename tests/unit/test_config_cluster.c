/* test_config_cluster.c: cluster mode's settings (config.h): their defaults, the flag,
 * environment and file forms, and the combinations refused at start (a node id is required,
 * Sentinel needs a master name, a malformed URL is refused without quoting its password). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config.h"
#include "server/store/redis_url.h"

static int load(rta_config *c, char **argv, rta_error *err)
{
    int argc = 0;
    while (argv[argc]) argc++;
    rta_config_defaults(c);
    return rta_config_load(c, argc, argv, err);
}

static void defaults(void **state)
{
    (void)state;
    rta_config c;
    rta_config_defaults(&c);
    assert_false(rta_config_cluster(&c)); /* SQLite, one node */
    assert_int_equal(c.max_clock_skew, 10000);
    assert_int_equal(c.partition_grace, 5000);
    assert_int_equal(c.channel_linger, 30000);
    assert_int_equal(c.gateway.presence_grace, 15000);
    assert_string_equal(c.node_id, "");
}

static void forms(void **state)
{
    (void)state;
    char file[64];
    snprintf(file, sizeof(file), "/tmp/rtauth-test-cluster-%d", (int)getpid());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "redis = redis://:pw@127.0.0.1:6390/2\nnode_id = from-file\npartition_grace = 7\n");
    fclose(f);
    setenv("RTAUTHD_NODE_ID", "from-env", 1);
    setenv("RTAUTHD_MAX_CLOCK_SKEW", "2500", 1);
    char *argv[] = {"rtauthd", "--config", file, "--partition-grace", "9000",
                    "--channel-linger", "250", "--presence-grace", "4000", NULL};
    rta_config c;
    rta_error err;
    assert_int_equal(load(&c, argv, &err), 0);
    assert_true(rta_config_cluster(&c));
    assert_string_equal(c.redis, "redis://:pw@127.0.0.1:6390/2");
    assert_string_equal(c.node_id, "from-env");
    assert_int_equal(c.max_clock_skew, 2500);
    assert_int_equal(c.partition_grace, 9000);
    assert_int_equal(c.channel_linger, 250);
    assert_int_equal(c.gateway.presence_grace, 4000);
    unsetenv("RTAUTHD_NODE_ID");
    unsetenv("RTAUTHD_MAX_CLOCK_SKEW");
    unlink(file);

    char *sentinel[] = {"rtauthd", "--redis-sentinel", "10.0.0.1:26379,10.0.0.2", "--redis-master",
                        "mymaster", "--node-id", "n1", "--redis", "redis://:pw@/1", NULL};
    assert_int_equal(load(&c, sentinel, &err), 0);
    assert_true(rta_config_cluster(&c));
    assert_string_equal(c.redis_master, "mymaster");
}

static void refused(void **state)
{
    (void)state;
    static char *cases[][8] = {
        {"rtauthd", "--redis", "redis://127.0.0.1:6379", NULL},                  /* no node id */
        {"rtauthd", "--redis", "redis://h:1", "--node-id", "a b", NULL},         /* bad id */
        {"rtauthd", "--redis", "http://h:1", "--node-id", "n1", NULL},           /* scheme */
        {"rtauthd", "--redis", "redis://:pw@/1", "--node-id", "n1", NULL},       /* no host */
        {"rtauthd", "--redis-sentinel", "h:1", "--node-id", "n1", NULL},         /* no master */
        {"rtauthd", "--redis-master", "m", NULL},                                /* no Sentinel */
        {"rtauthd", "--redis", "redis://h:1", "--node-id", "n1", "--max-clock-skew", "-1", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rta_config c;
        rta_error err;
        assert_int_equal(load(&c, cases[i], &err), 40003);
    }
    char *leak[] = {"rtauthd", "--redis", "redis://u:hunter2@h:99999", "--node-id", "n1", NULL};
    rta_config c;
    rta_error err;
    assert_int_equal(load(&c, leak, &err), 40003);
    assert_null(strstr(err.message, "hunter2"));
}

/* --workers (server/workers.h): cluster mode only; worker i is node "<id>.w<i>" on a shared
 * port; a node id too long for the suffix is refused. */
static void workers(void **state)
{
    (void)state;
    rta_config c;
    rta_error err;
    char *single[] = {"rtauthd", "--workers", "2", NULL};
    assert_int_not_equal(load(&c, single, &err), 0);
    assert_non_null(strstr(err.message, "--workers needs cluster mode"));
    char *one[] = {"rtauthd", "--workers", "1", NULL}; /* one process: fine anywhere */
    assert_int_equal(load(&c, one, &err), 0);
    char *too_many[] = {"rtauthd", "--workers", "65", "--redis", "redis://127.0.0.1:6379",
                        "--node-id", "box", NULL};
    assert_int_not_equal(load(&c, too_many, &err), 0);
    setenv("RTAUTHD_WORKERS", "4", 1);
    char *argv[] = {"rtauthd", "--redis", "redis://127.0.0.1:6379", "--node-id", "box", NULL};
    assert_int_equal(load(&c, argv, &err), 0);
    unsetenv("RTAUTHD_WORKERS");
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.worker, -1);
    assert_false(c.reuse_port);
    assert_int_equal(rta_config_as_worker(&c, 3, &err), 0);
    assert_string_equal(c.node_id, "box.w3");
    assert_int_equal(c.worker, 3);
    assert_true(c.reuse_port);
    memset(c.node_id, 'n', 63);
    c.node_id[63] = '\0';
    assert_int_not_equal(rta_config_as_worker(&c, 10, &err), 0);
    assert_non_null(strstr(err.message, "too long"));
}

/* --redis-shard (docs/cluster.md, "Channel shards"): repeatable; the environment and file
 * forms take several URLs separated by spaces; flags replace the environment's list, which
 * replaces the file's; each URL is parsed (no password quoted); cluster mode only. */
static void shards(void **state)
{
    (void)state;
    rta_config c;
    rta_error err;
    rta_redis_target *t;
    size_t n;
    char *two[] = {"rtauthd", "--redis", "redis://127.0.0.1:6379", "--node-id", "n1",
                   "--redis-shard", "redis://127.0.0.1:6380", "--redis-shard",
                   "redis://:pw@127.0.0.1:6381/2", NULL};
    assert_int_equal(load(&c, two, &err), 0);
    assert_int_equal(rta_config_redis_shards(&c, &t, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(t[0].addr.port, 6380);
    assert_int_equal(t[1].addr.port, 6381);
    assert_int_equal(t[1].db, 2);
    assert_string_equal(t[1].password, "pw");
    rta_config_redis_shards_free(t, n);

    char file[64];
    snprintf(file, sizeof(file), "/tmp/rtauth-test-shards-%d", (int)getpid());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "redis_shard = redis://h1:1 redis://h2:2\nredis_shard = redis://h3:3\n");
    fclose(f);
    char *from_file[] = {"rtauthd", "--config", file, "--redis", "redis://h:1", "--node-id",
                         "n1", NULL};
    assert_int_equal(load(&c, from_file, &err), 0);
    assert_int_equal(rta_config_redis_shards(&c, &t, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(t[2].addr.host, "h3");
    rta_config_redis_shards_free(t, n);
    setenv("RTAUTHD_REDIS_SHARD", "redis://e1:1  redis://e2:2", 1);
    assert_int_equal(load(&c, from_file, &err), 0); /* the environment replaces the file's */
    assert_int_equal(rta_config_redis_shards(&c, &t, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(t[1].addr.host, "e2");
    rta_config_redis_shards_free(t, n);
    char *flag[] = {"rtauthd", "--config", file, "--redis", "redis://h:1", "--node-id", "n1",
                    "--redis-shard", "redis://a1:1", NULL};
    assert_int_equal(load(&c, flag, &err), 0); /* the flags replace both */
    assert_int_equal(rta_config_redis_shards(&c, &t, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(t[0].addr.host, "a1");
    rta_config_redis_shards_free(t, n);
    unsetenv("RTAUTHD_REDIS_SHARD");
    unlink(file);

    char *none[] = {"rtauthd", "--redis", "redis://h:1", "--node-id", "n1", NULL};
    assert_int_equal(load(&c, none, &err), 0);
    assert_int_equal(rta_config_redis_shards(&c, &t, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(t);
    char *single[] = {"rtauthd", "--redis-shard", "redis://h:1", NULL};
    assert_int_equal(load(&c, single, &err), 40003);
    assert_non_null(strstr(err.message, "--redis-shard needs cluster mode"));
    char *bad[] = {"rtauthd", "--redis", "redis://h:1", "--node-id", "n1", "--redis-shard",
                   "redis://u:hunter2@h:99999", NULL};
    assert_int_equal(load(&c, bad, &err), 40003);
    assert_null(strstr(err.message, "hunter2"));
    assert_non_null(strstr(err.message, "--redis-shard 1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(forms),
        cmocka_unit_test(refused),
        cmocka_unit_test(workers),
        cmocka_unit_test(shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
