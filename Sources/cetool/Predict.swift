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

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score text pairs, in input order: one JSON object per pair, or a table.",
        discussion: """
        Input: JSON lines, LF or CRLF; blank lines are skipped. Several-label models print every label's score \
        (in label-id order), the label names and the best label.
        """)

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, table }

    @OptionGroup var model: ModelOptions

    @Option(help: "JSON lines of [\"query\", \"document\"], {\"query\": …, \"document\": …} or {\"texts\": [query, document]}; - for standard input.")
    var pairs: String

    @Option(help: "auto = the model's own activation; softmax = softmax over labels (several-label models).")
    var activation: ActivationChoice = .auto

    @Flag(help: "Also print the raw logits.")
    var logits = false

    @Option(help: "json (one object per line) or table.")
    var format: Format = .json

    func run() throws {
        PhaseTrace.mark("predict: start")
        let input = try parsePairs(try readInput(pairs))
        let ce = try model.load()
        PhaseTrace.mark("model loaded")
        if activation == .softmax, ce.numLabels == 1 { throw CLIError.softmaxNeedsLabels(numLabels: ce.numLabels) }
        let raw = try ce.logits(input, batchSize: model.batchSize, showProgressBar: model.showProgress)
        PhaseTrace.mark("scored \(input.count) pairs")
        let scores: [[Float]]
        switch activation {
        case .auto: scores = raw.map { Scoring.apply(ce.activation, to: $0) }
        case .identity: scores = raw
        case .sigmoid: scores = raw.map { Scoring.apply(.sigmoid, to: $0) }
        case .tanh: scores = raw.map { Scoring.apply(.tanh, to: $0) }
        case .softmax: scores = raw.map { Scoring.apply(.softmax, to: $0) }
        }
        let names = ce.labels.count == ce.numLabels ? ce.labels : (0..<ce.numLabels).map { "LABEL_\($0)" }
        switch format {
        case .json: write(json(scores: scores, raw: raw, names: names))
        case .table: write(table(scores: scores, raw: raw, names: names))
        }
        PhaseTrace.mark("written")
    }

    /// The highest score's index, the first on a tie (argmax).
    func best(_ s: [Float]) -> Int { s.indices.max { s[$0] < s[$1] || (s[$0] == s[$1] && $0 > $1) } ?? 0 }

    /// Several labels: the scores in label-id order, the label names (config.json id2label) in the same order,
    /// and the name of the highest-scoring label.
    func json(scores: [[Float]], raw: [[Float]], names: [String]) -> String {
        var out = ""
        let labelList = "\"labels\":[" + names.map(JSONWriter.quote).joined(separator: ",") + "]"
        for (s, l) in zip(scores, raw) {
            var line: String
            if s.count == 1 {
                line = "{\"score\":\(JSONWriter.number(s[0]))"
            } else {
                line = "{\"scores\":[" + s.map(JSONWriter.number).joined(separator: ",") + "]," + labelList
                    + ",\"label\":" + JSONWriter.quote(names[best(s)])
            }
            if logits { line += ",\"logits\":[" + l.map(JSONWriter.number).joined(separator: ",") + "]" }
            out += line + "}\n"
        }
        return out
    }

    /// Columns: pair (0-based input order), one score per label (named by the label for several), the best
    /// label for several, then the logits when asked for.
    func table(scores: [[Float]], raw: [[Float]], names: [String]) -> String {
        let several = names.count > 1
        var header = ["pair"] + (several ? names : ["score"])
        if several { header.append("label") }
        if logits { header += several ? names.map { "logit \($0)" } : ["logit"] }
        let rows = zip(scores, raw).enumerated().map { i, sl -> [String] in
            var row = [String(i)] + sl.0.map { String(format: "%.6f", $0) }
            if several { row.append(names[best(sl.0)]) }
            if logits { row += sl.1.map { String(format: "%.6f", $0) } }
            return row
        }
        let labelColumn = several ? names.count + 1 : -1
        return formatTable(header: header, rows: rows, right: Set(header.indices).subtracting([labelColumn]))
    }
}
