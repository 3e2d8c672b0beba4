#!/usr/bin/env bash
# Creates the reference Python environment (PyTorch CPU + transformers + sentence-transformers +
# ONNX Runtime) used by golden/ scripts and bench/, never by the tests. Usage: setup_reference.sh [DIR]
# (default: ref). torch is pinned to the CPU wheel the machine image ships (pip's find-links); an unpinned
# torch resolves to a newer PyPI build that pulls GBs of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:-ref}
if [ -x "$REF/bin/python" ] && "$REF/bin/python" -c "import torch, transformers, sentence_transformers, onnxruntime, onnx" 2>/dev/null; then
  exit 0
fi
python3 -m venv "$REF"
"$REF/bin/pip" install --quiet --disable-pip-version-check "torch==2.13.0+cpu" "transformers==5.23.0" "sentence-transformers==6.2.0" \
  "tokenizers==0.23.3" onnxruntime onnx
