/* gwbench_floor.c: `bench_gateway floor N [--rounds R] [--bytes B]`: what delivering one small
 * frame to each of N loopback TCP connections costs this machine's kernel alone, the floor
 * under a revocation round of make bench-scale (issue 19). No WebSocket, no JSON, no
 * libwebsockets: one process sends B bytes (122 by default: a DISCONNECTED 40141 as rtauthd
 * frames it, 120 bytes of JSON behind a 2-byte WebSocket header) on
 * each of N sockets in a loop, as fast as send() goes, while another waits in epoll and
 * reads them. Two processes, as server and clients are, so both cores can work at once.
 *
 * Prints each round and then the medians:
 *   FLOOR <wall_ms> <send_cpu_us_per_conn> <recv_cpu_us_per_conn>
 * wall_ms is from the first send() to the last byte read. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gwbench.h"

static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void put(int fd, const void *p, size_t n)
{
    if (write(fd, p, n) != (ssize_t)n) gw_die("floor: pipe write");
}

static void get(int fd, void *p, size_t n)
{
    if (read(fd, p, n) != (ssize_t)n) gw_die("floor: pipe read");
}

/* The clients: connect n sockets, then each round read one frame from every one. */
static void receiver(struct sockaddr_in *a, int n, int rounds, size_t bytes, int go, int back)
{
    int *fds = malloc((size_t)n * sizeof(int)), ep = epoll_create1(0);
    size_t *got = calloc((size_t)n, sizeof(size_t));
    if (!fds || !got || ep < 0) gw_die("floor: out of memory");
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)a, sizeof(*a))) gw_die("floor: connect");
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
        struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
    }
    char buf[4096];
    struct epoll_event ev[512];
    for (int r = 0; r < rounds; r++) {
        memset(got, 0, (size_t)n * sizeof(size_t));
        char c;
        get(go, &c, 1); /* the sender starts */
        double cpu0 = cpu_ms();
        int done = 0;
        while (done < n) {
            int k = epoll_wait(ep, ev, 512, 5000);
            if (k <= 0) gw_die("floor: nothing to read for 5 s (%d of %d)", done, n);
            for (int j = 0; j < k; j++) {
                uint32_t i = ev[j].data.u32;
                ssize_t m = recv(fds[i], buf, sizeof(buf), 0);
                if (m <= 0) continue;
                if ((got[i] += (size_t)m) == bytes) done++;
            }
        }
        double t[2] = {gw_now_ms(), cpu_ms() - cpu0};
        put(back, t, sizeof(t));
    }
    exit(0);
}

int gw_floor_main(int argc, char **argv)
{
    if (argc < 3) gw_die("usage: bench_gateway floor N [--rounds R] [--bytes B]");
    int n = atoi(argv[2]), rounds = atoi(gw_arg(argc, argv, "--rounds", "5"));
    size_t bytes = (size_t)atoi(gw_arg(argc, argv, "--bytes", "122"));
    if (n <= 0 || rounds <= 0 || bytes == 0 || bytes > 4096) gw_die("floor: bad arguments");
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4096) ||
        getsockname(l, (struct sockaddr *)&a, &al))
        gw_die("floor: listen");
    int go[2], back[2];
    if (pipe(go) || pipe(back)) gw_die("floor: pipe");
    pid_t child = fork();
    if (child < 0) gw_die("floor: fork");
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        receiver(&a, n, rounds, bytes, go[0], back[1]);
    }
    int *fds = malloc((size_t)n * sizeof(int));
    char *frame = malloc(bytes);
    if (!fds || !frame) gw_die("floor: out of memory");
    memset(frame, 'x', bytes);
    for (int i = 0; i < n; i++) {
        if ((fds[i] = accept(l, NULL, NULL)) < 0) gw_die("floor: accept");
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* as rtauthd */
    }
    double wall[64], send_us[64], recv_us[64];
    if (rounds > 64) rounds = 64;
    for (int r = 0; r < rounds; r++) {
        usleep(200000); /* both sides idle before each round */
        double t0 = gw_now_ms(), cpu0 = cpu_ms();
        put(go[1], "g", 1);
        for (int i = 0; i < n; i++)
            if (send(fds[i], frame, bytes, 0) != (ssize_t)bytes) gw_die("floor: send");
        double sent_cpu = cpu_ms() - cpu0, t[2];
        get(back[0], t, sizeof(t));
        wall[r] = t[0] - t0;
        send_us[r] = sent_cpu * 1000 / n;
        recv_us[r] = t[1] * 1000 / n;
        printf("round %d: %d frames of %zu bytes in %.1f ms; send %.2f us, epoll and recv %.2f us of CPU per connection\n",
               r + 1, n, bytes, wall[r], send_us[r], recv_us[r]);
    }
    size_t r = (size_t)rounds;
    printf("FLOOR %.1f %.2f %.2f\n", gw_percentile(wall, r, 0.5), gw_percentile(send_us, r, 0.5),
           gw_percentile(recv_us, r, 0.5));
    fflush(stdout);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
