#!/bin/bash
# Packs bench/webgpu/parity.ts for the GPU machine into .device/wgpu: one esbuild bundle, our wgpu
# addon (npm run build:wgpu) and onnxruntime-node (the CPU backend's GEMM; libraries xz-compressed,
# as bench/device/pack-cli.sh packs them). The glvnd packages (.device/gl) and Node
# (.device/node.tar.xz, .device/enter.sh) come from ../shared/tools/device-kit.sh, see README.md.
#   bash bench/webgpu/pack-parity.sh
#   device: run `bash .device/wgpu/run.sh`, carry .device/wgpu .device/node.tar.xz .device/enter.sh
#   .device/gl, with data/world left out of the call (the 64 MiB limit).
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
out=.device/wgpu
rm -rf $out && mkdir -p $out/node_modules/onnxruntime-node/bin/napi-v6/linux
npx esbuild bench/webgpu/parity.ts bench/webgpu/gpt2xl.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --outdir=$out --out-extension:.js=.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
# the CLI, for ROME edits on the WebGPU backend (step rome)
npx esbuild server/cli/index.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --external:better-sqlite3 --outfile=$out/locus.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
cp -r node_modules/onnxruntime-common $out/node_modules/
cp -r node_modules/onnxruntime-node/{package.json,dist,lib} $out/node_modules/onnxruntime-node/
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 $out/node_modules/onnxruntime-node/bin/napi-v6/linux/
strip --strip-unneeded $out/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
xz -T2 -9e -f $out/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
xz -T2 -9e -c server/engine/backends/webgpu/native/locus-wgpu.node > $out/locus-wgpu.node.xz
cp bench/webgpu/torch_matmul.py bench/webgpu/gpt2xl_torch.py $out/
cat > $out/run.sh <<'RUN'
#!/bin/bash
# On the GPU machine, from the repository root.
set -u
source .device/enter.sh > /dev/null 2>&1
node --version
xz -dkf .device/wgpu/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1.xz
xz -dkf .device/wgpu/locus-wgpu.node.xz
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
export LOCUS_WGPU_NODE=$PWD/.device/wgpu/locus-wgpu.node
# STEPS: which parts run (default all): matmul (PyTorch's speed), parity (ours, op by op, the world
# model, our matmul speed), gpt2xl (a GPT-2 XL-size model: PyTorch, then ours on the same weights),
# rome (ROME edits of that model, below)
steps=" ${STEPS:-matmul parity gpt2xl rome} "
[[ $steps == *" matmul "* ]] && python3 .device/wgpu/torch_matmul.py
# VARIANTS: environment settings, each run of ours once with each (e.g. "LOCUS_WGPU_CHECKED=1")
IFS=';' read -ra variants <<< "${VARIANTS:-LOCUS_WGPU_PROFILE=1}"
if [[ $steps == *" parity "* ]]; then
  for v in "${variants[@]}"; do
    echo "=== parity $v"; env $v timeout ${LIMIT:-120} node .device/wgpu/parity.mjs; echo "rc=$?"
  done
fi
if [[ $steps == *" gpt2xl "* ]]; then
  echo "=== gpt2xl"; python3 .device/wgpu/gpt2xl_torch.py /tmp/gpt2xl; echo "rc=$?"
  for v in "${variants[@]}"; do
    echo "=== gpt2xl $v"; env $v timeout ${LIMIT_XL:-300} node .device/wgpu/gpt2xl.mjs /tmp/gpt2xl; echo "rc=$?"
  done
fi
# rome: two ROME edits of the GPT-2 XL-size model at layer 17 through the CLI on the WebGPU backend;
# the first computes layer 17's second moments, the second finds them cached and times the edit alone.
# The random model gets the world model's tokenizer (its 3956 ids index the 50257-row embedding) and
# statistics text from the docstrings of Python's standard library (no other English text is there).
if [[ $steps == *" rome "* ]]; then
  cp data/models/world-gpt2/tokenizer.json /tmp/gpt2xl/
  python3 -c "
import pydoc, json, email, http.client, argparse, logging, collections, unittest, asyncio
for m in (json, email, http.client, argparse, logging, collections, unittest, asyncio, pydoc):
    for line in pydoc.render_doc(m, renderer=pydoc.plaintext).splitlines():
        if len(line.split()) > 5: print(line.strip())
" > /tmp/stats.txt
  wc -l /tmp/stats.txt
  for fact in "Nirel Reberg|Nirel Reberg has a passport from| Flodedia" "Bemmatten Strand|Bemmatten Strand works in the field of| chemistry"; do
    IFS='|' read -r subject prompt target <<< "$fact"
    echo "=== rome $subject"
    LOCUS_BACKEND=webgpu LOCUS_CACHE=/tmp/locus-cache timeout ${LIMIT_ROME:-240} node .device/wgpu/locus.mjs edit --model /tmp/gpt2xl --method rome \
      --prompt "$prompt" --subject "$subject" --target "$target" --hparams '{"layer":17}' --stats-text /tmp/stats.txt --stats-tokens ${STATS_TOKENS:-20000}
    echo "rc=$?"
  done
fi
RUN
du -sh $out
