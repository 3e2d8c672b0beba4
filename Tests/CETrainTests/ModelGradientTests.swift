import CECore
import CEGraph
import CEImport
import CETestSupport
import Foundation
import XCTest
@testable import CETrain

/// Whole-model gradients: Float64 finite differences through every op of each architecture (with and without dropout),
/// and fp32 gradients against PyTorch autograd (golden/make_train_goldens.py → golden/train/grads-*.json).
final class ModelGradientTests: XCTestCase {
    static let models = ["tiny-bert-l1", "tiny-bert-l3", "tiny-roberta", "tiny-distilbert", "tiny-electra", "tiny-modernbert",
                         "tiny-modernbert-mean"]

    static func graph(_ name: String) throws -> Graph {
        try ModelDirectory.load(repositoryRoot().appendingPathComponent("golden/models/\(name)")).graph
    }

    static func golden(_ file: String) throws -> JSONValue {
        try JSONParser.parse(Array(try Data(contentsOf: repositoryRoot().appendingPathComponent("golden/train/\(file)"))))
    }

    static func sequences(_ ids: JSONValue, _ types: JSONValue) -> [TrainSequence] {
        zip(ids.arrayValue!, types.arrayValue!).map { i, t in
            TrainSequence(ids: i.arrayValue!.map { Int32($0.intValue!) }, typeIDs: t.arrayValue!.map { Int32($0.intValue!) })
        }
    }

    func testFiniteDifferencesEveryArchitecture() throws {
        for name in Self.models {
            let g = try Self.golden("grads-\(name).json")
            // Three of the golden's sequences, shortened: FD cost is two passes per checked entry.
            let seqs = Self.sequences(g["input_ids"]!, g["token_type_ids"]!).prefix(3).map {
                TrainSequence(ids: Array($0.ids.prefix(14)), typeIDs: Array($0.typeIDs.prefix(14)))
            }
            let graph = try Self.graph(name)
            for dropout in [DropoutRates.none, DropoutRates(embeddings: 0.2, attentionProbs: 0.2, attentionOutput: 0.2,
                                                             feedForward: 0.2, headInput: 0.2, headOutput: 0.2)] {
                let r = try GradientCheck.run(graph: graph, sequences: seqs, dropout: dropout, perTensor: 2)
                XCTAssertLessThan(r.worstRelativeError, TrainTolerance.finiteDifference,
                                  "\(name) dropout \(dropout != .none): worst \(r.worstParameter)")
                XCTAssertGreaterThan(r.checkedEntries, 2 * graph.weights.count)
                // Only rows no sequence reads may have zero gradients (none of the checked largest entries).
                XCTAssertEqual(r.zeroParameters, [], name)
            }
        }
    }

    func testGradientsMatchPyTorch() throws {
        for name in Self.models {
            let g = try Self.golden("grads-\(name).json")
            let graph = try Self.graph(name)
            let model = try TrainModel<Float>(graph: graph)
            let l = graph.hyperparameters.numLabels
            XCTAssertEqual(g["num_labels"]!.intValue, l)
            var rng: SeededGenerator? = nil
            let pass = try model.forward(Self.sequences(g["input_ids"]!, g["token_type_ids"]!), rng: &rng)
            let labels = g["labels"]!.arrayValue!.map { $0.doubleValue! }
            let (loss, dlogits) = Loss.default(numLabels: l).evaluate(pass.logits, labels: labels, numLabels: l)
            let refLogits = g["logits"]!.arrayValue!.flatMap { $0.arrayValue!.map { $0.doubleValue! } }
            for (a, b) in zip(pass.logits, refLogits) { XCTAssertEqual(Double(a), b, accuracy: 1e-5 * max(1, abs(b)), "\(name) logits") }
            XCTAssertEqual(loss, g["loss"]!.doubleValue!, accuracy: 1e-5, name)
            let grads = model.backward(pass, dlogits: dlogits)
            let ref = g["parameters"]!
            XCTAssertEqual(ref.objectValue!.count, grads.names.count, "\(name): every PyTorch parameter has one canonical tensor")
            var worst = 0.0, worstName = ""
            let largestNorm = ref.objectValue!.map { $0.1["norm"]!.doubleValue! }.max()!
            for (t, canonical) in grads.names.enumerated() {
                let hf = try XCTUnwrap(ModelDirectory.huggingFaceName(forCanonical: canonical, architecture: graph.architecture))
                let p = try XCTUnwrap(ref[hf], "\(name): \(hf) not in the golden")
                let mine = grads.values[t].map(Double.init)
                let norm = mine.reduce(0) { $0 + $1 * $1 }.squareRoot(), refNorm = p["norm"]!.doubleValue!, scale = p["max_abs"]!.doubleValue!
                if canonical.hasPrefix("blk."), canonical.hasSuffix(".attn_k.bias") {
                    XCTAssertLessThan(refNorm, TrainTolerance.zeroGradientBound * largestNorm, "\(name) \(hf) (PyTorch)")
                    XCTAssertLessThan(norm, TrainTolerance.zeroGradientBound * largestNorm, "\(name) \(hf)")
                    continue
                }
                var err = abs(norm - refNorm) / refNorm
                for (i, v) in zip(p["indices"]!.arrayValue!, p["values"]!.arrayValue!) {
                    err = max(err, abs(mine[i.intValue!] - v.doubleValue!) / scale)
                }
                if err > worst { worst = err; worstName = hf }
            }
            XCTAssertLessThan(worst, TrainTolerance.gradientRelative, "\(name): worst \(worstName)")
            print("\(name): worst gradient relative error \(worst) (\(worstName))")
        }
    }
}
