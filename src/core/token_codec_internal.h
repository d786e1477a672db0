/* token_codec_internal.h: field readers shared by token_codec.c and revocation_codec.c, so both
 * apply the same strictness rules (see token_codec.h): null is absent, wrong types are 40001
 * naming the field, numbers must be integers. Not part of any public API. */
#ifndef RTA_CORE_TOKEN_CODEC_INTERNAL_H
#define RTA_CORE_TOKEN_CODEC_INTERNAL_H

#include <stdint.h>

#include "codec.h"

#define RTA__F_REQUIRED 1u /* absent or null: 40001 "<field> is required" */
#define RTA__F_RANGE    2u /* a non-integral or out-of-range number is 40003, not 40001 */
#define RTA__F_TTL      4u /* may also be a string of decimal digits (what ably-js signs) */

/* 1 when n is a missing key or an explicit null: both mean "absent". */
int rta__node_absent(rta_node n);

/* Reads map[key] as an integer into *out and sets *present (0 when absent or null).
 * name is the field as it appears in error messages (NULL: the key). */
int rta__read_int(rta_node map, const char *key, const char *name, unsigned flags, int64_t *out,
                  int *present, rta_error *err);

/* Reads map[key] as a string of at most max_len bytes into a fresh heap string (*out stays
 * NULL when absent or null and not required). */
int rta__read_str(rta_node map, const char *key, const char *name, unsigned flags, size_t max_len,
                  char **out, rta_error *err);

#endif
