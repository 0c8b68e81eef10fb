#!/bin/bash
# Packs the locus CLI for the GPU machine's CPUs (no Node, no network there) into .device/app:
# one esbuild bundle, onnxruntime-node's Linux x64 binding (the library xz-compressed), and the
# world model's cached second moments of layer 1. Node comes from ../shared/tools/device-kit.sh
# (.device/node.tar.xz; a stripped node binary keeps the call under its 64 MiB).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
app=.device/app
rm -rf $app && mkdir -p $app/node_modules/onnxruntime-node/bin/napi-v6/linux $app/cache/stats
npx esbuild server/cli/index.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --external:better-sqlite3 --outfile=$app/locus.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
cp -r node_modules/onnxruntime-common $app/node_modules/
cp -r node_modules/onnxruntime-node/{package.json,dist,lib} $app/node_modules/onnxruntime-node/
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 $app/node_modules/onnxruntime-node/bin/napi-v6/linux/
strip --strip-unneeded $app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
xz -T2 -9e -f $app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
# RUN picks the script the call runs (default: ROME on 200 world edits, which wants the cached statistics).
RUN=${RUN:-bench/device/rome-world-shards.sh}
if [ "$RUN" = bench/device/rome-world-shards.sh ]; then
  cp ${LOCUS_CACHE:-$HOME/.cache/locus}/stats/mom2-world-gpt2-L1-a3519b9e57387177.safetensors $app/cache/stats/ 2>/dev/null \
    || echo "no cached layer-1 statistics: run one world ROME edit here first (npx locus edit ...)"
fi
cp "$RUN" $app/run.sh
du -sh $app
