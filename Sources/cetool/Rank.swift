import ArgumentParser
import CECore
import CEGraph
import CERuntime
import Foundation

struct Rank: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract: "Rank documents for a query, best first.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, table }

    @OptionGroup var model: ModelOptions

    @Option(help: "The query.")
    var query: String

    @Option(help: "Documents, one per line; - for standard input.")
    var documents: String

    @Option(name: .customLong("top-k"), help: "Keep the best K.")
    var topK: Int?

    @Flag(help: "Include each document's text.")
    var returnDocuments = false

    @Option(help: "auto = the model's own activation.")
    var activation: ActivationChoice = .auto

    @Option(help: "json or table.")
    var format: Format = .json

    func run() throws {
        let text = String(decoding: try readInput(documents), as: UTF8.self)
        var docs = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0) }
        if docs.last == "" { docs.removeLast() }
        let ce = try model.load()
        let act: ScoreActivation?
        switch activation {
        case .auto: act = nil
        case .identity: act = .identity
        case .sigmoid: act = .sigmoid
        case .tanh: act = .tanh
        case .softmax: throw CLIError.softmaxNeedsLabels
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
            var out = "rank  corpus_id  score\(returnDocuments ? "       text" : "")\n"
            for (i, r) in ranked.enumerated() {
                let score = String(format: "%.6f", r.score)
                var line = String(i + 1).padding(toLength: 6, withPad: " ", startingAt: 0)
                    + String(r.corpusID).padding(toLength: 11, withPad: " ", startingAt: 0) + score
                if let t = r.text {
                    let oneLine = t.replacingOccurrences(of: "\n", with: " ")
                    line += "  " + (oneLine.count > 100 ? String(oneLine.prefix(97)) + "..." : oneLine)
                }
                out += line + "\n"
            }
            write(out)
        }
    }
}
