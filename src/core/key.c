/* key.c: API key parsing; see key.h. */
#include "key.h"

#include <openssl/crypto.h>
#include <string.h>

static int id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

int rta_key_id_ok(const char *s, size_t n)
{
    if (n == 0 || n > RTA_KEY_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!id_char(s[i])) return 0;
    return 1;
}

int rta_key_name_check(const char *s, size_t len, char app_id[RTA_KEY_ID_MAX + 1], rta_error *err)
{
    const char *dot = memchr(s, '.', len);
    if (!dot)
        return rta_error_set(err, RTA_ERR_INVALID_CREDENTIAL,
                             "Invalid key name: expected appId.keyId");
    size_t app_len = (size_t)(dot - s);
    if (!rta_key_id_ok(s, app_len) || !rta_key_id_ok(dot + 1, len - app_len - 1))
        return rta_error_set(err, RTA_ERR_INVALID_CREDENTIAL,
                             "Invalid key name: appId and keyId must be 1-%d characters of "
                             "A-Z a-z 0-9 _ -",
                             RTA_KEY_ID_MAX);
    if (app_id) {
        memcpy(app_id, s, app_len);
        app_id[app_len] = '\0';
    }
    return 0;
}

int rta_key_parse(const char *s, size_t len, rta_key *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return rta_error_set(err, RTA_ERR_INVALID_CREDENTIAL,
                             "Invalid key: expected appId.keyId:secret");
    size_t name_len = (size_t)(colon - s);
    int rc = rta_key_name_check(s, name_len, out->app_id, err);
    if (rc) return rc;
    const char *secret = colon + 1;
    size_t secret_len = len - name_len - 1;
    if (secret_len == 0 || secret_len > RTA_KEY_SECRET_MAX)
        return rta_error_set(err, RTA_ERR_INVALID_CREDENTIAL,
                             "Invalid key %.*s: the secret must be 1-%d characters", (int)name_len,
                             s, RTA_KEY_SECRET_MAX);
    for (size_t i = 0; i < secret_len; i++) {
        unsigned char c = (unsigned char)secret[i];
        if (c <= 0x20 || c >= 0x7f || c == ':' || c == '.') {
            rta_key_wipe(out);
            return rta_error_set(err, RTA_ERR_INVALID_CREDENTIAL,
                                 "Invalid key %.*s: the secret has a character that is not "
                                 "allowed",
                                 (int)name_len, s);
        }
    }
    memcpy(out->key_name, s, name_len);
    memcpy(out->secret, secret, secret_len);
    out->secret_len = secret_len;
    return 0;
}

void rta_key_wipe(rta_key *key)
{
    OPENSSL_cleanse(key, sizeof(*key));
}
