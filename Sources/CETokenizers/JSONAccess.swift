import CECore
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

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

    /// As `parse`, with `model.vocab` left unbuilt (`JSONParser.parse(_:deferring:)`): a WordPiece
    /// vocabulary is read from its bytes straight into the model; any other is parsed and put back with
    /// `replacingModelVocab`.
    static func parseDeferringVocabulary(_ data: Data, file: String) throws -> (JSONValue, DeferredVocabulary?) {
        do {
            let (v, range) = try data.withUnsafeBytes {
                try JSONParser.parse($0, maxDepth: 256, lastKeyWins: true, deferring: ["model", "vocab"])
            }
            return (v, range.map { DeferredVocabulary(data: data, range: $0, file: file) })
        } catch let e as JSONError {
            throw TokenizerError.invalidJSON(file: file, reason: e.description)
        }
    }

    /// This object with the member `vocab` of its member `model` set to `vocab` (both keys unique: the
    /// deferring parse refuses them repeated).
    func replacingModelVocab(with vocab: JSONValue) -> JSONValue {
        guard case .object(let top) = self else { return self }
        return .object(top.map { key, model in
            guard key.utf8.elementsEqual("model".utf8), case .object(let members) = model else { return (key, model) }
            return (key, .object(members.map { $0.0.utf8.elementsEqual("vocab".utf8) ? ($0.0, vocab) : $0 }))
        })
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

/// The bytes of tokenizer.json's `model.vocab`, left unparsed by `parseDeferringVocabulary`.
struct DeferredVocabulary: Sendable {
    let data: Data
    let range: Range<Int>
    let file: String

    /// The value parsed as any other (for models that are not WordPiece).
    func parse() throws -> JSONValue {
        do {
            return try data.withUnsafeBytes {
                try JSONParser.parse(UnsafeRawBufferPointer(rebasing: $0[range]), maxDepth: 254, lastKeyWins: true)
            }
        } catch let e as JSONError {
            throw TokenizerError.invalidJSON(file: file, reason: e.shifted(by: range.lowerBound).description)
        }
    }

    /// Whether the value is an object (its first byte is "{").
    var isObject: Bool {
        data.withUnsafeBytes { b in
            var i = range.lowerBound
            while i < range.upperBound, [0x20, 0x0A, 0x0D, 0x09].contains(b[i]) { i += 1 }
            return i < range.upperBound && b[i] == UInt8(ascii: "{")
        }
    }
}
