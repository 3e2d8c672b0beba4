import Foundation
import XCTest

/// Replays what the fuzz targets found (FuzzRegressions/<target>/) and feeds every hostile-corpus file to
/// every fuzz entry: each must return (a typed error inside is fine); a trap ends the test process.
final class FuzzRegressionTests: XCTestCase {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    func testFindingsReplay() throws {
        let root = Self.directory.appendingPathComponent("FuzzRegressions")
        let fm = FileManager.default
        let targets = try fm.contentsOfDirectory(atPath: root.path).filter { $0 != "README.md" }
        let known = Set(FuzzEntries.all.map(\.name))
        var replayed = 0
        for t in targets {
            XCTAssertTrue(known.contains(t), "FuzzRegressions/\(t) names no fuzz target")
            guard let entry = FuzzEntries.all.first(where: { $0.name == t })?.run else { continue }
            for f in try fm.contentsOfDirectory(atPath: root.appendingPathComponent(t).path).sorted() {
                let data = try Data(contentsOf: root.appendingPathComponent(t).appendingPathComponent(f))
                data.withUnsafeBytes { entry($0) }
                replayed += 1
            }
        }
        print("fuzz regressions: \(replayed) findings replayed")
    }

    func testEveryCorpusFileThroughEveryEntry() throws {
        let corpus = Self.directory.appendingPathComponent("Corpus")
        let fm = FileManager.default
        var files: [URL] = []
        for c in try fm.contentsOfDirectory(atPath: corpus.path).sorted() {
            for f in try fm.contentsOfDirectory(atPath: corpus.appendingPathComponent(c).path).sorted() {
                files.append(corpus.appendingPathComponent(c).appendingPathComponent(f))
            }
        }
        XCTAssertGreaterThanOrEqual(files.count, 100)
        for url in files {
            let data = try Data(contentsOf: url)
            for (_, run) in FuzzEntries.all { data.withUnsafeBytes { run($0) } }
        }
    }
}
