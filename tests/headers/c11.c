/* c11.c: the public API on its own, as a C11 application sees it: compiled with
 * -std=c11 -Wall -Wextra -Wwrite-strings -pedantic -Werror and include/ as the only include
 * directory (scripts/check-headers), then linked against librtauth.so and run. */
#include <rtauth/rtauth.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    rta_client_options o;
    rta_client_options_init(&o);
    rta_error err;
    rta_error_clear(&err);
    rta_error_set(&err, RTA_ERR_TOKEN_EXPIRED, "token %s expired", "t1");
    const char *msg = rta_strerror(RTA_ERR_TOKEN_REVOKED);
    /* Input structs take string literals without casts (issue 15: const char * fields). */
    rta_token_params p = {.ttl = 1000, .capability = "{\"*\":[\"*\"]}", .client_id = "c"};
    rta_token_request tr = {.key_name = "app.key", .nonce = "0123456789abcdef", .mac = "m"};
    rta_revocation_target t = {.type = "clientId", .value = "c"};
    if (!p.capability || !tr.key_name || !t.type) return 1;
    printf("%s %d %d %s\n", RTA_VERSION, err.code, rta_error_is_token_error(err.code), msg);
    return strcmp(msg, "Token revoked") != 0;
}
