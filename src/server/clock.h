/* clock.h: the server's clock: milliseconds since the epoch, the time every token decision is
 * made against (issue, expiry, revocation, TokenRequest windows). The wall clock, because
 * tokens carry wall-clock times that other processes and clients read. */
#ifndef RTA_SERVER_CLOCK_H
#define RTA_SERVER_CLOCK_H

#include <stdint.h>

int64_t rta_clock_now(void);

#endif
