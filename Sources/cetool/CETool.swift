import ArgumentParser
import CEArtifact
import CECore
import Foundation

@main
struct CETool: ParsableCommand {
    /// Printed by `cetool --version`; raised with each release.
    static let version = "0.1.0"

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

    /// ParsableCommand.main with cetool's exit statuses (the discussion above): a verdict exits by throwing
    /// ExitCode after printing it; any other error is printed and mapped by `exitStatus(for:)`.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as ExitCode {
            Foundation.exit(e.rawValue)
        } catch {
            // The signal handler removing our staging folder made this error; it ends the process with the signal.
            if StagedOutput.isInterrupted { for _ in 0..<200 { usleep(10_000) } }
            if exitCode(for: error) == .success { exit(withError: error) }   // --help, --version
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(exitStatus(for: error))
        }
    }

    static let badInput: Int32 = 2
    static let systemFailure: Int32 = 3

    /// 3 for errors of the file system beneath a write, 2 for everything else (input and usage).
    static func exitStatus(for error: Error) -> Int32 {
        switch error {
        case StagingError.fileSystem: return systemFailure
        case is WriteError: return systemFailure
        default: return badInput
        }
    }
}
