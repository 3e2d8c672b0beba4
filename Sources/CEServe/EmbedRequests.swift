import CECore

extension Body {
    /// A string or a non-empty array of at most `limit` strings (TEI's `inputs`); with the field name of each text:
    /// `name` for a lone string, `name[i]` in an array.
    func texts(_ name: String, limit: Int) throws -> (texts: [String], fields: [String], single: Bool) {
        guard let v = value(name) else { throw ServeError.field(name, "is required (a string or an array of strings)") }
        if let s = v.stringValue { return ([s], [name], true) }
        guard v.arrayValue != nil else { throw ServeError.field(name, "must be a string or an array of strings") }
        let texts = try array(name, limit: limit).enumerated().map { i, e in
            guard let s = e.stringValue else { throw ServeError.field("\(name)[\(i)]", "must be a string") }
            return s
        }
        return (texts, texts.indices.map { "\(name)[\($0)]" }, false)
    }

    /// An optional integer of at least `min`.
    func optionalInt(_ name: String, atLeast min: Int) throws -> Int? {
        guard let i = try optionalInt(name) else { return nil }
        guard i >= min else { throw ServeError.field(name, "must be at least \(min); got \(i)") }
        return i
    }
}

/// TEI `POST /embed`: {"inputs": string | [string], "normalize" = true, "truncate" = false,
/// "truncation_direction" = "right", "prompt_name"?, "dimensions"?}.
struct EmbedRequest {
    var inputs: [String]
    /// The field naming each input in an error (`inputs`, `inputs[3]`).
    var fields: [String]
    var normalize: Bool
    var truncate: Bool
    var promptName: String?
    /// Matryoshka: the first `dimensions` components (before normalizing), 1 ... the model's dimension.
    var dimensions: Int?

    init(_ b: Body, limits: RequestLimits, dimension: Int) throws {
        (inputs, fields, _) = try b.texts("inputs", limit: limits.maxTexts)
        normalize = try b.bool("normalize", default: true)
        truncate = try b.bool("truncate", default: false)
        if let d = try b.optionalString("truncation_direction"), d.lowercased() != "right" {
            throw ServeError.field("truncation_direction", "must be \"right\" (sentence-transformers truncates from the right); got \(JSONWriter.quote(d))")
        }
        promptName = try b.optionalString("prompt_name")
        dimensions = try b.optionalInt("dimensions", atLeast: 1)
        if let d = dimensions, d > dimension {
            throw ServeError.field("dimensions", "must be at most the model's dimension \(dimension); got \(d)")
        }
    }
}

/// cetool `POST /search`: {"query": string | "queries": [string], "top_k" = 10, "rerank" = false, "rerank_k" =
/// max(32, top_k), "return_text" = false, "prompt_name"?, "rescore_multiplier"?}.
struct SearchRequest {
    var queries: [String]
    /// `query` was given (one result object), not `queries` (one per query).
    var single: Bool
    var topK: Int
    var rerank: Bool
    var rerankK: Int
    var returnText: Bool
    var promptName: String?
    var rescoreMultiplier: Int?

    /// Upper bound of `rescore_multiplier` (its product with a row count must not overflow).
    static let maxRescoreMultiplier = 1 << 20

    init(_ b: Body, limits: RequestLimits) throws {
        switch (b.value("query"), b.value("queries")) {
        case (nil, nil): throw ServeError.field("query", "is required (a string), or give `queries` (an array of strings)")
        case (.some, .some): throw ServeError.field("queries", "cannot be given with `query`: give one of them")
        case (.some, nil):
            queries = [try b.string("query")]
            single = true
        case (nil, .some):
            queries = try b.array("queries", limit: limits.maxTexts).enumerated().map { i, v in
                guard let s = v.stringValue else { throw ServeError.field("queries[\(i)]", "must be a string") }
                return s
            }
            single = false
        }
        topK = try b.optionalInt("top_k", atLeast: 1) ?? 10
        rerank = try b.bool("rerank", default: false)
        rerankK = try b.optionalInt("rerank_k", atLeast: 1) ?? max(32, topK)
        if rerankK < topK { throw ServeError.field("rerank_k", "(\(rerankK)) must be at least `top_k` (\(topK)): only re-ranked hits are returned") }
        returnText = try b.bool("return_text", default: false)
        promptName = try b.optionalString("prompt_name")
        rescoreMultiplier = try b.optionalInt("rescore_multiplier", atLeast: 1)
        if let m = rescoreMultiplier, m > Self.maxRescoreMultiplier {
            throw ServeError.field("rescore_multiplier", "must be at most \(Self.maxRescoreMultiplier); got \(m)")
        }
        if rerank, queries.count > limits.maxTexts / rerankK {
            throw ServeError.tooLarge("`rerank_k` × queries is \(queries.count) × \(rerankK) pairs to re-rank; at most \(limits.maxTexts) per request (--max-texts)")
        }
    }
}
