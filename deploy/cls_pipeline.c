/* cls_pipeline.c - the bounded pipeline of `weldnet classify`: a walker thread fills a ring of
 * slots with the photos in walk order, decode workers (all cores) claim them in that order,
 * read each file once and decode it to every model input, and the caller (batched inference
 * and the in-order writer) takes finished photos in walk order and hands the slots back. The
 * ring (a fixed number of slots and pixel buffers) is all the memory photos ever use.
 *
 * Cursors, under one mutex: consumed <= claimed <= filled <= consumed + ring. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wn_classify.h"
#include "wn_image.h"

#define MAX_WORKERS 256

struct wn_cls_pipe {
    int ring;
    wn_cls_slot *slot;     /* (ring) */
    int n_specs;
    wn_cls_spec *spec;     /* (n_specs) */
    size_t *per;           /* (n_specs) bytes of one photo of each spec */
    uint8_t **pix;         /* (n_specs) each (ring, C, H, W) */
    wn_walk *walk;         /* not owned */
    wn_cls_filter_fn filter;
    void *filter_ctx;
    pthread_mutex_t mu;
    pthread_cond_t cv_space, cv_work, cv_ready;
    long filled, claimed, consumed;
    int walk_done, stop;
    pthread_t walker;
    int walker_started;
    pthread_t *workers;    /* (n_workers) */
    int n_workers;
};

/* ---- the walker thread ---- */

static void *walker_main(void *arg) {
    wn_cls_pipe *p = arg;
    wn_walk_item it;
    while (wn_walk_next(p->walk, &it)) {
        int truth = -1;
        if (!p->filter(p->filter_ctx, &it, &truth)) continue;
        char *path = wn_xstrdup(it.path);
        pthread_mutex_lock(&p->mu);
        while (p->filled - p->consumed >= p->ring && !p->stop) pthread_cond_wait(&p->cv_space, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            free(path);
            break;
        }
        wn_cls_slot *s = &p->slot[p->filled % p->ring];
        *s = (wn_cls_slot){path, (int)(it.rel - it.path), truth, it.named, it.err, 0, WN_SLOT_OK, NULL};
        p->filled++;
        pthread_cond_signal(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_lock(&p->mu);
    p->walk_done = 1;
    pthread_cond_broadcast(&p->cv_work);
    pthread_cond_broadcast(&p->cv_ready);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- decoding ---- */

/* The message without its leading "path: " (the path has its own column). */
static char *strip_path(const char *path, const char *msg) {
    size_t n = strlen(path);
    if (!strncmp(msg, path, n) && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
    return wn_xstrdup(msg[0] ? msg : "cannot decode");
}

/* 1 when the file starts like a JPEG or PNG; -errno when it cannot be read. */
static int sniff(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    uint8_t head[8];
    ssize_t n = read(fd, head, sizeof head);
    int err = errno;
    close(fd);
    if (n < 0) return -err;
    return wn_image_format(head, (size_t)n) != WN_FMT_UNKNOWN;
}

static void decode_slot(wn_cls_pipe *p, long seq) {
    int idx = (int)(seq % p->ring);
    wn_cls_slot *s = &p->slot[idx];
    char msg[300];
    if (s->walk_err) {
        snprintf(msg, sizeof msg, "%s: %s", s->named ? "cannot follow the link" : "cannot read the folder",
                 strerror(s->walk_err));
        s->status = WN_SLOT_ERROR;
        s->err = wn_xstrdup(msg);
        return;
    }
    if (!s->named) { /* recognised by content: a file without a photo name may still be one */
        int r = sniff(s->path);
        if (r == 0) {
            s->status = WN_SLOT_SKIP;
            return;
        }
        if (r < 0) {
            snprintf(msg, sizeof msg, "cannot open for reading: %s", strerror(-r));
            s->status = WN_SLOT_ERROR;
            s->err = wn_xstrdup(msg);
            return;
        }
    }
    wn_err e;
    wn_err_clear(&e);
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = wn_read_file(s->path, WN_IMAGE_MAX_FILE_BYTES, &buf, &len, &e);
    for (int k = 0; rc == WN_OK && k < p->n_specs; k++) {
        const wn_cls_spec *sp = &p->spec[k];
        rc = wn_image_decode_chw(buf, len, s->path, sp->c, sp->w, sp->h,
                                 p->pix[k] + (size_t)idx * p->per[k], &e);
    }
    free(buf);
    if (rc) {
        s->status = WN_SLOT_ERROR;
        s->err = strip_path(s->path, e.msg);
    }
}

static void *worker_main(void *arg) {
    wn_cls_pipe *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (p->claimed == p->filled && !p->walk_done && !p->stop)
            pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->stop || p->claimed == p->filled) break;
        long seq = p->claimed++;
        pthread_mutex_unlock(&p->mu);
        decode_slot(p, seq);
        pthread_mutex_lock(&p->mu);
        p->slot[seq % p->ring].done = 1;
        pthread_cond_signal(&p->cv_ready);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- the consumer's side ---- */

int wn_cls_pipe_start(wn_cls_pipe **out, wn_walk *w, wn_cls_filter_fn filter, void *filter_ctx,
                      const wn_cls_spec *specs, int n_specs, int threads, int ring, wn_err *e) {
    *out = NULL;
    if (threads <= 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc > 0 ? (int)nc : 1;
    }
    if (threads > MAX_WORKERS) threads = MAX_WORKERS;
    wn_cls_pipe *p = wn_xcalloc(1, sizeof *p);
    p->ring = ring;
    p->slot = wn_xcalloc((size_t)ring, sizeof *p->slot);
    p->n_specs = n_specs;
    p->spec = wn_xcalloc((size_t)n_specs, sizeof *p->spec);
    p->per = wn_xcalloc((size_t)n_specs, sizeof *p->per);
    p->pix = wn_xcalloc((size_t)n_specs, sizeof *p->pix);
    for (int k = 0; k < n_specs; k++) {
        p->spec[k] = specs[k];
        p->per[k] = (size_t)specs[k].c * (size_t)specs[k].h * (size_t)specs[k].w;
        p->pix[k] = wn_xcalloc((size_t)ring, p->per[k]);
    }
    p->walk = w;
    p->filter = filter;
    p->filter_ctx = filter_ctx;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_space, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_ready, NULL);
    p->workers = wn_xcalloc((size_t)threads, sizeof *p->workers);
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&p->workers[p->n_workers], NULL, worker_main, p) != 0) break;
        p->n_workers++;
    }
    if (p->n_workers == 0 || pthread_create(&p->walker, NULL, walker_main, p) != 0) {
        wn_cls_pipe_free(p);
        return wn_err_set(e, WN_ERUNTIME, "cannot start the decoding threads");
    }
    p->walker_started = 1;
    *out = p;
    return WN_OK;
}

int wn_cls_pipe_wait(wn_cls_pipe *p, int max, int *first) {
    if (max > p->ring) max = p->ring;
    pthread_mutex_lock(&p->mu);
    long end;
    for (;;) {
        end = p->consumed;
        while (end < p->filled && end - p->consumed < max && p->slot[end % p->ring].done) end++;
        if (end - p->consumed == max || p->stop) break;
        if (p->walk_done && end == p->filled) break;
        pthread_cond_wait(&p->cv_ready, &p->mu);
    }
    *first = (int)(p->consumed % p->ring);
    pthread_mutex_unlock(&p->mu);
    return (int)(end - p->consumed);
}

int wn_cls_pipe_ring(const wn_cls_pipe *p) { return p->ring; }
wn_cls_slot *wn_cls_pipe_slot(wn_cls_pipe *p, int idx) { return &p->slot[idx % p->ring]; }
const uint8_t *wn_cls_pipe_pix(const wn_cls_pipe *p, int spec) { return p->pix[spec]; }

void wn_cls_pipe_release(wn_cls_pipe *p, int n) {
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < n; i++) {
        wn_cls_slot *s = &p->slot[(p->consumed + i) % p->ring];
        free(s->path);
        free(s->err);
        s->path = s->err = NULL;
    }
    p->consumed += n;
    pthread_cond_broadcast(&p->cv_space);
    pthread_mutex_unlock(&p->mu);
}

void wn_cls_pipe_free(wn_cls_pipe *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv_space);
    pthread_cond_broadcast(&p->cv_work);
    pthread_cond_broadcast(&p->cv_ready);
    pthread_mutex_unlock(&p->mu);
    if (p->walker_started) pthread_join(p->walker, NULL);
    for (int t = 0; t < p->n_workers; t++) pthread_join(p->workers[t], NULL);
    for (long s = p->consumed; s < p->filled; s++) {
        free(p->slot[s % p->ring].path);
        free(p->slot[s % p->ring].err);
    }
    pthread_cond_destroy(&p->cv_space);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_ready);
    pthread_mutex_destroy(&p->mu);
    for (int k = 0; k < p->n_specs; k++) free(p->pix[k]);
    free(p->pix);
    free(p->per);
    free(p->spec);
    free(p->slot);
    free(p->workers);
    free(p);
}
