import ArgumentParser
import CEArtifact
import CECore
import CEGraph
import CEImport
import CERuntime
import CETrain
import CEVerify
import Foundation

struct FitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Train (fine-tune) a cross-encoder as sentence-transformers' CrossEncoder.fit does.",
        discussion: """
        Training data: JSON lines {"texts": [a, b], "label": y} (as eval reads them). The loss is BCEWithLogitsLoss \
        for one label (labels in [0, 1]), CrossEntropyLoss for several (class ids), or MSELoss (--loss mse); AdamW \
        with weight decay on every parameter but biases and LayerNorm weights; the learning rate follows --scheduler; \
        gradients are clipped to --max-grad-norm; dropout uses the config's probabilities from a generator seeded by \
        --seed, which also seeds shuffling. With --eval and --evaluator, the evaluator runs every --evaluation-steps \
        steps and at the end of each epoch, and the output keeps the best model (save_best_model); otherwise the \
        last. The output folder is written once, when training ends, through save_pretrained: all or nothing.
        """)

    enum EvaluatorChoice: String, ExpressibleByArgument, CaseIterable {
        case correlation, reranking, classification
        case binaryClassification = "binary-classification"
    }

    enum LossChoice: String, ExpressibleByArgument, CaseIterable { case bce, ce, mse }

    @Argument(help: "HuggingFace model directory (a sequence-classification model, or a bare encoder with --num-labels).")
    var model: String

    @Option(help: "Training data, JSON lines {\"texts\": [a, b], \"label\": y}.")
    var train: String

    @Option(help: "Output folder (HuggingFace layout, as save_pretrained writes it).")
    var output: String

    @Option(help: "Evaluation data for --evaluator (the format `cetool eval --data` reads for that task).")
    var eval: String?

    @Option(help: "correlation, binary-classification, classification or reranking.")
    var evaluator: EvaluatorChoice?

    @Option(parsing: .unconditional) var epochs = 1
    @Option(parsing: .unconditional) var batchSize = 16
    @Option(parsing: .unconditional) var lr = 2e-5
    @Option(parsing: .unconditional, help: "Warm-up steps (sentence-transformers' fit default: 10000).") var warmupSteps = 10_000
    @Option(parsing: .unconditional) var weightDecay = 0.01
    @Option(parsing: .unconditional) var maxGradNorm = 1.0
    @Option(parsing: .unconditional, help: "Tokens per pair after truncation (default: the model's own limit).") var maxLength: Int?
    @Option(help: "bce (one label), ce (several), mse (one label); default: bce for one label, ce for several.") var loss: LossChoice?
    @Option(parsing: .unconditional, help: "BCE's pos_weight.") var posWeight: Double?
    @Option(help: "WarmupLinear, constantlr, WarmupConstant or WarmupCosine.") var scheduler = "WarmupLinear"
    @Option(parsing: .unconditional) var seed: UInt64 = 42
    @Flag(help: "Keep the training data's order.") var noShuffle = false
    @Flag(help: "Train without dropout (the model as in evaluation).") var noDropout = false
    @Option(parsing: .unconditional, help: "Evaluate every N steps (0: at each epoch's end only).") var evaluationSteps = 0
    @Option(parsing: .unconditional, help: "Labels of a fresh head for a bare encoder (BertModel, …).") var numLabels: Int?
    @Option(parsing: .unconditional, help: "BLAS threads, at least 1.") var threads: Int?
    @Flag(help: "Replace an output folder cetool wrote.") var force = false
    @Flag(help: "Never draw the progress bar.") var noProgress = false

    func validate() throws {
        try requireAtLeast(1, epochs, "--epochs")
        try requireAtLeast(1, batchSize, "--batch-size")
        try requireAtLeast(0, warmupSteps, "--warmup-steps")
        try requireAtLeast(0, evaluationSteps, "--evaluation-steps")
        try requireAtLeast(1, maxLength, "--max-length")
        try requireAtLeast(1, numLabels, "--num-labels")
        try requireAtLeast(1, threads, "--threads")
        guard lr.isFinite, lr > 0 else { throw ValidationError("--lr must be a positive number; got \(lr)") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw ValidationError("--weight-decay must not be negative; got \(weightDecay)") }
        guard maxGradNorm.isFinite, maxGradNorm > 0 else { throw ValidationError("--max-grad-norm must be positive; got \(maxGradNorm)") }
        if let posWeight, !(posWeight.isFinite && posWeight > 0) { throw ValidationError("--pos-weight must be a positive number; got \(posWeight)") }
        if posWeight != nil, let loss, loss != .bce { throw ValidationError("--pos-weight applies to --loss bce only") }
        guard Scheduler(name: scheduler) != nil else {
            throw ValidationError("--scheduler \(scheduler) is not one of WarmupLinear, constantlr, WarmupConstant, WarmupCosine")
        }
        if (eval == nil) != (evaluator == nil) { throw ValidationError("--eval and --evaluator go together") }
        if evaluator == nil, evaluationSteps > 0 { throw ValidationError("--evaluation-steps needs --eval and --evaluator") }
    }

    func run() throws {
        TrainThreads.set(threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let outputURL = URL(fileURLWithPath: output)
        if FileManager.default.fileExists(atPath: output), !force {
            throw CLIError.refused("\(output) exists; pass --force to replace an output cetool wrote")
        }
        let examples = try EvaluationData.labelledPairs([UInt8](try readInput(train)))
        guard !examples.isEmpty else { throw TrainError.emptyTrainingData }
        defer { if let t = FitModel.temporary { try? FileManager.default.removeItem(at: t) } }
        let imported = try FitModel.load(try resolveModelPath(model), maxLength: maxLength, numLabels: numLabels, seed: seed)
        let h = imported.graph.hyperparameters
        let lossFn: Loss = switch loss {
        case .bce: .binaryCrossEntropy(posWeight: posWeight)
        case .ce: .crossEntropy
        case .mse: .meanSquaredError
        case nil: h.numLabels == 1 ? .binaryCrossEntropy(posWeight: posWeight) : .crossEntropy
        }
        for e in examples {
            do { try lossFn.validate(label: e.label, index: e.line - 1, numLabels: h.numLabels) } catch TrainError.invalidLabel(_, let reason) {
                throw CLIError.refused("\(train) line \(e.line): \(reason)")
            }
        }
        let sequences = try FitModel.encode(imported, examples.map(\.pair))
        let trainModel = try TrainModel<Float>(graph: imported.graph, dropout: DropoutRates(config: imported.config.raw, architecture: imported.graph.architecture))
        var options = FitOptions()
        options.epochs = epochs; options.batchSize = batchSize; options.learningRate = lr; options.warmupSteps = warmupSteps
        options.weightDecay = weightDecay; options.maxGradNorm = maxGradNorm; options.scheduler = Scheduler(name: scheduler)!
        options.loss = lossFn; options.seed = seed; options.shuffle = !noShuffle; options.dropout = !noDropout
        options.evaluationSteps = evaluationSteps
        let evaluate = try makeEvaluator(imported)
        var best: Parameters<Float>?
        var lastScore: Double?
        let bar = !noProgress && isatty(2) == 1
        let started = DispatchTime.now().uptimeNanoseconds
        try Fit.run(trainModel, examples: zip(sequences, examples).map { TrainExample(sequence: $0, label: $1.label) }, options: options,
                    evaluate: evaluate, save: { best = $0.parameters }) { event in
            switch event {
            case .step(let step, let total, let epoch, _, let running, _):
                if bar { FileHandle.standardError.write(Data("\rTraining epoch \(epoch + 1)/\(epochs) step \(step)/\(total) loss \(String(format: "%.4f", running))   ".utf8)) }
            case .evaluation(let score, let epoch, let step, let isBest):
                lastScore = score
                if bar { FileHandle.standardError.write(Data("\n".utf8)) }
                FileHandle.standardError.write(Data("evaluation epoch \(epoch + 1) step \(step): \(score)\(isBest ? " (best)" : "")\n".utf8))
            }
        }
        if bar { FileHandle.standardError.write(Data("\n".utf8)) }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        var out = imported
        out.graph = (best ?? trainModel.parameters).graph(replacing: imported.graph)
        let summary = try out.savePretrained(to: outputURL, force: force)
        write("{\"output\":\(JSONWriter.quote(summary.directory.path)),\"examples\":\(examples.count),\"steps\":\(Fit.steps(examples: examples.count, options: options).total)"
              + ",\"train_seconds\":\(JSONWriter.number((seconds * 10).rounded() / 10)),\"pairs_per_s\":\(JSONWriter.number((Double(examples.count * epochs) / seconds * 100).rounded() / 100))"
              + (lastScore.map { ",\"last_evaluation\":\(JSONWriter.number($0))" } ?? "") + "}\n")
    }

    /// The evaluator's primary metric on the eval data, scored by the model being trained (no dropout).
    func makeEvaluator(_ m: ImportedModel) throws -> ((TrainModel<Float>) throws -> Double)? {
        guard let eval, let evaluator else { return nil }
        let bytes = [UInt8](try readInput(eval)), act = m.scorePolicy.activation, l = m.graph.hyperparameters.numLabels
        func scores(_ model: TrainModel<Float>, _ seqs: [TrainSequence]) throws -> [[Float]] {
            var out: [[Float]] = []
            for start in stride(from: 0, to: seqs.count, by: 32) {
                let logits = try model.logits(Array(seqs[start..<min(start + 32, seqs.count)]))
                for b in 0..<(logits.count / l) { out.append(Scoring.apply(act, to: Array(logits[(b * l)..<((b + 1) * l)]))) }
            }
            return out
        }
        switch evaluator {
        case .correlation:
            let ex = try EvaluationData.labelledPairs(bytes), seqs = try FitModel.encode(m, ex.map(\.pair))
            return { try Evaluators.correlation(scores: try scores($0, seqs).map { $0[0] }, gold: ex.map(\.label)).value("spearman") ?? .nan }
        case .classification, .binaryClassification:
            let ex = try EvaluationData.labelledPairs(bytes), labels = try EvaluationData.classLabels(ex)
            try Evaluators.checkClassLabels(labels, numLabels: l)
            let seqs = try FitModel.encode(m, ex.map(\.pair))
            return { model in
                let r = try Evaluators.classification(scores: try scores(model, seqs), labels: labels, numLabels: l)
                return r.value(r.primaryKey) ?? .nan
            }
        case .reranking:
            let plan = try Evaluators.rerankingPlan(samples: try EvaluationData.rerankingSamples(bytes))
            let seqs = try FitModel.encode(m, plan.pairs)
            return { model in
                let r = try Evaluators.reranking(plan: plan, scores: try scores(model, seqs).map { $0[0] })
                return r.value(r.primaryKey) ?? .nan
            }
        }
    }
}

/// Loading and encoding for fit.
enum FitModel {
    /// The folder a fresh head was built in, removed when fit ends.
    nonisolated(unsafe) static var temporary: URL?

    static func load(_ path: String, maxLength: Int?, numLabels: Int?, seed: UInt64) throws -> ImportedModel {
        let url = URL(fileURLWithPath: path)
        let m = try ModelDirectory.load(url, maxLength: maxLength)
        // A bare encoder (BertModel, …) imports without a head (numLabels 0): fit gives it a fresh one.
        guard m.graph.isEncoderOnly else {
            if let numLabels, numLabels != m.graph.hyperparameters.numLabels {
                throw CLIError.refused("--num-labels \(numLabels) differs from the model's \(m.graph.hyperparameters.numLabels) labels; --num-labels is for a bare encoder without a head")
            }
            return m
        }
        let name = m.config.architectureName
        guard let numLabels else {
            throw CLIError.refused("\(path) is a bare encoder (\(name)) without a classification head: pass --num-labels N for a fresh head, as CrossEncoder(model_name, num_labels=N) builds")
        }
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("cetool-fit-head-\(getpid())")
        try? FileManager.default.removeItem(at: temp)
        FitModel.temporary = temp
        try FreshHead.build(source: url, bareName: name, numLabels: numLabels, seed: seed, into: temp)
        return try ModelDirectory.load(temp, maxLength: maxLength)
    }

    static func encode(_ m: ImportedModel, _ pairs: [(String, String)]) throws -> [TrainSequence] {
        try pairs.map {
            let e = try m.tokenizer.encode($0.0, $0.1, maxLength: m.defaultMaxLength)
            return TrainSequence(ids: e.ids, typeIDs: e.typeIDs)
        }
    }
}
