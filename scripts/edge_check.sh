#!/usr/bin/env bash
# The edge binary's promises (issue 30; README "Edge binary"), after `make edge`:
#  1. stripped size <= EDGE_MAX_BYTES (25 MB);
#  2. no Swift runtime or Foundation library among its shared libraries (ldd), and its direct ones (readelf
#     NEEDED) only libc/libm, libstdc++/libgcc_s, libopenblas, libarchive, libprotobuf-c (so no ICU of its own:
#     Debian's libarchive brings libicu through libxml2);
#  3. a one-pair int8 predict on a tiny golden model (golden/models/tiny-bert-l1, converted to int8 by the full
#     cetool) prints the same bytes as the full cetool's;
#  4. cold start: the median wall time of RUNS one-pair int8 predicts (a fresh process each) on EDGE_MODEL
#     (default: that tiny artifact; e.g. an int8 artifact of .models/minilm-l6-ce) <= COLD_START_MS.
# Wall times depend on the machine's load: the load average and the CPU seconds are printed beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
EDGE=${EDGE:-.build-edge/cetool-edge}
FULL=${CETOOL:-.build-edge/release/cetool}
EDGE_MAX_BYTES=${EDGE_MAX_BYTES:-25000000}
COLD_START_MS=${COLD_START_MS:-30}
RUNS=${RUNS:-20}
fail() { echo "edge_check: FAIL: $*" >&2; exit 1; }
[ -x "$EDGE" ] || fail "$EDGE is missing (make edge)"
[ -x "$FULL" ] || fail "$FULL is missing (make edge)"

size=$(stat -c %s "$EDGE")
echo "size: $size bytes stripped (limit $EDGE_MAX_BYTES)"
[ "$size" -le "$EDGE_MAX_BYTES" ] || fail "$EDGE is $size bytes, over $EDGE_MAX_BYTES"

echo "ldd:"; ldd "$EDGE" | sed 's/^/  /'
if ldd "$EDGE" | grep -Eiq 'libswift|libfoundation|lib_foundation|libdispatch|libBlocksRuntime'; then
    fail "a Swift runtime / Foundation library is linked dynamically"
fi
needed=$(readelf -d "$EDGE" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
echo "NEEDED: $needed"
for lib in $needed; do
    case "$lib" in
        libc.so.*|libm.so.*|libstdc++.so.*|libgcc_s.so.*|libopenblas.so.*|libarchive.so.*|libprotobuf-c.so.*|ld-linux*|libpthread.so.*|libdl.so.*|librt.so.*|libutil.so.*) ;;
        *) fail "unexpected direct dependency $lib" ;;
    esac
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$FULL" convert golden/models/tiny-bert-l1 --dtype int8 --output "$tmp/tiny-int8" > /dev/null
printf '%s\n' '["How many people live in Berlin?", "Berlin has a population of 3,520,031 registered inhabitants."]' > "$tmp/one.jsonl"
"$EDGE" predict "$tmp/tiny-int8" --pairs "$tmp/one.jsonl" --logits > "$tmp/edge.json"
"$FULL" predict "$tmp/tiny-int8" --pairs "$tmp/one.jsonl" --logits > "$tmp/full.json"
cmp -s "$tmp/edge.json" "$tmp/full.json" || fail "predict differs: edge $(cat "$tmp/edge.json") full $(cat "$tmp/full.json")"
echo "predict: identical to the full cetool's: $(cat "$tmp/edge.json")"

model=${EDGE_MODEL:-$tmp/tiny-int8}
"$EDGE" predict "$model" --pairs "$tmp/one.jsonl" --batch-size 1 > /dev/null   # page cache warm, as on a box in use
: > "$tmp/wall"; : > "$tmp/cpu"
for _ in $(seq "$RUNS"); do
    t0=$(date +%s%N)
    /usr/bin/time -a -o "$tmp/cpu" -f "%U %S" "$EDGE" predict "$model" --pairs "$tmp/one.jsonl" --batch-size 1 > /dev/null
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) >> "$tmp/wall"
done
median_us=$(sort -n "$tmp/wall" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}')
min_us=$(sort -n "$tmp/wall" | head -1); max_us=$(sort -n "$tmp/wall" | tail -1)
cpu_ms=$(awk '{s += $1 + $2} END {printf "%.1f", 1000 * s / NR}' "$tmp/cpu")
echo "cold start ($model, $RUNS runs): median $((median_us / 1000)).$(( (median_us % 1000) / 100 )) ms," \
     "min $((min_us / 1000)) ms, max $((max_us / 1000)) ms wall; user+sys $cpu_ms ms mean (10 ms resolution);" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$median_us" -le $((COLD_START_MS * 1000)) ] || fail "cold start median over $COLD_START_MS ms"
echo "edge_check: OK"
