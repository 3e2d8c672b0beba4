import CEGraph
import Foundation

/// CrossEncoder.fit's options, sentence-transformers' defaults (fit_mixin.py).
public struct FitOptions: Sendable {
    public var epochs = 1
    /// The DataLoader's batch size (fit reads it from the loader; cetool's default).
    public var batchSize = 16
    /// optimizer_params {"lr": 2e-5}.
    public var learningRate = 2e-5
    public var warmupSteps = 10_000
    public var weightDecay = 0.01
    public var maxGradNorm = 1.0
    public var scheduler = Scheduler.warmupLinear
    /// nil: BCE for one label, cross-entropy for several.
    public var loss: Loss?
    /// Seeds shuffling and dropout.
    public var seed: UInt64 = 42
    public var shuffle = true
    /// Dropout with the config's probabilities; false runs the model as in evaluation.
    public var dropout = true
    /// 0: evaluate at the end of each epoch only.
    public var evaluationSteps = 0
    public var saveBestModel = true

    public init() {}

    /// Checks every option is in range.
    public func validate() throws {
        guard epochs >= 1 else { throw TrainError.invalidOption(name: "epochs", reason: "\(epochs) must be at least 1") }
        guard batchSize >= 1 else { throw TrainError.invalidOption(name: "batch size", reason: "\(batchSize) must be at least 1") }
        guard learningRate.isFinite, learningRate > 0 else { throw TrainError.invalidOption(name: "learning rate", reason: "\(learningRate) must be a positive number") }
        guard warmupSteps >= 0 else { throw TrainError.invalidOption(name: "warmup steps", reason: "\(warmupSteps) must not be negative") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw TrainError.invalidOption(name: "weight decay", reason: "\(weightDecay) must not be negative") }
        guard maxGradNorm.isFinite, maxGradNorm > 0 else { throw TrainError.invalidOption(name: "max grad norm", reason: "\(maxGradNorm) must be positive") }
        guard evaluationSteps >= 0 else { throw TrainError.invalidOption(name: "evaluation steps", reason: "\(evaluationSteps) must not be negative") }
        if case .binaryCrossEntropy(let pw?) = loss, !(pw.isFinite && pw > 0) {
            throw TrainError.invalidOption(name: "pos weight", reason: "\(pw) must be a positive number")
        }
    }
}

/// One labelled example, encoded.
public struct TrainExample: Sendable {
    public var sequence: TrainSequence
    public var label: Double
    public init(sequence: TrainSequence, label: Double) {
        self.sequence = sequence
        self.label = label
    }
}

/// What fit reports to its callback.
public enum FitEvent: Sendable {
    /// After each optimizer step (1-based `step` of `totalSteps`): the step's loss and the mean loss of the epoch so far.
    case step(step: Int, totalSteps: Int, epoch: Int, loss: Double, runningLoss: Double, learningRate: Double)
    /// After an evaluation: its score (higher is better) and whether it is the best so far (then saved).
    case evaluation(score: Double, epoch: Int, step: Int, best: Bool)
}

/// sentence-transformers' CrossEncoder.fit on a TrainModel<Float>: per step a forward with dropout, the loss's
/// mean over the batch, a backward, clipping of the gradients' global norm, AdamW at the scheduled rate.
public enum Fit {
    /// Optimizer steps: ceil(examples / batch) per epoch (the DataLoader keeps its last partial batch).
    /// The schedule's horizon is fit's `len(train) // batch_size * epochs`, which can be smaller.
    public static func steps(examples: Int, options: FitOptions) -> (total: Int, schedule: Int) {
        ((examples + options.batchSize - 1) / options.batchSize * options.epochs, examples / options.batchSize * options.epochs)
    }

    /// Trains `model` in place. `evaluate` scores the model (higher is better) every `evaluationSteps` steps and at
    /// each epoch's end; `save` is called with the model whenever the score is the best so far (save_best_model),
    /// or once at the end when there is no evaluator or save_best_model is off. Throws on the first non-finite loss.
    public static func run(_ model: TrainModel<Float>, examples: [TrainExample], options: FitOptions,
                           evaluate: ((TrainModel<Float>) throws -> Double)? = nil,
                           save: ((TrainModel<Float>) throws -> Void)? = nil,
                           callback: ((FitEvent) -> Void)? = nil) throws {
        try options.validate()
        guard !examples.isEmpty else { throw TrainError.emptyTrainingData }
        let numLabels = model.graph.hyperparameters.numLabels
        let loss = options.loss ?? .default(numLabels: numLabels)
        for (i, e) in examples.enumerated() { try loss.validate(label: e.label, index: i, numLabels: numLabels) }
        if !options.dropout { model.dropout = .none }
        var optimizer = AdamW(parameters: model.parameters, weightDecay: options.weightDecay)
        let (total, horizon) = steps(examples: examples.count, options: options)
        var shuffler = SeededGenerator(seed: options.seed)
        var dropoutRNG: SeededGenerator? = SeededGenerator(seed: options.seed &+ 0x5EED)
        var step = 0, best = -Double.infinity, saved = false
        func evaluateNow(epoch: Int) throws {
            guard let evaluate else { return }
            let score = try evaluate(model)
            let isBest = score > best
            if isBest { best = score }
            if isBest, options.saveBestModel, let save { try save(model); saved = true }
            callback?(.evaluation(score: score, epoch: epoch, step: step, best: isBest))
        }
        for epoch in 0..<options.epochs {
            var order = Array(examples.indices)
            if options.shuffle { order.shuffle(using: &shuffler) }
            var epochLoss = 0.0, epochSteps = 0
            for start in stride(from: 0, to: order.count, by: options.batchSize) {
                let batch = order[start..<min(start + options.batchSize, order.count)].map { examples[$0] }
                let pass = try model.forward(batch.map(\.sequence), rng: &dropoutRNG)
                let (value, dlogits) = loss.evaluate(pass.logits, labels: batch.map(\.label), numLabels: numLabels)
                guard value.isFinite else { throw TrainError.nonFiniteLoss(step: step + 1, epoch: epoch) }
                var grads = model.backward(pass, dlogits: dlogits)
                clipGradientNorm(&grads, maxNorm: options.maxGradNorm)
                let lr = options.learningRate * options.scheduler.factor(step: step, warmup: options.warmupSteps, total: horizon)
                optimizer.update(&model.parameters, grads: grads, lr: lr)
                step += 1; epochSteps += 1; epochLoss += value
                callback?(.step(step: step, totalSteps: total, epoch: epoch, loss: value, runningLoss: epochLoss / Double(epochSteps), learningRate: lr))
                if options.evaluationSteps > 0, step % options.evaluationSteps == 0 { try evaluateNow(epoch: epoch) }
            }
            try evaluateNow(epoch: epoch)
        }
        if !saved, let save { try save(model) }
    }
}
