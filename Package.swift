// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cetool",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cetool", targets: ["cetool"]),
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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),
        .target(name: "CECore"),
        // C kernels chosen at run time by CPU feature (int8 GEMM, f16 widening), each with a scalar reference.
        .target(name: "CEKernels"),
        // POSIX calls Swift's Glibc module does not expose (renameat2).
        .target(name: "CPosix"),
        .target(name: "CEFormats", dependencies: ["CECore"]),
        .target(name: "CETokenizers", dependencies: ["CECore"]),
        .target(name: "CEGraph", dependencies: ["CECore"]),
        .target(name: "CEImport", dependencies: ["CECore", "CEFormats", "CETokenizers", "CEGraph"]),
        .target(name: "CEQuant", dependencies: ["CECore", "CEGraph", "COpenBLAS"]),
        .target(name: "CERuntime", dependencies: ["CECore", "CEGraph", "CETokenizers", "CEImport", "COpenBLAS", "CEKernels"]),
        .target(name: "CEVerify", dependencies: ["CECore", "CERuntime"]),
        .target(name: "CEArtifact", dependencies: ["CECore", "CEFormats", "CEGraph", "CEImport", "CEQuant", "CPosix", "CArchive"]),
        // calibrate -> quantize -> write: `cetool convert` as one library call.
        .target(name: "CEConvert", dependencies: ["CECore", "CEGraph", "CEImport", "CEQuant", "CERuntime", "CEArtifact", "CEVerify"]),
        // `cetool serve`: HTTP handlers that translate JSON <-> CrossEncoder calls, and the batching queue between them.
        .target(name: "CEServe", dependencies: [
            "CECore", "CERuntime", "CEImport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Bi-encoders without the encoder: semantic_search, quantize_embeddings, pooling/Dense/Normalize, the
        // SentenceTransformer folder reader and the embedding index (formats/index.md).
        .target(name: "CERetrieve", dependencies: ["CECore", "CEFormats", "COpenBLAS"]),
        .target(name: "CETestSupport", dependencies: ["CECore", "CEFormats"]),
        .executableTarget(name: "cetool", dependencies: [
            "CECore", "CEFormats", "CETokenizers", "CEGraph", "CEImport", "CEQuant", "CERuntime", "CEVerify", "CEArtifact", "CEConvert", "CEServe",
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
        .testTarget(name: "CERetrieveTests", dependencies: ["CERetrieve", "CECore", "CETestSupport"]),
        // Hostile-file corpus (scripts/make_hostile_corpus.py) and replayed fuzzer findings (Fuzz/, scripts/fuzz.sh).
        .testTarget(name: "HostileCorpusTests", dependencies: ["CEFormats", "CETokenizers", "CEImport", "CEArtifact", "CETestSupport"],
                    exclude: ["Corpus", "manifest.json", "FuzzRegressions"]),
        .testTarget(name: "cetoolTests", dependencies: ["CETestSupport", "cetool", "CEServe", "CEVerify", "CEArtifact", "CEConvert", "CEImport", "CEQuant", "CEGraph", "CECore"]),
    ]
)
