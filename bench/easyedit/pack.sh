#!/bin/bash
# Packs issue 9's side-by-side run (bench/easyedit/run.sh) for the GPU machine into .device/ee: the
# locus CLI bundle (it computes on LOCUS_BACKEND=webgpu through our wgpu addon), onnxruntime-node,
# EasyEdit's source (easyeditor/ and hparams/{ROME,MEMIT,FT} of the checkout EASYEDIT names; carried
# for the call, never committed), reference/easyedit_bench.py, the world's CounterFact test set, and the
# first 12,000 lines of the world corpus (about 100,000 tokens): the world model's statistics text there
# (its first 50,000 tokens, as here: same text, same cache key) and the XL-size model's.
#   EASYEDIT=<checkout of zjunlp/EasyEdit> bash bench/easyedit/pack.sh
#   then on the device: bash .device/ee/run.sh   carry: .device/ee .device/node.tar.xz .device/enter.sh
#   (.device/node.tar.xz and .device/enter.sh from ../shared/tools/device-kit.sh). For the 64 MiB limit,
#   untrack data/world, data/models/world-t5 and bench/results for the call (run.sh reads the world
#   model from data/models/world-gpt2 and everything else from .device/ee).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
ee=${EASYEDIT:?EASYEDIT=<a checkout of zjunlp/EasyEdit>}
out=.device/ee
rm -rf $out && mkdir -p $out/node_modules/onnxruntime-node/bin/napi-v6/linux $out/easyedit/hparams
npx esbuild server/cli/index.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --external:better-sqlite3 --outfile=$out/locus.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
cp -r node_modules/onnxruntime-common $out/node_modules/
cp -r node_modules/onnxruntime-node/{package.json,dist,lib} $out/node_modules/onnxruntime-node/
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 $out/node_modules/onnxruntime-node/bin/napi-v6/linux/
strip --strip-unneeded $out/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
xz -T2 -9e -f $out/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
xz -T2 -9e -c server/engine/backends/webgpu/native/locus-wgpu.node > $out/locus-wgpu.node.xz
cp -r "$ee/easyeditor" $out/easyedit/
cp -r "$ee"/hparams/{ROME,MEMIT,FT} $out/easyedit/hparams/
find $out/easyedit -name __pycache__ -prune -exec rm -rf {} +
cp data/world/datasets/counterfact-test.json $out/
head -12000 data/world/corpus.txt > $out/corpus-head.txt
cp bench/webgpu/gpt2xl_torch.py reference/easyedit_bench.py bench/easyedit/run.sh $out/
du -sh $out
