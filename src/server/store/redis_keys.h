/* store/redis_keys.h: the Redis key layout of cluster mode (docs/cluster.md, "Key layout"),
 * and the text forms of the values kept there. Pure: builds and parses strings, no I/O.
 *
 * Every key starts with "rt:". Keys that scripts touch together carry the hash tag {g}, so
 * they fall in one Redis Cluster slot (v1 runs on one primary; the tag keeps Cluster
 * possible). Nonce markers are written alone and carry no tag, so they spread over slots.
 *
 *   rt:{g}:epoch             STRING  "<id>:<birthMs>:<loss 0|1>", created by the first node
 *   rt:{g}:ver               STRING  admin version: INCR on every app, key or secret write
 *   rt:{g}:apps              SET     app ids
 *   rt:{g}:app:<appId>       HASH    the app record
 *   rt:{g}:app:<appId>:keys  SET     its key names
 *   rt:{g}:keys              SET     every key name
 *   rt:{g}:key:<keyName>     HASH    the key record (secret sealed under the KEK, if any)
 *   rt:{g}:secrets           HASH    s:<id> -> server secret (sealed, if a KEK), c:<id> -> ms
 *   rt:{g}:kek               STRING  a label sealed under the KEK: secrets here are sealed
 *   rt:{g}:rev:<appId>       HASH    "<keyName> <issuedBefore> <target>" -> "<appliesAt> <exp>"
 *   rt:{g}:rev:exp           ZSET    the same fields, scored by their expiry (purge)
 *   rt:{g}:ctl:seq           STRING  the control log's last sequence number
 *   rt:{g}:ctl:log           STREAM  entries "<seq>-0" {t: type, b: body, s: stamp}
 *   rt:{g}:ctl               PUB/SUB the control log's doorbell: "<seq> <stamp> <type> <body>"
 *   rt:{g}:node:<nodeId>     PUB/SUB a node's own heartbeat (its subscriber's watchdog)
 *   rt:{g}:claims            PUB/SUB "<connectionId> <nodeId>": a connection resumed on that
 *                            node; any other node that has it drops it
 *   rt:n:<keyName>:<h>       STRING  a used TokenRequest nonce, h = hex(SHA-256(nonce))[0:32]
 */
#ifndef RTA_SERVER_STORE_REDIS_KEYS_H
#define RTA_SERVER_STORE_REDIS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define RTA_RK_EPOCH "rt:{g}:epoch"
#define RTA_RK_VERSION "rt:{g}:ver"
#define RTA_RK_APPS "rt:{g}:apps"
#define RTA_RK_KEYS "rt:{g}:keys"
#define RTA_RK_SECRETS "rt:{g}:secrets"
#define RTA_RK_KEK "rt:{g}:kek"
#define RTA_RK_REV_EXPIRY "rt:{g}:rev:exp"
#define RTA_RK_REV_PREFIX "rt:{g}:rev:"
#define RTA_RK_KEY_PREFIX "rt:{g}:key:"
#define RTA_RK_CTL_SEQ "rt:{g}:ctl:seq"
#define RTA_RK_CTL_LOG "rt:{g}:ctl:log"
#define RTA_RK_CTL_CHANNEL "rt:{g}:ctl"
/* PUB/SUB: "<connectionId> <nodeId>": the node resumed that connection (gateway/adopt.c) */
#define RTA_RK_CLAIM_CHANNEL "rt:{g}:claims"

/* Large enough for every key below (names are at most RTA_KEY_NAME_MAX, ids RTA_KEY_ID_MAX,
 * node ids RTA_NODE_ID_MAX). */
#define RTA_RK_MAX 256
#define RTA_NODE_ID_MAX 64

/* Each returns the length written, or 0 when out is too small or an argument is empty. */
size_t rta_rk_app(char *out, size_t size, const char *app_id);
size_t rta_rk_app_keys(char *out, size_t size, const char *app_id);
size_t rta_rk_key(char *out, size_t size, const char *key_name);
size_t rta_rk_rev(char *out, size_t size, const char *app_id);
size_t rta_rk_node_channel(char *out, size_t size, const char *node_id);
/* The nonce marker of (key_name, nonce): the nonce is hashed so a key's length is bounded
 * whatever the client sent, and a nonce is never stored as it was sent. */
size_t rta_rk_nonce(char *out, size_t size, const char *key_name, const char *nonce);

/* 1 when s is a usable node id: 1..RTA_NODE_ID_MAX of [A-Za-z0-9_.-]. */
int rta_rk_node_id_ok(const char *s);

/* A revocation's field in rt:{g}:rev:<appId>: "<keyName> <issuedBefore> <target>". Key
 * names hold no space ([A-Za-z0-9_-.]), so the target (last) may hold anything. Returns the
 * length, 0 if it does not fit. */
size_t rta_rk_rev_field(char *out, size_t size, const char *key_name, int64_t issued_before,
                        const char *target);
/* Splits a field: key_name (NUL-terminated into key_out, key_size bytes), issued_before and
 * the target (a pointer into field, field_len - offset bytes, not NUL-terminated unless the
 * field is). Returns 0, or -1 if malformed. */
int rta_rk_rev_field_parse(const char *field, size_t field_len, char *key_out, size_t key_size,
                           int64_t *issued_before, const char **target, size_t *target_len);
/* "<appliesAt> <expires>" */
int rta_rk_rev_value_parse(const char *v, size_t len, int64_t *applies_at, int64_t *expires);

/* The epoch's value "<id>:<birthMs>:<loss>". Returns 0 or -1. */
typedef struct rta_rk_epoch {
    char id[48];
    int64_t birth; /* Redis TIME when the epoch was made, ms */
    int loss;      /* made after a node saw another epoch: Redis lost its data */
} rta_rk_epoch;
int rta_rk_epoch_parse(const char *v, size_t len, rta_rk_epoch *out);

/* A decimal int64 from s[0..len). Returns 0 or -1. */
int rta_rk_parse_i64(const char *s, size_t len, int64_t *out);

#endif
