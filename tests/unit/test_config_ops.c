/* test_config_ops.c: the operations settings (config.h): --log-format, --access-log and
 * --no-dev-app in their three forms (flag, environment, config file, with that precedence),
 * their defaults, refusals, and rta_config_file (what a SIGHUP reload reads again). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config.h"
#include "server/log.h"

static void defaults(void **state)
{
    (void)state;
    rta_config c;
    rta_config_defaults(&c);
    assert_int_equal(c.log_format, RTA_LOG_TEXT);
    assert_string_equal(c.access_log, ""); /* off */
    assert_int_equal(c.no_dev_app, 0);     /* the dev app is made at first start */
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void from_file(void **state)
{
    (void)state;
    char file[64];
    snprintf(file, sizeof(file), "/tmp/rtauth-test-ops-%d", (int)getpid());
    write_file(file, "log_format = json\naccess_log = /var/log/rtauthd/access.log\n"
                     "no_dev_app = true\n");
    char *argv[] = {"rtauthd", "--config", file, NULL};
    rta_config c;
    rta_config_defaults(&c);
    rta_error err;
    assert_int_equal(rta_config_load(&c, 3, argv, &err), 0);
    assert_int_equal(c.log_format, RTA_LOG_JSON);
    assert_string_equal(c.access_log, "/var/log/rtauthd/access.log");
    assert_int_equal(c.no_dev_app, 1);
    assert_string_equal(rta_config_file(3, argv), file);
    unlink(file);
}

/* flags > environment > file, as every other setting */
static void precedence(void **state)
{
    (void)state;
    char file[64];
    snprintf(file, sizeof(file), "/tmp/rtauth-test-ops-p-%d", (int)getpid());
    write_file(file, "log_format = json\naccess_log = /tmp/from-file.log\nno_dev_app = false\n");
    setenv("RTAUTHD_ACCESS_LOG", "-", 1);
    setenv("RTAUTHD_NO_DEV_APP", "1", 1);
    setenv("RTAUTHD_LOG_FORMAT", "json", 1);
    char *argv[] = {"rtauthd", "--config", file, "--log-format", "text", NULL};
    rta_config c;
    rta_config_defaults(&c);
    rta_error err;
    assert_int_equal(rta_config_load(&c, 5, argv, &err), 0);
    assert_int_equal(c.log_format, RTA_LOG_TEXT); /* flag over env and file */
    assert_string_equal(c.access_log, "-");      /* env over file: stdout */
    assert_int_equal(c.no_dev_app, 1);            /* env over file */
    unsetenv("RTAUTHD_ACCESS_LOG");
    unsetenv("RTAUTHD_NO_DEV_APP");
    unsetenv("RTAUTHD_LOG_FORMAT");

    char *argv2[] = {"rtauthd", "--no-dev-app", "--access-log", "/tmp/a.log", NULL};
    rta_config_defaults(&c);
    assert_int_equal(rta_config_load(&c, 4, argv2, &err), 0);
    assert_int_equal(c.no_dev_app, 1); /* a boolean flag takes no value */
    assert_string_equal(c.access_log, "/tmp/a.log");
    assert_null(rta_config_file(4, argv2));
    unlink(file);
}

static void refused(void **state)
{
    (void)state;
    const char *bad[][2] = {{"--log-format", "xml"}, {"--log-format", "JSON"}, {"--log-format", ""}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {"rtauthd", (char *)bad[i][0], (char *)bad[i][1], NULL};
        rta_config c;
        rta_config_defaults(&c);
        rta_error err;
        assert_int_equal(rta_config_load(&c, 3, argv, &err), 40003);
        assert_non_null(strstr(err.message, "log_format"));
    }
    char *argv[] = {"rtauthd", "--access-log", NULL};
    rta_config c;
    rta_config_defaults(&c);
    rta_error err;
    assert_int_equal(rta_config_load(&c, 2, argv, &err), 40003); /* needs a value */
    char longpath[1100];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[sizeof(longpath) - 1] = '\0';
    char *argv2[] = {"rtauthd", "--access-log", longpath, NULL};
    assert_int_equal(rta_config_load(&c, 3, argv2, &err), 40003); /* bounded */
}

/* --listen takes an IP address, v4 or v6: a name listened nowhere (libwebsockets reads it as a
 * network interface's name) */
static void listen_address(void **state)
{
    (void)state;
    const char *good[][2] = {{"127.0.0.1:8080", "127.0.0.1"}, {"0.0.0.0:1", "0.0.0.0"},
                             {"::1:8443", "::1"}, {":::80", "::"}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char *argv[] = {"rtauthd", "--listen", (char *)good[i][0], NULL};
        rta_config c;
        rta_config_defaults(&c);
        rta_error err;
        assert_int_equal(rta_config_load(&c, 3, argv, &err), 0);
        assert_string_equal(c.listen_host, good[i][1]);
    }
    const char *bad[] = {"localhost:8080", "eth0:80", "127.0.0.1.5:80", "example.com:443"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {"rtauthd", "--listen", (char *)bad[i], NULL};
        rta_config c;
        rta_config_defaults(&c);
        rta_error err;
        assert_int_not_equal(rta_config_load(&c, 3, argv, &err), 0);
        assert_non_null(strstr(err.message, "must be an IP address"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(from_file),
        cmocka_unit_test(precedence),
        cmocka_unit_test(refused),
        cmocka_unit_test(listen_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
