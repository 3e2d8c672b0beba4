import CEBiEncoder
import CECore
import CERetrieve
import CETestSupport
import CEVerify
import Foundation
import XCTest

/// `cetool serve MODEL --bi-encoder BI [--index IDX --corpus-texts FILE]`: POST /embed against sentence-transformers'
/// goldens, POST /search against the library's search, re-ranking by the served cross-encoder, and refusals.
final class ServeBiEncoderTests: XCTestCase {
    let cli = CLIRunner()
    let profile = EmbeddingProfile.fp32
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-bi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func biModel(_ name: String) -> String { cli.root.appendingPathComponent("golden/models/tiny-bi-\(name)").path }

    func golden(_ name: String) throws -> JSONValue {
        try JSONParser.parse([UInt8](try Data(contentsOf: cli.root.appendingPathComponent("golden/bi/tiny-bi-\(name)/golden.json"))))
    }

    func floats(_ v: JSONValue) -> [Float] {
        let d = Data(base64Encoded: v["float32_base64"]!.stringValue!)!
        return d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) } }
    }

    func rows(_ r: ServerProcess.Reply) throws -> [[Float]] {
        try XCTUnwrap(r.json as? [[Double]], r.text).map { $0.map(Float.init) }
    }

    func unit(_ v: [Float]) -> [Float] {
        let n = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        return v.map { $0 / n }
    }

    /// The 60 golden texts of tiny-bi-mean as a corpus file with ids, and the library's index of them.
    func corpus(_ precision: IndexPrecision) throws -> (texts: [String], textsPath: String, indexPath: String) {
        let texts = try golden("mean")["texts"]!.arrayValue!.map { $0.stringValue! }
        let textsPath = dir.appendingPathComponent("corpus.jsonl").path
        let lines = texts.enumerated().map { JSONWriter.write(.object([("text", .string($1)), ("id", .string("doc\($0)"))])) + "\n" }
        try Data(lines.joined().utf8).write(to: URL(fileURLWithPath: textsPath))
        let m = try SentenceTransformer(biModel("mean"))
        let bytes = try Retrieval.buildIndex(model: m, corpus: texts, corpusIDs: texts.indices.map { "doc\($0)" }, precision: precision)
        let indexPath = dir.appendingPathComponent("\(precision.rawValue).ceidx").path
        try EmbeddingIndexWriter.write(bytes, to: indexPath)
        return (texts, textsPath, indexPath)
    }

    func testEmbedMatchesTheSentenceTransformersGoldens() throws {
        // tiny-bi-mean ends in Pooling (normalize changes its rows); tiny-bi-dense pools without the prompt
        // (include_prompt false), then Dense and Normalize; its goldens have a "query" prompt.
        XCTAssertEqual(try embedBatches("mean").stop(), 0)
        let g = try golden("dense")
        let server = try embedBatches("dense")
        defer { XCTAssertEqual(server.stop(), 0) }

        // the 60 texts as 60 concurrent one-text requests: each answered with its own row through the shared queue
        let texts = g["texts"]!.arrayValue!.map { $0.stringValue! }
        let ref = floats(g["embeddings"]!), d = ref.count / texts.count
        let failures = Locked<[String]>([])
        let bound = profile.embeddingAbs
        concurrently(texts.count) { i in
            guard let r = try? server.post("/embed", ["inputs": texts[i], "normalize": false, "truncate": true]),
                  let row = (r.json as? [[Double]])?.first?.map(Float.init),
                  maxAbsDiff(row, Array(ref[(i * d)..<((i + 1) * d)])) <= bound else { failures.mutate { $0.append("text \(i)") }; return }
        }
        XCTAssertEqual(failures.value, [])
        let cut = try rows(try server.post("/embed", ["inputs": [texts[0]], "dimensions": 8, "truncate": true]))
        XCTAssertLessThanOrEqual(maxAbsDiff(cut[0], unit(Array(ref[0..<8]))), profile.embeddingAbs, "dimensions keeps the first, then normalizes")
        let metrics = try server.request("/metrics", method: "GET").text
        XCTAssertTrue(metrics.contains(#"cetool_requests_total{route="/embed",status="200"} \#(2 * g["batches"]!.arrayValue!.count + texts.count + 1)"#), metrics)
        XCTAssertTrue(metrics.contains("cetool_texts_embedded_total "), metrics)
    }

    /// The golden batches of tiny-bi-`name` on /embed, normalize false and by default; the server, still running.
    @discardableResult
    func embedBatches(_ name: String) throws -> ServerProcess {
        let server = try ServerProcess(cli.tinyOne, ["--bi-encoder", biModel(name)])
        for b in try golden(name)["batches"]!.arrayValue! {
            let texts = b["texts"]!.arrayValue!.map { $0.stringValue! }
            let ref = floats(b["encode"]!), d = ref.count / texts.count
            var body: [String: Any] = ["inputs": texts, "normalize": false]
            if let p = b["prompt_name"]!.stringValue { body["prompt_name"] = p }
            let raw = try rows(try server.post("/embed", body))
            XCTAssertEqual(raw.count, texts.count)
            XCTAssertLessThanOrEqual(maxAbsDiff(raw.flatMap { $0 }, ref), profile.embeddingAbs, "\(name) normalize false, prompt \(body["prompt_name"] ?? "none")")
            body["normalize"] = nil
            let normalized = try rows(try server.post("/embed", body))
            let refUnit = (0..<texts.count).flatMap { unit(Array(ref[($0 * d)..<(($0 + 1) * d)])) }
            XCTAssertLessThanOrEqual(maxAbsDiff(normalized.flatMap { $0 }, refUnit), profile.embeddingAbs, "\(name) normalize defaults to true")
        }
        return server
    }

    func testSearchGivesTheLibrarysHitsAndRerankOrdersByTheCrossEncoder() throws {
        let queries = ["How many people live in Berlin?", "Paris", "museums", "a"]
        let m = try SentenceTransformer(biModel("mean"))
        let q = try m.encode(queries)
        for precision in [IndexPrecision.fp32, .int8] {
            let c = try corpus(precision)
            let libraryIndex = try Retrieval.openIndex(c.indexPath, for: m)
            let reference = try libraryIndex.search(queries: q, topK: 10)
            let server = try ServerProcess(cli.tinyOne, ["--bi-encoder", biModel("mean"), "--index", c.indexPath, "--corpus-texts", c.textsPath])
            defer { XCTAssertEqual(server.stop(), 0) }
            let r = try server.post("/search", ["queries": queries, "top_k": 10])
            let results = try XCTUnwrap((r.json as? [String: Any])?["results"] as? [[String: Any]], r.text)
            XCTAssertEqual(results.count, queries.count)
            for (k, (result, ref)) in zip(results, reference).enumerated() {
                let hits = try XCTUnwrap(result["hits"] as? [[String: Any]])
                XCTAssertEqual(hits.map { $0["corpus_id"] as? String }, ref.map { "doc\($0.corpusID)" }, "\(precision) query \(k)")
                for (h, e) in zip(hits, ref) {
                    XCTAssertLessThanOrEqual(abs(Float(try XCTUnwrap(h["score"] as? Double)) - e.score), profile.searchScoreAbs)
                    XCTAssertNil(h["text"])
                    XCTAssertNil(h["rerank_score"])
                }
            }
            let one = try server.post("/search", ["query": queries[0], "top_k": 2, "return_text": true])
            let oneHits = try XCTUnwrap((one.json as? [String: Any])?["hits"] as? [[String: Any]], one.text)
            // top_k 2 is searched as such (int8: 2 × rescore_multiplier candidates), not cut from the top 10
            let two = try libraryIndex.search(queries: try m.encode([queries[0]]), topK: 2)[0]
            XCTAssertEqual(oneHits.map { $0["text"] as? String }, two.map { c.texts[$0.corpusID] }, "\(precision)")
            XCTAssertEqual(oneHits.map { $0["corpus_id"] as? String }, two.map { "doc\($0.corpusID)" })
            // rerank: the best 3 of the 10 retrieved by the cross-encoder's score, which /rerank gives for the same pairs
            for (k, query) in queries.enumerated() {
                let rr = try server.post("/search", ["query": query, "top_k": 3, "rerank": true, "rerank_k": 10])
                let hits = try XCTUnwrap((rr.json as? [String: Any])?["hits"] as? [[String: Any]], rr.text)
                let retrieved = reference[k].map { $0.corpusID }
                let ce = try XCTUnwrap(try server.post("/rerank", ["query": query, "texts": retrieved.map { c.texts[$0] }]).json as? [[String: Any]])
                XCTAssertEqual(hits.count, 3)
                for (h, e) in zip(hits, ce) {
                    let row = try XCTUnwrap(e["index"] as? Int)
                    XCTAssertEqual(h["corpus_id"] as? String, "doc\(retrieved[row])", "\(precision) query \(k)")
                    let s = Float(try XCTUnwrap(h["rerank_score"] as? Double)), ref = Float(try XCTUnwrap(e["score"] as? Double))
                    XCTAssertLessThanOrEqual(abs(s - ref), ToleranceProfile.fp32.scoreBound(ref))
                    XCTAssertLessThanOrEqual(abs(Float(try XCTUnwrap(h["score"] as? Double)) - reference[k][row].score), profile.searchScoreAbs)
                }
            }
        }
    }

    func testBadRetrievalBodiesAre4xxNamingTheFieldAndAMismatchedIndexIsRefused() throws {
        let c = try corpus(.fp32)
        let server = try ServerProcess(cli.tinyOne, ["--bi-encoder", biModel("mean"), "--index", c.indexPath])
        defer { XCTAssertEqual(server.stop(), 0) }
        let long = String(repeating: "word ", count: 400)
        let many = try JSONSerialization.data(withJSONObject: ["inputs": [String](repeating: "a", count: 100_000)])
        let cases: [(String, String, String, Int, String)] = [
            ("inputs a number", "/embed", #"{"inputs": 5}"#, 422, "inputs"),
            ("inputs missing", "/embed", #"{"normalize": true}"#, 422, "inputs"),
            ("empty inputs", "/embed", #"{"inputs": []}"#, 400, "inputs"),
            ("inputs[1] a number", "/embed", #"{"inputs": ["a", 3]}"#, 422, "inputs[1]"),
            ("normalize a string", "/embed", #"{"inputs": "a", "normalize": "yes"}"#, 422, "normalize"),
            ("unknown prompt", "/embed", #"{"inputs": "a", "prompt_name": "nope"}"#, 422, "prompt_name"),
            ("dimensions 0", "/embed", #"{"inputs": "a", "dimensions": 0}"#, 422, "dimensions"),
            ("too long, truncate false by default", "/embed", #"{"inputs": ["a", "\#(long)"]}"#, 413, "inputs[1]"),
            ("truncation_direction left", "/embed", #"{"inputs": "a", "truncation_direction": "left"}"#, 422, "truncation_direction"),
            ("no query", "/search", #"{"top_k": 3}"#, 422, "query"),
            ("query and queries", "/search", #"{"query": "q", "queries": ["a"]}"#, 422, "queries"),
            ("query a number", "/search", #"{"query": 3}"#, 422, "query"),
            ("empty queries", "/search", #"{"queries": []}"#, 400, "queries"),
            ("top_k 0", "/search", #"{"query": "q", "top_k": 0}"#, 422, "top_k"),
            ("rerank_k below top_k", "/search", #"{"query": "q", "top_k": 5, "rerank_k": 2}"#, 422, "rerank_k"),
            ("rerank without texts", "/search", #"{"query": "q", "rerank": true}"#, 422, "--corpus-texts"),
            ("return_text without texts", "/search", #"{"query": "q", "return_text": true}"#, 422, "return_text"),
            ("rescore_multiplier on fp32", "/search", #"{"query": "q", "rescore_multiplier": 2}"#, 422, "rescore_multiplier"),
        ]
        for (name, path, body, status, mention) in cases + [("100,000 inputs", "/embed", String(decoding: many, as: UTF8.self), 413, "--max-texts")] {
            let r = try server.request(path, body: Data(body.utf8))
            XCTAssertEqual(r.status, status, "\(name): \(r.text.prefix(300))")
            let message = (r.json as? [String: Any])?["error"] as? String ?? ""
            XCTAssertTrue(message.contains(mention), "\(name): \(r.text.prefix(300))")
            XCTAssertEqual(try server.request("/health", method: "GET").status, 200, "alive after \(name)")
        }
        let info = try XCTUnwrap(try server.request("/info", method: "GET").json as? [String: Any])
        let bi = try XCTUnwrap(info["bi_encoder"] as? [String: Any])
        XCTAssertEqual(bi["identity"] as? String, try SentenceTransformer(biModel("mean")).identity())
        XCTAssertEqual(bi["pooling"] as? [String], ["mean"])
        XCTAssertEqual(bi["dimension"] as? Int, 32)
        XCTAssertEqual(bi["precision"] as? String, "fp32")
        let index = try XCTUnwrap(info["index"] as? [String: Any])
        XCTAssertEqual(index["rows"] as? Int, c.texts.count)
        XCTAssertEqual(index["precision"] as? String, "fp32")
        XCTAssertEqual(index["corpus_texts"] as? Bool, false)

        // an index of another model, an index without its bi-encoder, texts that are not the index's: exit 2 before listening
        let refused: [([String], String)] = [
            (["--bi-encoder", biModel("cls"), "--index", c.indexPath], "built by another model"),
            (["--index", c.indexPath], "--index needs --bi-encoder"),
            (["--bi-encoder", biModel("mean"), "--index", c.indexPath, "--corpus-texts", try lines(["one", "two"])], "the index holds 60 rows"),
        ]
        for (args, message) in refused {
            let r = try cli.run(["serve", cli.tinyOne, "--port", "0"] + args)
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
            XCTAssertEqual(r.stdout, "", "no listening line")
        }
        let noIndex = try ServerProcess(cli.tinyOne, ["--bi-encoder", biModel("mean")])
        defer { XCTAssertEqual(noIndex.stop(), 0) }
        let r = try noIndex.post("/search", ["query": "q"])
        XCTAssertEqual(r.status, 404, r.text)
        XCTAssertTrue(r.text.contains("--index"), r.text)
    }

    func lines(_ texts: [String]) throws -> String {
        let u = dir.appendingPathComponent("texts-\(texts.count).txt")
        try Data(texts.map { $0 + "\n" }.joined().utf8).write(to: u)
        return u.path
    }
}
