import CECore
import CETestSupport
import Foundation
@testable import CERetrieve

/// Reads golden/bi/ files (made by golden/make_bi_goldens.py from sentence-transformers).
enum BiGolden {
    static let root = repositoryRoot().appendingPathComponent("golden/bi")

    static func load(_ rel: String) throws -> JSONValue {
        let data = try Data(contentsOf: root.appendingPathComponent(rel))
        return try JSONParser.parse([UInt8](data))
    }

    static func shape(_ v: JSONValue) -> [Int] { v["shape"]!.arrayValue!.map { $0.intValue! } }

    static func floats(_ v: JSONValue) -> [Float] {
        let d = Data(base64Encoded: v["float32_base64"]!.stringValue!)!
        return d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) } }
    }

    static func bytes(_ v: JSONValue) -> [UInt8] { [UInt8](Data(base64Encoded: v["base64"]!.stringValue!)!) }

    static func embeddings(_ v: JSONValue) throws -> Embeddings {
        let s = shape(v)
        return try Embeddings(count: s[0], dimension: s[1], values: floats(v))
    }

    /// [[corpus_id, score]] rows -> hits
    static func hits(_ v: JSONValue) -> [[SearchHit]] {
        v.arrayValue!.map { $0.arrayValue!.map { SearchHit(corpusID: $0.arrayValue![0].intValue!, score: Float($0.arrayValue![1].doubleValue!)) } }
    }
}
