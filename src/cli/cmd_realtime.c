/* cmd_realtime.c: `rtauth subscribe CHANNEL` and `rtauth publish CHANNEL DATA` through
 * librtauth's realtime client, with key or token auth. Connection state changes go to stderr
 * ("connection: connected"), received messages to stdout, one per line ("NAME DATA", or a
 * JSON object with --json). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/buf.h"
#include "core/codec.h"
#include "rtauth/rtauth.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void on_state(const rta_connection_state_change *c, void *ud)
{
    (void)ud;
    if (c->reason)
        fprintf(stderr, "connection: %s (%d: %s)\n", rta_connection_state_name(c->event),
                c->reason->code, c->reason->message);
    else
        fprintf(stderr, "connection: %s\n", rta_connection_state_name(c->event));
}

typedef struct sub_state {
    const rta_cli *cli;
    int count; /* messages received */
} sub_state;

static void on_message(rta_channel *ch, const rta_realtime_message *m, void *ud)
{
    (void)ch;
    sub_state *s = ud;
    if (s->cli->json) {
        rta_buf b = RTA_BUF_INIT;
        rta_buf_puts(&b, "{\"name\":");
        if (m->name)
            rta_json_quote(&b, m->name, strlen(m->name));
        else
            rta_buf_puts(&b, "null");
        rta_buf_puts(&b, ",\"clientId\":");
        if (m->client_id)
            rta_json_quote(&b, m->client_id, strlen(m->client_id));
        else
            rta_buf_puts(&b, "null");
        rta_buf_puts(&b, ",\"data\":");
        if (m->data && !m->binary)
            rta_json_quote(&b, m->data, m->data_len);
        else
            rta_buf_puts(&b, "null");
        rta_buf_puts(&b, "}");
        printf("%.*s\n", (int)b.len, b.data ? b.data : "");
        rta_buf_free(&b);
    } else {
        printf("%s %.*s\n", m->name ? m->name : "-", m->binary ? 0 : (int)m->data_len,
               m->data ? m->data : "");
    }
    fflush(stdout);
    __atomic_add_fetch(&s->count, 1, __ATOMIC_SEQ_CST); /* the main thread polls it */
}

/* Options shared by both commands; fills o (strings point into argv or the environment). */
static int take_options(rta_cli *c, rta_client_options *o)
{
    rta_client_options_init(o);
    o->auth.key = rta_cli_take(c, "--key");
    if (!o->auth.key) o->auth.key = getenv("RTAUTH_KEY");
    if (o->auth.key && !*o->auth.key) o->auth.key = NULL;
    o->auth.token = rta_cli_take(c, "--token");
    if (!o->auth.token) o->auth.token = getenv("RTAUTH_TOKEN");
    if (o->auth.token && !*o->auth.token) o->auth.token = NULL;
    if (o->auth.token) o->auth.key = NULL; /* an explicit token wins over a key */
    o->client_id = rta_cli_take(c, "--client-id");
    o->endpoint = rta_cli_take(c, "--host");
    if (!o->endpoint) o->endpoint = getenv("RTAUTH_HOST");
    if (!o->endpoint) o->endpoint = "127.0.0.1";
    const char *port = rta_cli_take(c, "--port");
    if (!port) port = getenv("RTAUTH_PORT");
    o->tls = rta_cli_flag(c, "--tls");
    o->tls_ca_file = rta_cli_take(c, "--ca-file");
    o->log_level = rta_cli_flag(c, "--verbose") ? RTA_CLIENT_LOG_DEBUG : RTA_CLIENT_LOG_WARN;
    o->use_binary_protocol = !rta_cli_flag(c, "--json-protocol");
    long p = o->tls ? 443 : 8080;
    if (port) {
        char *end;
        errno = 0;
        p = strtol(port, &end, 10);
        if (errno || *end || p <= 0 || p > 65535) {
            fprintf(stderr, "rtauth: --port out of range\n");
            return 2;
        }
    }
    o->port = (int)p;
    return 0;
}

static int open_realtime(rta_cli *c, rta_client_options *o, rta_realtime **rt)
{
    rta_error err = {0};
    if (rta_realtime_create(o, rt, &err)) return rta_cli_fail(c, &err);
    rta_realtime_on(*rt, on_state, NULL);
    rta_realtime_connect(*rt, NULL);
    return 0;
}

int rta_cmd_subscribe(rta_cli *c)
{
    rta_client_options o;
    int rc = take_options(c, &o);
    const char *count_s = rta_cli_take(c, "--count");
    int limit = count_s ? atoi(count_s) : 0;
    if (rc || (rc = rta_cli_no_more_options(c))) return rc;
    if (c->argc != 1) {
        fprintf(stderr, "usage: rtauth subscribe CHANNEL [--count N]\n");
        return 2;
    }
    o.realtime.auto_connect = 0;
    rta_realtime *rt;
    if ((rc = open_realtime(c, &o, &rt))) return rc;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rta_error err = {0};
    rta_channel *ch = rta_realtime_channel(rt, c->argv[0], &err);
    sub_state s = {c, 0};
    if (ch) rta_channel_subscribe(ch, on_message, &s);
    if (!ch || (rc = rta_channel_attach(ch, &err))) {
        rta_realtime_destroy(rt);
        return rta_cli_fail(c, &err);
    }
    fprintf(stderr, "channel: %s attached\n", c->argv[0]);
    /* Until interrupted, the message count is reached, or the connection ends for good. */
    while (!interrupted && !(limit > 0 && __atomic_load_n(&s.count, __ATOMIC_SEQ_CST) >= limit)) {
        rta_connection_state st = rta_realtime_state(rt, &err);
        if (st == RTA_CONN_FAILED || st == RTA_CONN_CLOSED) {
            rta_realtime_destroy(rt);
            return rta_cli_fail(c, &err);
        }
        usleep(50000);
    }
    rta_realtime_close(rt, NULL);
    rta_realtime_wait_state(rt, RTA_CONN_CLOSED, 2000, NULL);
    rta_realtime_destroy(rt);
    return 0;
}

int rta_cmd_publish(rta_cli *c)
{
    rta_client_options o;
    int rc = take_options(c, &o);
    const char *name = rta_cli_take(c, "--name");
    int json_data = rta_cli_flag(c, "--json-data");
    if (rc || (rc = rta_cli_no_more_options(c))) return rc;
    if (c->argc != 2) {
        fprintf(stderr, "usage: rtauth publish CHANNEL DATA [--name NAME] [--json-data]\n");
        return 2;
    }
    o.realtime.auto_connect = 0;
    rta_realtime *rt;
    if ((rc = open_realtime(c, &o, &rt))) return rc;
    rta_error err = {0};
    rta_channel *ch = rta_realtime_channel(rt, c->argv[0], &err);
    if (ch && !(rc = rta_realtime_wait_state(rt, RTA_CONN_CONNECTED, 15000, &err)))
        rc = rta_channel_publish_message(
            ch, &(rta_publish_message){.name = name, .data = c->argv[1], .json = json_data}, &err);
    if (!ch || rc) {
        rta_realtime_destroy(rt);
        return rta_cli_fail(c, &err);
    }
    if (c->json)
        printf("{\"published\":true}\n");
    else
        printf("published to %s\n", c->argv[0]);
    rta_realtime_close(rt, NULL);
    rta_realtime_wait_state(rt, RTA_CONN_CLOSED, 2000, NULL);
    rta_realtime_destroy(rt);
    return 0;
}
