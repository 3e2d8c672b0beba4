import CECore
import CETestSupport
import CEServe
import CEVerify
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

/// `cetool serve` end to end: the built binary on a loopback port, answered over HTTP (URLSession).
final class ServeTests: XCTestCase {
    let cli = CLIRunner()
    let fp32 = ToleranceProfile.fp32

    func testBothRerankAPIsMatchTheGoldens() throws {
        let g = try GoldenSet.load(path: cli.root.appendingPathComponent("golden/tiny-bert-l1/golden.json").path)
        let server = try ServerProcess(cli.tinyOne)
        defer { XCTAssertEqual(server.stop(), 0) }

        // TEI /rerank, every golden case, grouped by query: raw_scores gives the logits, else the activated scores.
        var groups: [(String, [GoldenSet.Case])] = []
        for c in g.cases {
            if let i = groups.firstIndex(where: { $0.0 == c.query }) { groups[i].1.append(c) } else { groups.append((c.query, [c])) }
        }
        for (query, cases) in groups {
            for raw in [true, false] {
                let r = try server.post("/rerank", ["query": query, "texts": cases.map(\.document), "raw_scores": raw, "return_text": true])
                XCTAssertEqual(r.status, 200, r.text)
                let items = try XCTUnwrap(r.json as? [[String: Any]], r.text)
                XCTAssertEqual(items.count, cases.count)
                // Texts through CECore's parser: Foundation's JSONSerialization drops a U+FEFF opening a string.
                let echoed = try JSONParser.parse([UInt8](r.body)).arrayValue ?? []
                XCTAssertEqual(Set(items.compactMap { $0["index"] as? Int }), Set(cases.indices))
                var previous = Double.infinity
                for (item, strict) in zip(items, echoed) {
                    let i = try XCTUnwrap(item["index"] as? Int)
                    let score = try XCTUnwrap(item["score"] as? Double)
                    let reference = raw ? cases[i].logits[0] : cases[i].scores[0]
                    let bound = raw ? fp32.logitBound(reference) : fp32.scoreBound(reference)
                    XCTAssertLessThanOrEqual(abs(Float(score) - reference), bound, "\(cases[i].id) raw_scores \(raw)")
                    XCTAssertTrue(strict["text"]?.stringValue?.utf8.elementsEqual(cases[i].document.utf8) ?? false, "\(cases[i].id) text")
                    XCTAssertLessThanOrEqual(score, previous, "best first")
                    previous = score
                }
            }
        }

        // Cohere/Jina /v1/rerank on the golden rankings: order, top_n, return_documents, strings and {"text"} mixed.
        for ranking in g.rankings {
            let docs: [Any] = ranking.documents.enumerated().map { $0.offset % 2 == 0 ? $0.element as Any : ["text": $0.element] as Any }
            let topN = max(1, ranking.documents.count - 1)
            let r = try server.post("/v1/rerank", ["model": "tiny", "query": ranking.query, "documents": docs, "top_n": topN, "return_documents": true])
            XCTAssertEqual(r.status, 200, r.text)
            let obj = try XCTUnwrap(r.json as? [String: Any])
            let results = try XCTUnwrap(obj["results"] as? [[String: Any]])
            XCTAssertEqual(results.count, topN)
            XCTAssertEqual(obj["model"] as? String, "tiny")
            let reference = Dictionary(uniqueKeysWithValues: ranking.result.map { ($0.0, $0.1) })
            var previous: (Int, Float)? = nil
            for item in results {
                let i = try XCTUnwrap(item["index"] as? Int)
                let score = Float(try XCTUnwrap(item["relevance_score"] as? Double))
                let ref = try XCTUnwrap(reference[i])
                XCTAssertLessThanOrEqual(abs(score - ref), fp32.scoreBound(ref), "\(ranking.id) document \(i)")
                XCTAssertEqual((item["document"] as? [String: Any])?["text"] as? String, ranking.documents[i])
                // The reference's order, except between documents within the profile's bound of each other.
                if let (j, refJ) = previous { XCTAssertGreaterThanOrEqual(refJ, ref - fp32.scoreBound(ref) - fp32.scoreBound(refJ), "\(ranking.id): \(j) before \(i)") }
                previous = (i, ref)
            }
            let plain = try server.post("/v1/rerank", ["query": ranking.query, "documents": ranking.documents])
            let all = try XCTUnwrap((plain.json as? [String: Any])?["results"] as? [[String: Any]])
            XCTAssertEqual(all.count, ranking.documents.count, "no top_n: every document")
            XCTAssertTrue(all.allSatisfy { $0["document"] == nil }, "return_documents defaults to false")
        }
    }

    func testPredictScoresPairsForOneAndSeveralLabels() throws {
        for (model, goldenPath) in [(cli.tinyOne, "golden/tiny-bert-l1/golden.json"), (cli.tinyThree, "golden/tiny-bert-l3/golden.json")] {
            let g = try GoldenSet.load(path: cli.root.appendingPathComponent(goldenPath).path)
            let server = try ServerProcess(model)
            defer { XCTAssertEqual(server.stop(), 0) }
            let pairs: [Any] = g.cases.enumerated().map {
                $0.offset % 2 == 0 ? [$0.element.query, $0.element.document] as Any : ["query": $0.element.query, "document": $0.element.document] as Any
            }
            let r = try server.post("/predict", ["pairs": pairs, "logits": true])
            XCTAssertEqual(r.status, 200, r.text)
            let obj = try XCTUnwrap(r.json as? [String: Any])
            let results = try XCTUnwrap(obj["results"] as? [[String: Any]])
            XCTAssertEqual(results.count, g.cases.count)
            let labels = try XCTUnwrap(obj["labels"] as? [String])
            XCTAssertEqual(labels.count, g.numLabels)
            for (c, item) in zip(g.cases, results) {
                let logits = try XCTUnwrap(item["logits"] as? [Double]).map(Float.init)
                let scores = g.numLabels == 1 ? [Float(try XCTUnwrap(item["score"] as? Double))] : try XCTUnwrap(item["scores"] as? [Double]).map(Float.init)
                for (a, b) in zip(logits, c.logits) { XCTAssertLessThanOrEqual(abs(a - b), fp32.logitBound(b), c.id) }
                for (a, b) in zip(scores, c.scores) { XCTAssertLessThanOrEqual(abs(a - b), fp32.scoreBound(b), c.id) }
                if g.numLabels > 1 { XCTAssertNotNil(item["label"] as? String) }
            }
            if g.numLabels > 1 {
                let rerank = try server.post("/rerank", ["query": "q", "texts": ["d"]])
                XCTAssertEqual(rerank.status, 422, "a several-label model cannot rerank")
                XCTAssertTrue(rerank.text.contains("/predict"), rerank.text)
            }
        }
    }

    func testBadBodiesAre4xxWithAMessageAndTheServerLives() throws {
        let server = try ServerProcess(cli.tinyOne)
        defer { XCTAssertEqual(server.stop(), 0) }
        let huge = Data(count: 50 << 20)
        let manyTexts = try JSONSerialization.data(withJSONObject: ["query": "q", "texts": [String](repeating: "a", count: 100_000)])
        let deep = Data(("{\"query\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}").utf8)
        let cases: [(String, String, Data, Int, String)] = [
            ("truncated JSON", "/rerank", Data(#"{"query": "q", "texts": ["a""#.utf8), 400, "JSON"),
            ("not an object", "/rerank", Data("[]".utf8), 400, "object"),
            ("empty body", "/predict", Data(), 400, "JSON"),
            ("query a number", "/rerank", Data(#"{"query": 5, "texts": ["a"]}"#.utf8), 422, "query"),
            ("texts a string", "/rerank", Data(#"{"query": "q", "texts": "a"}"#.utf8), 422, "texts"),
            ("texts[1] a number", "/rerank", Data(#"{"query": "q", "texts": ["a", 1]}"#.utf8), 422, "texts[1]"),
            ("raw_scores a string", "/rerank", Data(#"{"query": "q", "texts": ["a"], "raw_scores": "yes"}"#.utf8), 422, "raw_scores"),
            ("missing query", "/v1/rerank", Data(#"{"documents": ["a"]}"#.utf8), 422, "query"),
            ("top_n 0", "/v1/rerank", Data(#"{"query": "q", "documents": ["a"], "top_n": 0}"#.utf8), 422, "top_n"),
            ("top_n a string", "/v1/rerank", Data(#"{"query": "q", "documents": ["a"], "top_n": "3"}"#.utf8), 422, "top_n"),
            ("document without text", "/v1/rerank", Data(#"{"query": "q", "documents": [{"txt": "a"}]}"#.utf8), 422, "documents[0].text"),
            ("pair of three", "/predict", Data(#"{"pairs": [["a", "b", "c"]]}"#.utf8), 422, "pairs[0]"),
            ("unknown activation", "/predict", Data(#"{"pairs": [["a", "b"]], "activation": "relu"}"#.utf8), 422, "activation"),
            ("too long with truncate false", "/rerank", Data(("{\"query\": \"q\", \"texts\": [\"" + String(repeating: "word ", count: 400) + "\"], \"truncate\": false}").utf8), 422, "texts[0]"),
            ("truncation_direction left", "/rerank", Data(#"{"query": "q", "texts": ["a"], "truncation_direction": "left"}"#.utf8), 422, "truncation_direction"),
            ("empty texts", "/rerank", Data(#"{"query": "q", "texts": []}"#.utf8), 400, "texts"),
            ("empty documents", "/v1/rerank", Data(#"{"query": "q", "documents": []}"#.utf8), 400, "documents"),
            ("empty pairs", "/predict", Data(#"{"pairs": []}"#.utf8), 400, "pairs"),
            ("50 MB body", "/rerank", huge, 413, "--max-body-bytes"),
            ("100,000 texts", "/rerank", manyTexts, 413, "--max-texts"),
            ("100,000-deep JSON", "/rerank", deep, 400, "--max-json-depth"),
        ]
        for (name, path, body, status, mention) in cases {
            let r = try server.request(path, body: body)
            XCTAssertEqual(r.status, status, "\(name): \(r.text.prefix(300))")
            let obj = try XCTUnwrap(r.json as? [String: Any], "\(name): \(r.text.prefix(300))")
            let message = try XCTUnwrap((obj["error"] ?? obj["message"]) as? String, name)
            XCTAssertTrue(message.contains(mention), "\(name): \(message)")
            XCTAssertEqual(try server.request("/health", method: "GET").status, 200, "alive after \(name)")
        }
        for route in ["/embed", "/search"] {
            let r = try server.post(route, ["inputs": "x"])
            XCTAssertEqual(r.status, 404)
            XCTAssertTrue(((r.json as? [String: Any])?["error"] as? String ?? "").contains("bi-encoder"), r.text)
        }
        let metrics = try server.request("/metrics", method: "GET")
        XCTAssertTrue(metrics.text.contains(#"cetool_requests_total{route="/rerank",status="413"} 2"#), metrics.text)
    }

    func testSixtyFourConcurrentClientsAreAllAnsweredRight() throws {
        let g = try GoldenSet.load(path: cli.root.appendingPathComponent("golden/tiny-bert-l1/golden.json").path)
        let server = try ServerProcess(cli.tinyOne, ["--max-wait-ms", "5"])
        defer { XCTAssertEqual(server.stop(), 0) }
        let failures = Locked<[String]>([])
        let fp32 = self.fp32
        concurrently(64) { k in
            let ranking = g.rankings[k % g.rankings.count]
            do {
                let r = try server.post("/rerank", ["query": ranking.query, "texts": ranking.documents])
                let items = r.json as? [[String: Any]] ?? []
                guard r.status == 200, items.count == ranking.documents.count else { throw ServeTestError.bad("client \(k): \(r.status) \(r.text.prefix(200))") }
                let reference = Dictionary(uniqueKeysWithValues: ranking.result.map { ($0.0, $0.1) })
                for item in items {
                    guard let i = item["index"] as? Int, let s = item["score"] as? Double, let ref = reference[i],
                          abs(Float(s) - ref) <= fp32.scoreBound(ref) else { throw ServeTestError.bad("client \(k): \(item) vs \(ranking.result)") }
                }
            } catch {
                failures.mutate { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(failures.value, [])
        let metrics = try server.request("/metrics", method: "GET").text
        XCTAssertTrue(metrics.contains(#"cetool_requests_total{route="/rerank",status="200"} 64"#), metrics)
    }

    func testFullQueueIs429AndAnExpiredRequest503BothWithRetryAfter() throws {
        // The first request's batch waits 3 s to fill; the second finds the two-pair queue full. The first passes its
        // 1 s timeout while waiting.
        let server = try ServerProcess(cli.tinyOne, ["--max-wait-ms", "3000", "--max-batch-tokens", "1000000",
                                                     "--queue-pairs", "2", "--max-texts", "2", "--timeout", "1"])
        defer { XCTAssertEqual(server.stop(), 0) }
        let first = Locked<ServerProcess.Reply?>(nil)
        let group = DispatchGroup()
        group.enter()
        Thread { first.mutate { $0 = try? server.post("/rerank", ["query": "q", "texts": ["a", "b"]]) }; group.leave() }.start()
        var queued = false
        for _ in 0..<2000 where !queued {
            queued = ((try? server.request("/metrics", method: "GET").text) ?? "").contains("cetool_queue_requests 1\n")
            if !queued { usleep(1000) }
        }
        XCTAssertTrue(queued)
        let second = try server.post("/v1/rerank", ["query": "q", "documents": ["c"]])
        XCTAssertEqual(second.status, 429, second.text)
        XCTAssertEqual(second.headers["Retry-After"], "1")
        XCTAssertTrue(second.text.contains("--queue-pairs"), second.text)
        group.wait()
        let expired = try XCTUnwrap(first.value)
        XCTAssertEqual(expired.status, 503, expired.text)
        XCTAssertEqual(expired.headers["Retry-After"], "1")
        XCTAssertTrue(expired.text.contains("--timeout"), expired.text)
        XCTAssertEqual(try server.post("/rerank", ["query": "q", "texts": ["a"]]).status, 503, "a lone request waits 3 s too")
    }

    func testInfoDescribesTheModelAndItsVerifyReport() throws {
        // A copy of the tiny model with a `cetool verify --report` beside its files.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-info-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: URL(fileURLWithPath: cli.tinyOne), to: dir)
        let v = try cli.run(["verify", dir.path, "--golden", cli.root.appendingPathComponent("golden/tiny-bert-l1").path,
                             "--report", dir.appendingPathComponent("verify-report.json").path])
        XCTAssertEqual(v.status, 0, v.stderr)
        for (model, verified) in [(cli.tinyOne, false), (dir.path, true)] {
            let server = try ServerProcess(model)
            defer { XCTAssertEqual(server.stop(), 0) }
            let info = try XCTUnwrap(try server.request("/info", method: "GET").json as? [String: Any])
            XCTAssertEqual(info["precision"] as? String, "fp32")
            XCTAssertEqual(info["max_length"] as? Int, 128)
            XCTAssertEqual(info["labels"] as? [String], ["LABEL_0"])
            XCTAssertEqual(info["activation"] as? String, "sigmoid")
            XCTAssertEqual(info["threads"] as? Int, 1)
            if verified {
                let summary = try XCTUnwrap(info["verify"] as? [String: Any])
                XCTAssertEqual(summary["file"] as? String, "verify-report.json")
                XCTAssertEqual(summary["passed"] as? Bool, true)
            } else {
                XCTAssertTrue(info["verify"] is NSNull, "no report: null")
            }
        }
    }

    func testABusyPortExitsTwoNamingTheAddress() throws {
        let server = try ServerProcess(cli.tinyOne)
        defer { XCTAssertEqual(server.stop(), 0) }
        let r = try cli.run(["serve", cli.tinyOne, "--host", "127.0.0.1", "--port", "\(server.port)"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("cannot listen on 127.0.0.1:\(server.port)"), r.stderr)
        XCTAssertEqual(r.stdout, "", "no listening line")
    }

    func testCPUQuotaReadsCgroupV2CPUMax() {
        XCTAssertEqual(CPUQuota.parseCPUMax("150000 100000\n"), 2)
        XCTAssertEqual(CPUQuota.parseCPUMax("100000 100000"), 1)
        XCTAssertEqual(CPUQuota.parseCPUMax("50000 100000"), 1)
        XCTAssertNil(CPUQuota.parseCPUMax("max 100000"))
        XCTAssertNil(CPUQuota.parseCPUMax("garbage"))
        XCTAssertGreaterThanOrEqual(CPUQuota.current().cpus, 1)
    }

    func testSIGTERMAnswersRequestsInFlightAndExitsZero() throws {
        // Batches wait up to 3 s to fill, so the requests are still queued when SIGTERM arrives.
        let server = try ServerProcess(cli.tinyOne, ["--max-wait-ms", "3000", "--max-batch-tokens", "1000000"])
        let answered = Locked<[Int]>([])
        let group = DispatchGroup()
        for k in 0..<8 {
            group.enter()
            Thread {
                let status = (try? server.post("/rerank", ["query": "q\(k)", "texts": ["a", "b"]]).status) ?? -1
                answered.mutate { $0.append(status) }
                group.leave()
            }.start()
        }
        var queued = false
        for _ in 0..<2000 where !queued {
            let m = (try? server.request("/metrics", method: "GET").text) ?? ""
            queued = m.contains("cetool_queue_requests 8\n")
            if !queued { usleep(1000) }
        }
        XCTAssertTrue(queued, "eight requests queued")
        XCTAssertEqual(server.stop(), 0)
        group.wait()
        XCTAssertEqual(answered.value, [Int](repeating: 200, count: 8))
    }
}

enum ServeTestError: Error { case bad(String) }

/// Runs body(0..<n) on n threads of their own and waits for all (GCD's pool would run only a few at once).
func concurrently(_ n: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for k in 0..<n {
        group.enter()
        let t = Thread { body(k); group.leave() }
        t.stackSize = 1 << 20
        t.start()
    }
    group.wait()
}

final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var v: T
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func mutate(_ f: (inout T) -> Void) { lock.lock(); f(&v); lock.unlock() }
}

/// `cetool serve MODEL --host 127.0.0.1 --port 0`, its port read from the first line of its standard output.
final class ServerProcess: @unchecked Sendable {
    struct Reply {
        var status: Int
        var headers: [String: String] = [:]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
    }

    let process = Process()
    let port: Int
    let stderrURL: URL

    init(_ model: String, _ args: [String] = []) throws {
        stderrURL = FileManager.default.temporaryDirectory.appendingPathComponent("serve-\(UUID().uuidString).stderr")
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = CLIRunner().binary
        process.arguments = ["serve", model, "--host", "127.0.0.1", "--port", "0", "--threads", "1"] + args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
        var line = Data()
        while true {
            let b = out.fileHandleForReading.readData(ofLength: 1)
            if b.isEmpty || b == Data("\n".utf8) { break }
            line.append(b)
        }
        let text = String(decoding: line, as: UTF8.self)
        let prefix = "listening on http://127.0.0.1:"
        guard text.hasPrefix(prefix), let p = Int(text.dropFirst(prefix.count)) else {
            process.waitUntilExit()
            throw ServeTestError.bad("first line \(text.debugDescription); stderr: \((try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")")
        }
        port = p
    }

    deinit {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
        try? FileManager.default.removeItem(at: stderrURL)
    }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func post(_ path: String, _ object: Any) throws -> Reply {
        try request(path, body: try JSONSerialization.data(withJSONObject: object))
    }

    func request(_ path: String, method: String = "POST", body: Data? = nil) throws -> Reply {
        var req = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        req.httpMethod = method
        if let body {
            req.httpBody = body
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        // A session per request, so concurrent requests are concurrent connections (one session's pool caps them).
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = 300
        let session = URLSession(configuration: config)
        defer { session.finishTasksAndInvalidate() }
        let done = DispatchSemaphore(value: 0)
        let result = Locked<Result<Reply, Error>?>(nil)
        session.dataTask(with: req) { data, response, error in
            if let error {
                result.mutate { $0 = .failure(error) }
            } else {
                let http = response as? HTTPURLResponse
                var headers: [String: String] = [:]
                for (k, v) in http?.allHeaderFields ?? [:] { if let k = k as? String, let v = v as? String { headers[k] = v } }
                result.mutate { $0 = .success(Reply(status: http?.statusCode ?? -1, headers: headers, body: data ?? Data())) }
            }
            done.signal()
        }.resume()
        done.wait()
        return try result.value!.get()
    }
}
