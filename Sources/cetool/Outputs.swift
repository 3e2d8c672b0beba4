import ArgumentParser
import CEArtifact
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// `--force` and `--replace`, for commands that write a folder (ReplacePolicy says what may be replaced).
struct ReplaceOptions: ParsableArguments {
    @Flag(help: "Replace an existing output that cetool wrote. Never replaces the current folder, the source, a folder holding either, or a folder cetool did not write.")
    var force = false

    @Option(name: .customLong("replace"), help: ArgumentHelp(
        "Replace this folder although cetool did not write it; must name the output itself (implies --force). Never the current folder, the source, or a folder holding either.",
        valueName: "folder"))
    var replacePath: String?

    /// Whether the existing folder at `target` may be replaced though cetool did not write it: `--replace` named it.
    func foreign(for target: URL) throws -> Bool {
        guard let replacePath else { return false }
        let named = URL(fileURLWithPath: replacePath).standardizedFileURL.path, out = target.standardizedFileURL.path
        guard named == out else { throw ValidationError("--replace names \(named), but the output is \(out)") }
        return true
    }

    var replaces: Bool { force || replacePath != nil }
}
