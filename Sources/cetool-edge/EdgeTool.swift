import ArgumentParser

/// cetool's runtime commands alone, for an edge box (`make edge`): the other files of this target are links to
/// Sources/cetool's. Links FoundationEssentials, not full Foundation and its ICU, so the static binary needs
/// only libc/libm, libstdc++, libopenblas, libarchive and libprotobuf-c (README, "Edge binary").
@main
struct CEToolEdge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cetool-edge",
        abstract: "cetool's runtime commands for an edge box: predict, rank, retrieve, verify.",
        discussion: """
        In the full cetool only (make build; make edge's .build-edge/release/cetool is static too): convert, \
        save-pretrained, export-onnx, fit, and serve (its HTTP stack would take the binary past 25 MB). Exit status as cetool's: 0 success (a verdict that passed), 1 a verdict that failed \
        (verify), 2 bad input, 3 the system failed us (a write the file system refused).
        """,
        version: CLIEntry.version,
        subcommands: [Predict.self, Rank.self, Eval.self, Verify.self, Package.self, Install.self, Push.self,
                      Inspect.self, Bench.self, BenchKernels.self,
                      Embed.self, Search.self, Index.self, RetrieveRerank.self])

    static func main() { CLIEntry.run(CEToolEdge.self) }
}
