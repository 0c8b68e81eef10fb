#!/bin/bash
# Issue 6's world-model table: every method on the world's CounterFact-format test edits, on the CPU.
# Each run writes bench/results/world/<name>.json (the report with per-case numbers and a Markdown
# table); per-model defaults come from data/models/world-gpt2/editing.json. Runs marked -bare use the bare prompt instead of context templates
# (ROME's templates make an edit ~20x slower on the CPU). ~2.5 h on 2 cores in all.
#   bash bench/world-eval.sh [name ...]     (default: all but MEND and KE, cheapest first)
set -u
cd "$(dirname "$0")/.."
DATA=data/world/datasets/counterfact-test.json
MODEL=data/models/world-gpt2
run() { # name, then locus eval arguments
  local name=$1; shift
  echo "== $name: locus eval $*"
  mkdir -p "$(dirname "bench/results/world/$name")"
  npx locus eval --model $MODEL --dataset $DATA --quiet --out bench/results/world/$name.json "$@" > bench/results/world/$name.log 2>&1
  echo "   rc=$? $(tail -1 bench/results/world/$name.log)"
}
# MEND, KE and SERAC edit with trained networks: `npx locus train --method mend|ke|serac --model $MODEL` first (it lands in
# $LOCUS_DATA_DIR or .locus; ~20 min on 2 cores), then run them by name (they are not in ORDER).
# The zsRE-format run goes to bench/results/world/zsre/. The committed mend-single-200 reports are of a
# 1000-step editor (the default then); mend-300steps-* of the 300-step default (LOCUS_DATA_DIR of that run).
# KE's ke-* reports are of the 1000-step default editor; ke-200steps-* of an earlier 200-step one.
declare -A RUNS=(
  [mend-single-200]="--method mend --n 200 --mode single"
  [mend-batch-100]="--method mend --n 100 --mode batch --batch-size 100"
  [mend-sequential-100]="--method mend --n 100 --mode sequential --checkpoints 1,10,25,50,100"
  [zsre/mend-single-200]="--method mend --n 200 --mode single --dataset data/world/datasets/zsre-test.json"
  [ke-single-100]="--method ke --n 100 --mode single"
  [ke-sequential-100]="--method ke --n 100 --mode sequential --checkpoints 1,10,25,50,100"
  [zsre/ke-single-100]="--method ke --n 100 --mode single --dataset data/world/datasets/zsre-test.json"
  [rome-single-200-bare]="--method rome --n 200 --mode single --hparams {\"useContextTemplates\":false}"
  [ft-l-single-200]="--method ft-l --n 200 --mode single"
  [ft-m-single-200]="--method ft-m --n 200 --mode single"
  [kn-single-200]="--method kn --n 200 --mode single"
  [memit-single-200-bare]="--method memit --n 200 --mode single --hparams {\"useContextTemplates\":false}"
  [memit-batch-100-bare]="--method memit --n 100 --mode batch --batch-size 100 --hparams {\"useContextTemplates\":false}"
  [rome-sequential-100-bare]="--method rome --n 100 --mode sequential --checkpoints 1,10,25,50,100 --hparams {\"useContextTemplates\":false}"
  [memit-sequential-100-bare]="--method memit --n 100 --mode sequential --checkpoints 1,10,25,50,100 --hparams {\"useContextTemplates\":false}"
  [rome-single-200]="--method rome --n 200 --mode single"
  [tpatcher-single-200]="--method tpatcher --n 200 --mode single"
  [calinet-single-200]="--method calinet --n 200 --mode single"
  [tpatcher-sequential-100]="--method tpatcher --n 100 --mode sequential --checkpoints 1,10,25,50,100"
  [calinet-sequential-100]="--method calinet --n 100 --mode sequential --checkpoints 1,10,25,50,100"
  [tpatcher-batch-100]="--method tpatcher --n 100 --mode batch --batch-size 100"
  [calinet-batch-100]="--method calinet --n 100 --mode batch --batch-size 100"
  # issue 11's batch (1 = single, 10, 100) and sequential (1, 10, 100) rows for every method
  [ft-l-batch-10]="--method ft-l --n 100 --mode batch --batch-size 10"
  [ft-l-batch-100]="--method ft-l --n 100 --mode batch --batch-size 100"
  [ft-m-batch-10]="--method ft-m --n 100 --mode batch --batch-size 10"
  [ft-m-batch-100]="--method ft-m --n 100 --mode batch --batch-size 100"
  [memit-batch-10-bare]="--method memit --n 100 --mode batch --batch-size 10 --hparams {\"useContextTemplates\":false}"
  [tpatcher-batch-10]="--method tpatcher --n 100 --mode batch --batch-size 10"
  [calinet-batch-10]="--method calinet --n 100 --mode batch --batch-size 10"
  [mend-batch-10]="--method mend --n 100 --mode batch --batch-size 10"
  [ft-l-sequential-100]="--method ft-l --n 100 --mode sequential --checkpoints 1,10,25,50,100"
  [ft-m-sequential-100]="--method ft-m --n 100 --mode sequential --checkpoints 1,10,25,50,100"
  [kn-sequential-100]="--method kn --n 100 --mode sequential --checkpoints 1,10,25,50,100"
  # SERAC: `npx locus train --method serac --model $MODEL` first (zsRE- and KnowEdit-format train splits)
  [serac-single-200]="--method serac --n 200 --mode single"
  [serac-batch-10]="--method serac --n 100 --mode batch --batch-size 10"
  [serac-batch-100]="--method serac --n 100 --mode batch --batch-size 100"
  [serac-sequential-100]="--method serac --n 100 --mode sequential --checkpoints 1,10,25,50,100"
  [zsre/serac-single-200]="--method serac --n 200 --mode single --dataset data/world/datasets/zsre-test.json"
)
ORDER=(rome-single-200-bare ft-l-single-200 ft-m-single-200 kn-single-200 memit-batch-100-bare rome-sequential-100-bare memit-sequential-100-bare rome-single-200
  tpatcher-single-200 calinet-single-200 tpatcher-sequential-100 calinet-sequential-100 tpatcher-batch-100 calinet-batch-100
  ft-l-batch-10 ft-l-batch-100 ft-m-batch-10 ft-m-batch-100 memit-batch-10-bare tpatcher-batch-10 calinet-batch-10
  ft-l-sequential-100 ft-m-sequential-100 kn-sequential-100)
for name in "${@:-${ORDER[@]}}"; do
  # shellcheck disable=SC2086
  run "$name" ${RUNS[$name]}
done
