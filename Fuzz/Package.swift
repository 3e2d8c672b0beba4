// swift-tools-version:6.0
// libFuzzer targets for cetool's readers of untrusted files, kept out of the main build and CI.
// Build and run with scripts/fuzz.sh (swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library).
// Each target's entry is a function of FuzzEntries (a link to Tests/HostileCorpusTests/FuzzEntries.swift,
// which the regression test replays); a target is its name plus one main.swift.
import PackageDescription

let targets = ["FuzzSafetensors", "FuzzTorchZip", "FuzzUnpickler", "FuzzTokenizer", "FuzzSentencePiece", "FuzzConfig", "FuzzArtifact", "FuzzPackage"]

let package = Package(
    name: "cetool-fuzz",
    dependencies: [.package(name: "cetool", path: "..")],
    targets: [
        .target(name: "FuzzEntries", dependencies: [
            .product(name: "CEFormats", package: "cetool"),
            .product(name: "CETokenizers", package: "cetool"),
            .product(name: "CEImport", package: "cetool"),
            .product(name: "CEArtifact", package: "cetool"),
        ]),
        // Writes the artifact and package seeds with cetool's own writers (scripts/fuzz.sh runs it).
        .executableTarget(name: "FuzzSeeds", dependencies: [
            "FuzzEntries", .product(name: "CEQuant", package: "cetool"), .product(name: "CEArtifact", package: "cetool"),
            .product(name: "CEConvert", package: "cetool"),
        ]),
    ] + targets.map { .executableTarget(name: $0, dependencies: ["FuzzEntries"]) }
)
