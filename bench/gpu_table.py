"""gpu_table.py - the closing table of bench/gpu_check.sh: weldnet's GPU figures (bench_gpu's
JSON) against PyTorch's from the same run (torch_speed.py's perf_model.json, or its printed
lines when it was stopped before writing the file; torch_mem.json), as ratios, with the goals of
issue 6. Usage: python3 gpu_table.py OUTDIR (reads bench_gpu.json, perf_model.json,
torch_mem.json, bench_gpu_nondet.json, bench_gpu_heuristic.json and gpu_check.log there; prints the table and writes
summary.txt)."""
import json
import os
import re
import sys

out = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT", ".")


def load(name):
    try:
        with open(os.path.join(out, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


wn = load("bench_gpu.json")
nd = load("bench_gpu_nondet.json")
he = load("bench_gpu_heuristic.json")
pt = load("perf_model.json")
mem = load("torch_mem.json")
if not pt:  # torch_speed.py prints "train resnet18 fp32 4904 img/s" as it goes
    try:
        with open(os.path.join(out, "gpu_check.log")) as f:
            for line in f:
                m = re.match(r"(train|infer) (resnet18|alexnet) (fp32|bf16) (\d+) img/s", line)
                if m:
                    pt[f"{m[1]}/{m[2]}/224/b256/{m[3]}"] = float(m[4])
                m = re.match(r"train resnet18 bf16 compiled (\d+) img/s", line)
                if m:
                    pt["train/resnet18/224/b256/bf16/compiled"] = float(m[1])
    except OSError:
        pass

rows = []


def row(label, ours, theirs, goal=None, unit="img/s", higher_better=True):
    r = "n/a"
    if ours is not None and theirs:
        r = f"{ours / theirs:.2f}"
    o = f"{ours:,.0f}" if ours is not None else "n/a"
    t = f"{theirs:,.0f}" if theirs else "n/a"
    g = "" if goal is None else goal
    rows.append((label, o, t, r, g, unit))


for work in ("train", "infer"):
    for net in ("resnet18", "alexnet"):
        for prec in ("fp32", "bf16"):
            key = f"{work}/{net}/224/b256/{prec}"
            goal = {"train/resnet18/224/b256/bf16": ">= 16,200 (compiled 16,161)",
                    "train/resnet18/224/b256/fp32": ">= 4,900",
                    "train/alexnet/224/b256/bf16": ">= 34,100",
                    "infer/resnet18/224/b256/bf16": ">= 36,000",
                    "infer/alexnet/224/b256/bf16": ">= 87,000"}.get(key)
            row(f"{work} {net} {prec}", wn.get(key), pt.get(key), goal)
for work in ("train", "infer"):
    row(f"{work} resnet18 fp32, non-deterministic algorithms", nd.get(f"{work}/resnet18/224/b256/fp32/nondet"),
        pt.get(f"{work}/resnet18/224/b256/fp32"))
for work in ("train", "infer"):
    row(f"{work} resnet18 fp32, heuristic algorithms (weldnet's default)",
        he.get(f"{work}/resnet18/224/b256/fp32/heuristic"), pt.get(f"{work}/resnet18/224/b256/fp32"))
row("train resnet18 bf16 vs torch.compile", wn.get("train/resnet18/224/b256/bf16"),
    pt.get("train/resnet18/224/b256/bf16/compiled"), ">= 1.00")
for prec in ("fp32", "bf16"):
    for work in ("train", "infer"):
        for net in ("resnet18", "alexnet"):
            key = f"{work}/{net}/224/b256/{prec}"
            row(f"memory {work} {net} {prec}: backend peak / torch max allocated",
                wn.get(key + "/backend_peak_MiB"), mem.get(key + "/torch_max_allocated_MiB"),
                "<= 1.00", "MiB")
            row(f"memory {work} {net} {prec}: device used / torch device used",
                wn.get(key + "/device_used_MiB"), mem.get(key + "/device_used_MiB"), "<= 1.00",
                "MiB")
# bench_gpu --nchw prints "train/resnet18/224/b256/bf16/nchw   1234.5 images/s" into the log,
# --fp32-storage ".../bf16/f32store"
nchw = {}
try:
    with open(os.path.join(out, "gpu_check.log")) as f:
        for line in f:
            m = re.match(r"((?:train|infer)/resnet18/224/b256/bf16/(?:nchw|f32store))\s+([\d.]+) images/s",
                         line)
            if m:
                nchw[m[1]] = float(m[2])
except OSError:
    pass
for work in ("train", "infer"):
    row(f"{work} resnet18 bf16, NCHW bf16 copies (default NHWC)",
        nchw.get(f"{work}/resnet18/224/b256/bf16/nchw"), pt.get(f"{work}/resnet18/224/b256/bf16"))
    row(f"{work} resnet18 bf16, fp32 activation storage (default bf16)",
        nchw.get(f"{work}/resnet18/224/b256/bf16/f32store"), pt.get(f"{work}/resnet18/224/b256/bf16"))
small = wn.get("train/fmnist_small/gpu_over_cpu2")
rows.append(("small net: GPU / CPU (2 threads) train images/s",
             f"{wn.get('train/fmnist_small/28/b128/gpu', 0):,.0f}",
             f"{wn.get('train/fmnist_small/28/b128/cpu2', 0):,.0f}",
             f"{small:.1f}" if small else "n/a", ">= 20", "img/s"))

w = [max(len(str(r[i])) for r in rows + [("work", "weldnet", "PyTorch", "ratio", "goal", "unit")])
     for i in range(6)]
lines = ["weldnet vs PyTorch, same run (ratio = weldnet / PyTorch; 'PyTorch' column of the last"
         " row = the CPU figure)"]
hdr = ("work", "weldnet", "PyTorch", "ratio", "goal", "unit")
lines.append("  ".join(str(hdr[i]).ljust(w[i]) for i in range(6)))
for r in rows:
    lines.append("  ".join(str(r[i]).ljust(w[i]) for i in range(6)))
text = "\n".join(lines)
print(text)
try:
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write(text + "\n")
except OSError as e:
    print("cannot write summary.txt:", e)
