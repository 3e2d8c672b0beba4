import Foundation

/// The parts of a SentencePiece model file (`sentencepiece.bpe.model`, protobuf `sentencepiece.ModelProto`) that
/// transformers reads when it builds XLMRobertaTokenizer without tokenizer.json: the pieces with their scores and
/// types, and the normalizer's Precompiled charsmap. See formats/tokenizer.md, "SentencePiece model files".
///
/// A reader of the protobuf wire format for these fields only; every other field is skipped by its wire type.
/// Malformed input (truncated varint or field, a length past the end, a group, a known field with the wrong wire
/// type, invalid UTF-8 in a piece, a non-finite score) is an `invalidField` error naming the file and field.
struct SentencePieceModel {
    /// `ModelProto.SentencePiece.Type`.
    enum PieceType: Int {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    struct Piece {
        var bytes: [UInt8]
        var score: Float
        /// The raw enum value (NORMAL = 1 when absent); values outside `PieceType` are kept as read.
        var type: Int
        var pieceType: PieceType? { PieceType(rawValue: type) }
    }

    static let file = "sentencepiece.bpe.model"

    var pieces: [Piece] = []
    /// `normalizer_spec.precompiled_charsmap`; nil when the field is absent or empty (an `identity` normalizer).
    var precompiledCharsmap: [UInt8]?

    init(data: Data, file: String = SentencePieceModel.file) throws {
        let bytes = [UInt8](data)
        var top = WireReader(bytes: bytes, range: 0..<bytes.count, file: file, path: "ModelProto")
        var charsmap: [UInt8] = []
        while let (field, wire) = try top.nextKey() {
            switch field {
            case 1:
                let range = try top.lengthDelimited(field: field, wire: wire, name: "pieces")
                guard pieces.count < TokenizerJSON.maxVocabularySize else {
                    throw top.error("pieces", "more than \(TokenizerJSON.maxVocabularySize) pieces")
                }
                pieces.append(try Self.piece(bytes, range, file: file, index: pieces.count))
            case 3:
                // normalizer_spec: occurrences of an embedded message merge, so the last charsmap seen wins.
                let range = try top.lengthDelimited(field: field, wire: wire, name: "normalizer_spec")
                var spec = WireReader(bytes: bytes, range: range, file: file, path: "normalizer_spec")
                while let (f, w) = try spec.nextKey() {
                    if f == 2 {
                        let r = try spec.lengthDelimited(field: f, wire: w, name: "precompiled_charsmap")
                        charsmap = Array(bytes[r])
                    } else {
                        try spec.skip(wire: w, field: f)
                    }
                }
            default:
                try top.skip(wire: wire, field: field)
            }
        }
        precompiledCharsmap = charsmap.isEmpty ? nil : charsmap
    }

    private static func piece(_ bytes: [UInt8], _ range: Range<Int>, file: String, index: Int) throws -> Piece {
        let path = "pieces[\(index)]"
        var r = WireReader(bytes: bytes, range: range, file: file, path: path)
        var piece = Piece(bytes: [], score: 0, type: PieceType.normal.rawValue)
        while let (field, wire) = try r.nextKey() {
            switch field {
            case 1:
                let s = try r.lengthDelimited(field: field, wire: wire, name: "piece")
                guard s.count <= Unigram.maxPieceBytes else {
                    throw r.error("piece", "\(s.count) bytes, above the limit of \(Unigram.maxPieceBytes)")
                }
                guard String(validating: bytes[s], as: UTF8.self) != nil else { throw r.error("piece", "invalid UTF-8") }
                piece.bytes = Array(bytes[s])
            case 2:
                guard wire == 5 else { throw r.error("score", "wire type \(wire), expected 5 (32-bit float)") }
                let score = Float(bitPattern: try r.fixed32())
                guard score.isFinite else { throw r.error("score", "not finite") }
                piece.score = score
            case 3:
                guard wire == 0 else { throw r.error("type", "wire type \(wire), expected 0 (varint)") }
                // An enum is an int32 on the wire: a negative value is sign-extended to 64 bits.
                piece.type = Int(Int32(truncatingIfNeeded: try r.varint()))
            default:
                try r.skip(wire: wire, field: field)
            }
        }
        return piece
    }
}

/// Protobuf wire-format reading over one message's byte range.
private struct WireReader {
    let bytes: [UInt8]
    var position: Int
    let end: Int
    let file: String
    let path: String

    init(bytes: [UInt8], range: Range<Int>, file: String, path: String) {
        self.bytes = bytes
        position = range.lowerBound
        end = range.upperBound
        self.file = file
        self.path = path
    }

    func error(_ field: String, _ reason: String) -> TokenizerError {
        TokenizerError.invalidField(file: file, field: "\(path).\(field)", reason: reason)
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end else { throw error("(varint)", "truncated at byte \(position)") }
            let b = bytes[position]
            position += 1
            guard shift < 64, shift < 63 || b & 0x7F <= 1 else { throw error("(varint)", "longer than 10 bytes at byte \(position - 1)") }
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextKey() throws -> (Int, Int)? {
        guard position < end else { return nil }
        let key = try varint()
        let field = key >> 3
        guard field >= 1, field <= 536_870_911 else { throw error("(key)", "field number \(field) at byte \(position)") }
        return (Int(field), Int(key & 7))
    }

    mutating func fixed32() throws -> UInt32 {
        guard end - position >= 4 else { throw error("(fixed32)", "truncated at byte \(position)") }
        let v = UInt32(bytes[position]) | UInt32(bytes[position + 1]) << 8 | UInt32(bytes[position + 2]) << 16
            | UInt32(bytes[position + 3]) << 24
        position += 4
        return v
    }

    mutating func lengthDelimited(field: Int, wire: Int, name: String) throws -> Range<Int> {
        guard wire == 2 else { throw error(name, "wire type \(wire), expected 2 (length-delimited)") }
        return try bytesRange(name)
    }

    private mutating func bytesRange(_ name: String) throws -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(end - position) else {
            throw error(name, "length \(n) runs past the end of the message (\(end - position) bytes left)")
        }
        let r = position..<(position + Int(n))
        position += Int(n)
        return r
    }

    /// Skips an unknown field. Groups (wire types 3 and 4) are refused: no SentencePiece field uses them.
    mutating func skip(wire: Int, field: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard end - position >= 8 else { throw error("field \(field)", "truncated at byte \(position)") }
            position += 8
        case 2: _ = try bytesRange("field \(field)")
        case 5: _ = try fixed32()
        default: throw error("field \(field)", "unsupported wire type \(wire)")
        }
    }
}
