#!/bin/bash
# Issue 6's SmolLM2-135M table (100 records of counterfact-portability.sample.json, ROME, MEMIT,
# FT-L, FT-M, KN, single edits) on the GPU machine's 16 CPU cores, over several calls.
#   pack: RUN=bench/device/smollm2-units.sh bash bench/device/pack-cli.sh, then split the GGUF into
#   .device/smol/part-a* (the 98 MB file does not fit one call's 64 MiB) and tar ../shared/data/editing
#   into .device/editing.tar.xz; carry the parts over consecutive calls (the machine keeps what a
#   call does not name), then each call: `WAIT=560 bash .device/app/run.sh`.
# Work is cut into units (a method on a few records, one process each, one thread each) run 16 at
# a time by a scheduler that outlives the call if the machine lets it; a unit whose JSON exists is
# never run again, so a call that ends mid-run loses only the units in flight. Each call returns
# smollm2.tgz (results/, logs/); merge a method's units with `npx tsx bench/merge-reports.ts
# bench/results/smollm2/<method>-single-100.json results/<method>-*-{2,5}.json`, leaving out the three
# one-record ROME units that only computed the statistics.
set -u
R=$PWD/.device/smol-run
N=${N:-100}
DATA=$R/editing/counterfact-portability.sample.json
BASE="--model $R/model.gguf --dataset $DATA --mode single --stats-tokens 20000 --stats-text $R/editing --quiet"

unit() { # method offset n hparams
  local out=$R/results/$1-$2-$3.json
  [ -f "$out" ] && return 0
  node .device/app/locus.mjs eval $BASE --method "$1" --offset "$2" --n "$3" --hparams "$4" --out "$out.tmp" > "$R/logs/$1-$2-$3.log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] && mv "$out.tmp" "$out"
  echo "$(date +%T) unit $1 $2 $3 rc=$rc" >> $R/units.log
}

if [ "${1:-}" = --unit ]; then  # node is on PATH already (enter.sh must not run twice at once)
  export LOCUS_CACHE=$R/cache LOCUS_CPU_THREADS=1 LOCUS_EDITING_DATA_DIR=$R/editing
  read -r m o n hp <<< "$2"
  unit "$m" "$o" "$n" "$hp"
  exit 0
fi

if [ "${1:-}" = --scheduler ]; then
  bare='{"useContextTemplates":false}'
  {
    # statistics first: one-record ROME edits at layers 6, 7, 8 (in parallel) cache them for the ROME
    # and MEMIT units that come last; their reports are not part of the table
    for l in 6 7 8; do echo "rome $((91 + l)) 1 {\"layer\":$l,\"useContextTemplates\":false}"; done
    for o in $(seq 0 2 $((N - 1))); do echo "kn $o 2 {}"; done
    for o in $(seq 0 2 $((N - 1))); do echo "ft-m $o 2 {}"; done
    for o in $(seq 0 5 $((N - 1))); do echo "ft-l $o 5 {}"; done
    for o in $(seq 0 5 $((N - 1))); do echo "rome $o 5 $bare"; done
    for o in $(seq 0 5 $((N - 1))); do echo "memit $o 5 $bare"; done
  } > $R/units.txt
  xargs -P "${P:-16}" -d '\n' -n 1 bash "$0" --unit < $R/units.txt  # one line per unit, quotes kept
  echo done > $R/scheduler.done
  exit 0
fi

OUT=${OUT:-/tmp/out}; mkdir -p $OUT "$R/results" "$R/logs" "$R/cache"
# enter.sh unpacks node into /tmp/node: doing it again while units run makes them fail to start (rc 126)
if [ -x /tmp/node/bin/node ]; then export PATH=/tmp/node/bin:$PATH; else source .device/enter.sh > /dev/null 2>&1; fi
node --version; nproc
ORT=.device/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
[ -f $ORT ] || xz -dk $ORT.xz
[ -d $R/editing ] || { mkdir -p $R/editing && tar -C $R/editing -xJf .device/editing.tar.xz; }
if [ ! -f $R/model.gguf ]; then
  if [ -n "${PARTS:-}" ] && [ "$(ls .device/smol/part-* 2>/dev/null | wc -l)" -eq "$PARTS" ]; then
    cat .device/smol/part-* > $R/model.gguf
    echo "model: $(sha256sum $R/model.gguf | cut -c1-16) (want ${SHA:-?})"
  else
    echo "model parts so far: $(ls .device/smol/ 2>/dev/null | tr '\n' ' ')"; exit 0
  fi
fi
if [ ! -f $R/scheduler.pid ] || ! kill -0 "$(cat $R/scheduler.pid)" 2>/dev/null; then
  if [ ! -f $R/scheduler.done ]; then
    setsid nohup bash "$0" --scheduler > $R/scheduler.log 2>&1 < /dev/null &
    echo $! > $R/scheduler.pid
    echo "scheduler started ($(ls $R/results | wc -l) units already done)"
  fi
fi
t0=$(date +%s)
while [ ! -f $R/scheduler.done ] && [ $(( $(date +%s) - t0 )) -lt "${WAIT:-0}" ]; do sleep 10; done
echo "after $(( $(date +%s) - t0 )) s: $(ls $R/results | grep -c json) of $(wc -l < $R/units.txt) units done"
tail -5 $R/units.log 2>/dev/null
tar -C $R -czf $OUT/smollm2.tgz results logs units.log 2>/dev/null
