#!/bin/bash
# Issue 9 on the GPU machine, from the repository root, after bench/easyedit/pack.sh: our CLI on the
# WebGPU backend and EasyEdit on CUDA, one after the other on the same edit requests, same
# hyper-parameters and the same second moments (ours, computed once by our run and handed to EasyEdit
# by reference/easyedit_bench.py), each pair printed as a table with the ratio of seconds per edit.
#   a) a GPT-2 XL-size model (48 layers, d 1600) with random weights built here by transformers
#      (bench/webgpu/gpt2xl_torch.py), read with the world tokenizer: speed and peak GPU memory;
#   b) the world model: edit quality (and speed).
# Runs within DEADLINE seconds (default 560); RUNS picks the pairs (default all, in this order).
set -u
start=$SECONDS
left() { echo $(( ${DEADLINE:-560} - (SECONDS - start) )); }
ee=.device/ee
# reports and logs go to R and are packed into $OUT/results.tgz after each pair (the call returns 8 files at most)
OUT=${OUT:-/tmp/out}; R=/tmp/ee-results; rm -rf $R; mkdir -p $OUT $R
[ -n "${LOCAL:-}" ] || source .device/enter.sh > /dev/null 2>&1  # LOCAL=1: a check on this machine
xz -dkf $ee/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1.xz
xz -dkf $ee/locus-wgpu.node.xz $ee/locus.mjs.xz $ee/parity.mjs.xz
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
node --version; python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
export LOCUS_WGPU_NODE=$PWD/$ee/locus-wgpu.node LOCUS_CACHE=/tmp/locus-cache PYTHONUNBUFFERED=1
# the world corpus's first lines: the statistics of its first 50,000 tokens are those of the whole file
[ -f data/world/corpus.txt ] || { mkdir -p data/world && cp $ee/corpus-head.txt data/world/corpus.txt; }
DATA=$ee/counterfact-test.json
ours() { # name, model, method, n, mode, hparams, [extra eval args]: our side alone
  local name=$1 model=$2 method=$3 n=$4 mode=$5 hp=$6; shift 6
  (( $(left) < 30 )) && { echo "=== $name: skipped, $(left) s left"; return 1; }
  echo "=== $name: Locus (WebGPU) at $((SECONDS - start)) s"
  LOCUS_BACKEND=${BACKEND:-webgpu} timeout $(left) node $ee/locus.mjs eval --model $model --dataset $DATA --method $method --n $n \
    --mode $mode --batch-size $n --hparams "$hp" "$@" --quiet --out $R/$name-locus.json > $R/$name-locus.log 2>&1
  grep -v "^\s*$" $R/$name-locus.log | tail -4
  tar -C $R -czf $OUT/results.tgz .
  [ -f $R/$name-locus.json ] || { echo "no report"; return 1; }
}
pair() { # as ours, then EasyEdit on the requests and hyper-parameters of our report
  local name=$1
  ours "$@" || return
  echo "=== $name: EasyEdit (CUDA) at $((SECONDS - start)) s"
  # EasyEdit stops itself 20 s before the deadline and reports what finished (a lower bound for a batch)
  timeout $(left) ${PYTHON:-python3} $ee/easyedit_bench.py --easyedit $ee/easyedit --ours $R/$name-locus.json \
    --deadline $(( $(left) - 20 )) --stats-dir $LOCUS_CACHE/stats --device ${EE_DEVICE:-cuda} --dtype ${EE_DTYPE:-float32} --out $R/$name-easyedit.json > $R/$name-easyedit.log 2>&1
  echo "rc=$? at $((SECONDS - start)) s"; grep -i "error\|stubbed\|warm-up\|deadline\|unfinished\|^| \|Locus / \|stages" $R/$name-easyedit.log | tail -12
  tar -C $R -czf $OUT/results.tgz .
}
# PARITY=1: first which tensor-core tiles and operand forms pass (bench/webgpu/coop-check.sh: each in
# a process of its own; the runs after it use those that pass), then every product kernel against the
# CPU backend (bench/webgpu/parity.ts's matmul checks: f32 tiles, f16 tiled, the tensor-core forms
# that passed, held weights)
if [ "${PARITY:-0}" = 1 ]; then
  echo "=== parity (matmul kernels) at $((SECONDS - start)) s"
  settings=$(bash $ee/coop-check.sh $ee/parity.mjs); echo "$settings"; eval "$(echo "$settings" | grep ^export)"
  LOCUS_PARITY_ONLY=matmul LOCUS_MATMUL_SIZES= timeout 90 node $ee/parity.mjs > $R/parity.log 2>&1
  grep -E "\| NO \||checks within" $R/parity.log | tail -20
fi
runs=" ${RUNS:-xl-rome world-memit1000 world-rome world-memit world-ft xl-memit} "
if [[ $runs == *" xl-"* ]]; then
  echo "=== building the XL-size model at $((SECONDS - start)) s"
  LOCUS_BUILD_ONLY=1 python3 $ee/gpt2xl_torch.py /tmp/models/gpt2xl
  cp data/models/world-gpt2/tokenizer.json /tmp/models/gpt2xl/
fi
# the XL-size model's statistics: 20,000 tokens of the world corpus (the variable is for its runs alone)
xl_text=$PWD/$ee/corpus-head.txt
# EasyEdit's MEMIT cannot key on the prompt's last token (its compute_z raises for fact_token "last"),
# so MEMIT is compared at the subject's last token on the world model
memit_hp='{"factToken":"subject_last","useContextTemplates":false,"vNumGradSteps":25}'
for run in $runs; do
  case $run in
    xl-rome) LOCUS_STATS_TEXT=$xl_text pair xl-rome /tmp/models/gpt2xl rome ${XL_N:-5} single '{}' --stats-tokens 20000 ;;
    # weight matrices held in f16 and every product f16-input / f32-accumulate (tensor cores where the
    # GPU has them) beside EasyEdit with its fp16 setting
    xl-rome-f16) LOCUS_WGPU_WEIGHTS=f16 LOCUS_WGPU_MATMUL=f16 EE_DTYPE=float16 LOCUS_STATS_TEXT=$xl_text pair xl-rome-f16 /tmp/models/gpt2xl rome ${XL_N:-5} single '{}' --stats-tokens 20000 ;;
    xl-memit) LOCUS_STATS_TEXT=$xl_text pair xl-memit /tmp/models/gpt2xl memit ${XL_MEMIT_N:-10} batch '{}' --stats-tokens 20000 ;;
    world-rome) pair world-rome data/models/world-gpt2 rome ${WORLD_N:-50} single '{"useContextTemplates":false}' ;;
    world-ft) pair world-ft data/models/world-gpt2 ft-l ${WORLD_N:-50} single '{}' ;;
    world-memit) pair world-memit data/models/world-gpt2 memit 100 batch "$memit_hp" ;;
    world-memit1000) pair world-memit1000 data/models/world-gpt2 memit 1000 batch "$memit_hp" ;;
    *) echo "unknown run $run" ;;
  esac
done
echo "=== tables"
python3 $ee/table.py $R
echo "done at $((SECONDS - start)) s"
