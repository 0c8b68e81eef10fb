"""PyTorch's matmul speed on the GPU machine: the peer of bench/webgpu/parity.ts's matmul figures.
fp32 with TF32 off (what our f32 kernel computes), bf16 and f16 (tensor cores). Prints JSON lines."""
import json
import sys

import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
sizes = [int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "1024,2048,4096").split(",")]
for size in sizes:
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        a = torch.randn(size, size, device="cuda", dtype=dtype)
        b = torch.randn(size, size, device="cuda", dtype=dtype)
        for _ in range(3):
            a @ b
        torch.cuda.synchronize()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        reps = 20
        start.record()
        for _ in range(reps):
            a @ b
        end.record()
        torch.cuda.synchronize()
        seconds = start.elapsed_time(end) / 1000 / reps
        print(json.dumps({"peer": "torch", "dtype": str(dtype).removeprefix("torch."), "size": size, "seconds": seconds, "tflops": 2 * size**3 / seconds / 1e12}), flush=True)
