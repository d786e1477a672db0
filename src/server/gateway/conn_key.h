/* gateway/conn_key.h: the syntax of a cluster connectionKey (gateway/adopt.c), on its own so
 * that a fuzz target (fuzz/fuzz_conn_key.c) reaches the parser a resuming client's key meets
 * first, on any node, before any MAC is computed.
 *
 *     <connectionId: 12 alphanumerics>!<secret id: 8 lowercase hex><tag: 22 base64url>
 *
 * Must never: read past the key's terminating NUL, or accept a key with a byte outside that
 * alphabet (an accepted key is echoed back to the client in CONNECTED once its tag verifies).
 */
#ifndef RTA_SERVER_GATEWAY_CONN_KEY_H
#define RTA_SERVER_GATEWAY_CONN_KEY_H

#include <stdint.h>

#define RTA__GW_CK_ID_LEN  12 /* connectionIds: 12 alphanumerics (conn.c) */
#define RTA__GW_CK_SID_LEN 8  /* the secret id, hex */
#define RTA__GW_CK_TAG_LEN 22 /* 16 bytes, base64url without padding */
#define RTA__GW_CK_LEN     (RTA__GW_CK_ID_LEN + 1 + RTA__GW_CK_SID_LEN + RTA__GW_CK_TAG_LEN)

/* key: NUL-terminated. 0 with the connectionId in id (NUL-terminated) and the secret id in
 * *sid; -1 when key does not have that form (id and *sid then untouched). The tag is checked
 * for its alphabet only: whether it verifies is the caller's MAC check. */
int rta__gw_conn_key_parse(const char *key, char id[RTA__GW_CK_ID_LEN + 1], uint32_t *sid);

#endif
