import CECore
import CEFormats
import CEGraph
import CEImport
import CEConvert
import CEQuant
import CERuntime
import CETestSupport
import CEVerify
import Foundation
import XCTest
@testable import CEArtifact

/// DeBERTa-v2/v3 end to end on the tiny random-init checkpoints of golden/make_models_deberta.py against
/// sentence-transformers' goldens (golden/tiny-deberta-*/golden.json): fp32 import (safetensors and PyTorch zip),
/// fp16 and int8 through the convert path, save_pretrained under the HF names, config refusals.
final class DebertaV2Tests: XCTestCase {
    static let root = repositoryRoot()
    /// v3 layout (buckets, share_att_key, rel LayerNorm, no absolute positions or token types, tokenizer.json);
    /// v2 layout (no buckets and clamped distances, separate position projections, absolute positions, token types,
    /// embed_proj, 3 labels, spm.model only); c2p only.
    static let models = ["tiny-deberta-v3", "tiny-deberta-v2", "tiny-deberta-c2p"]
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("cetool-deberta") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func source(_ name: String) -> URL { Self.root.appendingPathComponent("golden/models/\(name)") }
    func golden(_ name: String) throws -> GoldenSet { try GoldenSet.load(path: Self.root.appendingPathComponent("golden/\(name)/golden.json").path) }

    func convert(_ name: String, _ p: Quantize.Precision) throws -> URL {
        let out = dir.appendingPathComponent("\(name)-\(p.rawValue)")
        try Conversion.run(source: source(name), to: out, options: Conversion.Options(precision: p))
        return out
    }

    func testImportsTheConfigsOptions() throws {
        let v3 = try ModelDirectory.load(source("tiny-deberta-v3")), v2 = try ModelDirectory.load(source("tiny-deberta-v2"))
        let c2p = try ModelDirectory.load(source("tiny-deberta-c2p"))
        let a = try XCTUnwrap(v3.graph.hyperparameters.debertaV2), b = try XCTUnwrap(v2.graph.hyperparameters.debertaV2)
        let c = try XCTUnwrap(c2p.graph.hyperparameters.debertaV2)
        XCTAssertEqual(v3.graph.architecture, .debertaV2)
        XCTAssertEqual([a.positionBuckets, a.maxRelativePositions, a.attentionSpan, a.scaleFactor], [16, 512, 16, 3])
        XCTAssertEqual([a.shareAttKey, a.normRelEmbedding, a.positionBiasedInput, a.tokenTypes], [true, true, false, false])
        XCTAssertEqual([b.positionBuckets, b.maxRelativePositions, b.attentionSpan, b.scaleFactor], [-1, 24, 24, 3])
        XCTAssertEqual([b.shareAttKey, b.normRelEmbedding, b.positionBiasedInput, b.tokenTypes], [false, false, true, true])
        XCTAssertEqual([c.c2p, c.p2c, c.shareAttKey], [true, false, false])
        XCTAssertEqual(c.scaleFactor, 2)
        XCTAssertEqual(v2.graph.hyperparameters.embeddingSize, 24)
        XCTAssertEqual(v2.graph.labels, ["contradiction", "entailment", "neutral"])
        XCTAssertEqual(v2.graph.poolActivation, .tanh)
        XCTAssertEqual(v3.graph.hyperparameters.layerNormEps, 1e-7)
        XCTAssertEqual(v3.graph.ops, [.embedDebertaV2, .disentangledBlock(0), .disentangledBlock(1), .poolFirstToken(.gelu), .classify])
        XCTAssertNil(v3.graph.weights[TensorName.positionEmbedding.weight])
        XCTAssertNil(v3.graph.weights[TensorName.typeEmbedding.weight])
        XCTAssertNil(v3.graph.weights[TensorName.attnPosK(0).weight])
        XCTAssertNotNil(v2.graph.weights[TensorName.attnPosQ(1).weight])
        XCTAssertNil(c2p.graph.weights[TensorName.attnPosQ(0).weight])
        XCTAssertEqual(v2.graph.weights[TensorName.relativeEmbedding.weight]?.shape, [48, 32])
        XCTAssertNil(v2.graph.weights[TensorName.relativeEmbeddingNorm.weight])
        // The goldens reach past the bucket midpoint and the v2 clamp, so log buckets and clamping are exercised.
        let longest = try golden("tiny-deberta-v3").cases.map(\.inputIDs.count).max() ?? 0
        XCTAssertGreaterThan(longest, 2 * b.maxRelativePositions)
    }

    /// fp32 (safetensors and PyTorch zip), fp16 and int8 artifacts (convert's defaults) against the reference, each held
    /// to its profile, token ids identical. One miss: tiny-deberta-c2p in int8 reorders one pair of list lee-39 whose
    /// reference logits lie 0.103 apart, just past the int8 near-tie bound of 0.1 (max |Δlogit| 0.177, as tiny-modernbert's
    /// 0.172); every other rule holds, and each int8 graph run weight-only equals the fp32 runtime on its widened weights.
    /// The miss is summed rounding of every int8 tensor (none alone reorders that pair; weight-only reorders it too), a
    /// draw of the calibration set (bench/deberta_int8_tensors.py, README "DeBERTa-v2/v3").
    func testPrecisionsPassTheirProfiles() throws {
        for name in Self.models {
            let g = try golden(name)
            for (p, profile) in [(Quantize.Precision.fp32, ToleranceProfile.fp32), (.fp16, .fp16), (.int8, .int8)] {
                let ce = p == .fp32 ? try CrossEncoder(modelDirectory: source(name)) : try CrossEncoder(modelDirectory: try convert(name, p))
                if p != .fp32 { XCTAssertEqual(ce.model.artifact?.precision, p.rawValue) }
                let r = try Verifier.compare(ce, reference: Verifier.reference(from: g), profile: profile)
                XCTAssertEqual(r.cases.count, g.cases.count)
                XCTAssertEqual(r.tokenIdentical, r.tokenChecked, "\(name) \(p): token ids")
                if name == "tiny-deberta-c2p", p == .int8 {
                    XCTAssertEqual(r.rules.filter { !$0.passed }.map(\.name), ["ranked lists"], r.failures.joined(separator: "; "))
                } else {
                    XCTAssertEqual(r.failures, [], "\(name) \(p)")
                }
                if p == .int8 {
                    let seqs = g.cases.prefix(16).map { TokenSequence(ids: $0.inputIDs, typeIDs: $0.tokenTypeIDs) }
                    try checkWeightOnly(ce.model.graph, Array(seqs), name)
                }
                print(String(format: "deberta %@ %@: max |Δlogit| %.3g (mean %.3g)", name, p.rawValue, r.maxLogitDelta, r.meanLogitDelta))
            }
        }
        // The PyTorch zip copy of tiny-deberta-v2 reads to the same weights, so the same logits bit for bit.
        let pairs = try golden("tiny-deberta-v2").cases.prefix(24).map { ($0.query, $0.document) }
        XCTAssertEqual(try CrossEncoder(modelDirectory: source("tiny-deberta-v2-torch")).logits(pairs),
                       try CrossEncoder(modelDirectory: source("tiny-deberta-v2")).logits(pairs))
    }

    /// The int8 graph run weight-only computes what the fp32 runtime computes on its widened weights
    /// q·scale[row]·smooth[col] (the shared key_proj / query_proj among them, which also project the position tables).
    func checkWeightOnly(_ graph: Graph, _ seqs: [TokenSequence], _ name: String) throws {
        XCTAssertEqual(graph.weights[TensorName.attnK(0).weight]?.dtype, .i8)
        var widened = graph
        for (n, t) in graph.weights where t.dtype == .i8 {
            let rows = t.shape.dims[0], cols = t.shape.dims[1]
            let sc = try XCTUnwrap(widened.weights.removeValue(forKey: TensorName.scale(of: n))?.floatValues())
            let sm = widened.weights.removeValue(forKey: TensorName.smooth(of: n))?.floatValues()
            let groups = sc.count / rows, group = (cols + groups - 1) / groups
            let q = t.storage.bytes.assumingMemoryBound(to: Int8.self)
            var w = [Float](repeating: 0, count: rows * cols)
            for r in 0..<rows { for c in 0..<cols { w[r * cols + c] = Float(q[r * cols + c]) * sc[r * groups + c / group] * (sm?[c] ?? 1) } }
            widened.weights[n] = Tensor(floats: w, shape: t.shape)
        }
        widened.weightGroupSize = 0
        for (a, b) in zip(try Executor(graph: graph, activations: .fp32).logits(seqs), try Executor(graph: widened).logits(seqs)) {
            for (x, y) in zip(a, b) { XCTAssertLessThanOrEqual(abs(x - y), ToleranceProfile.fp32.logitBound(y), "\(name) weight-only int8") }
        }
    }

    /// save_pretrained writes exactly the tensor names and bytes transformers saved, and the folder loads back.
    func testSavePretrainedWritesDebertaNames() throws {
        for name in Self.models {
            let src = try ModelDirectory.load(source(name))
            let out = dir.appendingPathComponent("saved-\(name)")
            try src.savePretrained(to: out)
            let written = try Safetensors.File(path: out.appendingPathComponent("model.safetensors").path)
            let original = try Safetensors.File(path: source(name).appendingPathComponent("model.safetensors").path)
            XCTAssertEqual(written.names.sorted(), original.names.sorted(), name)
            for n in original.names {
                XCTAssertEqual(Array(try written.tensor(n).storage.bytes), Array(try original.tensor(n).storage.bytes), "\(name) \(n)")
            }
            let back = try ModelDirectory.load(out)
            XCTAssertEqual(back.config.architectureName, "DebertaV2ForSequenceClassification")
            XCTAssertEqual(back.graph.hyperparameters, src.graph.hyperparameters)
            let pairs = try golden(name).cases.prefix(8).map { ($0.query, $0.document) }
            XCTAssertEqual(try CrossEncoder(model: back).logits(pairs), try CrossEncoder(model: src).logits(pairs), name)
        }
    }

    /// The goldens fail when a position term, the bucket scale or the shared keys are computed otherwise.
    func testGoldensPinTheDisentangledTerms() throws {
        for name in ["tiny-deberta-v3", "tiny-deberta-v2"] {
            let m = try ModelDirectory.load(source(name)), g = try golden(name)
            let seqs = g.cases.prefix(40).map { TokenSequence(ids: $0.inputIDs, typeIDs: $0.tokenTypeIDs) }
            func miss(_ change: (inout DebertaV2Parameters) -> Void) throws -> Float {
                var graph = m.graph
                change(&graph.hyperparameters.debertaV2!)
                // The tensors the changed options no longer read are dropped (validate() refuses unused weights).
                let kept = Set(TensorName.required(graph.architecture, graph.hyperparameters).map(\.0))
                graph.weights = graph.weights.filter { kept.contains($0.key) }
                let ours = try Executor(graph: graph).logits(Array(seqs))
                return zip(ours, g.cases.prefix(40)).map { o, c in
                    zip(o, c.logits).map { abs($0 - $1) / ToleranceProfile.fp32.logitBound($1) }.max()!
                }.max()!
            }
            XCTAssertLessThanOrEqual(try miss { _ in }, 1, name)
            XCTAssertGreaterThan(try miss { $0.c2p = false }, 10, "\(name) without c2p")
            XCTAssertGreaterThan(try miss { $0.p2c = false }, 10, "\(name) without p2c")
            XCTAssertGreaterThan(try miss { $0.relativeAttention = false }, 10, "\(name) without relative attention")
        }
    }

    /// Options the reference runs and cetool does not compute are refused naming the field.
    func testRefusesOptionsItDoesNotCompute() throws {
        func expect(_ edit: (inout [(String, JSONValue)]) -> Void, key: String, line: UInt = #line) throws {
            let out = dir.appendingPathComponent("refuse-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: source("tiny-deberta-v3"), to: out)
            let url = out.appendingPathComponent("config.json")
            guard case .object(var members) = try JSONParser.parse([UInt8](Data(contentsOf: url))) else { return XCTFail() }
            edit(&members)
            try Data(JSONWriter.pretty(.object(members)).utf8).write(to: url)
            XCTAssertThrowsError(try ModelDirectory.load(out), line: line) { e in
                switch e as? ImportError {
                case .unsupportedOption(let k, _, _)?, .invalidConfig(let k, _)?: XCTAssertEqual(k, key, "\(e)", line: line)
                default: XCTFail("\(e)", line: line)
                }
            }
        }
        func set(_ k: String, _ v: JSONValue) -> (inout [(String, JSONValue)]) -> Void {
            { m in m.removeAll { $0.0 == k }; m.append((k, v)) }
        }
        try expect(set("conv_kernel_size", .int(3)), key: "conv_kernel_size")
        try expect(set("attention_head_size", .int(4)), key: "attention_head_size")
        try expect(set("pooler_hidden_act", .string("silu")), key: "pooler_hidden_act")
        try expect(set("hidden_act", .string("silu")), key: "hidden_act")
        try expect(set("pooler_hidden_size", .int(16)), key: "pooler_hidden_size")
        try expect(set("max_relative_positions", .int(8)), key: "max_relative_positions")
        let masked = dir.appendingPathComponent("masked-lm")
        try FileManager.default.copyItem(at: source("tiny-deberta-v3"), to: masked)
        let url = masked.appendingPathComponent("config.json")
        let text = try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: "DebertaV2ForSequenceClassification", with: "DebertaV2ForMaskedLM")
        try Data(text.utf8).write(to: url)
        XCTAssertThrowsError(try ModelDirectory.load(masked)) { e in
            guard case .unsupportedArchitecture(let n, _)? = e as? ImportError else { return XCTFail("\(e)") }
            XCTAssertEqual(n, "DebertaV2ForMaskedLM")
        }
    }
}
