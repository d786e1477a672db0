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
    printf("%s %d %d %s\n", RTA_VERSION, err.code, rta_error_is_token_error(err.code), msg);
    return strcmp(msg, "Token revoked") != 0;
}
