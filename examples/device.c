/* device.c: an embedded-style device on librtauth's realtime client. It holds no API key: its
 * tokens come from the app's authUrl (auth_server.c), and it is meant to run unattended.
 *
 *   ./example_device --auth-url URL [--host HOST] [--port PORT (default $RTAUTH_PORT, else 8080)] [--user NAME]
 *                    [--channel NAME] [--publish-every MS] [--retry-ms MS] [--duration S]
 *
 * What the SDK does by itself, with nothing but these options:
 *   - each token is fetched from the authUrl (a TokenRequest signed by the backend, exchanged
 *     with rtauthd); when it expires the server says DISCONNECTED 40142, the SDK fetches the
 *     next one and resumes the same connection (same connection id, channel still attached,
 *     nothing lost): many short-lived tokens, one connection;
 *   - when rtauthd restarts, the resume fails (80008): the SDK takes the new connection and
 *     re-attaches the channel; while the server is unreachable it retries every --retry-ms and,
 *     after the server's connectionStateTtl, keeps retrying in the suspended state.
 * The device only subscribes, publishes a telemetry tick every --publish-every ms (0: never;
 * a publish made while disconnected waits for the connection), and prints what happens:
 *   connection <state> [id=<connectionId>] [reason=<code>]
 *   message <name> <data>
 *   publish failed <code>
 * It runs until SIGINT/SIGTERM (or --duration seconds) and exits 0 after a clean close.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, timeval, nanosleep: built out of tree with -std=c11 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rtauth/rtauth.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Connection state changes, on the client's I/O thread. */
static void on_state(const rta_connection_state_change *c, void *ud)
{
    rta_realtime *rt = *(rta_realtime **)ud;
    char id[128] = "";
    if (c->current == RTA_CONN_CONNECTED) rta_realtime_connection_id(rt, id, sizeof(id));
    printf("connection %s%s%s reason=%d\n", rta_connection_state_name(c->event),
           id[0] ? " id=" : "", id, c->reason ? c->reason->code : 0);
    fflush(stdout);
}

static void on_message(rta_channel *ch, const rta_realtime_message *m, void *ud)
{
    (void)ch, (void)ud;
    printf("message %s %.*s\n", m->name ? m->name : "-", m->binary ? 0 : (int)m->data_len,
           m->data ? m->data : "");
    fflush(stdout);
}

static void on_published(int rc, const rta_error *err, void *ud)
{
    (void)ud;
    if (rc) {
        printf("publish failed %d\n", err ? err->code : rc);
        fflush(stdout);
    }
}

static void on_attached(int rc, const rta_error *err, void *ud)
{
    (void)ud;
    if (rc) fprintf(stderr, "device: attach failed: %d %s\n", rc, err ? err->message : "");
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv)
{
    const char *auth_url = "http://127.0.0.1:8090/auth", *host = "127.0.0.1", *user = "device-1";
    const char *channel = "telemetry";
    const char *env_port = getenv("RTAUTH_PORT"); /* as the rtauth CLI */
    int port = env_port ? atoi(env_port) : 8080;
    long every_ms = 1000, retry_ms = 2000, duration_s = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--auth-url"))
            auth_url = v;
        else if (!strcmp(k, "--host"))
            host = v;
        else if (!strcmp(k, "--port"))
            port = atoi(v);
        else if (!strcmp(k, "--user"))
            user = v;
        else if (!strcmp(k, "--channel"))
            channel = v;
        else if (!strcmp(k, "--publish-every"))
            every_ms = atol(v);
        else if (!strcmp(k, "--retry-ms"))
            retry_ms = atol(v);
        else if (!strcmp(k, "--duration"))
            duration_s = atol(v);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    rta_name_value params[] = {{"user", user}};
    rta_client_options o;
    rta_client_options_init(&o);
    o.auth.auth_url = auth_url; /* the only credential: renewals go there too (RSA4, RSA8c) */
    o.auth.auth_params = params;
    o.auth.auth_param_count = 1;
    o.endpoint = host;
    o.port = port;
    o.tls = 0; /* loopback demo; a real device keeps TLS on (the default) */
    o.realtime.auto_connect = 0;
    o.realtime.disconnected_retry_ms = retry_ms; /* RTN14d: how soon to retry a lost server */
    o.realtime.suspended_retry_ms = retry_ms;

    rta_realtime *rt = NULL;
    rta_error err;
    if (rta_realtime_create(&o, &rt, &err)) {
        fprintf(stderr, "device: %d %s\n", err.code, err.message);
        return 1;
    }
    rta_realtime_on(rt, on_state, &rt);
    rta_channel *ch = rta_realtime_channel(rt, channel, &err);
    if (!ch) {
        fprintf(stderr, "device: %d %s\n", err.code, err.message);
        rta_realtime_destroy(rt);
        return 1;
    }
    rta_channel_subscribe(ch, on_message, NULL);
    /* Attaching connects first (RTL4i); the SDK re-attaches after every reconnection. */
    rta_channel_attach_async(ch, on_attached, NULL, NULL);

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    long elapsed = 0, next_tick = every_ms, tick = 0;
    while (!stop && (!duration_s || elapsed < duration_s * 1000)) {
        sleep_ms(50);
        elapsed += 50;
        if (every_ms > 0 && elapsed >= next_tick) {
            next_tick += every_ms;
            char data[64];
            snprintf(data, sizeof(data), "%s-%ld", user, ++tick);
            rta_publish_message m = {.name = "tick", .data = data};
            rta_channel_publish_async(ch, &m, on_published, NULL, NULL);
        }
    }
    rta_realtime_close(rt, NULL);
    rta_realtime_wait_state(rt, RTA_CONN_CLOSED, 2000, NULL);
    rta_realtime_destroy(rt);
    printf("device: stopped\n");
    return 0;
}
