/* rtauth/capability.h: Ably capabilities for applications (TC2, TD5, TE3): parse one (from a
 * TokenDetails or TokenRequest, or your own), print its canonical text, intersect two, and ask
 * whether it allows an operation on a channel, without writing a parser. The same code the
 * SDK signs TokenRequests with and rtauthd checks every operation with (src/core/capability),
 * so the answers agree with the server's.
 *
 * A capability is a JSON object of resource patterns to operation lists, e.g.
 * {"chat:*":["publish","subscribe"],"[*]*":["history"]}. Patterns: "*" alone matches every
 * ordinary channel; segments split on ':' and a trailing "*" segment matches one or more
 * segments ("chat:*" matches "chat:a" and "chat:a:b", not "chat"); a "*" segment elsewhere
 * matches one segment; "[*]" in front matches every channel type, "[*]*" everything.
 * Operations: publish, subscribe, presence, history, stats, channel-metadata, push-subscribe,
 * push-admin, object-publish, object-subscribe, annotation-publish, annotation-subscribe,
 * message-update-own/-any, message-delete-own/-any, privileged-headers, or "*" for all.
 *
 * Ownership: an rta_cap is opaque, immutable once made (share it between threads freely) and
 * freed with rta_cap_free. Strings returned are heap strings the caller frees with free().
 * Errors: functions return 0 or an Ably error code and fill err (may be NULL; cleared on
 * success). NULL pointer arguments are 40000 (error.h).
 */
#ifndef RTAUTH_CAPABILITY_H
#define RTAUTH_CAPABILITY_H

#include "rtauth/export.h"

#include "rtauth/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rta_cap rta_cap;

/* Parses JSON text (NUL-terminated, at most 64 KiB, 1000 resources). Errors (40000): not an
 * object, a value that is not a list of operation names, an unknown or empty operation list,
 * "*" mixed with other operations, an empty resource. "{}" is valid and allows nothing.
 * On success *out is the new capability (caller frees); on failure *out is NULL. */
RTA_EXTERN int rta_cap_parse(const char *json, rta_cap **out, rta_error *err);

/* NULL is a no-op. */
RTA_EXTERN void rta_cap_free(rta_cap *cap);

/* The canonical JSON text (RSA9f: no whitespace, resources and operations sorted as ably-js
 * does), the text a TokenRequest signs. *out is a heap string (caller frees), NULL on error.
 * Returns 0, 40000 or 50000. */
RTA_EXTERN int rta_cap_canonical(const rta_cap *cap, char **out, rta_error *err);

/* What a token for `requested` gets from a key whose capability is `key` (TE3, the server's
 * rule): the more specific pattern of each pair that overlaps, with the operations both
 * allow. Errors: 40160 when nothing is left ("Requested capability not permitted by key").
 * On success *out is the new capability (caller frees); on failure *out is NULL. */
RTA_EXTERN int rta_cap_intersect(const rta_cap *key, const rta_cap *requested, rta_cap **out,
                                 rta_error *err);

/* 1 when cap allows operation (a name from the list above, not "*") on channel, 0 when it
 * does not, or when an argument is NULL or the operation unknown. Never allocates. */
RTA_EXTERN int rta_cap_allows(const rta_cap *cap, const char *operation, const char *channel);

#ifdef __cplusplus
}
#endif
#endif
