/* visited.c - wn_visited (wn_visited.h): an open-addressing hash set of (device, inode) pairs,
 * grown to keep the load under one half. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wn_err.h"
#include "wn_visited.h"

static size_t vhash(dev_t dev, ino_t ino, size_t cap) {
    uint64_t z = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 0xBF58476D1CE4E5B9ull;
    z ^= z >> 31;
    return (size_t)(z & (cap - 1));
}

int wn_visited_add(wn_visited *v, dev_t dev, ino_t ino) {
    if (2 * (v->n + 1) > v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        wn_visited w = {wn_xcalloc(cap, sizeof *v->slot), cap, 0};
        for (size_t i = 0; i < v->cap; i++)
            if (v->slot[i].used) wn_visited_add(&w, v->slot[i].dev, v->slot[i].ino);
        free(v->slot);
        *v = w;
    }
    size_t i = vhash(dev, ino, v->cap);
    while (v->slot[i].used) {
        if (v->slot[i].dev == dev && v->slot[i].ino == ino) return 0;
        i = (i + 1) & (v->cap - 1);
    }
    v->slot[i].dev = dev;
    v->slot[i].ino = ino;
    v->slot[i].used = 1;
    v->n++;
    return 1;
}

void wn_visited_free(wn_visited *v) {
    free(v->slot);
    memset(v, 0, sizeof *v);
}
