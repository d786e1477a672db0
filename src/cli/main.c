/* main.c: the rtauth command-line tool. Subcommands arrive with their issues. */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: rtauth <command> [options]\n"
                 "commands (coming): app, key, token, time, subscribe, publish\n");
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
