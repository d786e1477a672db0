/* main.c: rtauthd entry point. The token service and realtime gateway arrive with their
 * issues; for now it only knows its usage. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: rtauthd [--listen HOST:PORT] [--data-dir DIR] [--tls-cert FILE --tls-key FILE]\n"
                 "               [--sandbox] [--log-level LEVEL]\n"
                 "rtauthd issues, verifies and revokes Ably-compatible tokens and runs the realtime\n"
                 "gateway. (The server itself is not built yet: see the open issues.)\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
