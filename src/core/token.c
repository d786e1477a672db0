/* token.c: lifetime of the token types declared in rtauth/token.h: _clear() frees the strings a
 * struct owns and zeroes it; _copy() makes a deep copy that owns its own strings.
 * No parsing or encoding here (that is token_codec.c and revocation_codec.c). */
#include "rtauth/token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/token_codec.h"
#include "rtauth/error.h"

/* The strings of a struct the library filled are its own malloc()ed copies. */
#define FREE_OWNED(p) free((void *)(uintptr_t)(p))

/* A NULL source stays NULL ("absent"); returns 0, or -1 when out of memory. */
static int dup_opt(const char *s, char **out)
{
    *out = NULL;
    if (!s) return 0;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p) return -1;
    memcpy(p, s, n);
    *out = p;
    return 0;
}

/* The same into a const field: the input structs say the library only reads their strings
 * (token.h), yet the copies it makes are its own, which _clear frees through FREE_OWNED. */
static int dup_const(const char *s, const char **out)
{
    char *p;
    int rc = dup_opt(s, &p);
    *out = p;
    return rc;
}

void rta_token_params_clear(rta_token_params *p)
{
    if (!p) return;
    FREE_OWNED(p->capability);
    FREE_OWNED(p->client_id);
    memset(p, 0, sizeof(*p));
}

void rta_token_request_clear(rta_token_request *r)
{
    if (!r) return;
    FREE_OWNED(r->key_name);
    FREE_OWNED(r->capability);
    FREE_OWNED(r->client_id);
    FREE_OWNED(r->nonce);
    FREE_OWNED(r->mac);
    memset(r, 0, sizeof(*r));
}

void rta_token_details_clear(rta_token_details *d)
{
    if (!d) return;
    free(d->token);
    free(d->key_name);
    free(d->capability);
    free(d->client_id);
    memset(d, 0, sizeof(*d));
}

void rta_revocation_target_clear(rta_revocation_target *t)
{
    if (!t) return;
    FREE_OWNED(t->type);
    FREE_OWNED(t->value);
    memset(t, 0, sizeof(*t));
}

void rta_revoke_request_clear(rta_revoke_request *r)
{
    if (!r) return;
    for (size_t i = 0; r->targets && i < r->target_count; i++)
        free(r->targets[i]);
    free(r->targets);
    memset(r, 0, sizeof(*r));
}

void rta_revocation_batch_clear(rta_revocation_batch *b)
{
    if (!b) return;
    for (size_t i = 0; b->results && i < b->result_count; i++) {
        free(b->results[i].target);
        free(b->results[i].error_message);
    }
    free(b->results);
    memset(b, 0, sizeof(*b));
}

/* Each copy is built in a local first, so src may alias dst and a failed copy leaves dst
 * empty rather than half-filled. The dup_opt() calls are joined with a bitwise | rather than
 * ||, so every one runs and each pointer in the local is either a fresh copy or NULL before
 * a failure clears it. */

int rta_token_params_copy(const rta_token_params *src, rta_token_params *dst)
{
    if (!src || !dst) {
        if (dst) memset(dst, 0, sizeof(*dst));
        return RTA_ERR_BAD_REQUEST;
    }
    rta_token_params t = *src;
    if (dup_const(src->capability, &t.capability) | dup_const(src->client_id, &t.client_id)) {
        rta_token_params_clear(&t);
        memset(dst, 0, sizeof(*dst));
        return RTA_ERR_INTERNAL;
    }
    *dst = t;
    return 0;
}

int rta_token_request_copy(const rta_token_request *src, rta_token_request *dst)
{
    if (!src || !dst) {
        if (dst) memset(dst, 0, sizeof(*dst));
        return RTA_ERR_BAD_REQUEST;
    }
    rta_token_request t = *src;
    if (dup_const(src->key_name, &t.key_name) | dup_const(src->capability, &t.capability) |
        dup_const(src->client_id, &t.client_id) | dup_const(src->nonce, &t.nonce) |
        dup_const(src->mac, &t.mac)) {
        rta_token_request_clear(&t);
        memset(dst, 0, sizeof(*dst));
        return RTA_ERR_INTERNAL;
    }
    *dst = t;
    return 0;
}

int rta_token_details_copy(const rta_token_details *src, rta_token_details *dst)
{
    if (!src || !dst) {
        if (dst) memset(dst, 0, sizeof(*dst));
        return RTA_ERR_BAD_REQUEST;
    }
    rta_token_details t = *src;
    if (dup_opt(src->token, &t.token) | dup_opt(src->key_name, &t.key_name) |
        dup_opt(src->capability, &t.capability) | dup_opt(src->client_id, &t.client_id)) {
        rta_token_details_clear(&t);
        memset(dst, 0, sizeof(*dst));
        return RTA_ERR_INTERNAL;
    }
    *dst = t;
    return 0;
}
