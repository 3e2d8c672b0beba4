import CECore
import CEGraph
import Foundation
import XCTest

/// DeBERTa-v2's relative positions against transformers' make_log_bucket_position (golden/deberta-buckets.json, made by
/// golden/make_models_deberta.py): every distance of the tiny configs and of deberta-v3-base's 256 buckets over 512
/// positions maps to the same bucket.
final class DebertaV2BucketTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func parameters(buckets: Int, maxRelative: Int) -> DebertaV2Parameters {
        DebertaV2Parameters(relativeAttention: true, positionBuckets: buckets, maxRelativePositions: maxRelative, c2p: true, p2c: true,
                            shareAttKey: true, normRelEmbedding: true, positionBiasedInput: false, tokenTypes: false, poolerActivation: .gelu)
    }

    func testBucketsMatchTheReference() throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("golden/deberta-buckets.json"))
        let doc = try JSONParser.parse([UInt8](data))
        let tables = try XCTUnwrap(doc["tables"]?.arrayValue)
        XCTAssertEqual(tables.count, 3)
        for t in tables {
            let name = t["config"]?.stringValue ?? "?"
            let p = parameters(buckets: try XCTUnwrap(t["position_buckets"]?.intValue), maxRelative: try XCTUnwrap(t["max_relative_positions"]?.intValue))
            let first = try XCTUnwrap(t["first_distance"]?.intValue)
            let expected = try XCTUnwrap(t["buckets"]?.arrayValue).compactMap(\.intValue)
            let ours = expected.indices.map { p.bucket(first + $0) }
            XCTAssertEqual(ours, expected, name)
            // Rows stay inside rel_embd.
            XCTAssertTrue(expected.indices.allSatisfy { (0..<p.relativeEmbeddingRows).contains(p.relativeRow(first + $0)) }, name)
        }
    }

    /// Without buckets the distance is kept and rows clamp at the span's ends (c2p_pos = clamp(d + span, 0, 2·span − 1)).
    func testRowsClampWithoutBuckets() {
        let p = parameters(buckets: -1, maxRelative: 24)
        XCTAssertEqual([p.relativeRow(0), p.relativeRow(5), p.relativeRow(-5), p.relativeRow(23), p.relativeRow(24), p.relativeRow(100)],
                       [24, 29, 19, 47, 47, 47])
        XCTAssertEqual([p.relativeRow(-24), p.relativeRow(-25), p.relativeRow(-100)], [0, 0, 0])
        XCTAssertEqual(p.scaleFactor, 3)
    }
}
