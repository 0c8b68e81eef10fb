"""ROME-style causal tracing in PyTorch, averaged over many facts (run on the GPU machine).

The oracle for server/tracing on Hugging Face GPT-2-style models (the world model): corrupt the subject's
token embeddings with Gaussian noise (noise x the std of subject-token embeddings), restore the clean
hidden state / MLP output / attention output of a window of layers at one token, and record the
indirect effect p_restored(object) - p_corrupted(object). Tokens are grouped as in ROME's Figure 1:
subject first / middle / last, first subsequent, further subsequent, last.

  python3 reference/causal_trace.py --model data/models/world-gpt2 --probes data/world/probes/known-facts.json \
      --n 200 --samples 10 --noise 3 --window 1 --out trace.json
"""

import argparse
import json

import torch
import transformers as tf
from tokenizers import Tokenizer

GROUPS = ["subject_first", "subject_middle", "subject_last", "first_after", "further", "last"]


def group_of(pos, s0, s1, n):
    if pos == n - 1:
        return "last"
    if s0 <= pos < s1:
        return "subject_first" if pos == s0 else "subject_last" if pos == s1 - 1 else "subject_middle"
    if pos == s1:
        return "first_after"
    if pos > s1:
        return "further"
    return None


def subject_span(tok, prompt, subject):
    start = prompt.index(subject)
    end = start + len(subject)
    enc = tok.encode(prompt)
    ids = [i for i, (a, b) in enumerate(enc.offsets) if a < end and b > start]
    return enc.ids, ids[0], ids[-1] + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--probes", required=True)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--noise", type=float, default=3.0)
    ap.add_argument("--window", type=int, default=1)
    ap.add_argument("--phrasing", default="train")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(1)
    model = tf.GPT2LMHeadModel.from_pretrained(args.model, torch_dtype=torch.float32).to(device).eval()
    tok = Tokenizer.from_file(f"{args.model}/tokenizer.json")
    L = model.config.n_layer
    probes = [p for p in json.load(open(args.probes)) if p.get("phrasing") == args.phrasing and p.get("form", "statements") == "statements"]
    probes = probes[:: max(1, len(probes) // args.n)][: args.n]

    wte = model.transformer.wte.weight
    subject_ids = set()
    items = []
    for p in probes:
        ids, s0, s1 = subject_span(tok, p["prompt"], p["subject"])
        target = tok.encode(" " + p["answer"]).ids[0]
        items.append((ids, s0, s1, target))
        subject_ids.update(ids[s0:s1])
    std = wte[list(subject_ids)].std().item()

    kinds = {"hidden": lambda l: model.transformer.h[l], "mlp": lambda l: model.transformer.h[l].mlp, "attn": lambda l: model.transformer.h[l].attn}
    sums = {k: {g: [0.0] * L for g in GROUPS} for k in kinds}
    counts = {g: 0 for g in GROUPS}
    clean_p, corrupt_p, known = 0.0, 0.0, 0

    def first(out):
        return out[0] if isinstance(out, tuple) else out

    with torch.no_grad():
        for ids, s0, s1, target in items:
            n = len(ids)
            x = torch.tensor([ids] * (args.samples + 1), device=device)
            noise = torch.randn((args.samples, s1 - s0, wte.shape[1]), device=device) * args.noise * std
            clean = {}
            handles = []
            for kind, mod in kinds.items():
                for l in range(L):
                    handles.append(mod(l).register_forward_hook(lambda m, i, o, key=(kind, l): clean.__setitem__(key, first(o)[0].clone())))
            probs = model(input_ids=x[:1]).logits[0, -1].softmax(-1)
            for h in handles:
                h.remove()
            p_clean = probs[target].item()
            if probs.argmax().item() != target:
                continue
            known += 1

            def corrupt(m, i, o):
                o = o.clone()
                o[1:, s0:s1] += noise
                return o

            hn = model.transformer.wte.register_forward_hook(corrupt)
            p_corrupt = model(input_ids=x).logits[1:, -1].softmax(-1)[:, target].mean().item()
            clean_p += p_clean
            corrupt_p += p_corrupt
            for pos in range(n):
                g = group_of(pos, s0, s1, n)
                if g is None:
                    continue
                counts[g] += 1
                for kind, mod in kinds.items():
                    for l in range(L):
                        layers = range(max(0, l - args.window // 2), min(L, l - args.window // 2 + args.window))

                        def restore(m, i, o, key_l=None, kind=kind):
                            t = first(o).clone()
                            t[1:, pos] = clean[(kind, key_l)][pos]
                            return (t,) + tuple(o[1:]) if isinstance(o, tuple) else t

                        hs = [mod(j).register_forward_hook(lambda m, i, o, j=j, f=restore: f(m, i, o, key_l=j)) for j in layers]
                        p = model(input_ids=x).logits[1:, -1].softmax(-1)[:, target].mean().item()
                        for h in hs:
                            h.remove()
                        sums[kind][g][l] += p - p_corrupt
            hn.remove()

    result = {
        "model": args.model, "facts": known, "samples": args.samples, "noise": args.noise, "std": std, "window": args.window,
        "p_clean": clean_p / max(1, known), "p_corrupt": corrupt_p / max(1, known),
        "effects": {k: {g: [v / max(1, counts[g]) for v in sums[k][g]] for g in GROUPS} for k in kinds},
        "token_counts": counts,
    }
    json.dump(result, open(args.out, "w"), indent=1)
    print(json.dumps({"model": args.model, "facts": known, "p_clean": result["p_clean"], "p_corrupt": result["p_corrupt"]}))
    for kind in kinds:
        print(kind)
        for g in GROUPS:
            print(f"  {g:15s} " + " ".join(f"{v:6.3f}" for v in result["effects"][kind][g]))


if __name__ == "__main__":
    main()
