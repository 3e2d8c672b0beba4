#!/usr/bin/env bash
# ONNX Runtime on cetool's own exports beside cetool, one run (bench/run.py), MiniLM-L6 cross-encoder:
#   cetool export-onnx (fp32, fp16, and of the int8 artifact `cetool convert` makes with its defaults)
#   -> ort-cetool-fp32 / ort-cetool-fp16 / ort-cetool-int8; cetool fp32 / fp16 / int8 on the same pairs; and ONNX
#   Runtime's own quantize_dynamic of a torch export (ort-int8, bench/export_onnx.py --no-fused, written to
#   $OUT/onnx/<model> when missing).
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
"$CETOOL" convert "$MODEL" --output "$OUT/cetool-int8" --force --no-progress
"$CETOOL" export-onnx "$OUT/cetool-int8" --output "$OUT/export-int8" --force
ORT_DIR="$OUT/onnx/$(basename "$(realpath "$MODEL")")"
[ -f "$ORT_DIR/model-int8.onnx" ] || "$PY" bench/export_onnx.py --model "$MODEL" --out-root "$OUT/onnx" --no-fused
grep -o -w -E 'avx512f|avx512_vnni|avx512_bf16|avx2|fma|f16c' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
"$PY" bench/run.py --model "$MODEL" --onnx-dir "$ORT_DIR" --systems ort-cetool-fp32,ort-cetool-fp16,ort-cetool-int8,ort-int8 \
  --cetool-onnx fp32="$OUT/export-fp32" --cetool-onnx fp16="$OUT/export-fp16" --cetool-onnx int8="$OUT/export-int8" \
  --cetool "$CETOOL" --cetool-model fp32="$MODEL" --cetool-model fp16="$OUT/cetool-fp16" --cetool-model int8="$OUT/cetool-int8" "$@"
