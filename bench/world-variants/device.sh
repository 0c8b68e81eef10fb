#!/bin/bash
# Trains world-model variants on the GPU machine's GPU (all at once) and traces each with
# reference/causal_trace.py (the PyTorch oracle), into .device/variants-run. Started in the
# background by a call; the trace summaries are what come back.
#   carry: .device/variants/*.txt.xz and .device/variants/probes.tar.xz
set -u
V=$PWD/.device/variants-run; mkdir -p $V
[ -d $V/probes ] || tar -C $V -xJf .device/variants/probes.tar.xz
for f in .device/variants/*.txt.xz; do b=$(basename $f .xz); [ -f $V/$b ] || xz -dc $f > $V/$b; done
STEPS=${STEPS:-3000}
train() { # name corpus vocab layers d
  python3 reference/train_world.py --corpus $V/$2 --out $V/$1 --vocab $3 --layers $4 --d $5 --positions 128 --steps $STEPS --probes $V/probes > $V/$1.train.log 2>&1
  echo "trained $1 rc=$?" >> $V/status.log
  python3 reference/causal_trace.py --model $V/$1 --probes $V/probes/known-facts.json --n 60 --samples 10 --window 1 --out $V/trace-$1.json > $V/trace-$1.txt 2>&1
  echo "traced $1 rc=$?" >> $V/status.log
}
train bio16-6L-v4096 corpus-bio16.txt 4096 6 256 &
train bio8only-6L-v4096 corpus-bio8only.txt 4096 6 256 &
train bio16-6L-v1024 corpus-bio16.txt 1024 6 256 &
train bio8only-8L-d512-v1024 corpus-bio8only.txt 1024 8 512 &
wait
echo all > $V/done
