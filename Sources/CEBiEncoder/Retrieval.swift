import CECore
import CERetrieve
import CERuntime
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// Refusals of the retrieve pipeline (index against model, corpus and query shapes), each with its context.
public enum RetrievalError: Error, Equatable, CustomStringConvertible {
    /// The index records another model's identity than the one given to embed the queries.
    case indexFromAnotherModel(index: String, model: String)
    case dimensionMismatch(index: Int, model: Int)
    /// similarity_fn_name euclidean / manhattan: semantic_search scores cos or dot only.
    case unsupportedSimilarity(String)
    case emptyCorpus
    case emptyQueries
    case invalidTopK(Int)
    case corpusTextsCount(index: Int, texts: Int)

    public var description: String {
        switch self {
        case .indexFromAnotherModel(let i, let m):
            return "the index was built by another model (model_sha256 \(i.prefix(16))…; this model is \(m.prefix(16))…): rebuild it with `cetool index build` or give the model that built it"
        case .dimensionMismatch(let i, let m): return "the index holds \(i)-dimensional rows; the model embeds in \(m) dimensions"
        case .unsupportedSimilarity(let s): return "the model's similarity_fn_name is \(s); search scores cos or dot (give --score-function)"
        case .emptyCorpus: return "the corpus holds no texts"
        case .emptyQueries: return "no queries given"
        case .invalidTopK(let k): return "top_k \(k) must be at least 1"
        case .corpusTextsCount(let i, let t): return "the index holds \(i) rows but the corpus texts file \(t) texts; they must be the texts the index was built from, in order"
        }
    }
}

/// One re-ranked hit: the bi-encoder's retrieval and the cross-encoder's score of (query, text).
public struct RerankedHit: Sendable, Equatable {
    /// 0-based corpus row.
    public var row: Int
    /// The index's corpus id of the row, or nil (then the row is the id).
    public var corpusID: String?
    /// Cosine (or dot) score of the bi-encoder and its 1-based rank among the retrieved hits.
    public var biScore: Float
    public var biRank: Int
    /// The cross-encoder's score (its own activation) of (query, text).
    public var crossScore: Float
    public var text: String
}

/// The Retrieve & Re-Rank pipeline as library calls (what `cetool embed / index build / search / retrieve-rerank` run).
public enum Retrieval {
    /// The model's similarity function as semantic_search's score function.
    public static func scoreFunction(of model: SentenceTransformer) throws -> ScoreFunction {
        switch model.similarityFunction {
        case "cosine": return .cos
        case "dot": return .dot
        default: throw RetrievalError.unsupportedSimilarity(model.similarityFunction)
        }
    }

    /// An index file's bytes (formats/index.md) for `corpus` embedded by `model`.
    public static func buildIndex(model: SentenceTransformer, corpus: [String], corpusIDs: [String]? = nil, precision: IndexPrecision,
                                  batchSize: Int = 32, rescoreMultiplier: Int = EmbeddingIndexLayout.defaultRescoreMultiplier,
                                  showProgressBar: Bool = false) throws -> [UInt8] {
        guard !corpus.isEmpty else { throw RetrievalError.emptyCorpus }
        let e = try model.encode(corpus, batchSize: batchSize, showProgressBar: showProgressBar)
        return try EmbeddingIndexWriter.encode(e, precision: precision, normalized: model.normalizes, scoreFunction: try scoreFunction(of: model),
                                               corpusIDs: corpusIDs, rescoreMultiplier: rescoreMultiplier, modelSHA256: try model.identity())
    }

    /// Opens an index and checks it belongs to `model` (identity and width).
    public static func openIndex(_ path: String, for model: SentenceTransformer) throws -> EmbeddingIndex {
        let index = try EmbeddingIndex(path: path)
        let id = try model.identity()
        guard index.header.modelSHA256 == id else { throw RetrievalError.indexFromAnotherModel(index: index.header.modelSHA256, model: id) }
        guard index.header.dimension == model.dimension else {
            throw RetrievalError.dimensionMismatch(index: index.header.dimension, model: model.dimension)
        }
        return index
    }

    /// Where the corpus is: texts to embed now, or an index built before (with the texts it was built from).
    public enum Corpus {
        case texts([String])
        case index(EmbeddingIndex, texts: [String])
    }

    /// The seed's pipeline: the query embedded, the best `rerankK` corpus rows retrieved (semantic_search, or the index's
    /// search), each (query, text) scored by the cross-encoder; the best `topK` by cross-encoder score (ties by
    /// bi-encoder rank).
    public static func retrieveRerank(query: String, biEncoder: SentenceTransformer, crossEncoder: CrossEncoder, corpus: Corpus,
                                      topK: Int, rerankK: Int, batchSize: Int = 32) throws -> [RerankedHit] {
        guard topK >= 1 else { throw RetrievalError.invalidTopK(topK) }
        guard rerankK >= 1 else { throw RetrievalError.invalidTopK(rerankK) }
        let q = try biEncoder.encode([query], batchSize: 1)
        let hits: [SearchHit], texts: [String], index: EmbeddingIndex?
        switch corpus {
        case .texts(let t):
            guard !t.isEmpty else { throw RetrievalError.emptyCorpus }
            let c = try biEncoder.encode(t, batchSize: batchSize)
            hits = try SemanticSearch.search(queries: q, corpus: c, topK: rerankK, scoreFunction: try scoreFunction(of: biEncoder))[0]
            texts = t
            index = nil
        case .index(let idx, let t):
            guard idx.header.count == t.count else { throw RetrievalError.corpusTextsCount(index: idx.header.count, texts: t.count) }
            guard idx.header.count > 0 else { throw RetrievalError.emptyCorpus }
            hits = try idx.search(queries: q, topK: rerankK)[0]
            texts = t
            index = idx
        }
        let scores = try crossEncoder.predict(hits.map { (query, texts[$0.corpusID]) }, batchSize: batchSize)
        let out = hits.enumerated().map { i, h in
            RerankedHit(row: h.corpusID, corpusID: index?.header.corpusIDs?[h.corpusID], biScore: h.score, biRank: i + 1,
                        crossScore: scores[i], text: texts[h.corpusID])
        }
        let sorted = out.sorted { ($0.crossScore, -$0.biRank) > ($1.crossScore, -$1.biRank) }
        return Array(sorted.prefix(topK))
    }
}
