#!/usr/bin/env python3
"""The PyTorch CPU pipeline that does what `weldnet classify` does, for bench/classify_cpu.sh:
walk the folder (sorted), decode each JPEG with PIL in DataLoader workers (one per core),
convert to grey, resize to 28x28 (PIL bilinear, antialiased), scale and normalise, run the
3-conv net of samples/nets/fmnist_small.ini in batches, softmax, divide by the training priors
and renormalise, apply a pooled threshold, and write one CSV row per photo.
--draft lets PIL decode with JPEG DCT scaling (Image.draft), as weldnet does.
Prints "photos N seconds S photos_per_s R".

  /usr/bin/python3 classify_torch.py --photos DIR --out report.csv [--draft] [--workers 2]
"""
import argparse, csv, os, time
import torch, torch.nn as nn, torch.nn.functional as F
from PIL import Image

class Net(nn.Module):  # samples/nets/fmnist_small.ini
    def __init__(s, k):
        super().__init__()
        s.c1 = nn.Conv2d(1, 32, 3, padding=1); s.c2 = nn.Conv2d(32, 64, 3, padding=1)
        s.c3 = nn.Conv2d(64, 128, 3, padding=1); s.f1 = nn.Linear(128 * 7 * 7, 256); s.f2 = nn.Linear(256, k)
    def forward(s, x):
        x = F.relu(s.c1(x)); x = F.max_pool2d(F.relu(s.c2(x)), 2); x = F.max_pool2d(F.relu(s.c3(x)), 2)
        return s.f2(F.relu(s.f1(x.flatten(1))))

class Photos(torch.utils.data.Dataset):
    def __init__(s, files, draft): s.files, s.draft = files, draft
    def __len__(s): return len(s.files)
    def __getitem__(s, i):
        try:
            with Image.open(s.files[i]) as im:
                if s.draft:
                    im.draft("L", (28, 28))
                g = im.convert("L").resize((28, 28), Image.BILINEAR)
            x = torch.frombuffer(bytearray(g.tobytes()), dtype=torch.uint8).float().div_(255).view(1, 28, 28)
            return (x - 0.29) / 0.33, i, ""
        except Exception as e:  # an unreadable photo is a row, like weldnet's error rows
            return torch.zeros(1, 28, 28), i, str(e)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--draft", action="store_true")
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for inference (default 1)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    files = sorted(os.path.join(d, f) for d, _, fs in os.walk(a.photos) for f in fs)
    classes = ["ok", "bag", "sandal"]
    priors = torch.tensor([0.8, 0.1, 0.1])
    net = Net(len(classes)).eval()
    dl = torch.utils.data.DataLoader(Photos(files, a.draft), batch_size=a.batch, num_workers=a.workers)
    with open(a.out, "w", newline="") as fh, torch.no_grad():
        w = csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC)
        w.writerow(["path", "decision"] + ["p_" + c for c in classes] + ["error"])
        for x, ids, errs in dl:
            p = F.softmax(net(x), 1) / priors
            p = p / p.sum(1, keepdim=True)
            for i, row, err in zip(ids.tolist(), p.tolist(), errs):
                dec = "error" if err else ("pass" if 1 - row[0] < 0.5 else "review")
                w.writerow([files[i], dec] + [float(f"{v:.6g}") for v in row] + [err])
    dt = time.perf_counter() - t0
    print(f"photos {len(files)} seconds {dt:.2f} photos_per_s {len(files) / dt:.1f}")

if __name__ == "__main__":
    main()
