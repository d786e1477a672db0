/* fuzz_conn_key.c: the cluster connectionKey parser (gateway/conn_key.h) on arbitrary input:
 * the first thing a resume= or recover= key from any client meets on a node that does not
 * have the connection. A key that parses must be exactly the documented form, and must
 * round-trip: its connectionId, secret id and tag written back give the same key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/gateway/conn_key.h"

static int in(const char *set, char ch)
{
    return ch && strchr(set, ch) != NULL;
}

#define ALNUM "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *key = malloc(size + 1); /* the parser takes a C string, as the query gives it */
    if (!key) return 0;
    memcpy(key, data, size);
    key[size] = '\0';
    char id[RTA__GW_CK_ID_LEN + 1];
    uint32_t sid = 0;
    if (rta__gw_conn_key_parse(key, id, &sid) == 0) {
        if (strlen(key) != RTA__GW_CK_LEN || strlen(id) != RTA__GW_CK_ID_LEN) abort();
        for (size_t i = 0; i < RTA__GW_CK_ID_LEN; i++)
            if (!in(ALNUM, id[i])) abort();
        const char *tag = key + RTA__GW_CK_ID_LEN + 1 + RTA__GW_CK_SID_LEN;
        for (size_t i = 0; i < RTA__GW_CK_TAG_LEN; i++)
            if (!in(ALNUM "-_", tag[i])) abort();
        char again[RTA__GW_CK_LEN + 1];
        int n = snprintf(again, sizeof(again), "%s!%08x%s", id, (unsigned)sid, tag);
        if (n != RTA__GW_CK_LEN || strcmp(again, key) != 0) abort();
        char id2[RTA__GW_CK_ID_LEN + 1];
        uint32_t sid2 = 0;
        if (rta__gw_conn_key_parse(again, id2, &sid2) != 0 || strcmp(id, id2) || sid != sid2)
            abort();
    }
    free(key);
    return 0;
}
