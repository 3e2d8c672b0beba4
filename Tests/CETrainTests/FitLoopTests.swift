import CECore
import CEGraph
import XCTest
@testable import CETrain

/// fit's parts (schedules, AdamW, clipping, label checks) and a deterministic fit against PyTorch
/// (golden/make_train_goldens.py → golden/train/fit-*.json).
final class FitLoopTests: XCTestCase {
    /// 24 steps of batch 4, no shuffling, dropout 0, 1-label BCE and 3-label cross-entropy: per-step losses and the
    /// held-out logits after training against PyTorch's.
    func testDeterministicFitMatchesPyTorch() throws {
        for name in ["tiny-bert-l1", "tiny-bert-l3"] {
            let g = try ModelGradientTests.golden("fit-\(name).json")
            let model = try TrainModel<Float>(graph: try ModelGradientTests.graph(name))
            let o = g["options"]!
            var options = FitOptions()
            options.batchSize = o["batch_size"]!.intValue!
            options.learningRate = o["lr"]!.doubleValue!
            options.warmupSteps = o["warmup_steps"]!.intValue!
            options.weightDecay = o["weight_decay"]!.doubleValue!
            options.maxGradNorm = o["max_grad_norm"]!.doubleValue!
            options.shuffle = false
            options.dropout = false
            let train = ModelGradientTests.sequences(g["train_ids"]!, g["train_token_type_ids"]!)
            let labels = g["train_labels"]!.arrayValue!.map { $0.doubleValue! }
            let held = ModelGradientTests.sequences(g["held_ids"]!, g["held_token_type_ids"]!)
            let before = try model.logits(held).map(Double.init)
            let refBefore = g["held_logits_before"]!.arrayValue!.flatMap { $0.arrayValue!.map { $0.doubleValue! } }
            for (a, b) in zip(before, refBefore) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), "\(name) before") }
            var losses: [Double] = []
            try Fit.run(model, examples: zip(train, labels).map { TrainExample(sequence: $0, label: $1) }, options: options, callback: { event in
                if case .step(_, let total, _, let loss, _, _) = event { losses.append(loss); XCTAssertEqual(total, o["steps"]!.intValue!) }
            })
            let refLosses = g["losses"]!.arrayValue!.map { $0.doubleValue! }
            XCTAssertEqual(losses.count, refLosses.count)
            for (a, b) in zip(losses, refLosses) { XCTAssertEqual(a, b, accuracy: TrainTolerance.fitLogitRelative * max(1, b), "\(name) loss") }
            let after = try model.logits(held).map(Double.init)
            let ref = g["held_logits_after"]!.arrayValue!.flatMap { $0.arrayValue!.map { $0.doubleValue! } }
            let rms = (ref.reduce(0) { $0 + $1 * $1 } / Double(ref.count)).squareRoot()
            var worst = 0.0
            for (a, b) in zip(after, ref) { worst = max(worst, abs(a - b) / max(abs(b), rms)) }
            XCTAssertLessThan(worst, TrainTolerance.fitLogitRelative, name)
            // Training moved the logits well beyond the tolerance: the comparison is not trivially met.
            let moved = zip(after, before).map { abs($0 - $1) }.max()!
            XCTAssertGreaterThan(moved, 100 * TrainTolerance.fitLogitRelative * rms, name)
            print("\(name): held-out logits worst relative error \(worst), moved by up to \(moved)")
        }
    }

    /// transformers' schedules at their defining points.
    func testSchedulers() {
        XCTAssertEqual(Scheduler.warmupLinear.factor(step: 0, warmup: 4, total: 24), 0)
        XCTAssertEqual(Scheduler.warmupLinear.factor(step: 2, warmup: 4, total: 24), 0.5)
        XCTAssertEqual(Scheduler.warmupLinear.factor(step: 4, warmup: 4, total: 24), 1)
        XCTAssertEqual(Scheduler.warmupLinear.factor(step: 14, warmup: 4, total: 24), 0.5)
        XCTAssertEqual(Scheduler.warmupLinear.factor(step: 30, warmup: 4, total: 24), 0)
        XCTAssertEqual(Scheduler.warmupConstant.factor(step: 1, warmup: 4, total: 24), 0.25)
        XCTAssertEqual(Scheduler.warmupConstant.factor(step: 20, warmup: 4, total: 24), 1)
        XCTAssertEqual(Scheduler.constant.factor(step: 0, warmup: 4, total: 24), 1)
        XCTAssertEqual(Scheduler.warmupCosine.factor(step: 14, warmup: 4, total: 24), 0.5, accuracy: 1e-12)
        XCTAssertEqual(Scheduler.warmupCosine.factor(step: 4, warmup: 4, total: 24), 1, accuracy: 1e-12)
        XCTAssertEqual(Scheduler(name: "WarmupLinear"), .warmupLinear)
        XCTAssertEqual(Scheduler(name: "constantlr"), .constant)
        XCTAssertNil(Scheduler(name: "warmupcosinewithhardrestarts-typo"))
    }

    func testClippingAndDecayRules() {
        var p = Parameters<Float>(names: ["a.weight", "a.bias"], shapes: [[2], [1]], values: [[3, 0], [4]])
        let norm = clipGradientNorm(&p, maxNorm: 1)
        XCTAssertEqual(norm, 5)
        XCTAssertEqual(Double(p.values[0][0]), 0.6, accuracy: 1e-6)
        XCTAssertEqual(Double(p.values[1][0]), 0.8, accuracy: 1e-6)
        XCTAssertTrue(AdamW.decays("blk.0.attn_q.weight"))
        XCTAssertTrue(AdamW.decays("token_embd.weight"))
        XCTAssertFalse(AdamW.decays("blk.0.attn_q.bias"))
        XCTAssertFalse(AdamW.decays("blk.0.attn_norm.weight"))
        XCTAssertFalse(AdamW.decays("embd_norm.weight"))
        XCTAssertFalse(AdamW.decays("cls.pool_norm.weight"))
    }

    /// torch.optim.AdamW's first step moves every parameter with a non-zero gradient by lr (m̂/√v̂ = ±1), after decay.
    func testAdamWFirstStep() {
        var p = Parameters<Float>(names: ["w.weight", "w.bias"], shapes: [[2], [1]], values: [[1, -2], [0.5]])
        let g = Parameters<Float>(names: p.names, shapes: p.shapes, values: [[0.3, -7], [2]])
        var opt = AdamW(parameters: p, weightDecay: 0.1)
        opt.update(&p, grads: g, lr: 0.01)
        XCTAssertEqual(Double(p.values[0][0]), 1 * (1 - 0.001) - 0.01, accuracy: 1e-6)
        XCTAssertEqual(Double(p.values[0][1]), -2 * (1 - 0.001) + 0.01, accuracy: 1e-6)
        XCTAssertEqual(Double(p.values[1][0]), 0.5 - 0.01, accuracy: 1e-6)   // no decay on biases
    }

    func testBadLabelsAndNaNLoss() throws {
        let graph = try ModelGradientTests.graph("tiny-bert-l1")
        let model = try TrainModel<Float>(graph: graph)
        let seq = TrainSequence(ids: [2, 50, 3], typeIDs: [0, 0, 0])
        XCTAssertThrowsError(try Fit.run(model, examples: [], options: FitOptions())) { XCTAssertEqual($0 as? TrainError, .emptyTrainingData) }
        XCTAssertThrowsError(try Fit.run(model, examples: [TrainExample(sequence: seq, label: 2)], options: FitOptions())) {
            XCTAssertEqual($0 as? TrainError, .invalidLabel(index: 0, reason: "label 2.0 is outside [0, 1], which binary cross-entropy needs"))
        }
        var ce = FitOptions()
        ce.loss = .crossEntropy
        XCTAssertThrowsError(try Fit.run(model, examples: [TrainExample(sequence: seq, label: 0)], options: ce)) {
            XCTAssertEqual($0 as? TrainError, .invalidOption(name: "--loss ce", reason: "needs a model with several labels; this one has 1"))
        }
        let three = try TrainModel<Float>(graph: try ModelGradientTests.graph("tiny-bert-l3"))
        XCTAssertThrowsError(try Fit.run(three, examples: [TrainExample(sequence: seq, label: 1), TrainExample(sequence: seq, label: 3)], options: FitOptions())) {
            XCTAssertEqual($0 as? TrainError, .invalidLabel(index: 1, reason: "label 3.0 is not a class id in 0..<3"))
        }
        // A NaN weight makes the loss NaN at the first step: training stops and names it.
        model.parameters.values[0] = model.parameters.values[0].map { _ in Float.nan }
        var o = FitOptions()
        o.batchSize = 1
        XCTAssertThrowsError(try Fit.run(model, examples: [TrainExample(sequence: seq, label: 1)], options: o)) {
            XCTAssertEqual($0 as? TrainError, .nonFiniteLoss(step: 1, epoch: 0))
        }
    }

    /// Seeded dropout: the same seed gives the same masks; dropout changes the logits; evaluation mode has none.
    func testDropoutIsSeeded() throws {
        let graph = try ModelGradientTests.graph("tiny-bert-l1")
        let model = try TrainModel<Float>(graph: graph, dropout: DropoutRates(config: .object([]), architecture: .bert))
        XCTAssertEqual(model.dropout.embeddings, 0.1)
        let seqs = [TrainSequence(ids: [2, 40, 120, 3], typeIDs: [0, 0, 1, 1])]
        var a: SeededGenerator? = SeededGenerator(seed: 3), b: SeededGenerator? = SeededGenerator(seed: 3)
        let la = try model.forward(seqs, rng: &a).logits, lb = try model.forward(seqs, rng: &b).logits
        XCTAssertEqual(la, lb)
        XCTAssertNotEqual(la, try model.logits(seqs))
    }
}
