import CETestSupport
import Foundation
import XCTest

/// The CLI end to end, on the committed tiny models.
final class CLITests: XCTestCase {
    let cli = CLIRunner()
    var root: URL { cli.root }
    var tinyOne: String { cli.tinyOne }
    var tinyThree: String { cli.tinyThree }

    func run(_ args: [String], stdin: String? = nil) throws -> CLIRunner.Result { try cli.run(args, stdin: stdin) }

    func testPredictPrintsOneObjectPerPairInOrder() throws {
        let input = """
        ["How many people live in Berlin?", "Berlin has 3.5 million inhabitants."]
        {"query": "a", "document": "b"}

        ["x", ""]
        """
        let r = try run(["predict", tinyOne, "--pairs", "-", "--logits"], stdin: input)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        for l in lines {
            let obj = try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any]
            let score = try XCTUnwrap(obj?["score"] as? Double)
            let logit = try XCTUnwrap((obj?["logits"] as? [Double])?.first)
            XCTAssertEqual(score, 1 / (1 + exp(-logit)), accuracy: 1e-6, "tiny-bert-l1 scores with sigmoid")
        }
        let three = try run(["predict", tinyThree, "--pairs", "-", "--activation", "softmax"], stdin: "[\"a\", \"b\"]\n")
        XCTAssertEqual(three.status, 0, three.stderr)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(three.stdout.utf8)) as? [String: Any])
        let row = try XCTUnwrap(obj["scores"] as? [Double])
        XCTAssertEqual(row.count, 3)
        XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-5)
        // Label names from config.json's id2label, in id order, and the best one's name.
        let config = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tinyThree).appendingPathComponent("config.json"))) as? [String: Any])
        let id2label = try XCTUnwrap(config["id2label"] as? [String: String])
        let names = (0..<3).map { id2label[String($0)]! }
        XCTAssertEqual(obj["labels"] as? [String], names)
        XCTAssertEqual(obj["label"] as? String, names[row.indices.max { row[$0] < row[$1] }!])
    }

    func testRankJSONAndTable() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs.txt")
        try Data("first doc\nsecond document here\nthird\n".utf8).write(to: docs)
        let r = try run(["rank", tinyOne, "--query", "a query", "--documents", docs.path, "--top-k", "2", "--return-documents"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let arr = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(arr.count, 2)
        XCTAssertGreaterThanOrEqual(arr[0]["score"] as! Double, arr[1]["score"] as! Double)
        XCTAssertNotNil(arr[0]["text"] as? String)
        let t = try run(["rank", tinyOne, "--query", "a query", "--documents", docs.path, "--format", "table"])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertEqual(t.stdout.split(separator: "\n").count, 4)
    }

    func testBadInputGetsAClearErrorAndNonZeroExit() throws {
        let notTwo = try run(["predict", tinyOne, "--pairs", "-"], stdin: "[\"only one\"]\n")
        XCTAssertNotEqual(notTwo.status, 0)
        XCTAssertTrue(notTwo.stderr.contains("pairs line 1: a pair must be two strings"), notTwo.stderr)
        let notStrings = try run(["predict", tinyOne, "--pairs", "-"], stdin: "[\"a\", \"b\"]\n[1, 2]\n")
        XCTAssertTrue(notStrings.stderr.contains("pairs line 2"), notStrings.stderr)
        let empty = try run(["rank", tinyOne, "--query", "q", "--documents", "-"], stdin: "")
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.stderr.contains("rank needs at least one document"), empty.stderr)
        let noModel = try run(["predict", "/nonexistent", "--pairs", "-"], stdin: "[\"a\", \"b\"]\n")
        XCTAssertNotEqual(noModel.status, 0)
        XCTAssertTrue(noModel.stderr.contains("not a model directory: /nonexistent"), noModel.stderr)
        let multi = try run(["rank", tinyThree, "--query", "q", "--documents", "-"], stdin: "d\n")
        XCTAssertTrue(multi.stderr.contains("this model has 3 labels; rank needs a one-label model; `cetool predict` prints each pair's label scores"), multi.stderr)
    }

    func testInspectListsTensorsWithCanonicalNamesAndRefusesLegacyCheckpoints() throws {
        let r = try run(["inspect", root.appendingPathComponent("golden/models/tiny-bert-l1-torch").path, "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(doc["format"] as? String, "pytorch zip")
        let tensors = try XCTUnwrap(doc["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors.count, doc["tensor_count"] as? Int)
        let byName = Dictionary(uniqueKeysWithValues: tensors.map { ($0["name"] as! String, $0["canonical"] as! String) })
        XCTAssertEqual(byName["bert.pooler.dense.weight"], "cls.pool.weight")
        XCTAssertEqual(byName["classifier.bias"], "cls.out.bias")
        let legacy = root.appendingPathComponent("Tests/CEFormatsTests/Fixtures/torch/legacy.bin").path
        let l = try run(["inspect", legacy])
        XCTAssertNotEqual(l.status, 0)
        XCTAssertTrue(l.stderr.contains("torch.save(torch.load(p), p2)"), l.stderr)
    }
}
