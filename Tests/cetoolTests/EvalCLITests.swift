import CECore
import CETestSupport
import CEVerify
import Foundation
import XCTest

/// `cetool eval` end to end on the committed tiny models, against sentence-transformers' evaluators
/// (golden/eval/tiny-bert-l*.json).
final class EvalCLITests: XCTestCase {
    let cli = CLIRunner()
    var root: URL { cli.root }

    func arguments(_ g: EvaluationGolden, _ e: EvaluationGolden.Evaluation) -> [String] {
        var a = ["eval", root.appendingPathComponent(g.modelDirectory).path, "--task", e.task,
                 "--data", root.appendingPathComponent(e.data).path, "--no-progress"]
        if !e.name.isEmpty { a += ["--name", e.name] }
        if e.task == "reranking" {
            a += ["--at-k", String(e.atK)]
            if !e.alwaysRerankPositives { a.append("--no-always-rerank-positives") }
        }
        return a
    }

    func testFiguresMatchTheReferenceEvaluators() throws {
        var evaluated = 0
        for model in ["tiny-bert-l1", "tiny-bert-l3"] {
            let g = try EvaluationGolden.load(path: root.appendingPathComponent("golden/eval/\(model).json").path)
            for e in g.evaluations {
                let label = "\(model)/\(e.id)"
                let r = try cli.run(arguments(g, e))
                if let refused = e.error {
                    XCTAssertNotEqual(r.status, 0, "\(label): the reference refused (\(refused))")
                    XCTAssertTrue(r.stderr.contains("labels must be 0 or 1"), r.stderr)
                    continue
                }
                XCTAssertEqual(r.status, 0, "\(label): \(r.stderr)")
                // Key order is part of the output: read the members in order.
                let obj = try XCTUnwrap(try JSONParser.parse(r.stdout).objectValue, label).map { (key: $0.0, value: $0.1.doubleValue ?? .nan) }
                // The CLI does not expose its scores, so a near tie is assumed possible.
                XCTAssertEqual(EvaluationProfile.fp32.violations(obj, reference: e.metrics, nearTies: true), [], label)
                evaluated += 1
            }
        }
        XCTAssertEqual(evaluated, 8)
    }

    func testCSVOutputAndOutputPathAppendAsWriteCSV() throws {
        let g = try EvaluationGolden.load(path: root.appendingPathComponent("golden/eval/tiny-bert-l1.json").path)
        let e = try XCTUnwrap(g.evaluations.first { $0.id == "binary-accuracy" })
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("results")
        let first = try cli.run(arguments(g, e) + ["--format", "csv", "--output-path", out.path])
        XCTAssertEqual(first.status, 0, first.stderr)
        let lines = first.stdout.components(separatedBy: "\r\n")
        XCTAssertEqual(lines.count, 3, first.stdout)
        XCTAssertEqual(lines[0], e.csvHeaders.joined(separator: ","))
        XCTAssertEqual(lines[2], "")
        let refRow = e.csv.components(separatedBy: "\r\n")[1].split(separator: ",")
        let row = lines[1].split(separator: ",")
        XCTAssertEqual(row.count, refRow.count)
        XCTAssertEqual(row.prefix(3), refRow.prefix(3), "epoch, steps, accuracy")
        for (a, b) in zip(row, refRow) {
            XCTAssertEqual(try XCTUnwrap(Double(a)), try XCTUnwrap(Double(b)), accuracy: EvaluationProfile.fp32.continuous)
        }
        let second = try cli.run(arguments(g, e) + ["--output-path", out.path])
        XCTAssertEqual(second.status, 0, second.stderr)
        let files = try FileManager.default.contentsOfDirectory(atPath: out.path)
        XCTAssertEqual(files, [e.csvFile])
        let text = try String(contentsOf: out.appendingPathComponent(e.csvFile), encoding: .utf8)
        XCTAssertEqual(text, lines[0] + "\r\n" + lines[1] + "\r\n" + lines[1] + "\r\n", "header once, one row per run")
    }

    func testBadInputGetsATypedErrorAndNonZeroExit() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = try cli.run(["eval", cli.tinyOne, "--task", "correlation", "--data", "-"],
                              stdin: "{\"texts\": [\"a\", \"b\"], \"label\": 0.5}\n{\"texts\": [\"a\"], \"label\": 1}\n")
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("data line 2: \"texts\" must be two strings"), bad.stderr)
        let three = try cli.run(["eval", cli.tinyThree, "--task", "reranking", "--data", "-"],
                                stdin: "{\"query\": \"q\", \"positive\": [\"p\"], \"negative\": [\"n\"]}\n")
        XCTAssertNotEqual(three.status, 0)
        XCTAssertTrue(three.stderr.contains("reranking needs a one-label model (this one has 3 labels)"), three.stderr)
        let none = try cli.run(["eval", cli.tinyOne, "--task", "binary-accuracy", "--data", "-"], stdin: "\n")
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("the data file holds no examples"), none.stderr)
        let name = try cli.run(["eval", cli.tinyOne, "--task", "correlation", "--data", "-", "--name", "../x"],
                               stdin: "{\"texts\": [\"a\", \"b\"], \"label\": 0.5}\n{\"texts\": [\"c\", \"d\"], \"label\": 0.7}\n")
        XCTAssertNotEqual(name.status, 0)
        XCTAssertTrue(name.stderr.contains("cannot be part of a file name"), name.stderr)
    }
}
