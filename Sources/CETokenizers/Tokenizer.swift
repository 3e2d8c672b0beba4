#if canImport(FoundationEssentials)
import FoundationEssentials
import Glibc
#else
import Foundation
#endif
import CECore

/// A WordPiece, byte-level BPE or Unigram tokenizer that gives the ids, type ids and attention masks of transformers 5
/// `tokenizer(texts_a, texts_b, padding=True, truncation=True, max_length=N)` (HF tokenizers backend).
/// See formats/tokenizer.md. Immutable after init.
public final class Tokenizer: @unchecked Sendable {
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: TokenizerModel
    let added: AddedVocabulary
    let postProcessor: PostProcessor
    /// transformers `truncation_side == "left"`: keep the end of each sequence.
    let truncateLeft: Bool
    let flavor: TokenizerFlavor
    private let addedIDs: [ByteString: Int32]
    private let padID: Int32?

    /// tokenizer_config.json `model_max_length` (or `max_len`); nil when absent or the "unset" sentinel (> 1e6).
    public let modelMaxLength: Int?
    /// HF `len(tokenizer)`: distinct tokens of the model vocabulary and the added vocabulary.
    public let vocabularySize: Int
    /// transformers `padding_side` ("right" or "left"). `BatchEncoding` is always right-padded; a caller
    /// that must reproduce left padding has to shift rows itself.
    public let paddingSide: String
    /// transformers `model_input_names` (tokenizer_config.json, else the tokenizer class's default).
    public let modelInputNames: [String]
    /// Whether transformers returns token_type_ids for this tokenizer. When it does not
    /// (TokenizersBackend / PreTrainedTokenizerFast, DistilBertTokenizer), the model runs with its default
    /// all-zero token types, so `Encoding.typeIDs` are all 0 too.
    public var returnsTokenTypeIDs: Bool { modelInputNames.contains("token_type_ids") }

    /// The pad token's id; 0 when the tokenizer has no pad token (see `hasPadToken`).
    public var padTokenID: Int32 { padID ?? 0 }
    public var hasPadToken: Bool { padID != nil }

    /// Special tokens the post-processor adds around one sequence / a pair (BERT: 2 / 3).
    public var specialTokenCount: (single: Int, pair: Int) {
        (postProcessor.addedTokens(pair: false), postProcessor.addedTokens(pair: true))
    }

    /// Loads tokenizer.json (+ tokenizer_config.json, special_tokens_map.json, config.json), or, without
    /// tokenizer.json, vocab.txt + tokenizer_config.json (+ special_tokens_map.json, added_tokens.json).
    public static func load(directory: URL) throws -> Tokenizer {
        let files = try TokenizerFiles.load(directory: directory)
        PhaseTrace.mark("tokenizer files parsed")
        return try Tokenizer(files: files)
    }

    public convenience init(tokenizerJSON: Data, tokenizerConfigJSON: Data?) throws {
        try self.init(files: TokenizerFiles(tokenizerJSON: tokenizerJSON, tokenizerConfigJSON: tokenizerConfigJSON))
    }

    public init(files: TokenizerFiles) throws {
        let built = try TransformersLoader.build(files)
        normalizer = built.normalizer
        preTokenizer = built.preTokenizer
        model = built.model
        added = built.added
        postProcessor = built.postProcessor
        truncateLeft = built.truncateLeft
        flavor = built.flavor
        addedIDs = built.addedIDs
        padID = built.padTokenID
        modelMaxLength = built.modelMaxLength
        vocabularySize = built.vocabularySize
        modelInputNames = built.modelInputNames
        paddingSide = built.paddingSide
    }

    /// The id of a token string (added tokens first, then the model vocabulary), compared byte-wise.
    public func tokenID(_ token: String) -> Int32? { AddedVocabularyBuilder.tokenToID(token, added: addedIDs, model: model) }

    // MARK: encoding

    /// The single-sequence template (BERT `[CLS] text [SEP]`, RoBERTa/XLM-R `<s> text </s>`), truncated to
    /// `maxLength` tokens in total (nil: no truncation).
    public func encode(_ text: String, maxLength: Int?) throws -> Encoding {
        var ids = try encodeSequence(text)
        if let maxLength {
            let budget = try budget(maxLength, pair: false)
            let (keep, _) = Truncation.longestFirst(first: ids.count, second: nil, maxLength: budget)
            ids = Truncation.keep(ids, keep, fromLeft: truncateLeft)
        }
        return finish(postProcessor.apply(first: ids, second: nil))
    }

    /// The pair template (BERT `[CLS] first [SEP] second [SEP]` with type ids 0 / 1, RoBERTa/XLM-R
    /// `<s> first </s></s> second </s>` all 0), pair-truncated `longest_first` to
    /// `maxLength` tokens in total (nil: no truncation).
    public func encode(_ first: String, _ second: String, maxLength: Int?) throws -> Encoding {
        var a = try encodeSequence(first)
        var b = try encodeSequence(second)
        if let maxLength {
            let budget = try budget(maxLength, pair: true)
            let (k1, k2) = Truncation.longestFirst(first: a.count, second: b.count, maxLength: budget)
            a = Truncation.keep(a, k1, fromLeft: truncateLeft)
            b = Truncation.keep(b, k2 ?? b.count, fromLeft: truncateLeft)
        }
        return finish(postProcessor.apply(first: a, second: b))
    }

    private func finish(_ e: Encoding) -> Encoding {
        if returnsTokenTypeIDs { return e }
        var z = e
        z.typeIDs = [Int32](repeating: 0, count: e.typeIDs.count)
        return z
    }

    /// Encodes every pair and right-pads to the longest row (HF `padding=True`).
    public func encodeBatch(_ pairs: [(String, String)], maxLength: Int?) throws -> BatchEncoding {
        try pad(pairs.map { try encode($0.0, $0.1, maxLength: maxLength) })
    }

    /// Encodes every single text and right-pads to the longest row.
    public func encodeBatch(_ texts: [String], maxLength: Int?) throws -> BatchEncoding {
        try pad(texts.map { try encode($0, maxLength: maxLength) })
    }

    /// Right-pads encodings to the longest one: pad id, type id 0, attention mask 0.
    /// Throws `missingPadToken` without a pad token, as transformers does for `padding=True`.
    public func pad(_ encodings: [Encoding]) throws -> BatchEncoding {
        guard padID != nil else { throw TokenizerError.missingPadToken }
        let lengths = encodings.map(\.ids.count)
        let width = lengths.max() ?? 0
        let total = encodings.count * width
        var ids = [Int32](repeating: padTokenID, count: total)
        var types = [Int32](repeating: 0, count: total)
        var mask = [Int32](repeating: 0, count: total)
        for (row, e) in encodings.enumerated() {
            let base = row * width
            for j in 0..<e.ids.count {
                ids[base + j] = e.ids[j]
                types[base + j] = e.typeIDs[j]
                mask[base + j] = e.attentionMask[j]
            }
        }
        return BatchEncoding(batchSize: encodings.count, sequenceLength: width, ids: ids, typeIDs: types,
                             attentionMask: mask, lengths: lengths)
    }

    /// Token budget for the sequences once the template's special tokens are counted.
    private func budget(_ maxLength: Int, pair: Bool) throws -> Int {
        let specials = postProcessor.addedTokens(pair: pair)
        guard maxLength >= specials else {
            throw TokenizerError.maxLengthTooSmall(maxLength: maxLength, specialTokens: specials)
        }
        return maxLength - specials
    }

    /// Ids of one text without special tokens: added-token split on the raw text, normalization of the
    /// pieces between, added-token split on the normalized pieces, pre-tokenization, the model.
    func encodeSequence(_ text: String) throws -> [Int32] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int32] = []
        ids.reserveCapacity(scalars.count / 3 + 4)
        let rewrites = preTokenizer?.rewritesText ?? false
        for piece in added.splitRaw(scalars) {
            switch piece {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                if range.isEmpty { continue }
                let raw = Array(scalars[range])
                let normalized = normalizer?.normalize(raw) ?? raw
                if normalized.isEmpty { continue }
                // Whether normalized[0] sits at original offset 0 (Metaspace prepend_scheme "first").
                let atOrigin = range.lowerBound == 0 && !(normalizer?.deletesFirst(raw) ?? false)
                for sub in added.splitNormalized(normalized) {
                    switch sub {
                    case .token(let id):
                        ids.append(id)
                    case .text(let r):
                        if r.isEmpty { continue }
                        if let preTokenizer, rewrites {
                            let start = PreTokenizer.Word(scalars: Array(normalized[r]), atOrigin: atOrigin && r.lowerBound == 0)
                            for w in preTokenizer.apply([start]) where !w.scalars.isEmpty {
                                try model.tokenize(w.scalars[...], into: &ids)
                            }
                        } else {
                            let words = preTokenizer?.split(normalized, [r]) ?? [r]
                            for w in words where !w.isEmpty { try model.tokenize(normalized[w], into: &ids) }
                        }
                    }
                }
            }
        }
        return ids
    }
}
