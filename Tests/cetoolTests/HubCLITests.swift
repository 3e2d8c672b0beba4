import CETestSupport
import Foundation
import XCTest

/// Models by hub id (`ORG/NAME[@REVISION]` from the local HuggingFace cache) in every command that takes one, and
/// what `push` accepts, through the binary on the committed tiny model.
final class HubCLITests: XCTestCase {
    let cli = CLIRunner()
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    /// A save-pretrained folder of the tiny model pushed as acme/tiny into `hub`.
    func pushTiny(hub: String) throws -> [String: Any] {
        let save = try cli.run(["save-pretrained", cli.tinyOne, "--output", path("hf")])
        XCTAssertEqual(save.status, 0, save.stderr)
        try FileManager.default.createDirectory(atPath: hub, withIntermediateDirectories: true)
        let push = try cli.run(["push", path("hf"), "--hub-dir", hub, "--repo-id", "acme/tiny", "--json"])
        XCTAssertEqual(push.status, 0, push.stderr)
        return try json(push.stdout)
    }

    func testPredictByHubIDScoresAsTheFolder() throws {
        let pushed = try pushTiny(hub: path("hub"))
        XCTAssertEqual(pushed["outcome"] as? String, "pushed")
        XCTAssertEqual((pushed["commit"] as? String)?.utf8.count, 40)
        XCTAssertEqual(pushed["files"] as? Int, 9)
        let again = try cli.run(["push", path("hf"), "--hub-dir", path("hub"), "--repo-id", "acme/tiny", "--json"])
        XCTAssertEqual(try json(again.stdout)["outcome"] as? String, "unchanged")

        let pairs = "[\"a query\", \"a document\"]\n[\"how tall is it\", \"it is very tall\"]\n"
        let folder = try cli.run(["predict", cli.tinyOne, "--pairs", "-"], stdin: pairs)
        XCTAssertEqual(folder.status, 0, folder.stderr)
        XCTAssertEqual(folder.stdout.split(separator: "\n").count, 2)
        let env: [String: String?] = ["HF_HUB_CACHE": path("hub")]
        for id in ["acme/tiny", "acme/tiny@main", "acme/tiny@" + (pushed["commit"] as! String)] {
            let hub = try cli.run(["predict", id, "--pairs", "-"], stdin: pairs, environment: env)
            XCTAssertEqual(hub.status, 0, hub.stderr)
            XCTAssertEqual(hub.stdout, folder.stdout, id)
        }
        // Without HF_HUB_CACHE, HF_HOME/hub is the cache.
        let home = try cli.run(["predict", "acme/tiny", "--pairs", "-"], stdin: pairs,
                               environment: ["HF_HUB_CACHE": nil, "HUGGINGFACE_HUB_CACHE": nil, "HF_HOME": dir.path])
        XCTAssertEqual(home.status, 0, home.stderr)
        XCTAssertEqual(home.stdout, folder.stdout)
    }

    func testEveryModelCommandTakesAHubID() throws {
        _ = try pushTiny(hub: path("hub"))
        let env: [String: String?] = ["HF_HUB_CACHE": path("hub")]
        let docs = dir.appendingPathComponent("docs.txt")
        try "first document\nsecond document\nthird\n".write(to: docs, atomically: true, encoding: .utf8)
        let rankFolder = try cli.run(["rank", cli.tinyOne, "--query", "a query", "--documents", docs.path])
        let rankHub = try cli.run(["rank", "acme/tiny", "--query", "a query", "--documents", docs.path], environment: env)
        XCTAssertEqual(rankHub.status, 0, rankHub.stderr)
        XCTAssertEqual(rankHub.stdout, rankFolder.stdout)

        let golden = cli.root.appendingPathComponent("golden/tiny-bert-l1").path
        let verify = try cli.run(["verify", "acme/tiny", "--golden", golden], environment: env)
        XCTAssertEqual(verify.status, 0, verify.stderr + verify.stdout)
        let pairs = dir.appendingPathComponent("pairs.jsonl")
        try "[\"q\", \"d one\"]\n[\"q\", \"d two\"]\n".write(to: pairs, atomically: true, encoding: .utf8)
        let original = try cli.run(["verify", cli.tinyOne, "--original", "acme/tiny", "--pairs", pairs.path], environment: env)
        XCTAssertEqual(original.status, 0, original.stderr + original.stdout)

        let inspect = try cli.run(["inspect", "acme/tiny", "--format", "json"], environment: env)
        XCTAssertEqual(inspect.status, 0, inspect.stderr)
        XCTAssertEqual(try json(inspect.stdout)["tensor_count"] as? Int, 41)

        let save = try cli.run(["save", "acme/tiny", "--output", path("again"), "--dtype", "fp16"], environment: env)
        XCTAssertEqual(save.status, 0, save.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("again") + "/model.safetensors"))

        let data = "{\"texts\": [\"a\", \"b\"], \"label\": 1}\n{\"texts\": [\"c\", \"d\"], \"label\": 0}\n"
        let eval = try cli.run(["eval", "acme/tiny", "--task", "classification", "--data", "-"], stdin: data, environment: env)
        XCTAssertEqual(eval.status, 0, eval.stderr)

        let bench = try cli.run(["bench", "acme/tiny", "--pairs", pairs.path, "--repeat", "1"], environment: env)
        XCTAssertEqual(bench.status, 0, bench.stderr)
    }

    func testMissingRepoAndRevisionAreClearErrors() throws {
        _ = try pushTiny(hub: path("hub"))
        let env: [String: String?] = ["HF_HUB_CACHE": path("hub")]
        let missing = try cli.run(["predict", "acme/absent", "--pairs", "-"], stdin: "[\"q\", \"d\"]\n", environment: env)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains(path("hub") + "/models--acme--absent"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains("HF_HUB_CACHE"), missing.stderr)
        XCTAssertTrue(missing.stdout.isEmpty)

        let revision = try cli.run(["predict", "acme/tiny@v9", "--pairs", "-"], stdin: "[\"q\", \"d\"]\n", environment: env)
        XCTAssertNotEqual(revision.status, 0)
        XCTAssertTrue(revision.stderr.contains("no refs/v9"), revision.stderr)
        XCTAssertTrue(revision.stderr.contains("cached refs: main"), revision.stderr)

        // A ref whose snapshot was removed.
        let snapshots = path("hub") + "/models--acme--tiny/snapshots"
        for s in try FileManager.default.contentsOfDirectory(atPath: snapshots) { try FileManager.default.removeItem(atPath: snapshots + "/" + s) }
        let gone = try cli.run(["inspect", "acme/tiny"], environment: env)
        XCTAssertNotEqual(gone.status, 0)
        XCTAssertTrue(gone.stderr.contains("the cache is incomplete"), gone.stderr)
    }

    func testPushRefusesAnArtifactUnlessCetoolOnly() throws {
        let int8 = path("int8")
        let convert = try cli.run(["convert", cli.tinyOne, "--dtype", "int8", "--output", int8])
        XCTAssertEqual(convert.status, 0, convert.stderr)
        let hub = path("hub")
        try FileManager.default.createDirectory(atPath: hub, withIntermediateDirectories: true)
        let refused = try cli.run(["push", int8, "--hub-dir", hub, "--repo-id", "acme/tiny-int8"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("sentence-transformers"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--dtype fp16"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--cetool-only"), refused.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: hub), [])

        let pushed = try cli.run(["push", int8, "--hub-dir", hub, "--repo-id", "acme/tiny-int8", "--cetool-only"])
        XCTAssertEqual(pushed.status, 0, pushed.stderr)
        let pairs = "[\"a query\", \"a document\"]\n"
        let folder = try cli.run(["predict", int8, "--pairs", "-"], stdin: pairs)
        let byID = try cli.run(["predict", "acme/tiny-int8", "--pairs", "-"], stdin: pairs, environment: ["HF_HUB_CACHE": hub])
        XCTAssertEqual(byID.status, 0, byID.stderr)
        XCTAssertEqual(byID.stdout, folder.stdout)
    }

    func testInstallPrintsJSON() throws {
        let save = try cli.run(["save-pretrained", cli.tinyOne, "--output", path("hf")])
        XCTAssertEqual(save.status, 0, save.stderr)
        let pkg = try cli.run(["package", path("hf"), "--name", "acme/tiny", "--output", dir.path])
        XCTAssertEqual(pkg.status, 0, pkg.stderr)
        let archive = path("acme--tiny.tar.gz")
        let first = try cli.run(["install", archive, "--into", path("models"), "--json"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let summary = try json(first.stdout)
        XCTAssertEqual(summary["outcome"] as? String, "installed")
        XCTAssertEqual(summary["path"] as? String, path("models") + "/acme--tiny")
        let again = try cli.run(["install", archive, "--into", path("models"), "--json"])
        XCTAssertEqual(try json(again.stdout)["outcome"] as? String, "unchanged")
    }
}
