import ArgumentParser

@main
struct CETool: ParsableCommand {
    /// Printed by `cetool --version`; raised with each release.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "cetool",
        abstract: "Run sentence-transformers cross-encoders (rerankers) natively: predict and rank.",
        version: version,
        subcommands: [Predict.self, Rank.self, Eval.self, Convert.self, Verify.self, SavePretrainedCommand.self, Package.self, Install.self, Push.self,
                      Inspect.self, Bench.self, BenchKernels.self])
}
