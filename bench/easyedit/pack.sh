#!/bin/bash
# Packs issue 9's side-by-side run (bench/easyedit/run.sh) for the GPU machine into .device/ee: the
# locus CLI bundle (it computes on LOCUS_BACKEND=webgpu through our wgpu addon), onnxruntime-node and
# better-sqlite3 (bench/device/pack-lib.sh), EasyEdit's source (easyeditor/ and hparams/{ROME,MEMIT,FT} of the checkout EASYEDIT names; carried
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
source bench/device/pack-lib.sh
out=.device/ee
rm -rf $out && mkdir -p $out/easyedit/hparams
bundle_node $out/locus.mjs server/cli/index.ts
# the kernel parity checks (run.sh's PARITY=1: every product kernel against the CPU before the runs,
# the tensor-core forms by bench/webgpu/coop-check.sh)
bundle_node $out/parity.mjs bench/webgpu/parity.ts
pack_onnxruntime $out
pack_sqlite $out
pack_wgpu_addon $out
cp -r "$ee/easyeditor" $out/easyedit/
cp -r "$ee"/hparams/{ROME,MEMIT,FT} $out/easyedit/hparams/
find $out/easyedit -name __pycache__ -prune -exec rm -rf {} +
cp data/world/datasets/counterfact-test.json $out/
head -12000 data/world/corpus.txt > $out/corpus-head.txt
cp bench/webgpu/gpt2xl_torch.py bench/webgpu/coop-check.sh reference/easyedit_bench.py bench/easyedit/run.sh bench/easyedit/table.py $out/
# the bundles xz-compressed (run.sh unpacks them): the call's 64 MiB hold the pack and Node with room
xz -9 -f $out/locus.mjs $out/parity.mjs
du -sh $out
