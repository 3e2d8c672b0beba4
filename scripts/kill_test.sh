#!/usr/bin/env bash
# All-or-nothing writes under SIGKILL: runs `cetool convert`, `cetool save-pretrained` and
# `cetool package` N times each (default 50) and kills each run with SIGKILL at a random moment within
# its measured running time. Half of the runs start with no target, half with an older output in place
# (replaced with --force). After every kill the target must be either the state before the run
# (absent, or byte for byte the older output) or complete and byte-identical to a reference output
# made by an uninterrupted run — never anything in between. Hidden staging leftovers
# (.NAME.cetool-staging-PID-*) are allowed; the next run for the same target removes them.
#
#   bash scripts/kill_test.sh [N]        # needs .build/release/cetool (make build) and .models/minilm-l6-ce (make models)
#   CETOOL=… MODEL=… bash scripts/kill_test.sh
#   CONVERT_DTYPE=fp32 bash scripts/kill_test.sh 4   # the bounded run `make test` does (KillTests): fp32 converts in ~1 s
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-50}
CONVERT_DTYPE=${CONVERT_DTYPE:-int8}
CETOOL=${CETOOL:-.build/release/cetool}
MODEL=${MODEL:-.models/minilm-l6-ce}
[ -x "$CETOOL" ] || { echo "missing $CETOOL: make build" >&2; exit 2; }
[ -f "$MODEL/config.json" ] || { echo "missing $MODEL: make models" >&2; exit 2; }
CETOOL=$(realpath "$CETOOL")
MODEL=$(realpath "$MODEL")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cetool-kill.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Reference ("new") and older ("old") outputs of every command, from uninterrupted runs.
"$CETOOL" convert "$MODEL" --dtype "$CONVERT_DTYPE" --output "$WORK/convert.new" >/dev/null
"$CETOOL" convert "$MODEL" --dtype fp16 --output "$WORK/convert.old" >/dev/null
"$CETOOL" save-pretrained "$MODEL" --output "$WORK/save-pretrained.new" >/dev/null
"$CETOOL" save-pretrained "$MODEL" --dtype fp16 --output "$WORK/save-pretrained.old" >/dev/null
mkdir -p "$WORK/package.new" "$WORK/package.old"
"$CETOOL" package "$WORK/save-pretrained.new" --name acme/kill-test --output "$WORK/package.new" >/dev/null
"$CETOOL" package "$WORK/save-pretrained.old" --name acme/kill-test --output "$WORK/package.old" >/dev/null

# Seconds (3 decimals) an uninterrupted run of "$@" takes.
measure() {
  local t0 t1
  t0=$(date +%s%N)
  "$@" >/dev/null
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}

# same PATH_A PATH_B: identical file or folder tree (names, types, bytes).
same() {
  [ -e "$1" ] && [ -e "$2" ] || return 1
  if [ -d "$1" ]; then diff -r --no-dereference "$1" "$2" >/dev/null 2>&1; else cmp -s "$1" "$2"; fi
}

# state TARGET OLD NEW: absent | old | new | PARTIAL
state() {
  if [ ! -e "$1" ] && [ ! -L "$1" ]; then echo absent
  elif [ -n "$2" ] && same "$1" "$2"; then echo old
  elif same "$1" "$3"; then echo new
  else echo PARTIAL; fi
}

failures=0

# run_kills NAME KIND: KIND is dir (convert, save-pretrained) or package.
run_kills() {
  local name=$1 kind=$2
  local out="$WORK/run-$name"
  rm -rf "$out"; mkdir -p "$out"
  local cmd_new
  case $name in
    convert) cmd_new=("$CETOOL" convert "$MODEL" --dtype "$CONVERT_DTYPE" --output "$out/target" --force) ;;
    save-pretrained) cmd_new=("$CETOOL" save-pretrained "$MODEL" --output "$out/target" --force) ;;
    package) cmd_new=("$CETOOL" package "$WORK/save-pretrained.new" --name acme/kill-test --output "$out" --force) ;;
  esac
  local ms
  ms=$(measure "${cmd_new[@]}")
  rm -rf "$out"; mkdir -p "$out"
  local absent=0 old=0 new=0 partial=0 mixed=0 leftovers=0
  for i in $(seq 1 "$N"); do
    # Start state: nothing (odd runs) or the older output (even runs).
    find "$out" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
    local had_old=""
    if (( i % 2 == 0 )); then
      had_old=1
      if [ "$kind" = dir ]; then cp -a "$WORK/$name.old" "$out/target"; else cp -a "$WORK/package.old/." "$out/"; fi
    fi
    local delay=$(( RANDOM * 32768 + RANDOM ))
    delay=$(( delay % (ms * 11 / 10 + 1) ))
    "${cmd_new[@]}" >/dev/null 2>&1 &
    local pid=$!
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true

    local states=()
    if [ "$kind" = dir ]; then
      states+=("$(state "$out/target" "${had_old:+$WORK/$name.old}" "$WORK/$name.new")")
    else
      for f in acme--kill-test.tar.gz acme--kill-test.tar.gz.sha256; do
        states+=("$(state "$out/$f" "${had_old:+$WORK/package.old/$f}" "$WORK/package.new/$f")")
      done
      # The archive is renamed before its checksum: archive new + checksum old/absent is the one window.
      if [ "${states[0]}" != "${states[1]}" ]; then mixed=$((mixed + 1)); fi
    fi
    for s in "${states[@]}"; do
      case $s in
        absent) [ -z "$had_old" ] || { echo "  run $i: target vanished although an older output was there" >&2; partial=$((partial + 1)); } ; absent=$((absent + 1)) ;;
        old) old=$((old + 1)) ;;
        new) new=$((new + 1)) ;;
        PARTIAL) partial=$((partial + 1)); echo "  run $i ($name, killed after ${delay} ms): PARTIAL output" >&2 ;;
      esac
    done
    # Anything visible besides the targets is a failure; hidden staging leftovers are counted.
    local visible
    visible=$(find "$out" -mindepth 1 -maxdepth 1 ! -name '.*' ! -name target ! -name 'acme--kill-test.tar.gz' ! -name 'acme--kill-test.tar.gz.sha256' | wc -l)
    if [ "$visible" -ne 0 ]; then partial=$((partial + 1)); echo "  run $i: unexpected files in $out" >&2; fi
    leftovers=$((leftovers + $(find "$out" -mindepth 1 -maxdepth 1 -name '.*cetool-*' | wc -l)))
  done
  local extra=""
  [ "$kind" = package ] && extra=", archive/checksum in different states $mixed"
  echo "$name: $N kills over 0–$((ms * 11 / 10)) ms (run takes ${ms} ms): states absent $absent, old $old, new $new, partial $partial$extra; hidden staging leftovers $leftovers"
  failures=$((failures + partial))
}

run_kills convert dir
run_kills save-pretrained dir
run_kills package package

if [ "$failures" -ne 0 ]; then
  echo "FAIL: $failures partial outputs" >&2
  exit 1
fi
echo "PASS: no partial output in $((3 * N)) SIGKILLed runs"
