/* store/private_files.h: owner-only permissions for what holds secrets: the data directory, the
 * database and its -wal/-shm files, the nonce journal, the dev-key file (and the checks the
 * KEK file gets in store/secret_box.c).
 *
 * An existing directory or file that group or others can access is tightened (directories
 * to 0700, files to 0600) with a warning in the log when this process's user owns it. When
 * it does not (chmod on another user's path is not ours to do, even as root), or chmod
 * fails, the call fails with an error naming the path and its mode: the caller must then
 * refuse to run rather than keep secrets where others can read them.
 *
 * Must never: widen a mode, or follow through with a path it could not make private. */
#ifndef RTA_SERVER_PRIVATE_FILES_H
#define RTA_SERVER_PRIVATE_FILES_H

#include "rtauth/error.h"

/* dir, created 0700 when create is set and it is missing (its parent must exist), made
 * owner-only if it exists. Returns 0, or 50000 with err naming dir (and its mode). */
int rta_private_dir(const char *dir, int create, rta_error *err);

/* An existing regular file made owner-only. A missing file is 0 unless must_exist. Returns
 * 0, or 50000 with err naming path (and its mode). */
int rta_private_file(const char *path, int must_exist, rta_error *err);

#endif
