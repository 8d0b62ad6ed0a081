"""torch_saved_mem.py - what PyTorch keeps for the backward pass of ResNet-18 and AlexNet
(torchvision's layouts, 224x224, channels-last, as ../shared/bench/torch_speed.py trains them),
fp32 and bf16 autocast, estimated on the CPU without torchvision: the unique storages autograd
saves (saved_tensors_hooks), weights and the input batch left out, at batches 2 and 4; the
difference is the per-photo part, scaled to batch 256, plus what does not grow with the batch
(autocast's bf16 copies of the weights). CPU autocast stands in for CUDA's (both run
convolutions and matrix products in bf16). Compare with build/bench/bench_net_mem, which
prints weldnet's activation and gradient buffers; on the GPU, bench/torch_mem.py measures
PyTorch's real peak. Usage: python3 bench/torch_saved_mem.py"""
import torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(2)


class Block(nn.Module):
    def __init__(s, i, o, st):
        super().__init__()
        s.c1 = nn.Conv2d(i, o, 3, st, 1, bias=False); s.b1 = nn.BatchNorm2d(o)
        s.c2 = nn.Conv2d(o, o, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(o)
        s.r = nn.ReLU(inplace=True)
        s.d = None
        if st != 1 or i != o:
            s.d = nn.Sequential(nn.Conv2d(i, o, 1, st, bias=False), nn.BatchNorm2d(o))
    def forward(s, x):
        idt = x if s.d is None else s.d(x)
        out = s.r(s.b1(s.c1(x)))
        out = s.b2(s.c2(out))
        out += idt
        return s.r(out)
class R18(nn.Module):
    def __init__(s):
        super().__init__()
        s.c = nn.Conv2d(3, 64, 7, 2, 3, bias=False); s.b = nn.BatchNorm2d(64); s.r = nn.ReLU(inplace=True)
        s.p = nn.MaxPool2d(3, 2, 1)
        L = []; i = 64
        for o, st in ((64, 1), (128, 2), (256, 2), (512, 2)):
            L += [Block(i, o, st), Block(o, o, 1)]; i = o
        s.L = nn.Sequential(*L); s.fc = nn.Linear(512, 2)
    def forward(s, x):
        x = s.p(s.r(s.b(s.c(x))))
        x = s.L(x)
        return s.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
def alexnet():
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(), nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(inplace=True),
        nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Linear(4096, 2))
def saved(ctor, mode, B):
    torch.manual_seed(0)
    m = ctor().to(memory_format=torch.channels_last)
    x = torch.randn(B, 3, 224, 224).to(memory_format=torch.channels_last)
    seen = {}
    params = {(p.untyped_storage() if hasattr(p, "untyped_storage") else p.storage()).data_ptr() for p in m.parameters()}
    xkey = (x.untyped_storage() if hasattr(x, "untyped_storage") else x.storage()).data_ptr()
    def pack(t):
        st = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
        key = st.data_ptr()
        if key in params or key == xkey: return t  # weights and the input batch are counted apart
        seen[key] = max(seen.get(key, 0), st.nbytes())
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16"):
            loss = F.cross_entropy(m(x), torch.zeros(B, dtype=torch.long))
    return sum(seen.values())
# saved(B) = a + b*B: a holds what does not grow with the batch (bf16 copies of the weights)
for name, ctor in (("resnet18", R18), ("alexnet", alexnet)):
    for mode in ("fp32", "bf16"):
        s2, s4 = saved(ctor, mode, 2), saved(ctor, mode, 4)
        b = (s4 - s2) / 2; a = s2 - 2 * b
        print(f"{name} {mode}: saved for backward at batch 256 {(a + 256 * b)/1e9:.2f} GB "
              f"(per photo {b/1e6:.2f} MB, fixed {a/1e6:.1f} MB)", flush=True)
