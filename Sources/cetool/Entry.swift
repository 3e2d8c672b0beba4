import ArgumentParser
import CEArtifact
import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// What cetool and cetool-edge share as root commands: the version and the exit statuses (CETool's discussion).
enum CLIEntry {
    /// Printed by `--version`; raised with each release.
    static let version = "0.1.0"
    static let badInput: Int32 = 2
    static let systemFailure: Int32 = 3

    /// ParsableCommand.main with cetool's exit statuses: a verdict exits by throwing ExitCode after printing it;
    /// any other error is printed and mapped by `exitStatus(for:)`.
    static func run<Root: ParsableCommand>(_ root: Root.Type) -> Never {
        do {
            var command = try Root.parseAsRoot()
            try command.run()
            exit(0)
        } catch let e as ExitCode {
            exit(e.rawValue)
        } catch {
            // The signal handler removing our staging folder made this error; it ends the process with the signal.
            if StagedOutput.isInterrupted { for _ in 0..<200 { usleep(10_000) } }
            if Root.exitCode(for: error) == .success { Root.exit(withError: error) }   // --help, --version
            StandardStreams.writeError(Root.fullMessage(for: error) + "\n")
            exit(exitStatus(for: error))
        }
    }

    /// 3 for errors of the file system beneath a write, 2 for everything else (input and usage).
    static func exitStatus(for error: Error) -> Int32 {
        switch error {
        case StagingError.fileSystem: return systemFailure
        case is WriteError: return systemFailure
        default: return badInput
        }
    }
}
