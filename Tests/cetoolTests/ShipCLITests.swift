import CETestSupport
import Foundation
import XCTest

/// save / save-pretrained, package, install and push through the CLI, on the committed tiny model.
final class ShipCLITests: XCTestCase {
    let cli = CLIRunner()

    func run(_ args: [String]) throws -> CLIRunner.Result { try cli.run(args, stdin: nil) }

    func testSavePackageInstallPush() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let hf = dir.appendingPathComponent("hf").path
        let save = try run(["save", cli.tinyOne, "--output", hf, "--dtype", "fp16", "--name", "acme/tiny", "--json"])
        XCTAssertEqual(save.status, 0, save.stderr)
        let summary = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(save.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(summary["layout"] as? String, "huggingface")
        XCTAssertEqual(summary["precision"] as? String, "fp16")
        let again = try run(["save-pretrained", cli.tinyOne, "--output", hf])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)

        let dist = dir.appendingPathComponent("dist")
        try FileManager.default.createDirectory(at: dist, withIntermediateDirectories: true)
        let pkg = try run(["package", hf, "--name", "acme/tiny", "--output", dist.path])
        XCTAssertEqual(pkg.status, 0, pkg.stderr)
        let archive = dist.appendingPathComponent("acme--tiny.tar.gz").path
        XCTAssertTrue(FileManager.default.fileExists(atPath: archive + ".sha256"))

        let models = dir.appendingPathComponent("models").path
        let inst = try run(["install", archive, "--into", models])
        XCTAssertEqual(inst.status, 0, inst.stderr)
        XCTAssertTrue(inst.stdout.hasPrefix("installed "), inst.stdout)
        let predict = try cli.run(["predict", models + "/acme--tiny", "--pairs", "-"], stdin: "[\"a query\", \"a document\"]\n")
        XCTAssertEqual(predict.status, 0, predict.stderr)
        XCTAssertTrue(predict.stdout.hasPrefix("{\"score\":"), predict.stdout)
        let noop = try run(["install", archive, "--into", models])
        XCTAssertEqual(noop.status, 0, noop.stderr)
        XCTAssertTrue(noop.stdout.contains("nothing changed"), noop.stdout)

        let hub = dir.appendingPathComponent("hub")
        try FileManager.default.createDirectory(at: hub, withIntermediateDirectories: true)
        let push = try run(["push", hf, "--hub-dir", hub.path, "--repo-id", "acme/tiny"])
        XCTAssertEqual(push.status, 0, push.stderr)
        let ref = try String(contentsOf: hub.appendingPathComponent("models--acme--tiny/refs/main"), encoding: .utf8)
        XCTAssertEqual(ref.utf8.count, 40)
    }
}
