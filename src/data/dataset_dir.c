/* dataset_dir.c - reads a photo folder with one subfolder per class: each class folder is
 * searched recursively for .jpg/.jpeg/.png files (any case), hidden entries are skipped, and
 * symlinked folders are followed once each (visited device+inode set), so loops cannot hang. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "wn_visited.h"

#define MAX_DEPTH 512

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

/* The non-hidden entry names of a folder, sorted by strcmp. */
static int list_dir(const char *dir, char ***out, int *count, wn_err *e) {
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return wn_err_set(e, WN_EINPUT, "%s: cannot read folder: %s", dir, strerror(errno));
    char **names = NULL; /* (n) */
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            names = wn_xrealloc(names, (size_t)cap * sizeof *names);
        }
        names[n++] = wn_xstrdup(de->d_name);
    }
    closedir(d);
    if (n > 1) qsort(names, (size_t)n, sizeof *names, cmp_str);
    *out = names;
    *count = n;
    return WN_OK;
}

typedef struct scan_ctx {
    wn_ds_builder *b;
    wn_visited seen;
    const char *root;
} scan_ctx;

/* Adds every photo under dir (recursively) with the given label. */
static int scan(scan_ctx *s, const char *dir, int label, int depth, wn_err *e) {
    if (depth > MAX_DEPTH)
        return wn_err_set(e, WN_EINPUT, "%s: folders nested more than %d deep", dir, MAX_DEPTH);
    char **names; /* (n) entries of dir */
    int n, rc = list_dir(dir, &names, &n, e);
    for (int i = 0; rc == WN_OK && i < n; i++) {
        char *full = wn_data_join(dir, names[i]);
        struct stat st;
        if (lstat(full, &st) != 0) { /* vanished while we looked */
            free(full);
            continue;
        }
        if (S_ISLNK(st.st_mode) && stat(full, &st) != 0) {
            /* a dangling link named like a photo is kept: decoding reports it */
            if (wn_data_is_photo_name(names[i]))
                rc = wn_dsb_add(s->b, full, label, s->root, e);
            else
                free(full);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (wn_visited_add(&s->seen, st.st_dev, st.st_ino)) rc = scan(s, full, label, depth + 1, e);
            free(full);
        } else if (S_ISREG(st.st_mode) && wn_data_is_photo_name(names[i])) {
            rc = wn_dsb_add(s->b, full, label, s->root, e);
        } else {
            free(full);
        }
    }
    free_names(names, n);
    return rc;
}

int wn_data_read_dir(const char *dir, wn_ds_builder *b, wn_err *e) {
    scan_ctx s = {b, {NULL, 0, 0}, dir};
    char **names; /* (n) entries of dir */
    int n, rc = list_dir(dir, &names, &n, e);
    if (rc) return rc;
    struct stat st;
    if (stat(dir, &st) == 0) wn_visited_add(&s.seen, st.st_dev, st.st_ino);

    /* class folders: the non-hidden subfolders (links followed), sorted */
    char **cls = wn_xcalloc((size_t)n, sizeof(char *)); /* (n_cls) full paths */
    int *lab = wn_xcalloc((size_t)n, sizeof(int));      /* (n_cls) class index */
    int n_cls = 0;
    char list[600];
    for (int i = 0; i < n && rc == WN_OK; i++) {
        char *full = wn_data_join(dir, names[i]);
        if (stat(full, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(full);
            continue;
        }
        int k = wn_dsb_class(b, names[i]);
        if (k == -1) {
            wn_dsb_class_list(b, list, sizeof list);
            rc = wn_err_set(e, WN_EINPUT, "%s: class folder '%s' is not one of the model's classes: %s",
                            full, names[i], list);
        } else if (k == -2) {
            rc = wn_err_set(e, WN_EINPUT, "%s: more than %d class folders", dir, WN_DATA_MAX_CLASSES);
        }
        cls[n_cls] = full;
        lab[n_cls++] = k;
    }
    if (rc == WN_OK && n_cls == 0)
        rc = wn_err_set(e, WN_EINPUT,
                        "%s: no class subfolders (expected one folder of photos per class, e.g. "
                        "%s/ok/)",
                        dir, dir);
    for (int i = 0; i < n_cls && rc == WN_OK; i++) {
        int before = b->n;
        if (stat(cls[i], &st) == 0 && wn_visited_add(&s.seen, st.st_dev, st.st_ino))
            rc = scan(&s, cls[i], lab[i], 1, e);
        if (rc == WN_OK && b->n == before)
            rc = wn_err_set(e, WN_EINPUT, "%s: class folder holds no photos (.jpg, .jpeg, .png)", cls[i]);
    }
    if (rc == WN_OK && b->n == 0)
        rc = wn_err_set(e, WN_EINPUT, "%s: no photos (.jpg, .jpeg, .png) in the class folders", dir);
    free_names(cls, n_cls);
    free(lab);
    free_names(names, n);
    wn_visited_free(&s.seen);
    return rc;
}
