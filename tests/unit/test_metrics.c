/* test_metrics.c: server/metrics.h: what recording does to the rendered text (labels,
 * histogram buckets, bounded label sets), access to GET /metrics (loopback listener, bearer
 * token file and its permission check, the hook), and the --metrics-token-file setting in its
 * three forms (issue 17). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config.h"
#include "server/metrics.h"

static char *render(void)
{
    rta_buf b = RTA_BUF_INIT;
    assert_int_equal(rta_metrics_render(&b), 0);
    size_t len;
    return rta_buf_detach(&b, &len);
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == '\n') return 1;
    return 0;
}

static void emit_two(void *ctx, rta_metrics_conn_emit emit, void *arg)
{
    (void)ctx;
    emit(arg, "appA", 0);
    emit(arg, "appA", 1);
    emit(arg, "appB", 0);
}

static void families_and_samples(void **state)
{
    (void)state;
    rta_metrics_init("9.9.9");
    rta_metrics_reset();
    rta_metrics_set_conn_source(emit_two, NULL);
    rta_metrics_connection_opened("appA");
    rta_metrics_connection_opened("appA");
    rta_metrics_connection_closed(0);
    rta_metrics_connection_closed(40141);
    rta_metrics_connection_closed(RTA_METRICS_REASON_OVERFLOW);
    rta_metrics_connection_refused(40142);
    rta_metrics_token_request(0);
    rta_metrics_token_request(40160);
    rta_metrics_token_request(40160);
    rta_metrics_observe_ns(RTA_H_REQUEST_TOKEN, 70000);      /* in le=0.0001 */
    rta_metrics_observe_ns(RTA_H_REQUEST_TOKEN, 20000000000); /* over 10 s: +Inf only */
    rta_metrics_add(RTA_M_MESSAGES_IN, 3);
    char *t = render();
    assert_true(has_line(t, "# TYPE rtauthd_connections gauge"));
    assert_true(has_line(t, "rtauthd_connections{app=\"appA\",state=\"connected\"} 1"));
    assert_true(has_line(t, "rtauthd_connections{app=\"appA\",state=\"awaiting_resume\"} 1"));
    assert_true(has_line(t, "rtauthd_connections{app=\"appB\",state=\"connected\"} 1"));
    assert_true(has_line(t, "rtauthd_connections_opened_total{app=\"appA\"} 2"));
    assert_true(has_line(t, "rtauthd_connections_opened_total{app=\"appB\"} 0"));
    assert_true(has_line(t, "rtauthd_connections_closed_total{reason=\"normal\"} 1"));
    assert_true(has_line(t, "rtauthd_connections_closed_total{reason=\"40141\"} 1"));
    assert_true(has_line(t, "rtauthd_connections_closed_total{reason=\"queue_overflow\"} 1"));
    assert_true(has_line(t, "rtauthd_token_requests_total{result=\"issued\",code=\"0\"} 1"));
    assert_true(has_line(t, "rtauthd_connections_refused_total{code=\"40142\"} 1"));
    assert_true(has_line(t, "rtauthd_token_requests_total{result=\"refused\",code=\"40160\"} 2"));
    assert_true(has_line(t, "rtauthd_request_token_duration_seconds_bucket{le=\"5e-05\"} 0"));
    assert_true(has_line(t, "rtauthd_request_token_duration_seconds_bucket{le=\"0.0001\"} 1"));
    assert_true(has_line(t, "rtauthd_request_token_duration_seconds_bucket{le=\"10\"} 1"));
    assert_true(has_line(t, "rtauthd_request_token_duration_seconds_bucket{le=\"+Inf\"} 2"));
    assert_true(has_line(t, "rtauthd_request_token_duration_seconds_count 2"));
    assert_true(has_line(t, "rtauthd_messages_total{direction=\"in\"} 3"));
    assert_true(has_line(t, "rtauthd_build_info{version=\"9.9.9\"} 1"));
    assert_true(has_line(t, "# TYPE process_start_time_seconds gauge"));
    free(t);
    rta_metrics_set_conn_source(NULL, NULL);
}

/* Labels stay bounded: apps past the table share _other, codes past theirs share "other". */
static void bounded_labels(void **state)
{
    (void)state;
    rta_metrics_reset();
    char id[32];
    for (int i = 0; i < RTA_METRICS_MAX_APPS + 5; i++) {
        snprintf(id, sizeof(id), "app%d", i);
        rta_metrics_connection_opened(id);
    }
    for (int i = 0; i < RTA_METRICS_MAX_CODES + 3; i++) rta_metrics_token_request(40000 + i);
    char *t = render();
    assert_true(has_line(t, "rtauthd_connections_opened_total{app=\"_other\"} 5"));
    assert_true(has_line(t, "rtauthd_token_requests_total{result=\"refused\",code=\"other\"} 3"));
    free(t);
}

static int hook_allows(void *ctx, const char *authorization, const char *peer)
{
    (void)peer;
    return authorization && !strcmp(authorization, (const char *)ctx);
}

static void access_rules(void **state)
{
    (void)state;
    rta_metrics_access a;
    rta_error err;
    assert_int_equal(rta_metrics_access_init(&a, "127.0.0.1", "", &err), 0);
    assert_int_equal(rta_metrics_access_check(&a, NULL, "10.0.0.1", &err), 0);
    rta_metrics_access_free(&a);
    assert_int_equal(rta_metrics_access_init(&a, "::1", NULL, &err), 0);
    assert_true(a.open);
    rta_metrics_access_free(&a);

    assert_int_equal(rta_metrics_access_init(&a, "0.0.0.0", "", &err), 0);
    assert_int_equal(rta_metrics_access_check(&a, NULL, "127.0.0.1", &err), 40300);
    assert_int_equal(err.status_code, 403);
    rta_metrics_access_set_hook(&a, hook_allows, "Console abc");
    assert_int_equal(rta_metrics_access_check(&a, "Console abc", "10.0.0.2", &err), 0);
    assert_int_equal(rta_metrics_access_check(&a, "Console abd", "10.0.0.2", &err), 40101);
    rta_metrics_access_free(&a);

    char path[64];
    snprintf(path, sizeof(path), "/tmp/rtauth-test-metrics-%d", (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("  s3cret-metrics-token-0123\n", f);
    fclose(f);
    chmod(path, 0644);
    assert_int_equal(rta_metrics_access_init(&a, "0.0.0.0", path, &err), 40000);
    assert_non_null(strstr(err.message, "0644"));
    assert_null(strstr(err.message, "s3cret"));
    rta_metrics_access_free(&a);
    chmod(path, 0600);
    assert_int_equal(rta_metrics_access_init(&a, "0.0.0.0", path, &err), 0);
    assert_int_equal(rta_metrics_access_check(&a, "Bearer s3cret-metrics-token-0123", "", &err), 0);
    assert_int_equal(rta_metrics_access_check(&a, "bearer s3cret-metrics-token-0123", "", &err), 0);
    assert_int_equal(rta_metrics_access_check(&a, "Bearer s3cret-metrics-token-012", "", &err),
                     40101);
    assert_int_equal(rta_metrics_access_check(&a, NULL, "", &err), 40101);
    assert_null(strstr(err.message, "s3cret"));
    rta_metrics_access_free(&a);
    f = fopen(path, "w");
    fputs("short\n", f);
    fclose(f);
    assert_int_equal(rta_metrics_access_init(&a, "0.0.0.0", path, &err), 40000);
    rta_metrics_access_free(&a);
    unlink(path);
}

static void token_file_setting(void **state)
{
    (void)state;
    char file[64];
    snprintf(file, sizeof(file), "/tmp/rtauth-test-metrics-cfg-%d", (int)getpid());
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f, "metrics_token_file = /from/file\n");
    fclose(f);
    rta_config c;
    rta_error err;
    char *argv1[] = {"rtauthd", "--config", file, NULL};
    rta_config_defaults(&c);
    assert_int_equal(c.metrics_token_file[0], '\0');
    assert_int_equal(rta_config_load(&c, 3, argv1, &err), 0);
    assert_string_equal(c.metrics_token_file, "/from/file");
    setenv("RTAUTHD_METRICS_TOKEN_FILE", "/from/env", 1);
    rta_config_defaults(&c);
    assert_int_equal(rta_config_load(&c, 3, argv1, &err), 0);
    assert_string_equal(c.metrics_token_file, "/from/env");
    char *argv2[] = {"rtauthd", "--config", file, "--metrics-token-file", "/from/flag", NULL};
    rta_config_defaults(&c);
    assert_int_equal(rta_config_load(&c, 5, argv2, &err), 0);
    assert_string_equal(c.metrics_token_file, "/from/flag");
    unsetenv("RTAUTHD_METRICS_TOKEN_FILE");
    unlink(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(families_and_samples),
        cmocka_unit_test(bounded_labels),
        cmocka_unit_test(access_rules),
        cmocka_unit_test(token_file_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
