import CECore
import CEGraph
import CERuntime
import CETokenizers
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The JSON <-> CrossEncoder translation behind each route: bytes of a request body in, bytes of a response body
/// out, or a `ServeError`. No HTTP here (Routes.swift).
public final class RerankService: @unchecked Sendable {
    public let encoder: CrossEncoder
    public let queue: BatchQueue
    public let metrics: ServeMetrics
    public let limits: RequestLimits
    /// The name clients see (`model` of /info and /v1/rerank): the argument given to `cetool serve`.
    public let modelName: String
    /// `GET /info`'s body, built once.
    public let info: String

    public init(encoder: CrossEncoder, modelName: String, limits: RequestLimits, queue: BatchQueue.Limits,
                metrics: ServeMetrics, extraInfo: [(String, JSONValue)]) {
        self.encoder = encoder
        self.modelName = modelName
        self.limits = limits
        self.metrics = metrics
        self.queue = BatchQueue(executor: encoder.executor, limits: queue, metrics: metrics)
        info = JSONWriter.write(ServeInfo.json(encoder, name: modelName, limits: limits, queue: queue, extra: extraInfo))
    }

    /// Raw logits, [pairs.count][numLabels], in input order, and the tokens scored. `truncate` false: a pair longer than the model's
    /// maxLength is refused (422 naming `field[i]`) instead of truncated (longest_first). `timeout`: seconds left of the
    /// request's --timeout (default: all of it).
    func logits(_ pairs: [(String, String)], truncate: Bool = true, field: String, timeout: Double? = nil) async throws -> (rows: [[Float]], tokens: Int) {
        let tok = encoder.tokenizer
        var seqs: [TokenSequence] = []
        seqs.reserveCapacity(pairs.count)
        for (i, p) in pairs.enumerated() {
            do {
                if !truncate {
                    let n = try tok.encode(p.0, p.1, maxLength: nil).ids.count
                    if n > encoder.maxLength {
                        throw ServeError.field("\(field)[\(i)]", "is \(n) tokens with the query; the model takes at most \(encoder.maxLength) (send \"truncate\": true to truncate)")
                    }
                }
                let e = try tok.encode(p.0, p.1, maxLength: encoder.maxLength)
                seqs.append(TokenSequence(ids: e.ids, typeIDs: e.typeIDs))
            } catch let e as ServeError {
                throw e
            } catch {
                throw ServeError.field("\(field)[\(i)]", "cannot be tokenized: \(error)")
            }
        }
        do {
            return (try await queue.submit(seqs, timeout: timeout ?? limits.timeout), seqs.reduce(0) { $0 + $1.ids.count })
        } catch let e as QueueError {
            throw e.serveError(unit: "pairs")
        }
    }

    func requireOneLabel(_ route: String) throws {
        guard encoder.numLabels == 1 else {
            throw ServeError(status: 422, type: "Validation",
                             message: "\(route) needs a model with one label; this model has \(encoder.numLabels) (POST /predict scores every label)")
        }
    }

    /// Indices best first: score descending, ties in input order (CrossEncoder.rank); NaN last.
    static func order(_ scores: [Float]) -> [Int] {
        scores.indices.sorted {
            let a = scores[$0].isNaN ? -Float.infinity : scores[$0], b = scores[$1].isNaN ? -Float.infinity : scores[$1]
            return (a, -$0) > (b, -$1)
        }
    }

    /// TEI: `[{"index", "text"?, "score"}]` best first; score is the raw logit when raw_scores, else the model's
    /// activation applied (sigmoid for a default one-label model, as TEI).
    public func teiRerank(_ body: [UInt8]) async throws -> String {
        let r = try TEIRerankRequest(Body(body, maxDepth: limits.maxJSONDepth), limits: limits)
        try requireOneLabel("/rerank")
        let raw = try await logits(r.texts.map { (r.query, $0) }, truncate: r.truncate, field: "texts").rows
        let scores = raw.map { r.rawScores ? $0[0] : Scoring.apply(encoder.activation, to: $0)[0] }
        let items: [JSONValue] = Self.order(scores).map { i in
            var m: [(String, JSONValue)] = [("index", .int(Int64(i)))]
            if r.returnText { m.append(("text", .string(r.texts[i]))) }
            m.append(("score", number(scores[i])))
            return .object(m)
        }
        return JSONWriter.write(.array(items))
    }

    /// Cohere / Jina: `{"id", "model", "results": [{"index", "relevance_score", "document"?: {"text"}}],
    /// "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}, "usage": {"total_tokens"}}`;
    /// relevance_score is the model's activation applied.
    public func cohereRerank(_ body: [UInt8]) async throws -> String {
        let r = try CohereRerankRequest(Body(body, maxDepth: limits.maxJSONDepth), limits: limits)
        try requireOneLabel("/v1/rerank")
        let pairs = r.documents.map { (r.query, $0) }
        let (raw, tokens) = try await logits(pairs, field: "documents")
        let scores = raw.map { Scoring.apply(encoder.activation, to: $0)[0] }
        let results: [JSONValue] = Self.order(scores).prefix(r.topN ?? scores.count).map { i in
            var m: [(String, JSONValue)] = [("index", .int(Int64(i))), ("relevance_score", number(scores[i]))]
            if r.returnDocuments { m.append(("document", .object([("text", .string(r.documents[i]))]))) }
            return .object(m)
        }
        return JSONWriter.write(.object([
            ("id", .string(UUID().uuidString.lowercased())), ("model", .string(r.model ?? modelName)),
            ("results", .array(results)),
            ("meta", .object([("api_version", .object([("version", .string("2"))])),
                              ("billed_units", .object([("search_units", .int(1))]))])),
            ("usage", .object([("total_tokens", .int(Int64(tokens)))])),
        ]))
    }

    /// cetool: `{"labels": [names], "results": [{"score"} | {"scores": [per label], "label"}, + "logits"?]}` in
    /// input order, as `cetool predict` prints each pair.
    public func predict(_ body: [UInt8]) async throws -> String {
        let r = try PredictRequest(Body(body, maxDepth: limits.maxJSONDepth), limits: limits, numLabels: encoder.numLabels)
        let raw = try await logits(r.pairs, field: "pairs").rows
        let names = ServeInfo.labelNames(encoder)
        let results: [JSONValue] = raw.map { row in
            let s = Scoring.apply(r.activation ?? encoder.activation, to: row)
            var m: [(String, JSONValue)]
            if s.count == 1 {
                m = [("score", number(s[0]))]
            } else {
                let best = s.indices.max { (s[$0], -$0) < (s[$1], -$1) } ?? 0
                m = [("scores", .array(s.map(number))), ("label", .string(names[best]))]
            }
            if r.logits { m.append(("logits", .array(row.map(number)))) }
            return .object(m)
        }
        return JSONWriter.write(.object([("labels", .array(names.map { .string($0) })), ("results", .array(results))]))
    }
}

extension QueueError {
    /// The HTTP answer to a refusal of the batching queue; `unit` names what it holds (pairs, texts).
    func serveError(unit: String) -> ServeError {
        switch self {
        case .full(let c):
            return ServeError(status: 429, type: "Overloaded", message: "the batching queue is full (\(c) \(unit) waiting at most, --queue-pairs); retry later", retryAfter: 1)
        case .timedOut(let s):
            return ServeError(status: 503, type: "Overloaded", message: "the request was not answered within its timeout of \(s) s (--timeout)", retryAfter: 1)
        case .stopped:
            return ServeError(status: 503, type: "Unhealthy", message: "the server is shutting down")
        case .model(let m):
            return ServeError(status: 500, type: "Backend", message: "the model failed: \(m)")
        }
    }
}

/// Float -> JSON number (the shortest decimal that reads back as the same Float); non-finite -> null.
func number(_ f: Float) -> JSONValue { f.isFinite ? .double(Double("\(f)")!) : .null }
