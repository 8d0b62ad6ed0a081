/* wn_calib.h - the numeric core of `weldnet calibrate`: threshold-moving, the pooled threshold
 * search over the whole trade-off curve, allowed misses (point estimate or the certified
 * order-statistic rule), Clopper-Pearson intervals, per-class thresholds and the summary text.
 *
 * Words (../shared/DESIGN.md): class 0 is the ok class, classes 1..K-1 are defect classes. A
 * photo is AUTO-PASSED when its defect score is below the threshold (strictly: s < t), otherwise
 * it goes to REVIEW. automation = auto-passed / all photos; defect recall = defect photos NOT
 * auto-passed / defect photos; a MISS is a defect photo that is auto-passed.
 *
 * One decision rule serves both modes (wn_calib_autopass): a threshold vector t (K) where t[0]
 * is a threshold on the pooled score (sum of the defect probabilities = 1 - P(ok)) and t[j],
 * j >= 1, a threshold on P(class j). A photo is auto-passed when pooled < t[0] AND P_j < t[j]
 * for every defect class j. Pooled calibration sets t[0] and leaves t[j] = +inf; per-class
 * calibration sets t[1..K-1] and leaves t[0] = +inf (unless the pooled cap is searched too).
 *
 * Conventions: functions returning int return WN_OK, or WN_EINPUT with a message in e for bad
 * input; photo and class numbers in messages are 0-based array indices. Arrays are caller-owned
 * unless a struct says "owned" (then its _free releases them). Counts are long. Nothing here
 * keeps global state; every function is reentrant. */
#ifndef WN_CALIB_H
#define WN_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "wn_decide.h" /* threshold-moving and the auto-pass rule, shared with classify */
#include "wn_err.h"

/* ======================================================================================
 * Rules for the allowed number of misses (calib_binom.c)
 * ====================================================================================== */

enum {
    WN_CALIB_POINT = 0,     /* recall >= target on the calibration set itself */
    WN_CALIB_CERTIFIED = 1, /* recall >= target with probability >= confidence (order statistic) */
};

/* WN_EINPUT unless target is in (0, 1] / confidence is in (0, 1) (NaN refused). */
int wn_calib_check_target(double target, wn_err *e);
int wn_calib_check_confidence(double confidence, wn_err *e);

/* Binomial distribution, computed in log space with lgamma (stable for n up to 1e7 and more):
 * log P(X = k), log P(X <= k) and P(X <= k) for X ~ Binomial(n, p). k < 0 gives P = 0 (log -inf),
 * k >= n gives 1. The CDF sums pmf ratios from k towards the tail away from the mean until the
 * terms are negligible (O(sqrt(n)) terms at worst); above the mean it uses 1 - upper tail. */
double wn_calib_binom_logpmf(long k, long n, double p);
double wn_calib_binom_logcdf(long k, long n, double p);
double wn_calib_binom_cdf(long k, long n, double p);

/* Point rule: the most misses m with (n - m) / n >= target, i.e. floor((1 - target) n), computed
 * so that a product that is an integer in exact arithmetic counts as one (0.95 * 20 allows exactly
 * 1 miss, 0.9 * 10 exactly 1). target in (0, 1], n >= 0. */
long wn_calib_point_allowed(long n, double target);
/* Certified rule: k* = max{k >= 0 : BinomCDF(k; n, 1 - target) <= 1 - confidence}, or -1 when no
 * k qualifies ("cannot certify"). Binary search on the CDF, O(sqrt(n) log n). */
long wn_calib_certified_allowed(long n, double target, double confidence);
/* Smallest n for which the certified rule admits k* >= 0 (target^n <= 1 - confidence; 59 at
 * 0.95/0.95), or -1 when no n does (target = 1). */
long wn_calib_certified_n_needed(double target, double confidence);

/* The misses allowed for one set of n defect photos under a rule. */
typedef struct wn_calib_budget {
    int rule;          /* WN_CALIB_POINT or WN_CALIB_CERTIFIED */
    double target;     /* recall target, (0, 1] */
    double confidence; /* confidence level, (0, 1): the certified rule's and the intervals' */
    long n;            /* defect photos */
    int certifiable;   /* 0 when the certified rule admits no k (n too small); 1 otherwise */
    long allowed;      /* misses allowed; -1 when !certifiable */
    long n_needed;     /* certified rule: smallest n that certifies (-1: none); point rule: 0 */
} wn_calib_budget;

/* Fills b. WN_EINPUT for a bad target, confidence, rule or n < 1 ("no defect photos").
 * "Cannot certify" is NOT an error here: b->certifiable = 0 and b->n_needed say so. */
int wn_calib_budget_make(wn_calib_budget *b, long n, double target, double confidence, int rule,
                         wn_err *e);
/* "cannot certify recall >= 95% with 95% confidence from 40 defect photos: at least 59 are
 * needed (the uncertified point estimate is available)" into e as WN_EINPUT; returns WN_EINPUT.
 * what names the photos ("defect photos", "photos of defect class 2"). */
int wn_calib_budget_refuse(const wn_calib_budget *b, const char *what, wn_err *e);

/* ======================================================================================
 * Regularized incomplete beta and Clopper-Pearson intervals (calib_beta.c)
 * ====================================================================================== */

/* I_x(a, b), a, b > 0, x in [0, 1]: Lentz's continued fraction (as in Numerical Recipes' betacf),
 * on x or on 1 - x with the symmetry I_x(a,b) = 1 - I_{1-x}(b,a), whichever converges. */
double wn_calib_betai(double a, double b, double x);
/* The x in [0, 1] with I_x(a, b) = y, by bisection to full double precision (relative). */
double wn_calib_betai_inv(double a, double b, double y);

typedef struct wn_calib_interval {
    double lo, hi;
} wn_calib_interval;

/* Two-sided Clopper-Pearson interval at level confidence for x successes out of n:
 * lo = I^-1_{(1-c)/2}(x, n-x+1) (0 when x = 0), hi = I^-1_{(1+c)/2}(x+1, n-x) (1 when x = n).
 * WN_EINPUT unless 0 <= x <= n, n >= 1 and confidence in (0, 1). */
int wn_calib_clopper_pearson(long x, long n, double confidence, wn_calib_interval *ci, wn_err *e);

/* ======================================================================================
 * Sorting scores (calib_sort.c): LSD radix sort on the float bit patterns; big buffers
 * (calib_mem.c)
 * ====================================================================================== */

/* malloc for large arrays: at 8 MiB and over, 2 MiB-aligned and advised onto transparent huge
 * pages (page faults dominate otherwise). NULL when out of memory; release with free(). */
void *wn_calib_alloc(size_t bytes);
/* Order-preserving map float -> uint32 (and back): a < b as floats iff key(a) < key(b); -0.0 is
 * mapped like +0.0 so equal floats get equal keys. NaN must be refused before. */
uint32_t wn_calib_float_key(float f);
float wn_calib_key_float(uint32_t key);
/* Sorts keys (N) ascending using tmp (N) as scratch; returns the buffer that holds the result
 * (keys or tmp). 3 passes of 11 bits, passes whose digit is constant are skipped. */
uint32_t *wn_calib_sort_keys(uint32_t *keys /* (N) */, uint32_t *tmp /* (N) */, long n);
/* Same for items (N) ordered by their high 32 bits only (key << 32 | payload); stable. */
uint64_t *wn_calib_sort_items(uint64_t *items /* (N) */, uint64_t *tmp /* (N) */, long n);

/* ======================================================================================
 * Input checks (calib_input.c)
 * ====================================================================================== */

/* "score of photo 17 is NaN" / "is infinite". */
int wn_calib_check_scores(const float *scores /* (N) */, long n, wn_err *e);
/* "label of photo 3 is 7: labels must be 0 (ok) to 4"; n_classes >= 2. */
int wn_calib_check_labels(const int *labels /* (N) */, long n, int n_classes, wn_err *e);
/* Every entry finite and in [0, 1] and every row summing to 1 within tol:
 * "probabilities of photo 17 sum to 0.93, not 1 (tolerance 0.001)". */
int wn_calib_check_probs(const float *probs /* (N, K) */, long n, int k, double tol, wn_err *e);

/* ======================================================================================
 * The pooled trade-off curve (calib_curve.c)
 * ====================================================================================== */

/* One point per candidate threshold: the distinct score values in ascending order, then +inf.
 * Threshold t auto-passes exactly the photos with score < t, so photos with equal scores always
 * fall on the same side; point 0 auto-passes nothing, the last (+inf) auto-passes everything.
 * Stored as counts (20 bytes a point; arrays have room for N + 1 points, the pages past P are
 * never touched); wn_calib_curve_point derives the rates. */
typedef struct wn_calib_curve {
    long n;           /* photos */
    long n_defect;    /* defect photos (label != 0) */
    long n_points;    /* P = distinct scores + 1 */
    float *threshold; /* (P) owned, strictly ascending, threshold[P-1] = +inf */
    long *passed;     /* (P) owned, photos with score < threshold (nondecreasing) */
    long *misses;     /* (P) owned, defect photos with score < threshold (nondecreasing) */
} wn_calib_curve;

typedef struct wn_calib_point {
    float threshold;   /* the decision threshold of the point: wn_calib_between(the previous
                          distinct score, this point's score), the score itself for point 0,
                          +inf for the last */
    long passed, misses;
    double recall;     /* (n_defect - misses) / n_defect */
    double automation; /* passed / n */
    double precision;  /* defects among reviewed photos / reviewed photos; 1 when none reviewed */
} wn_calib_point;

/* A float m with lo < m <= hi, as near the middle of (lo, hi] as float allows (hi when they are
 * adjacent floats). Needs lo < hi, both finite. A threshold chosen between two calibration scores
 * rather than on one makes the same decisions on the calibration set, and keeps making them when
 * a score moves by rounding (another batch size, thread count or device), so a defect photo
 * at the threshold is not auto-passed by a last-bit difference. */
float wn_calib_between(float lo, float hi);

/* Builds the curve from scores (N) and labels (N) in [0, n_classes): validates (NaN or infinite
 * scores, labels out of range, an empty set, no defect photos: WN_EINPUT), radix-sorts the ok and
 * the defect scores apart, and merges them in one pass. 8N bytes of scratch beside the curve,
 * O(N) time. On error c is left empty (safe to free). */
int wn_calib_curve_build(wn_calib_curve *c, const float *scores /* (N) */,
                         const int *labels /* (N) */, long n, int n_classes, wn_err *e);
void wn_calib_curve_free(wn_calib_curve *c);
wn_calib_point wn_calib_curve_point(const wn_calib_curve *c, long i);
/* The point with the highest automation whose misses <= allowed (binary search): the largest i
 * with misses[i] <= allowed. allowed >= 0 (point 0 always qualifies). */
long wn_calib_curve_choose(const wn_calib_curve *c, long allowed);
/* Budget for (target, confidence, rule) with the curve's n_defect, and the chosen index (-1 when
 * the certified rule cannot certify). WN_EINPUT only for a bad target/confidence/rule. */
int wn_calib_curve_at_target(const wn_calib_curve *c, double target, double confidence, int rule,
                             wn_calib_budget *b, long *index, wn_err *e);

/* ======================================================================================
 * Pooled calibration, end to end (calib_search.c)
 * ====================================================================================== */

typedef struct wn_calib_pooled {
    wn_calib_curve curve;        /* owned */
    wn_calib_budget budget;      /* allowed misses under the rule asked for */
    long chosen;                 /* index into the curve; -1 when the rule cannot certify */
    wn_calib_point point;        /* the chosen point (zeroed when chosen = -1) */
    wn_calib_interval recall_ci; /* Clopper-Pearson at budget.confidence, of the chosen point */
    wn_calib_interval automation_ci;
} wn_calib_pooled;

/* Curve + budget + choice + intervals. Under WN_CALIB_CERTIFIED with too few defect photos it
 * returns WN_EINPUT with the "cannot certify ... at least N needed" message while r keeps the
 * curve and the budget (r->chosen = -1), so a caller may fall back to the point rule on request.
 * r is always safe to free. */
int wn_calib_pooled_run(wn_calib_pooled *r, const float *scores /* (N) */,
                        const int *labels /* (N) */, long n, int n_classes, double target,
                        double confidence, int rule, wn_err *e);
void wn_calib_pooled_free(wn_calib_pooled *r);

/* ======================================================================================
 * Per-class thresholds (calib_perclass.c)
 * ====================================================================================== */

/* Counts photos per class into count (K) and the misses each defect class may have into
 * allowed (K) (allowed[0] = count[0]: ok photos are never misses), each class j >= 1 with its
 * own targets[j] (targets[0] is ignored). WN_EINPUT for a bad target or confidence, labels out
 * of range, a defect class without photos, or a class the certified rule cannot certify. */
int wn_calib_perclass_budgets(const int *labels /* (N) */, long n, int k,
                              const double *targets /* (K) */, double confidence, int rule,
                              long *count /* (K) out */, long *allowed /* (K) out */, wn_err *e);

/* Flags of wn_calib_perclass_search. */
enum {
    WN_CALIB_PERCLASS_CAP = 1,       /* also search t[0], a cap on the pooled score */
    WN_CALIB_PERCLASS_NO_TRIPLE = 2, /* pairwise moves only (to measure what triple moves add) */
};

typedef struct wn_calib_perclass {
    int k;            /* classes */
    long n, passed;   /* photos, photos auto-passed */
    float *threshold; /* (K) owned: the rule's t; t[0] = +inf unless CAP */
    long *misses;     /* (K) owned: photos of class j auto-passed (j = 0: ok photos passed) */
    int exact;        /* 1 when the result is provably optimal (see wn_calib_perclass_search) */
    int rounds;       /* local-search rounds taken, over all starts */
} wn_calib_perclass;

/* Searches t (K) with the highest automation such that, for every defect class j, at most
 * allowed[j] photos of class j are auto-passed. Scores: P_j = probs[i][j]; with the flag
 * WN_CALIB_PERCLASS_CAP also the pooled score, t[0] searched as well (a deployment then applies
 * both, see wn_calib_autopass).
 *
 * Method (the exact search is combinatorial in general): thresholds are indices into each
 * score's sorted distinct values (+inf), so ties are exact. From each of these feasible starts
 *   (a) one common threshold on every P_j (the best 1-D sweep on max_j P_j),
 *   (b) with the cap: t[0] = the best pooled threshold that keeps every budget, t[j] = +inf,
 *   (c) the bounding box (t[j] just above the largest P_j passed) of the photos below the
 *       highest pooled threshold whose box keeps every budget (binary search: boxes grow with
 *       the pooled threshold),
 * it runs pairwise coordinate ascent: for each pair of thresholds, with the others fixed, the
 * exact best pair by a two-pointer sweep in O(N) (as t_a rises the highest feasible t_b falls;
 * each photo enters and leaves the passed set at most once), accepted when it passes more
 * photos; rounds repeat until no pair improves. Then, unless NO_TRIPLE, triple moves while a
 * budget of 1e8 photo visits a search lasts (about 1 s; a 3-class set of ~15,000 photos fits):
 * every useful value of one threshold (where a defect photo enters; raising it past ok photos
 * only can never hurt), each with the exact best pair of two others; pairwise rounds resume
 * after any gain. Every move keeps every budget, so the result is always feasible.
 *
 * Guarantees: never worse than the best common threshold; never worse than a pooled threshold
 * whose box keeps every budget; with the cap, never worse than ANY pooled threshold that keeps
 * every budget (without the cap a box cannot always contain a pooled solution's photos without
 * adding others, and may then do worse); the exact optimum when at most 2 thresholds are free
 * (one or two defect classes without the cap, one with it) or when 3 are and the triple sweep
 * ran (r->exact says which); a local optimum (pairwise or triple-wise) otherwise. Finally each
 * threshold is raised to the highest candidate that keeps the same passed set (the pooled
 * curve's convention), and the result is re-counted with the float rule wn_calib_autopass
 * (WN_ERUNTIME if a budget were broken: an internal error). Cost O(M^2 N) a pairwise round after
 * M radix sorts (M = free thresholds). N < INT32_MAX.
 * WN_EINPUT: an empty set, labels out of range, non-finite probabilities, allowed[j] < 0. */
int wn_calib_perclass_search(wn_calib_perclass *r, const float *probs /* (N, K) */,
                             const int *labels /* (N) */, long n, int k,
                             const long *allowed /* (K) */, int flags, wn_err *e);
void wn_calib_perclass_free(wn_calib_perclass *r);
/* Direct count of the rule t (K) over the photos: returns passed; misses (K) per class. */
long wn_calib_perclass_count(const float *probs /* (N, K) */, const int *labels /* (N) */, long n,
                             int k, const float *t /* (K) */, long *misses /* (K) out */);

/* ======================================================================================
 * Summaries a person reads (calib_summary.c); snprintf-like: write at most cap bytes
 * (NUL-terminated when cap > 0) and return the length the full text needs.
 * ====================================================================================== */

/* The standard targets the summary lists, as an initializer: double t[] = WN_CALIB_STD_TARGETS. */
#define WN_CALIB_N_STD_TARGETS 4
#define WN_CALIB_STD_TARGETS                                                                       \
    { 0.90, 0.95, 0.98, 0.99 }

/* "threshold 0.137: catches 95.6% of defects (at least 95.0% with 95% confidence, n = 412);
 * auto-passes 61.3% of photos". Under the point rule the bracket gives the Clopper-Pearson
 * interval instead: "(95% interval 93.1%-97.4%, n = 412; not certified)". When r->chosen = -1:
 * "cannot certify ...". */
size_t wn_calib_summary(char *buf, size_t cap, const wn_calib_pooled *r);
/* One line per standard target from the same curve, for the rule and confidence given:
 * "target 95.0%: threshold 0.137, automation 61.3%\n" or
 * "target 99.0%: cannot certify with 100 defect photos (needs 299)\n". */
size_t wn_calib_summary_targets(char *buf, size_t cap, const wn_calib_curve *c, double confidence,
                                int rule);
/* One line per defect class: "class 2: threshold 0.214, catches 97.0% (32 of 33 photos)\n",
 * then "auto-passes 58.1% of photos\n". names (K) may be NULL (then "class j"). */
size_t wn_calib_perclass_summary(char *buf, size_t cap, const wn_calib_perclass *r,
                                 const long *count /* (K) */, char *const *names /* (K) */);

#endif
