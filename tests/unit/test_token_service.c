/* test_token_service.c: the auth rules of rtauthd with no I/O and a clock the test sets
 * (auth/token_service.h): requestToken's checks in order (S-17..S-27), Bearer verification of
 * native tokens and JWTs (S-31..S-37), and revocation matching (S-66..S-69), table-driven
 * where a table says it best. The edge cases of issue 11 are here at millisecond resolution:
 * a TokenRequest replayed in the last millisecond of its window, a token revoked in the
 * millisecond it was issued, a revoked JWT wrapping a token, and JWT times that overflowed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jwt.h"
#include "core/key.h"
#include "core/mac.h"
#include "core/token_signer.h"
#include "server/auth/token_service.h"

#define T0 1800000000000LL /* the test clock's start, ms */
#define WINDOW 120000      /* the default TokenRequest timestamp window */

typedef struct {
    rta_registry reg;
    rta_token_service ts;
} fixture;

static const char *SECRET = "0123456789abcdefghijABCDEFGHIJ";

static void add_key(fixture *f, const char *key_name, const char *capability, int revocable,
                    int enabled)
{
    rta_app_record app = {"app", "acct", 1, 0};
    rta_key_record k = {key_name, "app", SECRET, capability, revocable, enabled, 1};
    assert_int_equal(rta_registry_put_app(&f->reg, &app, NULL), 0);
    assert_int_equal(rta_registry_put_key(&f->reg, &k, NULL), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_int_equal(rta_registry_init(&f->reg), 0);
    assert_int_equal(rta_token_service_init(&f->ts, &f->reg, NULL), 0);
    static const unsigned char server_secret[32] = {1, 2, 3};
    assert_int_equal(rta_keyring_add(&f->ts.keyring, 1, server_secret, sizeof(server_secret)), 0);
    add_key(f, "app.open", "{\"*\":[\"*\"]}", 0, 1);
    add_key(f, "app.rev", "{\"*\":[\"*\"]}", 1, 1);
    add_key(f, "app.chat", "{\"chat:*\":[\"publish\",\"subscribe\"]}", 0, 1);
    add_key(f, "app.off", "{\"*\":[\"*\"]}", 0, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rta_token_service_free(&f->ts);
    rta_registry_free(&f->reg);
    free(f);
    return 0;
}

/* A TokenRequest for key_name signed with SECRET (nonce fresh unless given). */
static void sign_request(const char *key_name, const char *client_id, const char *capability,
                         int64_t ttl, int64_t timestamp, const char *nonce, char nonce_buf[64],
                         char mac[64], rta_token_request *out)
{
    if (!nonce) {
        rta_nonce_generate(nonce_buf);
        nonce = nonce_buf;
    }
    *out = (rta_token_request){.key_name = (char *)key_name, .ttl = ttl,
                               .capability = (char *)capability, .client_id = (char *)client_id,
                               .timestamp = timestamp, .nonce = (char *)nonce};
    rta_hmac *h = rta_hmac_new(SECRET, strlen(SECRET));
    assert_int_equal(rta_token_request_compute_mac(out, h, mac), 0);
    rta_hmac_free(h);
    out->mac = mac;
}

/* requestToken with a signed request: the Ably code (0 on success); *token gets the token. */
static int request_signed(fixture *f, const rta_token_request *req, int64_t now, char **token)
{
    rta_issued_token t;
    rta_error err;
    int rc = rta_token_service_request_signed(&f->ts, req->key_name, req, now, &t, &err);
    if (token) *token = rc ? NULL : strdup(t.details.token);
    if (!rc) rta_issued_token_clear(&t);
    return rc;
}

/* requestToken with Basic auth of key_name: the token, or NULL. */
static char *mint(fixture *f, const char *key_name, const char *client_id, int64_t now)
{
    rta_auth_context basic;
    rta_error err;
    assert_int_equal(rta_token_service_basic(&f->ts, key_name, strlen(key_name), SECRET,
                                             strlen(SECRET), &basic, &err),
                     0);
    rta_token_params p = {.client_id = (char *)client_id};
    rta_issued_token t;
    int rc = rta_token_service_request_basic(&f->ts, key_name, &basic, &p, NULL, now, &t, &err);
    rta_auth_context_clear(&basic);
    if (rc) return NULL;
    char *tok = strdup(t.details.token);
    rta_issued_token_clear(&t);
    return tok;
}

static int verify(fixture *f, const char *token, int64_t now)
{
    rta_auth_context a;
    rta_error err;
    int rc = rta_token_service_verify(&f->ts, token, strlen(token), now, &a, &err);
    if (!rc) rta_auth_context_clear(&a);
    return rc;
}

/* revokeTokens by key_name (Basic) at now; issued_before 0 = absent. Plans are applied, as
 * the server does once they are stored. Returns the whole-request code. */
static int revoke(fixture *f, const char *key_name, const char *target, int64_t issued_before,
                  int64_t now)
{
    rta_auth_context basic;
    rta_error err;
    assert_int_equal(rta_token_service_basic(&f->ts, key_name, strlen(key_name), SECRET,
                                             strlen(SECRET), &basic, &err),
                     0);
    char *targets[] = {(char *)target};
    rta_revoke_request req = {targets, 1, issued_before, -1};
    rta_revocation_batch result;
    rta_revocation_plan *plans;
    size_t n;
    int rc = rta_token_service_plan_revocation(&f->ts, key_name, &basic, &req, now, &result,
                                               &plans, &n, &err);
    rta_auth_context_clear(&basic);
    if (rc) return rc;
    assert_int_equal(result.failure_count, 0);
    assert_int_equal(rta_token_service_apply_revocations(&f->ts, key_name, plans, n), 0);
    rta_revocation_plans_free(plans, n);
    rta_revocation_batch_clear(&result);
    return 0;
}

static char *jwt(const char *key_name, int64_t iat, int64_t exp, const char *client_id,
                 const char *revocation_key, const char *embedded)
{
    rta_jwt_claims c = {key_name, iat, exp, NULL, client_id, revocation_key, embedded};
    rta_buf b = RTA_BUF_INIT;
    assert_int_equal(rta_jwt_sign(&c, SECRET, strlen(SECRET), &b), 0);
    return rta_buf_detach(&b, NULL);
}

/* ---- requestToken: each check, in order ---------------------------------------------------- */

static void test_request_checks(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *what, *key_name, *client_id, *capability;
        int64_t ttl, skew;
        int code;
    } rows[] = {
        {"valid", "app.open", "alice", NULL, 0, 0, 0},
        {"unknown key", "app.nope", NULL, NULL, 0, 0, 40400},
        {"disabled key", "app.off", NULL, NULL, 0, 0, 40131},
        {"timestamp too old", "app.open", NULL, NULL, 0, -WINDOW - 1, 40104},
        {"timestamp too new", "app.open", NULL, NULL, 0, WINDOW + 1, 40104},
        {"timestamp at the window's far edge", "app.open", NULL, NULL, 0, -WINDOW, 0},
        {"negative ttl", "app.open", NULL, NULL, -5, 0, 40003},
        {"ttl over 24 h", "app.open", NULL, NULL, 86400001, 0, 40003},
        {"ttl over 1 h on a revocable key", "app.rev", NULL, NULL, 3600001, 0, 40003},
        {"empty clientId", "app.open", "", NULL, 0, 0, 40012},
        {"invalid capability", "app.open", NULL, "{\"a\":", 0, 0, 40000},
        {"capability outside the key's", "app.chat", NULL, "{\"other\":[\"publish\"]}", 0, 0,
         40160},
        {"capability inside the key's", "app.chat", NULL, "{\"chat:1\":[\"publish\"]}", 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        rta_token_request req;
        char nonce[64], mac[64];
        sign_request(rows[i].key_name, rows[i].client_id, rows[i].capability, rows[i].ttl,
                     T0 + rows[i].skew, NULL, nonce, mac, &req);
        int rc = request_signed(f, &req, T0, NULL);
        if (rc != rows[i].code) fail_msg("%s: got %d, want %d", rows[i].what, rc, rows[i].code);
    }
}

static void test_request_mac_and_nonce(void **state)
{
    fixture *f = *state;
    rta_token_request req;
    char nonce[64], mac[64];
    sign_request("app.open", NULL, NULL, 0, T0, NULL, nonce, mac, &req);
    req.client_id = "mallory"; /* changed after signing */
    assert_int_equal(request_signed(f, &req, T0, NULL), 40101);
    sign_request("app.open", NULL, NULL, 0, T0, "short-nonce", nonce, mac, &req);
    assert_int_equal(request_signed(f, &req, T0, NULL), 40003);
    /* a request refused for another reason does not burn its nonce */
    sign_request("app.open", "", NULL, 0, T0, "nonce-refused-0001", nonce, mac, &req);
    assert_int_equal(request_signed(f, &req, T0, NULL), 40012);
    sign_request("app.open", NULL, NULL, 0, T0, "nonce-refused-0001", nonce, mac, &req);
    assert_int_equal(request_signed(f, &req, T0, NULL), 0);
    assert_int_equal(request_signed(f, &req, T0 + 1, NULL), 40105);
}

/* Issue 11: the window check accepts now - timestamp == window, so the nonce must still be
 * remembered in that millisecond; one millisecond later the timestamp check refuses. */
static void test_nonce_replay_at_window_edge(void **state)
{
    fixture *f = *state;
    rta_token_request req;
    char nonce[64], mac[64];
    sign_request("app.open", NULL, NULL, 0, T0, NULL, nonce, mac, &req);
    assert_int_equal(request_signed(f, &req, T0 + WINDOW, NULL), 0);
    assert_int_equal(request_signed(f, &req, T0 + WINDOW, NULL), 40105);
    rta_nonce_cache_purge(&f->ts.nonces, T0 + WINDOW); /* housekeeping in that millisecond */
    assert_int_equal(request_signed(f, &req, T0 + WINDOW, NULL), 40105);
    assert_int_equal(request_signed(f, &req, T0 + WINDOW + 1, NULL), 40104);
    /* the same at the other edge: a timestamp from the future */
    sign_request("app.open", NULL, NULL, 0, T0 + WINDOW, NULL, nonce, mac, &req);
    assert_int_equal(request_signed(f, &req, T0, NULL), 0);
    rta_nonce_cache_purge(&f->ts.nonces, T0 + 2 * WINDOW);
    assert_int_equal(request_signed(f, &req, T0 + 2 * WINDOW, NULL), 40105);
}

/* Hostile timestamps must be refused without arithmetic overflow (UBSan checks it). */
static void test_request_hostile_times(void **state)
{
    fixture *f = *state;
    static const int64_t stamps[] = {INT64_MIN, INT64_MIN + 1, -1, INT64_MAX, INT64_MAX - 1};
    for (size_t i = 0; i < sizeof(stamps) / sizeof(stamps[0]); i++) {
        rta_token_request req;
        char nonce[64], mac[64];
        sign_request("app.open", NULL, NULL, 0, stamps[i], NULL, nonce, mac, &req);
        assert_int_equal(request_signed(f, &req, T0, NULL), 40104);
    }
    rta_token_request req;
    char nonce[64], mac[64];
    sign_request("app.open", NULL, NULL, INT64_MAX, T0, NULL, nonce, mac, &req);
    assert_int_equal(request_signed(f, &req, T0, NULL), 40003);
}

/* ---- Bearer verification -------------------------------------------------------------------- */

static void test_verify_native(void **state)
{
    fixture *f = *state;
    char *tok = mint(f, "app.open", "alice", T0);
    assert_non_null(tok);
    rta_auth_context a;
    rta_error err;
    assert_int_equal(rta_token_service_verify(&f->ts, tok, strlen(tok), T0 + 1, &a, &err), 0);
    assert_string_equal(a.client_id, "alice");
    assert_string_equal(a.key_name, "app.open");
    assert_int_equal(a.expires - a.issued, 3600000);
    rta_auth_context_clear(&a);
    assert_int_equal(verify(f, tok, T0 + 3600000), 40142);
    tok[strlen(tok) / 2] ^= 1; /* tampered */
    int rc = verify(f, tok, T0 + 1);
    assert_true(rc == 40143 || rc == 40145);
    assert_int_equal(verify(f, "", T0), 40145);
    free(tok);
}

static void test_verify_jwt(void **state)
{
    fixture *f = *state;
    int64_t s = T0 / 1000;
    static const struct {
        const char *what, *kid;
        int64_t iat, exp;
        int code;
    } rows[] = {
        {"valid", "app.open", 0, 3600, 0},
        {"expired", "app.open", -7200, -3600, 40142},
        {"iat in the future", "app.open", 600, 3600, 40144},
        {"exp before iat", "app.open", 0, -1, 40144},
        {"lifetime over 24 h", "app.open", 0, 86401, 40144},
        {"lifetime over 1 h on a revocable key", "app.rev", 0, 3601, 40144},
        {"unknown kid", "app.nope", 0, 3600, 40400},
        {"disabled key", "app.off", 0, 3600, 40131},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *j = jwt(rows[i].kid, s + rows[i].iat, s + rows[i].exp, NULL, NULL, NULL);
        int rc = verify(f, j, T0);
        if (rc != rows[i].code) fail_msg("%s: got %d, want %d", rows[i].what, rc, rows[i].code);
        free(j);
    }
}

/* Issue 11: (exp - iat) * 1000 overflowed for hostile claims, so a JWT living a hundred
 * years passed the lifetime cap; claims outside [0, year 9999] are refused outright. */
static void test_jwt_time_overflow(void **state)
{
    fixture *f = *state;
    int64_t s = T0 / 1000;
    const struct {
        int64_t iat, exp;
    } rows[] = {
        {s, s + 9223372036854776LL},           /* (exp - iat) * 1000 wrapped negative */
        {-9223372036854775807LL, s + 60},      /* exp - iat overflowed */
        {s, INT64_MAX},
        {s, RTA_JWT_MAX_SECONDS + 1},          /* one second past year 9999 */
        {-1, s + 3600},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *j = jwt("app.rev", rows[i].iat, rows[i].exp, NULL, NULL, NULL);
        int rc = verify(f, j, T0);
        if (rc != 40144) fail_msg("row %zu: got %d, want 40144", i, rc);
        free(j);
    }
    /* a hundred years, in range: the lifetime cap refuses it */
    char *j = jwt("app.rev", s, s + 100LL * 365 * 86400, NULL, NULL, NULL);
    assert_int_equal(verify(f, j, T0), 40144);
    free(j);
}

/* ---- revocation ----------------------------------------------------------------------------- */

static void test_revocation_targets(void **state)
{
    fixture *f = *state;
    char *a = mint(f, "app.rev", "alice", T0), *b = mint(f, "app.rev", "bob", T0);
    char *j = jwt("app.rev", T0 / 1000, T0 / 1000 + 600, "carol", "group-1", NULL);
    assert_int_equal(revoke(f, "app.rev", "clientId:alice", 0, T0 + 10), 0);
    assert_int_equal(verify(f, a, T0 + 11), 40141);
    assert_int_equal(verify(f, b, T0 + 11), 0);
    assert_int_equal(revoke(f, "app.rev", "revocationKey:group-1", 0, T0 + 10), 0);
    assert_int_equal(verify(f, j, T0 + 11), 40141);
    /* not revocable, not by Basic auth, another key */
    assert_int_equal(revoke(f, "app.open", "clientId:alice", 0, T0), 40163);
    free(a), free(b), free(j);
}

/* Issue 11: the default issuedBefore was "now" and a token with issued >= issuedBefore was
 * skipped, so a token minted in the millisecond of its revocation stayed valid. Minted then
 * revoked in the same millisecond: revoked. Revoked then minted in the same millisecond: the
 * new token is valid (the revoke-and-reissue pattern). */
static void test_revoke_in_the_millisecond_of_issue(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 300; i++) {
        int64_t now = T0 + i * 10;
        char *before = mint(f, "app.rev", "dave", now);
        assert_int_equal(revoke(f, "app.rev", "clientId:dave", 0, now), 0);
        char *after = mint(f, "app.rev", "dave", now);
        if (verify(f, before, now) != 40141) fail_msg("pair %d: minted-then-revoked valid", i);
        if (verify(f, after, now) != 0) fail_msg("pair %d: revoked-then-minted refused", i);
        free(before), free(after);
    }
}

/* A token: target revokes that token whatever its issue time, even with an issuedBefore
 * that would not cover it. */
static void test_revoke_token_target_any_time(void **state)
{
    fixture *f = *state;
    char *tok = mint(f, "app.rev", "erin", T0);
    char target[1024];
    snprintf(target, sizeof(target), "token:%s", tok);
    assert_int_equal(revoke(f, "app.rev", target, T0 - 1000, T0), 0);
    assert_int_equal(verify(f, tok, T0), 40141);
    char *other = mint(f, "app.rev", "erin", T0);
    assert_int_equal(verify(f, other, T0), 0);
    free(tok), free(other);
}

/* Issue 11: revoking a JWT that wraps a token (x-ably-token) had no effect, by token:<JWT> or
 * by the JWT's revocationKey. Both the wrapper and the inner token are checked. */
static void test_revoke_wrapping_jwt(void **state)
{
    fixture *f = *state;
    int64_t s = T0 / 1000;
    char *inner = mint(f, "app.rev", "frank", T0);
    char *w1 = jwt("app.rev", s, s + 600, NULL, "rk-wrap", inner);
    char *w2 = jwt("app.rev", s, s + 600, NULL, NULL, inner);
    assert_int_equal(verify(f, w1, T0 + 1), 0);
    assert_int_equal(revoke(f, "app.rev", "revocationKey:rk-wrap", 0, T0 + 1), 0);
    assert_int_equal(verify(f, w1, T0 + 2), 40141);
    assert_int_equal(verify(f, w2, T0 + 2), 0); /* another wrapper of the same token */
    char target[4096];
    snprintf(target, sizeof(target), "token:%s", w2);
    assert_int_equal(revoke(f, "app.rev", target, 0, T0 + 2), 0);
    assert_int_equal(verify(f, w2, T0 + 3), 40141);
    assert_int_equal(verify(f, inner, T0 + 3), 0); /* the inner token itself was not revoked */
    /* and a live context from the wrapper is reported revoked, with its key */
    rta_auth_context a;
    char *w3 = jwt("app.rev", s, s + 600, NULL, "rk-live", inner);
    assert_int_equal(rta_token_service_verify(&f->ts, w3, strlen(w3), T0 + 3, &a, NULL), 0);
    assert_true(rta_auth_context_uses_key(&a, "app.rev"));
    assert_false(rta_token_service_is_revoked(&f->ts, &a, T0 + 4, NULL));
    assert_int_equal(revoke(f, "app.rev", "revocationKey:rk-live", 0, T0 + 4), 0);
    assert_true(rta_token_service_is_revoked(&f->ts, &a, T0 + 5, NULL));
    rta_auth_context_clear(&a);
    free(inner), free(w1), free(w2), free(w3);
}

/* A revocation is remembered until nothing it covers can still be valid. */
static void test_revocation_outlives_what_it_covers(void **state)
{
    fixture *f = *state;
    int64_t s = T0 / 1000;
    char *j = jwt("app.rev", s, s + 3600, "gina", NULL, NULL); /* the longest a JWT may live */
    assert_int_equal(revoke(f, "app.rev", "clientId:gina", 0, T0 + 1), 0);
    int64_t last = T0 + 3600 * 1000 - 1; /* its last valid millisecond */
    rta_revocations_purge(&f->ts.revocations, last);
    assert_int_equal(verify(f, j, last), 40141);
    free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_mac_and_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonce_replay_at_window_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_hostile_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_native, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_jwt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwt_time_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_targets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_in_the_millisecond_of_issue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_token_target_any_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoke_wrapping_jwt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revocation_outlives_what_it_covers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
