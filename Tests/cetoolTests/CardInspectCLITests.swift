import CETestSupport
import Foundation
import XCTest

/// The model card's verify table and the report-to-model check of `save --report`; `inspect` on cetool's own
/// artifacts. Through the binary on the committed tiny model.
final class CardInspectCLITests: XCTestCase {
    let cli = CLIRunner()
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    var golden: String { cli.root.appendingPathComponent("golden/tiny-bert-l1").path }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func convert(_ dtype: String) throws -> String {
        let out = path(dtype)
        let r = try cli.run(["convert", cli.tinyOne, "--dtype", dtype, "--output", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        return out
    }

    func testCardTableEscapesBarsAndShowsSharesAsPercent() throws {
        let int8 = try convert("int8")
        let verify = try cli.run(["verify", int8, "--golden", golden, "--report", path("report.json")])
        XCTAssertEqual(verify.status, 0, verify.stderr + verify.stdout)
        let summary = try XCTUnwrap(try json(String(contentsOfFile: path("report.json"), encoding: .utf8))["summary"] as? [String: Any])
        let digest = try XCTUnwrap(summary["model_weights_sha256"] as? String)
        XCTAssertEqual(digest.utf8.count, 64)

        let save = try cli.run(["save", int8, "--output", path("card"), "--report", path("report.json")])
        XCTAssertEqual(save.status, 0, save.stderr)
        let card = try String(contentsOfFile: path("card") + "/README.md", encoding: .utf8)
        XCTAssertTrue(card.contains("| Top-1 agreement | 100 % |"), card)
        XCTAssertTrue(card.contains("| Verified weights (sha256) | `\(digest)` |"), card)
        // Every row of the verify table has exactly two cells: no unescaped `|` inside one.
        let table = card.components(separatedBy: "## Verification")[1].components(separatedBy: "\n\n")[1]
        let rows = table.split(separator: "\n")
        XCTAssertGreaterThan(rows.count, 10)
        for row in rows {
            let bars = row.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count
            XCTAssertEqual(bars, 3, String(row))
        }
        XCTAssertTrue(card.contains("| max \\|Δlogit\\| | "), card)
    }

    func testSaveRefusesAReportOfOtherWeights() throws {
        let int8 = try convert("int8")
        let fp16 = try convert("fp16")
        let verify = try cli.run(["verify", int8, "--golden", golden, "--report", path("report.json")])
        XCTAssertEqual(verify.status, 0, verify.stderr + verify.stdout)

        let other = try cli.run(["save", fp16, "--output", path("out"), "--report", path("report.json")])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("verified other weights"), other.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")))

        let quantized = try cli.run(["save", int8, "--output", path("out"), "--dtype", "fp16", "--report", path("report.json")])
        XCTAssertNotEqual(quantized.status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")))

        // A report without the field (written before it existed) is refused too.
        var old = try json(String(contentsOfFile: path("report.json"), encoding: .utf8))
        var summary = try XCTUnwrap(old["summary"] as? [String: Any])
        summary.removeValue(forKey: "model_weights_sha256")
        old["summary"] = summary
        try JSONSerialization.data(withJSONObject: old).write(to: dir.appendingPathComponent("old.json"))
        let unnamed = try cli.run(["save", int8, "--output", path("out"), "--report", path("old.json")])
        XCTAssertNotEqual(unnamed.status, 0)
        XCTAssertTrue(unnamed.stderr.contains("model_weights_sha256"), unnamed.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out")))
    }

    func testInspectReadsArtifactFolderAndWeightsFile() throws {
        let int8 = try convert("int8")
        let folder = try cli.run(["inspect", int8, "--format", "json"])
        XCTAssertEqual(folder.status, 0, folder.stderr)
        let doc = try json(folder.stdout)
        XCTAssertEqual(doc["format"] as? String, "cetool-artifact")
        XCTAssertEqual(doc["precision"] as? String, "int8")
        XCTAssertEqual((doc["plan"] as? [String: Any])?["token_embedding"] as? Bool, true)
        let tensors = try XCTUnwrap(doc["tensors"] as? [[String: Any]])
        XCTAssertFalse(tensors.contains { ($0["name"] as? String ?? "").hasPrefix("__pad__") })
        let q = try XCTUnwrap(tensors.first { $0["name"] as? String == "blk.0.attn_q.weight" })
        XCTAssertEqual(q["dtype"] as? String, "i8")
        XCTAssertEqual(q["shape"] as? [Int], [32, 32])
        let scale = try XCTUnwrap(tensors.first { $0["name"] as? String == "blk.0.attn_q.weight_scale" })
        XCTAssertEqual(scale["role"] as? String, "scale")
        XCTAssertEqual(scale["dtype"] as? String, "f32")
        XCTAssertGreaterThan(try XCTUnwrap(scale["min"] as? Double), 0)
        XCTAssertEqual(doc["tensor_count"] as? Int, tensors.count)

        let file = try cli.run(["inspect", int8 + "/cetool-model.safetensors", "--format", "json"])
        XCTAssertEqual(file.status, 0, file.stderr)
        XCTAssertEqual((try json(file.stdout)["tensors"] as? [[String: Any]])?.count, tensors.count)

        let table = try cli.run(["inspect", int8])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertFalse(table.stdout.contains("unmapped"), table.stdout)
        XCTAssertTrue(table.stdout.contains("precision: int8"), table.stdout)

        let fp16 = try cli.run(["inspect", try convert("fp16"), "--format", "json"])
        XCTAssertEqual(fp16.status, 0, fp16.stderr)
        let halves = (try json(fp16.stdout)["tensors"] as? [[String: Any]] ?? []).filter { $0["dtype"] as? String == "f16" }
        XCTAssertFalse(halves.isEmpty)
    }
}
