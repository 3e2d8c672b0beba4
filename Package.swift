// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "cetool",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cetool", targets: ["cetool"]),
        .executable(name: "cetool-edge", targets: ["cetool-edge"]),
        .library(name: "CERuntime", targets: ["CERuntime"]),
        // The readers the fuzz targets (Fuzz/Package.swift) link.
        .library(name: "CEFormats", targets: ["CEFormats"]),
        .library(name: "CETokenizers", targets: ["CETokenizers"]),
        .library(name: "CEImport", targets: ["CEImport"]),
        .library(name: "CEArtifact", targets: ["CEArtifact"]),
        // For the fuzz seeds' writer (Fuzz/Sources/FuzzSeeds).
        .library(name: "CEQuant", targets: ["CEQuant"]),
        .library(name: "CEConvert", targets: ["CEConvert"]),
        .library(name: "CERetrieve", targets: ["CERetrieve"]),
        .library(name: "CEBiEncoder", targets: ["CEBiEncoder"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // No default traits: FullFoundation and ConfigurationSupport would link full Foundation (and ICU) into the edge
        // binary; cetool uses neither (URL-encoded forms, swift-configuration readers).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),
        // libprotobuf-c's runtime; the code protoc-c generated from the upstream .proto files (scripts/gen_protobuf.sh).
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c",
                       providers: [.apt(["libprotobuf-c-dev"])]),
        .target(name: "COnnxProto", dependencies: ["CProtobufC"]),
        .target(name: "CSentencePieceProto", dependencies: ["CProtobufC"]),
        // SHA-256 / SHA-1 from swift-crypto (Digests.swift).
        .target(name: "CECore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // C kernels chosen at run time by CPU feature (int8 GEMM, f16 widening), each with a scalar reference.
        .target(name: "CEKernels"),
        // POSIX calls Swift's Glibc module does not expose (renameat2).
        .target(name: "CPosix"),
        .target(name: "CEFormats", dependencies: ["CECore"]),
        .target(name: "CETokenizers", dependencies: ["CECore", "CSentencePieceProto", "CProtobufC"]),
        .target(name: "CEGraph", dependencies: ["CECore"]),
        .target(name: "CEImport", dependencies: ["CECore", "CEFormats", "CETokenizers", "CEGraph"]),
        .target(name: "CEQuant", dependencies: ["CECore", "CEGraph", "COpenBLAS"]),
        .target(name: "CERuntime", dependencies: ["CECore", "CEGraph", "CETokenizers", "CEImport", "COpenBLAS", "CEKernels"]),
        .target(name: "CEVerify", dependencies: ["CECore", "CERuntime"]),
        .target(name: "CEArtifact", dependencies: ["CECore", "CEFormats", "CEGraph", "CEImport", "CEQuant", "CERetrieve", "CPosix", "CArchive"]),
        // calibrate -> quantize -> write: `cetool convert` as one library call.
        .target(name: "CEConvert", dependencies: ["CECore", "CEGraph", "CEImport", "CEQuant", "CERuntime", "CEArtifact", "CEVerify"]),
        // `cetool serve`: HTTP handlers that translate JSON <-> CrossEncoder calls, and the batching queue between them.
        .target(name: "CEServe", dependencies: [
            "CECore", "CERuntime", "CEImport", "CERetrieve", "CEBiEncoder",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Bi-encoders without the encoder: semantic_search, quantize_embeddings, pooling/Dense/Normalize, the
        // SentenceTransformer folder reader and the embedding index (formats/index.md).
        .target(name: "CERetrieve", dependencies: ["CECore", "CEFormats", "COpenBLAS", "CEKernels"]),
        // `cetool export-onnx`: the canonical graph as an ONNX model in a sentence-transformers folder (formats/onnx.md).
        .target(name: "CEOnnx", dependencies: ["CECore", "CEGraph", "CEImport", "CEQuant", "CEArtifact", "COnnxProto", "CProtobufC"]),
        // SentenceTransformer: the runtime's encoder hook + CERetrieve's Pooling/Dense/Normalize; encode, index, search.
        .target(name: "CEBiEncoder", dependencies: ["CECore", "CEFormats", "CEGraph", "CEImport", "CETokenizers", "CERuntime", "CERetrieve"]),
        .target(name: "CETestSupport", dependencies: ["CECore", "CEFormats"]),
        // Training: a backward beside each op's forward, losses, AdamW, schedulers, fit's loop.
        .target(name: "CETrain", dependencies: ["CECore", "CEGraph", "COpenBLAS"]),
        .executableTarget(name: "cetool", dependencies: [
            "CECore", "CEFormats", "CETokenizers", "CEGraph", "CEImport", "CEQuant", "CERuntime", "CEVerify", "CEArtifact", "CEConvert", "CEServe", "CETrain", "CEOnnx", "CEBiEncoder",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The runtime commands alone for an edge box (`make edge`; its sources link to cetool's): no CEConvert, CETrain,
        // CEOnnx (full Foundation and ICU) nor CEServe (the HTTP stack's size).
        .executableTarget(name: "cetool-edge", dependencies: [
            "CECore", "CEFormats", "CETokenizers", "CEGraph", "CEImport", "CERuntime", "CEVerify", "CEArtifact", "CEBiEncoder", "CERetrieve",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "CECoreTests", dependencies: ["CECore", "CETestSupport"]),
        .testTarget(name: "CEFormatsTests", dependencies: ["CEFormats", "CETestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "CETokenizersTests", dependencies: ["CETokenizers", "CETestSupport"]),
        .testTarget(name: "CEImportTests", dependencies: ["CEImport", "CETestSupport"]),
        .testTarget(name: "CERuntimeTests", dependencies: ["CERuntime", "CEVerify", "CEQuant", "CETestSupport"]),
        .testTarget(name: "CEVerifyTests", dependencies: ["CEVerify", "CERuntime", "CECore", "CETestSupport"]),
        .testTarget(name: "CEArtifactTests", dependencies: ["CEArtifact", "CEImport", "CEQuant", "CERuntime", "CEConvert", "CEVerify", "CETestSupport"]),
        .testTarget(name: "CEGraphTests", dependencies: ["CEGraph", "CECore"]),
        .testTarget(name: "CEQuantTests", dependencies: ["CEQuant", "CEGraph", "CECore", "CETestSupport"]),
        .testTarget(name: "CETrainTests", dependencies: ["CETrain", "CEImport", "CEGraph", "CECore", "CETestSupport"]),
        .testTarget(name: "CEOnnxTests", dependencies: ["CEOnnx", "CEBiEncoder", "CERetrieve", "CEVerify", "CERuntime", "CEFormats", "CEImport", "CEArtifact", "CEConvert", "CEQuant", "CEGraph", "CECore", "CETestSupport"]),
        .testTarget(name: "CERetrieveTests", dependencies: ["CERetrieve", "CECore", "CETestSupport"]),
        .testTarget(name: "CEBiEncoderTests", dependencies: ["CEBiEncoder", "CEConvert", "CEQuant", "CERetrieve", "CERuntime", "CEImport", "CEGraph", "CECore", "CETestSupport"]),
        // Hostile-file corpus (scripts/make_hostile_corpus.py) and replayed fuzzer findings (Fuzz/, scripts/fuzz.sh).
        .testTarget(name: "HostileCorpusTests", dependencies: ["CEFormats", "CETokenizers", "CEImport", "CEArtifact", "CETestSupport"],
                    exclude: ["Corpus", "manifest.json", "FuzzRegressions"]),
        .testTarget(name: "cetoolTests", dependencies: ["CETestSupport", "cetool", "CEBiEncoder", "CERetrieve", "CEServe", "CEVerify", "CEArtifact", "CEConvert", "CEImport", "CEQuant", "CEGraph", "CECore"]),
    ]
)
