/* wn_test.c - the test harness helpers declared in wn_test.h. */
#include "wn_test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int wn_test_failures = 0, wn_test_checks = 0;

/* the directories wn_test_tmpdir made, removed by wn_test_done when every check passed */
enum { MAX_DIRS = 8 };
static char made[MAX_DIRS][4096];
static int n_made = 0;

const char *wn_test_tmpdir(const char *name) {
    static char dir[4096];
    const char *root = getenv("WN_TEST_TMP");
    if (!root || !*root) root = "/tmp";
    mkdir(root, 0755);
    snprintf(dir, sizeof dir, "%s/%s.%ld", root, name, (long)getpid());
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot make %s\n", dir);
        exit(1);
    }
    if (n_made < MAX_DIRS) snprintf(made[n_made++], sizeof made[0], "%s", dir);
    return dir;
}

const char *wn_test_path(const char *dir, const char *name) {
    static char buf[8][4096];
    static int k = 0;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

int wn_test_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = len ? fwrite(data, 1, len, f) : 0;
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

int wn_test_done(void) {
    int passed = wn_test_checks - wn_test_failures;
    printf("%d passed, %d failed\n", passed, wn_test_failures);
    if (wn_test_failures) {
        for (int i = 0; i < n_made; i++) printf("kept for a look: %s\n", made[i]);
        return 1;
    }
    for (int i = 0; i < n_made; i++) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", made[i]);
        if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", made[i]);
    }
    return 0;
}
