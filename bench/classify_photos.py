#!/usr/bin/env python3
"""Make a folder of inspection-style JPEG photos for the classify benchmarks.

Each distinct photo is a Fashion-MNIST garment (Debian's dataset-fashion-mnist) scaled up to
WxH, tinted and overlaid with sensor-like noise, saved as a baseline JPEG (quality 90, about
the size of a real photo). --distinct photos are drawn; the folder is then filled up to --count
by hard links (a decoder still reads and decodes every one; the disk does not fill up), in
sub-folders of --per-folder photos, as cameras write them (day/pipe folders).

  classify_photos.py --out /tmp/p640 --count 10000 --width 640 --height 480
"""
import argparse, gzip, os, random, struct, sys

def garments(idx_dir, n, seed):
    path = os.path.join(idx_dir, "t10k-images-idx3-ubyte.gz")
    with gzip.open(path, "rb") as f:
        data = f.read()
    count, rows, cols = struct.unpack(">III", data[4:16])
    rng = random.Random(seed)
    picks = [rng.randrange(count) for _ in range(n)]
    return [data[16 + i * rows * cols: 16 + (i + 1) * rows * cols] for i in picks], rows, cols

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, default=1000, help="photos in all (default 1000)")
    ap.add_argument("--distinct", type=int, default=200, help="distinct photos (default 200)")
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--per-folder", type=int, default=1000, help="photos per sub-folder (default 1000)")
    ap.add_argument("--idx", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    try:
        from PIL import Image
        import numpy as np
    except ImportError as e:
        sys.exit(f"classify_photos: {e} (apt-get install python3-pil python3-numpy)")
    imgs, rows, cols = garments(a.idx, a.distinct, a.seed)
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    src = os.path.join(a.out, "distinct")
    os.makedirs(src, exist_ok=True)
    names = []
    for i, raw in enumerate(imgs):
        g = Image.frombytes("L", (cols, rows), raw).resize((a.width, a.height), Image.BILINEAR)
        base = np.asarray(g, dtype=np.int16)
        tint = rng.integers(-30, 30, 3)
        arr = np.stack([base + t for t in tint], axis=2) + rng.integers(-12, 13, (a.height, a.width, 3))
        name = os.path.join(src, f"d{i:05d}.jpg")
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB").save(name, quality=90)
        names.append(name)
    made = 0
    while made < a.count:
        folder = os.path.join(a.out, f"f{made // a.per_folder:05d}")
        os.makedirs(folder, exist_ok=True)
        dst = os.path.join(folder, f"img{made:07d}.jpg")
        if not os.path.exists(dst):
            os.link(names[made % len(names)], dst)
        made += 1
    # the distinct originals are not part of the set
    for n in names:
        os.unlink(n)
    os.rmdir(src)
    print(f"{a.out}: {a.count} photos of {a.width}x{a.height} ({a.distinct} distinct)")

if __name__ == "__main__":
    main()
