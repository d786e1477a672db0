/* store/redis_functions.h: the Redis Functions library that cluster mode's writes go through
 * (Redis 7 FUNCTION LOAD; docs/cluster.md). Each write that must be atomic, or that must
 * reach the other nodes, is one function call.
 *
 * Versions (rolling upgrades): a node loads its library with FUNCTION LOAD REPLACE at every
 * (re)connect. Function names are global in Redis, not per library, so the version is in the
 * library's name AND in every function's name (rtauthd_v2: rt_ch_publish_v2, ...): nodes of
 * two versions then run side by side on one Redis, each calling its own functions, and a
 * node never replaces what an older or newer node calls. Any change to a function's
 * arguments, replies or effects takes the next version (RTA_REDIS_VERSION). rtauthd_v1 (the
 * first cluster release) named its functions without the suffix; it can stay loaded beside
 * this one. docs/cluster.md says how to drop a version no node uses any more.
 *
 * The functions (each name below takes the "_v<N>" suffix, RTA_REDIS_FN):
 *
 *   rt_ctl_append  KEYS seq, log            ARGV channel, maxlen, type, body
 *                  -> {seq, stamp}: INCR, XADD <seq>-0 {t, b, s}, PUBLISH the doorbell
 *   rt_rev_apply   KEYS rev:<app>, rev:exp, seq, log
 *                  ARGV channel, maxlen, keyName, body, n, (target, issuedBefore, appliesAt,
 *                  expires) x n -> {seq, stamp}; merges a stored (key, target, issuedBefore):
 *                  the earlier appliesAt, the later expiry
 *   rt_rev_purge   KEYS rev:exp             ARGV now, rev key prefix, limit -> removed
 *   rt_epoch       KEYS epoch               ARGV candidate id, seen_before (0|1)
 *                  -> {value, created (0|1)}; birth is Redis TIME
 *   rt_app_create  KEYS apps, keys, ver, app, app keys, key x n
 *                  ARGV appId, account, created, sandbox, maxc, maxpc, n,
 *                  (name, secret, capability, revocable, enabled, created) x n
 *   rt_app_delete  KEYS apps, keys, ver, app, app keys, rev:<app>, rev:exp
 *                  ARGV appId, key prefix
 *   rt_key_add     KEYS app, app keys, keys, key, ver
 *                  ARGV name, appId, secret, capability, revocable, enabled, created
 *   rt_app_limits  KEYS app, ver            ARGV maxc, maxpc (negative: unchanged)
 *   rt_key_enable  KEYS key, ver            ARGV enabled
 *   rt_secret_add  KEYS secrets, ver        ARGV id, value, created
 *   rt_ch_publish  KEYS m, log, i:<msgId>   ARGV channel, payload, maxlen, log ttl ms,
 *                  id window ms, meta ttl ms -> {serial, epoch, duplicate (0|1)}: a message
 *                  already published under msgId gets its serial back, nothing else happens;
 *                  else HINCRBY s, XADD <s>-0 {d}, PUBLISH "<s>:<epoch>:<payload>"
 * Refusals are error replies "RTA_EXISTS ..." and "RTA_NOTFOUND ...".
 */
#ifndef RTA_SERVER_STORE_REDIS_FUNCTIONS_H
#define RTA_SERVER_STORE_REDIS_FUNCTIONS_H

#define RTA_REDIS_VERSION "v2"
#define RTA_REDIS_LIBRARY "rtauthd_" RTA_REDIS_VERSION
/* A function's name in this version: RTA_REDIS_FN("rt_ch_publish") is "rt_ch_publish_v2". */
#define RTA_REDIS_FN(name) name "_" RTA_REDIS_VERSION

/* The library's source, for FUNCTION LOAD REPLACE. */
extern const char rta_redis_functions_source[];

#endif
