import CETestSupport
import Foundation
import XCTest

/// Writing commands on a file system that runs out of room. The child process runs under a 64 KiB file-size
/// limit (RLIMIT_FSIZE, SIGXFSZ ignored): every weights file and archive is larger, so its write fails with
/// EFBIG the way it fails with ENOSPC on a full disk, and no root or mount is needed. Each command must end
/// in an error naming the file it could not write, leave an existing target byte for byte as it was (also
/// under --force) or no target at all, and remove its staging.
final class FullDiskTests: XCTestCase {
    let cli = CLIRunner()
    static let limit = 64 << 10

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") else {
            throw XCTSkip("needs util-linux prlimit to set RLIMIT_FSIZE on the child")
        }
    }

    /// Staging or retired leftovers of `target` in its folder (`.<name>.cetool-…`).
    func leftovers(_ target: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: target.deletingLastPathComponent().path)
            .filter { $0.hasPrefix("." + target.lastPathComponent + ".cetool-") }
    }

    /// Runs `args` under the limit and checks the outcome for every target it would write.
    func assertFailsCleanly(_ args: [String], targets: [URL], failingFile: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try targets.map { try treeSnapshot($0) }
        let r = try cli.run(args, fileSizeLimit: Self.limit)
        XCTAssertEqual(r.status, 3, "exit status 3: the file system refused a write (\(r.stderr))", file: file, line: line)
        XCTAssertTrue(r.stderr.contains("cannot write \(failingFile): File too large"), r.stderr, file: file, line: line)
        XCTAssertFalse(r.stderr.contains("cetool-staging"), "the error names the staging path: \(r.stderr)", file: file, line: line)
        for (t, old) in zip(targets, before) {
            XCTAssertEqual(try treeSnapshot(t), old, "\(t.lastPathComponent) changed", file: file, line: line)
            XCTAssertEqual(try leftovers(t), [], "staging of \(t.lastPathComponent) left behind", file: file, line: line)
        }
    }

    func testConvertOnAFullDiskKeepsTheOldArtifact() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out")
        // No target before: none after.
        try assertFailsCleanly(["convert", cli.tinyOne, "--dtype", "fp32", "--output", target.path], targets: [target],
                               failingFile: target.appendingPathComponent("cetool-model.safetensors").path)
        // An older artifact, replaced with --force: kept as it was.
        let old = try cli.run(["convert", cli.tinyOne, "--dtype", "int8", "--output", target.path])
        XCTAssertEqual(old.status, 0, old.stderr)
        try assertFailsCleanly(["convert", cli.tinyOne, "--dtype", "fp32", "--output", target.path, "--force"], targets: [target],
                               failingFile: target.appendingPathComponent("cetool-model.safetensors").path)
    }

    func testSavePretrainedOnAFullDiskKeepsTheOldFolder() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("hf")
        let old = try cli.run(["save-pretrained", cli.tinyOne, "--output", target.path])
        XCTAssertEqual(old.status, 0, old.stderr)
        try assertFailsCleanly(["save-pretrained", cli.tinyOne, "--dtype", "fp16", "--output", target.path, "--force"], targets: [target],
                               failingFile: target.appendingPathComponent("model.safetensors").path)
    }

    func testPackageAndInstallOnAFullDiskKeepTheOldFiles() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let dist = dir.appendingPathComponent("dist")
        try FileManager.default.createDirectory(at: dist, withIntermediateDirectories: true)
        let archive = dist.appendingPathComponent("acme--tiny.tar.gz")
        let sum = dist.appendingPathComponent("acme--tiny.tar.gz.sha256")
        let fp16 = dir.appendingPathComponent("fp16")
        XCTAssertEqual(try cli.run(["convert", cli.tinyOne, "--dtype", "fp16", "--output", fp16.path]).status, 0)
        let old = try cli.run(["package", fp16.path, "--name", "acme/tiny", "--output", dist.path])
        XCTAssertEqual(old.status, 0, old.stderr)
        try assertFailsCleanly(["package", cli.tinyOne, "--name", "acme/tiny", "--output", dist.path, "--force"],
                               targets: [archive, sum], failingFile: archive.path)

        // Install: an older install replaced with --force stays as it was.
        let models = dir.appendingPathComponent("models")
        let installed = models.appendingPathComponent("acme--tiny")
        let first = try cli.run(["install", archive.path, "--into", models.path])
        XCTAssertEqual(first.status, 0, first.stderr)
        let other = dir.appendingPathComponent("dist2")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        XCTAssertEqual(try cli.run(["package", cli.tinyOne, "--name", "acme/tiny", "--output", other.path]).status, 0)
        try assertFailsCleanly(["install", other.appendingPathComponent("acme--tiny.tar.gz").path, "--into", models.path, "--force"],
                               targets: [installed], failingFile: installed.appendingPathComponent("model.safetensors").path)
    }
}
