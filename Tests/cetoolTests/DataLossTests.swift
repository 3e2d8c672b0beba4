import CETestSupport
import Foundation
import XCTest

/// Commands that replace a folder never replace the current folder, the source, a folder holding either, or a
/// folder cetool did not write (ReplacePolicy); a file output never replaces a folder. Each refusal exits 2 and
/// leaves every file as it was. An interrupted write leaves no staging folder behind.
final class DataLossTests: XCTestCase {
    let cli = CLIRunner()

    /// A project folder as a user has it: notes and a copy of the tiny model.
    func makeProject() throws -> (root: URL, model: URL) {
        let root = try makeTemporaryDirectory("cetool-dataloss")
        try Data("my notes\n".utf8).write(to: root.appendingPathComponent("notes.txt"))
        let model = root.appendingPathComponent("model")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: cli.tinyOne), to: model)
        return (root, model)
    }

    /// Runs `args` in `directory`, expects exit 2 with `message` on standard error, and `watched` unchanged.
    func assertRefused(_ args: [String], in directory: URL, watched: URL, message: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try treeSnapshot(watched)
        let r = try cli.run(args, in: directory)
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(message), r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains("nothing was changed"), r.stderr, file: file, line: line)
        XCTAssertEqual(try treeSnapshot(watched), before, "files changed", file: file, line: line)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: watched.deletingLastPathComponent().path).filter { $0.contains(".cetool-") }
        XCTAssertEqual(hidden, [], "staging left behind", file: file, line: line)
    }

    func testConvertRefusesTheCurrentFolderTheSourceAndTheirParents() throws {
        let (root, model) = try makeProject()
        defer { try? FileManager.default.removeItem(at: root) }
        let outside = try makeTemporaryDirectory("cetool-dataloss-cwd")
        defer { try? FileManager.default.removeItem(at: outside) }
        for args in [["convert", "model", "--dtype", "fp16", "--output", ".", "--force"],
                     ["convert", "model", "--dtype", "fp16", "--output", ".", "--replace", "."]] {
            try assertRefused(args, in: root, watched: root, message: "it is the current folder")
        }
        try assertRefused(["convert", "model", "--dtype", "fp16", "--output", "model", "--force"], in: root, watched: root,
                          message: "it is the source")
        try assertRefused(["convert", "model", "--dtype", "fp16", "--output", "model", "--replace", "model"], in: root, watched: root,
                          message: "it is the source")
        // The source's parent, from another folder, and the current folder's parent.
        try assertRefused(["convert", model.path, "--dtype", "fp16", "--output", root.path, "--replace", root.path], in: outside, watched: root,
                          message: "contains the source")
        let sub = root.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        try assertRefused(["convert", "../model", "--dtype", "fp16", "--output", "..", "--force"], in: sub, watched: root,
                          message: "contains the current folder")
        // save-pretrained and install follow the same rule.
        try assertRefused(["save-pretrained", "model", "--output", ".", "--force"], in: root, watched: root, message: "it is the current folder")
        try assertRefused(["save-pretrained", "model", "--output", "model", "--force"], in: root, watched: root, message: "it is the source")
    }

    func testAFolderCetoolDidNotWriteIsReplacedOnlyWhenNamed() throws {
        let (root, _) = try makeProject()
        defer { try? FileManager.default.removeItem(at: root) }
        let photos = root.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        try Data("jpeg".utf8).write(to: photos.appendingPathComponent("a.jpg"))
        try assertRefused(["convert", "model", "--dtype", "fp16", "--output", "photos", "--force"], in: root, watched: root,
                          message: "cetool did not write it")
        try assertRefused(["save-pretrained", "model", "--output", "photos", "--force"], in: root, watched: root,
                          message: "cetool did not write it")
        // A file where a folder goes, and a folder where a file goes.
        try assertRefused(["convert", "model", "--dtype", "fp16", "--output", "notes.txt", "--force"], in: root, watched: root,
                          message: "it is not a folder")
        try assertRefused(["verify", "model", "--golden", repositoryRoot().appendingPathComponent("golden/tiny-bert-l1").path, "--report", "photos"],
                          in: root, watched: root, message: "it is not a file")
        // --replace must name the output itself.
        let wrong = try cli.run(["convert", "model", "--dtype", "fp16", "--output", "photos", "--replace", "model"], in: root)
        XCTAssertEqual(wrong.status, 2, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("--replace names"), wrong.stderr)
        XCTAssertEqual(try treeSnapshot(photos), ["a.jpg": Data("jpeg".utf8)])

        // Named explicitly: replaced. From then on it is cetool's output and --force replaces it.
        let named = try cli.run(["convert", "model", "--dtype", "fp16", "--output", "photos", "--replace", "photos"], in: root)
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: photos.appendingPathComponent("a.jpg").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: photos.appendingPathComponent("cetool.json").path))
        XCTAssertEqual(try cli.run(["convert", "model", "--dtype", "fp32", "--output", "photos", "--force"], in: root).status, 0)
        // A save-pretrained folder is recognised by its model card.
        let hf = root.appendingPathComponent("hf")
        XCTAssertEqual(try cli.run(["save-pretrained", "model", "--output", "hf"], in: root).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: hf.appendingPathComponent("cetool.json").path))
        let again = try cli.run(["save-pretrained", "model", "--dtype", "fp16", "--output", "hf", "--force"], in: root)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try String(contentsOfFile: root.appendingPathComponent("notes.txt").path, encoding: .utf8), "my notes\n")
    }

    func testInstallRefusesAFolderOfTheSameNameThatCetoolDidNotWrite() throws {
        let (root, model) = try makeProject()
        defer { try? FileManager.default.removeItem(at: root) }
        XCTAssertEqual(try cli.run(["package", model.path, "--name", "acme/tiny", "--output", root.path]).status, 0)
        let models = root.appendingPathComponent("models")
        let mine = models.appendingPathComponent("acme--tiny")
        try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: mine.appendingPathComponent("weights.bin"))
        let archive = root.appendingPathComponent("acme--tiny.tar.gz").path
        try assertRefused(["install", archive, "--into", models.path, "--force"], in: root, watched: models, message: "cetool did not write it")
        let named = try cli.run(["install", archive, "--into", models.path, "--replace", mine.path], in: root)
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: mine.appendingPathComponent("config.json").path))
    }

    /// SIGINT and SIGTERM while the artifact is being written: the process dies of the signal and its staging
    /// folder is gone. The real-size fp32 conversion spends long enough hashing and writing 90 MB to be caught.
    func testAnInterruptedConvertLeavesNoStaging() throws {
        let source = URL(fileURLWithPath: try cli.realModel("minilm-l6-ce"))
        for signal in [SIGINT, SIGTERM] {
            let dir = try makeTemporaryDirectory("cetool-signal")
            defer { try? FileManager.default.removeItem(at: dir) }
            let p = Process()
            p.executableURL = cli.binary
            p.arguments = ["convert", source.path, "--dtype", "fp32", "--output", dir.appendingPathComponent("out").path]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            var sawStaging = false
            let deadline = Date().addingTimeInterval(60)
            while p.isRunning, Date() < deadline {
                if try FileManager.default.contentsOfDirectory(atPath: dir.path).contains(where: { $0.contains(".cetool-staging-") }) {
                    sawStaging = true
                    kill(p.processIdentifier, signal)
                    break
                }
                usleep(1_000)
            }
            p.waitUntilExit()
            XCTAssertTrue(sawStaging, "the staging folder was never seen (signal \(signal))")
            XCTAssertEqual(p.terminationReason, .uncaughtSignal, "signal \(signal)")
            XCTAssertEqual(p.terminationStatus, signal)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "signal \(signal)")
        }
    }
}
