#!/usr/bin/env bash
# Regenerates the protobuf-c code cetool links (Sources/COnnxProto, Sources/CSentencePieceProto) from the upstream
# .proto files in proto/. The generated files are committed: building needs only libprotobuf-c-dev; this script needs
# protoc-c too (Debian protobuf-c-compiler 1.4.1, which is what made the committed files).
#
#   proto/onnx.proto                 onnx 1.23.2 (pip wheel onnx-1.23.2, onnx/onnx.proto; IR version 12)
#   proto/sentencepiece_model.proto  github.com/google/sentencepiece src/sentencepiece_model.proto
#                                    at 273449044caa593c2fd7eb7550cb3ab2cff93f1a
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc-c >/dev/null || { echo "protoc-c missing: apt-get install protobuf-c-compiler" >&2; exit 2; }
gen() {  # gen PROTO TARGET
  local proto=$1 target=$2 base
  base=$(basename "$proto" .proto)
  local tmp; tmp=$(mktemp -d)
  protoc-c --proto_path=proto --c_out="$tmp" "$proto"
  mkdir -p "Sources/$target/include"
  mv "$tmp/$base.pb-c.h" "Sources/$target/include/$base.pb-c.h"
  mv "$tmp/$base.pb-c.c" "Sources/$target/$base.pb-c.c"
  rmdir "$tmp"
}
gen onnx.proto COnnxProto
gen sentencepiece_model.proto CSentencePieceProto
protoc-c --version | head -1
