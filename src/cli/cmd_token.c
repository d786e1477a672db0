/* cmd_token.c: the client-side commands, built on librtauth's public API only:
 *   rtauth time                         GET /time (RSC16)
 *   rtauth token request                requestToken with the key (RSA8)
 *   rtauth token create-request         createTokenRequest, signed locally (RSA9)
 *   rtauth token revoke TARGET...       revokeTokens (RSA17)
 * The key comes from --key or RTAUTH_KEY and is never printed; tokens and TokenRequests are
 * printed because they are the commands' output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "rtauth/rtauth.h"

/* The options every client command shares. */
typedef struct conn_opts {
    const char *key;
    const char *host;
    int port;
    int tls;
    const char *ca_file;
    int verbose;
} conn_opts;

static int parse_int64(const char *s, const char *name, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0) {
        fprintf(stderr, "rtauth: %s must be a non-negative integer\n", name);
        return 2;
    }
    *out = v;
    return 0;
}

static int take_conn(rta_cli *c, conn_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->key = rta_cli_take(c, "--key");
    if (!o->key) o->key = getenv("RTAUTH_KEY");
    if (o->key && !*o->key) o->key = NULL;
    o->host = rta_cli_take(c, "--host");
    if (!o->host) o->host = getenv("RTAUTH_HOST");
    if (!o->host) o->host = "127.0.0.1";
    const char *port = rta_cli_take(c, "--port");
    if (!port) port = getenv("RTAUTH_PORT");
    o->tls = rta_cli_flag(c, "--tls");
    o->ca_file = rta_cli_take(c, "--ca-file");
    o->verbose = rta_cli_flag(c, "--verbose");
    int64_t p = o->tls ? 443 : 8080; /* rtauthd listens on 8080 by default */
    if (port && (parse_int64(port, "--port", &p) || p == 0 || p > 65535)) {
        if (p > 65535 || p == 0) fprintf(stderr, "rtauth: --port out of range\n");
        return 2;
    }
    o->port = (int)p;
    return 0;
}

static void log_to_stderr(rta_client_log_level level, const char *msg, void *data)
{
    (void)level, (void)data;
    fprintf(stderr, "rtauth: %s\n", msg);
}

/* A client for the command; the key is required unless allow_no_key. */
static int open_client(const rta_cli *c, const conn_opts *co, int allow_no_key, rta_rest **out)
{
    rta_error err = {0};
    rta_client_options o;
    rta_client_options_init(&o);
    o.auth.key = co->key;
    o.endpoint = co->host;
    o.port = co->port;
    o.tls = co->tls;
    o.tls_ca_file = co->ca_file;
    o.log_level = co->verbose ? RTA_CLIENT_LOG_DEBUG : RTA_CLIENT_LOG_WARN;
    o.log_handler = log_to_stderr;
    if (!co->key) {
        if (!allow_no_key) {
            rta_error_set(&err, RTA_ERR_NO_AUTH_METHOD, "No key: use --key or RTAUTH_KEY");
            return rta_cli_fail(c, &err);
        }
        o.auth.token = "unused"; /* time needs no credentials; this only satisfies RSC1b */
    }
    if (rta_rest_create(&o, out, &err)) return rta_cli_fail(c, &err);
    return 0;
}

static void print_time_ms(const char *label, int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char buf[64];
    gmtime_r(&s, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    printf("%-11s %s.%03dZ (%lld)\n", label, buf, (int)(ms % 1000), (long long)ms);
}

/* ---- rtauth time ------------------------------------------------------------------------ */

int rta_cmd_time(rta_cli *c)
{
    conn_opts co;
    int rc = take_conn(c, &co);
    if (rc || (rc = rta_cli_no_more_options(c))) return rc;
    rta_rest *r;
    if ((rc = open_client(c, &co, 1, &r))) return rc;
    rta_error err;
    int64_t t;
    if (rta_rest_time(r, &t, &err)) {
        rta_rest_destroy(r);
        return rta_cli_fail(c, &err);
    }
    if (c->json)
        printf("{\"time\":%lld}\n", (long long)t);
    else
        print_time_ms("server time", t);
    rta_rest_destroy(r);
    return 0;
}

/* ---- rtauth token ... ----------------------------------------------------------------------- */

static int take_params(rta_cli *c, rta_token_params *p, int *query_time)
{
    memset(p, 0, sizeof(*p));
    p->client_id = (char *)rta_cli_take(c, "--client-id");
    p->capability = (char *)rta_cli_take(c, "--capability");
    const char *ttl = rta_cli_take(c, "--ttl");
    if (ttl && parse_int64(ttl, "--ttl", &p->ttl)) return 2;
    if (query_time) *query_time = rta_cli_flag(c, "--query-time");
    return 0;
}

static int token_request(rta_cli *c, rta_rest *r, const rta_token_params *p)
{
    rta_token_details d;
    rta_error err;
    if (rta_auth_request_token(rta_rest_auth(r), p, NULL, &d, &err)) return rta_cli_fail(c, &err);
    if (c->json) {
        char *json = NULL;
        rta_token_details_to_json(&d, &json);
        printf("%s\n", json ? json : "{}");
        free(json);
    } else {
        printf("token       %s\n", d.token);
        printf("keyName     %s\n", d.key_name ? d.key_name : "");
        print_time_ms("issued", d.issued);
        print_time_ms("expires", d.expires);
        printf("capability  %s\n", d.capability ? d.capability : "(the key's)");
        printf("clientId    %s\n", d.client_id ? d.client_id : "(anonymous)");
    }
    rta_token_details_clear(&d);
    return 0;
}

static int token_create_request(rta_cli *c, rta_rest *r, const rta_token_params *p, int query_time)
{
    rta_token_request t;
    rta_error err;
    if (query_time) { /* RSA9d, RSA10k: one /time; the offset then applies to the signing */
        int64_t now;
        if (rta_rest_time(r, &now, &err)) return rta_cli_fail(c, &err);
    }
    if (rta_auth_create_token_request(rta_rest_auth(r), p, NULL, &t, &err))
        return rta_cli_fail(c, &err);
    char *json = NULL;
    rta_token_request_to_json(&t, &json);
    if (c->json) {
        printf("%s\n", json ? json : "{}");
    } else {
        printf("keyName     %s\n", t.key_name);
        if (t.ttl)
            printf("ttl         %lld\n", (long long)t.ttl);
        else
            printf("ttl         (server default: 60 minutes)\n");
        printf("capability  %s\n", t.capability ? t.capability : "(the key's)");
        printf("clientId    %s\n", t.client_id ? t.client_id : "(anonymous)");
        print_time_ms("timestamp", t.timestamp);
        printf("nonce       %s\n", t.nonce);
        printf("mac         %s\n", t.mac);
        printf("json        %s\n", json ? json : "");
    }
    free(json);
    rta_token_request_clear(&t);
    return 0;
}

/* TARGET is "type:value" (clientId:bob, revocationKey:k, token:<token>). */
static int token_revoke(rta_cli *c, rta_rest *r, const rta_revoke_options *ro)
{
    if (c->argc < 1) {
        fprintf(stderr, "rtauth: token revoke needs at least one TARGET (type:value)\n");
        return 2;
    }
    rta_revocation_target *t = calloc((size_t)c->argc, sizeof(*t));
    char **copies = calloc((size_t)c->argc, sizeof(char *));
    int rc = 0;
    for (int i = 0; i < c->argc && !rc; i++) {
        copies[i] = strdup(c->argv[i]);
        char *colon = copies[i] ? strchr(copies[i], ':') : NULL;
        if (!colon) {
            fprintf(stderr, "rtauth: target %s is not type:value\n", c->argv[i]);
            rc = 2;
            break;
        }
        *colon = '\0';
        t[i] = (rta_revocation_target){copies[i], colon + 1};
    }
    rta_revocation_batch b = {0};
    rta_error err;
    if (!rc && rta_auth_revoke_tokens(rta_rest_auth(r), t, (size_t)c->argc, ro, &b, &err))
        rc = rta_cli_fail(c, &err);
    if (!rc) {
        if (c->json) {
            char *json = NULL;
            rta_revocation_batch_to_json(&b, &json);
            printf("%s\n", json ? json : "{}");
            free(json);
        } else {
            for (size_t i = 0; i < b.result_count; i++) {
                const rta_revocation_result *res = &b.results[i];
                if (res->failed)
                    printf("%-30s failed: %d %s\n", res->target, res->error_code,
                           res->error_message ? res->error_message : "");
                else
                    printf("%-30s revoked tokens issued before %lld, from %lld\n", res->target,
                           (long long)res->issued_before, (long long)res->applies_at);
            }
            printf("%d revoked, %d failed\n", b.success_count, b.failure_count);
        }
        if (b.failure_count) rc = 1; /* scripts see a partial failure */
    }
    rta_revocation_batch_clear(&b);
    for (int i = 0; i < c->argc; i++)
        free(copies[i]);
    free(copies);
    free(t);
    return rc;
}

int rta_cmd_token(rta_cli *c)
{
    if (c->argc < 1) {
        fprintf(stderr, "rtauth: token needs a subcommand: request, create-request, revoke\n");
        return 2;
    }
    const char *sub = c->argv[0];
    c->argc--, c->argv++;
    conn_opts co;
    rta_token_params p;
    rta_revoke_options ro = {0};
    int query_time = 0, rc = take_conn(c, &co);
    if (rc) return rc;
    if (!strcmp(sub, "request") || !strcmp(sub, "create-request")) {
        if ((rc = take_params(c, &p, !strcmp(sub, "create-request") ? &query_time : NULL)))
            return rc;
    } else if (!strcmp(sub, "revoke")) {
        const char *ib = rta_cli_take(c, "--issued-before");
        if (ib && parse_int64(ib, "--issued-before", &ro.issued_before)) return 2;
        ro.allow_reauth_margin = rta_cli_flag(c, "--allow-reauth-margin");
    } else {
        fprintf(stderr, "rtauth: unknown token subcommand %s\n", sub);
        return 2;
    }
    if ((rc = rta_cli_no_more_options(c))) return rc;
    if (strcmp(sub, "revoke") && c->argc) {
        fprintf(stderr, "rtauth: unexpected argument %s\n", c->argv[0]);
        return 2;
    }
    rta_rest *r;
    if ((rc = open_client(c, &co, 0, &r))) return rc;
    if (!strcmp(sub, "request"))
        rc = token_request(c, r, &p);
    else if (!strcmp(sub, "create-request"))
        rc = token_create_request(c, r, &p, query_time);
    else
        rc = token_revoke(c, r, &ro);
    rta_rest_destroy(r);
    return rc;
}
