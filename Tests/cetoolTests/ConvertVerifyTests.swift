import CECore
import CEArtifact
import CEGraph
import CEImport
import CEQuant
import CETestSupport
import Foundation
import XCTest

/// `cetool convert` and `cetool verify` end to end on the committed tiny model and its golden set.
final class ConvertVerifyTests: XCTestCase {
    let cli = CLIRunner()
    var root: URL { cli.root }
    var tiny: String { cli.tinyOne }
    var golden: String { root.appendingPathComponent("golden/tiny-bert-l1").path }

    func testGoodConversionPassesAndWritesReportAndPlot() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("fp16").path
        let c = try cli.run(["convert", tiny, "--dtype", "fp16", "--output", out])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertTrue(c.stdout.contains("fp16 artifact"), c.stdout)
        let report = dir.appendingPathComponent("report.json").path, plot = dir.appendingPathComponent("plot.svg").path
        let v = try cli.run(["verify", out, "--golden", golden, "--report", report, "--plot", plot])
        XCTAssertEqual(v.status, 0, v.stdout + v.stderr)
        XCTAssertTrue(v.stdout.hasPrefix("PASS"), v.stdout)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        let summary = try XCTUnwrap(json["summary"] as? [String: Any])
        XCTAssertEqual(summary["passed"] as? Bool, true)
        XCTAssertEqual(summary["precision"] as? String, "fp16")
        XCTAssertEqual(summary["token_ids_identical"] as? Int, summary["token_ids_checked"] as? Int)
        XCTAssertEqual(summary["ranked_lists"] as? Int, 5)
        XCTAssertLessThanOrEqual(try XCTUnwrap(summary["max_abs_delta_logit"] as? Double), 1e-2)
        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.contains("<circle"), "scatter points drawn")

        // The original against itself on a pairs file: fp32 profile, every list identical.
        let pairs = dir.appendingPathComponent("pairs.jsonl")
        try Data("""
        ["How many people live in Berlin?", "Berlin has 3.5 million inhabitants."]
        ["How many people live in Berlin?", "Paris is the capital of France."]
        ["How many people live in Berlin?", "Berlin is a city."]
        ["q2", "d"]
        """.utf8).write(to: pairs)
        let o = try cli.run(["verify", out, "--original", tiny, "--pairs", pairs.path, "--json"])
        XCTAssertEqual(o.status, 0, o.stdout + o.stderr)
        let oj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((oj["summary"] as? [String: Any])?["ranked_lists"] as? Int, 1, "pairs sharing a query form one list")
    }

    func testTamperedArtifactFailsWithExitOne() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("int8")
        XCTAssertEqual(try cli.run(["convert", tiny, "--dtype", "int8", "--output", out.path]).status, 0)
        let weights = out.appendingPathComponent("cetool-model.safetensors")
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: weights)
        let v = try cli.run(["verify", out.path, "--golden", golden])
        XCTAssertEqual(v.status, 1, v.stdout + v.stderr)
        XCTAssertTrue(v.stdout.contains("integrity: artifact file cetool-model.safetensors: sha256 differs"), v.stdout)
    }

    /// A conversion whose numbers are wrong but whose files are intact: the metrics fail it.
    func testCorruptedWeightsFailTheProfile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try ModelDirectory.load(URL(fileURLWithPath: tiny))
        var g = try Quantize.apply(.fp16, to: model.graph)
        // Swap two query rows' worth of weights in layer 0 by replacing attn_q with attn_k.
        g.weights[TensorName.attnQ(0).weight] = g.weights[TensorName.attnK(0).weight]
        let out = dir.appendingPathComponent("bad")
        _ = try Artifact.write(model: model, graph: g, precision: .fp16, plan: .all, to: out, force: false)
        let v = try cli.run(["verify", out.path, "--golden", golden, "--json"])
        XCTAssertEqual(v.status, 1, v.stdout + v.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any])
        let sets = try XCTUnwrap(json["sets"] as? [[String: Any]])
        let first: [String: Any] = try XCTUnwrap(sets.first)
        let failures: [String] = try XCTUnwrap(first["failures"] as? [String])
        XCTAssertTrue(failures.contains { $0.hasPrefix("each logit: |Δlogit| ≤ 0.01") && $0.contains("outside") }, "\(failures)")
        let worst: [String: Any]? = first["worst_pair"] as? [String: Any]
        XCTAssertNotNil(worst?["id"])
    }

    func testConvertRefusesExistingOutputWithoutForce() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("m").path
        XCTAssertEqual(try cli.run(["convert", tiny, "--dtype", "int8", "--output", out]).status, 0)
        let again = try cli.run(["convert", tiny, "--dtype", "int8", "--output", out])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("already exists"), again.stderr)
        XCTAssertEqual(try cli.run(["convert", tiny, "--dtype", "fp16", "--output", out, "--force"]).status, 0)
        let manifest = try String(contentsOfFile: out + "/cetool.json", encoding: .utf8)
        XCTAssertTrue(manifest.contains("\"precision\":\"fp16\""))
    }
}
