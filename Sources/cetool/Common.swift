import ArgumentParser
import CECore
import CEGraph
import CEArtifact
import CERuntime
import Foundation

/// Options every scoring command takes.
struct ModelOptions: ParsableArguments {
    @Argument(help: "HuggingFace model directory (config.json, model.safetensors, tokenizer files), cetool artifact, or ORG/NAME[@REVISION] in the HuggingFace cache.")
    var modelDirectory: String

    @Option(help: "Tokens per pair after truncation (default: the model's own limit).")
    var maxLength: Int?

    @Option(help: "Pairs per forward pass.")
    var batchSize: Int = 32

    @Option(help: "BLAS threads (default: OpenBLAS's choice).")
    var threads: Int?

    @Option(help: "Tokens one forward pass holds at most (activation memory is about 13 KB per token for MiniLM-L6); larger batches run as several passes. Default: the runtime's.")
    var tokensPerPass: Int?

    @Flag(help: "Never draw the progress bar (it is drawn on standard error only when that is a terminal).")
    var noProgress = false

    func load() throws -> CrossEncoder {
        if let t = tokensPerPass, t < 1 { throw ValidationError("--tokens-per-pass must be at least 1") }
        let ce = try CrossEncoder(modelDirectory: URL(fileURLWithPath: try resolveModelPath(modelDirectory)), maxLength: maxLength, threads: threads)
        if let t = tokensPerPass { ce.executor.tokensPerPass = t }
        // A command scores and exits: the model is left for the process's end to reclaim rather than torn
        // down entry by entry (the vocabulary alone is tens of thousands of allocations).
        _ = Unmanaged.passRetained(ce)
        return ce
    }

    var showProgress: Bool { !noProgress && isatty(2) == 1 }
}

enum ActivationChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, identity, sigmoid, tanh, softmax
}

enum CLIError: Error, CustomStringConvertible {
    case badPairLine(line: Int, reason: String)
    case cannotRead(path: String, reason: String)
    case softmaxNeedsLabels
    case noInput(what: String)

    var description: String {
        switch self {
        case .badPairLine(let l, let r): return "pairs line \(l): \(r)"
        case .cannotRead(let p, let r): return "cannot read \(p): \(r)"
        case .softmaxNeedsLabels: return "--activation softmax needs a model with more than one label"
        case .noInput(let w): return "no \(w) given"
        }
    }
}

/// The whole of a file, or of standard input for "-".
func readInput(_ path: String) throws -> Data {
    if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw CLIError.cannotRead(path: path, reason: (error as NSError).localizedDescription)
    }
}

/// JSON lines of `["query", "document"]` or `{"query": …, "document": …}`; blank lines are skipped.
func parsePairs(_ data: Data) throws -> [(String, String)] {
    var pairs: [(String, String)] = []
    var lineNo = 0
    for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        lineNo += 1
        let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
        let v: JSONValue
        do {
            v = try JSONParser.parse(Array(line))
        } catch {
            throw CLIError.badPairLine(line: lineNo, reason: "not JSON (\(error))")
        }
        switch v {
        case .array(let a):
            guard a.count == 2, let q = a[0].stringValue, let d = a[1].stringValue else {
                throw CLIError.badPairLine(line: lineNo, reason: "a pair must be two strings, [\"query\", \"document\"]")
            }
            pairs.append((q, d))
        case .object:
            guard let q = v["query"]?.stringValue, let d = v["document"]?.stringValue else {
                throw CLIError.badPairLine(line: lineNo, reason: "an object pair needs string fields \"query\" and \"document\"")
            }
            pairs.append((q, d))
        default:
            throw CLIError.badPairLine(line: lineNo, reason: "a pair must be [\"query\", \"document\"] or {\"query\": …, \"document\": …}")
        }
    }
    return pairs
}

func write(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}

/// Writes a report or plot file all at once: staged beside the target, fsynced, renamed (replaces an
/// existing file of that name, as reports are regenerated).
func writeOutput(_ text: String, to path: String) throws {
    let staged = try StagedOutput(target: URL(fileURLWithPath: path), kind: .file, force: true)
    let w = try staged.writer()
    try w.write(text)
    try w.finish()
    try staged.commit()
}

/// A model argument as a path: itself when a file or folder is there; else, shaped as `ORG/NAME[@REVISION]`, the
/// snapshot folder in the local HuggingFace cache (offline; `HubCache.resolve`); else itself, for the loader to
/// say what is missing.
func resolveModelPath(_ argument: String) throws -> String {
    if FileManager.default.fileExists(atPath: argument) { return argument }
    guard let reference = HubCache.Reference(argument) else { return argument }
    return try HubCache.resolve(reference).path
}
