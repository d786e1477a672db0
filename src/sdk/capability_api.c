/* capability_api.c: rtauth/capability.h, the public face of core/capability (parse, canonical
 * text, intersect, allows). Holds no logic of its own: the core decides, so applications, the
 * SDK's TokenRequests and rtauthd's checks can never disagree. */
#include <stdlib.h>
#include <string.h>

#include "client.h" /* rta__finish */
#include "core/capability.h"
#include "rtauth/capability.h"

struct rta_cap {
    rta_capability c;
};

static int take(rta_capability *c, rta_cap **out, rta_error *err)
{
    rta_cap *cap = malloc(sizeof(*cap));
    if (!cap) {
        rta_capability_free(c);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    cap->c = *c;
    *out = cap;
    return 0;
}

static int parse_impl(const char *json, rta_cap **out, rta_error *err)
{
    if (out) *out = NULL;
    if (!json || !out) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    rta_capability c;
    int rc = rta_capability_parse(json, strlen(json), &c, err);
    return rc ? rc : take(&c, out, err);
}

int rta_cap_parse(const char *json, rta_cap **out, rta_error *err)
{
    return rta__finish(err, parse_impl(json, out, err));
}

void rta_cap_free(rta_cap *cap)
{
    if (!cap) return;
    rta_capability_free(&cap->c);
    free(cap);
}

static int canonical_impl(const rta_cap *cap, char **out, rta_error *err)
{
    if (out) *out = NULL;
    if (!cap || !out) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    rta_buf b = RTA_BUF_INIT;
    rta_capability_canonical(&cap->c, &b);
    if (b.oom || !(*out = rta_buf_detach(&b, NULL))) {
        rta_buf_free(&b);
        return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    }
    return 0;
}

int rta_cap_canonical(const rta_cap *cap, char **out, rta_error *err)
{
    return rta__finish(err, canonical_impl(cap, out, err));
}

static int intersect_impl(const rta_cap *key, const rta_cap *requested, rta_cap **out,
                          rta_error *err)
{
    if (out) *out = NULL;
    if (!key || !requested || !out) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    rta_capability c;
    int rc = rta_capability_intersect(&key->c, &requested->c, &c, err);
    return rc ? rc : take(&c, out, err);
}

int rta_cap_intersect(const rta_cap *key, const rta_cap *requested, rta_cap **out, rta_error *err)
{
    return rta__finish(err, intersect_impl(key, requested, out, err));
}

int rta_cap_allows(const rta_cap *cap, const char *operation, const char *channel)
{
    if (!cap || !operation || !channel) return 0;
    uint32_t op = rta_op_from_name(operation, strlen(operation));
    if (!op || op == RTA_OP_ALL) return 0;
    return rta_capability_allows(&cap->c, channel, strlen(channel), op);
}
