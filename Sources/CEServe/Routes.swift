import CECore
import Hummingbird
import Logging
import NIOCore

/// The HTTP side: routes, body limits, status codes, error bodies and metrics; the JSON work is RerankService's.
public enum Server {
    /// Serves until SIGTERM or SIGINT, then stops accepting, answers the requests in flight and returns.
    /// `onListening(host, port)` runs once the socket is bound (port 0 binds a free port; this is the bound one).
    /// `bi`: the bi-encoder (and index) behind /embed and /search; nil answers them 404.
    public static func run(_ service: RerankService, bi: EmbedService? = nil, host: String, port: Int, logger: Logger,
                           onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        service.queue.start()
        bi?.queue.start()
        defer {
            service.queue.stop()
            bi?.queue.stop()
        }
        let router = Router()
        addRoutes(router, service, bi)
        let app = Application(router: router,
                              configuration: .init(address: .hostname(host, port: port), serverName: "cetool"),
                              onServerRunning: { onListening(host, $0.localAddress?.port ?? port) },
                              logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }

    /// How a route's errors are written: TEI's {"error", "error_type"} or Cohere's {"message"}.
    enum ErrorStyle { case tei, cohere }

    static func addRoutes(_ router: Router<BasicRequestContext>, _ s: RerankService, _ bi: EmbedService?) {
        router.get("/health") { _, _ in await measured(s, "/health") { json(200, #"{"status":"ok"}"#) } }
        router.get("/info") { _, _ in await measured(s, "/info") { json(200, s.info) } }
        router.get("/metrics") { _, _ in
            await measured(s, "/metrics") {
                var h = HTTPFields()
                h[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
                return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: s.metrics.render())))
            }
        }
        router.post("/rerank") { req, _ in await scoring(s, "/rerank", req, .tei, s.teiRerank) }
        router.post("/v1/rerank") { req, _ in await scoring(s, "/v1/rerank", req, .cohere, s.cohereRerank) }
        router.post("/predict") { req, _ in await scoring(s, "/predict", req, .tei, s.predict) }
        if let bi {
            router.post("/embed") { req, _ in await scoring(s, "/embed", req, .tei, bi.embed) }
            router.post("/search") { req, _ in await scoring(s, "/search", req, .tei, bi.search) }
            return
        }
        for route in ["/embed", "/search"] {
            let what = route == "/embed" ? "no bi-encoder is loaded" : "no bi-encoder and embedding index are loaded"
            let answer: @Sendable (Request, BasicRequestContext) async -> Response = { _, _ in
                await measured(s, route) { error(ServeError(status: 404, type: "NotFound", message: "\(what) (start cetool serve with --bi-encoder BI\(route == "/search" ? " --index IDX" : "")): \(route) is not served"), .tei) }
            }
            router.post(RouterPath(route), use: answer)
            router.get(RouterPath(route), use: answer)
        }
    }

    static func measured(_ s: RerankService, _ route: String, _ body: () async -> Response) async -> Response {
        let start = BatchQueue.now()
        s.metrics.requestStarted()
        let r = await body()
        s.metrics.requestFinished(route: route, status: r.status.code, seconds: BatchQueue.now() - start)
        return r
    }

    /// Reads the body (at most maxBodyBytes: Content-Length is checked before reading), calls `handler`, and turns a
    /// ServeError into its status and error body.
    static func scoring(_ s: RerankService, _ route: String, _ req: Request, _ style: ErrorStyle,
                        _ handler: @escaping @Sendable ([UInt8]) async throws -> String) async -> Response {
        await measured(s, route) {
            do {
                let bytes = try await body(req, limit: s.limits.maxBodyBytes)
                return json(200, try await handler(bytes))
            } catch let e as ServeError {
                return error(e, style)
            } catch {
                return Self.error(ServeError(status: 500, type: "Backend", message: "\(error)"), style)
            }
        }
    }

    static func body(_ req: Request, limit: Int) async throws -> [UInt8] {
        let tooLarge = ServeError.tooLarge("the request body is larger than \(limit) bytes (--max-body-bytes)")
        if let cl = req.headers[.contentLength].flatMap({ Int($0) }), cl > limit { throw tooLarge }
        do {
            let buffer = try await req.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    static func json(_ status: Int, _ text: String, _ extra: HTTPFields = [:]) -> Response {
        var h = extra
        h[.contentType] = "application/json"
        return Response(status: .init(code: status), headers: h, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ e: ServeError, _ style: ErrorStyle) -> Response {
        var h = HTTPFields()
        if let r = e.retryAfter { h[.retryAfter] = String(r) }
        switch style {
        case .tei:
            return json(e.status, JSONWriter.write(.object([("error", .string(e.message)), ("error_type", .string(e.type))])), h)
        case .cohere:
            return json(e.status, JSONWriter.write(.object([("message", .string(e.message))])), h)
        }
    }
}
