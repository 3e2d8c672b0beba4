import CEBiEncoder
import CECore
import CERetrieve
import CERuntime
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// One hit of `POST /search`: the index row, its bi-encoder score, and with `rerank` the cross-encoder's.
struct ServedHit {
    var row: Int
    var score: Float
    var rerankScore: Float?
}

extension EmbedService {
    /// cetool: `{"hits": [hit]}` for `query`, `{"results": [{"hits": [hit]}]}` for `queries`, in query order; a hit is
    /// `{"corpus_id", "score", "rerank_score"?, "text"?}`, best first. Scores are `cetool search IDX`'s (int8 and binary
    /// indexes rescored as it does); with `rerank`, the best `rerank_k` are scored by the cross-encoder and the best
    /// `top_k` by that score are kept (ties by retrieval rank), as `cetool retrieve-rerank`.
    public func search(_ body: [UInt8]) async throws -> String {
        let start = BatchQueue.now()
        let r = try SearchRequest(Body(body, maxDepth: limits.maxJSONDepth), limits: limits)
        guard let index else {
            throw ServeError(status: 404, type: "NotFound", message: "no embedding index is loaded: start cetool serve with --index IDX (built by `cetool index build` from the bi-encoder)")
        }
        for (asked, field) in [(r.rerank, "rerank"), (r.returnText, "return_text")] where asked && corpusTexts == nil {
            throw ServeError.field(field, "needs the corpus texts, and the index keeps none: start cetool serve with --corpus-texts FILE (the texts the index was built from, in order)")
        }
        if r.rerank { try reranker.requireOneLabel("/search with rerank") }
        if r.rescoreMultiplier != nil, index.header.precision == .fp32 || index.header.precision == .fp16 {
            throw ServeError.field("rescore_multiplier", "applies to an int8 or binary index; this index is \(index.header.precision.rawValue)")
        }
        let fields = r.single ? ["query"] : r.queries.indices.map { "queries[\($0)]" }
        let q = try await embeddings(r.queries, fields: fields, promptName: r.promptName, truncate: true)
        let k = min(r.rerank ? r.rerankK : r.topK, max(index.header.count, 1))
        var hits = try await scan(index, queries: q, topK: k, rescoreMultiplier: r.rescoreMultiplier)
        if r.rerank {
            hits = try await rerank(r.queries, hits, topK: r.topK, timeout: max(0.001, limits.timeout - (BatchQueue.now() - start)))
        }
        let results: [JSONValue] = hits.map { .object([("hits", .array($0.map { hitJSON($0, index: index, text: r.returnText) }))]) }
        return JSONWriter.write(r.single ? results[0] : .object([("results", .array(results))]))
    }

    /// The index's search on the search thread, holding the compute lock.
    func scan(_ index: EmbeddingIndex, queries: [[Float]], topK: Int, rescoreMultiplier: Int?) async throws -> [[ServedHit]] {
        let e = try Embeddings(count: queries.count, dimension: model.dimension, values: queries.flatMap { $0 })
        let hits: [[SearchHit]] = try await withCheckedThrowingContinuation { c in
            searchThread.async {
                BatchQueue.compute.lock()
                let result = Result { try index.search(queries: e, topK: topK, rescoreMultiplier: rescoreMultiplier) }
                BatchQueue.compute.unlock()
                c.resume(with: result)
            }
        }
        return hits.map { $0.map { ServedHit(row: $0.corpusID, score: $0.score) } }
    }

    /// Each query's hits scored by the cross-encoder (its activation, as CrossEncoder.predict) in one queue
    /// submission; the best `topK` per query by that score, ties by retrieval rank.
    func rerank(_ queries: [String], _ hits: [[ServedHit]], topK: Int, timeout: Double) async throws -> [[ServedHit]] {
        guard let texts = corpusTexts else { return hits }
        let pairs = zip(queries, hits).flatMap { q, h in h.map { (q, texts[$0.row]) } }
        let rows = try await reranker.logits(pairs, field: "rerank", timeout: timeout).rows
        var next = 0
        return hits.map { h in
            var scored = h
            for i in scored.indices {
                scored[i].rerankScore = Scoring.apply(reranker.encoder.activation, to: rows[next])[0]
                next += 1
            }
            let order = RerankService.order(scored.map { $0.rerankScore! })
            return Array(order.prefix(topK).map { scored[$0] })
        }
    }

    func hitJSON(_ h: ServedHit, index: EmbeddingIndex, text: Bool) -> JSONValue {
        var m: [(String, JSONValue)] = [("corpus_id", index.header.corpusIDs.map { .string($0[h.row]) } ?? .int(Int64(h.row)))]
        m.append(("score", number(h.score)))
        if let s = h.rerankScore { m.append(("rerank_score", number(s))) }
        if text, let t = corpusTexts { m.append(("text", .string(t[h.row]))) }
        return .object(m)
    }
}
