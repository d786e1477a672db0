/* test_rt_interop.c: librtauth and ably-js 2.28.0 on the same rtauthd channel (issue 6): messages
 * published by ably-js (text, a JSON object, binary) reach a librtauth subscriber with their
 * name, data, type, clientId and the publisher's connectionId, and messages published by
 * librtauth (text, binary, a JSON object: RSL4c) reach ably-js the same way. Both directions in
 * both format pairings (librtauth JSON with ably-js msgpack, librtauth msgpack with ably-js
 * JSON), so each codec is checked against the other client's. The ably-js side is
 * tests/sdk/ablyjs_peer.mjs, run with node from the repository (RTA_SOURCE_DIR) and driven over
 * its stdin/stdout. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "rt_test.h"

static char keys[3][256];

static int group_setup(void **state)
{
    if (sdk_setup(state)) return -1;
    sdk_new_app(keys);
    return 0;
}

/* ---- the node peer ----------------------------------------------------------------------- */

typedef struct peer {
    pid_t pid;
    int in, out; /* its stdin (we write), its stdout (we read) */
    char buf[8192];
    size_t len;
} peer;

static void peer_start(peer *p, const char *channel, int binary)
{
    const char *src = getenv("RTA_SOURCE_DIR");
    char script[512], port[16];
    snprintf(script, sizeof(script), "%s/tests/sdk/ablyjs_peer.mjs", src ? src : ".");
    snprintf(port, sizeof(port), "%d", sdk_server.port);
    int to[2], from[2];
    assert_int_equal(pipe(to), 0);
    assert_int_equal(pipe(from), 0);
    memset(p, 0, sizeof(*p));
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(to[0], STDIN_FILENO);
        dup2(from[1], STDOUT_FILENO);
        close(to[1]);
        close(from[0]);
        execlp("node", "node", script, port, keys[0], channel, binary ? "1" : "0", (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    p->in = to[1];
    p->out = from[0];
}

/* Reads one line (without the newline) within ms; 1 when one was read. */
static int peer_line(peer *p, char *line, size_t size, int ms)
{
    long long until = sdk_now_ms() + ms;
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->len);
        if (nl) {
            size_t n = (size_t)(nl - p->buf);
            snprintf(line, size, "%.*s", (int)n, p->buf);
            memmove(p->buf, nl + 1, p->len - n - 1);
            p->len -= n + 1;
            return 1;
        }
        long long left = until - sdk_now_ms();
        struct pollfd pf = {.fd = p->out, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0 || p->len == sizeof(p->buf)) return 0;
        ssize_t got = read(p->out, p->buf + p->len, sizeof(p->buf) - p->len);
        if (got <= 0) return 0;
        p->len += (size_t)got;
    }
}

static void peer_say(peer *p, const char *cmd)
{
    assert_int_equal(write(p->in, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
}

static void peer_stop(peer *p)
{
    peer_say(p, "quit\n");
    int st = 0;
    for (int i = 0; i < 500 && waitpid(p->pid, &st, WNOHANG) == 0; i++)
        usleep(10000);
    if (kill(p->pid, 0) == 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
    }
    close(p->in);
    close(p->out);
}

/* ---- what librtauth receives ------------------------------------------------------------- */

typedef struct got_msg {
    char name[32], client_id[32], connection_id[128];
    unsigned char data[128];
    size_t len;
    int binary, json;
} got_msg;

static struct {
    pthread_mutex_t mu;
    got_msg m[8];
    int n;
} rx = {PTHREAD_MUTEX_INITIALIZER, {{{0}}}, 0};

static void on_msg(rta_channel *ch, const rta_realtime_message *m, void *ud)
{
    (void)ch, (void)ud;
    if (m->client_id && !strcmp(m->client_id, "c-peer")) return; /* our own, echoed */
    pthread_mutex_lock(&rx.mu);
    if (rx.n < 8 && m->data_len <= sizeof(rx.m[0].data)) {
        got_msg *g = &rx.m[rx.n++];
        snprintf(g->name, sizeof(g->name), "%s", m->name ? m->name : "");
        snprintf(g->client_id, sizeof(g->client_id), "%s", m->client_id ? m->client_id : "");
        snprintf(g->connection_id, sizeof(g->connection_id), "%s",
                 m->connection_id ? m->connection_id : "");
        memcpy(g->data, m->data, m->data_len);
        g->len = m->data_len;
        g->binary = m->binary;
        g->json = m->json;
    }
    pthread_mutex_unlock(&rx.mu);
}

static int rx_count(void)
{
    pthread_mutex_lock(&rx.mu);
    int n = rx.n;
    pthread_mutex_unlock(&rx.mu);
    return n;
}

/* ---- the test ---------------------------------------------------------------------------- */

static void interop(int c_binary, int js_binary)
{
    char channel[32];
    snprintf(channel, sizeof(channel), "interop-%d%d", c_binary, js_binary);
    rx.n = 0;
    peer p;
    peer_start(&p, channel, js_binary);
    char line[1024], js_conn[128];
    assert_true(peer_line(&p, line, sizeof(line), 15000));
    assert_int_equal(sscanf(line, "ready %127s", js_conn), 1);

    rta_client_options o;
    sdk_options(&o);
    o.auth.key = keys[0];
    o.client_id = "c-peer";
    o.use_binary_protocol = c_binary;
    rta_realtime *rt = rt_client(&o, NULL);
    rta_channel *ch = rta_realtime_channel(rt, channel, NULL);
    rta_channel_subscribe(ch, on_msg, NULL);
    assert_int_equal(rta_channel_attach(ch, NULL), 0);
    char c_conn[128];
    rta_realtime_connection_id(rt, c_conn, sizeof(c_conn));

    /* ably-js -> librtauth */
    peer_say(&p, "publish\n");
    assert_true(peer_line(&p, line, sizeof(line), 10000));
    assert_string_equal(line, "published");
    for (int t = 0; t < RT_WAIT_MS && rx_count() < 3; t += 10)
        usleep(10000);
    assert_int_equal(rx_count(), 3);
    got_msg *m = rx.m;
    assert_string_equal(m[0].name, "js-text");
    assert_true(!m[0].binary && !m[0].json);
    assert_int_equal(m[0].len, strlen("from ably-js \xc3\xbc"));
    assert_memory_equal(m[0].data, "from ably-js \xc3\xbc", m[0].len);
    assert_string_equal(m[1].name, "js-json");
    assert_true(m[1].json);
    assert_int_equal(m[1].len, strlen("{\"a\":1,\"b\":[true,\"x\"]}"));
    assert_memory_equal(m[1].data, "{\"a\":1,\"b\":[true,\"x\"]}", m[1].len);
    assert_string_equal(m[2].name, "js-bin");
    assert_true(m[2].binary);
    assert_int_equal(m[2].len, 4);
    assert_memory_equal(m[2].data, "\x00\x01\x02\xff", 4);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(m[i].client_id, "js-peer");
        assert_string_equal(m[i].connection_id, js_conn);
    }

    /* librtauth -> ably-js */
    rta_error err;
    assert_int_equal(rta_channel_publish(ch, "c-text", "from librtauth \xc3\xbc", &err), 0);
    rta_publish_message bin = {
        .name = "c-bin", .data = "\xde\xad\x00\xef", .data_len = 4, .binary = 1};
    assert_int_equal(rta_channel_publish_message(ch, &bin, &err), 0);
    rta_publish_message obj = {.name = "c-json", .data = "{\"k\":[1,null,\"\xc3\xbc\"]}", .json = 1};
    assert_int_equal(rta_channel_publish_message(ch, &obj, &err), 0);
    /* json data must be an object or array (RSL4c), refused before sending */
    rta_publish_message bad = {.name = "c-bad", .data = "{\"k\":", .json = 1};
    assert_int_equal(rta_channel_publish_message(ch, &bad, &err), RTA_ERR_INVALID_PARAMETER);
    bad.data = "\"a string\"";
    assert_int_equal(rta_channel_publish_message(ch, &bad, &err), RTA_ERR_INVALID_PARAMETER);
    assert_non_null(strstr(err.message, "object or array"));
    bad = (rta_publish_message){.data = "[1]", .data_len = 3, .binary = 1, .json = 1};
    assert_int_equal(rta_channel_publish_message(ch, &bad, &err), RTA_ERR_INVALID_PARAMETER);
    peer_say(&p, "expect 3\n");
    char want[512];
    assert_true(peer_line(&p, line, sizeof(line), 10000));
    snprintf(want, sizeof(want), "got c-text str:\"from librtauth \xc3\xbc\" c-peer %s", c_conn);
    assert_string_equal(line, want);
    assert_true(peer_line(&p, line, sizeof(line), 10000));
    snprintf(want, sizeof(want), "got c-bin hex:dead00ef c-peer %s", c_conn);
    assert_string_equal(line, want);
    assert_true(peer_line(&p, line, sizeof(line), 10000));
    snprintf(want, sizeof(want), "got c-json json:{\"k\":[1,null,\"\xc3\xbc\"]} c-peer %s", c_conn);
    assert_string_equal(line, want);
    assert_true(peer_line(&p, line, sizeof(line), 10000));
    assert_string_equal(line, "done");
    assert_int_equal(rx_count(), 3); /* ably-js's messages arrived once each */

    peer_stop(&p);
    rta_realtime_destroy(rt);
}

static void test_c_json_js_msgpack(void **state)
{
    (void)state;
    interop(0, 1);
}

static void test_c_msgpack_js_json(void **state)
{
    (void)state;
    interop(1, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a dead peer makes write fail, not the test process die */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c_json_js_msgpack),
        cmocka_unit_test(test_c_msgpack_js_json),
    };
    return cmocka_run_group_tests(tests, group_setup, sdk_teardown);
}
