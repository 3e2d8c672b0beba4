import CProtobufC
import CSentencePieceProto
#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif

/// The parts of a SentencePiece model file (`sentencepiece.bpe.model`, protobuf `sentencepiece.ModelProto`) that
/// transformers reads when it builds XLMRobertaTokenizer without tokenizer.json: the pieces with their scores and
/// types, and the normalizer's Precompiled charsmap. See formats/tokenizer.md, "SentencePiece model files".
///
/// Decoded by the protobuf-c code generated from the upstream sentencepiece_model.proto (Sources/CSentencePieceProto,
/// scripts/gen_protobuf.sh). Limits: the decoder allocates through a budget (`maxDecodedBytes`), so a small file cannot
/// make it allocate without bound; at most `TokenizerJSON.maxVocabularySize` pieces of at most `Unigram.maxPieceBytes`
/// bytes each. A file protobuf-c refuses (truncated varint or field, a length past the end, a group, a known field with
/// the wrong wire type, a field number 0, …) is an `invalidField` error on `ModelProto`; invalid UTF-8 in a piece and a
/// non-finite score are `invalidField` errors naming the piece.
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
    /// DebertaV2Tokenizer's SentencePiece model file.
    static let debertaV2File = "spm.model"
    /// The most the decoder may allocate for one file: decoded pieces cost about 80 bytes each beyond their text,
    /// so the largest vocabulary admitted (4,000,000 pieces) fits with room to spare.
    static let maxDecodedBytes = 1 << 30

    var pieces: [Piece] = []
    /// `normalizer_spec.precompiled_charsmap`; nil when the field is absent or empty (an `identity` normalizer).
    var precompiledCharsmap: [UInt8]?

    init(data: Data, file: String = SentencePieceModel.file) throws {
        func error(_ field: String, _ reason: String) -> TokenizerError {
            TokenizerError.invalidField(file: file, field: field, reason: reason)
        }
        let budget = AllocationBudget(limit: Self.maxDecodedBytes)
        let decoded = withExtendedLifetime(budget) {
            data.withUnsafeBytes { raw in
                budget.withAllocator { sentencepiece__model_proto__unpack($0, raw.count, raw.baseAddress?.assumingMemoryBound(to: UInt8.self)) }
            }
        }
        guard let m = decoded else {
            throw error("ModelProto", budget.exceeded
                        ? "decoding needs more than \(Self.maxDecodedBytes) bytes of memory"
                        : "not a valid protobuf sentencepiece.ModelProto (protobuf-c refused it)")
        }
        defer { budget.withAllocator { sentencepiece__model_proto__free_unpacked(m, $0) } }
        guard m.pointee.n_pieces <= TokenizerJSON.maxVocabularySize else {
            throw error("ModelProto.pieces", "more than \(TokenizerJSON.maxVocabularySize) pieces")
        }
        pieces.reserveCapacity(m.pointee.n_pieces)
        for i in 0..<m.pointee.n_pieces {
            guard let p = m.pointee.pieces[i] else { continue }
            var piece = Piece(bytes: [], score: 0, type: PieceType.normal.rawValue)
            if let s = p.pointee.piece {
                let n = strlen(s)
                guard n <= Unigram.maxPieceBytes else {
                    throw error("pieces[\(i)].piece", "\(n) bytes, above the limit of \(Unigram.maxPieceBytes)")
                }
                piece.bytes = Array(UnsafeRawBufferPointer(start: s, count: n))
                guard String(validating: piece.bytes, as: UTF8.self) != nil else { throw error("pieces[\(i)].piece", "invalid UTF-8") }
            }
            if p.pointee.has_score != 0 {
                guard p.pointee.score.isFinite else { throw error("pieces[\(i)].score", "not finite") }
                piece.score = p.pointee.score
            }
            if p.pointee.has_type != 0 { piece.type = Int(Int32(truncatingIfNeeded: p.pointee.type.rawValue)) }
            pieces.append(piece)
        }
        if let spec = m.pointee.normalizer_spec, spec.pointee.has_precompiled_charsmap != 0, spec.pointee.precompiled_charsmap.len > 0 {
            precompiledCharsmap = Array(UnsafeRawBufferPointer(start: spec.pointee.precompiled_charsmap.data, count: spec.pointee.precompiled_charsmap.len))
        }
    }
}

/// A protobuf-c allocator that refuses (returns NULL, which makes unpack fail) once `limit` bytes are live.
private final class AllocationBudget {
    let limit: Int
    private(set) var live = 0
    private(set) var exceeded = false

    init(limit: Int) { self.limit = limit }

    func withAllocator<R>(_ body: (UnsafeMutablePointer<ProtobufCAllocator>) -> R) -> R {
        var allocator = ProtobufCAllocator(
            alloc: { data, size in
                let b = Unmanaged<AllocationBudget>.fromOpaque(data!).takeUnretainedValue()
                let header = 16
                guard size <= b.limit - b.live - header, let p = malloc(size + header) else { b.exceeded = true; return nil }
                b.live += size + header
                p.storeBytes(of: size + header, as: Int.self)
                return p + header
            },
            free: { data, pointer in
                guard let pointer else { return }
                let b = Unmanaged<AllocationBudget>.fromOpaque(data!).takeUnretainedValue()
                let p = pointer - 16
                b.live -= p.load(as: Int.self)
                free(p)
            },
            allocator_data: Unmanaged.passUnretained(self).toOpaque())
        return body(&allocator)
    }
}
