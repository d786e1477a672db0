/* sdk_test.h: what the SDK tests share: one rtauthd per test binary, fresh apps, client
 * options pointing at it, a log handler that fails the test if a secret ever reaches a log
 * line, and a probe that asks rtauthd whether a token is accepted. */
#ifndef RTA_TEST_SDK_TEST_H
#define RTA_TEST_SDK_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "rtauth/rtauth.h"

extern rta_test_server sdk_server;

/* cmocka group setup/teardown: start and stop rtauthd. */
int sdk_setup(void **state);
int sdk_teardown(void **state);

/* A fresh app: keys[0] {"*":["*"]}, keys[1] revocable tokens, keys[2] {"chan":[publish,subscribe]}.
 * Each key string is registered as a secret the log handler must never see. */
void sdk_new_app(char keys[][256]);

/* Options for rtauthd on loopback without TLS, logging at debug level into the secret check. */
void sdk_options(rta_client_options *o);
/* rta_rest_create that must succeed. */
rta_rest *sdk_rest(const rta_client_options *o);

/* Registers a string (a token, a MAC) that must never appear in a log line. */
void sdk_add_secret(const char *s);
/* Number of log lines seen so far. */
int sdk_log_lines(void);

/* The key name of "keyName:secret". */
void sdk_key_name(const char *key, char out[256]);
/* Asks rtauthd whether token is accepted: POST revokeTokens with Bearer token answers 40162
 * (needs Basic) for a valid token, a 4014x token error otherwise. Returns that code. */
int sdk_probe_token(const char *key_name, const char *token);

long long sdk_now_ms(void);

#endif
