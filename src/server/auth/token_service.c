/* auth/token_service.c: the auth rules of rtauthd; see auth/token_service.h. No I/O, no logging of
 * secrets: error messages name keys by key name and never quote tokens, MACs or secrets. */
#include "server/auth/token_service.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jwt.h"
#include "core/mac.h"
#include "server/store/store.h"

#define REAUTH_MARGIN_MS 30000 /* allowReauthMargin (S-67, RSA17f) */
#define REVOKE_MAX_AGE_MS 3600000 /* issuedBefore at most an hour ago (S-67) */
#define MIN_NONCE_LEN 16          /* RSA9c */
/* Intersection compares every requested entry with every key entry: bound the product so a
 * key holder cannot make one request cost seconds (two 1000-entry capabilities: ~0.5 s). */
#define MAX_INTERSECT_PAIRS 100000

static int intersect_bounded(const rta_capability *key, const rta_capability *req,
                             rta_capability *out, rta_error *err)
{
    if (key->count * req->count > MAX_INTERSECT_PAIRS)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "Capability has too many resources for this key (%zu x %zu)",
                             req->count, key->count);
    return rta_capability_intersect(key, req, out, err);
}

int rta_basic_allowed(rta_basic_over_http policy, int tls, int loopback)
{
    if (tls) return 1;
    switch (policy) {
    case RTA_BASIC_HTTP_ALWAYS: return 1;
    case RTA_BASIC_HTTP_LOOPBACK: return loopback;
    default: return 0;
    }
}

void rta_token_limits_default(rta_token_limits *l)
{
    l->default_ttl = 3600000;
    l->max_ttl = 86400000;
    l->max_ttl_revocable = 3600000;
    l->timestamp_window = 120000;
    l->max_nonces = 4 * 1000 * 1000;
}

int rta_token_service_init(rta_token_service *ts, rta_registry *registry,
                           const rta_token_limits *limits)
{
    memset(ts, 0, sizeof(*ts));
    if (limits)
        ts->limits = *limits;
    else
        rta_token_limits_default(&ts->limits);
    ts->registry = registry;
    if (rta_nonce_cache_init(&ts->nonces, ts->limits.max_nonces) ||
        rta_revocations_init(&ts->revocations))
        return RTA_ERR_INTERNAL;
    return 0;
}

void rta_token_service_free(rta_token_service *ts)
{
    rta_keyring_clear(&ts->keyring);
    rta_nonce_cache_free(&ts->nonces);
    rta_revocations_free(&ts->revocations);
}

static void wrapper_free(rta_auth_wrapper *w)
{
    if (!w) return;
    free(w->client_id);
    free(w->revocation_key);
    free(w);
}

void rta_auth_context_clear(rta_auth_context *a)
{
    rta_capability_free(&a->capability);
    free(a->client_id);
    free(a->revocation_key);
    wrapper_free(a->wrapper);
    memset(a, 0, sizeof(*a));
}

int rta_auth_context_uses_key(const rta_auth_context *a, const char *key_name)
{
    return !strcmp(a->key_name, key_name) ||
           (a->wrapper && !strcmp(a->wrapper->key_name, key_name));
}

void rta_issued_token_clear(rta_issued_token *t)
{
    rta_token_details_clear(&t->details);
    free(t->nonce);
    memset(t, 0, sizeof(*t));
}

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) out[2 * i] = digits[p[i] >> 4], out[2 * i + 1] = digits[p[i] & 15];
    out[2 * n] = '\0';
}

static void jwt_ref(const char *token, size_t len, char out[40])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, len, digest);
    hex(digest, RTA_TOKEN_ID_LEN, out);
}

static const rta_key_entry *usable_key(rta_token_service *ts, const char *name, size_t len,
                                       int unknown_code, rta_error *err)
{
    const rta_key_entry *k = rta_registry_key(ts->registry, name, len);
    if (!k) {
        rta_error_set(err, unknown_code, "No such key %.*s", (int)(len > 130 ? 130 : len), name);
        return NULL;
    }
    if (!k->enabled) {
        rta_error_set(err, RTA_ERR_KEY_DISABLED, "Key %s is disabled", k->key_name);
        return NULL;
    }
    return k;
}

int rta_token_ref(rta_token_service *ts, const char *token, size_t len, char out[40],
                  char key_name[RTA_KEY_NAME_MAX + 1], int64_t *issued, int64_t *expires,
                  rta_error *err)
{
    if (rta_jwt_looks_like(token, len)) {
        rta_jwt jwt;
        int rc = rta_jwt_parse(token, len, &jwt, err);
        if (rc) return rc;
        snprintf(key_name, RTA_KEY_NAME_MAX + 1, "%s", jwt.kid);
        *issued = jwt.iat * 1000; /* in range: rta_jwt_parse bounds iat and exp */
        *expires = jwt.exp * 1000;
        rta_jwt_clear(&jwt);
        jwt_ref(token, len, out);
        return 0;
    }
    rta_native_token t;
    int rc = rta_native_token_verify(token, len, &ts->keyring, &t, err);
    if (rc) return rc;
    strcpy(key_name, t.key_name);
    *issued = t.issued;
    *expires = t.expires;
    hex(t.token_id, RTA_TOKEN_ID_LEN, out);
    rta_native_token_clear(&t);
    return 0;
}

/* Common tail of every token check: revocation (only tokens of revocable keys, S-69). */
static int check_revoked(rta_token_service *ts, rta_auth_context *a, int64_t now, rta_error *err)
{
    if (rta_token_service_is_revoked(ts, a, now, NULL))
        return rta_error_set(err, RTA_ERR_TOKEN_REVOKED,
                             ts->revocations_unchecked
                                 ? "Revocations cannot be checked on this node (cut off from "
                                   "the cluster's store): connect through another node"
                                 : "Token revoked");
    return 0;
}

/* The wrapping JWT's identity, kept with the inner token's context (see rta_auth_wrapper). */
static int wrap(rta_auth_context *out, const rta_key_entry *k, rta_jwt *jwt, const char *token,
                size_t len, rta_error *err)
{
    rta_auth_wrapper *w = calloc(1, sizeof(*w));
    if (!w) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    strcpy(w->key_name, k->key_name);
    jwt_ref(token, len, w->token_ref);
    w->client_id = jwt->client_id, jwt->client_id = NULL;
    w->revocation_key = jwt->revocation_key, jwt->revocation_key = NULL;
    w->issued = jwt->iat * 1000;
    w->revocable = k->revocable;
    out->wrapper = w;
    return 0;
}

static int verify_native(rta_token_service *ts, const char *token, size_t len, int64_t now,
                         rta_auth_context *out, rta_error *err)
{
    rta_native_token t;
    int rc = rta_native_token_verify(token, len, &ts->keyring, &t, err);
    if (rc) return rc;
    const rta_key_entry *k = usable_key(ts, t.key_name, strlen(t.key_name),
                                        RTA_ERR_TOKEN_UNRECOGNISED, err);
    if (!k) {
        rc = err ? err->code : RTA_ERR_TOKEN_UNRECOGNISED;
    } else if (now >= t.expires) {
        rc = rta_error_set(err, RTA_ERR_TOKEN_EXPIRED, "Token expired");
    } else {
        out->method = RTA_AUTH_TOKEN;
        strcpy(out->key_name, t.key_name);
        strcpy(out->app_id, t.app_id);
        out->client_id = t.client_id; /* moved */
        t.client_id = NULL;
        out->revocable = (t.flags & RTA_TOKEN_FLAG_REVOCABLE) != 0;
        out->issued = t.issued;
        out->expires = t.expires;
        hex(t.token_id, RTA_TOKEN_ID_LEN, out->token_ref);
        rc = rta_capability_parse(t.capability, strlen(t.capability), &out->capability, err);
        if (!rc) rc = check_revoked(ts, out, now, err);
    }
    rta_native_token_clear(&t);
    return rc;
}

static int verify_any(rta_token_service *ts, const char *token, size_t len, int64_t now,
                      int depth, rta_auth_context *out, rta_error *err);

static int verify_jwt(rta_token_service *ts, const char *token, size_t len, int64_t now,
                      int depth, rta_auth_context *out, rta_error *err)
{
    rta_jwt jwt;
    int rc = rta_jwt_parse(token, len, &jwt, err);
    if (rc) return rc;
    const rta_key_entry *k = usable_key(ts, jwt.kid, strlen(jwt.kid), RTA_ERR_NOT_FOUND, err);
    if (!k) {
        rc = err ? err->code : RTA_ERR_NOT_FOUND;
        goto done;
    }
    if ((rc = rta_jwt_verify(&jwt, k->secret, k->secret_len, now, err))) goto done;
    /* iat and exp are within [0, RTA_JWT_MAX_SECONDS] (rta_jwt_parse): no overflow below. The
     * cap also bounds how long a revocation must be remembered (plan_revocation). */
    int64_t max = k->revocable ? ts->limits.max_ttl_revocable : ts->limits.max_ttl;
    if ((jwt.exp - jwt.iat) * 1000 > max) {
        rc = rta_error_set(err, RTA_ERR_INVALID_JWT, "JWT lifetime exceeds %lld ms",
                           (long long)max);
        goto done;
    }
    if (jwt.embedded_token) {
        /* S-37: the inner token decides; the outer JWT may not outlive it. */
        if (depth > 0) {
            rc = rta_error_set(err, RTA_ERR_INVALID_JWT, "Nested embedded tokens");
            goto done;
        }
        rc = verify_any(ts, jwt.embedded_token, strlen(jwt.embedded_token), now, depth + 1, out,
                        err);
        if (!rc && jwt.exp * 1000 > out->expires)
            rc = rta_error_set(err, RTA_ERR_INVALID_JWT,
                               "JWT expires after the token it embeds");
        if (!rc) rc = wrap(out, k, &jwt, token, len, err);
        if (!rc) rc = check_revoked(ts, out, now, err); /* the wrapper may be revoked too */
        goto done;
    }
    out->method = RTA_AUTH_JWT;
    strcpy(out->key_name, k->key_name);
    strcpy(out->app_id, k->app_id);
    out->revocable = k->revocable;
    out->issued = jwt.iat * 1000;
    out->expires = jwt.exp * 1000;
    out->client_id = jwt.client_id, jwt.client_id = NULL;
    out->revocation_key = jwt.revocation_key, jwt.revocation_key = NULL;
    jwt_ref(token, len, out->token_ref);
    if (jwt.capability) {
        /* S-34: the claim, intersected with the key's */
        rta_capability claimed;
        rc = rta_capability_parse(jwt.capability, strlen(jwt.capability), &claimed, err);
        if (rc) {
            rc = rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid x-ably-capability: %s",
                               err ? err->message : "");
        } else {
            rc = intersect_bounded(&k->capability, &claimed, &out->capability, err);
            rta_capability_free(&claimed);
        }
    } else {
        rc = rta_capability_copy(&k->capability, &out->capability);
        if (rc) rta_error_set(err, rc, NULL);
    }
    if (!rc) rc = check_revoked(ts, out, now, err);
done:
    if (rc) rta_auth_context_clear(out);
    rta_jwt_clear(&jwt);
    return rc;
}

static int verify_any(rta_token_service *ts, const char *token, size_t len, int64_t now,
                      int depth, rta_auth_context *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    if (len == 0) return rta_error_set(err, RTA_ERR_INVALID_TOKEN, "Empty token");
    if (rta_jwt_looks_like(token, len)) return verify_jwt(ts, token, len, now, depth, out, err);
    int rc = verify_native(ts, token, len, now, out, err);
    if (rc) rta_auth_context_clear(out);
    return rc;
}

int rta_token_service_verify(rta_token_service *ts, const char *token, size_t len, int64_t now,
                             rta_auth_context *out, rta_error *err)
{
    return verify_any(ts, token, len, now, 0, out, err);
}

int rta_token_service_basic(rta_token_service *ts, const char *key_name, size_t name_len,
                            const char *secret, size_t secret_len, rta_auth_context *out,
                            rta_error *err)
{
    memset(out, 0, sizeof(*out));
    const rta_key_entry *k = rta_registry_key(ts->registry, key_name, name_len);
    /* Compare against something even for an unknown key, so timing does not tell them apart. */
    static const char dummy[RTA_KEY_SECRET_MAX + 1];
    int ok = rta_ct_equal(k ? k->secret : dummy, k ? k->secret_len : sizeof(dummy) - 1, secret,
                          secret_len);
    if (!k || !ok) return rta_error_set(err, RTA_ERR_INVALID_CREDENTIALS, "Invalid credentials");
    if (!k->enabled)
        return rta_error_set(err, RTA_ERR_KEY_DISABLED, "Key %s is disabled", k->key_name);
    out->method = RTA_AUTH_BASIC;
    strcpy(out->key_name, k->key_name);
    strcpy(out->app_id, k->app_id);
    out->revocable = k->revocable;
    int rc = rta_capability_copy(&k->capability, &out->capability);
    return rc ? rta_error_set(err, rc, NULL) : 0;
}

/* Everything common to both requestToken paths once the request is authentic. */
static int issue(rta_token_service *ts, const rta_key_entry *k, const char *capability_text,
                 const char *client_id, int64_t ttl, int64_t now, rta_issued_token *out,
                 rta_error *err)
{
    int64_t max = k->revocable ? ts->limits.max_ttl_revocable : ts->limits.max_ttl;
    if (ttl == 0) ttl = ts->limits.default_ttl;
    if (ttl < 0) return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "ttl must be positive");
    if (ttl > max)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "ttl %lld exceeds the maximum of %lld ms%s", (long long)ttl,
                             (long long)max, k->revocable ? " for keys with revocable tokens" : "");
    if (client_id && !client_id[0])
        return rta_error_set(err, RTA_ERR_INVALID_CLIENT_ID, "clientId can't be an empty string");
    if (client_id && strlen(client_id) > 1024)
        return rta_error_set(err, RTA_ERR_INVALID_CLIENT_ID, "clientId too long");

    rta_capability granted = {0};
    int rc;
    if (capability_text) { /* S-24: requested ∩ key */
        rta_capability requested;
        if ((rc = rta_capability_parse(capability_text, strlen(capability_text), &requested, err)))
            return rc;
        if (rta_capability_is_empty(&requested)) {
            rta_capability_free(&requested);
            return rta_error_set(err, RTA_ERR_BAD_REQUEST, "Capability must not be empty");
        }
        rc = intersect_bounded(&k->capability, &requested, &granted, err);
        rta_capability_free(&requested);
        if (rc) return rc;
    }
    rta_buf cap = RTA_BUF_INIT;
    if (capability_text)
        rta_capability_canonical(&granted, &cap);
    else
        rta_buf_puts(&cap, k->capability_text); /* S-23: the key's, unchanged */
    rta_capability_free(&granted);

    if (now < ts->issue_floor) now = ts->issue_floor; /* after a revocation in this ms */
    rta_native_token t = {.flags = k->revocable ? RTA_TOKEN_FLAG_REVOCABLE : 0,
                          .issued = now,
                          .expires = now + ttl,
                          .client_id = (char *)client_id,
                          .capability = cap.data};
    strcpy(t.key_name, k->key_name);
    rta_buf token = RTA_BUF_INIT;
    rc = rta_random_bytes(t.token_id, sizeof(t.token_id));
    if (!rc) rc = rta_native_token_mint(&t, &ts->keyring, &token);
    if (rc == RTA_ERR_INVALID_PARAMETER)
        rta_error_set(err, rc, "Capability or clientId too large for a token");
    else if (rc)
        rta_error_set(err, rc, NULL);
    if (!rc) {
        rta_token_details *d = &out->details;
        d->token = rta_buf_detach(&token, NULL);
        d->key_name = strdup(k->key_name);
        d->issued = now;
        d->expires = now + ttl; /* TD: expires - issued == ttl exactly */
        d->capability = rta_buf_detach(&cap, NULL);
        d->client_id = client_id ? strdup(client_id) : NULL;
        if (!d->token || !d->key_name || !d->capability || (client_id && !d->client_id)) {
            rta_token_details_clear(d);
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        }
    }
    rta_buf_free(&cap);
    rta_buf_free(&token);
    return rc;
}

int rta_token_service_request_signed(rta_token_service *ts, const char *path_key_name,
                                     const rta_token_request *req, int64_t now,
                                     rta_issued_token *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!req->key_name || strcmp(req->key_name, path_key_name) != 0)
        return rta_error_set(err, RTA_ERR_INVALID_CREDENTIALS,
                             "keyName in the token request does not match the URL");
    const rta_key_entry *k = usable_key(ts, path_key_name, strlen(path_key_name),
                                        RTA_ERR_NOT_FOUND, err);
    if (!k) return err ? err->code : RTA_ERR_NOT_FOUND;
    if (!req->nonce || !req->timestamp)
        return rta_error_set(err, RTA_ERR_INVALID_BODY,
                             "A signed token request needs timestamp and nonce");
    if (strlen(req->nonce) < MIN_NONCE_LEN)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "Nonce must be at least %d characters", MIN_NONCE_LEN);
    int rc = rta_token_request_verify_mac(req, k->hmac, err);
    if (rc) return rc;
    /* Compared, not subtracted: a hostile timestamp (INT64_MIN) cannot overflow. */
    int64_t window = ts->limits.timestamp_window;
    if (req->timestamp < now - window || req->timestamp > now + window)
        return rta_error_set(err, RTA_ERR_TIMESTAMP_NOT_CURRENT,
                             "Timestamp not current: more than %lld ms from server time",
                             (long long)window);
    rc = issue(ts, k, req->capability, req->client_id, req->ttl, now, out, err);
    if (rc) return rc;
    /* Last, so that a request refused for another reason does not burn its nonce. The nonce
     * is remembered as long as a request carrying it can pass the window check above, that
     * is up to and including timestamp + window: it expires one millisecond after (issue 11:
     * in that last millisecond a used TokenRequest minted tokens again). */
    int64_t nonce_expires = req->timestamp + window + 1;
    rc = rta_nonce_cache_add(&ts->nonces, k->key_name, req->nonce, nonce_expires, now, err);
    out->nonce = rc ? NULL : strdup(req->nonce);
    if (!rc && !out->nonce) rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (rc) {
        rta_issued_token_clear(out);
        return rc;
    }
    strcpy(out->nonce_key_name, k->key_name);
    out->nonce_expires = nonce_expires;
    return 0;
}

int rta_token_service_request_basic(rta_token_service *ts, const char *path_key_name,
                                    const rta_auth_context *basic, const rta_token_params *params,
                                    const char *header_client_id, int64_t now,
                                    rta_issued_token *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!basic || basic->method != RTA_AUTH_BASIC || strcmp(basic->key_name, path_key_name) != 0)
        return rta_error_set(err, RTA_ERR_INVALID_CREDENTIALS,
                             "An unsigned token request needs Basic auth with key %s",
                             path_key_name);
    const rta_key_entry *k = usable_key(ts, path_key_name, strlen(path_key_name),
                                        RTA_ERR_NOT_FOUND, err);
    if (!k) return err ? err->code : RTA_ERR_NOT_FOUND;
    const char *client_id = params->client_id ? params->client_id : header_client_id;
    if (header_client_id && params->client_id && strcmp(header_client_id, params->client_id))
        return rta_error_set(err, RTA_ERR_INCOMPATIBLE_CREDENTIALS,
                             "clientId does not match the X-Ably-ClientId header");
    return issue(ts, k, params->capability, client_id, params->ttl, now, out, err);
}

void rta_revocation_plans_free(rta_revocation_plan *plans, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(plans[i].target);
        free(plans[i].requested_target);
    }
    free(plans);
}

int rta_revocation_plans_store(rta_store *store, const char *key_name,
                               const rta_revocation_plan *plans, size_t count, rta_error *err)
{
    rta_revocation_record recs[RTA_MAX_REVOCATION_TARGETS];
    if (count > RTA_MAX_REVOCATION_TARGETS)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "Too many revocation targets");
    for (size_t i = 0; i < count; i++)
        recs[i] = (rta_revocation_record){key_name, plans[i].target, plans[i].issued_before,
                                          plans[i].applies_at, plans[i].expires};
    return store->ops->add_revocations(store, recs, count, err);
}

static void fail_target(rta_revocation_result *r, int code, const char *msg)
{
    r->failed = 1;
    r->error_code = code;
    r->error_status_code = rta_error_status(code);
    r->error_message = strdup(msg);
}

int rta_token_service_plan_revocation(rta_token_service *ts, const char *path_key_name,
                                      const rta_auth_context *basic,
                                      const rta_revoke_request *req, int64_t now,
                                      rta_revocation_batch *result, rta_revocation_plan **plans,
                                      size_t *plan_count, rta_error *err)
{
    memset(result, 0, sizeof(*result));
    *plans = NULL;
    *plan_count = 0;
    if (!basic || basic->method != RTA_AUTH_BASIC)
        return rta_error_set(err, RTA_ERR_REQUIRES_BASIC,
                             "Revoking tokens requires Basic authentication");
    if (strcmp(basic->key_name, path_key_name) != 0)
        return rta_error_set(err, RTA_ERR_WRONG_REVOCATION_KEY, NULL);
    const rta_key_entry *k = usable_key(ts, path_key_name, strlen(path_key_name),
                                        RTA_ERR_NOT_FOUND, err);
    if (!k) return err ? err->code : RTA_ERR_NOT_FOUND;
    if (!k->revocable)
        return rta_error_set(err, RTA_ERR_NOT_REVOCABLE, "Key %s does not have revocable tokens",
                             k->key_name);
    if (req->target_count == 0)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "targets must not be empty");
    /* Without issuedBefore: every token issued up to and including this millisecond, and none
     * minted after it (issue_floor moves later ones on by a millisecond). */
    int64_t issued_before = req->issued_before ? req->issued_before : now + 1;
    if (issued_before > now + 1000 || issued_before < now - REVOKE_MAX_AGE_MS)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "issuedBefore must be in the last hour and not in the future");
    int64_t applies_at = req->allow_reauth_margin == 1 ? now + REAUTH_MARGIN_MS : now;

    result->results = calloc(req->target_count, sizeof(*result->results));
    *plans = calloc(req->target_count, sizeof(**plans));
    if (!result->results || !*plans) goto oom;
    result->result_count = req->target_count;
    for (size_t i = 0; i < req->target_count; i++) {
        const char *target = req->targets[i];
        rta_revocation_result *r = &result->results[i];
        if (!(r->target = strdup(target))) goto oom;
        const char *colon = strchr(target, ':');
        char stored[2048];
        /* no token issued before issuedBefore outlives it by more than the revocable max */
        int64_t before = issued_before, expires = issued_before + ts->limits.max_ttl_revocable;
        if (!colon || colon == target || !colon[1]) {
            fail_target(r, RTA_ERR_BAD_REQUEST, "Target must be type:value");
        } else if (!strncmp(target, "clientId:", 9) || !strncmp(target, "revocationKey:", 14)) {
            snprintf(stored, sizeof(stored), "%s", target);
        } else if (!strncmp(target, "token:", 6)) {
            char ref[40], owner[RTA_KEY_NAME_MAX + 1];
            rta_error terr;
            if (rta_token_ref(ts, target + 6, strlen(target + 6), ref, owner, &before, &expires,
                              &terr))
                fail_target(r, RTA_ERR_BAD_REQUEST, "Invalid token in target");
            else if (strcmp(owner, k->key_name) != 0)
                fail_target(r, RTA_ERR_WRONG_REVOCATION_KEY,
                            "Tokens can only be revoked with the key that issued them");
            else
                snprintf(stored, sizeof(stored), "token:%s", ref);
            before++; /* this very token, whatever its issue time */
        } else {
            fail_target(r, RTA_ERR_BAD_REQUEST, "Invalid target type");
        }
        if (r->failed) {
            if (!r->error_message) goto oom;
            result->failure_count++;
            continue;
        }
        r->issued_before = issued_before; /* the request's, for every target (TRS) */
        r->applies_at = applies_at;
        rta_revocation_plan *p = &(*plans)[(*plan_count)++];
        p->target = strdup(stored);
        p->requested_target = strdup(target);
        p->issued_before = before;
        p->applies_at = applies_at;
        p->expires = (expires > applies_at ? expires : applies_at) + REAUTH_MARGIN_MS;
        if (!p->target || !p->requested_target) goto oom;
        result->success_count++;
    }
    if (!req->issued_before && ts->issue_floor < issued_before) ts->issue_floor = issued_before;
    return 0;
oom:
    rta_revocation_batch_clear(result);
    rta_revocation_plans_free(*plans, *plan_count);
    *plans = NULL;
    *plan_count = 0;
    return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
}

int rta_token_service_apply_revocations(rta_token_service *ts, const char *key_name,
                                        const rta_revocation_plan *plans, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int rc = rta_revocations_add(&ts->revocations, key_name, plans[i].target,
                                     plans[i].issued_before, plans[i].applies_at,
                                     plans[i].expires);
        if (rc) return rc;
    }
    return 0;
}

/* The earlier of two pending appliesAt times, 0 meaning none. */
static int64_t earliest(int64_t a, int64_t b)
{
    return !a ? b : !b ? a : a < b ? a : b;
}

size_t rta_revocation_plan_targets(const rta_revocation_plan *plans, size_t n,
                                   const char *out[RTA_MAX_REVOCATION_TARGETS])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < RTA_MAX_REVOCATION_TARGETS; i++) out[k++] = plans[i].target;
    return k;
}

int rta_token_service_is_revoked(rta_token_service *ts, const rta_auth_context *a, int64_t now,
                                 int64_t *pending_at)
{
    if (pending_at) *pending_at = 0;
    if (a->method == RTA_AUTH_BASIC) return 0;
    int revoked = 0;
    int64_t p = 0, q = 0;
    if (a->revocable) {
        rta_token_targets t = {a->client_id, a->revocation_key,
                               a->token_ref[0] ? a->token_ref : NULL};
        revoked = rta_revocations_check(&ts->revocations, a->key_name, &t, a->issued, now, &p);
    }
    const rta_auth_wrapper *w = a->wrapper;
    if (w && w->revocable) {
        rta_token_targets t = {w->client_id, w->revocation_key, w->token_ref};
        revoked |= rta_revocations_check(&ts->revocations, w->key_name, &t, w->issued, now, &q);
    }
    if (pending_at) *pending_at = earliest(p, q);
    /* cut off from the cluster: a revocable token cannot be vouched for (fail closed) */
    if (ts->revocations_unchecked && (a->revocable || (w && w->revocable))) revoked = 1;
    return revoked;
}

int rta_speaker_may_name(const rta_speaker *sp, const char *client_id)
{
    return !client_id || sp->may_choose || (sp->own && !strcmp(client_id, sp->own));
}

int rta_client_id_resolve(const rta_auth_context *a, const char *requested, const char **out)
{
    const char *tc = a->client_id; /* NULL for Basic and anonymous tokens */
    *out = NULL;
    if (requested && !strcmp(requested, "*")) return RTA_ERR_INVALID_CLIENT_ID;
    if (a->method == RTA_AUTH_BASIC || (tc && !strcmp(tc, "*"))) {
        *out = requested ? requested : tc;
        return 0;
    }
    if (requested && (!tc || strcmp(requested, tc))) return RTA_ERR_INCOMPATIBLE_CREDENTIALS;
    *out = tc;
    return 0;
}

rta_speaker rta_speaker_for(const rta_auth_context *a, const char *client_id)
{
    int wildcard = client_id && !strcmp(client_id, "*");
    rta_speaker sp = {wildcard ? NULL : client_id, 0};
    sp.may_choose = !sp.own && (a->method == RTA_AUTH_BASIC || wildcard);
    return sp;
}
