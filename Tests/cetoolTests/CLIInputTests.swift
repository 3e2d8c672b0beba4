import CETestSupport
import Foundation
import XCTest

/// Issue 25, points 2, 7, 8, 9: input files as people write them, options that keep their word, small things.
final class CLIInputTests: XCTestCase {
    let cli = CLIRunner()
    var tinyOne: String { cli.tinyOne }
    var tinyThree: String { cli.tinyThree }
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func run(_ args: [String], stdin: String? = nil) throws -> CLIRunner.Result { try cli.run(args, stdin: stdin) }

    func file(_ name: String, _ text: String) throws -> String {
        let u = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: u)
        return u.path
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// A failure with exit status `status` whose standard error holds `message`.
    func assertRefused(_ r: CLIRunner.Result, _ message: String, status: Int32? = nil, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertNotEqual(r.status, 0, "expected a refusal: \(r.stdout)", file: file, line: line)
        if let status { XCTAssertEqual(r.status, status, r.stderr, file: file, line: line) }
        XCTAssertTrue(r.stderr.contains(message), "stderr lacks \"\(message)\": \(r.stderr)", file: file, line: line)
    }

    // MARK: point 2

    func testRankReadsLFCRLFAndALastLineWithoutNewlineAlikeAndSkipsBlankLines() throws {
        let lf = try file("lf.txt", "first doc\nsecond document\nthird\n")
        let crlf = try file("crlf.txt", "first doc\r\nsecond document\r\n\r\nthird")
        let blanks = try file("blanks.txt", "\u{FEFF}first doc\n  \nsecond document\n\nthird\n\n\n")
        let args = ["--query", "a query", "--return-documents"]
        let reference = try run(["rank", tinyOne, "--documents", lf] + args)
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let ranked = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(reference.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(Set(ranked.compactMap { $0["text"] as? String }), ["first doc", "second document", "third"])
        for path in [crlf, blanks] {
            let r = try run(["rank", tinyOne, "--documents", path] + args)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, reference.stdout, "\(path) ranks as the LF file does")
        }
        let stdin = try run(["rank", tinyOne, "--documents", "-"] + args, stdin: "first doc\r\nsecond document\r\nthird\r\n")
        XCTAssertEqual(stdin.stdout, reference.stdout)
    }

    func testPredictEvalAndVerifyReadCRLFPairsAsLFAndPredictTakesTexts() throws {
        let lfText = "[\"q\", \"a document\"]\n{\"query\": \"q\", \"document\": \"another\"}\n[\"r\", \"x\"]\n"
        let crlfText = "[\"q\", \"a document\"]\r\n\r\n{\"texts\": [\"q\", \"another\"], \"label\": 1}\r\n[\"r\", \"x\"]"
        let lf = try file("lf.jsonl", lfText), crlf = try file("crlf.jsonl", crlfText)
        let a = try run(["predict", tinyOne, "--pairs", lf, "--logits"])
        let b = try run(["predict", tinyOne, "--pairs", crlf, "--logits"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(a.stdout.split(separator: "\n").count, 3)
        XCTAssertEqual(b.stdout, a.stdout)
        let badTexts = try run(["predict", tinyOne, "--pairs", "-"], stdin: "[\"a\", \"b\"]\r\n\r\n{\"texts\": [\"only one\"]}\r\n")
        assertRefused(badTexts, "pairs line 3: \"texts\" must be two strings")

        let evalLF = try file("e-lf.jsonl", "{\"texts\": [\"q\", \"a\"], \"score\": 0.9}\n{\"texts\": [\"q\", \"b\"], \"score\": 0.1}\n{\"texts\": [\"r\", \"c\"], \"score\": 0.5}\n")
        let evalCRLF = try file("e-crlf.jsonl", "{\"texts\": [\"q\", \"a\"], \"score\": 0.9}\r\n{\"texts\": [\"q\", \"b\"], \"score\": 0.1}\r\n\r\n{\"texts\": [\"r\", \"c\"], \"score\": 0.5}")
        let e1 = try run(["eval", tinyOne, "--task", "correlation", "--data", evalLF])
        let e2 = try run(["eval", tinyOne, "--task", "correlation", "--data", evalCRLF])
        XCTAssertEqual(e1.status, 0, e1.stderr)
        XCTAssertEqual(e2.stdout, e1.stdout)
        let badEval = try run(["eval", tinyOne, "--task", "correlation", "--data", "-"], stdin: "{\"texts\": [\"q\", \"a\"], \"score\": 1}\r\n\r\nnot json\r\n")
        assertRefused(badEval, "data line 3")

        let v = try run(["verify", tinyOne, "--original", tinyOne, "--pairs", crlf, "--json"])
        XCTAssertEqual(v.status, 0, v.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((report["summary"] as? [String: Any])?["pairs"] as? Int, 3)
    }

    func testRankReadsJSONLinesDocumentsWithNewlines() throws {
        let jsonl = try file("docs.jsonl", "\"plain string\"\r\n{\"text\": \"two\\nlines\", \"id\": 7}\n\n\"third\"")
        let r = try run(["rank", tinyOne, "--query", "q", "--documents", jsonl, "--return-documents"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ranked = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(ranked.count, 3)
        let byID = Dictionary(uniqueKeysWithValues: ranked.map { ($0["corpus_id"] as! Int, $0["text"] as! String) })
        XCTAssertEqual(byID, [0: "plain string", 1: "two\nlines", 2: "third"])
        // The explicit option wins over the name: the same file read as lines is its JSON text.
        let asLines = try run(["rank", tinyOne, "--query", "q", "--documents", jsonl, "--documents-format", "lines", "--return-documents"])
        let lines = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(asLines.stdout.utf8)) as? [[String: Any]])
        XCTAssertTrue(lines.contains { $0["text"] as? String == "\"plain string\"" })
        // Standard input has no name: jsonl only when asked for.
        let stdin = try run(["rank", tinyOne, "--query", "q", "--documents", "-", "--documents-format", "jsonl", "--return-documents"],
                            stdin: "{\"text\": \"two\\nlines\"}\n")
        XCTAssertEqual(stdin.status, 0, stdin.stderr)
        XCTAssertTrue(stdin.stdout.contains("\"two\\nlines\""), stdin.stdout)
        let bad = try run(["rank", tinyOne, "--query", "q", "--documents", "-", "--documents-format", "jsonl"], stdin: "\"ok\"\n\n{\"body\": \"x\"}\n")
        assertRefused(bad, "documents line 3: a document must be a JSON string or {\"text\": \"…\"}")
    }

    // MARK: point 7

    func testSeveralLabelModelsAreSentToPredict() throws {
        let rank = try run(["rank", tinyThree, "--query", "q", "--documents", "-"], stdin: "d\n")
        assertRefused(rank, "this model has 3 labels; rank needs a one-label model; `cetool predict` prints each pair's label scores")
        XCTAssertFalse(rank.stderr.contains("predictLabels"), rank.stderr)
        let softmaxRank = try run(["rank", tinyOne, "--query", "q", "--documents", "-", "--activation", "softmax"], stdin: "d\n")
        assertRefused(softmaxRank, "`cetool predict --activation softmax` scores several-label models", status: 2)
        XCTAssertTrue(softmaxRank.stderr.contains("Usage: cetool rank"), softmaxRank.stderr)
        let softmaxOne = try run(["predict", tinyOne, "--pairs", "-", "--activation", "softmax"], stdin: "[\"a\", \"b\"]\n")
        assertRefused(softmaxOne, "--activation softmax needs a model with several labels; this model has 1")
        let softmaxThree = try run(["predict", tinyThree, "--pairs", "-", "--activation", "softmax"], stdin: "[\"a\", \"b\"]\n")
        XCTAssertEqual(softmaxThree.status, 0, softmaxThree.stderr)
    }

    // MARK: point 8

    func testIgnoredOrOutOfRangeOptionsAreRefusedWithTheSubcommandsUsage() throws {
        let out = dir.appendingPathComponent("out").path
        let cases: [([String], String)] = [
            (["convert", tinyOne, "--dtype", "fp16", "--group-size", "32", "--output", out], "--group-size applies only to --dtype int8; this conversion is fp16"),
            (["convert", tinyOne, "--dtype", "fp16", "--smoothing-alpha", "0.5", "--rounding", "nearest", "--output", out],
             "--smoothing-alpha, --rounding apply only to --dtype int8"),
            (["convert", tinyOne, "--dtype", "bf16", "--calibration", "x.jsonl", "--output", out], "--calibration applies only to --dtype int8"),
            (["convert", tinyOne, "--dtype", "fp16", "--activations", "int8", "--output", out], "--activations applies only to --dtype int8"),
            (["convert", tinyOne, "--dtype", "fp32", "--keep-fp32", "attention", "--output", out], "--keep-fp32 applies only to --dtype int8, fp16 or bf16"),
            (["convert", tinyOne, "--smoothing-alpha", "-5", "--output", out], "--smoothing-alpha must be within 0...1; got -5.0"),
            (["convert", tinyOne, "--smoothing-alpha", "1.5", "--output", out], "--smoothing-alpha must be within 0...1; got 1.5"),
            (["convert", tinyOne, "--group-size", "-2", "--output", out], "--group-size must be 0 or an even number"),
        ]
        for (args, message) in cases {
            let r = try run(args)
            assertRefused(r, message, status: 2)
            XCTAssertTrue(r.stderr.contains("Usage: cetool convert"), r.stderr)
            XCTAssertFalse(exists(out), "a refused convert writes nothing")
        }
        let fp16 = try run(["convert", tinyOne, "--dtype", "fp16", "--keep-fp32", "attention", "--output", out])
        XCTAssertEqual(fp16.status, 0, "--keep-fp32 is honoured by fp16: \(fp16.stderr)")

        let ranges: [([String], String, String)] = [
            (["rank", tinyOne, "--query", "q", "--documents", "-", "--top-k", "-1"], "--top-k must be at least 1; got -1", "rank"),
            (["rank", tinyOne, "--query", "q", "--documents", "-", "--top-k", "0"], "--top-k must be at least 1; got 0", "rank"),
            (["predict", tinyOne, "--pairs", "-", "--batch-size", "0"], "--batch-size must be at least 1; got 0", "predict"),
            (["predict", tinyOne, "--pairs", "-", "--threads", "-3"], "--threads must be at least 1; got -3", "predict"),
            (["predict", tinyOne, "--pairs", "-", "--max-length", "0"], "--max-length must be at least 1; got 0", "predict"),
            (["eval", tinyOne, "--task", "reranking", "--data", "-", "--at-k", "0"], "--at-k must be at least 1; got 0", "eval"),
            (["verify", tinyOne, "--golden", "x", "--batch-size", "-1"], "--batch-size must be at least 1; got -1", "verify"),
            (["verify", tinyOne], "give --golden and/or --original with --pairs", "verify"),
        ]
        for (args, message, command) in ranges {
            let r = try run(args, stdin: "")
            assertRefused(r, message, status: 2)
            XCTAssertTrue(r.stderr.contains("Usage: cetool \(command) "), r.stderr)
            XCTAssertFalse(r.stderr.contains("Missing value"), r.stderr)
        }
    }

    func testUnreadableInputsAreNamedClearly() throws {
        let folder = dir.appendingPathComponent("a folder").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let f = try run(["predict", tinyOne, "--pairs", folder])
        assertRefused(f, "cannot read \(folder): is a folder, not a file", status: 2)
        XCTAssertFalse(f.stderr.contains("NSCocoaErrorDomain"), f.stderr)
        let missing = try run(["rank", tinyOne, "--query", "q", "--documents", folder + "/none.txt"])
        assertRefused(missing, "cannot read \(folder)/none.txt: no such file", status: 2)
        let calibration = try run(["convert", tinyOne, "--calibration", folder, "--output", dir.appendingPathComponent("o").path])
        assertRefused(calibration, "is a folder, not a file")
        XCTAssertFalse(exists(dir.appendingPathComponent("o").path))
        // verify keeps 1 for a failed check; an input it cannot read is 2, as its help says.
        let verify = try run(["verify", tinyOne, "--original", tinyOne, "--pairs", folder])
        assertRefused(verify, "cannot read \(folder): is a folder, not a file", status: 2)
    }

    func testSaveRefusesToWidenAReducedPrecisionArtifact() throws {
        let fp16 = dir.appendingPathComponent("fp16").path
        XCTAssertEqual(try run(["convert", tinyOne, "--dtype", "fp16", "--output", fp16]).status, 0)
        let target = dir.appendingPathComponent("saved").path
        let widen = try run(["save", fp16, "--dtype", "fp32", "--output", target])
        assertRefused(widen, "holds fp16 weights; --dtype fp32 cannot widen them back", status: 2)
        XCTAssertFalse(exists(target), "a refused save writes nothing")
        let narrower = try run(["save", fp16, "--dtype", "bf16", "--output", target])
        assertRefused(narrower, "--dtype quantizes fp32 models")
        XCTAssertFalse(exists(target))
        // The precision it already has is no change, so it is kept and said.
        let same = try run(["save", fp16, "--dtype", "fp16", "--output", target, "--json"])
        XCTAssertEqual(same.status, 0, same.stderr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(same.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["precision"] as? String, "fp16")
    }

    func testEveryWritingCommandCreatesMissingParents() throws {
        let converted = dir.appendingPathComponent("a/b/converted").path
        let c = try run(["convert", tinyOne, "--dtype", "fp16", "--output", converted])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(exists(converted + "/cetool.json"))
        let saved = dir.appendingPathComponent("c/d/saved").path
        let s = try run(["save-pretrained", converted, "--output", saved])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertTrue(exists(saved + "/config.json"))
        let packages = dir.appendingPathComponent("e/f").path
        let p = try run(["package", saved, "--name", "acme/tiny", "--output", packages])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertTrue(exists(packages + "/acme--tiny.tar.gz"))
        XCTAssertTrue(exists(packages + "/acme--tiny.tar.gz.sha256"))
        let pairs = try file("pairs.jsonl", "[\"q\", \"a\"]\n[\"q\", \"b\"]\n")
        let report = dir.appendingPathComponent("g/h/report.json").path, plot = dir.appendingPathComponent("i/plot.svg").path
        let v = try run(["verify", converted, "--original", tinyOne, "--pairs", pairs, "--report", report, "--plot", plot])
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertTrue(exists(report))
        XCTAssertTrue(exists(plot))
        let blocker = try file("blocker", "a file, not a folder")
        let refused = try run(["convert", tinyOne, "--dtype", "fp16", "--output", blocker + "/x"])
        assertRefused(refused, "cannot create the folder \(blocker): a file of that name exists")
        XCTAssertEqual(try String(contentsOfFile: blocker, encoding: .utf8), "a file, not a folder")
    }

    // MARK: point 9

    func testVersionAndTables() throws {
        let v = try run(["--version"])
        XCTAssertEqual(v.status, 0)
        XCTAssertTrue(v.stdout.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, v.stdout)

        let t = try run(["predict", tinyOne, "--pairs", "-", "--format", "table", "--logits"], stdin: "[\"a\", \"b\"]\n[\"c\", \"d\"]\n")
        XCTAssertEqual(t.status, 0, t.stderr)
        let json = try run(["predict", tinyOne, "--pairs", "-", "--logits"], stdin: "[\"a\", \"b\"]\n[\"c\", \"d\"]\n")
        let rows = t.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(rows.first, ["pair", "score", "logit"])
        XCTAssertEqual(rows.count, 3)
        for (row, line) in zip(rows.dropFirst(), json.stdout.split(separator: "\n")) {
            let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(Double(row[1])!, obj["score"] as! Double, accuracy: 1e-6)
        }
        let three = try run(["predict", tinyThree, "--pairs", "-", "--format", "table"], stdin: "[\"a\", \"b\"]\n")
        XCTAssertEqual(three.stdout.split(separator: "\n").first.map { $0.split(separator: " ").map(String.init) },
                       ["pair", "contradiction", "entailment", "neutral", "label"])

        let docs = try file("docs.txt", "first doc\nsecond\nthird document\n")
        let r = try run(["rank", tinyOne, "--query", "q", "--documents", docs, "--format", "table", "--return-documents"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4)
        // Numeric columns are right-aligned under their headers: each header ends where its values end.
        let header = lines[0]
        for name in ["rank", "corpus_id", "score"] {
            let end = header.distance(from: header.startIndex, to: header.range(of: name)!.upperBound)
            for l in lines.dropFirst() {
                let i = l.index(l.startIndex, offsetBy: end - 1)
                XCTAssertNotEqual(l[i], " ", "\(name) column ends at \(end) in \"\(l)\"")
                XCTAssertEqual(l[l.index(after: i)], " ", "\(name) column ends at \(end) in \"\(l)\"")
            }
        }
        let textStart = header.distance(from: header.startIndex, to: header.range(of: "text")!.lowerBound)
        XCTAssertEqual(Set(lines.dropFirst().map { String($0.dropFirst(textStart)) }), ["first doc", "second", "third document"])
    }

    func testVerifyPlotHasTickedAxesAndMarksFailingLogits() throws {
        let fp16 = dir.appendingPathComponent("fp16").path
        XCTAssertEqual(try run(["convert", tinyOne, "--dtype", "fp16", "--output", fp16]).status, 0)
        let pairs = try file("pairs.jsonl", "[\"q\", \"a\"]\n[\"q\", \"b c d\"]\n[\"r\", \"e\"]\n[\"r\", \"f g\"]\n")
        // fp32's relative bound fails fp16 weights; the fp16 profile passes them.
        for (profile, failing) in [("fp32", true), ("fp16", false)] {
            let plot = dir.appendingPathComponent("\(profile).svg").path
            let r = try run(["verify", fp16, "--original", tinyOne, "--pairs", pairs, "--profile", profile, "--plot", plot])
            XCTAssertEqual(r.status, failing ? 1 : 0, r.stderr)
            let svg = try String(contentsOfFile: plot, encoding: .utf8)
            let red = svg.components(separatedBy: "fill=\"#d22\" fill-opacity").count - 1
            let green = svg.components(separatedBy: "fill=\"#2a6\" fill-opacity").count - 1
            XCTAssertEqual(red + green, 4, "one point per logit")
            // "each logit: |Δlogit| ≤ …: N of M outside"
            let outside = r.stdout.range(of: #"\d+ of \d+ outside"#, options: .regularExpression).map { Int(r.stdout[$0].split(separator: " ")[0])! } ?? 0
            XCTAssertEqual(red, outside, "the red points are the logits the verdict counts as outside the bound")
            XCTAssertEqual(failing, red > 0)
            XCTAssertTrue(svg.contains("failing: |Δlogit| >"), "legend")
            XCTAssertTrue(svg.contains("(\(red))</text>"), "legend counts the failing points")
            XCTAssertGreaterThanOrEqual(svg.components(separatedBy: "text-anchor=\"end\"").count - 1, 4, "y-axis tick labels")
            XCTAssertGreaterThanOrEqual(svg.components(separatedBy: "text-anchor=\"middle\"").count - 1, 8, "x-axis tick labels")
            XCTAssertEqual(svg.components(separatedBy: "<svg").count, 2)
            XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        }
    }
}
