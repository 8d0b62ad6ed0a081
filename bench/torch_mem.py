"""torch_mem.py - PyTorch's GPU memory for the work bench_gpu measures (ResNet-18 and AlexNet,
224x224, batch 256, 2 classes; training with SGD momentum 0.9 and inference, fp32 and bf16
autocast with channels-last, exactly as ../shared/bench/torch_speed.py runs them), so that
weldnet's peak memory can be reported as a ratio. Per case: torch.cuda.max_memory_allocated,
max_memory_reserved, and the device-wide memory in use (mem_get_info, context included).
Writes $OUT/torch_mem.json and prints one line per figure. Usage: python3 torch_mem.py"""
import json
import os

import torch
import torch.nn.functional as F
import torchvision

OUT = os.environ.get("OUT", ".")
MiB = 1 << 20
res = {}
torch.backends.cudnn.benchmark = True


def case(ctor, train, dtype, cl, steps=4):
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    m = ctor(num_classes=2).cuda()
    if cl:
        m = m.to(memory_format=torch.channels_last)
    x = torch.randn(256, 3, 224, 224, device="cuda")
    if cl:
        x = x.to(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (256,), device="cuda")
    if train:
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)
        for _ in range(steps):
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == "bf16"):
                loss = F.cross_entropy(m(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    else:
        m.eval()
        with torch.no_grad():
            for _ in range(steps):
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == "bf16"):
                    m(x)
    torch.cuda.synchronize()
    free, total = torch.cuda.mem_get_info()
    out = (torch.cuda.max_memory_allocated() / MiB, torch.cuda.max_memory_reserved() / MiB,
           (total - free) / MiB)
    del m, x, y
    if train:
        del opt, loss
    return out


for name, ctor in (("resnet18", torchvision.models.resnet18), ("alexnet", torchvision.models.alexnet)):
    for dtype, cl in (("fp32", False), ("bf16", True)):
        for train in (True, False):
            key = f"{'train' if train else 'infer'}/{name}/224/b256/{dtype}"
            alloc, reserved, used = case(ctor, train, dtype, cl)
            res[key + "/torch_max_allocated_MiB"] = alloc
            res[key + "/torch_max_reserved_MiB"] = reserved
            res[key + "/device_used_MiB"] = used
            print(f"{key}: max allocated {alloc:.0f} MiB, max reserved {reserved:.0f} MiB, "
                  f"device used {used:.0f} MiB", flush=True)

with open(os.path.join(OUT, "torch_mem.json"), "w") as f:
    json.dump(res, f, indent=1)
