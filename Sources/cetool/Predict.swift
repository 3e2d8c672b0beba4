import ArgumentParser
import CECore
import CEGraph
import CERuntime
import Foundation

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Score text pairs: one JSON object per pair, in input order.")

    @OptionGroup var model: ModelOptions

    @Option(help: "JSON lines of [\"query\", \"document\"] or {\"query\": …, \"document\": …}; - for standard input.")
    var pairs: String

    @Option(help: "auto = the model's own activation; softmax = softmax over labels (several-label models).")
    var activation: ActivationChoice = .auto

    @Flag(help: "Also print the raw logits.")
    var logits = false

    func run() throws {
        PhaseTrace.mark("predict: start")
        let input = try parsePairs(try readInput(pairs))
        let ce = try model.load()
        PhaseTrace.mark("model loaded")
        let raw = try ce.logits(input, batchSize: model.batchSize, showProgressBar: model.showProgress)
        PhaseTrace.mark("scored \(input.count) pairs")
        let scores: [[Float]]
        switch activation {
        case .auto: scores = raw.map { Scoring.apply(ce.activation, to: $0) }
        case .identity: scores = raw
        case .sigmoid: scores = raw.map { Scoring.apply(.sigmoid, to: $0) }
        case .tanh: scores = raw.map { Scoring.apply(.tanh, to: $0) }
        case .softmax:
            guard ce.numLabels > 1 else { throw CLIError.softmaxNeedsLabels }
            scores = raw.map { Scoring.apply(.softmax, to: $0) }
        }
        var out = ""
        // Several labels: the scores in label-id order, the label names (config.json id2label) in the same
        // order, and the name of the highest-scoring label (the first on a tie, as argmax).
        let names = ce.numLabels > 1 ? "\"labels\":[" + ce.labels.map(JSONWriter.quote).joined(separator: ",") + "]" : ""
        for (s, l) in zip(scores, raw) {
            var line: String
            if ce.numLabels == 1 {
                line = "{\"score\":\(JSONWriter.number(s[0]))"
            } else {
                let best = s.indices.max { s[$0] < s[$1] || (s[$0] == s[$1] && $0 > $1) } ?? 0
                line = "{\"scores\":[" + s.map(JSONWriter.number).joined(separator: ",") + "]," + names
                    + ",\"label\":" + JSONWriter.quote(ce.labels.indices.contains(best) ? ce.labels[best] : "LABEL_\(best)")
            }
            if logits { line += ",\"logits\":[" + l.map(JSONWriter.number).joined(separator: ",") + "]" }
            out += line + "}\n"
        }
        write(out)
        PhaseTrace.mark("written")
    }
}
