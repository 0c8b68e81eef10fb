#!/bin/bash
# Issue 6's SmolLM2-135M table on the CPU: the five methods on the first N records of
# ../shared/data/editing/counterfact-portability.sample.json (N=100 for the issue; default 10).
# Second moments from 20,000 tokens of the English sentences of ../shared/data/editing's JSON files
# (CounterFact, zsRE, KnowEdit, MQuAKE, RippleEdits samples), cached after the first run.
#   N=10 bash bench/smollm2-eval.sh [method ...]
set -u
cd "$(dirname "$0")/.."
N=${N:-10}
MODEL=$(node -e "const r=require(require('os').homedir()+'/.cache/locus/models.json');console.log(r['smollm2-135m-instruct'].path)")
DATA=../shared/data/editing/counterfact-portability.sample.json
mkdir -p bench/results/smollm2
for method in "${@:-rome memit ft-l ft-m kn}"; do
  for m in $method; do
    hp='{}'; case $m in rome|memit) hp='{"useContextTemplates":false}';; esac
    echo "== $m n=$N"
    npx locus eval --model "$MODEL" --dataset $DATA --method $m --n $N --mode single --stats-tokens 20000 --hparams "$hp" \
      --quiet --out bench/results/smollm2/$m-single-$N.json > bench/results/smollm2/$m-single-$N.log 2>&1
    echo "   rc=$? $(grep '^| [A-Z]' bench/results/smollm2/$m-single-$N.log | tail -1)"
  done
done
