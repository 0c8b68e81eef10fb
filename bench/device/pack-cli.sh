#!/bin/bash
# Packs the locus CLI for the GPU machine's CPUs (no Node, no network there) into .device/app:
# one esbuild bundle, onnxruntime-node's Linux x64 binding (the library xz-compressed), and the
# world model's cached second moments of layer 1. Node comes from ../shared/tools/device-kit.sh
# (.device/node.tar.xz; a stripped node binary keeps the call under its 64 MiB).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
source bench/device/pack-lib.sh
app=.device/app
rm -rf $app && mkdir -p $app/cache/stats
bundle_node $app/locus.mjs server/cli/index.ts
pack_onnxruntime $app
pack_sqlite $app
# RUN picks the script the call runs (default: ROME on 200 world edits, which wants the cached statistics).
RUN=${RUN:-bench/device/rome-world-shards.sh}
if [ "$RUN" = bench/device/rome-world-shards.sh ]; then
  cp ${LOCUS_CACHE:-$HOME/.cache/locus}/stats/mom2-world-gpt2-L1-a3519b9e57387177.safetensors $app/cache/stats/ 2>/dev/null \
    || echo "no cached layer-1 statistics: run one world ROME edit here first (npx locus edit ...)"
fi
cp "$RUN" $app/run.sh
du -sh $app
