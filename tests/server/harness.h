/* harness.h: start and stop a real rtauthd for black-box tests, and talk HTTP to it. */
#ifndef RTA_TEST_HARNESS_H
#define RTA_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct rta_test_server {
    pid_t pid;
    int port;
    char data_dir[256];
    char base_url[64];
} rta_test_server;

/* Starts build/rtauthd --sandbox on a free port with data_dir (created if NULL) and waits
 * until GET /time answers. extra_args: NULL-terminated, may be NULL. Returns 0 or -1. */
int rta_test_server_start(rta_test_server *s, const char *data_dir, const char *const *extra_args);
/* Starts it without waiting (e.g. for a TLS listener, which plain-HTTP polling can't see). */
int rta_test_server_spawn(rta_test_server *s, const char *data_dir, const char *const *extra_args);
/* Stops s if it runs (SIGTERM), then starts it again on the same port and data dir, so that
 * clients can reconnect to "the same server" after a restart. Returns 0 or -1. */
int rta_test_server_restart(rta_test_server *s, const char *const *extra_args);
/* SIGTERM and wait (clean shutdown). Returns the exit status. */
int rta_test_server_stop(rta_test_server *s);
/* SIGKILL and wait. */
void rta_test_server_kill(rta_test_server *s);
/* Removes the data dir. */
void rta_test_server_cleanup(rta_test_server *s);

typedef struct rta_test_response {
    long status;
    char *body; /* NUL-terminated */
    size_t body_len;
    char content_type[128];
    int error_code; /* x-ably-errorcode header, 0 if none */
    char error_message[256];
} rta_test_response;

/* One HTTP request. headers: NULL-terminated "Name: value" strings, may be NULL. body may be
 * NULL (GET/DELETE). Returns 0 or -1 (transport failure). */
int rta_test_http(const rta_test_server *s, const char *method, const char *path,
                  const char *const *headers, const void *body, size_t body_len,
                  rta_test_response *out);
void rta_test_response_free(rta_test_response *r);

/* POST /apps with a JSON body; fills key strings "keyName:secret" (up to max) and app id. */
int rta_test_create_app(const rta_test_server *s, const char *body_json, char keys[][256],
                        size_t max, char app_id[64]);

/* "Authorization: Basic <base64(key)>" into out. */
void rta_test_basic_header(const char *key, char *out, size_t size);
/* "Authorization: Bearer <base64(token)>" into out (as ably-js sends it). */
void rta_test_bearer_header(const char *token, char *out, size_t size);

long long rta_test_now_ms(void);

#endif
