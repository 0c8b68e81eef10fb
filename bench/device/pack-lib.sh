# Sourced by the pack scripts (bench/device/pack-cli.sh, bench/webgpu/pack-parity.sh,
# bench/easyedit/pack.sh): the pieces every pack for the GPU machine (no Node modules, no network
# there) is made of. Run from the repository root.

# esbuild bundle(s) for Node 20 as ESM; the native modules stay external (pack them below).
#   bundle_node OUT ENTRY...   one entry: OUT is the file; several: OUT is a folder (ENTRY.mjs each)
bundle_node() {
  local out=$1; shift
  local where=(--outfile="$out")
  (( $# > 1 )) && where=(--outdir="$out" --out-extension:.js=.mjs)
  npx esbuild "$@" --bundle --platform=node --format=esm --target=node20 \
    --external:onnxruntime-node --external:better-sqlite3 "${where[@]}" --log-level=warning \
    --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
}

# onnxruntime-node (the CPU backend's GEMM) for Linux x64, its library stripped and xz-compressed
# (run scripts decompress it there).
pack_onnxruntime() {
  local out=$1
  mkdir -p $out/node_modules/onnxruntime-node/bin/napi-v6/linux
  cp -r node_modules/onnxruntime-common $out/node_modules/
  cp -r node_modules/onnxruntime-node/{package.json,dist,lib} $out/node_modules/onnxruntime-node/
  cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 $out/node_modules/onnxruntime-node/bin/napi-v6/linux/
  strip --strip-unneeded $out/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
  xz -T2 -9e -f $out/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
}

# better-sqlite3 (the job store), which the backend service and the CLI import.
pack_sqlite() {
  local out=$1
  mkdir -p $out/node_modules/better-sqlite3/build/Release
  cp -r node_modules/better-sqlite3/{package.json,lib} $out/node_modules/better-sqlite3/
  cp node_modules/better-sqlite3/build/Release/better_sqlite3.node $out/node_modules/better-sqlite3/build/Release/
  cp -r node_modules/bindings node_modules/file-uri-to-path $out/node_modules/
}

# Our wgpu addon (npm run build:wgpu), xz-compressed.
pack_wgpu_addon() {
  xz -T2 -9e -c server/engine/backends/webgpu/native/locus-wgpu.node > $1/locus-wgpu.node.xz
}
