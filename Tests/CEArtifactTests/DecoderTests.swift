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

/// The decoder rerankers (Qwen3 / Qwen2 / Llama `…ForSequenceClassification`) end to end on the tiny random-init
/// checkpoints of golden/make_models_qwen3.py against sentence-transformers' goldens: import, fp32, fp16 and int8 through
/// the convert path, the last-non-pad pooling, save_pretrained under the HF names, and the refusals.
final class DecoderTests: XCTestCase {
    static let root = repositoryRoot()
    /// name, family, kv heads, head size, q/k norm, q/k/v bias, o bias.
    static let models: [(String, DecoderFamily, Int, Int, Bool, Bool, Bool)] = [
        ("tiny-qwen3", .qwen3, 2, 16, true, false, false),       // GQA 2, head_dim 16 != 48 / 4, tied embeddings
        ("tiny-qwen3-gqa4", .qwen3, 2, 4, true, false, false),   // GQA 4, untied
        ("tiny-qwen3-mha", .qwen3, 4, 8, true, true, true),      // GQA 1, attention_bias, 2 labels
        ("tiny-qwen2", .qwen2, 2, 8, false, true, false),        // q/k/v biases, no q/k norm
        ("tiny-llama", .llama, 2, 12, false, false, false),      // head_dim 12 != 32 / 4
    ]
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("cetool-decoder") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func source(_ name: String) -> URL { Self.root.appendingPathComponent("golden/models/\(name)") }
    func golden(_ name: String) throws -> GoldenSet { try GoldenSet.load(path: Self.root.appendingPathComponent("golden/\(name)/golden.json").path) }
    func report(_ ce: CrossEncoder, _ g: GoldenSet, _ profile: ToleranceProfile) throws -> Verifier.SetReport {
        try Verifier.compare(ce, reference: Verifier.reference(from: g), profile: profile)
    }

    func testImportsAsTheDecoderGraph() throws {
        for (name, family, kv, headDim, qkNorm, qkvBias, outBias) in Self.models {
            let m = try ModelDirectory.load(source(name))
            XCTAssertEqual(m.graph.architecture, .decoder, name)
            let d = try XCTUnwrap(m.graph.hyperparameters.decoder, name)
            XCTAssertEqual(d.family, family, name)
            XCTAssertEqual(d.numKeyValueHeads, kv, name)
            XCTAssertEqual(d.headDim, headDim, name)
            XCTAssertEqual(d.qkNorm, qkNorm, name)
            XCTAssertEqual(d.qkvBias, qkvBias, name)
            XCTAssertEqual(d.outputBias, outBias, name)
            XCTAssertEqual(m.graph.weights[TensorName.attnQNorm(0).weight] != nil, qkNorm, name)
            XCTAssertEqual(m.graph.weights[TensorName.attnK(0).bias] != nil, qkvBias, name)
            XCTAssertNil(m.graph.weights[TensorName.classifierOut.bias], "\(name): score has no bias")
            XCTAssertEqual(m.graph.ops.last, .scoreLastToken)
            XCTAssertEqual(d.poolPadTokenID, Int(m.tokenizer.padTokenID), "\(name): config pad id is the tokenizer's")
        }
    }

    /// fp32 within the fp32 profile on every model; fp16 and int8 artifacts (convert's defaults) within theirs on two models
    /// each (int8 on GQA 2 with q/k norm and on Qwen2's biases; fp16 on GQA 1 with every bias and on Llama), token ids identical.
    /// (`cetool verify` of the other pairs passes too; kept out of the tests for time.)
    func testFP32FP16AndInt8PassTheirProfiles() throws {
        let reduced: [String: [(Quantize.Precision, ToleranceProfile)]] = [
            "tiny-qwen3": [(.int8, .int8)], "tiny-qwen2": [(.int8, .int8)], "tiny-qwen3-mha": [(.fp16, .fp16)], "tiny-llama": [(.fp16, .fp16)],
        ]
        for (name, _, _, _, _, _, _) in Self.models {
            let g = try golden(name)
            XCTAssertTrue(g.cases.allSatisfy { !$0.inputIDs.isEmpty })
            for (p, profile) in [(Quantize.Precision.fp32, ToleranceProfile.fp32)] + (reduced[name] ?? []) {
                let model: URL
                if p == .fp32 {
                    model = source(name)
                } else {
                    model = dir.appendingPathComponent("\(name)-\(p.rawValue)")
                    try Conversion.run(source: source(name), to: model, options: Conversion.Options(precision: p))
                }
                let r = try report(try CrossEncoder(modelDirectory: model), g, profile)
                XCTAssertEqual(r.cases.count, g.cases.count)
                XCTAssertEqual(r.tokenIdentical, r.tokenChecked, "\(name) \(p): token ids")
                XCTAssertEqual(r.failures, [], "\(name) \(p)")
                print(String(format: "decoder %@ %@: max |Δlogit| %.3g (mean %.3g), min Spearman %.4f", name, p.rawValue,
                             r.maxLogitDelta, r.meanLogitDelta, r.minSpearman ?? Double.nan))
            }
        }
    }

    /// The goldens pin the pooling: scoring the last token even when it is the pad id (as with no pad id) misses the
    /// reference on the pairs that end in <|endoftext|>; scoring the first token misses everywhere.
    func testGoldensPinTheLastNonPadPooling() throws {
        let g = try golden("tiny-qwen3")
        let src = try ModelDirectory.load(source("tiny-qwen3"))
        let pad = try XCTUnwrap(src.graph.hyperparameters.decoder?.poolPadTokenID)
        let ending = g.cases.filter { $0.inputIDs.last == Int32(pad) && $0.inputIDs.contains { $0 != Int32(pad) } }
        XCTAssertGreaterThanOrEqual(ending.count, 2, "goldens with a trailing pad token")
        var graph = src.graph
        graph.hyperparameters.decoder?.poolPadTokenID = nil
        let seqs = ending.map { TokenSequence(ids: $0.inputIDs, typeIDs: [Int32](repeating: 0, count: $0.inputIDs.count)) }
        let right = try Executor(graph: src.graph).logits(seqs), wrong = try Executor(graph: graph).logits(seqs)
        for (k, c) in ending.enumerated() {
            XCTAssertLessThanOrEqual(abs(right[k][0] - c.logits[0]), ToleranceProfile.fp32.logitBound(c.logits[0]), c.id)
            XCTAssertGreaterThan(abs(wrong[k][0] - c.logits[0]), 1e-3, "\(c.id): the last token itself is not what the reference scores")
        }
    }

    /// A pair that encodes to no token (both texts empty) is refused: the reference scores a padding row there.
    func testEmptyPairIsRefused() throws {
        let ce = try CrossEncoder(modelDirectory: source("tiny-qwen3"))
        XCTAssertThrowsError(try ce.logits([("", "")])) { e in
            XCTAssertEqual(e as? RuntimeError, .emptySequence(index: 0))
        }
        XCTAssertEqual(try ce.logits([("", "a")]).count, 1)
    }

    /// Batching packs sequences without padding; the causal attention sees each sequence's own tokens only.
    func testBatchingDoesNotChangeLogits() throws {
        let ce = try CrossEncoder(modelDirectory: source("tiny-qwen3-gqa4"))
        let pairs = try golden("tiny-qwen3-gqa4").cases.prefix(24).map { ($0.query, $0.document) }
        let batched = try ce.logits(Array(pairs))
        // Packed rows change only the GEMM blocking: last-bit differences, within the fp32 profile.
        for (k, p) in pairs.enumerated() where k % 5 == 0 {
            let alone = try ce.logits([p])[0][0]
            XCTAssertLessThanOrEqual(abs(alone - batched[k][0]), ToleranceProfile.fp32.logitBound(batched[k][0]) / 100)
        }
    }

    /// save_pretrained writes exactly the tensor names transformers saved, and the folder loads back to the same logits.
    func testSavePretrainedWritesTheHFNames() throws {
        for name in ["tiny-qwen3", "tiny-qwen2", "tiny-llama"] {
            let src = try ModelDirectory.load(source(name))
            let out = dir.appendingPathComponent("saved-\(name)")
            try src.savePretrained(to: out)
            let written = try Safetensors.File(path: out.appendingPathComponent("model.safetensors").path)
            let original = try Safetensors.File(path: source(name).appendingPathComponent("model.safetensors").path)
            XCTAssertEqual(written.names.sorted(), original.names.sorted(), name)
            let back = try ModelDirectory.load(out)
            XCTAssertEqual(back.config.architectureName, src.config.architectureName)
            XCTAssertEqual(back.graph.hyperparameters, src.graph.hyperparameters)
            let pairs = try golden(name).cases.prefix(8).map { ($0.query, $0.document) }
            XCTAssertEqual(try CrossEncoder(model: back).logits(pairs), try CrossEncoder(model: src).logits(pairs), name)
        }
    }

    /// `convert --fold-lm-head yes,no`: the causal-LM form folded into a sequence classifier scores as sentence-transformers'
    /// LogitScore does (logit[yes] − logit[no] at the last token), within the fp32 profile; the fold is recorded.
    func testFoldedCausalLMMatchesLogitScore() throws {
        let folded = dir.appendingPathComponent("folded")
        try LMHeadFold.write(source: source("tiny-qwen3-lm"), trueToken: "yes", falseToken: "no", promptTemplate: "Query: {query}", to: folded)
        let ce = try CrossEncoder(modelDirectory: folded)
        XCTAssertEqual(ce.model.config.architectureName, "Qwen3ForSequenceClassification")
        let g = try golden("tiny-qwen3-lm")
        let r = try report(ce, g, .fp32)
        XCTAssertEqual(r.cases.count, g.cases.count)
        XCTAssertEqual(r.tokenIdentical, r.tokenChecked, "token ids")
        XCTAssertEqual(r.failures, [])
        print(String(format: "decoder tiny-qwen3-lm folded: max |Δlogit| %.3g (mean %.3g)", r.maxLogitDelta, r.meanLogitDelta))
        let fold = try XCTUnwrap(try JSONFile.load(path: folded.appendingPathComponent("config.json").path)["cetool_fold"])
        XCTAssertEqual(fold["true_token_id"]?.intValue, 898)
        XCTAssertEqual(fold["prompt_template"]?.stringValue, "Query: {query}")
        XCTAssertThrowsError(try LMHeadFold.write(source: source("tiny-qwen3"), trueToken: "yes", falseToken: "no", promptTemplate: nil,
                                                  to: dir.appendingPathComponent("refused"))) { e in
            guard case LMHeadFoldError.notACausalLM(let name, _)? = e as? LMHeadFoldError else { return XCTFail("\(e)") }
            XCTAssertEqual(name, "Qwen3ForSequenceClassification")
        }
        XCTAssertThrowsError(try LMHeadFold.write(source: source("tiny-qwen3-lm"), trueToken: "yes", falseToken: "nope-not-a-token",
                                                  promptTemplate: nil, to: dir.appendingPathComponent("refused2")))
    }
}
