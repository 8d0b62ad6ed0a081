/* cls_decide.c - the decision for one photo over every model: auto-pass only when each model
 * auto-passes it under its calibrated thresholds (wn_calib_autopass, the rule calibrate
 * searched), else review, with the suspected defects most probable first. */
#include <stdlib.h>
#include <string.h>

#include "wn_classify.h"
#include "wn_decide.h"

typedef struct suspect {
    float p;
    int col; /* probability column in the layout */
} suspect;

static int by_prob_desc(const void *a, const void *b) {
    const suspect *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return x->col - y->col;
}

int wn_cls_decide(const wn_cls_models *ms, const wn_cls_layout *L, const float *const *rows,
                  char *defects, size_t cap) {
    suspect *s = wn_xmalloc((size_t)L->n_p * sizeof *s); /* (P) at most */
    int n = 0, pass = 1;
    for (int mi = 0; mi < ms->n; mi++) {
        const wn_cls_model *m = &ms->m[mi];
        const float *row = rows[mi]; /* (K) */
        if (wn_calib_autopass(row, m->k, m->thr)) continue;
        pass = 0;
        int named = 0, best = 1;
        for (int j = 1; j < m->k; j++) {
            if (row[j] > row[best]) best = j;
            if (row[j] >= m->thr[j]) {
                s[n++] = (suspect){row[j], L->off[mi] + j};
                named++;
            }
        }
        if (!named) s[n++] = (suspect){row[best], L->off[mi] + best};
    }
    qsort(s, (size_t)n, sizeof *s, by_prob_desc);
    size_t used = 0;
    defects[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *name = L->disp[s[i].col];
        size_t len = strlen(name);
        if (used + len + 2 > cap) break;
        if (i) defects[used++] = ';';
        memcpy(defects + used, name, len + 1);
        used += len;
    }
    free(s);
    return pass ? WN_CLS_PASS : WN_CLS_REVIEW;
}
