#!/bin/bash
# Issue 12's T5 rows: the methods that edit encoder-decoder models, on the T5-architecture world model
# (data/models/world-t5, made by reference/train_world_t5.py on the GPU machine), with the same
# CounterFact-format test edits as bench/world-eval.sh runs on the decoder-only world model. The
# methods edit the decoder (server/models/editable.ts); ROME and MEMIT refuse T5. MEND and KE edit with
# a trained editor: `npx locus train --method mend|ke --model data/models/world-t5` first, then run
# them by name (they are not in ORDER). SERAC likewise: `npx locus train --method serac --model
# data/models/world-t5` (its scope classifier and counterfactual model), then serac-single-200. Each run writes
# bench/results/world-t5/<name>.json and .log.
#   bash bench/world-t5-eval.sh [name ...]     (default: all, cheapest first)
set -u
cd "$(dirname "$0")/.."
DATA=data/world/datasets/counterfact-test.json
MODEL=${MODEL:-data/models/world-t5}
if [ ! -f "$MODEL/config.json" ]; then echo "no $MODEL: train it first (reference/train_world_t5.py)"; exit 1; fi
run() { # name, then locus eval arguments
  local name=$1; shift
  echo "== $name: locus eval $*"
  mkdir -p bench/results/world-t5
  npx locus eval --model "$MODEL" --dataset $DATA --quiet --out bench/results/world-t5/$name.json "$@" > bench/results/world-t5/$name.log 2>&1
  echo "   rc=$? $(tail -1 bench/results/world-t5/$name.log)"
}
declare -A RUNS=(
  [ft-l-single-200]="--method ft-l --n 200 --mode single"
  [ft-m-single-200]="--method ft-m --n 200 --mode single"
  [kn-single-200]="--method kn --n 200 --mode single"
  [calinet-single-200]="--method calinet --n 200 --mode single"
  [tpatcher-single-200]="--method tpatcher --n 200 --mode single"
  [mend-single-200]="--method mend --n 200 --mode single"
  [ke-single-100]="--method ke --n 100 --mode single"
  [serac-single-200]="--method serac --n 200 --mode single"
)
ORDER=(ft-l-single-200 ft-m-single-200 calinet-single-200 kn-single-200 tpatcher-single-200)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${ORDER[@]}")
for name in "${names[@]}"; do
  [ -n "${RUNS[$name]:-}" ] || { echo "unknown run $name (known: ${!RUNS[*]})"; exit 1; }
  # shellcheck disable=SC2086
  run "$name" ${RUNS[$name]}
done
