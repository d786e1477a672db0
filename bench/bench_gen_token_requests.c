/* bench_gen_token_requests.c: writes N signed TokenRequests (JSON, one per line, each with
 * its own nonce) for the requestToken load test; wrk replays them (bench/wrk_request_token.lua)
 * because a load generator cannot sign in Lua. Timestamps are "now", so run the load within
 * two minutes. Usage: bench_gen_token_requests KEY N OUTFILE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/key.h"
#include "core/token_codec.h"
#include "core/token_signer.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_gen_token_requests KEY N OUTFILE\n");
        return 2;
    }
    rta_key key;
    rta_error err;
    if (rta_key_parse(argv[1], strlen(argv[1]), &key, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    long n = atol(argv[2]);
    FILE *f = fopen(argv[3], "w");
    if (!f || n <= 0) return 1;
    rta_token_signer *s = rta_token_signer_new(&key);
    rta_token_params p = {.client_id = "bench", .ttl = 3600000};
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    int64_t now = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
    rta_buf b = RTA_BUF_INIT;
    for (long i = 0; i < n; i++) {
        rta_token_request req;
        if (rta_token_signer_sign(s, &p, now, &req, &err)) return 1;
        rta_buf_reset(&b);
        rta_token_request_encode(&req, RTA_FORMAT_JSON, &b);
        fwrite(b.data, 1, b.len, f);
        fputc('\n', f);
        rta_token_request_clear(&req);
    }
    rta_buf_free(&b);
    rta_token_signer_free(s);
    fclose(f);
    return 0;
}
