#!/usr/bin/env bash
# POST /embed under load: cetool serve with --bi-encoder (fp32 folder, then an int8 artifact when given) and, when its
# venv exists, infinity (torch backend) on the same SentenceTransformer folder, one server at a time on loopback,
# each driven by bench/serve_load.py (--api tei-embed / openai-embed) with the same clients and texts.
# Usage: bash bench/serve_embed_bench.sh CROSS_ENCODER BI_ENCODER [BI_INT8_ARTIFACT|-] OUTPUT_JSON
#   CLIENTS (8), DOCS (16 texts per request), REQUESTS (300), MAX_SECONDS (60), INFINITY_VENV (/tmp/venv-infinity)
#   as environment. infinity-emb is a PyPI package (pip install "infinity-emb[all]") in its own venv.
set -euo pipefail
CE=${1:?cross-encoder folder}; BI=${2:?bi-encoder folder}; BI8=${3:?int8 bi-encoder artifact or -}; OUT=${4:?output json}
CETOOL=${CETOOL:-.build/release/cetool}
CLIENTS=${CLIENTS:-8}; DOCS=${DOCS:-16}; REQUESTS=${REQUESTS:-300}; SECONDS_MAX=${MAX_SECONDS:-60}
INFINITY_VENV=${INFINITY_VENV:-/tmp/venv-infinity}
LOAD=(python3 bench/serve_load.py --clients "$CLIENTS" --docs "$DOCS" --requests "$REQUESTS" --seconds "$SECONDS_MAX" --output "$OUT")

PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done' EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

run_cetool() {  # label, bi-encoder
    local log; log=$(mktemp)
    "$CETOOL" serve "$CE" --bi-encoder "$2" --host 127.0.0.1 --port 0 > "$log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    until grep -q '^listening on ' "$log"; do kill -0 "$pid"; sleep 0.2; done
    local url; url=$(head -1 "$log" | sed 's/^listening on //')
    "${LOAD[@]}" --url "$url" --api tei-embed --pid "$pid" --label "$1"
    curl -s "$url/metrics" | grep -E '^cetool_embed_batch_(texts|tokens)_(sum|count) ' | sed "s/^/$1 /" >&2
    kill -TERM "$pid"; wait "$pid"; rm -f "$log"
}

python3 - "$OUT" "$CLIENTS" "$DOCS" "$REQUESTS" <<'PY'
import json, os, subprocess, sys, time
flags = sorted({f for f in open("/proc/cpuinfo").read().split() if f in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni")})
meta = {"machine": {"cpu_flags": flags, "cpus": os.cpu_count(), "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
                    "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "commit": subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()},
        "route": "/embed", "clients": int(sys.argv[2]), "texts_per_request": int(sys.argv[3]), "requests": int(sys.argv[4])}
json.dump([meta], open(sys.argv[1], "w"), indent=1)
PY

run_cetool cetool-fp32 "$BI"
if [ "$BI8" != "-" ]; then run_cetool cetool-int8 "$BI8"; fi

if [ -x "$INFINITY_VENV/bin/infinity_emb" ]; then
    port=$(free_port); log=$(mktemp)
    HF_HUB_OFFLINE=1 DO_NOT_TRACK=1 "$INFINITY_VENV/bin/infinity_emb" v2 --model-id "$BI" --engine torch --device cpu \
        --host 127.0.0.1 --port "$port" > "$log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    until curl -sf "http://127.0.0.1:$port/models" > /dev/null; do kill -0 "$pid"; sleep 1; done
    id=$(curl -s "http://127.0.0.1:$port/models" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"][0]["id"])')
    "${LOAD[@]}" --url "http://127.0.0.1:$port" --api openai-embed --model "$id" --pid "$pid" --label infinity-torch
    kill -TERM "$pid"; wait "$pid" || true; rm -f "$log"
fi
