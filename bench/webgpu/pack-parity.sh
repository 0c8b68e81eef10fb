#!/bin/bash
# Packs bench/webgpu/parity.ts, gpt2xl.ts, the backend service and rome-http.ts for the GPU machine into .device/wgpu: esbuild bundles, our wgpu
# addon (npm run build:wgpu) and onnxruntime-node (the CPU backend's GEMM; libraries xz-compressed,
# as bench/device/pack-cli.sh packs them). The glvnd packages (.device/gl) and Node
# (.device/node.tar.xz, .device/enter.sh) come from ../shared/tools/device-kit.sh, see README.md.
#   bash bench/webgpu/pack-parity.sh [OUT_DIR]
#   OUT_DIR (default .device/wgpu): where the pack goes; from a worktree, the checkout that travels
#   (e.g. /work/main/.device/wgpu: a call sends the session's checkout, not the worktree).
#   PACK_SERVICE=0 leaves out the backend service and its client (steps parity, matmul, xl only).
#   device: run `bash .device/wgpu/run.sh`, carry .device/wgpu .device/node.tar.xz .device/enter.sh
#   .device/gl. The 64 MiB limit: move data/world, data/models/world-t5 and the world model's weights
#   out of the working tree for the call (and back after); run.sh skips parity's world-model check
#   without them (gpt2xl.ts checks a model against PyTorch instead). A stripped node
#   (strip, then tar -cJf .device/node.tar.xz) saves 2 MB more.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
source bench/device/pack-lib.sh
out=${1:-.device/wgpu}
rm -rf $out && mkdir -p $out
bundle_node $out bench/webgpu/parity.ts bench/webgpu/gpt2xl.ts bench/webgpu/coop-probe.ts
# the backend service and its HTTP client, for ROME edits over HTTP on the WebGPU backend (step service)
if [ "${PACK_SERVICE:-1}" != 0 ]; then
  for entry in server/backend/service/main.ts bench/webgpu/rome-http.ts; do bundle_node $out/$(basename $entry .ts).mjs $entry; done
  pack_sqlite $out
  # statistics text for the service's ROME edits: the first 20,000 lines of the world corpus
  head -20000 data/world/corpus.txt > $out/stats.txt
fi
pack_onnxruntime $out
pack_wgpu_addon $out
cp bench/webgpu/torch_matmul.py bench/webgpu/gpt2xl_torch.py bench/webgpu/coop-check.sh $out/
cat > $out/run.sh <<'RUN'
#!/bin/bash
# On the GPU machine, from the repository root. Steps run in order, each within its own limit and
# within the call's DEADLINE (seconds from the start; default 570).
set -u
start=$SECONDS
left() { echo $(( ${DEADLINE:-570} - (SECONDS - start) )); }
limit() { local l=$1 r; r=$(left); (( r < l )) && l=$r; (( l < 1 )) && l=1; echo $l; }
source .device/enter.sh > /dev/null 2>&1
node --version
xz -dkf .device/wgpu/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1.xz
xz -dkf .device/wgpu/locus-wgpu.node.xz
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
export LOCUS_WGPU_NODE=$PWD/.device/wgpu/locus-wgpu.node
# STEPS: which parts run (default all): matmul (PyTorch's speed), coop-probe (which form of a
# tensor-core load the driver compiles: bench/webgpu/coop-probe.ts, each in its own process), coop (which tensor-core tiles and operand forms compile and pass, each in its own process: coop-check.sh), parity (ours, op by op, the world
# model, our matmul speed per tile), xl-torch (a GPT-2 XL-size model built with transformers: PyTorch's
# times), service (the backend service on WebGPU serving that model: ROME over HTTP), xl (our forward
# and forward+backward on the same weights)
steps=" ${STEPS:-matmul coop-probe coop parity xl-torch service xl} "
[[ $steps == *" matmul "* ]] && python3 .device/wgpu/torch_matmul.py ${MATMUL_SIZES:-4096}
if [[ $steps == *" coop-probe "* ]]; then
  echo "=== coop-probe"
  for v in $(node .device/wgpu/coop-probe.mjs --list); do timeout 60 node .device/wgpu/coop-probe.mjs $v 2>&1 | grep -v XDG | tail -2 | cut -c1-400; done
fi
# coop: which tensor-core tiles and operand forms pass, each in a process of its own (a kernel the
# driver cannot compile loses the device in wgpu); the later steps use those (bench/webgpu/coop-check.sh)
if [[ $steps == *" coop "* ]]; then
  echo "=== coop"; settings=$(bash .device/wgpu/coop-check.sh .device/wgpu/parity.mjs); echo "$settings"; eval "$(echo "$settings" | grep ^export)"
fi
if [[ $steps == *" parity "* ]]; then
  echo "=== parity"; LOCUS_MATMUL_SIZES=${MATMUL_SIZES:-4096} timeout $(limit ${LIMIT:-200}) node .device/wgpu/parity.mjs; echo "rc=$? at $((SECONDS - start)) s"
fi
if [[ $steps == *" xl-torch "* ]]; then
  echo "=== xl-torch"; timeout $(limit 150) python3 .device/wgpu/gpt2xl_torch.py /tmp/models/gpt2xl; echo "rc=$? at $((SECONDS - start)) s"
  # the random model reads text with the world model's tokenizer (its 3956 ids index the 50257-row embedding)
  cp data/models/world-gpt2/tokenizer.json /tmp/models/gpt2xl/
fi
# service: the standalone backend on WebGPU, the GPT-2 XL-size model by path, ROME edits at layer 17
# requested over HTTP and followed on their event streams (bench/webgpu/rome-http.ts)
if [[ $steps == *" service "* ]]; then
  echo "=== service"
  LOCUS_BACKEND=webgpu LOCUS_BACKEND_TOKEN=gpu-demo LOCUS_BACKEND_PORT=4100 LOCUS_DATA_DIR=/tmp/locus-data LOCUS_CACHE=/tmp/locus-cache \
    LOCUS_MODEL_ROOTS=/tmp/models LOCUS_STATS_TEXT=$PWD/.device/wgpu/stats.txt node .device/wgpu/main.mjs > /tmp/service.log 2>&1 &
  svc=$!
  for _ in $(seq 60); do grep -q listening /tmp/service.log && break; sleep 0.5; done
  cat /tmp/service.log
  LOCUS_BACKEND_TOKEN=gpu-demo timeout $(limit ${LIMIT_SERVICE:-260}) node .device/wgpu/rome-http.mjs http://127.0.0.1:4100 path:gpt2xl 17; echo "rc=$? at $((SECONDS - start)) s"
  kill $svc; sleep 1; tail -5 /tmp/service.log
fi
if [[ $steps == *" xl "* ]]; then
  echo "=== xl"; LOCUS_WGPU_PROFILE=${PROFILE:-1} timeout $(limit ${LIMIT_XL:-240}) node .device/wgpu/gpt2xl.mjs /tmp/models/gpt2xl; echo "rc=$? at $((SECONDS - start)) s"
fi
RUN
du -sh $out
