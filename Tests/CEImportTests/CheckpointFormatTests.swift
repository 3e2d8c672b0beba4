import CECore
import CEImport
import CETestSupport
import XCTest

/// The same weights as safetensors, as torch.save zips and as sharded checkpoints import to
/// bit-identical canonical tensors (fixtures: golden/make_torch_variants.py).
final class CheckpointFormatTests: XCTestCase {
    let root = repositoryRoot()

    func assertBitIdentical(_ a: String, _ b: String, format: Checkpoint.Format, file: StaticString = #filePath, line: UInt = #line) throws {
        let ma = try ModelDirectory.load(root.appendingPathComponent(a))
        let mb = try ModelDirectory.load(root.appendingPathComponent(b))
        XCTAssertEqual(mb.checkpointFormat, format, file: file, line: line)
        XCTAssertEqual(Set(ma.graph.weights.keys), Set(mb.graph.weights.keys), file: file, line: line)
        for (name, ta) in ma.graph.weights {
            let tb = try XCTUnwrap(mb.graph.weights[name])
            XCTAssertEqual(ta.dtype, tb.dtype, name, file: file, line: line)
            XCTAssertEqual(ta.shape, tb.shape, name, file: file, line: line)
            XCTAssertTrue(ta.storage.bytes.elementsEqual(tb.storage.bytes), "\(name) differs between \(a) and \(b)", file: file, line: line)
        }
    }

    func testTorchZipEqualsSafetensors() throws {
        try assertBitIdentical("golden/models/tiny-bert-l1", "golden/models/tiny-bert-l1-torch", format: .torchZip)
        try assertBitIdentical("golden/models/tiny-bert-l3", "golden/models/tiny-bert-l3-torch", format: .torchZip)
    }

    func testShardedCheckpointsEqualSingleFile() throws {
        try assertBitIdentical("golden/models/tiny-bert-l1", "golden/models/tiny-bert-l1-sharded", format: .safetensorsSharded)
        try assertBitIdentical("golden/models/tiny-bert-l1", "golden/models/tiny-bert-l1-torch-sharded", format: .torchZipSharded)
    }

    /// The real-size model's torch.save copy is made by golden/make_torch_variants.py (needs torch), so
    /// it exists where the reference venv ran, not on CI.
    func testRealSizeTorchZipEqualsSafetensors() throws {
        let torchDir = root.appendingPathComponent(".models/minilm-l6-ce-torch/pytorch_model.bin")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: torchDir.path), "no .models/minilm-l6-ce-torch (made with torch by golden/make_torch_variants.py)")
        try assertBitIdentical(".models/minilm-l6-ce", ".models/minilm-l6-ce-torch", format: .torchZip)
    }

    func testShardIndexPointingOutsideTheFolderIsRefused() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = root.appendingPathComponent("golden/models/tiny-bert-l1")
        for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: src.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        try Data(#"{"metadata": {}, "weight_map": {"classifier.weight": "../../etc/passwd"}}"#.utf8)
            .write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        XCTAssertThrowsError(try ModelDirectory.load(dir)) { error in
            XCTAssertTrue("\(error)".contains("../../etc/passwd"), "\(error)")
        }
    }
}
