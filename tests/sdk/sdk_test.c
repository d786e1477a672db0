/* sdk_test.c: see sdk_test.h. */
#include "sdk_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rta_test_server sdk_server;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[256];
static int secret_count;
static int log_lines;

int sdk_setup(void **state)
{
    (void)state;
    return rta_test_server_start(&sdk_server, NULL, NULL);
}

int sdk_teardown(void **state)
{
    (void)state;
    int rc = rta_test_server_stop(&sdk_server);
    rta_test_server_cleanup(&sdk_server);
    pthread_mutex_lock(&mu);
    for (int i = 0; i < secret_count; i++)
        free(secrets[i]);
    secret_count = 0;
    pthread_mutex_unlock(&mu);
    return rc;
}

void sdk_add_secret(const char *s)
{
    pthread_mutex_lock(&mu);
    if (secret_count < 256) secrets[secret_count++] = strdup(s);
    pthread_mutex_unlock(&mu);
}

int sdk_log_lines(void)
{
    pthread_mutex_lock(&mu);
    int n = log_lines;
    pthread_mutex_unlock(&mu);
    return n;
}

void sdk_new_app(char keys[][256])
{
    assert_int_equal(
        rta_test_create_app(&sdk_server,
                            "{\"keys\":[{},{\"revocableTokens\":true},{\"capability\":"
                            "\"{\\\"chan\\\":[\\\"publish\\\",\\\"subscribe\\\"]}\"}]}",
                            keys, 3, NULL),
        0);
    for (int i = 0; i < 3; i++) {
        sdk_add_secret(strchr(keys[i], ':') + 1); /* the secret alone */
    }
}

/* Fails the test (abort: this may run on any thread) when a secret shows up in a log line. */
static void check_log(rta_client_log_level level, const char *message, void *data)
{
    (void)level, (void)data;
    pthread_mutex_lock(&mu);
    log_lines++;
    for (int i = 0; i < secret_count; i++)
        if (strstr(message, secrets[i])) {
            fprintf(stderr, "SECRET IN LOG LINE: %s\n", message);
            abort();
        }
    pthread_mutex_unlock(&mu);
    if (getenv("RTA_SDK_TEST_LOG")) fprintf(stderr, "log: %s\n", message);
}

void sdk_options(rta_client_options *o)
{
    rta_client_options_init(o);
    o->endpoint = "127.0.0.1";
    o->port = sdk_server.port;
    o->tls = 0;
    o->log_level = RTA_CLIENT_LOG_DEBUG;
    o->log_handler = check_log;
    o->timeouts.auth_request_ms = 3000;
}

rta_rest *sdk_rest(const rta_client_options *o)
{
    rta_rest *r = NULL;
    rta_error err = {0};
    int rc = rta_rest_create(o, &r, &err);
    if (rc) fprintf(stderr, "rta_rest_create: %d %s\n", rc, err.message);
    assert_int_equal(rc, 0);
    assert_non_null(r);
    return r;
}

void sdk_key_name(const char *key, char out[256])
{
    snprintf(out, 256, "%.*s", (int)(strchr(key, ':') - key), key);
}

int sdk_probe_token(const char *key_name, const char *token)
{
    char auth[8192], path[512];
    rta_test_bearer_header(token, auth, sizeof(auth));
    snprintf(path, sizeof(path), "/keys/%s/revokeTokens", key_name);
    const char *hdrs[] = {"Content-Type: application/json", "Accept: application/json", auth, NULL};
    const char *body = "{\"targets\":[\"clientId:nobody-probe\"]}";
    rta_test_response r;
    assert_int_equal(rta_test_http(&sdk_server, "POST", path, hdrs, body, strlen(body), &r), 0);
    int code = r.error_code;
    rta_test_response_free(&r);
    return code;
}

long long sdk_now_ms(void)
{
    return rta_test_now_ms();
}
