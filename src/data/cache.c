/* cache.c - the decoded cache: every photo of a data set decoded once with wn_image_load_chw on
 * a pool of pthreads pulling photo indices from an atomic counter, written in place, then
 * compacted so the photos that decoded keep the dataset's order; the others are listed. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "data_internal.h"
#include "wn_image.h"

#define MAX_THREADS 256
#define MAX_PHOTO_BYTES ((size_t)1 << 30)

typedef struct decode_job {
    const wn_dataset *ds;
    int c, h, w, strict;
    size_t per;              /* bytes per photo, c*h*w */
    uint8_t *pix;            /* (N, C, H, W) */
    int *status;             /* (N) WN_OK or the decoder's status */
    char **msg;              /* (N) "path: reason" of photos that failed, owned */
    atomic_int next, done, stop;
    /* progress, drawn by thread 0 only */
    int progress, tty, n_threads;
    double t_start, t_last;
} decode_job;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void draw_progress(decode_job *j, int final) {
    int done = atomic_load(&j->done);
    if (j->tty) fputc('\r', stderr);
    fprintf(stderr, "decoding %d/%d photos (%d thread%s)", done, j->ds->n, j->n_threads,
            j->n_threads == 1 ? "" : "s");
    if (final) fprintf(stderr, " in %.1fs", now_s() - j->t_start);
    if (final || !j->tty) fputc('\n', stderr);
    fflush(stderr);
}

/* On a terminal: at most 10 redraws a second; in a log: a plain line every 5 seconds. */
static void maybe_progress(decode_job *j) {
    double t = now_s();
    if (t - j->t_last >= (j->tty ? 0.1 : 5.0)) {
        j->t_last = t;
        draw_progress(j, 0);
    }
}

/* The decoder's messages already start with the path; others get it added. */
static char *bad_message(const char *path, const char *msg) {
    size_t lp = strlen(path);
    if (!msg[0]) msg = "cannot decode";
    if (strncmp(msg, path, lp) == 0 && msg[lp] == ':') return wn_xstrdup(msg);
    size_t n = lp + strlen(msg) + 3;
    char *s = wn_xmalloc(n);
    snprintf(s, n, "%s: %s", path, msg);
    return s;
}

static void decode_loop(decode_job *j, int tid) {
    int n = j->ds->n;
    for (;;) {
        if (j->strict && atomic_load(&j->stop)) break;
        int i = atomic_fetch_add(&j->next, 1);
        if (i >= n) break;
        const char *path = j->ds->items[i].path;
        wn_err err;
        wn_err_clear(&err);
        int rc = wn_image_load_chw(path, j->c, j->w, j->h, j->pix + (size_t)i * j->per, &err);
        if (rc != WN_OK) {
            j->status[i] = rc;
            j->msg[i] = bad_message(path, err.msg);
            if (j->strict) atomic_store(&j->stop, 1);
        }
        atomic_fetch_add(&j->done, 1);
        if (tid == 0 && j->progress) maybe_progress(j);
    }
}

static void *worker(void *arg) {
    decode_job *j = arg;
    decode_loop(j, 1);
    return NULL;
}

/* Runs the decoding on the calling thread plus threads-1 pthreads. */
static void run_pool(decode_job *j, int threads) {
    pthread_t *tids = wn_xcalloc((size_t)threads, sizeof(pthread_t)); /* (threads - 1) */
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tids[started], NULL, worker, j) != 0) break; /* fewer is fine */
        started++;
    }
    j->n_threads = started + 1;
    if (j->progress && j->tty) draw_progress(j, 0);
    decode_loop(j, 0);
    for (int t = 0; t < started; t++) pthread_join(tids[t], NULL);
    free(tids);
    if (j->progress) draw_progress(j, 1);
}

static int check_shape(const wn_dataset *ds, int c, int h, int w, size_t *per, wn_err *e) {
    const char *src = ds->source ? ds->source : "the data set";
    if (c != 1 && c != 3)
        return wn_err_set(e, WN_EINPUT, "decoded cache: %d channels asked (1 or 3 supported)", c);
    if (h < 1 || w < 1 || h > WN_IMAGE_MAX_SIDE || w > WN_IMAGE_MAX_SIDE)
        return wn_err_set(e, WN_EINPUT, "decoded cache: bad photo size %dx%d", w, h);
    *per = (size_t)c * (size_t)h * (size_t)w;
    if (*per > MAX_PHOTO_BYTES)
        return wn_err_set(e, WN_EINPUT, "decoded cache: photo size %dx%dx%d is too large", c, h, w);
    if (ds->n <= 0) return wn_err_set(e, WN_EINPUT, "%s: no photos to decode", src);
    if ((size_t)ds->n > SIZE_MAX / *per)
        return wn_err_set(e, WN_EINPUT, "%s: the decoded cache would be too large", src);
    return WN_OK;
}

int wn_cache_build(const wn_dataset *ds, int c, int h, int w, int threads, int strict,
                   size_t mem_limit, const char *cache_dir, int progress, wn_cache *cache,
                   wn_err *e) {
    memset(cache, 0, sizeof *cache);
    size_t per = 0;
    int rc = check_shape(ds, c, h, w, &per, e);
    if (rc) return rc;
    int n = ds->n;
    wn_cache_store st;
    rc = wn_cache_store_alloc((size_t)n * per, mem_limit, cache_dir, &st, e);
    if (rc) return rc;

    if (threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)(nc < MAX_THREADS ? nc : MAX_THREADS) : 1;
    }
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads > n) threads = n;

    decode_job j;
    memset(&j, 0, sizeof j);
    j.ds = ds;
    j.c = c;
    j.h = h;
    j.w = w;
    j.strict = strict;
    j.per = per;
    j.pix = st.pix;
    j.status = wn_xcalloc((size_t)n, sizeof(int));
    j.msg = wn_xcalloc((size_t)n, sizeof(char *));
    atomic_init(&j.next, 0);
    atomic_init(&j.done, 0);
    atomic_init(&j.stop, 0);
    j.progress = progress;
    j.tty = isatty(fileno(stderr));
    j.t_start = j.t_last = now_s();
    run_pool(&j, threads);

    /* compact: the photos that decoded, in dataset order */
    cache->labels = wn_xmalloc((size_t)n * sizeof(int32_t));
    cache->index = wn_xmalloc((size_t)n * sizeof(int));
    cache->bad = wn_xcalloc((size_t)n, sizeof(char *));
    int good = 0, first_bad = -1;
    for (int i = 0; i < n; i++) {
        if (j.status[i] != WN_OK) {
            if (first_bad < 0) first_bad = i;
            cache->bad[cache->n_bad++] = j.msg[i];
            j.msg[i] = NULL;
            continue;
        }
        if (good != i) memmove(st.pix + (size_t)good * per, st.pix + (size_t)i * per, per);
        cache->labels[good] = ds->items[i].label;
        cache->index[good] = i;
        good++;
    }
    const char *src = ds->source ? ds->source : "the data set";
    if (strict && first_bad >= 0)
        rc = wn_err_set(e, j.status[first_bad], "%s", cache->bad[0]);
    else if (good == 0)
        rc = wn_err_set(e, WN_EINPUT, "no readable photos in %s (%d unreadable, e.g. %s)", src,
                        cache->n_bad, cache->bad[0]);
    free(j.status);
    free(j.msg);
    if (rc) {
        if (st.fd >= 0) close(st.fd);
        wn_cache_store_release(st.pix, st.mapped ? st.map_len : st.bytes, st.mapped);
        cache->pix = NULL;
        wn_cache_free(cache);
        return rc;
    }
    wn_cache_store_shrink(&st, (size_t)good * per);
    cache->pix = st.pix;
    cache->bytes = (size_t)good * per;
    cache->mapped = st.mapped;
    cache->n = good;
    cache->c = c;
    cache->h = h;
    cache->w = w;
    if (good < n) {
        cache->labels = wn_xrealloc(cache->labels, (size_t)good * sizeof(int32_t));
        cache->index = wn_xrealloc(cache->index, (size_t)good * sizeof(int));
    }
    if (cache->n_bad == 0) {
        free(cache->bad);
        cache->bad = NULL;
    }
    return WN_OK;
}

void wn_cache_free(wn_cache *cache) {
    if (!cache) return;
    wn_cache_store_release(cache->pix, cache->bytes, cache->mapped);
    free(cache->labels);
    free(cache->index);
    for (int i = 0; i < cache->n_bad; i++) free(cache->bad[i]);
    free(cache->bad);
    memset(cache, 0, sizeof *cache);
}
