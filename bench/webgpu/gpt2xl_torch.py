"""The GPT-2 XL-size peer for issue 5 (run on the GPU machine before bench/webgpu/gpt2xl.ts):
builds a GPT-2 with GPT-2 XL's shape (48 layers, d=1600, 25 heads, vocabulary 50257) and random
weights with transformers (config only, no download), saves it as sharded f32 safetensors for our
engine to load, and times PyTorch on the same work our side does:
  forward: logits of 8 x 64 tokens;
  forward + backward: the gradient of the last tokens' log-likelihood with respect to a vector
  added to layer 17's MLP output at the last position (what ROME's optimisation of v needs).
fp32 with TF32 off, and bf16. Also saves the fp32 logits of the last position of each sequence, so
our side can check it computes the same model. Prints JSON lines.
  python3 gpt2xl_torch.py OUT_DIR"""
import json
import os
import sys
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
out = sys.argv[1]
LAYER, B, T = 17, 8, 64

# LOCUS_SMALL=1: a small model of the same code path, for checking the scripts on a CPU
small = os.environ.get("LOCUS_SMALL") == "1"
device = "cuda" if torch.cuda.is_available() else "cpu"
shape = dict(n_layer=20, n_embd=64, n_head=4, vocab_size=1000) if small else dict(n_layer=48, n_embd=1600, n_head=25, vocab_size=50257)
config = GPT2Config(**shape, n_positions=1024, activation_function="gelu_new")
torch.manual_seed(0)
t0 = time.time()
with torch.device(device):
    model = GPT2LMHeadModel(config).eval()
if not os.path.exists(os.path.join(out, "config.json")):
    model.save_pretrained(out, max_shard_size="2GB", safe_serialization=True)
print(json.dumps({"built": out, "seconds": round(time.time() - t0, 1), "parameters": sum(p.numel() for p in model.parameters())}), flush=True)
if os.environ.get("LOCUS_BUILD_ONLY") == "1":  # the model alone (bench/easyedit/run.sh)
    sys.exit(0)

g = torch.Generator().manual_seed(1)
ids = torch.randint(0, config.vocab_size, (B, T), generator=g)
targets = torch.randint(0, config.vocab_size, (B,), generator=g)
json.dump({"ids": ids.tolist(), "targets": targets.tolist()}, open(os.path.join(out, "bench-input.json"), "w"))
ids, targets = ids.to(device), targets.to(device)


def sync():
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, reps=5):
    fn()
    sync()
    start = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - start) / reps


for dtype in (torch.float32, torch.bfloat16):
    m = model.to(dtype)
    delta = torch.zeros(config.n_embd, device=device, dtype=dtype, requires_grad=True)

    def grad_at(ids, targets, position):
        """d(log-likelihood of targets at the last position) / d(delta added to LAYER's MLP output at `position`)"""

        def add_delta(_module, _inputs, output):
            output = output.clone()
            output[:, position, :] += delta
            return output

        handle = m.transformer.h[LAYER].mlp.register_forward_hook(add_delta)
        logits = m(ids).logits[:, -1, :].float()
        loss = -torch.log_softmax(logits, -1).gather(1, targets[:, None]).sum()
        (grad,) = torch.autograd.grad(loss, [delta])
        handle.remove()
        return grad

    def forward():
        with torch.no_grad():
            return m(ids).logits

    forward_backward = lambda: grad_at(ids, targets, -1)
    # ROME's v* step as EasyEdit runs it (the whole model, from layer 0): R sequences of S tokens,
    # the vector added at the second-last position, the loss at the last (bench/webgpu/gpt2xl.ts)
    R, S = int(os.environ.get("LOCUS_XL_VSTAR_ROWS", 22)), int(os.environ.get("LOCUS_XL_VSTAR_TOKENS", 24))
    v_ids = ids.flatten()[: R * S].reshape(R, S) if R * S <= B * T else ids[:1].repeat(R, 1)[:, :S]
    v_targets = targets.repeat((R + B - 1) // B)[:R]
    vstar_step = lambda: grad_at(v_ids, v_targets, -2)

    if dtype == torch.float32:
        last = forward()[:, -1, :].float().cpu()
        grad = forward_backward().float().cpu()
        json.dump({"lastLogits": last.tolist(), "grad": grad.tolist()}, open(os.path.join(out, "bench-expected.json"), "w"))
    if device != "cuda":
        break
    torch.cuda.reset_peak_memory_stats()
    f = timed(forward)
    fpeak = torch.cuda.max_memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fb = timed(forward_backward)
    fbpeak = torch.cuda.max_memory_allocated()
    vs = timed(vstar_step)
    name = str(dtype).removeprefix("torch.")
    print(json.dumps({"peer": "torch", "dtype": name, "forward_s": f, "forward_peak_gib": fpeak / 2**30, "forward_backward_s": fb, "forward_backward_peak_gib": fbpeak / 2**30, f"vstar_step_{R}x{S}_s": vs}), flush=True)
