import Foundation
@testable import CETokenizers

/// A small WordPiece tokenizer.json. The expected ids in these tests were recorded by loading the same
/// JSON (with the same tokenizer_config.json) in transformers 5.23.0 / tokenizers 0.23.3.
enum TinyTokenizer {
    static let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "un", "##aff", "##able",
                        "cafe", "café", "!", "?", ".", ",", "a", "b", "##a", "##b", "中", "文", "new", "##word", "the",
                        "Hello", "i", "##\u{307}", "naive", "ba", "##na"]

    static func addedToken(_ id: Int, _ content: String, singleWord: Bool = false, lstrip: Bool = false,
                           rstrip: Bool = false, normalized: Bool = false, special: Bool = true) -> [String: Any] {
        ["id": id, "content": content, "single_word": singleWord, "lstrip": lstrip, "rstrip": rstrip,
         "normalized": normalized, "special": special]
    }

    static var template: [String: Any] { [
        "type": "TemplateProcessing",
        "single": [["SpecialToken": ["id": "[CLS]", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                   ["SpecialToken": ["id": "[SEP]", "type_id": 0]]],
        "pair": [["SpecialToken": ["id": "[CLS]", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                 ["SpecialToken": ["id": "[SEP]", "type_id": 0]], ["Sequence": ["id": "B", "type_id": 1]],
                 ["SpecialToken": ["id": "[SEP]", "type_id": 1]]],
        "special_tokens": ["[CLS]": ["id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]],
                           "[SEP]": ["id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]]],
    ] }

    static func json(lowercase: Bool = true, extraAdded: [[String: Any]] = [], normalizer: Any? = nil,
                     preTokenizer: Any? = nil, postProcessor: Any? = nil, maxChars: Int = 100,
                     modelType: String = "WordPiece") -> [String: Any] {
        var added = (0..<5).map { addedToken($0, vocab[$0]) }
        added += extraAdded
        var v: [String: Int] = [:]
        for (i, t) in vocab.enumerated() { v[t] = i }
        return [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": added,
            "normalizer": normalizer ?? ["type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                                         "strip_accents": NSNull(), "lowercase": lowercase],
            "pre_tokenizer": preTokenizer ?? ["type": "BertPreTokenizer"],
            "post_processor": postProcessor ?? template,
            "decoder": NSNull(),
            "model": ["type": modelType, "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": maxChars, "vocab": v],
        ]
    }

    static func data(_ object: Any) -> Data {
        try! JSONSerialization.data(withJSONObject: object)
    }

    /// tokenizer_config.json of a class that keeps tokenizer.json as is (transformers TokenizersBackend).
    static let backendConfig = data(["tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "[PAD]"])

    static func make(_ json: [String: Any], config: Data? = backendConfig) throws -> Tokenizer {
        try Tokenizer(tokenizerJSON: data(json), tokenizerConfigJSON: config)
    }
}
