import CEBiEncoder
import CECore
import CERetrieve
import CERuntime
import CETokenizers
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The JSON <-> SentenceTransformer / EmbeddingIndex translation behind `POST /embed` and `POST /search`; /search's
/// re-ranking goes through the served cross-encoder's queue (RerankService).
public final class EmbedService: @unchecked Sendable {
    public let model: SentenceTransformer
    public let queue: BatchQueue
    public let index: EmbeddingIndex?
    /// The texts the index was built from, in row order (`--corpus-texts`); nil: the index keeps none.
    public let corpusTexts: [String]?
    /// ModelIdentity.sha256 of the bi-encoder (what an index records as model_sha256).
    public let identity: String
    let reranker: RerankService
    var limits: RequestLimits { reranker.limits }
    /// /search's index scans run here (holding BatchQueue.compute), not on the event loops or the concurrency pool.
    let searchThread = DispatchQueue(label: "cetool-search")

    /// `index` must come from `model` (Retrieval.openIndex); `corpusTexts`, when given, holds one text per row.
    /// `identity`: model.identity(), computed once by the caller.
    public init(model: SentenceTransformer, identity: String, index: EmbeddingIndex?, corpusTexts: [String]?,
                reranker: RerankService, queue: BatchQueue.Limits) throws {
        if let index, let t = corpusTexts, t.count != index.header.count {
            throw RetrievalError.corpusTextsCount(index: index.header.count, texts: t.count)
        }
        self.model = model
        self.index = index
        self.corpusTexts = corpusTexts
        self.reranker = reranker
        self.identity = identity
        self.queue = BatchQueue(limits: queue, metrics: reranker.metrics, model: .biEncoder) { seqs, tags in
            try Self.sentenceEmbeddings(model, seqs, promptLengths: tags)
        }
    }

    /// One batch of the queue: Transformer -> Pooling / Dense / Normalize, a row of `dimension` per sequence in
    /// order. Sequences are grouped by prompt length (a tag; 0: none), which Pooling with include_prompt false needs.
    static func sentenceEmbeddings(_ m: SentenceTransformer, _ seqs: [TokenSequence], promptLengths: [Int]) throws -> [[Float]] {
        let d = m.dimension
        var out = [[Float]](repeating: [], count: seqs.count)
        for pl in Set(promptLengths).sorted() {
            let rows = seqs.indices.filter { promptLengths[$0] == pl }
            let h = try m.executor.hiddenStates(rows.map { seqs[$0] })
            let e = try m.folder.embed(tokenEmbeddings: h.values, mask: h.attentionMask, batch: h.batch, tokens: h.tokens,
                                       promptLength: pl > 0 ? pl : nil)
            for (r, i) in rows.enumerated() { out[i] = Array(e[(r * d)..<((r + 1) * d)]) }
        }
        return out
    }

    /// Sentence embeddings of `texts` (not normalized beyond the model's own Normalize), [texts.count][dimension] in
    /// order, through the queue. `truncate` false: a text longer than max_seq_length (with its prompt) is refused
    /// with 413 naming its field, as TEI. `timeout`: seconds left of the request's --timeout.
    func embeddings(_ texts: [String], fields: [String], promptName: String?, truncate: Bool, timeout: Double? = nil) async throws -> [[Float]] {
        let prompt: String?, promptLength: Int
        do {
            prompt = try model.resolvePrompt(promptName: promptName, prompt: nil)
            promptLength = try prompt.map { try model.promptLength($0) } ?? 0
        } catch let e as BiEncoderError {
            throw ServeError.field("prompt_name", "\(e)")
        }
        var seqs: [TokenSequence] = []
        seqs.reserveCapacity(texts.count)
        for (t, field) in zip(texts, fields) {
            let text = (prompt ?? "") + t
            do {
                if !truncate {
                    let n = try model.tokenizer.encode(text, maxLength: nil).ids.count
                    if n > model.maxSeqLength {
                        throw ServeError.tooLarge("`\(field)` must have at most \(model.maxSeqLength) tokens (max_seq_length\(prompt.map { _ in ", with the prompt" } ?? "")); given: \(n) (send \"truncate\": true to truncate)")
                    }
                }
                let e = try model.tokenizer.encode(text, maxLength: model.maxSeqLength)
                seqs.append(TokenSequence(ids: e.ids, typeIDs: e.typeIDs))
            } catch let e as ServeError {
                throw e
            } catch {
                throw ServeError.field(field, "cannot be tokenized: \(error)")
            }
        }
        do {
            return try await queue.submit(seqs, tag: promptLength, timeout: timeout ?? limits.timeout)
        } catch let e as QueueError {
            throw e.serveError(unit: "texts")
        }
    }

    /// TEI: `[[float]]` in input order; `dimensions` keeps the first components, then `normalize` L2-normalizes.
    public func embed(_ body: [UInt8]) async throws -> String {
        let r = try EmbedRequest(Body(body, maxDepth: limits.maxJSONDepth), limits: limits, dimension: model.dimension)
        let rows = try await embeddings(r.inputs, fields: r.fields, promptName: r.promptName, truncate: r.truncate)
        let out: [JSONValue] = rows.map { row in
            var v = r.dimensions.map { Array(row.prefix($0)) } ?? row
            if r.normalize { v = Pool.normalize(v, dimension: v.count) }
            return .array(v.map(number))
        }
        return JSONWriter.write(.array(out))
    }
}
