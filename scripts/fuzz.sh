#!/usr/bin/env bash
# Builds the libFuzzer targets of Fuzz/ (-sanitize=fuzzer,address; release by default, CONFIG=debug for a
# debug build) and runs each in turn, seeded from the test fixtures and from small artifacts and packages
# written by cetool's own writers (FuzzSeeds), for RUNS executions or SECONDS_PER_TARGET seconds, whichever
# comes first. Findings (crash-, leak-, timeout-, oom- files) are copied to
# Tests/HostileCorpusTests/FuzzRegressions/<target>/, which FuzzRegressionTests replays. Prints one summary
# line per target: executions, exec/s, cov/ft, corpus, findings.
#
#   scripts/fuzz.sh [target…]   targets: safetensors torchzip unpickler tokenizer sentencepiece config artifact package
#   RUNS=1000000 SECONDS_PER_TARGET=1800 CONFIG=release scripts/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-1000000}
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-1800}
CONFIG=${CONFIG:-release}
WORK=${FUZZ_WORK:-$ROOT/Fuzz/.work}
REGRESSIONS=$ROOT/Tests/HostileCorpusTests/FuzzRegressions
ALL=(safetensors torchzip unpickler tokenizer sentencepiece config artifact package)
TARGETS=("${@:-${ALL[@]}}")
export SWIFT_BACKTRACE=enable=no   # the Swift backtracer and ASan fight over a crashing process
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}

# Release keeps the sanitizer instrumentation (-sanitize applies to every module) and the fuzzer's coverage
# counters, and runs the readers several times faster than debug (docs/security.md, "Fuzzing record").
(cd Fuzz && nice -n 10 swift build -c "$CONFIG" -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 \
    | grep -v "Cannot export local symbol" | tail -3)
BIN=$ROOT/Fuzz/.build/$CONFIG

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
# SentencePiece seed: the golden model file up to the last whole piece field within 64 KiB (its pieces come first,
# so the prefix is itself a valid ModelProto, without trainer and normalizer specs).
mkdir -p "$WORK/corpus/sentencepiece"
python3 - golden/models/unigram-xlmr-spm/sentencepiece.bpe.model "$WORK/corpus/sentencepiece/pieces-prefix.model" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
def varint(i):
    v = s = 0
    while True:
        b = data[i]; i += 1; v |= (b & 0x7F) << s; s += 7
        if b < 0x80: return v, i
pos = 0
while True:
    key, j = varint(pos)
    n, k = varint(j)
    if key != 0x0A or k + n > 65536: break
    pos = k + n
open(sys.argv[2], "wb").write(data[:pos])
PY
# Artifact and package seeds: a tiny model (FuzzEntries.artifactConfigJSON) converted at every precision and
# packaged, by cetool's writers; the package also as a plain tar, and its manifest alone.
if [[ " ${TARGETS[*]} " == *" artifact "* || " ${TARGETS[*]} " == *" package "* ]]; then
    S=$WORK/seeds
    "$BIN/FuzzSeeds" "$S" >/dev/null
    seed artifact "$S"/art-*/cetool-model.safetensors "$S"/art-*/cetool.json
    gzip -dc "$S/pkg/acme--tiny.tar.gz" >"$S/pkg/acme--tiny.tar"
    tar -xOf "$S/pkg/acme--tiny.tar" acme--tiny.cetool-package.json >"$S/pkg/acme--tiny.cetool-package.json"
    seed package "$S"/pkg/acme--tiny.tar.gz "$S"/pkg/acme--tiny.tar "$S"/pkg/acme--tiny.cetool-package.json
fi

bin_of() {
    case $1 in
        safetensors) echo FuzzSafetensors ;; torchzip) echo FuzzTorchZip ;; unpickler) echo FuzzUnpickler ;;
        tokenizer) echo FuzzTokenizer ;; sentencepiece) echo FuzzSentencePiece ;; config) echo FuzzConfig ;; artifact) echo FuzzArtifact ;; package) echo FuzzPackage ;;
        *) echo "unknown target $1" >&2; exit 2 ;;
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
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    speed=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    corpus=$(find "$WORK/corpus/$t" -type f | wc -l)
    echo "fuzz $t: exit $rc; ${runs:-no final line}; ${execs:-?} execs at ${speed:-?} exec/s; corpus $corpus files;" \
         "last: ${last}; findings: $findings (log $log)"
done
