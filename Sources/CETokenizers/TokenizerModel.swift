/// The tokenizer.json "model" stage.
enum TokenizerModel: Sendable {
    case wordPiece(WordPiece)
    case bpe(BPE)
    case unigram(Unigram)

    /// token -> id (tokenizers `Model::token_to_id`), compared byte for byte.
    func tokenToID(_ token: ByteString) -> Int32? {
        switch self {
        case .wordPiece(let m): return m.tokenToID(token.bytes)
        case .bpe(let m): return m.vocab[token]
        case .unigram(let m): return m.tokenToID(token)
        }
    }

    /// tokenizers `Model::get_vocab_size`: the map's size, except Unigram, which counts its pieces (duplicates too).
    var vocabSize: Int {
        switch self {
        case .wordPiece(let m): return m.vocabSize
        case .bpe(let m): return m.vocab.count
        case .unigram(let m): return m.pieces.count
        }
    }

    /// Distinct tokens of the model's map (what the map of `get_vocab` holds).
    var distinctTokens: Int {
        switch self {
        case .wordPiece(let m): return m.vocabSize
        case .bpe(let m): return m.vocab.count
        case .unigram(let m): return m.distinctPieces
        }
    }

    @inline(__always)
    func tokenize(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) throws {
        switch self {
        case .wordPiece(let m): m.tokenize(word, into: &ids)
        case .bpe(let m): try m.tokenize(word, into: &ids)
        case .unigram(let m): try m.tokenize(word, into: &ids)
        }
    }
}
