import ArgumentParser

@main
struct CETool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cetool",
        abstract: "Run sentence-transformers cross-encoders (rerankers) natively: predict and rank.",
        subcommands: [Predict.self, Rank.self, Eval.self, Convert.self, Verify.self, SavePretrainedCommand.self, Package.self, Install.self, Push.self,
                      Inspect.self, Bench.self, BenchKernels.self])
}
