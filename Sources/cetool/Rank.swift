import ArgumentParser
import CECore
import CEGraph
import CERuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

struct Rank: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract: "Rank documents for a query, best first.",
        discussion: """
        Documents are read as --documents-format says: lines (one document per line) or jsonl (one JSON string \
        or {"text": …} per line, for documents that hold newlines); without it, a file name ending in .jsonl \
        means jsonl and anything else, standard input included, lines. LF and CRLF endings both work; blank \
        lines are skipped, so corpus_id is the document's 0-based position among the non-blank lines. \
        rank needs a one-label model; `cetool predict` prints the label scores of several-label models.
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, table }

    @OptionGroup var model: ModelOptions

    @Option(help: "The query.")
    var query: String

    @Option(help: "Documents file; - for standard input.")
    var documents: String

    @Option(help: "lines or jsonl (default: jsonl for a .jsonl file name, else lines).")
    var documentsFormat: DocumentsFormat?

    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Keep the best K, at least 1.")
    var topK: Int?

    @Flag(help: "Include each document's text.")
    var returnDocuments = false

    @Option(help: "auto = the model's own activation; identity, sigmoid or tanh.")
    var activation: ActivationChoice = .auto

    @Option(help: "json or table.")
    var format: Format = .json

    func validate() throws {
        try requireAtLeast(1, topK, "--top-k")
        if activation == .softmax {
            throw ValidationError("rank scores one-label models, where softmax is always 1: use --activation auto, sigmoid, tanh or identity (`cetool predict --activation softmax` scores several-label models)")
        }
    }

    func run() throws {
        let docsFormat = documentsFormat ?? (documents.lowercased().hasSuffix(".jsonl") ? .jsonl : .lines)
        let docs = try parseDocuments(try readInput(documents), format: docsFormat)
        let ce = try model.load()
        guard ce.numLabels == 1 else { throw CLIError.rankNeedsOneLabel(numLabels: ce.numLabels) }
        let act: ScoreActivation?
        switch activation {
        case .auto: act = nil
        case .identity: act = .identity
        case .sigmoid: act = .sigmoid
        case .tanh: act = .tanh
        case .softmax: act = .softmax  // refused by validate()
        }
        let ranked = try ce.rank(query: query, documents: docs, topK: topK, returnDocuments: returnDocuments,
                                 batchSize: model.batchSize, showProgressBar: model.showProgress, activation: act)
        switch format {
        case .json:
            let items = ranked.map { r -> String in
                var s = "{\"corpus_id\":\(r.corpusID),\"score\":\(JSONWriter.number(r.score))"
                if let t = r.text { s += ",\"text\":" + JSONWriter.quote(t) }
                return s + "}"
            }
            write("[" + items.joined(separator: ",\n ") + "]\n")
        case .table:
            let rows = ranked.enumerated().map { i, r -> [String] in
                var row = [String(i + 1), String(r.corpusID), String(format: "%.6f", r.score)]
                if let t = r.text {
                    let oneLine = t.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
                    row.append(oneLine.count > 100 ? String(oneLine.prefix(97)) + "..." : oneLine)
                }
                return row
            }
            write(formatTable(header: ["rank", "corpus_id", "score"] + (returnDocuments ? ["text"] : []), rows: rows, right: [0, 1, 2]))
        }
    }
}
