/* store/private_files.c: owner-only directories and files; see store/private_files.h. Names paths and
 * modes in its errors and log lines, never contents. */
#include "server/store/private_files.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/log.h"

/* Tightens an existing path whose stat is st to keep (0700 or 0600). */
static int make_private(const char *path, const struct stat *st, mode_t keep, rta_error *err)
{
    unsigned mode = (unsigned)(st->st_mode & 07777);
    if ((mode & 077) == 0) return 0;
    if (st->st_uid != geteuid())
        return rta_error_set(err, RTA_ERR_INTERNAL,
                             "%s is mode %04o (group/others can access it) and belongs to uid "
                             "%u, not to this process (uid %u): it holds secrets; run as its "
                             "owner or make it owner-only (chmod %o %s)",
                             path, mode, (unsigned)st->st_uid, (unsigned)geteuid(), (unsigned)keep,
                             path);
    mode_t to = (mode_t)(mode & keep);
    if (chmod(path, to) != 0)
        return rta_error_set(err, RTA_ERR_INTERNAL,
                             "%s is mode %04o (group/others can access it) and chmod failed: "
                             "%s; it holds secrets: make it owner-only (chmod %o %s)",
                             path, mode, strerror(errno), (unsigned)keep, path);
    rta_log_event(RTA_LOG_WARN, "store.warning", NULL, "%s was mode %04o, accessible to group/others; it holds secrets: now %04o "
                 "(owner-only)",
                 path, mode, (unsigned)to);
    return 0;
}

int rta_private_dir(const char *dir, int create, rta_error *err)
{
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST)
        return rta_error_set(err, RTA_ERR_INTERNAL, "mkdir %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0)
        return rta_error_set(err, RTA_ERR_INTERNAL, "stat %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return rta_error_set(err, RTA_ERR_INTERNAL, "%s is not a directory", dir);
    return make_private(dir, &st, 0700, err);
}

int rta_private_file(const char *path, int must_exist, rta_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (!must_exist && errno == ENOENT) return 0;
        return rta_error_set(err, RTA_ERR_INTERNAL, "stat %s: %s", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        return rta_error_set(err, RTA_ERR_INTERNAL, "%s is not a regular file", path);
    return make_private(path, &st, 0600, err);
}
