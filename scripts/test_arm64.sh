#!/usr/bin/env bash
# The ARM64 kernels of Sources/CEKernels (NEON, dotprod sdot, i8mm smmla) against their scalar twins: a C harness
# (Tests/arm64/harness.c) cross-compiled with aarch64-linux-gnu-gcc and run under qemu-user on three CPU models, so
# every dispatch level runs both forced and chosen at run time from getauxval:
#   cortex-a72 (ARMv8.0: NEON only, the fallback), cortex-a76 (ARMv8.2 + dotprod), max (dotprod + i8mm).
# On an ARM64 host it runs natively once. Seeded, 80 random shapes per kernel and level: about 10 s of CPU in all
# (compiles included); each run is bounded to 60 s.
# Missing toolchain: a failure when CETOOL_REQUIRE_MODELS=1 (`make test`, CI: scripts/install_deps.sh installs it),
# else a skip with a message.
set -euo pipefail
cd "$(dirname "$0")/.."

skip_or_fail() {
  if [ "${CETOOL_REQUIRE_MODELS:-0}" = 1 ]; then
    echo "test_arm64: FAILED: $1 (run scripts/install_deps.sh)" >&2
    exit 1
  fi
  echo "test_arm64: skipped: $1 (scripts/install_deps.sh installs it)"
  exit 0
}

native=0
[ "$(uname -m)" = aarch64 ] && native=1
if [ $native = 1 ]; then CC=${CC_ARM64:-$(command -v cc || command -v clang || echo cc)}; else CC=${CC_ARM64:-aarch64-linux-gnu-gcc}; fi
command -v "$CC" >/dev/null || skip_or_fail "no ARM64 C compiler ($CC; apt: gcc-aarch64-linux-gnu)"
QEMU=""
if [ $native = 0 ]; then
  QEMU=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
  [ -n "$QEMU" ] || skip_or_fail "no qemu-aarch64 (apt: qemu-user-static)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -ffp-contract=off: gcc would fuse the separate fp32 multiply and add of the epilogues and scalar twins into one
# fmadd (its default is =fast); clang, which builds the package, contracts only within one expression.
"$CC" -std=gnu11 -O2 -ffp-contract=off -static -Wall -ISources/CEKernels/include Sources/CEKernels/*.c \
  Tests/arm64/harness.c -lm -o "$work/harness"

CASES=${ARM64_CASES:-80}
if [ $native = 1 ]; then
  echo "== native $(uname -m)"
  timeout 60 "$work/harness" auto "$CASES"
  exit
fi
# CPU model and the u8 x s8 level the dispatcher must pick on it (3 smmla, 2 sdot, 1 NEON).
for spec in "cortex-a72 1" "cortex-a76 2" "max 3"; do
  set -- $spec
  echo "== qemu -cpu $1"
  timeout 60 "$QEMU" -cpu "$1" "$work/harness" "$2" "$CASES"
done
# The package itself is built by the Swift toolchain's clang (floating-point contraction within one expression only):
# the same harness from clang too, when it can cross-link (it finds the cross binutils and libc installed above).
if command -v clang >/dev/null && clang --target=aarch64-linux-gnu -std=gnu11 -O2 -static -ISources/CEKernels/include \
     Sources/CEKernels/*.c Tests/arm64/harness.c -lm -o "$work/harness-clang" 2>"$work/clang.log"; then
  echo "== clang build, qemu -cpu max"
  timeout 60 "$QEMU" -cpu max "$work/harness-clang" 3 "$CASES"
else
  echo "test_arm64: no clang aarch64 cross build here ($(head -c 200 "$work/clang.log" 2>/dev/null)); the gcc runs above stand"
fi
