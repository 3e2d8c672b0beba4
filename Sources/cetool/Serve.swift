import ArgumentParser
import CEBiEncoder
import CECore
import CERuntime
import CERetrieve
import CEServe
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a cross-encoder over HTTP: TEI's POST /rerank, Cohere's and Jina's POST /v1/rerank, POST /predict, GET /health, /info, /metrics; with --bi-encoder TEI's POST /embed, with --index POST /search.",
        discussion: """
        The first line on standard output is `listening on http://HOST:PORT` once the socket is bound (with --port 0, \
        PORT is the free port chosen). SIGTERM or SIGINT: stop accepting, answer the requests in flight, exit 0. \
        Shapes, status codes and limits: formats/serve.md.
        """)

    @Argument(help: "HuggingFace model directory, cetool artifact, or ORG/NAME[@REVISION] in the HuggingFace cache.")
    var modelDirectory: String

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to bind; 0 picks a free one (printed on the first line).")
    var port = 8080

    @Option(parsing: .unconditional, help: "Tokens per pair after truncation, at least 1 (default: the model's own limit).")
    var maxLength: Int?

    @Option(parsing: .unconditional, help: "Compute threads, at least 1 (default: the CPU quota of this process's cgroup, else its CPU affinity).")
    var threads: Int?

    @Option(parsing: .unconditional, help: "Tokens one shared batch holds at most; concurrent requests' pairs fill it, a larger request is split over several.")
    var maxBatchTokens = 2048

    @Option(parsing: .unconditional, help: "Milliseconds a batch that is not full waits for more pairs.")
    var maxWaitMs = 2.0

    @Option(parsing: .unconditional, help: "Pairs the batching queue holds at most; a request that would exceed it is answered 429 with Retry-After.")
    var queuePairs = 65_536

    @Option(parsing: .unconditional, help: "Request body bytes at most (413 beyond).")
    var maxBodyBytes = 32 << 20

    @Option(parsing: .unconditional, help: "Texts, documents, pairs, /embed inputs or /search queries per request at most (413 beyond).")
    var maxTexts = 10_000

    @Option(parsing: .unconditional, help: "Nesting depth of a request's JSON at most (400 beyond).")
    var maxJSONDepth = 64

    @Option(parsing: .unconditional, help: "Seconds a request may wait for its pairs to be scored (503 with Retry-After beyond; checked between batches).")
    var timeout = 60.0

    @Option(parsing: .unconditional, help: "Tokens one forward pass holds at most (activation memory); a batch runs as several passes. Default: the runtime's.")
    var tokensPerPass: Int?

    @Option(help: "A SentenceTransformer folder or cetool bi-encoder artifact to serve POST /embed (and /search with --index).")
    var biEncoder: String?

    @Option(help: "An index built by `cetool index build` from the --bi-encoder, to serve POST /search.")
    var index: String?

    @Option(help: "The texts the --index was built from (its --corpus file), for /search's rerank and return_text.")
    var corpusTexts: String?

    func validate() throws {
        try requireAtLeast(1, maxLength, "--max-length")
        try requireAtLeast(1, threads, "--threads")
        try requireAtLeast(1, maxBatchTokens, "--max-batch-tokens")
        try requireAtLeast(1, maxTexts, "--max-texts")
        try requireAtLeast(1, maxBodyBytes, "--max-body-bytes")
        try requireAtLeast(1, maxJSONDepth, "--max-json-depth")
        try requireAtLeast(1, tokensPerPass, "--tokens-per-pass")
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535; got \(port)") }
        guard maxWaitMs >= 0, maxWaitMs.isFinite else { throw ValidationError("--max-wait-ms must be 0 or more; got \(maxWaitMs)") }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be more than 0 seconds; got \(timeout)") }
        if index != nil, biEncoder == nil { throw ValidationError("--index needs --bi-encoder BI, the model that built it (it embeds the queries)") }
        if corpusTexts != nil, index == nil { throw ValidationError("--corpus-texts gives the texts of an --index; give --index IDX too") }
        guard queuePairs >= maxTexts else {
            throw ValidationError("--queue-pairs (\(queuePairs)) must be at least --max-texts (\(maxTexts)), or a largest request could never be queued")
        }
    }

    func run() throws {
        let quota = CPUQuota.current()
        let n = threads ?? quota.cpus
        let ce = try CrossEncoder(modelDirectory: URL(fileURLWithPath: try resolveModelPath(modelDirectory)), maxLength: maxLength, threads: n)
        if let t = tokensPerPass { ce.executor.tokensPerPass = t }
        let retrieval = try loadRetrieval(threads: n)
        let queueLimits = BatchQueue.Limits(maxBatchTokens: maxBatchTokens, maxWait: maxWaitMs / 1000, capacity: queuePairs)
        let service = RerankService(
            encoder: ce, modelName: modelDirectory,
            limits: RequestLimits(maxBodyBytes: maxBodyBytes, maxTexts: maxTexts, maxJSONDepth: maxJSONDepth, timeout: timeout),
            queue: queueLimits, metrics: ServeMetrics(servesBiEncoder: retrieval != nil),
            extraInfo: [("version", .string(CLIEntry.version)), ("threads", .int(Int64(n))),
                        ("threads_source", .string(threads == nil ? quota.source : "--threads"))] + (retrieval?.info ?? []))
        let bi = try retrieval.map {
            try EmbedService(model: $0.model, identity: $0.identity, index: $0.index, corpusTexts: $0.texts, reranker: service, queue: queueLimits)
        }
        var logger = Logger(label: "cetool.serve", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let host = self.host
        let outcome = Outcome()
        Task.detached {
            do {
                try await Server.run(service, bi: bi, host: host, port: port, logger: logger) { h, p in
                    outcome.listening()
                    let shown = h.contains(":") ? "[\(h)]" : h
                    StandardStreams.writeOutput("listening on http://\(shown):\(p)\n")
                }
            } catch {
                outcome.fail(outcome.isListening ? error : CLIError.refused("cannot listen on \(host):\(port): \(error)"))
            }
            outcome.done.signal()
        }
        outcome.done.wait()
        if let e = outcome.error { throw e }
    }

    /// The --bi-encoder, its identity, the --index (refused unless the bi-encoder built it) and the --corpus-texts
    /// (one per index row), with their /info members; nil without --bi-encoder.
    func loadRetrieval(threads: Int) throws -> (model: SentenceTransformer, identity: String, index: EmbeddingIndex?, texts: [String]?,
                                                info: [(String, JSONValue)])? {
        guard let biEncoder else { return nil }
        let m = try SentenceTransformer(try resolveModelPath(biEncoder), threads: threads)
        _ = Unmanaged.passRetained(m)
        let idx = try index.map { try Retrieval.openIndex($0, for: m) }
        let texts = try corpusTexts.map { try readTexts($0, what: "--corpus-texts").texts }
        if let idx, let texts, texts.count != idx.header.count {
            throw RetrievalError.corpusTextsCount(index: idx.header.count, texts: texts.count)
        }
        let identity = try m.identity()
        let info = ServeInfo.retrieval(m, name: biEncoder, identity: identity, index: idx, indexPath: index, hasTexts: texts != nil)
        return (m, identity, idx, texts, info)
    }

    /// The server task's end, handed to the waiting main thread.
    final class Outcome: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let lock = PosixLock()
        private var bound = false
        private(set) var error: Error?
        func fail(_ e: Error) { lock.lock(); error = e; lock.unlock() }
        func listening() { lock.lock(); bound = true; lock.unlock() }
        var isListening: Bool { lock.lock(); defer { lock.unlock() }; return bound }
    }
}
