/* dataset_build.c - the builder the folder and manifest readers fill: class lookup (fixed list
 * or discovered names), sample collection, and the final class order and path sort. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data_internal.h"

void wn_dsb_init(wn_ds_builder *b, const char *const *fixed, int n_fixed) {
    memset(b, 0, sizeof *b);
    b->fixed = fixed;
    b->n_fixed = fixed ? n_fixed : 0;
}

void wn_dsb_free(wn_ds_builder *b) {
    for (int i = 0; i < b->n; i++) free(b->items[i].path);
    free(b->items);
    for (int i = 0; i < b->n_names; i++) free(b->names[i]);
    free(b->names);
    wn_dsb_init(b, NULL, 0);
}

int wn_dsb_class(wn_ds_builder *b, const char *name) {
    if (b->fixed) {
        for (int k = 0; k < b->n_fixed; k++)
            if (strcmp(b->fixed[k], name) == 0) return k;
        return -1;
    }
    if (b->last_hit < b->n_names && strcmp(b->names[b->last_hit], name) == 0) return b->last_hit;
    for (int k = 0; k < b->n_names; k++)
        if (strcmp(b->names[k], name) == 0) return b->last_hit = k;
    if (b->n_names >= WN_DATA_MAX_CLASSES) return -2;
    if (b->n_names == b->cap_names) {
        b->cap_names = b->cap_names ? 2 * b->cap_names : 8;
        b->names = wn_xrealloc(b->names, (size_t)b->cap_names * sizeof *b->names);
    }
    b->names[b->n_names] = wn_xstrdup(name);
    return b->last_hit = b->n_names++;
}

int wn_dsb_add(wn_ds_builder *b, char *path, int label, const char *source, wn_err *e) {
    if (b->n == INT_MAX - 1) {
        free(path);
        return wn_err_set(e, WN_EINPUT, "%s: more than %d photos", source, INT_MAX - 1);
    }
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * (size_t)b->cap : 256;
        if (cap > INT_MAX) cap = INT_MAX;
        b->items = wn_xrealloc(b->items, cap * sizeof *b->items);
        b->cap = (int)cap;
    }
    b->items[b->n].path = path;
    b->items[b->n].label = label;
    b->n++;
    return WN_OK;
}

void wn_dsb_class_list(const wn_ds_builder *b, char *buf, size_t n) {
    const char *const *v = b->fixed ? b->fixed : (const char *const *)b->names;
    int k = b->fixed ? b->n_fixed : b->n_names;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < k && used + 1 < n; i++) {
        int w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", v[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    if (used >= n && n > 4) memcpy(buf + n - 4, "...", 4);
}

static int cmp_sample(const void *a, const void *b) {
    return strcmp(((const wn_sample *)a)->path, ((const wn_sample *)b)->path);
}

/* Sorts name indices by strcmp of the names they point at (insertion sort: few classes). */
static void sort_names(char **names, int *order, int k) {
    for (int i = 0; i < k; i++) order[i] = i;
    for (int i = 1; i < k; i++) {
        int v = order[i], j = i - 1;
        while (j >= 0 && strcmp(names[order[j]], names[v]) > 0) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
}

void wn_dsb_finish(wn_ds_builder *b, const char *ok_class, const char *source, wn_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    if (b->fixed) {
        ds->n_classes = b->n_fixed;
        ds->class_names = wn_xcalloc((size_t)b->n_fixed, sizeof(char *));
        for (int k = 0; k < b->n_fixed; k++) ds->class_names[k] = wn_xstrdup(b->fixed[k]);
    } else {
        int k = b->n_names;
        int *order = wn_xcalloc((size_t)k, sizeof(int)); /* (k) new position -> old index */
        int *remap = wn_xcalloc((size_t)k, sizeof(int)); /* (k) old index -> new position */
        sort_names(b->names, order, k);
        const char *ok = ok_class ? ok_class : "ok";
        for (int i = 0; i < k; i++) {
            if (strcmp(b->names[order[i]], ok) == 0) {
                int v = order[i];
                memmove(order + 1, order, (size_t)i * sizeof(int));
                order[0] = v;
                break;
            }
        }
        ds->n_classes = k;
        ds->class_names = wn_xcalloc((size_t)k, sizeof(char *));
        for (int i = 0; i < k; i++) {
            ds->class_names[i] = b->names[order[i]];
            remap[order[i]] = i;
        }
        for (int i = 0; i < b->n; i++) b->items[i].label = remap[b->items[i].label];
        free(b->names);
        b->names = NULL;
        b->n_names = b->cap_names = 0;
        free(order);
        free(remap);
    }
    if (b->n > 1) qsort(b->items, (size_t)b->n, sizeof *b->items, cmp_sample);
    ds->n = b->n;
    ds->items = b->items;
    ds->source = wn_xstrdup(source);
    b->items = NULL;
    b->n = b->cap = 0;
}

int wn_data_is_photo_name(const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    return strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
           strcasecmp(dot, ".png") == 0;
}

char *wn_data_join(const char *dir, const char *name) {
    size_t a = strlen(dir), c = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = wn_xmalloc(a + (size_t)slash + c + 1);
    memcpy(p, dir, a);
    if (slash) p[a] = '/';
    memcpy(p + a + slash, name, c + 1);
    return p;
}
