/* test_config_limits.c: the tenant limits' settings (config.h) in their three forms (flag,
 * environment, config file, with that precedence), their defaults, and their ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config.h"

static void defaults(void **state)
{
    (void)state;
    rta_config c;
    rta_config_defaults(&c);
    assert_int_equal(c.gateway.max_connections_per_app, 0); /* none of its own */
    assert_int_equal(c.gateway.max_connections_per_client, 100);
    assert_int_equal(c.gateway.max_channels_per_connection, 1000);
}

static void flag_env_and_file(void **state)
{
    (void)state;
    char file[64];
    snprintf(file, sizeof(file), "/tmp/rtauth-test-limits-%d", (int)getpid());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "max_connections_per_app = 11\nmax_connections_per_client = 12\n"
               "max_channels_per_connection = 13\n");
    fclose(f);
    setenv("RTAUTHD_MAX_CONNECTIONS_PER_CLIENT", "22", 1);
    setenv("RTAUTHD_MAX_CHANNELS_PER_CONNECTION", "23", 1);
    char *argv[] = {"rtauthd", "--config", file, "--max-channels-per-connection", "33", NULL};
    rta_config c;
    rta_config_defaults(&c);
    rta_error err;
    assert_int_equal(rta_config_load(&c, 5, argv, &err), 0);
    assert_int_equal(c.gateway.max_connections_per_app, 11);      /* file */
    assert_int_equal(c.gateway.max_connections_per_client, 22);   /* env over file */
    assert_int_equal(c.gateway.max_channels_per_connection, 33);  /* flag over env */
    unsetenv("RTAUTHD_MAX_CONNECTIONS_PER_CLIENT");
    unsetenv("RTAUTHD_MAX_CHANNELS_PER_CONNECTION");
    unlink(file);
}

static void out_of_range_is_refused(void **state)
{
    (void)state;
    const char *bad[][2] = {{"--max-channels-per-connection", "0"},
                            {"--max-connections-per-client", "-1"},
                            {"--max-connections-per-app", "1000001"},
                            {"--max-connections-per-app", "many"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *argv[] = {"rtauthd", (char *)bad[i][0], (char *)bad[i][1], NULL};
        rta_config c;
        rta_config_defaults(&c);
        rta_error err;
        assert_int_equal(rta_config_load(&c, 3, argv, &err), RTA_ERR_INVALID_PARAMETER);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(flag_env_and_file),
        cmocka_unit_test(out_of_range_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
