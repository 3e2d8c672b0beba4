import ArgumentParser
import CEBiEncoder
import CECore
import CEImport
import CERuntime
import CEVerify
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Prove score parity of a model (e.g. a converted artifact) against golden outputs or the original model.",
        discussion: """
        With --golden: the reference is what sentence-transformers recorded (golden/<model>/golden*.json); \
        token ids, logits, activated scores and every ranked list are compared. With --original and --pairs: \
        the reference is the original folder run by cetool's fp32 runtime; pairs sharing a query form ranked lists. \
        The tolerance profile follows the model's precision (fp32, fp16, bf16, int8) unless --profile is given. \
        An artifact's manifest (sizes and sha256 of its files) is checked first. \
        Exit status: 0 pass, 1 fail, 2 usage or input error (bad flags; a model, golden or pairs file that cannot be read or parsed), 3 a write the file system refused.
        """)

    enum ProfileChoice: String, ExpressibleByArgument, CaseIterable { case auto, fp32, fp16, bf16, int8 }

    @Argument(help: "The model to check: a cetool artifact, a HuggingFace model directory, or ORG/NAME[@REVISION] in the HuggingFace cache.")
    var model: String

    @Option(parsing: .singleValue, help: "Golden file, or a folder whose golden*.json files are all used. Repeatable.")
    var golden: [String] = []

    @Option(help: "The original model (directory or cached ORG/NAME[@REVISION]), to compare against on --pairs.")
    var original: String?

    @Option(help: "JSON lines of pairs for --original, as for predict (LF or CRLF; blank lines skipped).")
    var pairs: String?

    @Option(help: "Bi-encoders: texts (JSON lines or one per line) embedded by the model and --original.")
    var texts: String?

    @Option(help: "Tolerance profile (default: from the model's precision).")
    var profile: ProfileChoice = .auto

    @Option(help: "Write the JSON report here.")
    var report: String?

    @Option(help: "Write an SVG plot here: reference vs converted logits (points beyond the profile's per-logit bound in red) and a histogram of Δlogit.")
    var plot: String?

    @Option(parsing: .unconditional, help: "Pairs per forward pass, at least 1.")
    var batchSize: Int = 32

    @Option(parsing: .unconditional, help: "BLAS threads, at least 1.")
    var threads: Int?

    @Flag(help: "Print the JSON report instead of the summary.")
    var json = false

    func validate() throws {
        guard !golden.isEmpty || original != nil else { throw ValidationError("give --golden and/or --original with --pairs") }
        if texts != nil {
            guard original != nil, pairs == nil else { throw ValidationError("--texts goes with --original (a bi-encoder), not with --pairs") }
        } else {
            guard (original == nil) == (pairs == nil) else { throw ValidationError("--original and --pairs go together") }
        }
        try requireAtLeast(1, batchSize, "--batch-size")
        try requireAtLeast(1, threads, "--threads")
    }

    /// Exit status 1 is kept for a failed check (ExitCode(1) after the verdict is printed); errors are mapped by
    /// CETool.main (2 for input and usage, 3 for a write the file system refused).
    func run() throws { try check() }

    func check() throws {
        for path in [report, plot].compactMap({ $0 }) { try createParents(of: path) }
        let url = URL(fileURLWithPath: try resolveModelPath(model))
        var integrityFailure: String?
        if ArtifactFormat.isArtifact(url) {
            do { try ArtifactFormat.checkManifest(url) } catch let e as ArtifactError { integrityFailure = e.description }
        }
        if isBiEncoder(url) { return try checkBiEncoder(url, integrityFailure: integrityFailure) }
        if texts != nil { throw CLIError.refused("--texts is for bi-encoders (a SentenceTransformer folder); give a cross-encoder --pairs") }
        var loaded: [Int?: CrossEncoder] = [:]
        func candidate(_ maxLength: Int?) throws -> CrossEncoder {
            if let c = loaded[maxLength] { return c }
            let c = try CrossEncoder(modelDirectory: url, maxLength: maxLength, threads: threads)
            loaded[maxLength] = c
            return c
        }
        let base = try candidate(nil)
        let precision = base.model.artifact?.precision ?? "fp32"
        let p: ToleranceProfile = profile == .auto ? (ToleranceProfile.named(precision) ?? .fp32) : ToleranceProfile.named(profile.rawValue)!

        var sets: [Verifier.SetReport] = []
        if integrityFailure == nil {
            for path in try goldenFiles() {
                let g = try GoldenSet.load(path: path)
                let ce = try candidate(g.maxLength)
                sets.append(try Verifier.compare(ce, reference: Verifier.reference(from: g), profile: p, batchSize: batchSize))
            }
            if let original, let pairs {
                let input = try parsePairs(try readInput(pairs))
                guard !input.isEmpty else { throw CLIError.noInput(what: "pairs") }
                let orig = try CrossEncoder(modelDirectory: URL(fileURLWithPath: try resolveModelPath(original)), threads: threads)
                let ref = try Verifier.reference(original: orig, pairs: input, name: "\(original) on \(pairs)", batchSize: batchSize)
                sets.append(try Verifier.compare(try candidate(orig.maxLength), reference: ref, profile: p, batchSize: batchSize))
            }
        }
        let r = Verifier.Report(model: model, precision: precision, profile: p, sets: sets, integrityFailure: integrityFailure)
        let digest = report != nil || json ? try base.model.weightsSHA256() : nil
        if let report { try writeOutput(r.json(modelWeightsSHA256: digest), to: report) }
        if let plot { try writeOutput(r.svg(), to: plot) }
        if json { write(r.json(modelWeightsSHA256: digest)) } else { write(r.text() + activationLine(base.model.artifact?.plan)) }
        if !r.passed { throw ExitCode(1) }
    }

    /// The artifact's run-time input precision of its int8 linears, one line ("" for a model without int8 linears).
    func activationLine(_ plan: JSONValue?) -> String {
        guard let mode = plan?["activations"]?.stringValue, plan?["weights"]?.stringValue == "int8" else { return "" }
        guard let linears = plan?["linear_activations"]?.objectValue else { return "int8 linears' inputs: \(mode)\n" }
        let int16 = linears.filter { $0.1.stringValue == "int16" }.map(\.0)
        return "int8 linears' inputs: per linear, int8 on \(linears.count - int16.count) of \(linears.count)"
            + (int16.isEmpty ? "" : " (int16: \(int16.joined(separator: ", ")))") + "\n"
    }

    func goldenFiles() throws -> [String] {
        var out: [String] = []
        for g in golden {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: g, isDirectory: &isDir) else { throw CLIError.cannotRead(path: g, reason: "no such file or folder") }
            if isDir.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: g).filter { $0.hasPrefix("golden") && $0.hasSuffix(".json") }.sorted()
                guard !names.isEmpty else { throw CLIError.cannotRead(path: g, reason: "no golden*.json in this folder") }
                out += names.map { (g.hasSuffix("/") ? g : g + "/") + $0 }
            } else {
                out.append(g)
            }
        }
        return out
    }
}
