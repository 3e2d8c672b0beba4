#!/usr/bin/env bash
# `make bench`: one side-by-side run on the same pairs — PyTorch fp32 (sentence-transformers), ONNX
# Runtime fp32 and dynamic int8, cetool fp32 / fp16 / int8 — then the table. Extra arguments go to
# bench/run.py (e.g. --batch-sizes 1,8,32 --sets main,long). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-.models/minilm-l6-ce}
REF=${REF:-ref}
CETOOL=${CETOOL:-.build/release/cetool}
NAME=$(basename "$MODEL")
bash scripts/setup_reference.sh "$REF"
for d in int8 fp16; do
  "$CETOOL" convert "$MODEL" --dtype "$d" --output ".models/$NAME-$d" --force
done
if [ ! -f ".models/onnx/$NAME/model-int8.onnx" ]; then
  "$REF/bin/python" bench/export_onnx.py --model "$MODEL"
fi
"$REF/bin/python" bench/run.py --model "$MODEL" --cetool "$CETOOL" \
  --cetool-model "fp32=$MODEL" --cetool-model "fp16=.models/$NAME-fp16" --cetool-model "int8=.models/$NAME-int8" "$@"
