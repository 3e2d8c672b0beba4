import CECore
import CEGraph

/// A request refused: HTTP status, TEI's `error_type` (Validation, Empty, Overloaded, Unhealthy, Backend, NotFound),
/// the message (names the field or the limit), and for 429/503 the Retry-After seconds.
public struct ServeError: Error, Equatable {
    public var status: Int
    public var type: String
    public var message: String
    public var retryAfter: Int? = nil

    static func badJSON(_ m: String) -> ServeError { ServeError(status: 400, type: "Validation", message: m) }
    static func field(_ name: String, _ m: String) -> ServeError { ServeError(status: 422, type: "Validation", message: "`\(name)` \(m)") }
    static func empty(_ name: String) -> ServeError { ServeError(status: 400, type: "Empty", message: "`\(name)` cannot be empty") }
    static func tooLarge(_ m: String) -> ServeError { ServeError(status: 413, type: "Validation", message: m) }
}

/// The request limits; every one is checked before the model sees the request.
public struct RequestLimits: Sendable {
    /// Request body bytes; checked before parsing (Content-Length first, then while reading).
    public var maxBodyBytes: Int
    /// Texts (/rerank), documents (/v1/rerank) or pairs (/predict) per request.
    public var maxTexts: Int
    /// JSON nesting depth of a body.
    public var maxJSONDepth: Int
    /// Seconds from a request's arrival until it is answered 503 if its pairs are not all scored.
    public var timeout: Double
    public init(maxBodyBytes: Int, maxTexts: Int, maxJSONDepth: Int, timeout: Double) {
        self.maxBodyBytes = maxBodyBytes
        self.maxTexts = maxTexts
        self.maxJSONDepth = maxJSONDepth
        self.timeout = timeout
    }
}

/// Request bodies as JSON objects, read with CECore's strict parser: typed fields, each error naming its field.
struct Body {
    let members: [(String, JSONValue)]

    init(_ bytes: [UInt8], maxDepth: Int) throws {
        let v: JSONValue
        do {
            v = try JSONParser.parse(bytes, maxDepth: maxDepth)
        } catch let e as JSONError {
            if case .tooDeep = e { throw ServeError.badJSON("the body is not valid JSON: \(e) (--max-json-depth)") }
            throw ServeError.badJSON("the body is not valid JSON: \(e)")
        } catch {
            throw ServeError.badJSON("the body is not valid JSON: \(error)")
        }
        guard let o = v.objectValue else { throw ServeError.badJSON("the body must be a JSON object") }
        members = o
    }

    /// The member's value; absent and null are the same (nil).
    func value(_ name: String) -> JSONValue? {
        guard let v = members.first(where: { $0.0 == name })?.1, !v.isNull else { return nil }
        return v
    }

    func string(_ name: String) throws -> String {
        guard let v = value(name) else { throw ServeError.field(name, "is required (a string)") }
        guard let s = v.stringValue else { throw ServeError.field(name, "must be a string") }
        return s
    }

    func optionalString(_ name: String) throws -> String? {
        guard let v = value(name) else { return nil }
        guard let s = v.stringValue else { throw ServeError.field(name, "must be a string") }
        return s
    }

    func bool(_ name: String, default d: Bool) throws -> Bool {
        guard let v = value(name) else { return d }
        guard let b = v.boolValue else { throw ServeError.field(name, "must be true or false") }
        return b
    }

    func optionalInt(_ name: String) throws -> Int? {
        guard let v = value(name) else { return nil }
        guard let i = v.intValue else { throw ServeError.field(name, "must be an integer") }
        return i
    }

    /// A non-empty array of at most `limit` elements.
    func array(_ name: String, limit: Int) throws -> [JSONValue] {
        guard let v = value(name) else { throw ServeError.field(name, "is required (an array)") }
        guard let a = v.arrayValue else { throw ServeError.field(name, "must be an array") }
        if a.isEmpty { throw ServeError.empty(name) }
        if a.count > limit {
            throw ServeError.tooLarge("`\(name)` holds \(a.count) entries; at most \(limit) per request (--max-texts)")
        }
        return a
    }
}

/// TEI `POST /rerank`: {"query", "texts", "raw_scores" = false, "return_text" = false, "truncate" = true,
/// "truncation_direction" = "right"}.
struct TEIRerankRequest {
    var query: String
    var texts: [String]
    var rawScores: Bool
    var returnText: Bool
    var truncate: Bool

    init(_ b: Body, limits: RequestLimits) throws {
        query = try b.string("query")
        texts = try b.array("texts", limit: limits.maxTexts).enumerated().map { i, v in
            guard let s = v.stringValue else { throw ServeError.field("texts[\(i)]", "must be a string") }
            return s
        }
        rawScores = try b.bool("raw_scores", default: false)
        returnText = try b.bool("return_text", default: false)
        truncate = try b.bool("truncate", default: true)
        if let d = try b.optionalString("truncation_direction"), d.lowercased() != "right" {
            throw ServeError.field("truncation_direction", "must be \"right\" (the model's own truncation, longest_first from the right); got \(JSONWriter.quote(d))")
        }
    }
}

/// Cohere / Jina `POST /v1/rerank`: {"model"?, "query", "documents" (strings or {"text"}), "top_n"?,
/// "return_documents" = false}.
struct CohereRerankRequest {
    var model: String?
    var query: String
    var documents: [String]
    var topN: Int?
    var returnDocuments: Bool

    init(_ b: Body, limits: RequestLimits) throws {
        model = try b.optionalString("model")
        query = try b.string("query")
        documents = try b.array("documents", limit: limits.maxTexts).enumerated().map { i, v in
            if let s = v.stringValue { return s }
            if v.objectValue != nil {
                guard let t = v["text"] else { throw ServeError.field("documents[\(i)].text", "is required (a string)") }
                guard let s = t.stringValue else { throw ServeError.field("documents[\(i)].text", "must be a string") }
                return s
            }
            throw ServeError.field("documents[\(i)]", "must be a string or {\"text\": string}")
        }
        topN = try b.optionalInt("top_n")
        if let n = topN, n < 1 { throw ServeError.field("top_n", "must be at least 1; got \(n)") }
        returnDocuments = try b.bool("return_documents", default: false)
    }
}

/// cetool `POST /predict`: {"pairs": [[query, document] | {"query", "document"}…], "activation" = "auto",
/// "logits" = false}.
struct PredictRequest {
    var pairs: [(String, String)]
    /// nil: the model's own.
    var activation: ScoreActivation?
    var logits: Bool

    init(_ b: Body, limits: RequestLimits, numLabels: Int) throws {
        pairs = try b.array("pairs", limit: limits.maxTexts).enumerated().map { i, v in
            if let a = v.arrayValue {
                guard a.count == 2, let q = a[0].stringValue, let d = a[1].stringValue else {
                    throw ServeError.field("pairs[\(i)]", "must be two strings, [query, document]")
                }
                return (q, d)
            }
            if v.objectValue != nil {
                guard let q = v["query"]?.stringValue, let d = v["document"]?.stringValue else {
                    throw ServeError.field("pairs[\(i)]", "needs string members \"query\" and \"document\"")
                }
                return (q, d)
            }
            throw ServeError.field("pairs[\(i)]", "must be [query, document] or {\"query\", \"document\"}")
        }
        let a = try b.optionalString("activation") ?? "auto"
        switch a {
        case "auto": activation = nil
        case "identity": activation = .identity
        case "sigmoid": activation = .sigmoid
        case "tanh": activation = .tanh
        case "softmax":
            guard numLabels > 1 else { throw ServeError.field("activation", "softmax needs a model with several labels; this model has 1") }
            activation = .softmax
        default: throw ServeError.field("activation", "must be auto, identity, sigmoid, tanh or softmax; got \(JSONWriter.quote(a))")
        }
        logits = try b.bool("logits", default: false)
    }
}
