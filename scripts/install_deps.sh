#!/usr/bin/env bash
# System packages cetool builds against (design card). Installs only what is missing.
set -euo pipefail
need=()
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev)
pkg-config --exists libarchive 2>/dev/null || need+=(libarchive-dev)
pkg-config --exists libprotobuf-c 2>/dev/null || need+=(libprotobuf-c-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
# The ARM64 kernel harness (scripts/test_arm64.sh) on other hosts: a cross compiler (with the arm64 libc for -static)
# and qemu-user.
if [ "$(uname -m)" != aarch64 ]; then
  command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
  command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null || need+=(qemu-user-static)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
