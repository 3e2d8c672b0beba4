import CECore
import CEGraph
import CEImport
import COnnxProto
import CETestSupport
import Foundation
import XCTest
@testable import CEOnnx

/// export-onnx of the decoder graph (OnnxDecoder.swift): optimum's text-classification names (input_ids and
/// attention_mask, no position_ids; logits), every node's inputs produced before it, the same bytes twice; a decoder
/// without a score head is refused naming it. The scores are OnnxRoundTripTests' (golden/roundtrip/onnx-decoder.json).
final class DecoderExportTests: XCTestCase {
    func testDecodersExportWithOptimumNamesSortedAndDeterministic() throws {
        for name in ["tiny-qwen3", "tiny-qwen2", "tiny-llama"] {
            let m = try ModelDirectory.load(repositoryRoot().appendingPathComponent("golden/models/\(name)"))
            let bytes = try OnnxExport.modelBytes(m)
            XCTAssertEqual(try OnnxExport.modelBytes(m), bytes, name)
            let decoded = bytes.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
            let p = try XCTUnwrap(decoded, name)
            defer { onnx__model_proto__free_unpacked(p, nil) }
            let g = try XCTUnwrap(p.pointee.graph)
            XCTAssertEqual((0..<g.pointee.n_input).map { String(cString: g.pointee.input[$0]!.pointee.name) }, ["input_ids", "attention_mask"], name)
            XCTAssertEqual((0..<g.pointee.n_output).map { String(cString: g.pointee.output[$0]!.pointee.name) }, ["logits"], name)
            var known: Set<String> = ["input_ids", "attention_mask"]
            for i in 0..<g.pointee.n_initializer { known.insert(String(cString: g.pointee.initializer[i]!.pointee.name)) }
            for i in 0..<g.pointee.n_node {
                let n = g.pointee.node[i]!.pointee
                for k in 0..<n.n_input { XCTAssertTrue(known.contains(String(cString: n.input[k]!)), "\(name): \(String(cString: n.name)) reads an unknown value") }
                for k in 0..<n.n_output { known.insert(String(cString: n.output[k]!)) }
            }
            XCTAssertTrue(known.contains("logits"), name)
        }
    }

    func testDecoderWithoutScoreHeadIsRefused() throws {
        var m = try ModelDirectory.load(repositoryRoot().appendingPathComponent("golden/models/tiny-qwen2"))
        m.graph.hyperparameters.numLabels = 0
        m.graph.weights[TensorName.classifierOut.weight] = nil
        XCTAssertThrowsError(try OnnxExport.modelBytes(m)) { e in
            XCTAssertEqual(e as? OnnxExportError, .unsupportedArchitecture(name: "qwen2 decoder without a score head"))
        }
    }
}
