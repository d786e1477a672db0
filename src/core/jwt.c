/* jwt.c: Ably JWTs, HS256 only: parse, verify, sign; see jwt.h.
 *
 * What this file must never do: accept any alg but "HS256", trust a claim before
 * rta_jwt_verify() has checked the signature (kid only selects the key), compare a MAC with
 * memcmp, or put the secret, the signature or a computed MAC into an error message.
 *
 * Parsing is strict on purpose: one JWT has one encoding. Each segment must be canonical
 * base64url without padding, header and payload must be JSON objects without duplicate
 * keys (so a second "alg" cannot hide behind the first), and every claim we read has a
 * checked type. The signature is checked over the received "header.payload" bytes exactly,
 * never over a re-serialisation.
 */
#include "jwt.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "codec.h"
#include "crypto.h"

/* base64url of 32 bytes without padding: 42 full sextets, then one holding the last 4 bits
 * and 2 zero bits. */
#define SIG_B64_LEN 43

static int invalid(rta_error *err, const char *what)
{
    return rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid JWT: %s", what);
}

static int is_b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int rta_jwt_looks_like(const char *s, size_t len)
{
    if (!s) return 0;
    /* Exactly two dots, no empty segment, nothing but the base64url alphabet. A native
     * token "<appId>.<base64url>" has one dot, so it never routes here. */
    size_t dots = 0, seg = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (seg == 0 || ++dots > 2) return 0;
            seg = 0;
        } else if (is_b64url_char(c)) {
            seg++;
        } else {
            return 0;
        }
    }
    return dots == 2 && seg > 0;
}

/* The secret-derived MAC must not outlive its use: a compiler may drop a plain memset of a
 * dead buffer, a store through a volatile pointer it may not. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* Decodes one base64url segment and parses it as a JSON object. *doc is NULL on failure. */
static int decode_object(const char *seg, size_t n, const char *name, rta_doc **doc, rta_error *err)
{
    *doc = NULL;
    unsigned char *raw = malloc(rta_base64_decoded_max(n));
    if (!raw) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    long raw_len = rta_base64_decode(seg, n, raw, RTA_BASE64_URL);
    if (raw_len < 0) {
        free(raw);
        return rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid JWT: %s is not base64url", name);
    }
    /* The codec's own message would quote the input; ours names only the segment. */
    rta_error perr;
    int rc = rta_doc_parse(doc, RTA_FORMAT_JSON, raw, (size_t)raw_len, NULL, &perr);
    free(raw);
    if (rc == RTA_ERR_INTERNAL) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (rc) {
        *doc = NULL;
        return rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid JWT: %s is not JSON", name);
    }
    if (rta_node_kind(rta_doc_root(*doc)) != RTA_NODE_MAP) {
        rta_doc_free(*doc);
        *doc = NULL;
        return rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid JWT: %s is not a JSON object",
                             name);
    }
    return 0;
}

/* Copies an optional string member into *dst (left NULL when absent). Present with any
 * other type, null included, is malformed: a null capability must not silently widen to
 * the key's capability. */
static int opt_string(rta_node obj, const char *name, char **dst, rta_error *err)
{
    rta_node n = rta_node_get(obj, name);
    rta_node_type kind = rta_node_kind(n);
    if (kind == RTA_NODE_ABSENT) return 0;
    if (kind != RTA_NODE_STR)
        return rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid JWT: %s must be a string", name);
    int rc = rta_node_strdup(n, RTA_JWT_MAX_LEN, name, dst, NULL);
    if (rc == RTA_ERR_INTERNAL) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    if (rc) return rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid JWT: %s is malformed", name);
    return 0;
}

/* A required NumericDate in whole seconds. An integral float (1700000000.0) is accepted,
 * as JavaScript has one number type; a fraction, a string or null is not. */
static int req_seconds(rta_node payload, const char *name, int64_t *out, rta_error *err)
{
    rta_node n = rta_node_get(payload, name);
    rta_node_type kind = rta_node_kind(n);
    if (kind == RTA_NODE_ABSENT)
        return rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid JWT: %s must be specified", name);
    if ((kind != RTA_NODE_INT && kind != RTA_NODE_FLOAT) || !rta_node_int(n, out))
        return rta_error_set(err, RTA_ERR_INVALID_JWT,
                             "Invalid JWT: %s must be an integer number of seconds", name);
    if (*out < 0 || *out > RTA_JWT_MAX_SECONDS)
        return rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid JWT: %s is out of range", name);
    return 0;
}

static int parse_header(rta_node h, rta_jwt *out, rta_error *err)
{
    const char *alg;
    size_t alg_len;
    if (!rta_node_str(rta_node_get(h, "alg"), &alg, &alg_len) || alg_len != 5 ||
        memcmp(alg, "HS256", 5) != 0)
        return invalid(err, "alg must be HS256");
    /* RFC 7515 4.1.11: a "crit" extension we do not implement must be rejected, and we
     * implement none. */
    if (rta_node_kind(rta_node_get(h, "crit")) != RTA_NODE_ABSENT)
        return invalid(err, "unsupported crit header");
    rta_node typ = rta_node_get(h, "typ");
    if (rta_node_kind(typ) != RTA_NODE_ABSENT && rta_node_kind(typ) != RTA_NODE_STR)
        return invalid(err, "typ must be a string");
    rta_node kid = rta_node_get(h, "kid");
    if (rta_node_kind(kid) == RTA_NODE_ABSENT) return invalid(err, "kid must be specified");
    int rc = opt_string(h, "kid", &out->kid, err);
    if (rc) return rc;
    if (out->kid[0] == '\0') return invalid(err, "kid must not be empty");
    return opt_string(h, "x-ably-token", &out->embedded_token, err);
}

static int parse_payload(rta_node p, rta_jwt *out, rta_error *err)
{
    int rc;
    if ((rc = req_seconds(p, "iat", &out->iat, err)) ||
        (rc = req_seconds(p, "exp", &out->exp, err)) ||
        (rc = opt_string(p, "x-ably-capability", &out->capability, err)) ||
        (rc = opt_string(p, "x-ably-clientId", &out->client_id, err)) ||
        (rc = opt_string(p, "x-ably-revocation-key", &out->revocation_key, err)))
        return rc;
    if (rta_node_kind(rta_node_get(p, "x-ably-token")) != RTA_NODE_ABSENT) {
        /* Two inner tokens would leave the server guessing which one to validate. */
        if (out->embedded_token) return invalid(err, "x-ably-token in both header and payload");
        if ((rc = opt_string(p, "x-ably-token", &out->embedded_token, err))) return rc;
    }
    if (out->embedded_token && out->embedded_token[0] == '\0')
        return invalid(err, "x-ably-token must not be empty");
    return 0;
}

int rta_jwt_parse(const char *s, size_t len, rta_jwt *out, rta_error *err)
{
    memset(out, 0, sizeof(*out));
    if (!s || len == 0) return invalid(err, "empty token");
    if (len > RTA_JWT_MAX_LEN)
        return rta_error_set(err, RTA_ERR_INVALID_JWT, "Invalid JWT: longer than %d bytes",
                             RTA_JWT_MAX_LEN);

    const char *d1 = memchr(s, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)))
        return invalid(err, "expected three dot-separated segments");
    size_t h_len = (size_t)(d1 - s), p_len = (size_t)(d2 - d1 - 1);
    size_t sig_len = len - (size_t)(d2 + 1 - s);
    if (h_len == 0 || p_len == 0 || sig_len == 0) return invalid(err, "empty segment");

    /* The signature first: it is the cheapest check and rejects alg "none" forms early. */
    unsigned char sig[SIG_B64_LEN]; /* >= rta_base64_decoded_max(SIG_B64_LEN) == 33 */
    if (sig_len != SIG_B64_LEN ||
        rta_base64_decode(d2 + 1, sig_len, sig, RTA_BASE64_URL) != RTA_SHA256_LEN)
        return invalid(err, "signature is not a base64url HMAC-SHA256");

    rta_doc *hdoc = NULL, *pdoc = NULL;
    int rc = decode_object(s, h_len, "header", &hdoc, err);
    if (!rc) rc = decode_object(d1 + 1, p_len, "payload", &pdoc, err);
    if (!rc) rc = parse_header(rta_doc_root(hdoc), out, err);
    if (!rc) rc = parse_payload(rta_doc_root(pdoc), out, err);
    rta_doc_free(hdoc);
    rta_doc_free(pdoc);
    if (!rc) {
        size_t in_len = (size_t)(d2 - s);
        out->signing_input = malloc(in_len + 1);
        if (!out->signing_input) {
            rc = rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
        } else {
            memcpy(out->signing_input, s, in_len);
            out->signing_input[in_len] = '\0';
            out->signing_input_len = in_len;
            memcpy(out->signature, sig, RTA_SHA256_LEN);
            out->signature_len = RTA_SHA256_LEN;
        }
    }
    if (rc) rta_jwt_clear(out);
    return rc;
}

/* floor(a / b) for b > 0; C division truncates toward zero, which is wrong for a < 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

int rta_jwt_verify(const rta_jwt *jwt, const char *secret, size_t secret_len, int64_t now_ms,
                   rta_error *err)
{
    if (!jwt || !jwt->signing_input || jwt->signature_len != RTA_SHA256_LEN)
        return invalid(err, "not parsed");
    if (!secret) {
        if (secret_len) return rta_error_set(err, RTA_ERR_INTERNAL, "No secret");
        secret = "";
    }
    unsigned char mac[RTA_SHA256_LEN];
    if (rta_hmac_sha256(secret, secret_len, jwt->signing_input, jwt->signing_input_len, mac))
        return rta_error_set(err, RTA_ERR_INTERNAL, "HMAC-SHA256 failed");
    int ok = rta_ct_equal(mac, sizeof(mac), jwt->signature, jwt->signature_len);
    wipe(mac, sizeof(mac));
    if (!ok) return rta_error_set(err, RTA_ERR_INVALID_CREDENTIALS, "Invalid JWT signature");

    /* Times in whole seconds: exp * 1000 <= now_ms is exp <= floor(now_ms / 1000), and
     * comparing seconds cannot overflow whatever int64 the claims hold. */
    int64_t now_s = floor_div(now_ms, 1000);
    if (jwt->exp <= jwt->iat) return invalid(err, "exp must be later than iat");
    if (jwt->iat > now_s + RTA_JWT_IAT_LEEWAY_S) return invalid(err, "iat is in the future");
    if (jwt->exp <= now_s)
        return rta_error_set(err, RTA_ERR_TOKEN_EXPIRED, "Token expired (JWT exp %lld)",
                             (long long)jwt->exp);
    return 0;
}

void rta_jwt_clear(rta_jwt *jwt)
{
    if (!jwt) return;
    free(jwt->kid);
    free(jwt->capability);
    free(jwt->client_id);
    free(jwt->revocation_key);
    free(jwt->embedded_token);
    free(jwt->signing_input);
    memset(jwt, 0, sizeof(*jwt));
}

/* Appends base64url(JSON) of one JWT segment to tok. */
static int write_segment(rta_buf *tok, rta_buf *json)
{
    if (json->oom) return RTA_ERR_INTERNAL;
    rta_base64_encode(tok, json->data, json->len, RTA_BASE64_URL);
    return tok->oom ? RTA_ERR_INTERNAL : 0;
}

int rta_jwt_sign(const rta_jwt_claims *claims, const char *secret, size_t secret_len, rta_buf *out)
{
    if (!claims || !out || (!secret && secret_len)) return RTA_ERR_INTERNAL;
    if (!secret) secret = "";
    rta_buf json = RTA_BUF_INIT, tok = RTA_BUF_INIT;
    rta_writer w;

    /* Header members in the order ably-js's sandbox generateJWT() writes them. */
    rta_writer_init(&w, RTA_FORMAT_JSON, &json);
    rta_w_map(&w, claims->key_name ? 3 : 2);
    rta_w_key(&w, "typ");
    rta_w_str(&w, "JWT");
    rta_w_key(&w, "alg");
    rta_w_str(&w, "HS256");
    if (claims->key_name) {
        rta_w_key(&w, "kid");
        rta_w_str(&w, claims->key_name);
    }
    rta_w_map_end(&w);
    int rc = rta_writer_status(&w);
    if (!rc) rc = write_segment(&tok, &json);
    rta_buf_putc(&tok, '.');

    if (!rc) {
        struct {
            const char *name, *value;
        } opt[] = {
            {"x-ably-capability", claims->capability},
            {"x-ably-clientId", claims->client_id},
            {"x-ably-revocation-key", claims->revocation_key},
            {"x-ably-token", claims->embedded_token},
        };
        size_t n = 2;
        for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
            n += opt[i].value != NULL;
        rta_buf_reset(&json);
        rta_writer_init(&w, RTA_FORMAT_JSON, &json);
        rta_w_map(&w, n);
        rta_w_key(&w, "iat");
        rta_w_int(&w, claims->iat);
        rta_w_key(&w, "exp");
        rta_w_int(&w, claims->exp);
        for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
            if (!opt[i].value) continue;
            rta_w_key(&w, opt[i].name);
            rta_w_str(&w, opt[i].value);
        }
        rta_w_map_end(&w);
        rc = rta_writer_status(&w);
        if (!rc) rc = write_segment(&tok, &json);
    }

    if (!rc && !tok.oom) {
        unsigned char mac[RTA_SHA256_LEN];
        rc = rta_hmac_sha256(secret, secret_len, tok.data, tok.len, mac);
        if (!rc) {
            rta_buf_putc(&tok, '.');
            rta_base64_encode(&tok, mac, sizeof(mac), RTA_BASE64_URL);
        }
        wipe(mac, sizeof(mac));
    }
    if (!rc && tok.oom) rc = RTA_ERR_INTERNAL;
    /* Appended only when complete, so a failure leaves out as it was. */
    if (!rc) {
        rta_buf_append(out, tok.data, tok.len);
        if (out->oom) rc = RTA_ERR_INTERNAL;
    }
    rta_buf_free(&json);
    rta_buf_free(&tok);
    return rc;
}
