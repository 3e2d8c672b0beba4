import ArgumentParser
import CEArtifact
import CECore
import Foundation

@main
struct CETool: ParsableCommand {
    /// Printed by `cetool --version`; raised with each release.
    static let version = CLIEntry.version

    static let configuration = CommandConfiguration(
        commandName: "cetool",
        abstract: "Run sentence-transformers cross-encoders (rerankers) natively: predict and rank.",
        discussion: """
        Exit status, every command: 0 success (a verdict that passed), 1 a verdict that failed (verify), \
        2 bad input (unreadable or invalid model, golden, pairs or other files; bad or contradictory options), \
        3 the system failed us (a write, rename or fsync the file system refused, e.g. a full disk).
        """,
        version: version,
        subcommands: [Predict.self, Rank.self, Eval.self, Convert.self, Verify.self, SavePretrainedCommand.self, Package.self, Install.self, Push.self,
                      Inspect.self, Bench.self, BenchKernels.self, Serve.self,
                      FitCommand.self, ExportOnnx.self,
                      Embed.self, Search.self, Index.self, RetrieveRerank.self])

    /// ParsableCommand.main with cetool's exit statuses (the discussion above; CLIEntry, shared with cetool-edge).
    static func main() { CLIEntry.run(CETool.self) }
}
