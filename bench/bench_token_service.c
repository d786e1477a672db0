/* bench_token_service.c: the requestToken work of rtauthd without HTTP: decode a signed
 * TokenRequest body, run the token service (MAC, timestamp, nonce, capability, mint) and
 * encode the TokenDetails reply. Shows where a request's time goes next to the HTTP stack.
 * Usage: bench_token_service [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/token_codec.h"
#include "core/token_signer.h"
#include "server/auth/registry.h"
#include "server/auth/token_service.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    rta_registry reg;
    rta_registry_init(&reg);
    rta_app_record app = {"app", "acct", 1, 0};
    rta_registry_put_app(&reg, &app, NULL);
    rta_key_record kr = {"app.key", "app", "secretValue", "{\"*\":[\"*\"]}", 0, 1, 1};
    rta_registry_put_key(&reg, &kr, NULL);
    rta_token_service ts;
    rta_token_service_init(&ts, &reg, NULL);
    rta_keyring_add(&ts.keyring, 1, "server-secret-0123456789abcdefgh", 32);
    rta_key key;
    rta_key_parse("app.key:secretValue", 19, &key, NULL);
    rta_token_signer *signer = rta_token_signer_new(&key);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    int64_t now = (int64_t)rt.tv_sec * 1000 + rt.tv_nsec / 1000000;
    rta_token_params p = {.client_id = "bench", .ttl = 3600000};
    /* pre-signed bodies, each nonce used once, as on the wire */
    rta_buf *bodies = calloc((size_t)n, sizeof(rta_buf));
    for (int i = 0; i < n; i++) {
        rta_token_request req;
        rta_token_signer_sign(signer, &p, now, &req, NULL);
        rta_token_request_encode(&req, RTA_FORMAT_JSON, &bodies[i]);
        rta_token_request_clear(&req);
    }
    double t_dec = 0, t_svc = 0, t_enc = 0;
    rta_buf out = RTA_BUF_INIT;
    for (int i = 0; i < n; i++) {
        double t0 = now_s();
        rta_token_request req;
        rta_error err;
        if (rta_token_request_decode(bodies[i].data, bodies[i].len, RTA_FORMAT_JSON, &req, &err))
            return 1;
        double t1 = now_s();
        rta_issued_token it;
        if (rta_token_service_request_signed(&ts, "app.key", &req, now, &it, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        double t2 = now_s();
        rta_buf_reset(&out);
        rta_token_details_encode(&it.details, RTA_FORMAT_JSON, &out);
        rta_issued_token_clear(&it);
        rta_token_request_clear(&req);
        double t3 = now_s();
        t_dec += t1 - t0, t_svc += t2 - t1, t_enc += t3 - t2;
    }
    printf("per request (us): decode %.2f  service %.2f  encode %.2f  total %.2f\n",
           t_dec / n * 1e6, t_svc / n * 1e6, t_enc / n * 1e6, (t_dec + t_svc + t_enc) / n * 1e6);
    printf("token_service_request_us %.3f\n", (t_dec + t_svc + t_enc) / n * 1e6);
    for (int i = 0; i < n; i++) rta_buf_free(&bodies[i]);
    free(bodies);
    rta_buf_free(&out);
    rta_token_signer_free(signer);
    rta_token_service_free(&ts);
    rta_registry_free(&reg);
    return 0;
}
