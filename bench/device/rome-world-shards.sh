#!/bin/bash
# Run from the repository root on the GPU machine after bench/device/pack-cli.sh:
#   run: bash .device/app/run.sh   carry: .device/app .device/node.tar.xz .device/enter.sh
# The tracked tree plus the carry must stay under 64 MiB: data/world/corpus.txt and data/world/probes
# were left out of the call (git rm --cached for the call, restored after); the statistics come cached.
# On the GPU machine's 16 CPU cores: ROME (context templates) on 200 world edits, 16 shards in parallel.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p $OUT
source .device/enter.sh > /dev/null 2>&1
node --version
xz -dkf .device/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1.xz
[ -f data/world/corpus.txt ] || touch data/world/corpus.txt  # the statistics come from the carried cache
export LOCUS_CACHE=$PWD/.device/app/cache LOCUS_CPU_THREADS=1
HP=${HP:-'{}'}
L="node .device/app/locus.mjs eval --model data/models/world-gpt2 --dataset data/world/datasets/counterfact-test.json --method rome --quiet"
nproc; lscpu | grep "Model name"
t0=$(date +%s)
$L --n 1 --offset 999 --out $OUT/warm.json > $OUT/warm.log 2>&1; echo "warm rc=$? $(( $(date +%s) - t0 )) s"; tail -3 $OUT/warm.log
for i in $(seq 0 15); do
  off=$((i * 13)); n=13; [ $i -eq 15 ] && n=$((200 - off))
  $L --hparams "$HP" --offset $off --n $n --out $OUT/rome-single-200-shard$i.json > $OUT/shard$i.log 2>&1 &
done
wait
echo "shards done $(( $(date +%s) - t0 )) s"
grep -h "^| ROME\|edit time" $OUT/shard*.log
tar -C $OUT -czf $OUT/results.tgz $(cd $OUT && ls *.json *.log)  # the call returns a limited number of files
