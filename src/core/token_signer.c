/* token_signer.c: createTokenRequest's core; see token_signer.h. */
#include "token_signer.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "capability.h"
#include "crypto.h"
#include "mac.h"

struct rta_token_signer {
    char key_name[RTA_KEY_NAME_MAX + 1];
    rta_hmac *hmac;
    char *memo_input;     /* last capability text given */
    char *memo_canonical; /* its canonical form */
};

rta_token_signer *rta_token_signer_new(const rta_key *key)
{
    rta_token_signer *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    memcpy(s->key_name, key->key_name, sizeof(s->key_name));
    s->hmac = rta_hmac_new(key->secret, key->secret_len);
    if (!s->hmac) {
        free(s);
        return NULL;
    }
    return s;
}

void rta_token_signer_free(rta_token_signer *s)
{
    if (!s) return;
    rta_hmac_free(s->hmac);
    free(s->memo_input);
    free(s->memo_canonical);
    free(s);
}

int rta_nonce_generate(char out[RTA_NONCE_LEN + 1])
{
    unsigned char raw[RTA_NONCE_LEN / 4 * 3];
    int rc = rta_random_bytes(raw, sizeof(raw));
    if (rc) return rc;
    rta_buf b;
    rta_buf_init_borrowed(&b, out, RTA_NONCE_LEN + 1);
    rta_base64_encode(&b, raw, sizeof(raw), RTA_BASE64_URL);
    return b.oom ? RTA_ERR_INTERNAL : 0;
}

/* Canonical capability for text, through the one-entry memo. Returns a fresh copy. */
static int canonical_capability(rta_token_signer *s, const char *text, const char **out,
                                rta_error *err)
{
    if (!s->memo_input || strcmp(s->memo_input, text) != 0) {
        char *canonical = NULL;
        int rc = rta_capability_canonicalise(text, strlen(text), &canonical, err);
        if (rc) return rc;
        char *input = strdup(text);
        if (!input) {
            free(canonical);
            return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        }
        free(s->memo_input);
        free(s->memo_canonical);
        s->memo_input = input;
        s->memo_canonical = canonical;
    }
    *out = strdup(s->memo_canonical);
    return *out ? 0 : rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
}

int rta_token_signer_sign(rta_token_signer *s, const rta_token_params *params, int64_t now_ms,
                          rta_token_request *out, rta_error *err)
{
    static const rta_token_params none;
    if (!params) params = &none;
    memset(out, 0, sizeof(*out));
    if (params->client_id && !params->client_id[0])
        return rta_error_set(err, RTA_ERR_INVALID_CLIENT_ID, "clientId can't be an empty string");
    if (params->ttl < 0)
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER, "ttl must be positive");
    int rc;
    if (params->capability && (rc = canonical_capability(s, params->capability, &out->capability, err)))
        return rc;
    char nonce[RTA_NONCE_LEN + 1];
    char mac[RTA_MAC_B64_LEN + 1];
    out->key_name = strdup(s->key_name);
    out->client_id = params->client_id ? strdup(params->client_id) : NULL;
    out->ttl = params->ttl;
    out->timestamp = params->timestamp ? params->timestamp : now_ms;
    if (!out->key_name || (params->client_id && !out->client_id)) goto oom;
    if ((rc = rta_nonce_generate(nonce))) goto fail;
    out->nonce = strdup(nonce);
    if (!out->nonce) goto oom;
    if ((rc = rta_token_request_compute_mac(out, s->hmac, mac))) goto fail;
    out->mac = strdup(mac);
    if (!out->mac) goto oom;
    return 0;
oom:
    rc = RTA_ERR_INTERNAL;
fail:
    rta_token_request_clear(out);
    return rta_error_set(err, rc, NULL);
}
