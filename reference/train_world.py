"""Trains the world model: a small GPT-2 on the synthetic world's corpus (run on the GPU machine).

Until the engine's WebGPU backend can train, this PyTorch script is the documented, reproducible
way to make data/models/world-gpt2 (issue 4). Everything is seeded; the corpus comes from
`npx tsx server/world/cli.ts generate --seed 1 --out data/world` (committed as data/world/corpus.txt).

  python3 reference/train_world.py --corpus data/world/corpus.txt --out data/models/world-gpt2

Writes: config.json, model.safetensors (float16), tokenizer.json (byte-level BPE trained on the
corpus with Hugging Face tokenizers), training.json (config, tokens seen, loss curve, timings).
Each corpus line is one training sample, starting at position 0 (as prompts do at evaluation),
right-padded; the loss ignores padding.
"""

import argparse
import json
import math
import os
import random
import time

import torch
import transformers as tf
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

EOS = "<|endoftext|>"


def train_tokenizer(lines, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(lines, trainer=trainer)
    return tok


@torch.no_grad()
def quick_accuracy(model, tok, probes_dir, device):
    """Top-1 accuracy of the answer's first token, by probe file and split."""
    out = {}
    for name in ("known-facts", "two-hop"):
        with open(os.path.join(probes_dir, name + ".json"), encoding="utf-8") as f:
            probes = json.load(f)
        groups = {}
        for p in probes:
            key = p.get("phrasing") or p.get("split")
            if p.get("shortcut") and p.get("split") == "heldOut":
                key += "-with-shortcut"
            groups.setdefault(key, []).append(p)
        for key, items in groups.items():
            correct = 0
            for i in range(0, len(items), 512):
                chunk = items[i : i + 512]
                ids = [tok.encode(p["prompt"]).ids for p in chunk]
                width = max(len(x) for x in ids)
                batch = torch.zeros((len(ids), width), dtype=torch.long, device=device)
                for j, x in enumerate(ids):
                    batch[j, : len(x)] = torch.tensor(x)
                logits = model(input_ids=batch).logits.float()
                for j, (x, p) in enumerate(zip(ids, chunk)):
                    target = tok.encode(" " + p["answer"]).ids[0]
                    correct += int(logits[j, len(x) - 1].argmax().item() == target)
            out[f"{name}/{key}"] = round(correct / len(items), 4)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/world/corpus.txt")
    ap.add_argument("--out", default="data/models/world-gpt2")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--positions", type=int, default=128)
    ap.add_argument("--steps", type=int, default=12000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--probes", default="data/world/probes", help="quick first-token accuracy check after training (the report's numbers come from the TypeScript command)")
    args = ap.parse_args()

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with open(args.corpus, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    t0 = time.time()
    tok = train_tokenizer(lines, args.vocab)
    eos_id = tok.token_to_id(EOS)
    encoded = [e.ids + [eos_id] for e in tok.encode_batch(lines)]
    too_long = sum(len(e) > args.positions for e in encoded)
    if too_long:
        raise SystemExit(f"{too_long} corpus lines exceed {args.positions} tokens; raise --positions")
    width = max(len(e) for e in encoded)
    data = torch.full((len(encoded), width), eos_id, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.bool)
    for i, e in enumerate(encoded):
        data[i, : len(e)] = torch.tensor(e)
        mask[i, : len(e)] = True
    data, mask = data.to(device), mask.to(device)
    tokens_per_epoch = int(mask.sum())

    config = tf.GPT2Config(
        vocab_size=tok.get_vocab_size(), n_positions=args.positions, n_embd=args.d, n_layer=args.layers,
        n_head=args.heads, activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=eos_id,
    )
    model = tf.GPT2LMHeadModel(config).to(device)
    params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    curve = []
    tokens_seen = 0
    gen = torch.Generator(device=device).manual_seed(args.seed)
    model.train()
    for step in range(args.steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        idx = torch.randint(0, data.shape[0], (args.batch,), device=device, generator=gen)
        x, m = data[idx], mask[idx]
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            logits = model(input_ids=x).logits[:, :-1]
        target = x[:, 1:]
        valid = m[:, 1:]
        loss = torch.nn.functional.cross_entropy(logits.float()[valid], target[valid])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens_seen += int(m.sum())
        if step % 100 == 0 or step == args.steps - 1:
            curve.append({"step": step, "loss": round(loss.item(), 4), "lr": lr_at(step)})
            print(f"step {step} loss {loss.item():.4f}", flush=True)

    model.eval()
    quick = quick_accuracy(model, tok, args.probes, device) if args.probes and os.path.isdir(args.probes) else {}
    os.makedirs(args.out, exist_ok=True)
    model.half().save_pretrained(args.out, safe_serialization=True)
    for extra in ("generation_config.json",):
        path = os.path.join(args.out, extra)
        if os.path.exists(path):
            os.remove(path)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump({
            "command": "python3 reference/train_world.py " + " ".join(f"--{k} {v}" for k, v in vars(args).items()),
            "args": vars(args), "parameters": params, "corpus_lines": len(lines), "tokens_per_epoch": tokens_per_epoch,
            "tokens_seen": tokens_seen, "epochs": tokens_seen / tokens_per_epoch, "seconds": round(time.time() - t0, 1),
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "versions": {"torch": torch.__version__, "transformers": tf.__version__},
            "quick_accuracy_pytorch": quick,
            "loss_curve": curve,
        }, f, indent=1)
    print(json.dumps({"parameters": params, "tokens_seen": tokens_seen, "seconds": round(time.time() - t0, 1), "quick": quick}))


if __name__ == "__main__":
    main()
