import CEArtifact
import CECore
import CEGraph
import CEImport
import CEQuant
import COnnxProto
import CETestSupport
import Foundation
import XCTest
@testable import CEOnnx

/// export-onnx of DeBERTa-v2/v3 (the scores are OnnxRoundTripTests' deberta group): the folder is written, the inputs
/// are optimum's (token_type_ids only with a type table), fp16 widens each half weight once even where key_proj is read
/// twice (share_att_key), and the relative-row table covers every distance.
final class DebertaV2OnnxExportTests: XCTestCase {
    static let root = repositoryRoot()

    func model(_ name: String) throws -> ImportedModel {
        try ModelDirectory.load(Self.root.appendingPathComponent("golden/models/\(name)"))
    }

    func testDebertaV3IsWrittenAsAFolder() throws {
        let dir = try makeTemporaryDirectory("cetool-onnx-deberta")
        defer { try? FileManager.default.removeItem(at: dir) }
        let s = try OnnxExport.write(try model("tiny-deberta-v3"), to: dir.appendingPathComponent("out"), policy: ReplacePolicy(force: false))
        XCTAssertTrue(s.files.map(\.path).contains(OnnxExport.modelFile))
        XCTAssertFalse(s.files.map(\.path).contains("model.safetensors"))
        let card = try String(contentsOf: dir.appendingPathComponent("out/README.md"), encoding: .utf8)
        XCTAssertTrue(card.contains("| inputs | `input_ids`, `attention_mask`: int64"), card)
    }

    /// Inputs, one producer per value, and (fp16) as many widening Casts as half initializers.
    func testInputsAndUniqueOutputsAtFp32AndFp16() throws {
        for (name, inputs) in [("tiny-deberta-v3", ["input_ids", "attention_mask"]), ("tiny-deberta-v2", ["input_ids", "attention_mask", "token_type_ids"]),
                               ("tiny-deberta-c2p", ["input_ids", "attention_mask"])] {
            var m = try model(name)
            for half in [false, true] {
                if half { m.graph = try Quantize.apply(.fp16, to: m.graph) }
                let bytes = try OnnxExport.modelBytes(m)
                XCTAssertEqual(try OnnxExport.modelBytes(m), bytes, "\(name): not deterministic")
                let decoded = bytes.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
                let p = try XCTUnwrap(decoded, name)
                defer { onnx__model_proto__free_unpacked(p, nil) }
                let g = p.pointee.graph.pointee
                XCTAssertEqual((0..<g.n_input).map { String(cString: g.input[$0]!.pointee.name) }, inputs, name)
                var outputs: [String] = []
                for i in 0..<g.n_node { for k in 0..<g.node[i]!.pointee.n_output { outputs.append(String(cString: g.node[i]!.pointee.output[k]!)) } }
                XCTAssertEqual(Set(outputs).count, outputs.count, "\(name) half \(half): a value with two producers")
                let halves = (0..<g.n_initializer).filter { g.initializer[$0]!.pointee.data_type == 10 }.count
                XCTAssertEqual(halves, outputs.filter { $0.hasSuffix(".f32") }.count, name)
                XCTAssertEqual(halves > 0, half, name)
            }
        }
    }

    /// Past the saturation distance D the rel_embd row stays at its ends (so clipping i − j to ±D is exact), and D is
    /// where it first gets there: the three tiny configs and deberta-v3-base's (256 buckets over 512).
    func testRelativeRowsSaturateAtTheTableEnds() throws {
        var configs = try ["tiny-deberta-v3", "tiny-deberta-v2", "tiny-deberta-c2p"].map { try XCTUnwrap(model($0).graph.hyperparameters.debertaV2) }
        var base = configs[0]
        base.positionBuckets = 256
        base.maxRelativePositions = 512
        configs.append(base)
        for p in configs {
            let d = OnnxGraphExport.saturationDistance(p), top = p.relativeEmbeddingRows - 1
            XCTAssertGreaterThan(d, 0)
            XCTAssertTrue(p.relativeRow(d - 1) != top || p.relativeRow(-(d - 1)) != 0, "\(p)")
            for k in d...(4 * d + 600) {
                XCTAssertEqual(p.relativeRow(k), top, "\(k)")
                XCTAssertEqual(p.relativeRow(-k), 0, "\(-k)")
            }
        }
    }
}
