"""transform.py IN.cu OUT.cpp - turns a gpu/*.cu file into C++ for the host emulation (emu.h):
includes emu.h after gpu_ctx.h and rewrites every launch k<<<grid, block, shmem, stream>>>(args)
into emu::launch(dim3(grid), dim3(block), [&]() { k(args); })."""
import re, sys
src = open(sys.argv[1]).read()
src = src.replace('#include "gpu_ctx.h"', '#include "gpu_ctx.h"\n#include "emu.h"', 1)
out, i = [], 0
pat = re.compile(r'(\w+(?:<[\w\s,]+>)?)\s*<<<')
def split_top(s):
    parts, depth, cur = [], 0, ''
    for ch in s:
        if ch in '([<': depth += 1
        if ch in ')]>': depth -= 1
        if ch == ',' and depth == 0:
            parts.append(cur); cur = ''
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]
while True:
    m = pat.search(src, i)
    if not m:
        out.append(src[i:]); break
    out.append(src[i:m.start()])
    j = src.index('>>>', m.end())
    cfg = split_top(src[m.end():j])
    k = src.index('(', j)
    depth, e = 0, k
    while True:
        if src[e] == '(': depth += 1
        elif src[e] == ')':
            depth -= 1
            if depth == 0: break
        e += 1
    args = src[k + 1:e]
    out.append(f'emu::launch(dim3({cfg[0]}), dim3({cfg[1]}), [&]() {{ {m.group(1)}({args}); }})')
    i = e + 1
open(sys.argv[2], 'w').write(''.join(out))
