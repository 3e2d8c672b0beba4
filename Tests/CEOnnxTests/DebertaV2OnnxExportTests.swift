import CEArtifact
import CEImport
import CETestSupport
import Foundation
import XCTest
@testable import CEOnnx

/// export-onnx does not write DeBERTa-v2 yet: a typed error naming the architecture, and nothing written.
final class DebertaV2OnnxRefusalTests: XCTestCase {
    func testDebertaV2IsRefusedByName() throws {
        let dir = try makeTemporaryDirectory("cetool-onnx-deberta")
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = try ModelDirectory.load(repositoryRoot().appendingPathComponent("golden/models/tiny-deberta-v3"))
        XCTAssertThrowsError(try OnnxExport.write(m, to: dir.appendingPathComponent("out"), policy: ReplacePolicy(force: false))) {
            XCTAssertEqual($0 as? OnnxExportError, .unsupportedArchitecture(name: "DebertaV2ForSequenceClassification"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}
