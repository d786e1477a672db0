/* rtauth/export.h: what librtauth exports, and compiler attributes behind macros, so that
 * every public header stays plain C11 and C++ for any compiler.
 *
 *   RTA_EXTERN            marks each public function: the shared library is built with hidden
 *                         visibility and exports exactly these (as libuv's UV_EXTERN and
 *                         nats.c's NATS_EXTERN); tests/headers checks the list.
 *   RTA_PRINTF(fmt, args) printf-style format checking where the compiler has it.
 */
#ifndef RTAUTH_EXPORT_H
#define RTAUTH_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define RTA_EXTERN __attribute__((visibility("default")))
#define RTA_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define RTA_EXTERN
#define RTA_PRINTF(fmt, args)
#endif

#endif
