// libprotobuf-c's runtime (Debian libprotobuf-c-dev): message pack/unpack for the code protoc-c generated
// (Sources/COnnxProto, Sources/CSentencePieceProto; scripts/gen_protobuf.sh).
#include <protobuf-c/protobuf-c.h>
