import CECore
import CEConvert
import CEFormats
import CEGraph
import CEImport
import CERuntime
import CETestSupport
import Foundation
import XCTest
import CEBiEncoder
import CERetrieve
@testable import CEOnnx
@testable import CEVerify

/// export-onnx -> ONNX Runtime / sentence-transformers: what the reference loaders computed from the folders cetool
/// exported (golden/roundtrip/onnx.json, made by golden/roundtrip_onnx.py). Each model is exported again here and
/// must give the recorded bytes; the recorded logits and rankings must hold the set's profile against the model's
/// reference golden (PyTorch + sentence-transformers).
final class OnnxRoundTripTests: XCTestCase {
    static let root = repositoryRoot()

    func testExportsAreTheRecordedBytesAndTheirScoresHoldTheProfile() throws {
        // The tiny models of every architecture (BERT, RoBERTa, XLM-R ×2, CamemBERT, DistilBERT, ELECTRA, ModernBERT cls
        // and mean) and MiniLM-L6 (real size), each at fp32 and fp16.
        try checkCrossEncoderSets(file: "onnx.json", count: 20,
                                  models: ["tiny-bert-l1", "tiny-roberta", "tiny-xlmr", "tiny-xlmr-spm", "tiny-camembert", "tiny-distilbert",
                                           "tiny-electra", "tiny-modernbert", "tiny-modernbert-mean", "minilm-l6-ce"])
    }

    /// The decoder rerankers (golden/make_models_qwen3.py: Qwen3 with GQA 2, GQA 4 and MHA with every attention bias,
    /// Qwen2, Llama), each at fp32 and fp16: golden/roundtrip/onnx-decoder.json.
    func testDecoderExportsAreTheRecordedBytesAndTheirScoresHoldTheProfile() throws {
        try checkCrossEncoderSets(file: "onnx-decoder.json", count: 10,
                                  models: ["tiny-qwen3", "tiny-qwen3-gqa4", "tiny-qwen3-mha", "tiny-qwen2", "tiny-llama"])
    }

    /// DeBERTa-v2/v3 (golden/roundtrip/onnx-deberta.json): log buckets with shared keys, clamped distances with their own
    /// position projections, absolute positions, token types and embed_proj, c2p only; fp32 and fp16 each.
    func testDebertaV2ExportsAreTheRecordedBytesAndTheirScoresHoldTheProfile() throws {
        try checkCrossEncoderSets(file: "onnx-deberta.json", count: 6, models: ["tiny-deberta-v3", "tiny-deberta-v2", "tiny-deberta-c2p"])
    }

    /// The int8 group (the encoders of the main group, DeBERTa-v2/v3 but the c2p model whose own int8 misses the profile,
    /// the decoders): each model converted with convert's defaults (`cetool convert SRC --output ART`, which is
    /// Conversion.quantize with Options(precision: .int8): GPTQ, SmoothQuant α 0.5, groups of 64, int16 activations,
    /// the built-in calibration set), exported from the artifact (MatMulNBits over its own codes and scales), and held
    /// to the int8 profile against the source model's reference golden. MiniLM-L6's recorded figures are judged, its
    /// export is not redone here: its GPTQ conversion alone takes ~45 CPU seconds, past the test budget.
    func testInt8ExportsAreTheRecordedBytesAndTheirScoresHoldTheInt8Profile() throws {
        try checkCrossEncoderSets(file: "onnx-int8.json", count: 17,
                                  models: ["tiny-bert-l1", "tiny-roberta", "tiny-xlmr", "tiny-xlmr-spm", "tiny-camembert", "tiny-distilbert",
                                           "tiny-electra", "tiny-modernbert", "tiny-modernbert-mean", "minilm-l6-ce",
                                           "tiny-deberta-v3", "tiny-deberta-v2", "tiny-qwen3", "tiny-qwen3-gqa4", "tiny-qwen3-mha",
                                           "tiny-qwen2", "tiny-llama"],
                                  recordedOnly: ["minilm-l6-ce"])
    }

    /// One group of golden/roundtrip_onnx.py (its file under golden/roundtrip/): the cross-encoder sets are exactly
    /// `models` (`count` sets); each is exported again here (from the source folder, quantized to the set's precision by
    /// `prepare`, by default Conversion.quantize) and must give the recorded bytes, and each loader's logits and
    /// rankings must hold the precision's profile against the model's reference golden.
    /// Models in `recordedOnly` are judged on their recorded figures without being exported again (their conversion
    /// alone would overrun the test budget).
    func checkCrossEncoderSets(file: String, count: Int, models: Set<String>, recordedOnly: Set<String> = [],
                               prepare: (ImportedModel, String) throws -> ImportedModel = OnnxRoundTripTests.quantized) throws {
        let golden = try JSONFile.load(path: Self.root.appendingPathComponent("golden/roundtrip/\(file)").path, limit: 256 << 20)
        let sets = try XCTUnwrap(golden["sets"]?.arrayValue).filter { $0["kind"]?.stringValue != "bi-encoder" }
        XCTAssertEqual(sets.count, count)
        XCTAssertEqual(Set(sets.compactMap { $0["model"]?.stringValue }), models)
        var checked = 0
        for s in sets {
            let model = try XCTUnwrap(s["model"]?.stringValue), precision = try XCTUnwrap(s["precision"]?.stringValue)
            let source = Self.root.appendingPathComponent(try XCTUnwrap(s["source_dir"]?.stringValue))
            guard FileManager.default.fileExists(atPath: source.appendingPathComponent("config.json").path) else {
                if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" { XCTFail("model \(model) missing at \(source.path): run `make models`") }
                continue
            }
            if !recordedOnly.contains(model) {
                let m = try prepare(ModelDirectory.load(source), precision)
                let bytes = try OnnxExport.modelBytes(m)
                XCTAssertEqual(bytes.count, s["onnx_bytes"]?.intValue, "\(model) \(precision)")
                XCTAssertEqual(SHA256.hex(bytes), s["onnx_sha256"]?.stringValue, "\(model) \(precision): the export is not the one recorded")
            }

            let g = try GoldenSet.load(path: Self.root.appendingPathComponent(try XCTUnwrap(s["golden"]?.stringValue)).path)
            let profile = try XCTUnwrap(ToleranceProfile.named(precision))
            let loaders = try XCTUnwrap(s["loaders"]?.objectValue)
            XCTAssertTrue(loaders.contains { $0.0 == "onnxruntime" })
            for (loader, rec) in loaders {
                if let e = rec["error"]?.stringValue {
                    // Recorded when the loader itself failed (sentence-transformers 5.7's transformers 4.57 cannot read
                    // every tokenizer transformers 5 wrote); ONNX Runtime's record must be there for every set.
                    XCTAssertNotEqual(loader, "onnxruntime", "\(model) \(precision): \(e)")
                    print("onnx round trip \(model) \(precision) \(loader): not recorded: \(e)")
                    continue
                }
                let rules = try Self.rules(rec, golden: g, profile: profile)
                for r in rules where !r.passed { XCTFail("\(model) \(precision) \(loader): \(r.name): \(r.detail)") }
                XCTAssertFalse(rules.isEmpty)
                print("onnx round trip \(model) \(precision) \(loader): " + rules.map { "\($0.name) \($0.passed ? "✓" : "✗")" }.joined(separator: ", "))
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
    }

    /// The source at `precision` as Conversion.quantize makes it with convert's defaults (fp32: unchanged).
    static func quantized(_ source: ImportedModel, _ precision: String) throws -> ImportedModel {
        var m = source
        if precision != "fp32" { m.graph = try Conversion.quantize(m, options: Conversion.Options(precision: XCTUnwrap(.init(rawValue: precision)))).graph }
        return m
    }

    /// Bi-encoders: each export again gives the recorded bytes, and each loader's embeddings (ONNX Runtime + the folder's
    /// own Pooling / Dense / Normalize modules; sentence-transformers' ONNX backend where it loaded) hold the precision's
    /// profile against sentence-transformers' torch encode: fp32 within EmbeddingProfile.fp32's max |Δ|, fp16 above
    /// BiEncoderVerification's fp16 minimum cosine.
    func testBiEncoderExportsAreTheRecordedBytesAndTheirEmbeddingsHoldTheProfile() throws {
        let golden = try JSONFile.load(path: Self.root.appendingPathComponent("golden/roundtrip/onnx.json").path, limit: 256 << 20)
        let sets = try XCTUnwrap(golden["sets"]?.arrayValue).filter { $0["kind"]?.stringValue == "bi-encoder" }
        XCTAssertEqual(Set(sets.compactMap { $0["model"]?.stringValue }), ["tiny-bi-mean", "tiny-bi-cls", "tiny-bi-dense", "minilm-bi"])
        XCTAssertEqual(sets.count, 8)
        var checked = 0
        for s in sets {
            let model = try XCTUnwrap(s["model"]?.stringValue), precision = try XCTUnwrap(s["precision"]?.stringValue)
            let source = Self.root.appendingPathComponent(try XCTUnwrap(s["source_dir"]?.stringValue))
            guard FileManager.default.fileExists(atPath: source.appendingPathComponent("config.json").path) else {
                if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" { XCTFail("model \(model) missing at \(source.path): run `make models`") }
                continue
            }
            let m = try Self.quantized(ModelDirectory.load(source), precision)
            let bytes = try OnnxExport.modelBytes(m)
            XCTAssertEqual(SHA256.hex(bytes), s["onnx_sha256"]?.stringValue, "\(model) \(precision): the export is not the one recorded")
            XCTAssertTrue(OnnxExport.isBiEncoder(m))
            let g = try JSONFile.load(path: Self.root.appendingPathComponent(try XCTUnwrap(s["golden"]?.stringValue)).path, limit: 64 << 20)
            let ref = try Self.embeddings(try XCTUnwrap(g["embeddings"]))
            let loaders = try XCTUnwrap(s["loaders"]?.objectValue)
            XCTAssertTrue(loaders.contains { $0.0 == "onnxruntime" })
            for (loader, rec) in loaders {
                if let e = rec["error"]?.stringValue {
                    XCTAssertNotEqual(loader, "onnxruntime", "\(model) \(precision): \(e)")
                    print("onnx round trip \(model) \(precision) \(loader): not recorded: \(e)")
                    continue
                }
                let got = try Self.embeddings(try XCTUnwrap(rec["embeddings"]))
                XCTAssertEqual(got.count, ref.count)
                let maxAbs = zip(got.joined(), ref.joined()).map { abs($0 - $1) }.max() ?? .infinity
                let minCos = zip(got, ref).map { a, b -> Float in
                    let d = zip(a, b).map(*).reduce(0, +), na = a.map { $0 * $0 }.reduce(0, +).squareRoot(), nb = b.map { $0 * $0 }.reduce(0, +).squareRoot()
                    return d / max(na * nb, 1e-12)
                }.min() ?? -1
                if precision == "fp32" {
                    XCTAssertLessThanOrEqual(maxAbs, EmbeddingProfile.fp32.embeddingAbs, "\(model) \(precision) \(loader)")
                } else {
                    XCTAssertGreaterThanOrEqual(minCos, BiEncoderVerification.Profile.fp16.minCosine, "\(model) \(precision) \(loader)")
                }
                print("onnx round trip \(model) \(precision) \(loader): max |Δ| \(maxAbs), min cosine \(minCos)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
    }

    /// {shape: [n, d], float32_base64} as n rows.
    static func embeddings(_ v: JSONValue) throws -> [[Float]] {
        let shape = try XCTUnwrap(v["shape"]?.arrayValue?.compactMap(\.intValue))
        let data = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(v["float32_base64"]?.stringValue)))
        XCTAssertEqual(data.count, shape[0] * shape[1] * 4)
        let flat = data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) } }
        return (0..<shape[0]).map { Array(flat[($0 * shape[1])..<(($0 + 1) * shape[1])]) }
    }

    /// The profile's rules on one loader's record against the reference golden: each logit (and score), the set's
    /// means, and each ranked list (near-ties as CEVerify.Verifier judges them).
    static func rules(_ rec: JSONValue, golden g: GoldenSet, profile: ToleranceProfile) throws -> [Verifier.Rule] {
        let byID = Dictionary(uniqueKeysWithValues: g.cases.map { ($0.id, $0) })
        let recorded = rec["cases"]?.arrayValue ?? []
        guard recorded.count == g.cases.count else { throw ValidationFailure("\(recorded.count) cases recorded, the golden has \(g.cases.count)") }
        let cases = try recorded.map { c -> Verifier.CaseResult in
            let id = c["id"]?.stringValue ?? ""
            guard let ref = byID[id] else { throw ValidationFailure("case \(id) is not in the golden") }
            return Verifier.CaseResult(id: id, referenceLogits: ref.logits, logits: floats(c["logits"]), referenceScores: ref.scores,
                                       scores: floats(c["scores"]), tokensIdentical: nil)
        }
        let activation = ScoreActivation(rawValue: g.activation) ?? .identity
        var refLogit: [String: Float] = [:]
        for c in g.cases where c.logits.count == 1 { refLogit[c.query + "\u{0}" + c.document] = c.logits[0] }
        let recordedLists = Dictionary(uniqueKeysWithValues: (rec["rankings"]?.arrayValue ?? []).compactMap { r in r["id"]?.stringValue.map { ($0, r) } })
        var lists: [Verifier.ListResult] = []
        for l in g.rankings {
            guard let r = recordedLists[l.id] else { throw ValidationFailure("ranking \(l.id) not recorded") }
            func scores(_ result: [(Int, Float)]) -> [Double] {
                var s = [Double](repeating: .nan, count: l.documents.count)
                for (i, v) in result where i >= 0 && i < s.count { s[i] = Double(v) }
                return s
            }
            let ours = scores((r["result"]?.arrayValue ?? []).compactMap { e in
                guard let i = e["corpus_id"]?.intValue, let v = e["score"]?.doubleValue else { return nil }
                return (i, Float(v))
            })
            let ref = scores(l.result)
            let refLogits = l.documents.enumerated().map { i, d in refLogit[l.query + "\u{0}" + d] ?? Scoring.inverse(activation, of: Float(ref[i])) }
            func nearTie(_ i: Int, _ j: Int) -> Bool {
                guard ours[i].isFinite, ours[j].isFinite, let a = refLogits[i], let b = refLogits[j] else { return false }
                return abs(a - b) <= profile.nearTieBound(a) + profile.nearTieBound(b)
            }
            let dis = RankMetrics.disagreements(reference: ref, candidate: ours)
            let oursOrder = RankMetrics.order(ours), refOrder = RankMetrics.order(ref)
            let top1 = oursOrder.first == refOrder.first
            var lr = Verifier.ListResult(id: l.id, size: l.documents.count, spearman: RankMetrics.spearman(ours, ref) ?? (ours == ref ? 1 : 0),
                                         kendall: RankMetrics.kendallTauB(ours, ref) ?? 0, top1: top1,
                                         topKOverlap: RankMetrics.topKOverlap(reference: ref, candidate: ours, k: min(3, ref.count)), k: min(3, ref.count),
                                         ndcg10: RankMetrics.ndcg(reference: ref, candidate: ours, k: 10))
            lr.disagreements = dis.count
            lr.beyondNearTie = dis.filter { !nearTie($0.0, $0.1) }.count
            lr.top1NearTie = !top1 && !oursOrder.isEmpty && nearTie(oursOrder[0], refOrder[0])
            lists.append(lr)
        }
        return Verifier.valueRules(cases, profile: profile) + Verifier.listRules(lists, profile: profile)
    }

    static func floats(_ v: JSONValue?) -> [Float] { (v?.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) } }
}

struct ValidationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
