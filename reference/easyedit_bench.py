"""EasyEdit on the edit requests of one of our reports, scored with EasyEdit's own metric code (issue 9).

Runs zjunlp/EasyEdit's ROME, MEMIT or FT (its source beside the project, never committed to it) on the
cases of a `locus eval --out` report: the same model, dataset rows, hyper-parameters (translated to
EasyEdit's names) and second-moment statistics (ours, read from Locus's cache and handed to EasyEdit in
place of its Wikipedia statistics, so both solve with the same C). Then prints EasyEdit's and our
averages side by side.

  python3 reference/easyedit_bench.py --easyedit ../EasyEdit --ours bench/results/world/rome-single-200-bare.json \
      --stats-dir ~/.cache/locus/stats --device cpu --out bench/results/easyedit/rome-single-200-bare.json

Metrics: EasyEdit's `test_prediction_acc` (prompt + " " + target tokenised together, teacher-forced
token accuracy) for reliability, generality (every paraphrase) and portability; locality as
EasyEdit computes it: the post-edit argmax tokens over (prompt + " " + ground truth) against the
pre-edit ones. Single edits are undone after scoring; a batch run edits every case in one call
and scores them after. Context templates: off (["{}"]) when our run had `useContextTemplates: false`,
else EasyEdit generates its own. Seconds per edit: wall time of EasyEdit's apply function.
"""

import argparse
import dataclasses
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import hashlib
import json
import os
import re
import resource
import signal
import struct
import sys
import time

import numpy as np
import torch


# Packages EasyEdit's package imports for its other methods, datasets and API clients (MEND's `higher`,
# GPT-4 and GLM clients, video and multimodal readers, BLEU/ROUGE scorers, Hydra configs). ROME, MEMIT,
# FT and test_prediction_acc never call them; where one is not installed (the GPU machine has no
# network to install them), it is replaced by a module whose every attribute raises when used.
EASYEDIT_OPTIONAL = ("higher", "nltk", "openai", "zhipuai", "qwen_vl_utils", "av", "fairscale", "iopath", "gpustat", "rouge",
                     "hydra", "omegaconf", "datasets", "decord", "dashscope")


class _Unavailable(type):
    """A stand-in class for anything read from a missing module: subclassing works, use raises."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Unavailable(f"{cls.__name__}.{name}", (), {"__module__": cls.__module__})

    def __getitem__(cls, item):  # annotations such as Optional[...]
        return cls

    def __call__(cls, *args, **kwargs):
        raise RuntimeError(f"{cls.__module__}.{cls.__name__} is not installed here (stubbed for EasyEdit's imports)")


class _MissingModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, names):
        self.names = {n for n in names if importlib.util.find_spec(n) is None}

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__path__ = []

        def attribute(name):
            if name.startswith("__"):  # __file__ and the like: what a missing module would not have either
                raise AttributeError(name)
            return _Unavailable(name, (), {"__module__": module.__name__})

        module.__getattr__ = attribute


def import_easyedit(root):
    """Puts EasyEdit's checkout on the path with its missing optional packages stubbed; returns their names."""
    sys.path.insert(0, os.path.abspath(root))
    finder = _MissingModules(EASYEDIT_OPTIONAL)
    sys.meta_path.append(finder)
    importlib.import_module("easyeditor")
    return sorted(finder.names)


def read_stats(stats_dir, model_id, layer, stats_text, max_length=128):
    """Our cached C for a layer: the file our SecondMoments wrote for this model, text, token budget and
    layer (its name carries the same key: sha256 of [model, text, maxTokens, maxLength, layer])."""
    text, tokens = stats_text.rsplit(", ", 1)
    tokens = int(tokens.split()[0])
    key = hashlib.sha256(json.dumps([model_id, text, tokens, max_length, layer], separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()[:16]
    safe = re.sub(r"[^\w.-]", "_", model_id)
    path = os.path.join(stats_dir, f"mom2-{safe}-L{layer}-{key}.safetensors")
    if not os.path.exists(path):
        found = sorted(n for n in os.listdir(stats_dir) if n.startswith(f"mom2-{safe}-L{layer}-")) if os.path.isdir(stats_dir) else []
        raise SystemExit(f"no cached statistics {path} ({stats_text}, layer {layer}); for this model and layer there are: {found or 'none'}. Run our eval first")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        info = header["moment"]
        start, end = info["data_offsets"]
        f.seek(8 + n + start)
        data = np.frombuffer(f.read(end - start), dtype=np.float32).reshape(info["shape"])
    return torch.from_numpy(data.copy()), header.get("__metadata__", {})


class GivenMoment:
    """Stands in for EasyEdit's CombinedStat: `.mom2.moment()` is our C."""

    def __init__(self, c):
        self.mom2 = self
        self.c = c

    def moment(self):
        return self.c


def load_cases(dataset, offset, n):
    records = json.load(open(dataset))[offset: offset + n]
    cases = []
    for r in records:
        rw = r["requested_rewrite"]
        cases.append({
            "prompt": rw["prompt"].replace("{}", rw["subject"]),
            "subject": rw["subject"],
            "target_new": rw["target_new"]["str"],
            "ground_truth": rw["target_true"]["str"],
            "paraphrases": r["paraphrase_prompts"],
            "neighbourhood": r["neighborhood_prompts"],
            "portability": [(r["portability"]["New Question"], r["portability"]["New Answer"])] if r.get("portability") else [],
        })
    return cases


def build(cls, cfg):
    """EasyEdit's hyper-parameter class from the keys it has (its files for other methods carry more)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in cfg.items() if k in names})


def hparams_for(method, ours, n_layer, model_path, device, easyedit, fp16=False):
    """Our hyper-parameters in EasyEdit's names, on top of its GPT-2 XL file for the method."""
    import yaml

    base = {"rome": "ROME", "memit": "MEMIT", "ft-l": "FT", "ft-m": "FT"}[method]
    cfg = yaml.safe_load(open(os.path.join(easyedit, "hparams", base, "gpt2-xl.yaml")))
    cfg.update(model_name=model_path, device=device, stats_dir="/nonexistent", model_parallel=False, fp16=fp16)
    if method in ("rome", "memit"):
        cfg.update(
            layers=[ours["layer"]] if method == "rome" else ours["layers"],
            fact_token="last" if ours["factToken"] == "last" else "subject_last",
            v_num_grad_steps=ours["vNumGradSteps"], v_lr=ours["vLr"], v_weight_decay=ours["vWeightDecay"],
            clamp_norm_factor=ours["clampNormFactor"], kl_factor=ours["klFactor"], v_loss_layer=n_layer - 1,
            mom2_dataset="locus", mom2_dtype="float32",
            # ROME solves with C⁻¹ (as ours does); EasyEdit's gpt2-xl file turns that off
            mom2_adjustment=True,
        )
        if method == "memit":
            cfg.update(mom2_update_weight=ours["mom2UpdateWeight"], mom2_adjustment=True)
    else:
        cfg.update(
            layers=[ours["layer"]], num_steps=ours["numSteps"], lr=ours["lr"], weight_decay=ours["weightDecay"],
            norm_constraint=ours["normConstraint"], objective_optimization=ours["objective"], kl_factor=0,
        )
    return cfg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--easyedit", required=True, help="a checkout of zjunlp/EasyEdit (the folder holding easyeditor/ and hparams/)")
    ap.add_argument("--ours", required=True, help="our `locus eval --out` report to reproduce")
    ap.add_argument("--stats-dir", default=os.path.expanduser("~/.cache/locus/stats"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--n", type=int, help="fewer cases than the report (its first n)")
    ap.add_argument("--deadline", type=float, help="seconds from start: stop editing then and report what finished "
                    "(single edits: those done; a batch: its elapsed time, a lower bound, and each stage's finished calls)")
    ap.add_argument("--dtype", choices=["float32", "float16"], default="float32",
                    help="the model's dtype (float16: EasyEdit's fp16 setting, beside our f16 weights and products)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    script_started = time.perf_counter()

    ours = json.load(open(args.ours))
    method, mode = ours["editorId"], ours["mode"]
    n = args.n or len(ours["cases"])
    cases = load_cases(ours["dataset"], ours["offset"], n)
    model_path = os.path.abspath(ours["model"])

    from transformers import GPT2LMHeadModel, GPT2TokenizerFast
    stubbed = import_easyedit(args.easyedit)
    if stubbed:
        print(f"not installed, stubbed for EasyEdit's imports: {', '.join(stubbed)}", file=sys.stderr)
    from easyeditor.evaluate.evaluate_utils import test_prediction_acc
    from easyeditor.util import nethook

    device = args.device
    torch.manual_seed(1)
    model = GPT2LMHeadModel.from_pretrained(model_path, torch_dtype=getattr(torch, args.dtype)).to(device).eval()
    tok = GPT2TokenizerFast(tokenizer_file=os.path.join(model_path, "tokenizer.json"))
    tok.pad_token = tok.eos_token or tok.convert_ids_to_tokens(0)
    n_layer = model.config.n_layer
    cfg = hparams_for(method, ours["hparams"], n_layer, model_path, 0 if device == "cuda" else "cpu", args.easyedit, args.dtype == "float16")

    model_id = os.path.basename(model_path.rstrip("/"))
    given = {}
    if method in ("rome", "memit"):
        for layer in cfg["layers"]:
            c, meta = read_stats(args.stats_dir, model_id, layer, ours["setup"]["statsText"])
            given[cfg["rewrite_module_tmp"].format(layer)] = c
            print(f"layer {layer}: our C from {meta['text']}, {meta['tokens']} tokens", file=sys.stderr)

    def layer_stats(model, tok, layer_name, *a, **k):
        return GivenMoment(given[layer_name].to(device))

    if method == "rome":
        from easyeditor.models.rome import ROMEHyperParams, apply_rome_to_model as apply
        cu = importlib.import_module("easyeditor.models.rome.compute_u")  # easyeditor.models is shadowed by trainer.models
        rm = importlib.import_module("easyeditor.models.rome.rome_main")
        cu.layer_stats = layer_stats
        if not ours["hparams"].get("useContextTemplates", True):
            rm.CONTEXT_TEMPLATES_CACHE = ["{}"]
        hp = build(ROMEHyperParams, cfg)
        stages = {"key (compute_u)": (rm, "compute_u"), "value (compute_v)": (rm, "compute_v")}
    elif method == "memit":
        from easyeditor.models.memit import MEMITHyperParams, apply_memit_to_model as apply
        mm = importlib.import_module("easyeditor.models.memit.memit_main")
        mm.layer_stats = layer_stats
        if not ours["hparams"].get("useContextTemplates", True):
            mm.CONTEXT_TEMPLATES_CACHE = [["{}"]]
        hp = build(MEMITHyperParams, cfg)
        stages = {"value (compute_z)": (mm, "compute_z"), "keys (compute_ks)": (mm, "compute_ks"), "covariance (get_cov)": (mm, "get_cov")}
    else:
        from easyeditor.models.ft import FTHyperParams, apply_ft_to_model as apply
        hp = build(FTHyperParams, cfg)
        stages = {}

    def acc(prompts, targets):
        return float(np.mean(test_prediction_acc(model, tok, hp, prompts, targets, device)))

    def argmaxes(c):
        return test_prediction_acc(model, tok, hp, c["neighbourhood"], [c["ground_truth"]] * len(c["neighbourhood"]), device, locality=True)

    def request(c):
        return {"prompt": c["prompt"], "subject": c["subject"], "target_new": c["target_new"], "ground_truth": c["ground_truth"]}

    def score(c, pre):
        post = argmaxes(c)
        return {
            "reliability": acc([c["prompt"]], [c["target_new"]]),
            "generality": acc(c["paraphrases"], [c["target_new"]] * len(c["paraphrases"])),
            "locality": float(np.mean([np.mean(np.equal(a, b)) for a, b in zip(pre, post)])),
            "portability": acc([q for q, _ in c["portability"]], [a for _, a in c["portability"]]) if c["portability"] else None,
        }

    def restore(weights):
        with torch.no_grad():
            for name, w in weights.items():
                nethook.get_parameter(model, name)[...] = w

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    # Where EasyEdit's edit time goes: wall seconds inside each named function, summed over the run.
    stage_seconds = {name: 0.0 for name in stages}
    stage_calls = {name: 0 for name in stages}

    def timed(name, fn):
        def run(*a, **k):
            sync()
            t = time.perf_counter()
            try:
                result = fn(*a, **k)
                stage_calls[name] += 1
                return result
            finally:
                sync()
                stage_seconds[name] += time.perf_counter() - t
        return run

    for name, (module, attr) in stages.items():
        setattr(module, attr, timed(name, getattr(module, attr)))

    batch = mode == "batch"
    groups = [cases] if batch else [[c] for c in cases]
    # One edit before the clock starts, undone: EasyEdit caches its context templates and C's inverse
    # in its first edit, which our runner computes before its clock (report.setup).
    started = time.perf_counter()
    _, weights = apply(model, tok, [request(groups[0][0])], hp, copy=False, return_orig_weights=True)
    sync()
    warmup_seconds = time.perf_counter() - started
    restore(weights)
    stage_seconds = {name: 0.0 for name in stages}
    stage_calls = {name: 0 for name in stages}
    print(f"warm-up edit: {warmup_seconds:.2f} s", file=sys.stderr)

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    class Deadline(Exception):
        pass

    def stop(*_):
        raise Deadline()

    if args.deadline:
        signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, max(1.0, args.deadline - (time.perf_counter() - script_started)))
    def write(out):
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        json.dump(out, open(args.out, "w"), indent=1)

    results, edit_seconds, unfinished = [], 0.0, None
    for i, group in enumerate(groups):
        started = None
        try:
            pre = [argmaxes(c) for c in group]
            started = time.perf_counter()
            _, weights = apply(model, tok, [request(c) for c in group], hp, copy=False, return_orig_weights=True)
            sync()
        except Deadline:
            # what ran is a lower bound on EasyEdit's time for this group; a batch's stage calls say how far it got
            running = time.perf_counter() - started if started else 0.0
            unfinished = {"editSeconds": edit_seconds + running, "groupsDone": i, "groups": len(groups),
                          "stageCalls": dict(stage_calls), "stageSeconds": dict(stage_seconds)}
            print(f"deadline: stopped after {unfinished['editSeconds']:.1f} s of editing, {i} of {len(groups)} "
                  f"{'batches' if batch else 'edits'} done; stage calls {stage_calls}", file=sys.stderr)
            break
        edit_seconds += time.perf_counter() - started
        results += [score(c, p) for c, p in zip(group, pre)]
        restore(weights)
        if not batch and (i + 1) % 20 == 0:
            print(f"{i + 1}/{len(groups)} edits, {edit_seconds / (i + 1):.2f} s/edit", file=sys.stderr)
    signal.setitimer(signal.ITIMER_REAL, 0)
    if unfinished and not results:
        # nothing scored (a batch cut short): write the lower bound and stop
        out = {"method": method, "mode": mode, "n": n, "device": device, "model": ours["model"], "torch": torch.__version__,
               "hparams": cfg, "easyedit": {"unfinished": unfinished}, "locusReport": args.ours,
               "locus": {"secondsPerEdit": ours["secondsPerEdit"], "editSeconds": ours.get("editSeconds"), "stageSeconds": ours.get("stageSeconds")}}
        write(out)
        ours_total = ours["secondsPerEdit"] * n
        print(f"EasyEdit {method} ({mode}, N={n}): unfinished, at least {unfinished['editSeconds']:.1f} s "
              f"(stage calls done: {stage_calls}); Locus {ours_total:.1f} s in all")
        if unfinished["editSeconds"] > 0:
            print(f"Locus / EasyEdit time: at most {ours_total / unfinished['editSeconds']:.2f}")
        return
    n = len(results)  # single edits cut short: the ones done

    def mean(key, rows):
        vals = [r[key] for r in rows if r[key] is not None]
        return 100 * float(np.mean(vals)) if vals else None

    easyedit = {k: mean(k, results) for k in ("reliability", "generality", "locality", "portability")}
    easyedit["secondsPerEdit"] = edit_seconds / n
    easyedit["warmupSeconds"] = warmup_seconds
    easyedit["stageSeconds"] = stage_seconds
    easyedit["edits"] = n  # what stageSeconds covers (ours: every case of its report)
    if unfinished:
        easyedit["unfinished"] = unfinished
    easyedit["peakBytes"] = torch.cuda.max_memory_allocated() if device == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    post = ours["averages"]["post"]
    mine_cases = ours["cases"][:n]
    locus = {k: 100 * float(np.mean([c["post"][k] for c in mine_cases if c["post"].get(k) is not None])) for k in ("reliability", "generality", "locality", "portability")}
    locus["secondsPerEdit"] = ours["secondsPerEdit"]
    locus["stageSeconds"] = ours.get("stageSeconds")
    locus["edits"] = len(ours["cases"])
    locus["peakBytes"] = ours.get("peakBytes")
    out = {
        "method": method, "mode": mode, "n": n, "device": device, "model": ours["model"], "dataset": ours["dataset"], "offset": ours["offset"],
        "hparams": cfg, "torch": torch.__version__, "easyedit": easyedit, "locus": locus, "locusReport": args.ours,
        "locusAveragesAll": {k: post.get(k) for k in ("reliability", "generality", "locality", "portability")},
        "cases": results,
    }
    write(out)
    gib = lambda b: f"{b / 2**30:.2f}" if b else "–"
    print(f"| {method} ({mode}, N={n}) | reliability | generality | locality | portability | s/edit | peak GiB |")
    print("|---|---|---|---|---|---|---|")
    for name, row in (("EasyEdit", easyedit), ("Locus", locus)):
        cells = [f"{row[k]:.2f}" if row[k] is not None else "–" for k in ("reliability", "generality", "locality", "portability")]
        print(f"| {name} | {' | '.join(cells)} | {row['secondsPerEdit']:.3f} | {gib(row['peakBytes'])} |")
    print(f"Locus / EasyEdit s/edit: {locus['secondsPerEdit'] / easyedit['secondsPerEdit']:.2f}")
    for name, row in (("EasyEdit", easyedit), ("Locus", locus)):
        if row.get("stageSeconds"):
            print(f"{name} stages (s per edit): " + ", ".join(f"{k} {v / row['edits']:.3f}" for k, v in row["stageSeconds"].items()))


if __name__ == "__main__":
    main()
