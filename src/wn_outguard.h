/* wn_outguard.h - refusing output paths that would destroy what a run reads or must keep. Every
 * command checks its output files with these before it opens any of them for writing, so that a
 * typo such as `--report model.wnet` or `--log photos/0001.png` stops with a clear message
 * instead of overwriting the file. Checks are on the file itself (device and inode, first bytes),
 * not only on the spelling of the path, so `./a.csv` and `a.csv` or a hard link are the same. */
#ifndef WN_OUTGUARD_H
#define WN_OUTGUARD_H

#include "wn_err.h"

/* What an output may replace besides files of unknown content (bit flags). */
enum {
    WN_OUT_MAY_REPLACE_MODEL = 1, /* a weldnet model (train --out, calibrate --out) */
    WN_OUT_MAY_REPLACE_STATE = 2, /* a weldnet training state (train --state) */
    WN_OUT_MAY_REPLACE_PNG = 4    /* a PNG (the plots weldnet writes itself) */
};

/* WN_OK when `path` does not exist yet, or is a regular file that `what` (e.g. "the report") may
 * replace: not a JPEG or PNG photo (by content; PNG allowed with WN_OUT_MAY_REPLACE_PNG), not a
 * weldnet model or training state unless `may` allows it. A folder or other non-regular file is
 * refused too. WN_EINPUT with a message naming the path, what it is and which output. */
int wn_outguard_check(const char *path, const char *what, int may, wn_err *e);

/* 1 when a and b name the same file: the same existing file (device and inode), or, when neither
 * exists yet, the same name in the same folder ("./x" and "x"). 0 otherwise (also when either
 * is NULL). */
int wn_same_file(const char *a, const char *b);

/* WN_EINPUT when output `out` (described by out_what) is the same file as `other` (other_what,
 * an input or another output), naming both; WN_OK otherwise or when either is NULL. */
int wn_outguard_distinct(const char *out, const char *out_what, const char *other,
                         const char *other_what, wn_err *e);

#endif
