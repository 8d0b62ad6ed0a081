/* weldnet_main.c - the weldnet executable: dispatches subcommands. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        printf("usage: weldnet COMMAND [OPTIONS]\n");
        return argc < 2 ? 2 : 0;
    }
    fprintf(stderr, "weldnet: unknown command '%s'\n", argv[1]);
    return 2;
}
