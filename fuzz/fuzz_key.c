/* fuzz_key.c: API key and key-name parsing on arbitrary input. A key that parses must
 * round-trip: its key name passes the key-name check, and "keyName:secret" parses again to
 * the same parts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rta_key k;
    char app[RTA_KEY_ID_MAX + 1];
    rta_key_name_check((const char *)data, size, app, NULL);
    if (rta_key_parse((const char *)data, size, &k, NULL) != 0) return 0;
    if (rta_key_name_check(k.key_name, strlen(k.key_name), app, NULL) != 0) abort();
    if (strncmp(k.key_name, app, strlen(app)) != 0 || strlen(k.secret) != k.secret_len) abort();
    char again[RTA_KEY_NAME_MAX + RTA_KEY_SECRET_MAX + 2];
    int n = snprintf(again, sizeof(again), "%s:%s", k.key_name, k.secret);
    rta_key k2;
    if (rta_key_parse(again, (size_t)n, &k2, NULL) != 0) abort();
    if (strcmp(k.key_name, k2.key_name) || strcmp(k.secret, k2.secret) || strcmp(k.app_id, k2.app_id))
        abort();
    rta_key_wipe(&k);
    rta_key_wipe(&k2);
    return 0;
}
