import CECore
import CEFormats
import Foundation
import XCTest
@testable import CEArtifact

final class StagingTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cetool-staging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func write(_ s: StagedOutput, _ name: String, _ text: String) throws {
        let w = try s.file(name)
        try w.write(text)
        try w.finish()
    }

    func testDirectoryAppearsOnlyOnCommit() throws {
        let target = dir.appendingPathComponent("out")
        let s = try StagedOutput(target: target, kind: .directory, force: false)
        try write(s, "a.txt", "one")
        try write(s, "sub/b.txt", "two")
        XCTAssertFalse(FileManager.default.fileExists(atPath: target.path))
        try s.commit()
        XCTAssertEqual(try String(contentsOf: target.appendingPathComponent("sub/b.txt"), encoding: .utf8), "two")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out"], "no staging left behind")
    }

    func testExistingTargetNeedsForceAndIsReplacedWhole() throws {
        let target = dir.appendingPathComponent("out")
        let a = try StagedOutput(target: target, kind: .directory, force: false)
        try write(a, "old.txt", "old")
        try write(a, "cetool.json", #"{"format": "cetool-artifact"}"#)
        try a.commit()
        XCTAssertThrowsError(try StagedOutput(target: target, kind: .directory, force: false)) {
            XCTAssertEqual($0 as? StagingError, .targetExists(path: target.standardizedFileURL.path))
        }
        let b = try StagedOutput(target: target, kind: .directory, force: true)
        try write(b, "new.txt", "new")
        try b.commit()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target.path), ["new.txt"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out"])
    }

    func testAbandonedStagingLeavesNothing() throws {
        let target = dir.appendingPathComponent("out")
        do {
            let s = try StagedOutput(target: target, kind: .directory, force: false)
            try write(s, "a.txt", "x")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    func testRelativePathsAreConfinedToTheOutput() throws {
        let s = try StagedOutput(target: dir.appendingPathComponent("out"), kind: .directory, force: false)
        for bad in ["../x", "/etc/x", "a/../../x", "", "a//b", "./a"] {
            XCTAssertThrowsError(try s.file(bad), bad) { XCTAssertEqual($0 as? StagingError, .invalidRelativePath(bad)) }
        }
    }

    func testStagedSingleFile() throws {
        let target = dir.appendingPathComponent("f.bin")
        let s = try StagedOutput(target: target, kind: .file, force: false)
        let w = try s.writer()
        try w.write([1, 2, 3])
        let digest = try w.finish()
        try s.commit()
        XCTAssertEqual(try Data(contentsOf: target), Data([1, 2, 3]))
        XCTAssertEqual(digest, "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81")
    }
}

final class DigestAndWriterTests: XCTestCase {
    func testSHA256KnownVectors() {
        // FIPS 180-4 examples.
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testSHA256StreamingEqualsOneShot() {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<10_007).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var s = SHA256()
        var i = 0
        for step in [1, 63, 64, 65, 127, 1000, 5000] where i < data.count {
            let j = min(data.count, i + step)
            s.update(data[i..<j]); i = j
        }
        s.update(data[i...])
        XCTAssertEqual(SHA256.hexString(s.finalize()), SHA256.hex(data))
    }

    func testSafetensorsWriterRoundTripsAndAligns() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cetool-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = Tensor(floats: [1, 2, 3], shape: [3])                                   // 12 bytes
        let b = Tensor(dtype: .i8, shape: [2, 5], storage: [Int8](arrayLiteral: 1, -2, 3, -4, 5, 6, 7, 8, 9, -127).withUnsafeBytes { TensorStorage(copying: $0) })
        let c = Tensor(floats: [4, 5], shape: [1, 2])
        for alignment in [8, 64] {
            let path = dir.appendingPathComponent("m\(alignment).safetensors").path
            let w = try FileWriter(creating: path)
            let layout = try Safetensors.write([("a", a), ("b", b), ("c", c)], metadata: [("format", "pt"), ("z", "1")], alignment: alignment, padTensors: alignment == 64, to: w)
            try w.finish()
            let f = try Safetensors.File(path: path)
            XCTAssertEqual(f.header.dataOffset % alignment, 0)
            for e in f.header.entries where alignment == 64 && !e.name.hasPrefix(Safetensors.paddingPrefix) {
                XCTAssertEqual((f.header.dataOffset + e.begin) % alignment, 0, "\(e.name) at alignment \(alignment)")
            }
            XCTAssertEqual(try f.tensor("a").floatValues(), [1, 2, 3])
            XCTAssertEqual(try f.tensor("c").floatValues(), [4, 5])
            XCTAssertEqual(Array(try f.tensor("b").storage.bytes), Array(b.storage.bytes))
            XCTAssertEqual(f.header.metadata.map(\.0), ["format", "z"])
            XCTAssertEqual(layout.fileSize, try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            if alignment == 8 { XCTAssertFalse(f.names.contains { $0.hasPrefix(Safetensors.paddingPrefix) }) }
        }
        XCTAssertThrowsError(try Safetensors.layout([("a", a), ("a", c)], metadata: []))
    }
}
