/* client.c: a program without any API key that gets its token through the app's authUrl
 * (auth_server.c) and then uses it with rtauthd.
 *
 *   ./example_client [--auth-url URL] [--host HOST] [--port PORT (default $RTAUTH_PORT, else 8080)] [--user NAME]
 *
 * 1. rta_auth_authorize: the SDK GETs the authUrl, receives a TokenRequest signed by the
 *    backend, exchanges it with rtauthd (POST /keys/{keyName}/requestToken) and keeps the
 *    TokenDetails; every later request is authenticated with that token and renewed the same
 *    way when it expires.
 * 2. It then opens an authenticated realtime connection to rtauthd's gateway with the token
 *    (WebSocket `/?access_token=...`, through libwebsockets) and prints the CONNECTED
 *    reply, which carries the clientId the server bound to the connection. (librtauth's own
 *    realtime client is issue 6; this shows the token being accepted end to end.)
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, timeval, nanosleep: built out of tree with -std=c11 */

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rtauth/rtauth.h>

typedef struct ws_state {
    int done;
    int ok;
    char first[2048]; /* the first protocol message */
} ws_state;

static int on_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    ws_state *st = lws_context_user(lws_get_context(wsi));
    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        snprintf(st->first, sizeof(st->first), "connection error: %s",
                 in ? (const char *)in : "unknown");
        st->done = 1;
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!st->first[0]) {
            size_t n = len < sizeof(st->first) - 1 ? len : sizeof(st->first) - 1;
            memcpy(st->first, in, n);
            st->first[n] = '\0';
            st->ok = strstr(st->first, "\"action\":4") != NULL; /* CONNECTED */
            st->done = 1;
            return -1; /* enough: close */
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        st->done = 1;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {{"rtauth-example", on_ws, 0, 4096, 0, NULL, 0},
                                                 {NULL, NULL, 0, 0, 0, NULL, 0}};

/* Connects to the gateway with the token and returns 0 when it answered CONNECTED. */
static int connect_realtime(const char *host, int port, const char *token, char *reply, size_t size)
{
    ws_state st = {0};
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = &st;
    struct lws_context *ctx = lws_create_context(&info);
    if (!ctx) return -1;
    /* The token goes raw in the query (wire protocol 1.3); rtauth tokens and JWTs are
     * URL-safe. */
    char path[4096];
    snprintf(path, sizeof(path), "/?access_token=%s&format=json&v=6&heartbeats=false", token);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = ctx;
    ci.address = host;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = host;
    ci.protocol = NULL; /* Ably uses no subprotocol */
    ci.local_protocol_name = protocols[0].name;
    if (!lws_client_connect_via_info(&ci)) st.done = 1;
    for (int i = 0; !st.done && i < 100; i++)
        lws_service(ctx, 100);
    lws_context_destroy(ctx);
    snprintf(reply, size, "%s", st.first[0] ? st.first : "no reply");
    return st.ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *auth_url = "http://127.0.0.1:8090/auth", *host = "127.0.0.1", *user = NULL;
    const char *env_port = getenv("RTAUTH_PORT"); /* as the rtauth CLI */
    int port = env_port ? atoi(env_port) : 8080;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--auth-url")) auth_url = argv[i + 1];
        if (!strcmp(argv[i], "--host")) host = argv[i + 1];
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--user")) user = argv[i + 1];
    }

    /* No key here: token auth through the authUrl (RSA4). authParams go to the authUrl with
     * every token request (RSA8c1); a real app would send its session cookie as an
     * authHeader instead of naming the user. */
    rta_name_value params[] = {{"user", user}};
    rta_client_options o;
    rta_client_options_init(&o);
    o.auth.auth_url = auth_url;
    o.auth.auth_params = params;
    o.auth.auth_param_count = user ? 1 : 0;
    o.endpoint = host;
    o.port = port;
    o.tls = 0; /* a local rtauthd; token auth is fine without TLS (RSA3a) */

    rta_rest *rest;
    rta_error err;
    if (rta_rest_create(&o, &rest, &err)) {
        fprintf(stderr, "client: %d %s\n", err.code, err.message);
        return 1;
    }
    rta_token_details d;
    if (rta_auth_authorize(rta_rest_auth(rest), NULL, NULL, &d, &err)) {
        fprintf(stderr, "client: authorize failed: %d %s", err.code, err.message);
        if (err.cause_code) fprintf(stderr, " (cause %d %s)", err.cause_code, err.cause_message);
        fprintf(stderr, "\n");
        rta_rest_destroy(rest);
        return 1;
    }
    printf("client: token for %s, capability %s, expires %lld\n",
           rta_auth_client_id(rta_rest_auth(rest)) ? rta_auth_client_id(rta_rest_auth(rest))
                                                   : "(anonymous)",
           d.capability ? d.capability : "?", (long long)d.expires);

    char reply[2048];
    int rc = connect_realtime(host, port, d.token, reply, sizeof(reply));
    printf("client: realtime %s: %s\n", rc ? "failed" : "connected", reply);
    rta_token_details_clear(&d);
    rta_rest_destroy(rest);
    return rc ? 1 : 0;
}
