import CECore
import CEFormats
import CETestSupport
import XCTest

final class SafetensorsTests: XCTestCase {
    func header(_ bytes: [UInt8]) throws -> Safetensors.Header {
        try bytes.withUnsafeBytes { try Safetensors.readHeader($0) }
    }

    func expect(_ bytes: [UInt8], _ expected: SafetensorsError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try header(bytes), file: file, line: line) {
            XCTAssertEqual($0 as? SafetensorsError, expected, file: file, line: line)
        }
    }

    func good() -> SafetensorsBuilder {
        var b = SafetensorsBuilder()
        b.metadata = [("format", "pt")]
        b.add("a", floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        b.add("b", floats: [7], shape: [1])
        return b
    }

    func testReadsValidFile() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        try Data(good().bytes()).write(to: URL(fileURLWithPath: path))
        let f = try Safetensors.File(path: path)
        XCTAssertEqual(f.names, ["a", "b"])
        XCTAssertEqual(f.header.metadata.map(\.0), ["format"])
        let a = try f.tensor("a")
        XCTAssertEqual(a.shape, [2, 3])
        XCTAssertEqual(a.floatValues(), [1, 2, 3, 4, 5, 6])
        XCTAssertThrowsError(try f.tensor("zz")) {
            XCTAssertEqual($0 as? SafetensorsError, .tensorMissing(name: "zz", path: path))
        }
    }

    func testTruncatedFiles() {
        let bytes = good().bytes()
        expect(Array(bytes.prefix(5)), .fileTooSmall(size: 5))
        // header cut: declared length longer than what follows
        expect(Array(bytes.prefix(20)), .headerLongerThanFile(length: bytes.count - 8 - 28, available: 12))
        // data cut
        expect(Array(bytes.dropLast(4)), .dataSizeMismatch(covered: 28, dataSize: 24))
    }

    func testHeaderLengthLimits() {
        expect(good().bytes(declaredLength: UInt64.max), .headerTooLarge(length: UInt64.max, limit: Safetensors.maxHeaderSize))
        expect(good().bytes(declaredLength: 100_000_001), .headerTooLarge(length: 100_000_001, limit: Safetensors.maxHeaderSize))
        expect(good().bytes(declaredLength: 50_000_000), .headerLongerThanFile(length: 50_000_000, available: good().bytes().count - 8))
    }

    func testHeaderMustBeUTF8JSONObject() throws {
        var b = good()
        b.items = []
        expect(b.bytes(header: "[1, 2]"), .headerNotAnObject)
        XCTAssertThrowsError(try header(b.bytes(header: "{\"a\": }"))) {
            guard case .headerNotJSON? = $0 as? SafetensorsError else { return XCTFail("\($0)") }
        }
        var raw = b.bytes(header: "{\"\u{e9}\":1}")
        raw[10] = 0xFF
        expect(raw, .headerNotUTF8)
        XCTAssertThrowsError(try header(b.bytes(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#))) {
            guard case .headerNotJSON(let why)? = $0 as? SafetensorsError else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("duplicate"), why)
        }
    }

    func testUnknownDType() {
        var b = SafetensorsBuilder()
        b.addRaw("w", dtype: "F7", shape: [1], data: [0])
        expect(b.bytes(), .unknownDType(name: "w", dtype: "F7"))
    }

    func testOffsetsMustTileTheData() {
        var gap = SafetensorsBuilder()
        gap.addRaw("a", dtype: "U8", shape: [2], data: [1, 2], offsets: (0, 2))
        gap.addRaw("b", dtype: "U8", shape: [2], data: [3, 4, 5], offsets: (3, 5))
        expect(gap.bytes(), .offsetsNotContiguous(name: "b", begin: 3, expected: 2))

        var overlap = SafetensorsBuilder()
        overlap.addRaw("a", dtype: "U8", shape: [2], data: [1, 2], offsets: (0, 2))
        overlap.addRaw("b", dtype: "U8", shape: [2], data: [], offsets: (1, 3))
        expect(overlap.bytes(), .offsetsNotContiguous(name: "b", begin: 1, expected: 2))

        var trailing = SafetensorsBuilder()
        trailing.addRaw("a", dtype: "U8", shape: [2], data: [1, 2, 9], offsets: (0, 2))
        expect(trailing.bytes(), .dataSizeMismatch(covered: 2, dataSize: 3))
    }

    func testShapeMustMatchBytes() {
        var b = SafetensorsBuilder()
        b.addRaw("a", dtype: "F32", shape: [3], data: [0, 0, 0, 0, 0, 0, 0, 0])
        expect(b.bytes(), .sizeMismatch(name: "a", expected: 12, actual: 8))

        var o = SafetensorsBuilder()
        o.addRaw("a", dtype: "F32", shape: [1 << 40, 1 << 40], data: [], offsets: (0, 0))
        expect(o.bytes(), .shapeOverflow(name: "a", shape: [1 << 40, 1 << 40]))
    }

    func testEntryFieldsValidated() {
        var b = SafetensorsBuilder()
        b.items = []
        expect(b.bytes(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#),
               .invalidEntry(name: "a", reason: "shape has a non-integer or negative dimension"))
        expect(b.bytes(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0]}}"#),
               .invalidEntry(name: "a", reason: "data_offsets must be two non-negative integers"))
        expect(b.bytes(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0],"x":1}}"#),
               .invalidEntry(name: "a", reason: "unknown field \"x\""))
        expect(b.bytes(header: #"{"__metadata__":{"k":1}}"#), .invalidMetadata(reason: "value of \"k\" is not a string"))
    }

    func testMissingFileIsTyped() {
        XCTAssertThrowsError(try Safetensors.File(path: "/nonexistent/model.safetensors")) {
            XCTAssertEqual($0 as? SafetensorsError, .fileMissing(path: "/nonexistent/model.safetensors"))
        }
    }
}
