/* auth.c: the Auth object's state machine: method selection (RSA1-RSA4, RSA14, RSC1), clientId
 * (RSA7, RSA12, RSA15), the token in use and its renewal (RSA4b, RSA16), authorize (RSA10),
 * and the credentials every authenticated request carries (RSA3b, RSA7e2, RSA11).
 * Obtaining a token is in auth_token.c; the public blocking and _async wrappers in auth_api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_internal.h"
#include "core/base64.h"

struct rta__interned {
    rta__interned *next;
    char s[];
};

/* Returns a copy of s that lives as long as the auth object, so rta_auth_client_id() can
 * hand out a pointer that another thread's renewal will not free. Called with mu held. */
static const char *intern(rta_auth *a, const char *s)
{
    if (!s) return NULL;
    for (rta__interned *i = a->interned; i; i = i->next)
        if (!strcmp(i->s, s)) return i->s;
    size_t n = strlen(s) + 1;
    rta__interned *i = malloc(sizeof(*i) + n);
    if (!i) return a->client_id; /* keep the old value rather than fail a renewal */
    memcpy(i->s, s, n);
    i->next = a->interned;
    a->interned = i;
    return i->s;
}

/* RSA15a, RSA15b: a token clientId conflicts with ours when both are known, neither is the
 * wildcard, and they differ. RSA15c: status 403, as ably-js, "to trigger a permanently failed
 * client": a realtime client's connection goes FAILED with it (RTC8a2). Called with mu held. */
static int client_id_check(rta_auth *a, const char *token_client_id, rta_error *err)
{
    const char *ours = a->client_id;
    if (ours && strcmp(ours, "*") && token_client_id && strcmp(token_client_id, "*") &&
        strcmp(ours, token_client_id))
        return rta_error_set_status(err, RTA_ERR_INCOMPATIBLE_CREDENTIALS, 403,
                             "Mismatch between clientId in token (%s) and current clientId (%s)",
                             token_client_id, ours);
    return 0;
}

/* Adopts d (taken over, not copied) as the token in use. Called with mu held, after
 * client_id_check. */
static void adopt_token(rta_auth *a, rta_token_details *d)
{
    rta_token_details_clear(&a->token);
    a->token = *d;
    memset(d, 0, sizeof(*d));
    a->token_gen++;
    /* RSA7b: a configured clientId stays; otherwise the token's, "*" included (RSA7b4). */
    if (!a->configured_client_id) a->client_id = intern(a, a->token.client_id);
}

static char *make_header(const char *prefix, const char *value)
{
    rta_buf b = RTA_BUF_INIT;
    rta_buf_puts(&b, prefix);
    rta_base64_encode(&b, value, strlen(value), RTA_BASE64_STD);
    return rta_buf_detach(&b, NULL);
}

int rta__auth_init(rta_auth *a, rta__client *c, const rta_client_options *o, rta_error *err)
{
    memset(a, 0, sizeof(*a));
    a->client = c;
    int rc;
    if (o->client_id && (!*o->client_id || !strcmp(o->client_id, "*"))) /* RSA7c */
        return rta_error_set(err, RTA_ERR_INVALID_CLIENT_ID,
                             "clientId must be a non-empty string other than \"*\"");
    if ((rc = rta__auth_opts_import(&o->auth, &a->opts, err))) return rc;
    rta__auth_opts *ao = &a->opts;
    int has_token = ao->token || ao->token_details.token;
    /* RSA4: token auth when forced, or (unless forced off) when anything but a key is given. */
    if (ao->use_token_auth == 1)
        a->token_mode = 1;
    else if (ao->use_token_auth == 0)
        a->token_mode = 0;
    else
        a->token_mode = has_token || ao->callback || ao->auth_url;
    if (a->token_mode ? !has_token && !rta__auth_opts_can_renew(ao) : !ao->key) {
        rta__auth_opts_clear(ao);
        return rta_error_set(err, RTA_ERR_NO_AUTH_METHOD,
                             a->token_mode
                                 ? "Token auth needs a token, tokenDetails, authCallback, "
                                   "authUrl or key (RSA14)"
                                 : "No key for Basic auth, and nothing to obtain a "
                                   "token with (RSC1b)");
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    rta_token_params dp = o->default_token_params;
    dp.timestamp = 0;                           /* never a default (TK2d) */
    if (o->client_id) dp.client_id = o->client_id; /* RSA7a4: beats defaultTokenParams' */
    if (rta_token_params_copy(&dp, &a->params)) goto oom;
    if (o->client_id) {
        if (!(a->configured_client_id = strdup(o->client_id)) ||
            !(a->client_id_header = make_header("X-Ably-ClientId: ", o->client_id)))
            goto oom;
        a->client_id = intern(a, o->client_id);
    }
    if (ao->key && !(a->basic_header = make_header("Authorization: Basic ", ao->key))) goto oom;
    if (has_token && a->token_mode) { /* RSA16b, RSA16c; RSA16d: none under Basic */
        rta_token_details d = {0};
        if (ao->token_details.token ? rta_token_details_copy(&ao->token_details, &d)
                                    : !(d.token = strdup(ao->token)))
            goto oom;
        if ((rc = client_id_check(a, d.client_id, err))) {
            rta_token_details_clear(&d);
            rta__auth_release(a);
            return rc;
        }
        adopt_token(a, &d);
        if (!rta__auth_opts_can_renew(ao)) /* RSA4a1 */
            rta__log(c, RTA_CLIENT_LOG_INFO,
                     "Token given without a key, authCallback or authUrl: it cannot be renewed "
                     "when it expires (40171, https://help.ably.io/error/40171)");
    }
    rta__log(c, RTA_CLIENT_LOG_DEBUG, "auth: %s%s%s", a->token_mode ? "token auth" : "Basic auth",
             ao->key ? " with key " : "", ao->key ? ao->parsed_key.key_name : "");
    return 0;
oom:
    rta__auth_release(a);
    return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
}

void rta__auth_release(rta_auth *a)
{
    if (!a->client) return;
    rta__auth_opts_clear(&a->opts);
    rta_token_params_clear(&a->params);
    rta_token_details_clear(&a->token);
    free(a->configured_client_id);
    free(a->client_id_header);
    if (a->basic_header) memset(a->basic_header, 0, strlen(a->basic_header));
    free(a->basic_header);
    rta_token_signer_free(a->signer);
    if (a->signer_key) memset(a->signer_key, 0, strlen(a->signer_key));
    free(a->signer_key);
    for (rta__interned *i = a->interned, *next; i; i = next) {
        next = i->next;
        free(i);
    }
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
    memset(a, 0, sizeof(*a));
}

/* ---- the token in use ------------------------------------------------------------------- */

/* RSA4b1: a token known to have expired by the server's clock (only when the offset is known,
 * never by the raw local clock). */
static int locally_expired(rta_auth *a)
{
    int64_t now;
    return a->token.expires && rta__client_server_now(a->client, &now) && a->token.expires <= now;
}

/* Ends an attempt to obtain the client's token; wakes the threads waiting for it. mu held. */
static void end_renewal(rta_auth *a, int rc, const rta_error *e)
{
    a->renewing = 0;
    a->renew_seq++;
    a->renew_rc = rc;
    if (rc && e) a->renew_err = *e;
    pthread_cond_broadcast(&a->cv);
}

/* Obtains the client's token with params/opts (owned by the caller) and adopts it; with
 * use_given, a token in opts is adopted as is (RSA10e: only one passed to this authorize, never
 * the stored one, which may be the very token being replaced). Called with mu held and renewing
 * set by the caller; returns with mu held and renewing cleared. */
static int renew_locked(rta_auth *a, rta_token_params *params, rta__auth_opts *opts, int use_given,
                        rta_error *err)
{
    rta_token_details d;
    rta_error e = {0};
    pthread_mutex_unlock(&a->mu);
    int rc;
    if (use_given && (opts->token || opts->token_details.token)) {
        memset(&d, 0, sizeof(d));
        rc = opts->token_details.token         ? rta_token_details_copy(&opts->token_details, &d)
             : (d.token = strdup(opts->token)) ? 0
                                               : RTA_ERR_INTERNAL;
        if (rc) rta_error_set(&e, rc, NULL);
    } else {
        rc = rta__obtain_token(a, params, opts, &d, &e);
    }
    /* Logged before taking the lock: the log handler may call rta_auth_client_id(). */
    if (rc)
        rta__log(a->client, RTA_CLIENT_LOG_WARN, "auth: could not obtain a token: %d %s", rc,
                 e.message);
    else
        rta__log(a->client, RTA_CLIENT_LOG_DEBUG, "auth: new token (clientId %s, expires %lld)",
                 d.client_id ? d.client_id : "none", (long long)d.expires);
    pthread_mutex_lock(&a->mu);
    if (!rc && (rc = client_id_check(a, d.client_id, &e))) rta_token_details_clear(&d);
    if (!rc) adopt_token(a, &d);
    end_renewal(a, rc, &e);
    if (rc && err) *err = e;
    return rc;
}

/* Copies of the stored params and options for one renewal. mu held. */
static int snapshot(rta_auth *a, rta_token_params *p, rta__auth_opts *o, rta_error *err)
{
    if (rta_token_params_copy(&a->params, p) || rta__auth_opts_copy(&a->opts, o)) {
        rta_token_params_clear(p);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    return 0;
}

/* A usable token for a request: the current one, or a new one (RSA4b). mu held. */
static int current_token(rta_auth *a, uint64_t stale_gen, char **token, uint64_t *gen,
                         rta_error *err)
{
    /* RSA4b1 applies to the token we found, not to one just obtained: a token source that
     * hands out tokens already past their expiry must not make us loop; the server judges. */
    int check_expiry = 1;
    for (;;) {
        if (a->token.token && (a->token_gen == stale_gen || (check_expiry && locally_expired(a)))) {
            rta_token_details_clear(&a->token); /* RSA16d */
            a->token_gen++;
        }
        if (a->token.token) {
            *gen = a->token_gen;
            *token = strdup(a->token.token);
            return *token ? 0 : rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        }
        if (a->renewing) { /* share the token request already in flight */
            uint64_t seq = a->renew_seq;
            while (a->renewing && a->renew_seq == seq)
                pthread_cond_wait(&a->cv, &a->mu);
            if (a->renew_rc && !a->token.token) {
                if (err) *err = a->renew_err;
                return a->renew_rc;
            }
            check_expiry = 0;
            continue;
        }
        if (!rta__auth_opts_can_renew(&a->opts)) /* RSA4a2 */
            return rta_error_set_status(err, RTA_ERR_NO_RENEWAL, 403,
                                        "Need a new token, but there is no key, authCallback "
                                        "or authUrl to obtain one");
        rta_token_params p;
        rta__auth_opts o;
        int rc = snapshot(a, &p, &o, err);
        if (rc) return rc;
        a->renewing = 1;
        rc = renew_locked(a, &p, &o, 0, err);
        rta_token_params_clear(&p);
        rta__auth_opts_clear(&o);
        if (rc) return rc;
        check_expiry = 0;
    }
}

int rta__auth_add_credentials(rta_auth *a, uint64_t stale_gen, rta__headers *h, uint64_t *gen,
                              rta_error *err)
{
    pthread_mutex_lock(&a->mu);
    *gen = 0;
    if (!a->token_mode) {
        pthread_mutex_unlock(&a->mu);
        /* RSA1, RSC18: Basic sends the secret, only over TLS (or to a loopback rtauthd). */
        if (!a->client->tls && !a->client->loopback)
            return rta_error_set(err, RTA_ERR_BASIC_OVER_NON_TLS, NULL);
        rta__headers_add(h, "%s", a->basic_header); /* immutable: no lock needed */
    } else {
        char *token = NULL;
        int rc = current_token(a, stale_gen, &token, gen, err);
        pthread_mutex_unlock(&a->mu);
        if (rc) return rc;
        char *line = make_header("Authorization: Bearer ", token); /* RSA3b: base64 */
        memset(token, 0, strlen(token));
        free(token);
        if (line) rta__headers_add(h, "%s", line);
        if (line) memset(line, 0, strlen(line));
        free(line);
        if (!line) h->oom = 1;
    }
    if (a->client_id_header) rta__headers_add(h, "%s", a->client_id_header); /* RSA7e2 */
    return h->oom ? rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory") : 0;
}

int rta__auth_token_rejected(rta_auth *a, uint64_t gen)
{
    pthread_mutex_lock(&a->mu);
    if (a->token.token && a->token_gen == gen) { /* RSA16d */
        rta_token_details_clear(&a->token);
        a->token_gen++;
    }
    int can = rta__auth_opts_can_renew(&a->opts);
    pthread_mutex_unlock(&a->mu);
    return can;
}

/* ---- the realtime connection's credentials ----------------------------------------------- */

int rta__auth_peek_token(rta_auth *a, char **token, uint64_t *gen)
{
    *token = NULL;
    *gen = 0;
    pthread_mutex_lock(&a->mu);
    int rc = 0;
    if (a->token_mode) {
        rc = 2;
        if (a->token.token && !locally_expired(a) && (*token = strdup(a->token.token))) {
            *gen = a->token_gen;
            rc = 1;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int rta__auth_connection_token(rta_auth *a, uint64_t stale_gen, char **token, uint64_t *gen,
                               rta_error *err)
{
    *token = NULL;
    *gen = 0;
    pthread_mutex_lock(&a->mu);
    int rc = a->token_mode ? current_token(a, stale_gen, token, gen, err) : 0;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int rta__auth_connection_client_id(rta_auth *a, const char *client_id, rta_error *err)
{
    pthread_mutex_lock(&a->mu);
    int rc = client_id_check(a, client_id, err);
    if (!rc && client_id && !a->configured_client_id) a->client_id = intern(a, client_id);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

int rta__auth_token_mode(rta_auth *a)
{
    pthread_mutex_lock(&a->mu);
    int m = a->token_mode;
    pthread_mutex_unlock(&a->mu);
    return m;
}

/* ---- authorize (RSA10) -------------------------------------------------------------------- */

int rta__auth_authorize(rta_auth *a, const rta_token_params *params, const rta__auth_opts *opts,
                        rta_token_details *out, rta_error *err)
{
    if (out) memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&a->mu);
    if (opts && opts->key && (!a->opts.key || strcmp(opts->key, a->opts.key))) {
        pthread_mutex_unlock(&a->mu);
        return rta_error_set(err, RTA_ERR_INCOMPATIBLE_CREDENTIALS,
                             "authorize called with a key that does not match the client's key");
    }
    if (!params && !opts && a->authorizing) {
        /* RTC8, wire doc 3.3: concurrent authorize() calls share the one in flight. */
        uint64_t seq = a->authorize_seq;
        while (a->authorize_seq == seq)
            pthread_cond_wait(&a->cv, &a->mu);
        int shared = a->authorize_rc;
        if (shared && err) *err = a->authorize_err;
        if (!shared && out && a->token.token && rta_token_details_copy(&a->token, out))
            shared = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        pthread_mutex_unlock(&a->mu);
        return shared;
    }
    while (a->renewing) /* one token request at a time for the client's own token */
        pthread_cond_wait(&a->cv, &a->mu);
    rta_token_params p = {0}, stored_p = {0};
    rta__auth_opts o = {0}, stored_o = {0};
    int oom = 0;
    /* RSA10g: what was passed becomes the default, minus timestamp and queryTime; this call
     * itself still uses them. */
    if (params) {
        oom |= rta_token_params_copy(params, &p) | rta_token_params_copy(params, &stored_p);
        stored_p.timestamp = 0;
    } else {
        oom |= rta_token_params_copy(&a->params, &p);
    }
    if (opts) {
        oom |= rta__auth_opts_copy(opts, &o) | rta__auth_opts_copy(opts, &stored_o);
        stored_o.query_time = 0;
    } else {
        oom |= rta__auth_opts_copy(&a->opts, &o);
    }
    /* RSA10h, RSA7d: the current clientId when the params name none. */
    if (!p.client_id && a->client_id && !(p.client_id = strdup(a->client_id))) oom = 1;
    if (oom) {
        pthread_mutex_unlock(&a->mu);
        rta_token_params_clear(&p), rta_token_params_clear(&stored_p);
        rta__auth_opts_clear(&o), rta__auth_opts_clear(&stored_o);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    if (params) {
        rta_token_params_clear(&a->params);
        a->params = stored_p;
    }
    if (opts) {
        rta__auth_opts_clear(&a->opts);
        a->opts = stored_o;
    }
    a->token_mode = 1;    /* RSA10a: token auth from now on */
    if (a->token.token) { /* always a new token, even if this one is valid */
        rta_token_details_clear(&a->token);
        a->token_gen++;
    }
    a->renewing = 1;
    a->authorizing = 1;
    rta_error e = {0};
    int rc = renew_locked(a, &p, &o, opts != NULL, &e);
    a->authorizing = 0;
    a->authorize_seq++;
    a->authorize_rc = rc;
    a->authorize_err = e;
    pthread_cond_broadcast(&a->cv);
    if (rc && err) *err = e;
    if (!rc && out && rta_token_details_copy(&a->token, out))
        rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    pthread_mutex_unlock(&a->mu);
    rta_token_params_clear(&p);
    rta__auth_opts_clear(&o);
    return rc;
}

/* ---- requestToken and createTokenRequest with stored defaults ---------------------------- */

int rta__auth_request_token(rta_auth *a, const rta_token_params *params, const rta__auth_opts *opts,
                            rta_token_details *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    rta_token_params p = {0};
    rta__auth_opts o = {0};
    pthread_mutex_lock(&a->mu);
    int oom = rta_token_params_copy(params ? params : &a->params, &p);
    if (!opts) oom |= rta__auth_opts_copy(&a->opts, &o);
    pthread_mutex_unlock(&a->mu);
    /* RSA7d: the configured clientId when the params name none. */
    if (!p.client_id && a->configured_client_id && !(p.client_id = strdup(a->configured_client_id)))
        oom = 1;
    int rc = oom ? rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory")
                 : rta__obtain_token(a, &p, opts ? opts : &o, out, err);
    rta_token_params_clear(&p);
    rta__auth_opts_clear(&o);
    return rc;
}

int rta__auth_create_token_request(rta_auth *a, const rta_token_params *params,
                                   const rta__auth_opts *opts, rta_token_request *out,
                                   rta_error *err)
{
    return rta__sign_token_request(a, params, opts, out, err); /* NULLs: the stored ones */
}
