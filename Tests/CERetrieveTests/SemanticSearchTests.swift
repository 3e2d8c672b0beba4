import CECore
import CETestSupport
import XCTest
@testable import CERetrieve

final class SemanticSearchTests: XCTestCase {
    /// Hits identical to the reference (ids and order, exact ties in the reference's order), scores within the
    /// profile. Where the reference's own float32 rounding split equal scores by a few ulps (a duplicated row scored
    /// in another chunk layout), runs of reference scores closer than `nearTieAbs` are compared as sets, and the run
    /// cut by top_k only by score: no BLAS reproduces torch's ulps.
    func check(_ got: [[SearchHit]], _ want: [[SearchHit]], _ label: String, maxDev: inout Float, exact: inout Int, total: inout Int) {
        XCTAssertEqual(got.count, want.count, label)
        for (q, (g, w)) in zip(got, want).enumerated() {
            total += 1
            XCTAssertEqual(g.count, w.count, "\(label) query \(q)")
            for (a, b) in zip(g, w) { maxDev = max(maxDev, abs(a.score - b.score)) }
            if g.map(\.corpusID) == w.map(\.corpusID) { exact += 1; continue }
            var start = 0
            while start < w.count {
                var end = start + 1
                while end < w.count && w[end - 1].score - w[end].score <= EmbeddingProfile.fp32.nearTieAbs { end += 1 }
                if end < w.count || start == 0 && end == w.count && g.count == w.count && Set(g.map(\.corpusID)) == Set(w.map(\.corpusID)) {
                    XCTAssertEqual(Set(g[start..<end].map(\.corpusID)), Set(w[start..<end].map(\.corpusID)), "\(label) query \(q) ranks \(start)..<\(end)")
                }
                start = end
            }
        }
    }

    func runCases(_ set: JSONValue, queries: Embeddings, corpus: Embeddings, name: String) throws -> Float {
        var maxDev: Float = 0, exact = 0, total = 0
        for c in set["cases"]!.arrayValue! {
            let fn = ScoreFunction(rawValue: c["score_function"]!.stringValue!)!
            let k = c["top_k"]!.intValue!, qcs = c["query_chunk_size"]!.intValue!, ccs = c["corpus_chunk_size"]!.intValue!
            let label = "\(name) \(fn) k=\(k) chunks=\(qcs)/\(ccs)"
            let want = BiGolden.hits(c["hits"]!)
            let fast = try SemanticSearch.search(queries: queries, corpus: corpus, topK: k, scoreFunction: fn, queryChunkSize: qcs, corpusChunkSize: ccs)
            let ref = try SemanticSearch.searchReference(queries: queries, corpus: corpus, topK: k, scoreFunction: fn, queryChunkSize: qcs, corpusChunkSize: ccs)
            check(fast, want, label + " (sgemm)", maxDev: &maxDev, exact: &exact, total: &total)
            check(ref, want, label + " (reference)", maxDev: &maxDev, exact: &exact, total: &total)
        }
        XCTAssertLessThanOrEqual(maxDev, EmbeddingProfile.fp32.searchScoreAbs, name)
        print("semantic_search \(name): \(exact) of \(total) hit lists in the reference's exact order")
        return maxDev
    }

    func testRealEmbeddingsMatchSemanticSearch() throws {
        let emb = try BiGolden.embeddings(try BiGolden.load("minilm/embeddings.json")["embeddings"]!)
        let s = try BiGolden.load("minilm/search.json")["real"]!
        let rows = { (key: String) in s[key]!.arrayValue!.flatMap { emb.row($0.intValue!) } }
        let q = try Embeddings(count: s["queries"]!.arrayValue!.count, dimension: emb.dimension, values: rows("queries"))
        let c = try Embeddings(count: s["corpus"]!.arrayValue!.count, dimension: emb.dimension, values: rows("corpus"))
        let dev = try runCases(s, queries: q, corpus: c, name: "minilm")
        print("semantic_search minilm: max |score - reference| = \(dev)")
    }

    func testTiedIntegerVectorsMatchSemanticSearch() throws {
        let s = try BiGolden.load("minilm/search.json")["synthetic"]!
        let dev = try runCases(s, queries: try BiGolden.embeddings(s["queries"]!), corpus: try BiGolden.embeddings(s["corpus"]!), name: "synthetic")
        print("semantic_search synthetic ties: max |score - reference| = \(dev)")
    }

    /// sgemm against the scalar twin on odd sizes: integer-valued inputs score exactly, so everything is equal;
    /// normal inputs agree within the profile.
    func testFastMatchesReferenceOnOddSizes() throws {
        var rng = SeededRNG(seed: 27)
        for (nq, nc, d) in [(1, 1, 1), (3, 17, 5), (17, 131, 33), (5, 1000, 384), (33, 70, 7)] {
            let ints = try Embeddings(count: nq, dimension: d, values: (0..<(nq * d)).map { _ in Float(Int.random(in: -2...2, using: &rng)) })
            let intc = try Embeddings(count: nc, dimension: d, values: (0..<(nc * d)).map { _ in Float(Int.random(in: -2...2, using: &rng)) })
            for k in [1, 3, nc, nc + 2] {
                let a = try SemanticSearch.search(queries: ints, corpus: intc, topK: k, scoreFunction: .dot, queryChunkSize: 4, corpusChunkSize: 9)
                let b = try SemanticSearch.searchReference(queries: ints, corpus: intc, topK: k, scoreFunction: .dot, queryChunkSize: 4, corpusChunkSize: 9)
                XCTAssertEqual(a, b, "dot \(nq)x\(nc)x\(d) k=\(k)")
            }
            let fq = try Embeddings(count: nq, dimension: d, values: rng.floats(nq * d))
            let fc = try Embeddings(count: nc, dimension: d, values: rng.floats(nc * d))
            let a = try SemanticSearch.search(queries: fq, corpus: fc, topK: 5, scoreFunction: .cos, queryChunkSize: 7, corpusChunkSize: 50)
            let b = try SemanticSearch.searchReference(queries: fq, corpus: fc, topK: 5, scoreFunction: .cos, queryChunkSize: 7, corpusChunkSize: 50)
            for (x, y) in zip(a, b) {
                XCTAssertEqual(x.count, y.count)
                for (h1, h2) in zip(x, y) { XCTAssertEqual(h1.score, h2.score, accuracy: EmbeddingProfile.fp32.searchScoreAbs) }
            }
        }
    }

    func testEdgeCasesAndErrors() throws {
        let q = try Embeddings(count: 2, dimension: 3, values: [1, 0, 0, 0, 1, 0])
        let empty = try Embeddings(count: 0, dimension: 3, values: [])
        XCTAssertEqual(try SemanticSearch.search(queries: q, corpus: empty), [[], []])
        XCTAssertEqual(try SemanticSearch.search(queries: empty, corpus: q), [])
        XCTAssertEqual(try SemanticSearch.search(queries: q, corpus: q, topK: 0), [[], []])
        let other = try Embeddings(count: 1, dimension: 4, values: [1, 2, 3, 4])
        XCTAssertThrowsError(try SemanticSearch.search(queries: q, corpus: other)) {
            XCTAssertEqual($0 as? RetrieveError, .dimensionMismatch(queries: 3, corpus: 4))
        }
        XCTAssertThrowsError(try SemanticSearch.search(queries: q, corpus: q, topK: -1))
        XCTAssertThrowsError(try SemanticSearch.search(queries: q, corpus: q, queryChunkSize: 0))
        XCTAssertThrowsError(try Embeddings(count: 2, dimension: 3, values: [1]))
        // the zero vector under cos: eps keeps it finite, every score 0
        let z = try Embeddings(count: 1, dimension: 3, values: [0, 0, 0])
        XCTAssertEqual(try SemanticSearch.search(queries: z, corpus: q, topK: 2).first!.map(\.score), [0, 0])
    }
}
