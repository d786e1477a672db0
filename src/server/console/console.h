/* console/console.h: the operator console (issue 18; docs/operations.md, "Operator console"):
 * a small web UI that rtauthd serves itself at /console when started with --console, behind
 * an admin password (--console-password-file). Pages are plain files embedded in the binary at
 * build time (src/server/console/static/, cmake/console_assets.cmake): no CDN, no build step.
 *
 *   GET  /console/                  the page (index.html, console.js, console.css)
 *   POST /console/api/login         {password} -> session cookie + {csrfToken}
 *   POST /console/api/logout
 *   GET  /console/api/session       {csrfToken, ...} or 401
 *   GET  /console/api/apps          apps, their keys (never a secret), live connection counts
 *   POST /console/api/keys          {appId, capability?, revocableTokens?} -> the new key, its
 *                                   secret shown this once
 *   POST /console/api/keys/state    {keyName, enabled}
 *   POST /console/api/keys/capability  {keyName, capability}: for tokens issued from now on
 *   POST /console/api/revoke        {keyName?, type: clientId|revocationKey|token, value}
 *   GET  /console/api/connections   ?clientId=: counts per app, connections of that clientId
 *   GET  /console/api/metrics       connections and token requests from the server's metrics
 *                                   (server/metrics.h, as GET /metrics renders them)
 *
 * Security model (guard.h has the credential, limiter and sessions):
 *   - every /console/api route but login needs the session cookie (rtauthd_console: HttpOnly,
 *     SameSite=Strict, Path=/console, Secure under TLS): 401/40101 otherwise;
 *   - every state-changing request must be a POST with Content-Type application/json, an
 *     X-CSRF-Token header equal to the session's, and an Origin, when present, equal to
 *     rtauthd's own (scheme and Host): 403/40300 otherwise, before anything is changed
 *     (login: the same but the token, which it hands out). GETs change nothing;
 *   - no CORS headers ever (routes.c clears them), Content-Security-Policy default-src 'self'
 *     with frame-ancestors 'none', nosniff, no-referrer and no-store on every reply;
 *   - actions go through the same code as the REST API and the CLI (auth/provision.c, the
 *     store through its thread, auth/token_service.c revocations, the gateway's hooks), so in
 *     cluster mode they reach Redis like any other write.
 * Errors are Ably ErrorInfo ({"error": {...}}). Logs name the peer's address and key names,
 * never a password, cookie, CSRF token or key secret.
 */
#ifndef RTA_SERVER_CONSOLE_H
#define RTA_SERVER_CONSOLE_H

#include "core/buf.h"
#include "server/auth/registry.h"
#include "server/auth/token_service.h"
#include "server/gateway/gateway.h"
#include "server/rest/http.h"
#include "server/store/thread.h"

typedef struct rta_console rta_console;

/* What the console uses of the process (server.c), borrowed for its lifetime. Every hook runs
 * on the loop thread with ctx. */
typedef struct rta_console_deps {
    rta_registry *registry;
    rta_token_service *tokens;
    const rta_gateway *gateway;
    void *ctx;
    void (*submit)(void *ctx, rta_store_job *job);
    void (*revoked)(void *ctx, const char *key_name, const char *const *targets, size_t n);
    void (*credentials_changed)(void *ctx);
} rta_console_deps;

/* Reads the password file (guard.h's rules) and makes the console. Returns 0, or 40003 (the
 * file) / 50000 with err filled; rtauthd then refuses to start. */
int rta_console_create(const char *password_file, const rta_console_deps *deps,
                       rta_console **out, rta_error *err);
void rta_console_free(rta_console *c);

/* Answers a request whose path is /console or under /console/ (routes.c). */
void rta_console_route(rta_console *c, rta_http_session *s);

#endif
