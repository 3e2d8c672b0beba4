import CETestSupport
import Foundation
import XCTest

/// `cetool fit` through the binary on the committed tiny models: a run that trains and writes a folder the runtime
/// loads, the evaluator, and bad input refused with exit 2 and no output folder.
final class FitTests: XCTestCase {
    let cli = CLIRunner()
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func file(_ name: String, _ text: String) throws -> String {
        let u = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: u)
        return u.path
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static let texts = ["How many people live in Berlin?", "Berlin has 3.5 million inhabitants.", "The river Spree flows through the city.",
                        "Paris is the capital of France.", "Water boils at 100 degrees Celsius.", "Bees dance to show where flowers are."]

    func trainingData(labels: [String]) -> String {
        labels.enumerated().map { i, y in
            "{\"texts\": [\"\(Self.texts[i % 6])\", \"\(Self.texts[(i * 5 + 1) % 6])\"], \"label\": \(y)}"
        }.joined(separator: "\n") + "\n"
    }

    func assertRefused(_ r: CLIRunner.Result, _ message: String, output: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 2, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(message), "stderr lacks \"\(message)\": \(r.stderr)", file: file, line: line)
        XCTAssertFalse(exists(output), "no output folder after a refusal", file: file, line: line)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }) ?? []
        XCTAssertEqual(leftovers, [], "no staging left behind", file: file, line: line)
    }

    func testFitTrainsAndWritesAFolderTheRuntimeLoads() throws {
        let train = try file("train.jsonl", trainingData(labels: ["1", "0", "1", "0", "0.5", "1", "0", "1"]))
        let pairs = try file("pairs.jsonl", "[\"How many people live in Berlin?\", \"Berlin has 3.5 million inhabitants.\"]\n")
        let out = dir.appendingPathComponent("trained").path
        let r = try cli.run(["fit", cli.tinyOne, "--train", train, "--output", out, "--epochs", "2", "--batch-size", "4", "--lr", "1e-3",
                             "--warmup-steps", "1", "--seed", "3", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\"steps\":4"), r.stdout)
        XCTAssertTrue(exists(out + "/config.json") && exists(out + "/model.safetensors"))
        let before = try cli.run(["predict", cli.tinyOne, "--pairs", pairs, "--no-progress"])
        let after = try cli.run(["predict", out, "--pairs", pairs, "--no-progress"])
        XCTAssertEqual(after.status, 0, after.stderr)
        XCTAssertNotEqual(before.stdout, after.stdout, "training changed the model")
        // The same seed gives the same bytes.
        let again = dir.appendingPathComponent("again").path
        _ = try cli.run(["fit", cli.tinyOne, "--train", train, "--output", again, "--epochs", "2", "--batch-size", "4", "--lr", "1e-3",
                         "--warmup-steps", "1", "--seed", "3", "--no-progress"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out + "/model.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: again + "/model.safetensors")))
        // An existing output is not replaced without --force.
        let refused = try cli.run(["fit", cli.tinyOne, "--train", train, "--output", out, "--no-progress"])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stderr.contains("--force"), refused.stderr)
    }

    func testEvaluatorRunsAndThreeLabelCrossEntropy() throws {
        let train = try file("train.jsonl", trainingData(labels: ["0", "1", "2", "0", "1", "2"]))
        let out = dir.appendingPathComponent("trained").path
        let r = try cli.run(["fit", cli.tinyThree, "--train", train, "--output", out, "--batch-size", "3", "--lr", "1e-3", "--warmup-steps", "0",
                             "--eval", train, "--evaluator", "classification", "--evaluation-steps", "1", "--no-shuffle", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "evaluation epoch").count - 1, 3, r.stderr)   // steps 1, 2 and the epoch's end
        XCTAssertTrue(exists(out + "/model.safetensors"))
    }

    /// A bare encoder (config.json `BertModel`) gets a head as CrossEncoder(model, num_labels=N) builds it: the
    /// checkpoint's pooler and classifier are kept when present, and the output is a BertForSequenceClassification.
    func testNumLabelsGivesABareEncoderAHead() throws {
        let bare = dir.appendingPathComponent("bare")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: cli.tinyOne), to: bare)
        let config = bare.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "BertForSequenceClassification", with: "BertModel")
        try Data(text.utf8).write(to: config)
        let train = try file("train.jsonl", trainingData(labels: ["1", "0", "1", "0"]))
        let out = dir.appendingPathComponent("headed").path
        let r = try cli.run(["fit", bare.path, "--num-labels", "1", "--train", train, "--output", out, "--batch-size", "2", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(try String(contentsOfFile: out + "/config.json", encoding: .utf8).contains("BertForSequenceClassification"))
        let pairs = try file("pairs.jsonl", "[\"a\", \"b\"]\n")
        XCTAssertEqual(try cli.run(["predict", out, "--pairs", pairs, "--no-progress"]).status, 0)
    }

    func testBadInputIsRefusedWithoutOutput() throws {
        let out = dir.appendingPathComponent("out").path
        let wrongType = try file("a.jsonl", trainingData(labels: ["1", "\"yes\""]))
        assertRefused(try cli.run(["fit", cli.tinyOne, "--train", wrongType, "--output", out]), "line 2", output: out)
        let outOfRange = try file("b.jsonl", trainingData(labels: ["1", "0", "3"]))
        assertRefused(try cli.run(["fit", cli.tinyOne, "--train", outOfRange, "--output", out]), "line 3: label 3.0 is outside [0, 1]", output: out)
        let notAClass = try file("c.jsonl", trainingData(labels: ["1", "0.5"]))
        assertRefused(try cli.run(["fit", cli.tinyThree, "--train", notAClass, "--output", out]), "line 2: label 0.5 is not a class id in 0..<3", output: out)
        let empty = try file("d.jsonl", "\n  \n")
        assertRefused(try cli.run(["fit", cli.tinyOne, "--train", empty, "--output", out]), "no example", output: out)
        // A learning rate that blows the weights up: the loss becomes NaN and the step is named.
        let fine = try file("e.jsonl", trainingData(labels: ["1", "0", "1", "0", "1", "0"]))
        assertRefused(try cli.run(["fit", cli.tinyOne, "--train", fine, "--output", out, "--lr", "1e38", "--warmup-steps", "0",
                                   "--batch-size", "2", "--no-progress"]), "the loss is not a number at step", output: out)
        // A bare encoder needs --num-labels.
        let bare = dir.appendingPathComponent("bare")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: cli.tinyOne), to: bare)
        let config = bare.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "BertForSequenceClassification", with: "BertModel")
        try Data(text.utf8).write(to: config)
        assertRefused(try cli.run(["fit", bare.path, "--train", fine, "--output", out]), "--num-labels", output: out)
        // Options out of range are usage errors.
        assertRefused(try cli.run(["fit", cli.tinyOne, "--train", fine, "--output", out, "--scheduler", "linearish"]), "--scheduler", output: out)
        assertRefused(try cli.run(["fit", cli.tinyOne, "--train", fine, "--output", out, "--eval", fine]), "--evaluator", output: out)
    }
}
