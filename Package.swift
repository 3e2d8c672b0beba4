// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cetool",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cetool", targets: ["cetool"]),
        .library(name: "CERuntime", targets: ["CERuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .target(name: "CECore"),
        .target(name: "CEFormats", dependencies: ["CECore"]),
        .target(name: "CETokenizers", dependencies: ["CECore"]),
        .target(name: "CEGraph", dependencies: ["CECore"]),
        .target(name: "CEImport", dependencies: ["CECore", "CEFormats", "CETokenizers", "CEGraph"]),
        .target(name: "CERuntime", dependencies: ["CECore", "CEGraph", "CETokenizers", "CEImport", "COpenBLAS"]),
        .target(name: "CEVerify", dependencies: ["CECore", "CERuntime"]),
        .target(name: "CETestSupport", dependencies: ["CECore", "CEFormats"]),
        .executableTarget(name: "cetool", dependencies: [
            "CECore", "CEFormats", "CETokenizers", "CEGraph", "CEImport", "CERuntime", "CEVerify",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "CECoreTests", dependencies: ["CECore", "CETestSupport"]),
        .testTarget(name: "CEFormatsTests", dependencies: ["CEFormats", "CETestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "CETokenizersTests", dependencies: ["CETokenizers", "CETestSupport"]),
        .testTarget(name: "CEImportTests", dependencies: ["CEImport", "CETestSupport"]),
        .testTarget(name: "CERuntimeTests", dependencies: ["CERuntime", "CEVerify", "CETestSupport"]),
        .testTarget(name: "cetoolTests", dependencies: ["CETestSupport", "cetool"]),
    ]
)
