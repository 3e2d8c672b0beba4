import ArgumentParser
import CECore
import CERuntime
import CEVerify
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a model on labelled data as sentence-transformers' cross-encoder evaluators do.",
        discussion: """
        Tasks and the sentence-transformers 6.2 evaluator each runs: correlation (CECorrelationEvaluator = \
        CrossEncoderCorrelationEvaluator: Pearson, Spearman), binary-accuracy, binary-classification, \
        softmax-accuracy, classification (CEBinaryAccuracyEvaluator, CEBinaryClassificationEvaluator, \
        CESoftmaxAccuracyEvaluator = CrossEncoderClassificationEvaluator: accuracy, F1, precision, recall, \
        average precision and thresholds for a one-label model; macro, micro and weighted F1 for more labels), \
        reranking (CERerankingEvaluator = CrossEncoderRerankingEvaluator: MAP, MRR@k, NDCG@k). \
        Prints the figures the evaluator returns (--format json) or its CSV lines (--format csv); \
        --output-path writes or appends the evaluator's CSV file there, as its write_csv does.
        """)

    enum Task: String, ExpressibleByArgument, CaseIterable {
        case correlation
        case binaryAccuracy = "binary-accuracy"
        case binaryClassification = "binary-classification"
        case softmaxAccuracy = "softmax-accuracy"
        case classification
        case reranking
    }

    enum Format: String, ExpressibleByArgument, CaseIterable { case json, csv }

    @OptionGroup var model: ModelOptions

    @Option(help: "The evaluator: \(Task.allCases.map(\.rawValue).joined(separator: ", ")).")
    var task: Task

    @Option(help: "JSON lines: {\"texts\": [a, b], \"label\": y} (or \"query\"/\"document\"; \"score\" for correlation), or reranking samples {\"query\", \"positive\", \"negative\" | \"documents\"}; - for standard input. LF or CRLF; blank lines are skipped.")
    var data: String

    @Option(help: "The evaluator's name: prefixes the figures' keys and names the CSV file.")
    var name: String = ""

    @Option(parsing: .unconditional, help: "Reranking: the cut-off k of MRR@k and NDCG@k, at least 1.")
    var atK: Int = 10

    @Flag(inversion: .prefixedNo, help: "Reranking with \"documents\": rank every positive, also those the first stage missed.")
    var alwaysRerankPositives = true

    @Option(help: "Folder to write (or append to) the evaluator's CSV file.")
    var outputPath: String?

    @Option(help: "Standard output: json (the figures) or csv (header and row).")
    var format: Format = .json

    func validate() throws {
        try requireAtLeast(1, atK, "--at-k")
    }

    func run() throws {
        try Evaluators.checkName(name)
        let bytes = [UInt8](try readInput(data))
        let ce = try model.load()
        let result: EvaluationResult
        switch task {
        case .correlation:
            let examples = try EvaluationData.labelledPairs(bytes)
            let scores = try oneLabelScores(ce, examples.map(\.pair))
            result = try Evaluators.correlation(scores: scores, gold: examples.map(\.label), name: name)
        case .binaryAccuracy, .binaryClassification, .softmaxAccuracy, .classification:
            let examples = try EvaluationData.labelledPairs(bytes)
            let labels = try EvaluationData.classLabels(examples)
            try Evaluators.checkClassLabels(labels, numLabels: ce.numLabels)
            let scores = try ce.predictLabels(examples.map(\.pair), batchSize: model.batchSize, showProgressBar: model.showProgress)
            result = try Evaluators.classification(scores: scores, labels: labels, numLabels: ce.numLabels, name: name)
        case .reranking:
            let plan = try Evaluators.rerankingPlan(samples: try EvaluationData.rerankingSamples(bytes), atK: atK,
                                                    alwaysRerankPositives: alwaysRerankPositives)
            let scores = try oneLabelScores(ce, plan.pairs)
            result = try Evaluators.reranking(plan: plan, scores: scores, name: name)
        }
        if let outputPath { try appendCSV(result, folder: outputPath) }
        switch format {
        case .json:
            write("{" + result.returnedMetrics.map { JSONWriter.quote($0.key) + ":" + JSONWriter.number($0.value) }.joined(separator: ",") + "}\n")
        case .csv:
            write(result.csvText(includeHeader: true))
        }
    }

    /// CrossEncoder.predict's 1-D scores; correlation and reranking need a one-label model.
    func oneLabelScores(_ ce: CrossEncoder, _ pairs: [(String, String)]) throws -> [Float] {
        guard ce.numLabels == 1 else { throw EvaluationError.needsOneLabel(task: task.rawValue, numLabels: ce.numLabels) }
        if pairs.isEmpty { return [] }
        return try ce.predict(pairs, batchSize: model.batchSize, showProgressBar: model.showProgress)
    }

    /// write_csv: the header when the file is new, then the row (epoch and steps -1 outside training). The
    /// file is rewritten whole (staged, renamed) rather than appended in place.
    func appendCSV(_ r: EvaluationResult, folder: String) throws {
        let dir = URL(fileURLWithPath: folder)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw CLIError.cannotRead(path: folder, reason: "cannot create the output folder: \(systemReason(error))")
        }
        let path = dir.appendingPathComponent(r.csvFile).path
        let exists = FileManager.default.fileExists(atPath: path)
        let old = exists ? String(decoding: try readInput(path), as: UTF8.self) : ""
        let text = old + r.csvText(includeHeader: !exists)
        try writeOutput(text, to: path)
    }
}
