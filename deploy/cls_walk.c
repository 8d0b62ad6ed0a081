/* cls_walk.c - the streaming folder walk of `weldnet classify`: depth-first over the photo
 * folders, the entries of each folder sorted so that whole paths come out in strcmp order (a
 * folder sorts as its name + '/'), hidden entries skipped, links followed, folders visited once
 * (device + inode), so link loops end. Only the folders on the current path are held in memory
 * (their names in one arena each), never the whole tree. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "wn_classify.h"
#include "wn_visited.h"

#define WALK_MAX_DEPTH 256

enum { ENT_FILE = 0, ENT_DIR = 1, ENT_BAD = 2 };

typedef struct walk_ent {
    uint32_t off, len; /* name in the frame's arena */
    int kind;          /* ENT_* */
    int err;           /* ENT_BAD: errno of following the link */
} walk_ent;

typedef struct walk_frame {
    char *names;       /* arena of NUL-terminated names, owned */
    size_t names_len, names_cap;
    walk_ent *ent;     /* (n) sorted, owned */
    int n, cap, next;
    size_t path_len;   /* length of the walk's path buffer for this folder */
} walk_frame;

struct wn_walk {
    char **roots;      /* (n_roots) normalised, sorted, owned */
    int *root_is_dir;  /* (n_roots) */
    int n_roots, cur_root;
    size_t root_len;   /* prefix of the path buffer before rel */
    walk_frame *stack; /* (cap_depth) frames, reused */
    int depth, cap_depth;
    char *path;        /* the current path, owned */
    size_t path_cap;
    wn_visited seen;   /* folders already searched */
    long revisits;
};

/* ---- ordering: a folder compares as its name followed by '/' ---- */

static unsigned key_at(const char *s, size_t len, int dir, size_t i) {
    if (i < len) return (unsigned char)s[i];
    return i == len && dir ? '/' : 0;
}

/* strcmp of a + (a_dir ? "/" : "") and b + (b_dir ? "/" : ""). */
static int key_cmp(const char *a, int a_dir, const char *b, int b_dir) {
    size_t la = strlen(a), lb = strlen(b);
    for (size_t i = 0;; i++) {
        unsigned x = key_at(a, la, a_dir, i), y = key_at(b, lb, b_dir, i);
        if (x != y) return x < y ? -1 : 1;
        if (!x) return 0;
    }
}

static int ent_cmp(const void *pa, const void *pb, void *arena) {
    const walk_ent *a = pa, *b = pb;
    const char *na = (const char *)arena + a->off, *nb = (const char *)arena + b->off;
    return key_cmp(na, a->kind == ENT_DIR, nb, b->kind == ENT_DIR);
}

/* ---- the path buffer ---- */

static void path_set(wn_walk *w, size_t keep, const char *name) {
    size_t n = strlen(name);
    int slash = keep > 0 && w->path[keep - 1] != '/';
    size_t need = keep + (size_t)slash + n + 1;
    if (need > w->path_cap) {
        w->path_cap = need * 2;
        w->path = wn_xrealloc(w->path, w->path_cap);
    }
    if (slash) w->path[keep] = '/';
    memcpy(w->path + keep + slash, name, n + 1);
}

static int photo_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    return !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".png");
}

/* ---- one folder's listing ---- */

static void frame_add(walk_frame *f, const char *name, int kind, int err) {
    size_t n = strlen(name) + 1;
    if (f->names_len + n > f->names_cap) {
        f->names_cap = (f->names_len + n) * 2;
        f->names = wn_xrealloc(f->names, f->names_cap);
    }
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->ent = wn_xrealloc(f->ent, (size_t)f->cap * sizeof *f->ent);
    }
    memcpy(f->names + f->names_len, name, n);
    f->ent[f->n++] = (walk_ent){(uint32_t)f->names_len, (uint32_t)(n - 1), kind, err};
    f->names_len += n;
}

/* Lists the folder at w->path (length plen) into a new frame; returns errno on failure. */
static int frame_push(wn_walk *w, size_t plen) {
    DIR *d = opendir(w->path);
    if (!d) return errno ? errno : EIO;
    if (w->depth == w->cap_depth) {
        int cap = w->cap_depth ? 2 * w->cap_depth : 16;
        w->stack = wn_xrealloc(w->stack, (size_t)cap * sizeof *w->stack);
        memset(w->stack + w->cap_depth, 0, (size_t)(cap - w->cap_depth) * sizeof *w->stack);
        w->cap_depth = cap;
    }
    walk_frame *f = &w->stack[w->depth];
    f->names_len = 0;
    f->n = f->next = 0;
    f->path_len = plen;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (name[0] == '.') continue;
        int t = de->d_type;
        if (t == DT_DIR) {
            frame_add(f, name, ENT_DIR, 0);
        } else if (t == DT_REG) {
            frame_add(f, name, ENT_FILE, 0);
        } else if (t == DT_LNK || t == DT_UNKNOWN) {
            path_set(w, plen, name);
            struct stat st;
            if (stat(w->path, &st) == 0) {
                if (S_ISDIR(st.st_mode)) frame_add(f, name, ENT_DIR, 0);
                else if (S_ISREG(st.st_mode)) frame_add(f, name, ENT_FILE, 0);
            } else {
                int err = errno;
                if (lstat(w->path, &st) == 0) frame_add(f, name, ENT_BAD, err);
            }
            w->path[plen] = '\0';
        }
        /* fifos, sockets and devices are not photos */
    }
    closedir(d);
    w->path[plen] = '\0';
    if (f->n > 1) qsort_r(f->ent, (size_t)f->n, sizeof *f->ent, ent_cmp, f->names);
    w->depth++;
    return 0;
}

/* ---- roots ---- */

static char *normalise_root(const char *s) {
    size_t n = strlen(s);
    char *out = wn_xmalloc(n + 2), *o = out;
    int abs = s[0] == '/';
    if (abs) *o++ = '/';
    const char *p = s;
    while (*p) {
        while (*p == '/') p++;
        const char *q = p;
        while (*q && *q != '/') q++;
        size_t len = (size_t)(q - p);
        if (len && !(len == 1 && p[0] == '.')) {
            if (o > out && o[-1] != '/') *o++ = '/';
            memcpy(o, p, len);
            o += len;
        }
        p = q;
    }
    if (o == out) *o++ = '.';
    *o = '\0';
    return out;
}

/* 1 when root a lies lexically inside root b. */
static int inside(const char *a, const char *b) {
    if (!strcmp(b, ".")) return a[0] != '/' && strcmp(a, ".") != 0;
    if (!strcmp(b, "/")) return a[0] == '/' && strcmp(a, "/") != 0;
    size_t n = strlen(b);
    return strncmp(a, b, n) == 0 && a[n] == '/';
}

typedef struct root_ref {
    char *path;
    int dir;
} root_ref;

static int root_cmp(const void *pa, const void *pb) {
    const root_ref *a = pa, *b = pb;
    return key_cmp(a->path, a->dir, b->path, b->dir);
}

int wn_walk_open(const char *const *roots, int n_roots, wn_walk **out, wn_err *e) {
    *out = NULL;
    if (n_roots < 1) return wn_err_set(e, WN_EINPUT, "no photo folders given");
    root_ref *r = wn_xcalloc((size_t)n_roots, sizeof *r); /* (n_roots) */
    int n = 0, rc = WN_OK;
    for (int i = 0; i < n_roots && rc == WN_OK; i++) {
        struct stat st;
        if (stat(roots[i], &st) != 0) {
            rc = wn_err_set(e, WN_EINPUT, "%s: no such photo folder or photo (%s)", roots[i],
                            strerror(errno));
        } else if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
            rc = wn_err_set(e, WN_EINPUT, "%s: not a folder or a photo file", roots[i]);
        } else {
            r[n].path = normalise_root(roots[i]);
            r[n++].dir = S_ISDIR(st.st_mode);
        }
    }
    if (rc == WN_OK) qsort(r, (size_t)n, sizeof *r, root_cmp);
    int m = 0; /* drop duplicates, refuse nesting */
    for (int i = 0; i < n && rc == WN_OK; i++) {
        if (m > 0 && !strcmp(r[m - 1].path, r[i].path)) {
            free(r[i].path);
            continue;
        }
        for (int j = 0; j < m && rc == WN_OK; j++)
            if (inside(r[i].path, r[j].path) || inside(r[j].path, r[i].path))
                rc = wn_err_set(e, WN_EINPUT,
                                "%s lies inside %s: give the outer folder only (each photo must "
                                "be classified once)",
                                inside(r[i].path, r[j].path) ? r[i].path : r[j].path,
                                inside(r[i].path, r[j].path) ? r[j].path : r[i].path);
        r[m++] = r[i];
    }
    if (rc) {
        for (int i = 0; i < m; i++) free(r[i].path);
        for (int i = m; i < n; i++) free(r[i].path);
        free(r);
        return rc;
    }
    wn_walk *w = wn_xcalloc(1, sizeof *w);
    w->n_roots = m;
    w->roots = wn_xcalloc((size_t)m, sizeof(char *));
    w->root_is_dir = wn_xcalloc((size_t)m, sizeof(int));
    for (int i = 0; i < m; i++) {
        w->roots[i] = r[i].path;
        w->root_is_dir[i] = r[i].dir;
    }
    free(r);
    w->path_cap = 256;
    w->path = wn_xmalloc(w->path_cap);
    w->path[0] = '\0';
    *out = w;
    return WN_OK;
}

static void emit(wn_walk *w, wn_walk_item *it, int root, const char *name, int err) {
    size_t n = strlen(w->path);
    it->path = w->path;
    it->rel = w->path + (w->root_len <= n ? w->root_len : n);
    it->root = root;
    it->named = photo_name(name);
    it->err = err;
}

int wn_walk_next(wn_walk *w, wn_walk_item *it) {
    for (;;) {
        if (w->depth == 0) {
            if (w->cur_root >= w->n_roots) return 0;
            int r = w->cur_root++;
            const char *root = w->roots[r];
            path_set(w, 0, root);
            size_t rl = strlen(root);
            if (!w->root_is_dir[r]) { /* a single photo: rel is its file name */
                const char *base = strrchr(root, '/');
                base = base ? base + 1 : root;
                w->root_len = (size_t)(base - root);
                emit(w, it, r, base, 0);
                return 1;
            }
            w->root_len = rl + (root[rl - 1] != '/');
            struct stat st;
            if (stat(root, &st) == 0 && !wn_visited_add(&w->seen, st.st_dev, st.st_ino)) {
                w->revisits++;
                continue;
            }
            int err = frame_push(w, rl);
            if (err) {
                emit(w, it, r, "", err);
                return 1;
            }
            continue;
        }
        walk_frame *f = &w->stack[w->depth - 1];
        if (f->next >= f->n) {
            w->depth--;
            continue;
        }
        walk_ent *en = &f->ent[f->next++];
        const char *name = f->names + en->off;
        path_set(w, f->path_len, name);
        size_t plen = strlen(w->path);
        int r = w->cur_root - 1;
        if (en->kind == ENT_FILE) {
            emit(w, it, r, name, 0);
            return 1;
        }
        if (en->kind == ENT_BAD) {
            if (!photo_name(name)) continue;
            emit(w, it, r, name, en->err);
            return 1;
        }
        struct stat st;
        if (stat(w->path, &st) != 0) continue; /* vanished */
        if (!wn_visited_add(&w->seen, st.st_dev, st.st_ino)) {
            w->revisits++;
            continue;
        }
        int err = w->depth >= WALK_MAX_DEPTH ? ELOOP : frame_push(w, plen);
        if (err) {
            emit(w, it, r, "", err);
            return 1;
        }
    }
}

int wn_walk_root_count(const wn_walk *w) { return w->n_roots; }
const char *wn_walk_root(const wn_walk *w, int i) { return w->roots[i]; }
long wn_walk_revisits(const wn_walk *w) { return w->revisits; }

void wn_walk_free(wn_walk *w) {
    if (!w) return;
    for (int i = 0; i < w->n_roots; i++) free(w->roots[i]);
    free(w->roots);
    free(w->root_is_dir);
    for (int i = 0; i < w->cap_depth; i++) {
        free(w->stack[i].names);
        free(w->stack[i].ent);
    }
    free(w->stack);
    free(w->path);
    wn_visited_free(&w->seen);
    free(w);
}
