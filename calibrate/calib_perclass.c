/* calib_perclass.c - per-class thresholds: every defect class j gets its own threshold on P_j (and
 * optionally a cap on the pooled score), chosen so that each class keeps within its own miss
 * budget with the most photos auto-passed. Starts from the best common threshold and the best
 * feasible pooled threshold (as a cap, or as the box around the photos it passes), then improves
 * by exact pairwise moves (a two-pointer sweep per pair of thresholds) until no pair improves,
 * and on small problems by triple moves; see wn_calib_perclass_search in wn_calib.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "wn_calib.h"

#define MAX_ROUNDS 1000
#define TRIPLE_WORK 1e8 /* photo visits all triple sweeps of a search may take (~1 s) */

/* One searched score in rank space: threshold index r in [0, d] auto-passes rank < r. */
typedef struct coord {
    int cls;       /* index of its threshold in t (K): 0 = pooled cap, j = class j */
    long d;        /* distinct values */
    float *cand;   /* (D+1) distinct values ascending, cand[d] = +inf */
    int32_t *rank; /* (N) dense rank of each photo's score */
    int32_t *ord;  /* (N) photos in ascending score order */
    int32_t *off;  /* (D+1) ord[off[v] .. off[v+1]) are the photos of rank v; off[d] = N */
} coord;

typedef struct search {
    long n;
    int k, m;              /* classes, coordinates */
    int triple;            /* triple moves allowed */
    double triple_left;    /* photo visits left for triple sweeps (TRIPLE_WORK a search) */
    const int *labels;     /* (N) */
    const long *allowed;   /* (K) */
    coord *co;             /* (M) */
    unsigned char *elig;   /* (N) photo passes every coordinate outside the pair in play */
    long *miss;            /* (K) work counts */
    uint64_t *items, *tmp; /* (N) sort scratch */
} search;

static void coord_free(coord *c) {
    free(c->cand);
    free(c->rank);
    free(c->ord);
    free(c->off);
    memset(c, 0, sizeof *c);
}

/* Ranks the scores v (N): one radix sort of (key, photo) items, then one walk. */
static void coord_build(coord *c, int cls, const float *v /* (N) */, long n,
                        uint64_t *items /* (N) */, uint64_t *tmp /* (N) */) {
    c->cls = cls;
    c->cand = wn_xmalloc(sizeof *c->cand * (size_t)(n + 1));
    c->rank = wn_xmalloc(sizeof *c->rank * (size_t)n);
    c->ord = wn_xmalloc(sizeof *c->ord * (size_t)n);
    c->off = wn_xmalloc(sizeof *c->off * (size_t)(n + 1));
    for (long i = 0; i < n; i++) items[i] = (uint64_t)wn_calib_float_key(v[i]) << 32 | (uint64_t)i;
    const uint64_t *s = wn_calib_sort_items(items, tmp, n);
    long d = 0;
    for (long p = 0; p < n; p++) {
        uint32_t key = (uint32_t)(s[p] >> 32);
        if (p == 0 || key != (uint32_t)(s[p - 1] >> 32)) {
            c->cand[d] = wn_calib_key_float(key);
            c->off[d] = (int32_t)p;
            d++;
        }
        int32_t i = (int32_t)(s[p] & 0xFFFFFFFFu);
        c->ord[p] = i;
        c->rank[i] = (int32_t)(d - 1);
    }
    c->d = d;
    c->cand[d] = INFINITY;
    c->off[d] = (int32_t)n;
}

/* The index r with cand[r-1] < t <= cand[r]: the rank threshold equal to the rule "v < t". */
static long coord_index(const coord *c, float t) {
    long lo = 0, hi = c->d; /* cand[hi] = +inf >= t */
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (c->cand[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static inline void add_photo(search *s, long i, long *passed, int *nviol) {
    (*passed)++;
    int y = s->labels[i];
    if (y > 0 && ++s->miss[y] == s->allowed[y] + 1) (*nviol)++;
}

static inline void remove_photo(search *s, long i, long *passed, int *nviol) {
    (*passed)--;
    int y = s->labels[i];
    if (y > 0 && s->miss[y]-- == s->allowed[y] + 1) (*nviol)--;
}

/* elig[i] = photo i passes every coordinate except a, b and c (-1: none). */
static void eligibility(search *s, const long *r /* (M) */, int a, int b, int c) {
    memset(s->elig, 1, (size_t)s->n);
    for (int l = 0; l < s->m; l++) {
        if (l == a || l == b || l == c) continue;
        const int32_t *rank = s->co[l].rank;
        long rl = r[l];
        for (long i = 0; i < s->n; i++)
            if (rank[i] >= rl) s->elig[i] = 0;
    }
}

/* Photos auto-passed under r, with the misses per class into s->miss. */
static long count_passed(search *s, const long *r /* (M) */, int *nviol) {
    memset(s->miss, 0, sizeof *s->miss * (size_t)s->k);
    eligibility(s, r, -1, -1, -1);
    long passed = 0;
    *nviol = 0;
    for (long i = 0; i < s->n; i++)
        if (s->elig[i]) add_photo(s, i, &passed, nviol);
    return passed;
}

/* The best single threshold on coordinate c for the eligible photos (elig NULL = all): the
 * highest r whose passed photos keep every budget. Returns that r; *passed its count. */
static long sweep_one(search *s, const coord *c, const unsigned char *elig, long *passed) {
    memset(s->miss, 0, sizeof *s->miss * (size_t)s->k);
    long cnt = 0, best = 0, best_cnt = 0;
    int nviol = 0;
    for (long ra = 1; ra <= c->d; ra++) {
        for (int32_t p = c->off[ra - 1]; p < c->off[ra]; p++) {
            int32_t i = c->ord[p];
            if (!elig || elig[i]) add_photo(s, i, &cnt, &nviol);
        }
        if (nviol > 0) break;
        best = ra;
        best_cnt = cnt;
    }
    *passed = best_cnt;
    return best;
}

/* The exact best (r_a, r_b) with every other coordinate fixed at r: as r_a rises the highest
 * feasible r_b can only fall, so one two-pointer sweep visits every photo at most twice. */
static long solve_pair(search *s, const long *r /* (M) */, int a, int b, long *out_a, long *out_b) {
    const coord *ca = &s->co[a], *cb = &s->co[b];
    eligibility(s, r, a, b, -1);
    memset(s->miss, 0, sizeof *s->miss * (size_t)s->k);
    long rb = cb->d, passed = 0, best = 0;
    int nviol = 0;
    *out_a = 0;
    *out_b = cb->d;
    for (long ra = 1; ra <= ca->d && rb > 0; ra++) {
        for (int32_t p = ca->off[ra - 1]; p < ca->off[ra]; p++) {
            int32_t i = ca->ord[p];
            if (s->elig[i] && cb->rank[i] < rb) add_photo(s, i, &passed, &nviol);
        }
        while (nviol > 0) {
            rb--;
            for (int32_t p = cb->off[rb]; p < cb->off[rb + 1]; p++) {
                int32_t i = cb->ord[p];
                if (s->elig[i] && ca->rank[i] < ra) remove_photo(s, i, &passed, &nviol);
            }
        }
        if (passed > best) {
            best = passed;
            *out_a = ra;
            *out_b = rb;
        }
    }
    return best;
}

/* One round of pairwise moves: every pair (a, b) solved exactly with the others fixed, accepted
 * when it passes more photos. Returns the photos passed after the round. */
static long pair_round(search *s, long *r /* (M) */, long cur, int *improved) {
    for (int a = 0; a < s->m; a++)
        for (int b = a + 1; b < s->m; b++) {
            long ra, rb, p = solve_pair(s, r, a, b, &ra, &rb);
            if (p > cur) {
                r[a] = ra;
                r[b] = rb;
                cur = p;
                *improved = 1;
            }
        }
    return cur;
}

/* Marks in useful (D_a + 1) the values of r_a worth trying while b and c are solved exactly:
 * D_a, and every r whose bucket (photos of rank r on a) holds a defect photo that passes the
 * other thresholds. Between those, raising r_a only adds ok photos, which keeps every pair
 * (r_b, r_c) feasible and passes more: the skipped values can never be better. Returns the count.
 */
static long useful_values(search *s, const long *r /* (M) */, int a, int b, int c,
                          unsigned char *useful /* (D_a + 1) */) {
    const coord *ca = &s->co[a];
    eligibility(s, r, a, b, c);
    memset(useful, 0, (size_t)ca->d + 1);
    useful[ca->d] = 1;
    for (long i = 0; i < s->n; i++)
        if (s->elig[i] && s->labels[i] > 0) useful[ca->rank[i]] = 1;
    long count = 0;
    for (long v = 0; v <= ca->d; v++) count += useful[v];
    return count;
}

/* Triple moves: every useful value of r_a, each with the exact best pair (b, c) of two other
 * thresholds. With M = 3 one sweep (a = the threshold with the fewest useful values) gives the
 * exact optimum; with M > 3 every a and pair is tried. A sweep runs only when its work, useful
 * values x N x M photo visits, fits in what is left of the search's TRIPLE_WORK; returns 0
 * when a sweep had to be skipped. */
static int triple_round(search *s, long *r /* (M) */, long *cur, int *improved) {
    long dmax = 0;
    for (int a = 0; a < s->m; a++) dmax = s->co[a].d > dmax ? s->co[a].d : dmax;
    unsigned char *useful = wn_xmalloc((size_t)dmax + 1);   /* (D_a + 1) */
    long *trial = wn_xmalloc(sizeof *trial * (size_t)s->m); /* (M) */
    int a_lo = 0, a_hi = s->m, ran = 1;
    if (s->m == 3) {
        long fewest = -1;
        for (int a = 0; a < 3; a++) {
            long cnt = useful_values(s, r, a, (a + 1) % 3, (a + 2) % 3, useful);
            if (fewest < 0 || cnt < fewest) {
                fewest = cnt;
                a_lo = a;
            }
        }
        a_hi = a_lo + 1;
    }
    for (int a = a_lo; a < a_hi; a++)
        for (int b = 0; b < s->m; b++)
            for (int c = b + 1; c < s->m; c++) {
                if (b == a || c == a) continue;
                long cnt = useful_values(s, r, a, b, c, useful);
                double work = (double)cnt * (double)s->n * s->m;
                if (work > s->triple_left) {
                    ran = 0;
                    continue;
                }
                s->triple_left -= work;
                memcpy(trial, r, sizeof *trial * (size_t)s->m);
                for (long ra = 0; ra <= s->co[a].d; ra++) {
                    if (!useful[ra]) continue;
                    long rb, rc;
                    trial[a] = ra;
                    long p = solve_pair(s, trial, b, c, &rb, &rc);
                    if (p > *cur) {
                        memcpy(r, trial, sizeof *r * (size_t)s->m);
                        r[b] = rb;
                        r[c] = rc;
                        *cur = p;
                        *improved = 1;
                    }
                }
            }
    free(trial);
    free(useful);
    return ran;
}

/* Coordinate ascent from a feasible r: pairwise rounds until none improves, then (small
 * problems) triple moves, again until nothing improves. Returns the photos passed at the end;
 * *exact = 1 when the result is provably optimal. */
static long local_search(search *s, long *r /* (M) */, int *rounds, int *exact) {
    int nviol;
    long cur = count_passed(s, r, &nviol);
    *exact = s->m <= 2;
    if (s->m == 1) {
        r[0] = sweep_one(s, &s->co[0], NULL, &cur);
        (*rounds)++;
        return cur;
    }
    for (int round = 0; round < MAX_ROUNDS; round++) {
        int improved = 0;
        cur = pair_round(s, r, cur, &improved);
        (*rounds)++;
        if (improved) continue;
        if (s->m < 3 || !s->triple) break;
        if (!triple_round(s, r, &cur, &improved)) break;
        if (s->m == 3) *exact = 1; /* the triple sweep found the optimum */
        if (!improved) break;
    }
    return cur;
}

/* Raises each threshold to the highest index that keeps the same passed set. */
static void raise_thresholds(search *s, long *r /* (M) */) {
    for (int a = 0; a < s->m; a++) {
        const coord *c = &s->co[a];
        eligibility(s, r, a, -1, -1);
        long lowest = c->d;
        for (long i = 0; i < s->n; i++)
            if (s->elig[i] && c->rank[i] >= r[a] && c->rank[i] < lowest) lowest = c->rank[i];
        r[a] = lowest;
    }
}

/* The best rule "v < t" on a derived score v (N) alone; returns t. */
static float best_single(search *s, const float *v /* (N) */) {
    coord c;
    coord_build(&c, 0, v, s->n, s->items, s->tmp);
    long passed, r = sweep_one(s, &c, NULL, &passed);
    float t = c.cand[r];
    coord_free(&c);
    return t;
}

/* Start (a): one common threshold on every P_j. */
static void start_common(search *s, const float *probs /* (N, K) */, float *v /* (N) */,
                         long *r /* (M) */) {
    for (long i = 0; i < s->n; i++) {
        const float *row = probs + (size_t)i * (size_t)s->k;
        float mx = row[1];
        for (int j = 2; j < s->k; j++) mx = fmaxf(mx, row[j]);
        v[i] = mx;
    }
    float t = best_single(s, v);
    for (int c = 0; c < s->m; c++)
        r[c] = s->co[c].cls == 0 ? s->co[c].d : coord_index(&s->co[c], t);
}

/* Start (b), with the cap: t[0] = the best pooled threshold that keeps every budget, the class
 * thresholds open. Any pooled threshold that keeps every budget passes no more photos. */
static int start_cap(search *s, const float *probs /* (N, K) */, float *v /* (N) */,
                     long *r /* (M) */) {
    wn_calib_pooled_scores(probs, s->n, s->k, v);
    float t = best_single(s, v);
    r[0] = coord_index(&s->co[0], t);
    for (int c = 1; c < s->m; c++) r[c] = s->co[c].d;
    return 1;
}

/* r = the bounding box of the photos whose pooled rank is below q (class thresholds just above
 * the largest P_j among them; the cap, if any, open). */
static void hull_at(search *s, const coord *pc, long q, long *r /* (M) */) {
    for (int c = 0; c < s->m; c++) r[c] = s->co[c].cls == 0 ? s->co[c].d : 0;
    for (int32_t p = 0; p < pc->off[q]; p++) {
        int32_t i = pc->ord[p];
        for (int c = 0; c < s->m; c++)
            if (s->co[c].cls != 0 && s->co[c].rank[i] + 1 > r[c]) r[c] = s->co[c].rank[i] + 1;
    }
}

/* Start (c): the box of the largest pooled threshold whose box keeps every budget (boxes grow
 * with the pooled threshold, so feasibility is monotone: binary search). Any pooled threshold
 * whose box keeps every budget passes no more photos than this box. 0 when it passes none. */
static int start_hull(search *s, const float *probs /* (N, K) */, float *v /* (N) */,
                      long *r /* (M) */) {
    wn_calib_pooled_scores(probs, s->n, s->k, v);
    coord pc;
    coord_build(&pc, 0, v, s->n, s->items, s->tmp);
    long lo = 0, hi = pc.d + 1; /* hull(lo) feasible; hull(hi) infeasible or beyond the end */
    int nviol;
    while (hi - lo > 1) {
        long mid = lo + (hi - lo) / 2;
        hull_at(s, &pc, mid, r);
        count_passed(s, r, &nviol);
        if (nviol == 0)
            lo = mid;
        else
            hi = mid;
    }
    hull_at(s, &pc, lo, r);
    coord_free(&pc);
    return lo > 0;
}

int wn_calib_perclass_budgets(const int *labels /* (N) */, long n, int k,
                              const double *targets /* (K) */, double confidence, int rule,
                              long *count /* (K) */, long *allowed /* (K) */, wn_err *e) {
    int rc = wn_calib_check_labels(labels, n, k, e);
    if (rc) return rc;
    if ((rc = wn_calib_check_confidence(confidence, e))) return rc;
    memset(count, 0, sizeof *count * (size_t)k);
    for (long i = 0; i < n; i++) count[labels[i]]++;
    allowed[0] = count[0];
    for (int j = 1; j < k; j++) {
        if ((rc = wn_calib_check_target(targets[j], e)))
            return wn_err_prefix(e, "defect class %d", j);
        if (count[j] == 0)
            return wn_err_set(e, WN_EINPUT, "the calibration set has no photos of defect class %d",
                              j);
        wn_calib_budget b;
        if ((rc = wn_calib_budget_make(&b, count[j], targets[j], confidence, rule, e))) return rc;
        if (!b.certifiable) {
            char what[64];
            snprintf(what, sizeof what, "photos of defect class %d", j);
            return wn_calib_budget_refuse(&b, what, e);
        }
        allowed[j] = b.allowed;
    }
    return WN_OK;
}

long wn_calib_perclass_count(const float *probs /* (N, K) */, const int *labels /* (N) */, long n,
                             int k, const float *t /* (K) */, long *misses /* (K) */) {
    memset(misses, 0, sizeof *misses * (size_t)k);
    long passed = 0;
    for (long i = 0; i < n; i++)
        if (wn_calib_autopass(probs + (size_t)i * (size_t)k, k, t)) {
            passed++;
            misses[labels[i]]++;
        }
    return passed;
}

static int check_input(const float *probs /* (N, K) */, const int *labels /* (N) */, long n, int k,
                       const long *allowed /* (K) */, wn_err *e) {
    if (n < 1) return wn_err_set(e, WN_EINPUT, "the calibration set is empty");
    if (n >= INT32_MAX)
        return wn_err_set(e, WN_EINPUT,
                          "%ld photos: per-class search is limited "
                          "to %d",
                          n, INT32_MAX - 1);
    int rc = wn_calib_check_labels(labels, n, k, e);
    if (rc) return rc;
    for (long i = 0; i < n * (long)k; i++)
        if (!isfinite(probs[i]))
            return wn_err_set(e, WN_EINPUT, "probability of class %d for photo %ld is %s",
                              (int)(i % k), i / k, isnan(probs[i]) ? "NaN" : "infinite");
    for (int j = 1; j < k; j++)
        if (allowed[j] < 0)
            return wn_err_set(e, WN_EINPUT, "allowed misses of class %d is %ld", j, allowed[j]);
    return WN_OK;
}

void wn_calib_perclass_free(wn_calib_perclass *r) {
    free(r->threshold);
    free(r->misses);
    memset(r, 0, sizeof *r);
}

int wn_calib_perclass_search(wn_calib_perclass *r, const float *probs /* (N, K) */,
                             const int *labels /* (N) */, long n, int k,
                             const long *allowed /* (K) */, int flags, wn_err *e) {
    memset(r, 0, sizeof *r);
    int rc = check_input(probs, labels, n, k, allowed, e);
    if (rc) return rc;
    int use_cap = (flags & WN_CALIB_PERCLASS_CAP) != 0;
    search s = {.n = n,
                .k = k,
                .m = (k - 1) + (use_cap ? 1 : 0),
                .labels = labels,
                .allowed = allowed,
                .triple = !(flags & WN_CALIB_PERCLASS_NO_TRIPLE),
                .triple_left = TRIPLE_WORK};
    s.co = wn_xcalloc((size_t)s.m, sizeof *s.co);
    s.elig = wn_xmalloc((size_t)n);
    s.miss = wn_xcalloc((size_t)k, sizeof *s.miss);
    s.items = wn_xmalloc(sizeof *s.items * (size_t)n);
    s.tmp = wn_xmalloc(sizeof *s.tmp * (size_t)n);
    float *v = wn_xmalloc(sizeof *v * (size_t)n);       /* (N) one score column at a time */
    long *rs = wn_xcalloc((size_t)s.m * 3, sizeof *rs); /* (3, M): current start, best, scratch */
    long *best = rs + s.m, *cur = rs + 2 * s.m;
    for (int c = 0; c < s.m; c++) {
        int cls = use_cap ? c : c + 1;
        if (cls == 0)
            wn_calib_pooled_scores(probs, n, k, v);
        else
            for (long i = 0; i < n; i++) v[i] = probs[(size_t)i * (size_t)k + (size_t)cls];
        coord_build(&s.co[c], cls, v, n, s.items, s.tmp);
    }

    long best_passed = -1;
    int exact = 0;
    for (int start = 0; start < 3; start++) {
        int usable = 1;
        if (start == 0)
            start_common(&s, probs, v, cur);
        else if (start == 1)
            usable = use_cap && start_cap(&s, probs, v, cur);
        else
            usable = start_hull(&s, probs, v, cur);
        if (!usable) continue;
        int start_exact;
        long p = local_search(&s, cur, &r->rounds, &start_exact);
        exact |= start_exact;
        if (p > best_passed) {
            best_passed = p;
            memcpy(best, cur, sizeof *best * (size_t)s.m);
        }
    }
    raise_thresholds(&s, best);

    r->k = k;
    r->n = n;
    r->exact = exact;
    r->threshold = wn_xmalloc(sizeof *r->threshold * (size_t)k);
    r->misses = wn_xcalloc((size_t)k, sizeof *r->misses);
    r->threshold[0] = INFINITY;
    for (int c = 0; c < s.m; c++) { /* between the chosen value and the one below (wn_calib_between) */
        const float *cand = s.co[c].cand;
        long b = best[c];
        r->threshold[s.co[c].cls] = b > 0 && isfinite(cand[b]) ? wn_calib_between(cand[b - 1], cand[b]) : cand[b];
    }
    r->passed = wn_calib_perclass_count(probs, labels, n, k, r->threshold, r->misses);
    rc = WN_OK;
    if (r->passed != best_passed)
        rc = wn_err_set(e, WN_ERUNTIME,
                        "per-class search: internal error, %ld photos passed, "
                        "%ld expected",
                        r->passed, best_passed);
    for (int j = 1; j < k && !rc; j++)
        if (r->misses[j] > allowed[j])
            rc = wn_err_set(e, WN_ERUNTIME,
                            "per-class search: internal error, class %d has %ld "
                            "misses, %ld allowed",
                            j, r->misses[j], allowed[j]);

    for (int c = 0; c < s.m; c++) coord_free(&s.co[c]);
    free(s.co);
    free(s.elig);
    free(s.miss);
    free(s.items);
    free(s.tmp);
    free(v);
    free(rs);
    return rc;
}
