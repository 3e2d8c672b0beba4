import ArgumentParser
import CECore
import CEGraph
import CEArtifact
import CERuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Options every scoring command takes.
struct ModelOptions: ParsableArguments {
    @Argument(help: "HuggingFace model directory (config.json, model.safetensors, tokenizer files), cetool artifact, or ORG/NAME[@REVISION] in the HuggingFace cache.")
    var modelDirectory: String

    @Option(parsing: .unconditional, help: "Tokens per pair after truncation, at least 1 (default: the model's own limit).")
    var maxLength: Int?

    @Option(parsing: .unconditional, help: "Pairs per forward pass, at least 1.")
    var batchSize: Int = 32

    @Option(parsing: .unconditional, help: "BLAS threads, at least 1 (default: OpenBLAS's choice).")
    var threads: Int?

    @Option(parsing: .unconditional, help: "Tokens one forward pass holds at most (activation memory is about 13 KB per token for MiniLM-L6); larger batches run as several passes. Default: the runtime's.")
    var tokensPerPass: Int?

    @Flag(help: "Never draw the progress bar (it is drawn on standard error only when that is a terminal).")
    var noProgress = false

    func validate() throws {
        try requireAtLeast(1, maxLength, "--max-length")
        try requireAtLeast(1, batchSize, "--batch-size")
        try requireAtLeast(1, threads, "--threads")
        try requireAtLeast(1, tokensPerPass, "--tokens-per-pass")
    }

    func load() throws -> CrossEncoder {
        let ce = try CrossEncoder(modelDirectory: URL(fileURLWithPath: try resolveModelPath(modelDirectory)), maxLength: maxLength, threads: threads)
        if let t = tokensPerPass { ce.executor.tokensPerPass = t }
        // A command scores and exits: the model is left for the process's end to reclaim rather than torn
        // down entry by entry (the vocabulary alone is tens of thousands of allocations).
        _ = Unmanaged.passRetained(ce)
        return ce
    }

    var showProgress: Bool { !noProgress && isatty(2) == 1 }
}

/// For validate(): an integer option given (non-nil) must be at least `minimum`.
func requireAtLeast(_ minimum: Int, _ value: Int?, _ option: String) throws {
    if let value, value < minimum { throw ValidationError("\(option) must be at least \(minimum); got \(value)") }
}

enum ActivationChoice: String, ExpressibleByArgument, CaseIterable {
    case auto, identity, sigmoid, tanh, softmax
}

enum CLIError: Error, CustomStringConvertible {
    case badPairLine(line: Int, reason: String)
    case badDocumentLine(line: Int, reason: String)
    case cannotRead(path: String, reason: String)
    case cannotCreate(path: String, reason: String)
    case softmaxNeedsLabels(numLabels: Int)
    case rankNeedsOneLabel(numLabels: Int)
    case cannotWiden(path: String, from: String, to: String)
    case noInput(what: String)
    /// A refusal found after parsing (it needs the model or a file), so not a usage error.
    case refused(String)

    var description: String {
        switch self {
        case .badPairLine(let l, let r): return "pairs line \(l): \(r)"
        case .badDocumentLine(let l, let r): return "documents line \(l): \(r)"
        case .cannotRead(let p, let r): return "cannot read \(p): \(r)"
        case .cannotCreate(let p, let r): return "cannot create the folder \(p): \(r)"
        case .softmaxNeedsLabels(let n):
            return "--activation softmax needs a model with several labels; this model has \(n) (softmax over one logit is always 1): use sigmoid, tanh or identity"
        case .rankNeedsOneLabel(let n):
            return "this model has \(n) labels; rank needs a one-label model; `cetool predict` prints each pair's label scores (--activation softmax for probabilities)"
        case .cannotWiden(let p, let from, let to):
            return "\(p) holds \(from) weights; --dtype \(to) cannot widen them back (the precision is already lost): save from the fp32 source folder, or leave out --dtype"
        case .noInput(let w): return "no \(w) given"
        case .refused(let m): return m
        }
    }
}

/// The whole of a file, or of standard input for "-". Folders, missing and unreadable files are refused by name.
func readInput(_ path: String) throws -> Data {
    if path == "-" { return StandardStreams.readInput() }
    var st = stat()
    guard stat(path, &st) == 0 else {
        throw CLIError.cannotRead(path: path, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
    }
    if (st.st_mode & S_IFMT) == S_IFDIR { throw CLIError.cannotRead(path: path, reason: "is a folder, not a file") }
    guard access(path, R_OK) == 0 else { throw CLIError.cannotRead(path: path, reason: "permission denied") }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw CLIError.cannotRead(path: path, reason: systemReason(error))
    }
}

/// JSON lines of `["query", "document"]`, `{"query": …, "document": …}` or `{"texts": [query, document]}`
/// (sentence-transformers' InputExample; other members such as "label" are ignored). Lines as TextLines reads
/// them: LF or CRLF, blank lines skipped.
func parsePairs(_ data: Data) throws -> [(String, String)] {
    try TextLines.nonBlank(data).map { line in
        func fail(_ r: String) -> CLIError { .badPairLine(line: line.number, reason: r) }
        let v: JSONValue
        do {
            v = try JSONParser.parse(Array(line.bytes))
        } catch {
            throw fail("not JSON (\(error))")
        }
        switch v {
        case .array(let a):
            guard a.count == 2, let q = a[0].stringValue, let d = a[1].stringValue else {
                throw fail("a pair must be two strings, [\"query\", \"document\"]")
            }
            return (q, d)
        case .object:
            if let texts = v["texts"] {
                guard let a = texts.arrayValue, a.count == 2, let q = a[0].stringValue, let d = a[1].stringValue else {
                    throw fail("\"texts\" must be two strings, [query, document]")
                }
                return (q, d)
            }
            guard let q = v["query"]?.stringValue, let d = v["document"]?.stringValue else {
                throw fail("an object pair needs string fields \"query\" and \"document\", or \"texts\": [query, document]")
            }
            return (q, d)
        default:
            throw fail("a pair must be [\"query\", \"document\"], {\"query\": …, \"document\": …} or {\"texts\": [query, document]}")
        }
    }
}

enum DocumentsFormat: String, ExpressibleByArgument, CaseIterable {
    /// One document per line.
    case lines
    /// One JSON string or {"text": …} per line, for documents that hold newlines.
    case jsonl
}

/// Documents in file order, blank lines skipped (TextLines).
func parseDocuments(_ data: Data, format: DocumentsFormat) throws -> [String] {
    let lines = TextLines.nonBlank(data)
    switch format {
    case .lines:
        return lines.map(\.text)
    case .jsonl:
        return try lines.map { line in
            let v: JSONValue
            do {
                v = try JSONParser.parse(Array(line.bytes))
            } catch {
                throw CLIError.badDocumentLine(line: line.number, reason: "not JSON (\(error))")
            }
            if let s = v.stringValue ?? v["text"]?.stringValue { return s }
            throw CLIError.badDocumentLine(line: line.number, reason: "a document must be a JSON string or {\"text\": \"…\"}")
        }
    }
}

/// Creates the folder `path` and its missing parents, as `install --into` does. Commands call it on the
/// parent of what they write, so every output's parents exist before the library stages beside the target.
func createFolder(_ path: String) throws {
    do {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    } catch {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue {
            throw CLIError.cannotCreate(path: path, reason: "a file of that name exists")
        }
        throw CLIError.cannotCreate(path: path, reason: systemReason(error))
    }
}

/// Creates the missing parents of the file or folder `path` (see createFolder).
func createParents(of path: String) throws {
    try createFolder(URL(fileURLWithPath: path).deletingLastPathComponent().path)
}

/// Columns separated by two spaces, each as wide as its widest cell; `right` columns (numbers) right-aligned.
/// The last column is not padded.
func formatTable(header: [String], rows: [[String]], right: Set<Int> = []) -> String {
    let all = [header] + rows
    let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
    return all.map { row in
        row.indices.map { c in
            let pad = String(repeating: " ", count: widths[c] - row[c].count)
            if right.contains(c) { return pad + row[c] }
            return c == row.count - 1 ? row[c] : row[c] + pad
        }.joined(separator: "  ")
    }.joined(separator: "\n") + "\n"
}

func write(_ s: String) {
    StandardStreams.writeOutput(s)
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
