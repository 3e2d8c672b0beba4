import CECore
import CEConvert
import CEQuant
import CERetrieve
import CETestSupport
import Foundation
import XCTest
@testable import CEBiEncoder

/// `cetool convert` of a SentenceTransformer folder (Conversion.run): the artifact keeps the modules, loads as a
/// SentenceTransformer, and its retrieval agrees with the fp32 model's on real text.
final class ConvertBiEncoderTests: XCTestCase {
    /// recall@k of `got` against `want`: the reference's hits found, over all queries (each query has k), as one ratio
    /// of counts (a sum of per-query fractions would round 396/400 below 0.99).
    func recall(_ got: [[SearchHit]], _ want: [[SearchHit]]) -> Double {
        let found = zip(got, want).map { g, w in Set(g.map(\.corpusID)).intersection(w.map(\.corpusID)).count }.reduce(0, +)
        return Double(found) / Double(max(want.map(\.count).reduce(0, +), 1))
    }

    /// The tiny Dense model converts (int8, fp16), keeps 1_Pooling / 2_Dense / 3_Normalize, and embeds close to fp32.
    func testTinyDenseConvertsAndKeepsModules() throws {
        let src = Golden.root.appendingPathComponent("golden/models/tiny-bi-dense")
        let out = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let g = try Golden.load("tiny-bi-dense/golden.json")
        let texts = g["texts"]!.arrayValue!.map { $0.stringValue! }
        let ref = try SentenceTransformer(modelDirectory: src).encode(texts)
        for p in [Quantize.Precision.int8, .fp16] {
            let target = out.appendingPathComponent(p.rawValue)
            try Conversion.run(source: src, to: target, options: Conversion.Options(precision: p))
            for f in ["modules.json", "1_Pooling/config.json", "2_Dense/config.json", "2_Dense/model.safetensors", "3_Normalize/config.json"] {
                XCTAssertEqual(try Data(contentsOf: target.appendingPathComponent(f)), try Data(contentsOf: src.appendingPathComponent(f)), f)
            }
            let m = try SentenceTransformer(modelDirectory: target)
            XCTAssertEqual(m.model.artifact?.precision, p.rawValue)
            let e = try m.encode(texts)
            let cos = (0..<e.count).map { i in zip(e.row(i), ref.row(i)).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
            XCTAssertGreaterThan(cos.min()!, p == .fp16 ? 0.9999 : 0.99, p.rawValue)
        }
    }

    /// all-MiniLM-L6-v2 int8 and fp16: recall@10 against the fp32 model's retrieval (golden/bi/minilm's real split,
    /// 40 queries over 276 texts) >= 0.99, int8 weights <= 30 % of fp32's.
    func testMiniLMInt8RecallAndSize() throws {
        guard let src = Golden.minilm() else { return }
        let out = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let g = try Golden.load("minilm/embeddings.json")
        let texts = g["texts"]!.arrayValue!.map { $0.stringValue! }
        let real = try Golden.load("minilm/search.json")["real"]!
        let qi = real["queries"]!.arrayValue!.map { $0.intValue! }, ci = real["corpus"]!.arrayValue!.map { $0.intValue! }
        func split(_ e: Embeddings) throws -> (Embeddings, Embeddings) {
            (try Embeddings(count: qi.count, dimension: e.dimension, values: qi.flatMap { e.row($0) }),
             try Embeddings(count: ci.count, dimension: e.dimension, values: ci.flatMap { e.row($0) }))
        }
        let reference = try Embeddings(count: texts.count, dimension: 384, values: Golden.floats(g["embeddings"]!))
        let (rq, rc) = try split(reference)
        let want = try SemanticSearch.search(queries: rq, corpus: rc, topK: 10)
        let fp32Bytes = try FileManager.default.attributesOfItem(atPath: src.appendingPathComponent("model.safetensors").path)[.size] as! Int
        for p in [Quantize.Precision.int8, .fp16] {
            let target = out.appendingPathComponent(p.rawValue)
            let summary = try Conversion.run(source: src, to: target, options: Conversion.Options(precision: p))
            let m = try SentenceTransformer(modelDirectory: target)
            let e = try m.encode(texts)
            let (q, c) = try split(e)
            let r = recall(try SemanticSearch.search(queries: q, corpus: c, topK: 10), want)
            let cos = (0..<e.count).map { i in zip(e.row(i), reference.row(i)).reduce(Float(0)) { $0 + $1.0 * $1.1 } }
            XCTAssertGreaterThanOrEqual(r, 0.99, p.rawValue)
            let ratio = Double(summary.weightsBytes) / Double(fp32Bytes)
            if p == .int8 { XCTAssertLessThanOrEqual(ratio, 0.30) }
            print("all-MiniLM-L6-v2 \(p.rawValue): recall@10 vs fp32 retrieval \(r), min cosine to the reference \(cos.min()!), mean \(cos.reduce(0, +) / Float(cos.count)), weights \(summary.weightsBytes) B = \(ratio) of fp32")
        }
    }
}
