#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (debug, -sanitize=fuzzer,address) and runs each in turn, seeded
# from the test fixtures, for RUNS executions or SECONDS seconds, whichever comes first. Findings (crash-,
# leak-, timeout-, oom- files) are copied to Tests/HostileCorpusTests/FuzzRegressions/<target>/, which
# FuzzRegressionTests replays. Prints one summary line per target: executions, cov/ft, findings.
#
#   scripts/fuzz.sh [target…]          targets: safetensors torchzip unpickler tokenizer config
#   RUNS=1000000 SECONDS_PER_TARGET=1800 JOBS=1 scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-1000000}
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-1800}
WORK=${FUZZ_WORK:-$ROOT/Fuzz/.work}
REGRESSIONS=$ROOT/Tests/HostileCorpusTests/FuzzRegressions
ALL=(safetensors torchzip unpickler tokenizer config)
TARGETS=("${@:-${ALL[@]}}")
export SWIFT_BACKTRACE=enable=no   # the Swift backtracer and ASan fight over a crashing process
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}

(cd Fuzz && nice -n 10 swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 \
    | grep -v "Cannot export local symbol" | tail -3)
BIN=$ROOT/Fuzz/.build/debug

# Seeds: the committed fixtures of each format, small enough to mutate quickly (≤ 64 KiB).
seed() {  # seed TARGET FILE…
    local dir=$WORK/corpus/$1; shift
    mkdir -p "$dir"
    for f in "$@"; do
        [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 65536 ] && cp "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    return 0
}
C=Tests/HostileCorpusTests/Corpus
seed safetensors Tests/CEFormatsTests/Fixtures/torch/*.safetensors Tests/CEFormatsTests/Fixtures/torch/sharded/*.safetensors $C/st_*/*
seed torchzip Tests/CEFormatsTests/Fixtures/torch/*.bin Tests/CEFormatsTests/Fixtures/torch/*.pt $C/zip_*/* $C/pkl_*/*
mkdir -p "$WORK/corpus/unpickler"
python3 - "$WORK/corpus/unpickler" Tests/CEFormatsTests/Fixtures/torch/*.bin Tests/CEFormatsTests/Fixtures/torch/sharded/*.bin $C/pkl_*/* <<'PY'
import os, sys, zipfile
out = sys.argv[1]
for path in sys.argv[2:]:
    try:
        with zipfile.ZipFile(path) as z:
            for n in z.namelist():
                if n.endswith("/data.pkl"):
                    data = z.read(n)
                    if len(data) <= 65536:
                        open(os.path.join(out, os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path) + ".pkl"), "wb").write(data)
    except Exception:
        pass
PY
seed tokenizer golden/models/tiny-bert-l1/tokenizer.json golden/models/tiny-bert-l3/tokenizer.json $C/tok_*/tokenizer.json
seed config golden/models/*/config.json $C/cfg_*/config.json

bin_of() {
    case $1 in
        safetensors) echo FuzzSafetensors ;; torchzip) echo FuzzTorchZip ;; unpickler) echo FuzzUnpickler ;;
        tokenizer) echo FuzzTokenizer ;; config) echo FuzzConfig ;; *) echo "unknown target $1" >&2; exit 2 ;;
    esac
}

for t in "${TARGETS[@]}"; do
    exe=$BIN/$(bin_of "$t")
    art=$WORK/artifacts/$t/
    log=$WORK/$t.log
    mkdir -p "$art"
    set +e
    nice -n 19 "$exe" -runs="$RUNS" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$art" "$WORK/corpus/$t" >"$log" 2>&1
    rc=$?
    set -e
    findings=$(find "$art" -type f | wc -l)
    if [ "$findings" -gt 0 ]; then
        mkdir -p "$REGRESSIONS/$t"
        cp "$art"* "$REGRESSIONS/$t/"
    fi
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    runs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -1)
    echo "fuzz $t: exit $rc; ${runs:-no final line}; last: ${last}; findings: $findings (log $log)"
done
