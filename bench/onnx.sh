#!/usr/bin/env bash
# ONNX Runtime on cetool's own exports beside cetool, one run (bench/run.py), MiniLM-L6 cross-encoder:
#   cetool export-onnx (fp32, fp16) -> ort-cetool-fp32 / ort-cetool-fp16; cetool fp32 / fp16 on the same pairs.
# Usage: bash bench/onnx.sh [extra bench/run.py args]. CETOOL (binary), MODEL, PY (reference venv python), OUT (scratch).
set -euo pipefail
cd "$(dirname "$0")/.."
CETOOL=${CETOOL:-.build/release/cetool}
MODEL=${MODEL:-.models/minilm-l6-ce}
PY=${PY:-ref/bin/python}
OUT=${OUT:-.models/onnx-bench}
mkdir -p "$OUT"
"$CETOOL" export-onnx "$MODEL" --output "$OUT/export-fp32" --force
"$CETOOL" export-onnx "$MODEL" --output "$OUT/export-fp16" --dtype fp16 --force
"$CETOOL" convert "$MODEL" --dtype fp16 --output "$OUT/cetool-fp16" --force --no-progress
grep -o -w -E 'avx512f|avx512_vnni|avx512_bf16|avx2|fma|f16c' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
"$PY" bench/run.py --model "$MODEL" --systems ort-cetool-fp32,ort-cetool-fp16 \
  --cetool-onnx fp32="$OUT/export-fp32" --cetool-onnx fp16="$OUT/export-fp16" \
  --cetool "$CETOOL" --cetool-model fp32="$MODEL" --cetool-model fp16="$OUT/cetool-fp16" "$@"
