/* wn_visited.h - the set of folders already searched, by (device, inode), so that a folder walk
 * that follows symbolic links visits each folder once and a link loop ends. Used by the photo
 * set reader (src/data/dataset_dir.c) and classify's streaming walk (deploy/cls_walk.c). */
#ifndef WN_VISITED_H
#define WN_VISITED_H

#include <stddef.h>
#include <sys/types.h>

typedef struct wn_visited {
    struct wn_visited_slot {
        dev_t dev;
        ino_t ino;
        int used;
    } *slot;      /* (cap) open addressing, cap a power of 2, owned */
    size_t cap, n;
} wn_visited;

/* Adds (dev, ino); returns 1 when newly added, 0 when already present. A zeroed wn_visited is
 * an empty set. */
int wn_visited_add(wn_visited *v, dev_t dev, ino_t ino);
void wn_visited_free(wn_visited *v);

#endif
