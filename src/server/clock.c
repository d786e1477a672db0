/* clock.c: see clock.h. */
#include "server/clock.h"

#include <time.h>

int64_t rta_clock_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}
