import CECore
import XCTest
@testable import CERetrieve

final class QuantizeEmbeddingsTests: XCTestCase {
    func testMatchesQuantizeEmbeddingsExactly() throws {
        let emb = try BiGolden.embeddings(try BiGolden.load("minilm/embeddings.json")["embeddings"]!)
        let g = try BiGolden.load("minilm/quantize.json")
        let odd = try BiGolden.embeddings(g["odd"]!)
        var checked = 0
        for c in g["cases"]!.arrayValue! {
            let input = c["input"]!.stringValue! == "odd" ? odd : emb
            let prec = EmbeddingPrecision(rawValue: c["precision"]!.stringValue!)!
            let want = BiGolden.bytes(c["output"]!)
            let label = "\(prec) \(c["input"]!.stringValue!) \(c["ranges_from"]?.stringValue ?? "")"
            var ranges: QuantizationRanges?
            var calibration: Embeddings?
            if let r = c["ranges"] {
                let f = BiGolden.floats(r), d = input.dimension
                let given = QuantizationRanges(minimum: Array(f[0..<d]), maximum: Array(f[d..<(2 * d)]))
                switch c["ranges_from"]!.stringValue! {
                case "given": ranges = given
                case "embeddings": XCTAssertEqual(try QuantizeEmbeddings.ranges(of: input), given, label)
                default:
                    let n = c["calibration_rows"]!.intValue!
                    calibration = try Embeddings(count: n, dimension: d, values: Array(input.values[0..<(n * d)]))
                    XCTAssertEqual(try QuantizeEmbeddings.ranges(of: calibration!), given, label)
                }
            }
            let got: [UInt8]
            switch prec {
            case .uint8: got = try QuantizeEmbeddings.uint8(input, ranges: ranges, calibration: calibration)
            case .int8: got = try QuantizeEmbeddings.int8(input, ranges: ranges, calibration: calibration).map { UInt8(bitPattern: $0) }
            case .ubinary: got = QuantizeEmbeddings.ubinary(input)
            case .binary: got = QuantizeEmbeddings.binary(input).map { UInt8(bitPattern: $0) }
            case .float32: continue
            }
            XCTAssertEqual(got, want, label)
            checked += 1
        }
        XCTAssertEqual(checked, 12)
    }

    func testHandComputedAndRefusals() throws {
        // dim 9: the second byte holds one bit, zero-padded; 0 is not > 0
        let e = try Embeddings(count: 1, dimension: 9, values: [1, -1, 0, 2, 0, 0, 0, 0.5, 3])
        XCTAssertEqual(QuantizeEmbeddings.ubinary(e), [0b1001_0001, 0b1000_0000])
        XCTAssertEqual(QuantizeEmbeddings.binary(e), [Int8(0b1001_0001 - 128), 0])
        XCTAssertThrowsError(try QuantizeEmbeddings.int8(e)) { XCTAssertEqual($0 as? RetrieveError, .rangesFromSingleEmbedding) }
        let two = try Embeddings(count: 2, dimension: 2, values: [0, 5, 1, 5])
        // dim 0: step Float(1/255), and 1 / step = 254.99998 in float32 -> 254 (numpy float32 gives the same);
        // dim 1: zero width -> step 1 -> floor(0) = 0
        XCTAssertEqual(try QuantizeEmbeddings.uint8(two), [0, 0, 254, 0])
        XCTAssertEqual(try QuantizeEmbeddings.int8(two), [-128, -128, 126, -128])
        XCTAssertEqual(try QuantizeEmbeddings.uint8(try Embeddings(count: 0, dimension: 2, values: [])), [])
    }
}
