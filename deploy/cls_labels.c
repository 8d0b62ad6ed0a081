/* cls_labels.c - the ground truth of an audit: the class folder a photo lies in (a photo folder
 * whose every non-hidden entry is a folder named after a class of one of the models), or its
 * label in a CSV manifest (path,label, read by wn_dataset_open), matched by the lexically
 * normalised absolute path. The manifest is held in memory (sorted keys, binary search). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wn_classify.h"

static char *norm_with(const char *cwd, const char *path) {
    size_t n = strlen(path) + (path[0] == '/' ? 0 : strlen(cwd) + 1);
    char *in = wn_xmalloc(n + 1);
    if (path[0] == '/') strcpy(in, path);
    else snprintf(in, n + 1, "%s/%s", cwd, path);
    char *out = wn_xmalloc(n + 2);
    size_t o = 0;
    for (const char *p = in; *p;) {
        while (*p == '/') p++;
        const char *q = p;
        while (*q && *q != '/') q++;
        size_t len = (size_t)(q - p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            while (o > 0 && out[o - 1] != '/') o--;
            if (o > 0) o--;
        } else if (len && !(len == 1 && p[0] == '.')) {
            out[o++] = '/';
            memcpy(out + o, p, len);
            o += len;
        }
        p = q;
    }
    if (o == 0) out[o++] = '/';
    out[o] = '\0';
    free(in);
    return out;
}

static char *get_cwd(void) {
    size_t cap = 256;
    char *b = wn_xmalloc(cap);
    while (!getcwd(b, cap)) {
        if (errno != ERANGE) {
            strcpy(b, "/");
            break;
        }
        cap *= 2;
        b = wn_xrealloc(b, cap);
    }
    return b;
}

char *wn_cls_normpath(const char *path) {
    char *cwd = get_cwd();
    char *s = norm_with(cwd, path);
    free(cwd);
    return s;
}

static int add_name(wn_cls_labels *L, const char *name) {
    for (int i = 0; i < L->n_names; i++)
        if (!strcmp(L->names[i], name)) return i;
    L->names = wn_xrealloc(L->names, (size_t)(L->n_names + 1) * sizeof(char *));
    L->names[L->n_names] = wn_xstrdup(name);
    return L->n_names++;
}

/* 1 when every non-hidden entry of dir is a folder named after one of the classes (and there
 * is at least one); the names are added to the label table. */
static int folder_labelled(wn_cls_labels *L, const char *dir, char *const *classes, int n_classes) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int ok = 1, n = 0;
    struct dirent *de;
    char **seen = NULL;
    while (ok && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        int known = 0;
        for (int i = 0; i < n_classes && !known; i++) known = !strcmp(classes[i], de->d_name);
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *full = wn_xmalloc(len);
        snprintf(full, len, "%s/%s", dir, de->d_name);
        struct stat st;
        ok = known && stat(full, &st) == 0 && S_ISDIR(st.st_mode);
        free(full);
        if (ok) {
            seen = wn_xrealloc(seen, (size_t)(n + 1) * sizeof(char *));
            seen[n++] = wn_xstrdup(de->d_name);
        }
    }
    closedir(d);
    ok = ok && n > 0;
    for (int i = 0; i < n; i++) {
        if (ok) add_name(L, seen[i]);
        free(seen[i]);
    }
    free(seen);
    return ok;
}

typedef struct key_pair {
    char *key;
    int label;
} key_pair;

static int pair_cmp(const void *a, const void *b) {
    return strcmp(((const key_pair *)a)->key, ((const key_pair *)b)->key);
}

static int open_manifest(wn_cls_labels *L, const char *manifest, wn_err *e) {
    wn_dataset ds;
    int rc = wn_dataset_open(manifest, NULL, 0, NULL, &ds, e);
    if (rc) return rc;
    for (int k = 0; k < ds.n_classes; k++) add_name(L, ds.class_names[k]);
    key_pair *kp = wn_xcalloc((size_t)ds.n, sizeof *kp); /* (n) */
    for (int i = 0; i < ds.n; i++) {
        kp[i].key = norm_with(L->cwd, ds.items[i].path);
        kp[i].label = ds.items[i].label;
    }
    qsort(kp, (size_t)ds.n, sizeof *kp, pair_cmp);
    L->n_manifest = ds.n;
    L->key = wn_xcalloc((size_t)ds.n, sizeof(char *));
    L->key_label = wn_xcalloc((size_t)ds.n, sizeof(int));
    for (int i = 0; i < ds.n; i++) {
        if (i && !strcmp(kp[i].key, kp[i - 1].key) && kp[i].label != kp[i - 1].label) {
            rc = wn_err_set(e, WN_EINPUT, "%s: photo %s has two different labels", manifest, kp[i].key);
        }
        L->key[i] = kp[i].key;
        L->key_label[i] = kp[i].label;
    }
    free(kp);
    wn_dataset_free(&ds);
    L->source = wn_xstrdup(manifest);
    return rc;
}

int wn_cls_labels_open(wn_cls_labels *L, const wn_walk *w, const char *manifest,
                       char *const *classes, int n_classes, wn_err *e) {
    memset(L, 0, sizeof *L);
    L->cwd = get_cwd();
    L->n_roots = wn_walk_root_count(w);
    L->root_labelled = wn_xcalloc((size_t)L->n_roots, sizeof(int));
    if (manifest) {
        int rc = open_manifest(L, manifest, e);
        if (rc) wn_cls_labels_free(L);
        return rc;
    }
    int any = 0;
    for (int r = 0; r < L->n_roots; r++) {
        L->root_labelled[r] = folder_labelled(L, wn_walk_root(w, r), classes, n_classes);
        any |= L->root_labelled[r];
    }
    if (any) L->source = wn_xstrdup("class folders");
    return WN_OK;
}

int wn_cls_labels_active(const wn_cls_labels *L) { return L->source != NULL; }

int wn_cls_labels_of(const wn_cls_labels *L, const wn_walk_item *it) {
    if (L->n_manifest) {
        char *k = norm_with(L->cwd, it->path);
        int lo = 0, hi = L->n_manifest - 1, found = -1;
        while (lo <= hi) {
            int mid = lo + (hi - lo) / 2, c = strcmp(L->key[mid], k);
            if (c == 0) {
                found = L->key_label[mid];
                break;
            }
            if (c < 0) lo = mid + 1;
            else hi = mid - 1;
        }
        free(k);
        return found;
    }
    if (it->root < 0 || it->root >= L->n_roots || !L->root_labelled[it->root]) return -1;
    size_t n = strcspn(it->rel, "/");
    if (!it->rel[n]) return -1;
    for (int i = 0; i < L->n_names; i++)
        if (strlen(L->names[i]) == n && !strncmp(L->names[i], it->rel, n)) return i;
    return -1;
}

void wn_cls_labels_free(wn_cls_labels *L) {
    for (int i = 0; i < L->n_names; i++) free(L->names[i]);
    for (int i = 0; i < L->n_manifest; i++) free(L->key[i]);
    free(L->names);
    free(L->key);
    free(L->key_label);
    free(L->root_labelled);
    free(L->source);
    free(L->cwd);
    memset(L, 0, sizeof *L);
}
