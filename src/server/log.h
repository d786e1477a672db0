/* log.h: rtauthd's log: leveled lines on stderr, one line per event.
 *
 * Rule: nothing secret is ever passed to these functions: no key secrets, no server secrets,
 * no full tokens or MACs. Name keys by key name, connections by connectionId, tokens by
 * rta_token_ref() (auth/token_service.h). */
#ifndef RTA_SERVER_LOG_H
#define RTA_SERVER_LOG_H

#include <stddef.h>

typedef enum { RTA_LOG_ERROR = 0, RTA_LOG_WARN, RTA_LOG_INFO, RTA_LOG_DEBUG } rta_log_level;

void rta_log_set_level(rta_log_level level);
rta_log_level rta_log_get_level(void);
/* "error", "warn", "info", "debug"; returns -1 for anything else. */
int rta_log_level_parse(const char *s);
void rta_log(rta_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rta_log_error(...) rta_log(RTA_LOG_ERROR, __VA_ARGS__)
#define rta_log_warn(...) rta_log(RTA_LOG_WARN, __VA_ARGS__)
#define rta_log_info(...) rta_log(RTA_LOG_INFO, __VA_ARGS__)
#define rta_log_debug(...) rta_log(RTA_LOG_DEBUG, __VA_ARGS__)

#endif
