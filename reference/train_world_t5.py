"""Trains the T5-architecture world model on the synthetic world's corpus (run on the GPU machine).

The encoder-decoder counterpart of reference/train_world.py (issue 12): the same corpus
(data/world/corpus.txt), the same tokenizer approach (byte-level BPE trained on the corpus with
Hugging Face tokenizers), the same seeds, optimiser and schedule; a T5 v1.0-style model
(ReLU FFN, tied embeddings, relative position buckets) built by transformers from a config, no
download.

Framing (seq2seq). A corpus line holds one to three sentences; every sentence ends with its object
(templates.json: "phrasings end right before the object"). Each sentence is one example:
  encoder: the sentence up to its object, + </s>    "The native language of Zitel Plebodez is"
                                                      "Where did Bigralel Mezusell study?"
  decoder: " " + object + "." + </s>                 " Fumian."
so an evaluation prompt (a statement or question without its object) is exactly an encoder input
and the target (" Fumian", with its leading space as the datasets write it) is the decoder's first
tokens, as Locus scores seq2seq targets (server/models/seq2seq-lm.ts). The object is found as the
longest run of final words that is an entity name of graph.json; a question's object follows its
"? ". Sentences whose object is not found are counted and reported (the run stops if more than 0.1 %
are). Earlier sentences of the same line are not given as context: prompts never have any.

  python3 reference/train_world_t5.py --corpus data/world/corpus.txt --graph data/world/graph.json \\
      --out data/models/world-t5

Writes: config.json, model.safetensors (float16), tokenizer.json (pad 0, </s> 1, unk 2; "$A </s>"
post-processing as T5's), tokenizer_config.json (names those three), training.json (config, examples, tokens seen, loss curve, timings, a quick
first-token accuracy on data/world/probes measured by PyTorch).
"""

import argparse
import json
import math
import os
import random
import re
import time

import torch
import transformers as tf
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"


def train_tokenizer(texts, vocab_size):
    tok = Tokenizer(models.BPE(unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=[PAD, EOS, UNK],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    # T5's convention: the encoder input ends with </s>; targets are encoded without it and get it appended
    tok.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", special_tokens=[(EOS, tok.token_to_id(EOS))])
    return tok


def split_sentences(line):
    """A corpus line's sentences: each ends with '.' or is a question followed by its answer."""
    return [s for s in re.split(r"(?<=\.) (?=[A-Z])", line.strip()) if s]


def frame(sentence, names):
    """(encoder text, decoder text) of one sentence, or None when its object is not found."""
    if "? " in sentence:
        question, answer = sentence.split("? ", 1)
        return question + "?", " " + answer
    if not sentence.endswith("."):
        return None
    words = sentence[:-1].split(" ")
    for n in range(min(4, len(words) - 1), 0, -1):
        if " ".join(words[-n:]) in names:
            return " ".join(words[:-n]), " " + " ".join(words[-n:]) + "."
    return None


def encode_pairs(tok, pairs, eos_id):
    sources = [e.ids for e in tok.encode_batch([s for s, _ in pairs])]  # ends with </s> (post-processor)
    targets = [e.ids + [eos_id] for e in tok.encode_batch([t for _, t in pairs], add_special_tokens=False)]
    return sources, targets


def padded(rows, pad_id, device):
    width = max(len(r) for r in rows)
    data = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for i, r in enumerate(rows):
        data[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = True
    return data.to(device), mask.to(device)


@torch.no_grad()
def quick_accuracy(model, tok, probes_dir, device, pad_id):
    """Top-1 accuracy of the answer's first token at the first decoder step, by probe file and split."""
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
                ids, mask = padded([tok.encode(p["prompt"]).ids for p in chunk], pad_id, device)
                start = torch.full((len(chunk), 1), pad_id, dtype=torch.long, device=device)
                logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=start).logits.float()
                for j, p in enumerate(chunk):
                    target = tok.encode(" " + p["answer"], add_special_tokens=False).ids[0]
                    correct += int(logits[j, 0].argmax().item() == target)
            out[f"{name}/{key}"] = round(correct / len(items), 4)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="data/world/corpus.txt")
    ap.add_argument("--graph", default="data/world/graph.json")
    ap.add_argument("--out", default="data/models/world-t5")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=4, help="encoder layers; the decoder has as many")
    ap.add_argument("--d", type=int, default=192)
    ap.add_argument("--d-kv", type=int, default=32)
    ap.add_argument("--d-ff", type=int, default=768)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--steps", type=int, default=15000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget-seconds", type=float, default=0, help="fit the run into this many seconds: after 100 steps the step time is measured and --steps lowered to fit (before the warmup ends, so the schedule stays a whole one); 0: no limit")
    ap.add_argument("--max-lines", type=int, default=0, help="use the first N corpus lines only (a CPU smoke test); 0: all")
    ap.add_argument("--probes", default="data/world/probes", help="quick first-token accuracy check after training")
    args = ap.parse_args()

    random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.time()
    with open(args.corpus, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    if args.max_lines:
        lines = lines[: args.max_lines]
    with open(args.graph, encoding="utf-8") as f:
        names = {e["name"] for e in json.load(f)["entities"]}
    sentences = [s for line in lines for s in split_sentences(line)]
    framed = [frame(s, names) for s in sentences]
    missed = [s for s, p in zip(sentences, framed) if p is None]
    pairs = [p for p in framed if p is not None]
    print(f"{len(lines)} lines, {len(sentences)} sentences, {len(pairs)} examples, {len(missed)} without an object found", flush=True)
    if len(missed) > 0.001 * len(sentences):
        raise SystemExit(f"{len(missed)} sentences without an object found, e.g. {missed[:3]}")

    # the tokenizer learns from the corpus lines as the decoder-only world model's did
    tok = train_tokenizer(lines, args.vocab)
    pad_id, eos_id = tok.token_to_id(PAD), tok.token_to_id(EOS)
    assert (pad_id, eos_id) == (0, 1), (pad_id, eos_id)
    sources, targets = encode_pairs(tok, pairs, eos_id)
    src, src_mask = padded(sources, pad_id, device)
    tgt, tgt_mask = padded(targets, pad_id, device)
    # decoder input: the start token (pad, as T5), then the target shifted right
    dec = torch.cat([torch.full((tgt.shape[0], 1), pad_id, dtype=torch.long, device=device), tgt[:, :-1]], dim=1)
    dec_mask = torch.cat([torch.ones((tgt.shape[0], 1), dtype=torch.bool, device=device), tgt_mask[:, :-1]], dim=1)
    target_tokens = int(tgt_mask.sum())

    config = tf.T5Config(
        vocab_size=tok.get_vocab_size(), d_model=args.d, d_kv=args.d_kv, d_ff=args.d_ff, num_layers=args.layers,
        num_decoder_layers=args.layers, num_heads=args.heads, relative_attention_num_buckets=32,
        relative_attention_max_distance=128, dropout_rate=0.0, feed_forward_proj="relu", tie_word_embeddings=True,
        pad_token_id=pad_id, eos_token_id=eos_id, decoder_start_token_id=pad_id,
    )
    model = tf.T5ForConditionalGeneration(config).to(device)
    params = sum(p.numel() for p in model.parameters())  # tied: the shared embedding once
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
    requested_steps = args.steps
    train_started = time.time()
    gen = torch.Generator(device=device).manual_seed(args.seed)
    model.train()
    for step in range(10**9):
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        idx = torch.randint(0, src.shape[0], (args.batch,), device=device, generator=gen)
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            logits = model(input_ids=src[idx], attention_mask=src_mask[idx], decoder_input_ids=dec[idx], decoder_attention_mask=dec_mask[idx]).logits
        valid = tgt_mask[idx]
        loss = torch.nn.functional.cross_entropy(logits.float()[valid], tgt[idx][valid])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        tokens_seen += int(valid.sum())
        if args.budget_seconds and step == 99 and args.warmup > 100:
            # the time left after the data, minus ~60 s for the probes and saving, over the step time
            if device == "cuda":
                torch.cuda.synchronize()
            per_step = (time.time() - train_started) / 100
            fit = int((args.budget_seconds - (time.time() - t0) - 60) / per_step) + 100
            if fit < args.steps:
                print(f"budget: {per_step * 1000:.1f} ms/step, {args.steps} steps -> {fit}", flush=True)
                args.steps = max(args.warmup + 1, fit)
        if step >= args.steps - 1:
            if step % 100 != 0:
                curve.append({"step": step, "loss": round(loss.item(), 4), "lr": lr_at(step)})
            print(f"step {step} loss {loss.item():.4f}", flush=True)
            break
        if step % 100 == 0:
            curve.append({"step": step, "loss": round(loss.item(), 4), "lr": lr_at(step)})
            print(f"step {step} loss {loss.item():.4f}", flush=True)

    model.eval()
    quick = quick_accuracy(model, tok, args.probes, device, pad_id) if args.probes and os.path.isdir(args.probes) else {}
    os.makedirs(args.out, exist_ok=True)
    # config.json through transformers; the weights written here, so that the file has the same keys
    # under transformers 4.x and 5.x: the tied embedding once, as `shared.weight` (its aliases in the
    # encoder, decoder and head are the same tensor), f16
    model.config.torch_dtype = torch.float16
    model.config.save_pretrained(args.out)
    aliases = {"encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight"}
    weights = {k: v.detach().to(torch.float16).contiguous().cpu().clone() for k, v in model.state_dict().items() if k not in aliases}
    save_file(weights, os.path.join(args.out, "model.safetensors"), metadata={"format": "pt"})
    tok.save(os.path.join(args.out, "tokenizer.json"))
    # which tokens are </s> and <pad> (Locus's Tokenizer and transformers' read them here)
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": EOS, "pad_token": PAD, "unk_token": UNK, "model_max_length": 512}, f, indent=1)
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump({
            "command": "python3 reference/train_world_t5.py " + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()),
            "args": vars(args), "requested_steps": requested_steps, "parameters": params, "corpus_lines": len(lines), "sentences": len(sentences), "examples": len(pairs),
            "sentences_without_object": len(missed), "target_tokens_per_epoch": target_tokens,
            "framing": "encoder: a sentence up to its object + </s>; decoder: ' ' + object + '.' + </s>",
            "tokens_seen": tokens_seen, "epochs": tokens_seen / target_tokens, "seconds": round(time.time() - t0, 1),
            "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
            "versions": {"torch": torch.__version__, "transformers": tf.__version__},
            "quick_accuracy_pytorch": quick,
            "loss_curve": curve,
        }, f, indent=1)
    print(json.dumps({"parameters": params, "tokens_seen": tokens_seen, "seconds": round(time.time() - t0, 1), "quick": quick}))


if __name__ == "__main__":
    main()
