/// tokenizers `models::wordpiece::WordPiece`: greedy longest-prefix match from the left; pieces after
/// the first carry `continuingSubwordPrefix`. A word longer than `maxInputCharsPerWord` scalars, or one
/// that cannot be covered entirely, becomes the single unk token.
struct WordPiece: Sendable {
    let vocab: [ByteString: Int32]
    let unkToken: String
    let unkID: Int32
    let continuingSubwordPrefix: String
    let maxInputCharsPerWord: Int
    /// Longest entry without / after the continuing-subword prefix, in scalars; bounds the candidates.
    let maxFirstScalars: Int
    let maxContinuationScalars: Int
    private let prefixBytes: [UInt8]

    init(vocab: [ByteString: Int32], unkToken: String, continuingSubwordPrefix: String,
         maxInputCharsPerWord: Int) throws {
        guard let unkID = vocab[ByteString(unkToken)] else {
            throw TokenizerError.missingUnknownToken(token: unkToken)
        }
        self.vocab = vocab
        self.unkToken = unkToken
        self.unkID = unkID
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.prefixBytes = Array(continuingSubwordPrefix.utf8)
        var first = 0
        var continuation = 0
        let prefixScalars = continuingSubwordPrefix.unicodeScalars.count
        for key in vocab.keys {
            var n = 0
            for b in key.bytes where b & 0xC0 != 0x80 { n += 1 }
            first = max(first, n)
            if !prefixBytes.isEmpty && key.bytes.starts(with: prefixBytes) {
                continuation = max(continuation, n - prefixScalars)
            }
        }
        self.maxFirstScalars = first
        self.maxContinuationScalars = prefixBytes.isEmpty ? first : continuation
    }

    /// Appends the ids of `word` to `ids`.
    func tokenize(_ word: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        let n = word.count
        if n == 0 { return }
        if n > maxInputCharsPerWord {
            ids.append(unkID)
            return
        }
        // UTF-8 of the word and the byte offset of every scalar boundary.
        var utf8: [UInt8] = []
        utf8.reserveCapacity(n * 2)
        var boundary: [Int] = [0]
        boundary.reserveCapacity(n + 1)
        for s in word {
            ByteString.appendUTF8(s, to: &utf8)
            boundary.append(utf8.count)
        }
        let firstPiece = ids.count
        var key = ByteString([])
        key.bytes.reserveCapacity(prefixBytes.count + utf8.count)
        var start = 0
        while start < n {
            var end = min(n, start + (start == 0 ? maxFirstScalars : maxContinuationScalars))
            var found: Int32? = nil
            while end > start {
                key.bytes.removeAll(keepingCapacity: true)
                if start > 0 { key.bytes.append(contentsOf: prefixBytes) }
                key.bytes.append(contentsOf: utf8[boundary[start]..<boundary[end]])
                if let id = vocab[key] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeSubrange(firstPiece...)
                ids.append(unkID)
                return
            }
            ids.append(id)
            start = end
        }
    }
}
