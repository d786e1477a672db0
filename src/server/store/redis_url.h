/* store/redis_url.h: where the cluster's Redis is, from rtauthd's and the CLI's settings:
 * `--redis redis://[user:pass@]host:port[/db]` and `--redis-sentinel host:port,...` with
 * `--redis-master NAME`. Pure parsing: no I/O, no allocation.
 *
 * Must never: put a password in an error message (messages name the setting and the part
 * that is wrong, never the credentials). */
#ifndef RTA_SERVER_STORE_REDIS_URL_H
#define RTA_SERVER_STORE_REDIS_URL_H

#include <stddef.h>

#include "rtauth/error.h"

#define RTA_REDIS_HOST_MAX 255
#define RTA_REDIS_CRED_MAX 255
#define RTA_REDIS_MAX_SENTINELS 8
#define RTA_REDIS_DEFAULT_PORT 6379
#define RTA_REDIS_DEFAULT_SENTINEL_PORT 26379

typedef struct rta_redis_addr {
    char host[RTA_REDIS_HOST_MAX + 1]; /* a name or an address; IPv6 without brackets */
    int port;
} rta_redis_addr;

/* Everything needed to reach the primary. Plain data, copied freely (it holds a password:
 * wipe copies you drop with rta_redis_target_clear). */
typedef struct rta_redis_target {
    rta_redis_addr addr;              /* from --redis; host "" when only Sentinel is used */
    char user[RTA_REDIS_CRED_MAX + 1]; /* ACL user, "" for none (AUTH with the password only) */
    char password[RTA_REDIS_CRED_MAX + 1]; /* "" for none */
    int db;                           /* SELECT db, 0..15 by default configs; we accept 0..1023 */
    rta_redis_addr sentinels[RTA_REDIS_MAX_SENTINELS];
    size_t sentinel_count;            /* 0: connect to addr directly */
    char master_name[RTA_REDIS_HOST_MAX + 1]; /* Sentinel's name for the primary */
} rta_redis_target;

/* Parses a redis:// URL into t (other fields untouched). The user, password and db are
 * optional; the port defaults to 6379; user and password may be %-encoded. The host may be
 * empty ("redis://:pw@/2") only when allow_empty_host is set (credentials and db for a
 * Sentinel-managed primary). Returns 0 or 40003 with err naming what is wrong. */
int rta_redis_url_parse(const char *url, int allow_empty_host, rta_redis_target *t,
                        rta_error *err);

/* Parses "host:port,host:port" (port defaults to 26379; "[::1]:26379" for IPv6) into
 * t->sentinels. Returns 0 or 40003. */
int rta_redis_sentinels_parse(const char *list, rta_redis_target *t, rta_error *err);

/* Parses one "host[:port]" into a (port defaults to default_port). Returns 0 or 40003. */
int rta_redis_addr_parse(const char *s, size_t len, int default_port, rta_redis_addr *a,
                         rta_error *err);

/* "host:port" (brackets around an IPv6 host) into out, for logs. Never credentials. */
void rta_redis_addr_format(const rta_redis_addr *a, char *out, size_t size);

/* Wipes the credentials. */
void rta_redis_target_clear(rta_redis_target *t);

#endif
