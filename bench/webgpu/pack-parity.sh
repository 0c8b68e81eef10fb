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
# model, our matmul speed), gpt2xl (a GPT-2 XL-size model: PyTorch, then ours on the same weights)
steps=" ${STEPS:-matmul parity gpt2xl} "
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
RUN
du -sh $out
