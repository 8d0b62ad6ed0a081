/* cache_store.c - where the decoded cache lives: plain memory when it fits the memory limit,
 * otherwise an unlinked temporary file (so nothing is left behind, even after a crash) grown with
 * posix_fallocate, so that a full disk is reported up front instead of as a SIGBUS later. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data_internal.h"

static int mb(size_t bytes) { return (int)((bytes + ((size_t)1 << 20) - 1) >> 20); }

static int store_file(size_t bytes, const char *cache_dir, wn_cache_store *s, wn_err *e) {
    const char *dir = cache_dir && cache_dir[0] ? cache_dir : getenv("TMPDIR");
    if (!dir || !dir[0]) dir = "/tmp";
    char *tmpl = wn_data_join(dir, "weldnet-cache-XXXXXX");
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        int err = errno;
        free(tmpl);
        return wn_err_set(e, WN_ERUNTIME, "%s: cannot create the decoded cache file: %s", dir,
                          strerror(err));
    }
    unlink(tmpl);
    free(tmpl);
    int rc = posix_fallocate(fd, 0, (off_t)bytes);
    if (rc == EOPNOTSUPP || rc == EINVAL) rc = ftruncate(fd, (off_t)bytes) == 0 ? 0 : errno;
    if (rc) {
        close(fd);
        if (rc == ENOSPC || rc == EDQUOT)
            return wn_err_set(e, WN_ERUNTIME, "%s: no space left for the decoded cache of %d MB", dir,
                              mb(bytes));
        return wn_err_set(e, WN_ERUNTIME, "%s: cannot grow the decoded cache file to %d MB: %s", dir,
                          mb(bytes), strerror(rc));
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        close(fd);
        return wn_err_set(e, WN_ERUNTIME, "%s: cannot map the decoded cache file of %d MB: %s", dir,
                          mb(bytes), strerror(err));
    }
    s->pix = p;
    s->bytes = s->map_len = bytes;
    s->mapped = 1;
    s->fd = fd;
    return WN_OK;
}

int wn_cache_store_alloc(size_t bytes, size_t mem_limit, const char *cache_dir, wn_cache_store *s,
                         wn_err *e) {
    memset(s, 0, sizeof *s);
    s->fd = -1;
    if (bytes == 0) bytes = 1;
    if (bytes <= mem_limit) {
        s->pix = malloc(bytes);
        if (s->pix) {
            s->bytes = bytes;
            return WN_OK;
        }
        /* not enough memory after all: fall back to the file */
    }
    return store_file(bytes, cache_dir, s, e);
}

void wn_cache_store_shrink(wn_cache_store *s, size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (s->mapped) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t keep = (bytes + page - 1) / page * page;
        if (keep < s->map_len) {
            munmap(s->pix + keep, s->map_len - keep);
            s->map_len = keep;
        }
        if (s->fd >= 0 && ftruncate(s->fd, (off_t)bytes) != 0) { /* keeping the space is harmless */
        }
        s->bytes = bytes;
    } else if (bytes < s->bytes) {
        uint8_t *p = realloc(s->pix, bytes);
        if (p) s->pix = p;
        s->bytes = bytes;
    }
    if (s->fd >= 0) close(s->fd);
    s->fd = -1;
}

void wn_cache_store_release(uint8_t *pix, size_t bytes, int mapped) {
    if (!pix) return;
    if (mapped)
        munmap(pix, bytes ? bytes : 1);
    else
        free(pix);
}
