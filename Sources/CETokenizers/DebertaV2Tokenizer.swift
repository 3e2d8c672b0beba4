/// transformers 5.23's DebertaV2Tokenizer.__init__ (tokenization_deberta_v2.py): whatever tokenizer.json holds besides
/// its Unigram vocabulary, the pipeline is rebuilt as Replace(`\s{2,}|[\n\r\t]` -> " ") (after Lowercase when
/// do_lower_case), NFC, Strip(right); Punctuation(isolated) when split_by_punct, then Metaspace("▁", always, or first
/// when add_prefix_space is false); Unigram(unk id: the first (unk_token, 0.0) entry, else `unk_id`, default 1;
/// no byte fallback); `[CLS]:0 $A:0 [SEP]:0` / `… $B:1 [SEP]:1`. From spm.model alone the vocabulary is the
/// SentencePiece pieces in order with their scores (SentencePieceExtractor; no converter reorders them), and the
/// model's charsmap is not used.
extension TransformersLoader {
    /// DebertaV2Tokenizer.__init__ defaults.
    static let debertaV2Defaults: [String: String] = [
        "bos_token": "[CLS]", "eos_token": "[SEP]", "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]",
        "cls_token": "[CLS]", "mask_token": "[MASK]",
    ]

    static func debertaV2Pipeline(_ sources: Sources, _ special: SpecialTokens) throws -> Pipeline {
        let pieces: [(bytes: [UInt8], score: Double)]
        if let sentencePiece = sources.sentencePiece {
            pieces = sentencePiece.pieces.map { ($0.bytes, Double($0.score)) }
        } else {
            let m = try rebuildModel(sources.tokenizerJSON, expected: "Unigram", className: sources.className ?? "DebertaV2Tokenizer")
            pieces = try TokenizerJSON.unigramPieces(m["vocab"], field: "model.vocab")
        }
        let unk = Array((special.content("unk_token") ?? "[UNK]").utf8)
        var unkID = 1
        if let v = sources.config["unk_id"], !v.isNull {
            guard let i = v.intValue else { throw TokenizerError.invalidField(file: configFile, field: "unk_id", reason: "not an integer") }
            unkID = i
        }
        if let i = pieces.firstIndex(where: { $0.bytes == unk && $0.score == 0 }) { unkID = i }
        guard unkID >= 0, unkID < pieces.count else {
            throw TokenizerError.invalidField(file: configFile, field: "unk_id", reason: "\(unkID) is outside the \(pieces.count) pieces")
        }
        let model = TokenizerModel.unigram(try Unigram(pieces: pieces, unkID: unkID, byteFallback: false))
        var normalizers: [Normalizer] = []
        if try configBool(sources.config, "do_lower_case", default: false) { normalizers.append(.lowercase) }
        normalizers += [.collapseWhitespace(content: [" "]), .nfc, .strip(left: false, right: true)]
        var preTokenizers: [PreTokenizer] = []
        if try configBool(sources.config, "split_by_punct", default: false) { preTokenizers.append(.punctuation(.isolated)) }
        let prefix = try configBool(sources.config, "add_prefix_space", default: true)
        preTokenizers.append(.metaspace(replacement: "\u{2581}", prependScheme: prefix ? .always : .first, split: true))
        return Pipeline(normalizer: .sequence(normalizers), preTokenizer: .sequence(preTokenizers), model: model)
    }

    /// `[CLS]:0 $A:0 [SEP]:0` and `[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1`, with the cls and sep tokens' ids (0 when unknown).
    static func debertaV2PostProcessor(_ special: SpecialTokens, vocabulary: AddedVocabularyBuilder, model: TokenizerModel) -> PostProcessor {
        func id(_ key: String, _ fallback: String) -> Int32 { vocabulary.tokenToID(special.content(key) ?? fallback, model: model) ?? 0 }
        let cls = TemplatePiece.special(ids: [id("cls_token", "[CLS]")], typeID: 0)
        let sep = id("sep_token", "[SEP]")
        return PostProcessor(single: [cls, .sequence(second: false, typeID: 0), .special(ids: [sep], typeID: 0)],
                             pair: [cls, .sequence(second: false, typeID: 0), .special(ids: [sep], typeID: 0),
                                    .sequence(second: true, typeID: 1), .special(ids: [sep], typeID: 1)])
    }
}

extension Normalizer {
    /// `collapseWhitespace`: tokenizers Replace with the Regex `\s{2,}|[\n\r\t]`, leftmost first: a run of two or more
    /// whitespace scalars (`char::is_whitespace`, as onig's `\s`) becomes `content`, and so does a lone \n, \r or \t.
    static func collapsingWhitespace(_ s: [Unicode.Scalar], with content: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            var j = i
            while j < s.count && CharClasses.isWhitespace(s[j]) { j += 1 }
            if j - i >= 2 || (j - i == 1 && (s[i] == "\n" || s[i] == "\r" || s[i] == "\t")) {
                out.append(contentsOf: content)
                i = j
            } else {
                out.append(s[i])
                i += 1
            }
        }
        return out
    }

    /// The Regex of `collapseWhitespace` as tokenizer.json spells it.
    static let collapseWhitespacePattern = "\\s{2,}|[\\n\\r\\t]"
}
