import CEArtifact
import CECore
import CEGraph
import CEImport
import CEQuant
import COnnxProto
import CProtobufC
import CETestSupport
import Foundation
import XCTest
@testable import CEOnnx

/// The export folder, its determinism and its refusals, on the committed tiny models (no Python).
final class OnnxExportTests: XCTestCase {
    static let root = repositoryRoot()
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cetool-onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func model(_ name: String) throws -> ImportedModel {
        try ModelDirectory.load(Self.root.appendingPathComponent("golden/models/\(name)"))
    }

    /// The sentence-transformers layout with onnx/model.onnx and no second copy of the weights; the same model written
    /// twice gives the same bytes in every file; the folder counts as cetool's (so --force may replace it).
    func testFolderLayoutIsDeterministic() throws {
        let m = try model("tiny-bert-l1")
        for sub in ["a", "b"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true) }
        let a = dir.appendingPathComponent("a/out"), b = dir.appendingPathComponent("b/out")
        let s = try OnnxExport.write(m, to: a, policy: ReplacePolicy(force: false))
        try OnnxExport.write(m, to: b, policy: ReplacePolicy(force: false))
        XCTAssertEqual(s.files.map(\.path), ["README.md", "config.json", "config_sentence_transformers.json", "modules.json", "onnx/model.onnx",
                                             "sentence_bert_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"])
        for f in s.files {
            XCTAssertEqual(try SHA256.hex(ofFile: a.appendingPathComponent(f.path).path), f.sha256, f.path)
            XCTAssertEqual(try SHA256.hex(ofFile: b.appendingPathComponent(f.path).path), f.sha256, f.path)
        }
        XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent("tokenizer.json")),
                       try Data(contentsOf: Self.root.appendingPathComponent("golden/models/tiny-bert-l1/tokenizer.json")))
        XCTAssertTrue(OwnedOutput.isOwned(folder: a.path))
    }

    /// Read back through the generated decoder: optimum's input and output names, dynamic axes, opset 17, and every
    /// node's inputs produced before it (a topologically sorted graph, as ONNX requires).
    func testModelDeclaresOptimumNamesAndIsSorted() throws {
        for (name, inputs) in [("tiny-bert-l1", ["input_ids", "attention_mask", "token_type_ids"]), ("tiny-roberta", ["input_ids", "attention_mask"]),
                               ("tiny-distilbert", ["input_ids", "attention_mask"]), ("tiny-electra", ["input_ids", "attention_mask", "token_type_ids"]),
                               ("tiny-modernbert", ["input_ids", "attention_mask"])] {
            let bytes = try OnnxExport.modelBytes(try model(name))
            let decoded = bytes.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
            let m = try XCTUnwrap(decoded, name)
            defer { onnx__model_proto__free_unpacked(m, nil) }
            XCTAssertEqual(m.pointee.ir_version, 8)
            XCTAssertEqual(m.pointee.opset_import[0]!.pointee.version, 17)
            let g = try XCTUnwrap(m.pointee.graph)
            func names(_ n: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<Onnx__ValueInfoProto>?>?) -> [String] {
                (0..<n).map { String(cString: p![$0]!.pointee.name) }
            }
            XCTAssertEqual(names(g.pointee.n_input, g.pointee.input), inputs, name)
            XCTAssertEqual(names(g.pointee.n_output, g.pointee.output), ["logits"], name)
            let dims = g.pointee.input[0]!.pointee.type.pointee.tensor_type.pointee.shape.pointee
            XCTAssertEqual((0..<dims.n_dim).map { String(cString: dims.dim[$0]!.pointee.dim_param) }, ["batch_size", "sequence_length"])
            var known = Set(inputs)
            for i in 0..<g.pointee.n_initializer { known.insert(String(cString: g.pointee.initializer[i]!.pointee.name)) }
            for i in 0..<g.pointee.n_node {
                let n = g.pointee.node[i]!.pointee
                for k in 0..<n.n_input { XCTAssertTrue(known.contains(String(cString: n.input[k]!)), "\(name): node \(String(cString: n.name)) reads an unknown value") }
                for k in 0..<n.n_output { known.insert(String(cString: n.output[k]!)) }
            }
            XCTAssertTrue(known.contains("logits"), name)
        }
    }

    /// An existing output is refused without --force and left as it was; a folder cetool did not write is refused even
    /// with it; with --force a folder cetool wrote is replaced whole.
    func testExistingOutputsAreRefusedUnlessForced() throws {
        let m = try model("tiny-bert-l1")
        let out = dir.appendingPathComponent("out")
        try OnnxExport.write(m, to: out, policy: ReplacePolicy(force: false))
        XCTAssertThrowsError(try OnnxExport.write(m, to: out, policy: ReplacePolicy(force: false))) {
            XCTAssertEqual($0 as? StagingError, .targetExists(path: out.path))
        }
        try OnnxExport.write(try model("tiny-roberta"), to: out, policy: ReplacePolicy(force: true))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("tokenizer_config.json").path) &&
                       (try? Data(contentsOf: out.appendingPathComponent("tokenizer_config.json"))) ==
                       (try? Data(contentsOf: Self.root.appendingPathComponent("golden/models/tiny-bert-l1/tokenizer_config.json"))))
        let foreign = dir.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: foreign.appendingPathComponent("notes.txt"))
        XCTAssertThrowsError(try OnnxExport.write(m, to: foreign, policy: ReplacePolicy(force: true))) {
            XCTAssertEqual($0 as? StagingError, .notWrittenByCetool(path: foreign.path))
        }
        XCTAssertEqual(try Data(contentsOf: foreign.appendingPathComponent("notes.txt")), Data("mine".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["foreign", "out"], "no staging left behind")
    }

    /// int8 scales whose groups no MatMulNBits block fits (groups of 24 inputs: no power of two ≥ 16 divides 24) are
    /// refused with a typed error naming the scale tensor, before anything is staged.
    func testInt8GroupsOnnxCannotHoldAreRefusedAndNothingIsWritten() throws {
        var m = try model("tiny-bert-l1")
        var plan = Quantize.Plan.all
        plan.weightGroupSize = 24
        m.graph = try Quantize.apply(.int8, to: m.graph, plan: plan)
        let out = dir.appendingPathComponent("int8")
        XCTAssertThrowsError(try OnnxExport.write(m, to: out, policy: ReplacePolicy(force: false))) {
            guard case .unsupportedQuantization(let name, _)? = $0 as? OnnxExportError else { return XCTFail("\($0)") }
            XCTAssertTrue(name.hasSuffix("_scale"), name)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    /// An int8 graph exports its own codes (code + 128 as MatMulNBits' uint8 B, bits 8) and one scale per block, one
    /// MatMulNBits per int8 linear, the int8 token table as int8, under ONNX Runtime's com.microsoft opset.
    func testInt8ExportsTheGraphsOwnCodes() throws {
        var m = try model("tiny-bert-l1")
        m.graph = try Quantize.apply(.int8, to: m.graph)
        let bytes = try OnnxExport.modelBytes(m)
        let decoded = bytes.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
        let p = try XCTUnwrap(decoded)
        defer { onnx__model_proto__free_unpacked(p, nil) }
        let g = p.pointee.graph.pointee
        let domains = (0..<p.pointee.n_opset_import).map { i -> String in
            guard let d = p.pointee.opset_import[i]!.pointee.domain else { return "" }
            return String(cString: d)
        }
        XCTAssertEqual(domains, ["", "com.microsoft"])
        let nbits = (0..<g.n_node).filter { String(cString: g.node[$0]!.pointee.op_type) == "MatMulNBits" }
        let int8Linears = m.graph.weights.filter { $0.value.dtype == .i8 && $0.key != TensorName.tokenEmbedding.weight }
        XCTAssertEqual(nbits.count, int8Linears.count)
        let q = TensorName.attnQ(0).weight
        let inits = (0..<g.n_initializer).map { g.initializer[$0]!.pointee }
        let b = try XCTUnwrap(inits.first { String(cString: $0.name) == q + ".q8" })
        XCTAssertEqual(b.data_type, 2)  // uint8
        let w = try XCTUnwrap(m.graph.weights[q])
        let stored = Array(UnsafeBufferPointer(start: b.raw_data.data, count: b.raw_data.len))
        let codes = w.storage.bytes.prefix(w.shape.elementCount).map { UInt8(truncatingIfNeeded: Int(Int8(bitPattern: $0)) + 128) }
        XCTAssertEqual(stored, codes, "32 inputs, one block of 32 per row: B is the codes + 128 in row order")
        let table = try XCTUnwrap(inits.first { String(cString: $0.name) == TensorName.tokenEmbedding.weight })
        XCTAssertEqual(table.data_type, 3)  // int8
    }

    /// fp16 stores half the linear bytes: fp16 initializers, each widened by one Cast.
    func testFp16StoresHalfWeightsWidenedByCast() throws {
        var m = try model("tiny-bert-l1")
        let fp32 = try OnnxExport.modelBytes(m)
        m.graph = try Quantize.apply(.fp16, to: m.graph)
        let fp16 = try OnnxExport.modelBytes(m)
        XCTAssertLessThan(fp16.count, fp32.count * 3 / 4)
        let decoded = fp16.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
        let p = try XCTUnwrap(decoded)
        defer { onnx__model_proto__free_unpacked(p, nil) }
        let g = p.pointee.graph.pointee
        let halves = (0..<g.n_initializer).filter { g.initializer[$0]!.pointee.data_type == 10 }.count
        let casts = (0..<g.n_node).filter { String(cString: g.node[$0]!.pointee.op_type) == "Cast" && String(cString: g.node[$0]!.pointee.output[0]!).hasSuffix(".f32") }.count
        XCTAssertGreaterThan(halves, 0)
        XCTAssertEqual(halves, casts)
    }
}
