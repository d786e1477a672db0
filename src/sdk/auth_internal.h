/* auth_internal.h: the Auth object's state, and the internal entry points the auth_*.c files
 * and the REST client share. Nothing here is public.
 *
 * Locking: `mu` guards every mutable field of rta_auth. It is held only for short reads and
 * writes, never across network I/O or a user callback; the one long operation, obtaining a
 * token for the client's own use, is serialised by the `renewing` flag and `cv` instead, so
 * concurrent requests that all need a token share one token request (as ably-js does).
 */
#ifndef RTA_SDK_AUTH_INTERNAL_H
#define RTA_SDK_AUTH_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "client.h"
#include "core/key.h"
#include "core/token_codec.h" /* rta_revoke_request */
#include "core/token_signer.h"
#include "rtauth/auth.h"

#define RTA__MAX_TOKEN_LEN (128 * 1024) /* RSA4f */

/* AuthOptions as the library keeps them: every string owned, the key parsed. */
typedef struct rta__auth_opts {
    char *key;          /* the full key text, NULL when none (compared by authorize, 40102) */
    rta_key parsed_key; /* valid when key != NULL; wiped on clear */
    char *token;
    rta_token_details token_details; /* token_details.token != NULL when given */
    char *auth_url;
    rta_auth_method auth_method;
    rta_name_value *headers; /* owned name and value strings */
    size_t header_count;
    rta_name_value *params;
    size_t param_count;
    rta_auth_callback callback;
    void *callback_data;
    int query_time;
    int use_token_auth; /* RTA_UNSET, 0, 1 */
} rta__auth_opts;

/* Copies and validates public options (key syntax 40005, auth_url scheme and header
 * characters 40003). *dst is empty on failure. */
int rta__auth_opts_import(const rta_auth_options *src, rta__auth_opts *dst, rta_error *err);
int rta__auth_opts_copy(const rta__auth_opts *src, rta__auth_opts *dst); /* 0 or 50000 */
void rta__auth_opts_clear(rta__auth_opts *o);
/* A way to obtain new tokens: authCallback, authUrl or a key (RSA4a). */
int rta__auth_opts_can_renew(const rta__auth_opts *o);

typedef struct rta__interned rta__interned;

struct rta_auth {
    rta__client *client;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int token_mode;             /* 0 Basic, 1 token (RSA1-RSA4, RSA10a) */
    rta__auth_opts opts;        /* stored AuthOptions (RSA8e, RSA10g) */
    rta_token_params params;    /* stored TokenParams (defaultTokenParams, RSA10g) */
    char *configured_client_id; /* ClientOptions.clientId (RSC17), immutable */
    char *client_id_header;     /* "X-Ably-ClientId: base64" or NULL (RSA7e2), immutable */
    char *basic_header;         /* "Authorization: Basic ..." for the client's key, or NULL */
    const char *client_id;      /* auth.clientId now, interned (RSA7b) */
    rta__interned *interned;    /* every clientId string ever reported */
    rta_token_details token;    /* in use; token.token NULL when none (RSA16) */
    uint64_t token_gen;         /* bumped whenever token changes */
    int renewing;               /* a thread is obtaining the client's token */
    uint64_t renew_seq;         /* bumped when such an attempt ends */
    int renew_rc;               /* ... and its outcome, for the threads that waited */
    rta_error renew_err;
    rta_token_signer *signer; /* for signer_key: applications sign with one key */
    char *signer_key;
    /* authorize() calls in flight share one token request (RTC8, wire doc 3.3). */
    int authorizing;
    uint64_t authorize_seq;
    int authorize_rc;
    rta_error authorize_err;
    /* Set by a realtime client: after a successful public authorize, apply the new token to
     * the live connection (RTC8); called with no lock held, on the caller's thread. */
    int (*rt_hook)(void *ctx, rta_error *err);
    /* Set by a realtime client: a public authorize failed with a 403 (RSA4d, RSA15c: 40102
     * included), which fails the connection (RTC8a2); returns once it is failed. Same thread
     * and locking as rt_hook. */
    void (*rt_fail_hook)(void *ctx, const rta_error *why);
    void *rt_hook_ctx;
};

int rta__auth_init(rta_auth *a, rta__client *c, const rta_client_options *o, rta_error *err);
void rta__auth_release(rta_auth *a);

/* RSA4d: the token source said forbidden: a 403, or a 40170 whose cause (the authCallback's
 * error, the authUrl's reply) is a 403. */
static inline int rta__auth_forbidden(const rta_error *e)
{
    return e->status_code == 403 ||
           (e->code == RTA_ERR_AUTH_CALLBACK && e->cause_status_code == 403);
}

/* RSA4c1, RSA4d: the connection's 80019 for a failed token request e, with status (401, or
 * 403 to fail the connection) and as its cause the underlying error: the authCallback's or
 * authUrl's own failure inside a 40170, else e itself. */
static inline void rta__auth_connection_error(rta_error *out, const rta_error *e, int status)
{
    rta_error_set_status(out, RTA_ERR_TOKEN_REQUEST_FAILED, status,
                         status == 403 ? "Client configured authentication provider returned "
                                         "403; failing the connection"
                                       : "Client configured authentication provider request "
                                         "failed");
    if (e->code == RTA_ERR_AUTH_CALLBACK && e->cause_code) {
        out->cause_code = e->cause_code;
        out->cause_status_code = e->cause_status_code;
        memcpy(out->cause_message, e->cause_message, sizeof(out->cause_message));
    } else {
        rta_error_set_cause(out, e);
    }
}

/* The Auth API with internal option types. A NULL params/opts means the stored ones. */
int rta__auth_request_token(rta_auth *a, const rta_token_params *params, const rta__auth_opts *opts,
                            rta_token_details *out, rta_error *err);
int rta__auth_create_token_request(rta_auth *a, const rta_token_params *params,
                                   const rta__auth_opts *opts, rta_token_request *out,
                                   rta_error *err);
int rta__auth_authorize(rta_auth *a, const rta_token_params *params, const rta__auth_opts *opts,
                        rta_token_details *out, rta_error *err);
int rta__auth_revoke_tokens(rta_auth *a, const rta_revoke_request *req, rta_revocation_batch *out,
                            rta_error *err);

/* For authenticated requests (RSC9, RSA4b): adds Authorization (and X-Ably-ClientId) to h.
 * Under token auth, obtains a token first when there is none, or when the one the server
 * rejected (generation stale_gen, 0 for none) is still the current one. *gen is the generation
 * used (0 under Basic). Errors: 40103 Basic over non-TLS (RSA1), 40171 no means to renew, or
 * the token request's error. */
int rta__auth_add_credentials(rta_auth *a, uint64_t stale_gen, rta__headers *h, uint64_t *gen,
                              rta_error *err);
/* The server rejected token generation gen with a token error: forget it (RSA16d). Returns 1
 * when the client can obtain a new one (RSA4b), 0 when it cannot (RSA4a2: 40171). */
int rta__auth_token_rejected(rta_auth *a, uint64_t gen);

/* ---- for the realtime connection ------------------------------------------------------- */

/* The credential for a connection attempt without blocking: returns 0 under Basic (*token
 * NULL), 1 with a copy of the current token in *token (caller wipes and frees) and its
 * generation in *gen, 2 when a token must be obtained first. */
int rta__auth_peek_token(rta_auth *a, char **token, uint64_t *gen);
/* Blocking: the current token, or a new one when there is none or generation stale_gen was
 * rejected (shares any token request in flight). Under Basic returns 0 with *token NULL. */
int rta__auth_connection_token(rta_auth *a, uint64_t stale_gen, char **token, uint64_t *gen,
                               rta_error *err);
/* CONNECTED's connectionDetails.clientId (RSA7, RSA12): 40102 when incompatible with
 * auth.clientId, else adopted as auth.clientId when none was configured. */
int rta__auth_connection_client_id(rta_auth *a, const char *client_id, rta_error *err);
/* 1 when the client uses token auth. */
int rta__auth_token_mode(rta_auth *a);

/* ---- obtaining tokens (auth_token.c) ------------------------------------------------------ */

/* What an authCallback or authUrl produced, before it is turned into TokenDetails. */
typedef enum {
    RTA__VAL_NONE = 0,
    RTA__VAL_TOKEN,   /* text: a token string (NULL when the callback passed NULL) */
    RTA__VAL_DETAILS, /* details */
    RTA__VAL_REQUEST, /* request */
    RTA__VAL_JSON,    /* text: JSON to classify (D.3) */
    RTA__VAL_ERROR,   /* error_code, error_message */
} rta__val_kind;

typedef struct rta__auth_value {
    rta__val_kind kind;
    char *text;
    int jwt_content_type; /* authUrl said application/jwt: '{' is allowed (JS) */
    rta_token_details details;
    rta_token_request request;
    int error_code;
    char *error_message;
} rta__auth_value;

void rta__auth_value_clear(rta__auth_value *v);

/* RSA8 with resolved (non-NULL) params and options. */
int rta__obtain_token(rta_auth *a, const rta_token_params *params, const rta__auth_opts *opts,
                      rta_token_details *out, rta_error *err);
/* RSA9; a NULL params or opts means the stored ones. */
int rta__sign_token_request(rta_auth *a, const rta_token_params *params, const rta__auth_opts *opts,
                            rta_token_request *out, rta_error *err);

/* ---- authUrl (auth_url.c) ---------------------------------------------------------------- */

/* Requests the authUrl (RSA8c) and classifies the reply by Content-Type into a token string or
 * JSON text. Failures are 40170 with the cause (RSA4e, RSA4f). */
int rta__authurl_fetch(rta_auth *a, const rta__auth_opts *opts, const rta_token_params *params,
                       rta__auth_value *out, rta_error *err);

/* ---- the authCallback's result object (auth_result.c) ------------------------------------ */

rta_auth_result *rta__auth_result_new(void);
/* Waits until timeout_ms after r was created (just before the callback was invoked) for the
 * callback to complete r; moves the value into *out and returns 0, or returns 1 on timeout
 * (the callback runs on its own thread, so the deadline holds whatever it does). */
int rta__auth_result_wait(rta_auth_result *r, int64_t timeout_ms, rta__auth_value *out);
/* Drops the library's reference (the callback holds the other until it completes r). */
void rta__auth_result_release(rta_auth_result *r);

#endif
