/* malloc_tuning.h: glibc malloc settings rtauthd needs and can only get from its environment.
 *
 * glibc keeps, per thread, a cache ("tcache") of up to 7 freed chunks of every small size
 * class. malloc_trim never empties it, and those chunks count as in use. After a wave of
 * connections closes they are the last ones freed, scattered over every page the wave used,
 * and each keeps its page resident: about 1.5 MiB per worker after 16,700 connections, most
 * of what a worker kept after make bench-scale's close (issue 19, docs/performance.md). The
 * cache's size is a tunable read only when a program starts (GLIBC_TUNABLES); mallopt cannot
 * set it. So rtauthd starts itself again, once, with glibc.malloc.tcache_count=0 added.
 * Measured, requestToken throughput did not change (malloc's bins serve those sizes).
 *
 * Skipped when GLIBC_TUNABLES already names tcache_count (the operator chose; "...=7" is
 * glibc's default), under valgrind (it would not follow the exec), in sanitizer builds (their
 * allocator is not glibc's), and when the exec fails (rtauthd then runs as it is).
 */
#ifndef RTA_SERVER_MALLOC_TUNING_H
#define RTA_SERVER_MALLOC_TUNING_H

/* Call first in main(), before any thread or descriptor exists. Returns only if it did not
 * restart the process. */
void rta_malloc_tuning_apply(char **argv);

#endif
