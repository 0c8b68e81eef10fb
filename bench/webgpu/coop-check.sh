#!/bin/bash
# On the GPU machine: which tensor-core tiles and operand forms the driver compiles and gets right,
# each checked against the CPU backend (bench/webgpu/parity.ts) in a process of its own (in wgpu a
# kernel the driver cannot compile loses the device). Prints the settings for the runs after it:
#   eval "$(bash coop-check.sh path/to/parity.mjs)"
# (On an adapter without tensor cores, the emulated kernel: a check of this script.)
# LOCUS_WGPU_COOP_TILES: the tiles whose packed-operand checks pass; of the forms f32read
# (LOCUS_WGPU_COOP_F32=1), kernelT (LOCUS_WGPU_COOP_TRANSPOSE=1) and f16load (LOCUS_WGPU_COOP_HALF_LOADS=1),
# those that pass on all of them, together if their combination passes too, else the last of them;
# LOCUS_PARITY_COOP_FORMS: the forms a later full parity run may check.
parity=$1
passes() { # all checks matching the regular expression pass (and at least one ran)
  local out v
  out=$(LOCUS_PARITY_ONLY="$1" LOCUS_MATMUL_SIZES= timeout 90 node $parity 2>&1)
  v=$(echo "$out" | grep -o "[0-9]* of [0-9]* checks within")
  echo "# $1: ${v:-no verdict} $(echo "$out" | grep -v XDG_RUNTIME | grep -m1 -iE "nvvm|error:|panic|lost" | cut -c1-160)"
  [[ $v =~ ^([0-9]+)\ of\ ([0-9]+) ]] && (( BASH_REMATCH[1] == BASH_REMATCH[2] && BASH_REMATCH[2] > 0 ))
}
ok=()
for t in $(node $parity --coop-tiles); do passes "^matmul f16 coop(-emulated)? $t packed " && ok+=("$t"); done
echo "export LOCUS_WGPU_COOP_TILES=$(IFS=,; echo "${ok[*]:-none}")"
(( ${#ok[@]} )) || exit 0
tiles="($(IFS='|'; echo "${ok[*]}"))"
declare -A flag=([f32read]=LOCUS_WGPU_COOP_F32 [kernelT]=LOCUS_WGPU_COOP_TRANSPOSE [f16load]=LOCUS_WGPU_COOP_HALF_LOADS)
good=(); forms=packed
for f in f32read kernelT f16load; do passes "^matmul f16 coop(-emulated)? $tiles $f " && good+=($f) && forms+=,$f; done
chosen=("${good[@]}")
if (( ${#good[@]} > 1 )); then
  combo=$(IFS=-; echo "${good[*]}") # parity.ts names combinations in this order
  if passes "^matmul f16 coop(-emulated)? $tiles $combo "; then forms+=,$combo; else chosen=("${good[-1]}"); fi
fi
line="export"
for f in f32read kernelT f16load; do [[ " ${chosen[*]} " == *" $f "* ]] && line+=" ${flag[$f]}=1" || line+=" ${flag[$f]}=0"; done
echo "$line LOCUS_PARITY_COOP_FORMS=$forms"
