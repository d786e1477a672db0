/* malloc_tuning.c: rtauthd restarts itself with glibc's tcache off; see malloc_tuning.h. */
#include "server/malloc_tuning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TCACHE_OFF "glibc.malloc.tcache_count=0"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* Set across the exec, so that the new process never starts itself again (glibc may rewrite
 * GLIBC_TUNABLES in place as it parses it), and removed there. */
#define RESTARTED "RTAUTHD_MALLOC_TUNED"

void rta_malloc_tuning_apply(char **argv)
{
    if (getenv(RESTARTED)) {
        unsetenv(RESTARTED);
        return;
    }
    if (SANITIZED || !argv || !argv[0]) return;
    const char *tunables = getenv("GLIBC_TUNABLES");
    if (tunables && strstr(tunables, "glibc.malloc.tcache_count")) return;
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) return; /* valgrind */
    char value[1024];
    int n = tunables && *tunables ? snprintf(value, sizeof(value), "%s:%s", tunables, TCACHE_OFF)
                                  : snprintf(value, sizeof(value), "%s", TCACHE_OFF);
    if (n < 0 || (size_t)n >= sizeof(value)) return;
    char *before = tunables ? strdup(tunables) : NULL;
    if (tunables && !before) return;
    /* Its own path, not /proc/self/exe: the process's name (ps, top, pgrep) comes from the
     * path exec'd. A binary replaced since start reads "... (deleted)": no restart then. */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len > 0 && (size_t)len < sizeof(self) - 1) {
        self[len] = '\0';
        if (!setenv("GLIBC_TUNABLES", value, 1) && !setenv(RESTARTED, "1", 1)) execv(self, argv);
    }
    /* no /proc, or the binary is gone: run as we are, with the environment as it was */
    unsetenv(RESTARTED);
    if (before) setenv("GLIBC_TUNABLES", before, 1);
    else unsetenv("GLIBC_TUNABLES");
    free(before);
}
