#!/usr/bin/env python3
"""Turn Debian's Fashion-MNIST IDX files into an inspection-style photo folder.

One Fashion-MNIST class plays the ok class (folder `ok`), others play defect classes (folders
named after the garment), at a chosen imbalance. Writes 8-bit grey PNG files:

  OUT/train/<class>/*.png   ok photos: --train; each defect class: its share of --defect-share
  OUT/val/<class>/*.png     drawn from the IDX training split, disjoint from train, same shares
  OUT/calib/<class>/*.png   (with --calib) held-out calibration set, same shares
  OUT/test/<class>/*.png    --test photos of every class from the IDX test split (balanced)
  OUT/inspection/<class>/*.png  (with --inspection N) a day's photos as the camera sees them:
                            N ok photos and the defects at the training shares, from the IDX
                            test split, disjoint from test (what the demo classifies)

With --long-tail RATIO every Fashion-MNIST class is written under its own name (no `ok`
folder), class c (label order) with int(N * RATIO^(-c/9)) photos where N is --train (and --val,
--calib), the long-tail protocol of ../shared/bench/torch_imbalance.py; --test stays balanced.

Only the Python standard library is used (gzip, zlib, struct), so it runs on a fresh Debian.
Example: 98% imbalance, T-shirt ok vs shirt defect, the paper-style protocol:
  make_fashion_photos.py --out data --ok-class tshirt --defects shirt --train 6000 \
      --defect-share 0.02 --val 0 --test 1000
"""
import argparse
import gzip
import os
import random
import struct
import sys
import zlib

NAMES = ["tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
         "ankle_boot"]


def read_idx(path):
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        sys.exit(f"make_fashion_photos: {path}: {e} (install Debian's dataset-fashion-mnist)")
    magic = struct.unpack(">I", data[:4])[0]
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return dims, data[4 + 4 * nd:]


def png_bytes(w, h, pix):
    """8-bit greyscale PNG of h rows of w bytes."""
    raw = b"".join(b"\x00" + pix[y * w:(y + 1) * w] for y in range(h))

    def chunk(tag, body):
        c = struct.pack(">I", len(body)) + tag + body
        return c + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))


def class_index(s):
    s = s.strip().lower().replace("-", "_").replace(" ", "_")
    if s.isdigit() and 0 <= int(s) < 10:
        return int(s)
    if s in ("t_shirt", "t-shirt", "top", "tshirt_top"):
        return 0
    if s in NAMES:
        return NAMES.index(s)
    sys.exit(f"make_fashion_photos: unknown class '{s}' (use 0-9 or one of {', '.join(NAMES)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--idx", default="/usr/share/datasets/fashion-mnist", help="folder of the IDX .gz files")
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--ok-class", default="tshirt", help="Fashion-MNIST class playing 'ok' (index or name)")
    ap.add_argument("--defects", default="shirt", help="comma list of defect classes (index or name)")
    ap.add_argument("--train", type=int, default=6000, help="ok photos in train (default 6000)")
    ap.add_argument("--defect-share", type=float, default=0.02,
                    help="share of defect photos in train/val/calib, split evenly over the defect classes")
    ap.add_argument("--val", type=int, default=600, help="ok photos in val (0 = no val folder)")
    ap.add_argument("--calib", type=int, default=0, help="ok photos in calib (0 = no calib folder)")
    ap.add_argument("--test", type=int, default=1000, help="photos per class in test (0 = none)")
    ap.add_argument("--inspection", type=int, default=0,
                    help="ok photos in inspection, defects at --defect-share, from the IDX test "
                         "split after test (0 = none)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--long-tail", type=float, default=0, metavar="RATIO",
                    help="all 10 classes, class c with N*RATIO^(-c/9) photos (N = --train, --val, "
                         "--calib); --ok-class, --defects and --defect-share are then unused")
    a = ap.parse_args()
    if a.long_tail:
        if a.long_tail < 1:
            sys.exit("make_fashion_photos: --long-tail RATIO must be 1 or more")
        return write_long_tail(a)

    ok = class_index(a.ok_class)
    defects = [class_index(s) for s in a.defects.split(",") if s.strip()]
    if not defects or ok in defects or len(set(defects)) != len(defects):
        sys.exit("make_fashion_photos: --defects must list distinct classes other than the ok class")
    if not 0 < a.defect_share < 1:
        sys.exit("make_fashion_photos: --defect-share must be in (0, 1)")
    folder = {ok: "ok", **{d: NAMES[d] for d in defects}}

    (n_tr, h, w), xtr = read_idx(os.path.join(a.idx, "train-images-idx3-ubyte.gz"))
    _, ytr = read_idx(os.path.join(a.idx, "train-labels-idx1-ubyte.gz"))
    (n_te, _, _), xte = read_idx(os.path.join(a.idx, "t10k-images-idx3-ubyte.gz"))
    _, yte = read_idx(os.path.join(a.idx, "t10k-labels-idx1-ubyte.gz"))
    rng = random.Random(a.seed)

    def pool(labels, n):
        by = {c: [] for c in folder}
        for i in range(n):
            if labels[i] in by:
                by[labels[i]].append(i)
        for c in by:
            rng.shuffle(by[c])
        return by

    def per_defect(n_ok):
        total = n_ok * a.defect_share / (1 - a.defect_share)
        return max(1, round(total / len(defects)))

    train_pool, test_pool = pool(ytr, n_tr), pool(yte, n_te)
    splits = [("train", a.train), ("val", a.val), ("calib", a.calib)]
    written = {}
    size = h * w
    for split, n_ok in splits:
        if n_ok <= 0:
            continue
        for c in folder:
            want = n_ok if c == ok else per_defect(n_ok)
            have = train_pool[c]
            if want > len(have):
                sys.exit(f"make_fashion_photos: {split}/{folder[c]} needs {want} photos, only {len(have)} left")
            ids, train_pool[c] = have[:want], have[want:]
            d = os.path.join(a.out, split, folder[c])
            os.makedirs(d, exist_ok=True)
            for i in ids:
                with open(os.path.join(d, f"fm{i:05d}.png"), "wb") as f:
                    f.write(png_bytes(w, h, xtr[i * size:(i + 1) * size]))
            written[(split, folder[c])] = want
    if a.test > 0:
        for c in folder:
            ids = test_pool[c][:a.test]
            d = os.path.join(a.out, "test", folder[c])
            os.makedirs(d, exist_ok=True)
            for i in ids:
                with open(os.path.join(d, f"fm{i:05d}.png"), "wb") as f:
                    f.write(png_bytes(w, h, xte[i * size:(i + 1) * size]))
            written[("test", folder[c])] = len(ids)
    if a.inspection > 0:
        for c in folder:
            want = a.inspection if c == ok else per_defect(a.inspection)
            have = test_pool[c][max(a.test, 0):]
            if want > len(have):
                sys.exit(f"make_fashion_photos: inspection/{folder[c]} needs {want} photos, only "
                         f"{len(have)} left in the IDX test split after --test")
            d = os.path.join(a.out, "inspection", folder[c])
            os.makedirs(d, exist_ok=True)
            for i in have[:want]:
                with open(os.path.join(d, f"fm{i:05d}.png"), "wb") as f:
                    f.write(png_bytes(w, h, xte[i * size:(i + 1) * size]))
            written[("inspection", folder[c])] = want
    for (split, cls), n in sorted(written.items()):
        print(f"{split:10s} {cls:12s} {n:6d}")
    print(f"photo set written to {a.out} (ok = {NAMES[ok]}, defects = {', '.join(NAMES[d] for d in defects)})")


def write_long_tail(a):
    """The long tail: every class under its own name, class c with N * RATIO^(-c/9) photos."""
    (n_tr, h, w), xtr = read_idx(os.path.join(a.idx, "train-images-idx3-ubyte.gz"))
    _, ytr = read_idx(os.path.join(a.idx, "train-labels-idx1-ubyte.gz"))
    (n_te, _, _), xte = read_idx(os.path.join(a.idx, "t10k-images-idx3-ubyte.gz"))
    _, yte = read_idx(os.path.join(a.idx, "t10k-labels-idx1-ubyte.gz"))
    rng = random.Random(a.seed)
    size = h * w

    def pool(labels, n):
        by = {c: [] for c in range(10)}
        for i in range(n):
            by[labels[i]].append(i)
        for c in by:
            rng.shuffle(by[c])
        return by

    train_pool, test_pool = pool(ytr, n_tr), pool(yte, n_te)
    jobs = []
    for split, n_head in (("train", a.train), ("val", a.val), ("calib", a.calib)):
        if n_head <= 0:
            continue
        for c in range(10):
            want = int(n_head * a.long_tail ** (-c / 9))
            if want < 1:
                continue
            if want > len(train_pool[c]):
                sys.exit(f"make_fashion_photos: {split}/{NAMES[c]} needs {want} photos, only "
                         f"{len(train_pool[c])} left")
            ids, train_pool[c] = train_pool[c][:want], train_pool[c][want:]
            jobs.append((split, c, ids, xtr))
    if a.test > 0:
        for c in range(10):
            jobs.append(("test", c, test_pool[c][:a.test], xte))
    for split, c, ids, x in jobs:
        d = os.path.join(a.out, split, NAMES[c])
        os.makedirs(d, exist_ok=True)
        for i in ids:
            with open(os.path.join(d, f"fm{i:05d}.png"), "wb") as f:
                f.write(png_bytes(w, h, x[i * size:(i + 1) * size]))
        print(f"{split:6s} {NAMES[c]:12s} {len(ids):6d}")
    print(f"long-tail photo set written to {a.out} (ratio {a.long_tail:g})")


if __name__ == "__main__":
    main()
