#!/bin/bash
# On the GPU machine: which tensor-core tiles and operand forms the driver compiles and gets right,
# each checked against the CPU backend (bench/webgpu/parity.ts) in a process of its own (in wgpu a
# kernel the driver cannot compile loses the device). Prints the settings for the runs after it:
#   eval "$(bash coop-check.sh path/to/parity.mjs)"
# (On an adapter without tensor cores, the emulated kernel: a check of this script.)
# LOCUS_WGPU_COOP_TILES: the tiles whose packed-operand checks pass; LOCUS_WGPU_COOP_F32=1 and
# LOCUS_WGPU_COOP_TRANSPOSE=1 where those forms pass on all of them (both together only if the
# combined form passes too); LOCUS_PARITY_COOP_FORMS: the forms a later full parity run may check.
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
f32=0; tr=0
passes "^matmul f16 coop(-emulated)? $tiles f32read " && f32=1
passes "^matmul f16 coop(-emulated)? $tiles kernelT " && tr=1
both=0; (( f32 && tr )) && passes "^matmul f16 coop(-emulated)? $tiles f32read-kernelT " && both=1
(( f32 && tr && !both )) && f32=0 # the two apart pass, together not: transposes in the kernel
forms=packed; (( f32 )) && forms+=,f32read; (( tr )) && forms+=,kernelT; (( both )) && forms+=,f32read-kernelT
echo "export LOCUS_WGPU_COOP_F32=$f32 LOCUS_WGPU_COOP_TRANSPOSE=$tr LOCUS_PARITY_COOP_FORMS=$forms"
