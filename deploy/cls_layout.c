/* cls_layout.c - the report's columns: path, decision, defects, truth, one p:<model>:<class>
 * column per class of each model, models, error; built from the models or parsed back from a
 * report's header (so merge and resume need nothing but the report). */
#include <stdlib.h>
#include <string.h>

#include "wn_classify.h"

static const char *const lead[WN_CLS_FIXED_LEAD] = {"path", "decision", "defects", "truth"};
static const char *const tail[WN_CLS_FIXED_TAIL] = {"models", "error"};

static char *cat3(const char *a, const char *b, const char *c) {
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = wn_xmalloc(la + lb + lc + 1);
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    return s;
}

/* Fills disp and col from label, k, off and cls (all escaped). */
static void finish(wn_cls_layout *L) {
    L->disp = wn_xcalloc((size_t)L->n_p, sizeof(char *));
    L->n_cols = WN_CLS_FIXED_LEAD + L->n_p + WN_CLS_FIXED_TAIL;
    L->col = wn_xcalloc((size_t)L->n_cols, sizeof(char *));
    for (int i = 0; i < WN_CLS_FIXED_LEAD; i++) L->col[i] = wn_xstrdup(lead[i]);
    for (int m = 0; m < L->n_models; m++)
        for (int j = 0; j < L->k[m]; j++) {
            int q = L->off[m] + j;
            L->disp[q] = L->n_models == 1 ? wn_xstrdup(L->cls[q]) : cat3(L->label[m], ":", L->cls[q]);
            char *lab = cat3("p:", L->label[m], ":");
            L->col[WN_CLS_FIXED_LEAD + q] = cat3(lab, L->cls[q], "");
            free(lab);
        }
    for (int i = 0; i < WN_CLS_FIXED_TAIL; i++)
        L->col[WN_CLS_FIXED_LEAD + L->n_p + i] = wn_xstrdup(tail[i]);
}

void wn_cls_layout_make(wn_cls_layout *L, int n_models, char *const *labels, const int *k,
                        char *const *const *classes) {
    memset(L, 0, sizeof *L);
    L->n_models = n_models;
    L->label = wn_xcalloc((size_t)n_models, sizeof(char *));
    L->k = wn_xcalloc((size_t)n_models, sizeof(int));
    L->off = wn_xcalloc((size_t)n_models, sizeof(int));
    for (int m = 0; m < n_models; m++) {
        L->label[m] = wn_cls_escape(labels[m], strlen(labels[m]), WN_CLS_NAME_EXTRA);
        L->k[m] = k[m];
        L->off[m] = L->n_p;
        L->n_p += k[m];
    }
    L->cls = wn_xcalloc((size_t)L->n_p, sizeof(char *));
    for (int m = 0; m < n_models; m++)
        for (int j = 0; j < k[m]; j++)
            L->cls[L->off[m] + j] =
                wn_cls_escape(classes[m][j], strlen(classes[m][j]), WN_CLS_NAME_EXTRA);
    finish(L);
}

int wn_cls_layout_parse(wn_cls_layout *L, char *const *fields, int n, const char *path,
                        wn_err *e) {
    memset(L, 0, sizeof *L);
    int n_p = n - WN_CLS_FIXED_LEAD - WN_CLS_FIXED_TAIL;
    if (n_p < 2)
        return wn_err_set(e, WN_EINPUT, "%s: header has %d columns: not a weldnet classify report",
                          path, n);
    for (int i = 0; i < WN_CLS_FIXED_LEAD; i++)
        if (strcmp(fields[i], lead[i]))
            return wn_err_set(e, WN_EINPUT, "%s: header column %d is '%s', expected '%s'", path,
                              i + 1, fields[i], lead[i]);
    for (int i = 0; i < WN_CLS_FIXED_TAIL; i++)
        if (strcmp(fields[WN_CLS_FIXED_LEAD + n_p + i], tail[i]))
            return wn_err_set(e, WN_EINPUT, "%s: header column %d is '%s', expected '%s'", path,
                              WN_CLS_FIXED_LEAD + n_p + i + 1, fields[WN_CLS_FIXED_LEAD + n_p + i],
                              tail[i]);
    L->label = wn_xcalloc((size_t)n_p, sizeof(char *));
    L->k = wn_xcalloc((size_t)n_p, sizeof(int));
    L->off = wn_xcalloc((size_t)n_p, sizeof(int));
    L->cls = wn_xcalloc((size_t)n_p, sizeof(char *));
    L->n_p = n_p;
    for (int q = 0; q < n_p; q++) {
        const char *f = fields[WN_CLS_FIXED_LEAD + q];
        const char *colon = strncmp(f, "p:", 2) == 0 ? strchr(f + 2, ':') : NULL;
        if (!colon || colon == f + 2 || !colon[1]) {
            L->n_p = q;
            wn_cls_layout_free(L);
            return wn_err_set(e, WN_EINPUT, "%s: header column %d is '%s', expected p:MODEL:CLASS",
                              path, WN_CLS_FIXED_LEAD + q + 1, f);
        }
        size_t ll = (size_t)(colon - (f + 2));
        int m = L->n_models - 1;
        if (m < 0 || strlen(L->label[m]) != ll || strncmp(L->label[m], f + 2, ll)) {
            m = L->n_models++;
            L->label[m] = wn_xmalloc(ll + 1);
            memcpy(L->label[m], f + 2, ll);
            L->label[m][ll] = '\0';
            L->off[m] = q;
        }
        L->k[m]++;
        L->cls[q] = wn_xstrdup(colon + 1);
    }
    for (int m = 0; m < L->n_models; m++)
        if (L->k[m] < 2) {
            int rc = wn_err_set(e, WN_EINPUT, "%s: model '%s' has %d probability column: need 2 or more",
                                path, L->label[m], L->k[m]);
            wn_cls_layout_free(L);
            return rc;
        }
    finish(L);
    return WN_OK;
}

int wn_cls_layout_same(const wn_cls_layout *a, const wn_cls_layout *b) {
    if (a->n_cols != b->n_cols) return 0;
    for (int i = 0; i < a->n_cols; i++)
        if (strcmp(a->col[i], b->col[i])) return 0;
    return 1;
}

void wn_cls_layout_free(wn_cls_layout *L) {
    for (int m = 0; m < L->n_models; m++) free(L->label[m]);
    for (int q = 0; q < L->n_p; q++) {
        free(L->cls[q]);
        if (L->disp) free(L->disp[q]);
    }
    for (int i = 0; i < L->n_cols; i++) free(L->col[i]);
    free(L->label);
    free(L->k);
    free(L->off);
    free(L->cls);
    free(L->disp);
    free(L->col);
    memset(L, 0, sizeof *L);
}
