/* fuzz_token_service.c: the server's request-body path end to end, without HTTP: a body in
 * JSON or msgpack (first byte selects the format and the route) goes through the same
 * decoders and token-service calls as POST /keys/{keyName}/requestToken (signed or Basic)
 * and /revokeTokens, against a registry with two keys. Tokens it issues are verified back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/token_codec.h"
#include "server/auth/registry.h"
#include "server/auth/token_service.h"

static rta_registry reg;
static rta_token_service ts;

static void init(void)
{
    rta_registry_init(&reg);
    rta_app_record app = {"app", "acct", 1, 0};
    rta_registry_put_app(&reg, &app, NULL);
    rta_key_record k1 = {"app.k1", "app", "secret1", "{\"*\":[\"*\"],\"[*]*\":[\"history\"]}", 0, 1, 1};
    rta_key_record k2 = {"app.k2", "app", "secret2", "{\"chan:*\":[\"publish\",\"subscribe\"]}", 1, 1, 1};
    rta_registry_put_key(&reg, &k1, NULL);
    rta_registry_put_key(&reg, &k2, NULL);
    rta_token_service_init(&ts, &reg, NULL);
    rta_keyring_add(&ts.keyring, 1, "server-secret", 13);
}

static void check_issued(rta_issued_token *t, int64_t now)
{
    rta_auth_context a;
    if (rta_token_service_verify(&ts, t->details.token, strlen(t->details.token), now, &a, NULL))
        abort(); /* a token we just issued must verify */
    rta_auth_context_clear(&a);
    rta_issued_token_clear(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!reg.keys.cap) init();
    if (size < 1) return 0;
    rta_format fmt = (data[0] & 1) ? RTA_FORMAT_MSGPACK : RTA_FORMAT_JSON;
    int route = (data[0] >> 1) % 3;
    const char *key_name = (data[0] & 8) ? "app.k2" : "app.k1";
    const void *body = data + 1;
    size_t len = size - 1;
    int64_t now = 1700000000000;
    rta_error err;
    rta_auth_context basic;
    rta_token_service_basic(&ts, key_name, strlen(key_name), key_name[5] == '1' ? "secret1" : "secret2", 7,
                            &basic, NULL);
    if (route == 0) {
        rta_token_request req;
        if (rta_token_request_decode(body, len, fmt, &req, &err) == 0) {
            rta_issued_token t;
            if (rta_token_service_request_signed(&ts, key_name, &req, now, &t, &err) == 0)
                check_issued(&t, now);
            rta_token_request_clear(&req);
        }
    } else if (route == 1) {
        rta_token_params p;
        if (rta_token_params_decode(body, len, fmt, &p, &err) == 0) {
            rta_issued_token t;
            if (rta_token_service_request_basic(&ts, key_name, &basic, &p, NULL, now, &t, &err) == 0)
                check_issued(&t, now);
            rta_token_params_clear(&p);
        }
    } else {
        rta_revoke_request r;
        if (rta_revoke_request_decode(body, len, fmt, &r, &err) == 0) {
            rta_revocation_batch b;
            rta_revocation_plan *plans;
            size_t n;
            if (rta_token_service_plan_revocation(&ts, key_name, &basic, &r, now, &b, &plans, &n,
                                                  &err) == 0) {
                if ((size_t)b.success_count != n) abort();
                rta_revocation_batch_clear(&b);
                rta_revocation_plans_free(plans, n);
            }
            rta_revoke_request_clear(&r);
        }
    }
    rta_auth_context_clear(&basic);
    /* keep the replay cache from growing without bound across the run */
    if (ts.nonces.map.count > 100000) rta_nonce_cache_purge(&ts.nonces, INT64_MAX);
    return 0;
}
