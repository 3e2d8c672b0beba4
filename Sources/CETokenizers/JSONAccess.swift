import CECore
import Foundation

/// Tokenizer files are read with CECore's strict parser, duplicates allowed with the last one winning
/// (as the reference's serde_json and Python json do), keys compared byte for byte.
extension JSONValue {
    /// Parses `data`; `file` names the source in errors.
    static func parse(_ data: Data, file: String) throws -> JSONValue {
        do {
            return try data.withUnsafeBytes { try JSONParser.parse($0, maxDepth: 256, lastKeyWins: true) }
        } catch let e as JSONError {
            throw TokenizerError.invalidJSON(file: file, reason: e.description)
        }
    }

    var objectMembers: [(key: String, value: JSONValue)]? {
        objectValue.map { $0.map { (key: $0.0, value: $0.1) } }
    }

    /// Integer value; doubles holding an exact integer in Int64 range are accepted.
    var int64Value: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d):
            guard d.isFinite, d == d.rounded(), abs(d) < 9.0e18 else { return nil }
            return Int64(d)
        default: return nil
        }
    }

    var numberValue: Double? { doubleValue }
}
