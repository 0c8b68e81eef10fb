"""Issue 9's table from bench/easyedit/run.sh's reports (the *-easyedit.json files of reference/easyedit_bench.py):
one row per run and side, metrics in percent (EasyEdit's token-accuracy metrics), seconds per edit, peak GPU
memory, and Locus / EasyEdit ratios; then where each side's edit time went, per stage. A report of our side alone
(NAME-SUFFIX-locus.json, e.g. xl-rome-f16: run.sh's variants) is set beside the EasyEdit run NAME.
  python3 bench/easyedit/table.py bench/results/easyedit-gpu"""
import glob
import json
import os
import sys

folder = sys.argv[1]
# each run by its name (the report's file name less "-easyedit.json")
paired = {os.path.basename(f)[: -len("-easyedit.json")]: json.load(open(f)) for f in sorted(glob.glob(os.path.join(folder, "*-easyedit.json")))}
runs = list(paired.values())
cell = lambda v: "–" if v is None else f"{v:.2f}"
gib = lambda b: "–" if not b else f"{b / 2**30:.2f}"
print("| run | model | N | side | reliability | generality | locality | portability | s/edit | peak GiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
# a run EasyEdit did not finish before the call's deadline (easyedit_bench.py --deadline, a batch cut
# short): its editing time so far is a lower bound, so the ratio is an upper bound
unfinished = lambda r: "reliability" not in r["easyedit"]
# a run in half precision (EasyEdit's fp16 beside our f16 weights and products) says so
label = lambda r: f"{r['method']} {r['mode']}" + (" f16" if r["hparams"].get("fp16") else "")
for r in runs:
    name = label(r) + (f" of {r['n']}" if r["mode"] == "batch" else "")
    model = os.path.basename(r["model"].rstrip("/"))
    for side in ("easyedit", "locus"):
        row = r[side]
        if side == "easyedit" and unfinished(r):
            u = row["unfinished"]
            done = ", ".join(f"{k} {v}" for k, v in u["stageCalls"].items())
            print(f"| {name} | {model} | {r['n']} | EasyEdit | unfinished after {u['editSeconds']:.1f} s of editing (calls done: {done}) | | | | | |")
            continue
        metrics = " | ".join(cell(row.get(k)) for k in ("reliability", "generality", "locality", "portability"))
        print(f"| {name} | {model} | {r['n']} | {'EasyEdit' if side == 'easyedit' else 'Locus'} | {metrics} | {row['secondsPerEdit']:.3f} | {gib(row.get('peakBytes'))} |")
print()
print("| run | model | Locus / EasyEdit s/edit | Locus - EasyEdit (points): reliability, generality, locality, portability |")
print("|---|---|---|---|")
for r in runs:
    e, l = r["easyedit"], r["locus"]
    if unfinished(r):
        print(f"| {label(r)} | {os.path.basename(r['model'].rstrip('/'))} | at most {l['secondsPerEdit'] * r['n'] / e['unfinished']['editSeconds']:.2f} | – |")
        continue
    diff = ", ".join("–" if e[k] is None or l[k] is None else f"{l[k] - e[k]:+.2f}" for k in ("reliability", "generality", "locality", "portability"))
    print(f"| {label(r)} | {os.path.basename(r['model'].rstrip('/'))} | {l['secondsPerEdit'] / e['secondsPerEdit']:.2f} | {diff} |")
print()
for r in runs:
    for side in ("easyedit", "locus"):
        stages = r[side].get("stageSeconds")
        if stages:
            # reports before `edits` was written: both sides covered the run's n
            parts = ", ".join(f"{k} {v / r[side].get('edits', r['n']):.3f}" for k, v in stages.items())
            print(f"- {label(r)} on {os.path.basename(r['model'].rstrip('/'))}, {side}: s per edit by stage: {parts}")

# our side alone (a variant of a run, e.g. xl-rome-f16), against the EasyEdit run whose name it extends
for f in sorted(glob.glob(os.path.join(folder, "*-locus.json"))):
    name = os.path.basename(f)[: -len("-locus.json")]
    base = max((p for p in paired if name.startswith(p + "-")), key=len, default=None)
    if name in paired or base is None or unfinished(paired[base]):
        continue
    o, e = json.load(open(f)), paired[base]["easyedit"]
    stages = ", ".join(f"{k} {v / len(o['cases']):.3f}" for k, v in o["stageSeconds"].items())
    print(f"- {name} (our side alone): {o['secondsPerEdit']:.3f} s per edit, {gib(o.get('peakBytes'))} GiB; against {base}'s EasyEdit {e['secondsPerEdit']:.3f}: {o['secondsPerEdit'] / e['secondsPerEdit']:.2f}; by stage: {stages}")
