import CECore
import CEGraph
import XCTest

/// The canonical graph on its own: the op list the executor walks, the weights each architecture requires, and
/// validate()'s refusals (formats/graph.md).
final class GraphTests: XCTestCase {
    func hyperparameters(layers: Int = 2, embeddingSize: Int? = nil, modernBERT: ModernBERTParameters? = nil) -> Hyperparameters {
        var h = Hyperparameters(vocabSize: 11, hiddenSize: 8, numHiddenLayers: layers, numAttentionHeads: 2, intermediateSize: 16,
                                hiddenAct: .gelu, maxPositionEmbeddings: 20, typeVocabSize: 2, layerNormEps: 1e-12, padTokenID: 1,
                                numLabels: 1)
        if let e = embeddingSize { h.embeddingSize = e }
        h.modernBERT = modernBERT
        return h
    }

    /// A graph holding every required weight at its shape, filled with a deterministic ramp.
    func complete(_ a: Architecture, _ h: Hyperparameters) -> Graph {
        var weights: [String: Tensor] = [:]
        for (name, shape) in TensorName.required(a, h) {
            let n = shape.dims.reduce(1, *)
            weights[name] = Tensor(floats: (0..<n).map { Float($0 % 7) / 7 }, shape: shape)
        }
        return Graph(architecture: a, hyperparameters: h, weights: weights, labels: ["LABEL_0"])
    }

    func testOpListFollowsTheArchitecture() {
        let bert = complete(.bert, hyperparameters())
        XCTAssertEqual(bert.ops, [.embed, .encoderBlock(0), .encoderBlock(1), .poolFirstToken(.tanh), .classify])
        let electra = complete(.electra, hyperparameters(layers: 1, embeddingSize: 4))
        XCTAssertEqual(electra.ops, [.embed, .projectEmbeddings, .encoderBlock(0), .poolFirstToken(electra.poolActivation), .classify])
        let m = ModernBERTParameters.transformersDefaults(numHiddenLayers: 3)
        let modern = complete(.modernbert, hyperparameters(layers: 3, modernBERT: m))
        XCTAssertEqual(modern.ops.first, .embedTokens)
        XCTAssertEqual(modern.ops.count, 1 + 3 + 3)
        XCTAssertEqual(Array(modern.ops[1...3]), m.layerTypes.enumerated().map { .preNormBlock($0.offset, $0.element) })
        XCTAssertEqual(modern.ops.suffix(2), [.poolHead(m.classifierPooling, m.classifierActivation), .classify])
    }

    func testCompleteGraphsValidate() throws {
        for a in [Architecture.bert, .roberta, .distilbert, .electra] {
            XCTAssertNoThrow(try complete(a, hyperparameters()).validate(), "\(a)")
        }
        XCTAssertNoThrow(try complete(.modernbert, hyperparameters(modernBERT: .transformersDefaults(numHiddenLayers: 2))).validate())
    }

    func testValidateRefusesMissingExtraAndMisshapenWeights() throws {
        var g = complete(.bert, hyperparameters())
        let q = TensorName.attnQ(1).weight
        let kept = try XCTUnwrap(g.weights.removeValue(forKey: q))
        XCTAssertThrowsError(try g.validate()) { XCTAssertEqual($0 as? GraphError, .missingWeight(name: q)) }
        g.weights[q] = Tensor(floats: [Float](repeating: 0, count: 8 * 9), shape: [8, 9])
        XCTAssertThrowsError(try g.validate()) { XCTAssertEqual($0 as? GraphError, .shapeMismatch(name: q, expected: kept.shape, actual: [8, 9])) }
        g.weights[q] = kept
        g.weights["blk.9.attn_q.weight"] = kept
        XCTAssertThrowsError(try g.validate()) { XCTAssertEqual($0 as? GraphError, .unexpectedWeight(name: "blk.9.attn_q.weight")) }
    }

    func testValidateRefusesInconsistentOptions() {
        var g = complete(.bert, hyperparameters())
        g.weightGroupSize = 7
        XCTAssertThrowsError(try g.validate())
        XCTAssertFalse(Graph.isValidWeightGroupSize(7))
        XCTAssertFalse(Graph.isValidWeightGroupSize(0))
        XCTAssertTrue(Graph.isValidWeightGroupSize(64))
        // ModernBERT options on BERT, and ModernBERT without its layer types matching the layers.
        var bert = complete(.bert, hyperparameters())
        bert.hyperparameters.modernBERT = .transformersDefaults(numHiddenLayers: 2)
        XCTAssertThrowsError(try bert.validate())
        var modern = complete(.modernbert, hyperparameters(modernBERT: .transformersDefaults(numHiddenLayers: 2)))
        modern.hyperparameters.modernBERT?.layerTypes = [.global]
        XCTAssertThrowsError(try modern.validate())
    }

    /// RoBERTa positions start after the pad id and padding keeps it; every other architecture counts from 0.
    func testPositions() {
        let roberta = complete(.roberta, hyperparameters())
        XCTAssertEqual(roberta.positions(of: [0, 5, 6, 2]), [2, 3, 4, 5])
        XCTAssertEqual(roberta.positions(of: [0, 5, 1, 1]), [2, 3, 1, 1])
        XCTAssertEqual(roberta.firstPosition, 2)
        XCTAssertEqual(roberta.maxSequenceLength, 18)
        XCTAssertEqual(complete(.bert, hyperparameters()).positions(of: [0, 5, 1]), [0, 1, 2])
    }
}
