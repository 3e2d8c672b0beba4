import CEImport
import CEOnnx
import CETestSupport
import Foundation
import XCTest

/// export-onnx has no emitters for the decoder graph: it refuses one with a typed error naming the architecture.
final class DecoderExportTests: XCTestCase {
    func testExportOnnxRefusesDecoders() throws {
        let m = try ModelDirectory.load(repositoryRoot().appendingPathComponent("golden/models/tiny-qwen2"))
        XCTAssertThrowsError(try OnnxExport.modelBytes(m)) { e in
            XCTAssertEqual(e as? OnnxExportError, .unsupportedArchitecture(name: "Qwen2ForSequenceClassification"))
        }
    }
}
