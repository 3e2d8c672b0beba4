@testable import CEOnnx
import XCTest

final class OnnxProtoTests: XCTestCase {
    /// A hand-made model encodes to the bytes the protobuf wire format gives for it, field by field.
    func testEncodesFieldsInNumberOrder() {
        let model = Onnx.Model(irVersion: 8, opsets: [("", 17)], producerName: "p", producerVersion: "v", graphName: "g",
                               nodes: [], initializers: [], inputs: [], outputs: [], metadata: [])
        let bytes = OnnxProto.encode(model)
        // In field-number order: ir_version (1, varint 8), producer_name (2, "p"), producer_version (3, "v"),
        // graph (7: {name (2): "g"}), opset_import (8: {domain (1): "", version (2): 17}).
        let expected: [UInt8] = [0x08, 0x08, 0x12, 0x01, 0x70, 0x1A, 0x01, 0x76, 0x3A, 0x03, 0x12, 0x01, 0x67, 0x42, 0x04, 0x0A, 0x00, 0x10, 0x11]
        XCTAssertEqual(bytes, expected)
    }
}
