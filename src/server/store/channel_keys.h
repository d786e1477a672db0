/* store/channel_keys.h: the Redis names of a realtime channel in cluster mode
 * (docs/cluster.md, "Channels across nodes"; design 6.3) and the text of its PUB/SUB
 * messages. Pure: builds and parses strings, no I/O, no allocation.
 *
 * Every key of one channel carries the hash tag {c:<appId>:<name>}, so a Function may touch
 * them together (one Redis Cluster slot). The name is escaped inside the tag ('%' '{' '}'
 * become %25 %7B %7D): the tag then always ends where the name ends, and two channels
 * never share a key.
 *
 *   rt:{c:<app>:<name>}          PUB/SUB  "<serial>:<epoch>:<payload>"
 *   rt:{c:<app>:<name>}:m        HASH     s: the last serial, e: the channel's epoch
 *   rt:{c:<app>:<name>}:log      STREAM   entries "<serial>-0" {d: payload}
 *   rt:{c:<app>:<name>}:i:<id>   STRING   the serial a message id was given (idempotency)
 *
 * The payload is the publish as a msgpack ProtocolMessage (MESSAGE: id, connectionId,
 * timestamp, messages), written and read by server/cluster_channels.c.
 */
#ifndef RTA_SERVER_STORE_CHANNEL_KEYS_H
#define RTA_SERVER_STORE_CHANNEL_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* Room for any channel key: "rt:{c:" + app id + ':' + a 1024-byte name escaped (x3) + "}"
 * + the longest suffix (":i:" + a message id of at most RTA_CK_ID_MAX). */
#define RTA_CK_ID_MAX    128
#define RTA_CK_MAX       (16 + 128 + 3 * 1024 + 8 + RTA_CK_ID_MAX)
#define RTA_CK_EPOCH_MAX 32

/* The channel's PUB/SUB name plus suffix ("", ":m", ":log", ":i:"), into out. Returns the
 * length, or 0 when an argument is empty or out is too small. */
size_t rta_ck_key(char *out, size_t size, const char *app_id, const char *channel,
                  const char *suffix);

/* Splits a PUB/SUB message "<serial>:<epoch>:<payload>": serial > 0, epoch 1..31 bytes of
 * [0-9A-Za-z] copied NUL-terminated into epoch; payload points into msg. Returns 0 or -1. */
int rta_ck_message_parse(const char *msg, size_t len, uint64_t *serial,
                         char epoch[RTA_CK_EPOCH_MAX], const char **payload, size_t *payload_len);

/* The shard (0..n-1) a channel's keys and PUB/SUB channel live on with --redis-shard
 * (docs/cluster.md, "Channel shards"), from any of its names (a key or its PUB/SUB channel:
 * only the hash tag, the bytes between the first '{' and the next '}', counts). Every node
 * must place a channel alike, so this is fixed for good: h = 64-bit FNV-1a of the tag's
 * bytes (offset basis 14695981039346656037, prime 1099511628211), then the jump consistent
 * hash of Lamping and Veach (2014) of h over n buckets (adding a shard moves only 1/(n+1) of
 * the channels). n <= 1, or a name without a tag: 0. */
uint32_t rta_ck_shard(const char *name, size_t len, uint32_t n);

#endif
