import CECore
import XCTest
@testable import CETokenizers

/// End-to-end cases on the tiny tokenizer. Expected ids / type ids: transformers 5.23.0 +
/// tokenizers 0.23.3, `tok([a], [b], padding=True, truncation=..., max_length=...)`.
final class TokenizerTests: XCTestCase {
    func testBackendPipeline() throws {
        let t = try TinyTokenizer.make(TinyTokenizer.json())
        XCTAssertEqual(try t.encode("Hello world!", maxLength: nil).ids, [2, 5, 6, 13, 3])
        XCTAssertEqual(try t.encode("Café naïve", maxLength: nil).ids, [2, 11, 29, 3])
        XCTAssertEqual(try t.encode("İ", maxLength: nil).ids, [2, 27, 3])
        XCTAssertEqual(try t.encode("中文new", maxLength: nil).ids, [2, 21, 22, 23, 3])
        XCTAssertEqual(try t.encode("a\u{0}b\u{200B}\tc", maxLength: nil).ids, [2, 17, 20, 1, 3])
        XCTAssertEqual(try t.encode("banana nanana", maxLength: nil).ids, [2, 30, 31, 31, 1, 3])
        XCTAssertEqual(try t.encode("newword newwords", maxLength: nil).ids, [2, 23, 24, 23, 24, 7, 3])
        let long = try t.encode(String(repeating: "a", count: 100) + " " + String(repeating: "a", count: 101), maxLength: nil)
        XCTAssertEqual(long.ids, [2, 17] + [Int32](repeating: 19, count: 99) + [1, 3])
    }

    func testPairTypesAndTruncation() throws {
        let t = try TinyTokenizer.make(TinyTokenizer.json())
        let e = try t.encode("hello worlds", "unaffable cafe", maxLength: nil)
        XCTAssertEqual(e.ids, [2, 5, 6, 7, 3, 8, 9, 10, 11, 3])
        // PreTrainedTokenizerFast does not return token_type_ids: the model sees zeros.
        XCTAssertFalse(t.returnsTokenTypeIDs)
        XCTAssertEqual(e.typeIDs, [Int32](repeating: 0, count: 10))
        XCTAssertEqual(try t.encode("hello world hello world", "a b a b a b", maxLength: 7).ids, [2, 5, 6, 3, 17, 18, 3])
        XCTAssertEqual(try t.encode("", "", maxLength: nil).ids, [2, 3, 3])
    }

    func testBertClassRebuildsTheNormalizer() throws {
        // tokenizer.json says lowercase=false; transformers' BertTokenizer ignores it (do_lower_case defaults to true).
        let json = TinyTokenizer.json(lowercase: false)
        let bert = try TinyTokenizer.make(json, config: TinyTokenizer.data(["tokenizer_class": "BertTokenizer"]))
        XCTAssertEqual(try bert.encode("Hello HELLO hello", maxLength: nil).ids, [2, 5, 5, 5, 3])
        XCTAssertEqual(try bert.encode("Café", maxLength: nil).ids, [2, 11, 3])
        XCTAssertTrue(bert.returnsTokenTypeIDs)
        XCTAssertEqual(try bert.encode("a", "b", maxLength: nil).typeIDs, [0, 0, 0, 1, 1])
        let backend = try TinyTokenizer.make(json)
        XCTAssertEqual(try backend.encode("Hello HELLO hello", maxLength: nil).ids, [2, 26, 1, 5, 3])
        XCTAssertEqual(try backend.encode("Café", maxLength: nil).ids, [2, 1, 3])
        let cased = try TinyTokenizer.make(json, config: TinyTokenizer.data(["tokenizer_class": "BertTokenizerFast",
                                                                            "do_lower_case": false]))
        XCTAssertEqual(try cased.encode("Hello HELLO hello", maxLength: nil).ids, [2, 26, 1, 5, 3])
    }

    func testOtherStages() throws {
        let json = TinyTokenizer.json(
            normalizer: ["type": "Sequence", "normalizers": [["type": "NFD"], ["type": "StripAccents"], ["type": "Lowercase"],
                                                             ["type": "Strip", "strip_left": true, "strip_right": true]]],
            preTokenizer: ["type": "Sequence", "pretokenizers": [["type": "WhitespaceSplit"],
                                                                  ["type": "Punctuation", "behavior": "Isolated"]]],
            postProcessor: ["type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]], maxChars: 5)
        let t = try TinyTokenizer.make(json)
        XCTAssertEqual(try t.encode("  Café, Naïve!  ", maxLength: nil).ids, [2, 11, 16, 29, 13, 3])
        XCTAssertEqual(try t.encode("hello worlds", "b", maxLength: nil).ids, [2, 5, 1, 3, 18, 3])
        XCTAssertEqual(try t.encode("helloo", maxLength: nil).ids, [2, 1, 3])
    }

    /// tokenizers 0.23.3: Sequence[ByteLevel, Template] -> [2, 5, 6, 3, 17, 18, 3] / [0, 0, 0, 0, 1, 1, 1];
    /// ByteLevel alone -> [5, 6, 17, 18] / [0, 0, 1, 1].
    func testPostProcessorSequenceAndByteLevel() throws {
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let seq = try TinyTokenizer.make(TinyTokenizer.json(postProcessor: ["type": "Sequence", "processors": [byteLevel, TinyTokenizer.template]]),
                                         config: TinyTokenizer.data(["tokenizer_class": "PreTrainedTokenizerFast", "model_input_names": ["input_ids", "token_type_ids"]]))
        let e = try seq.encode("hello world", "a b", maxLength: nil)
        XCTAssertEqual(e.ids, [2, 5, 6, 3, 17, 18, 3])
        XCTAssertEqual(e.typeIDs, [0, 0, 0, 0, 1, 1, 1])
        let plain = try TinyTokenizer.make(TinyTokenizer.json(postProcessor: byteLevel),
                                           config: TinyTokenizer.data(["tokenizer_class": "PreTrainedTokenizerFast", "model_input_names": ["input_ids", "token_type_ids"]]))
        let p = try plain.encode("hello world", "a b", maxLength: nil)
        XCTAssertEqual(p.ids, [5, 6, 17, 18])
        XCTAssertEqual(p.typeIDs, [0, 0, 1, 1])
        XCTAssertEqual(plain.specialTokenCount.pair, 0)
    }

    /// Expected batch: transformers 5.23.0 `tok(["hello", "a b a"], ["world", "b a b a"], padding=True)`.
    func testBatchPadding() throws {
        let t = try TinyTokenizer.make(TinyTokenizer.json(), config: TinyTokenizer.data(["tokenizer_class": "BertTokenizer"]))
        let b = try t.encodeBatch([("hello", "world"), ("a b a", "b a b a")], maxLength: nil)
        XCTAssertEqual(b.batchSize, 2)
        XCTAssertEqual(b.sequenceLength, 10)
        XCTAssertEqual(b.lengths, [5, 10])
        XCTAssertEqual(b.ids, [2, 5, 3, 6, 3, 0, 0, 0, 0, 0, 2, 17, 18, 17, 3, 18, 17, 18, 17, 3])
        XCTAssertEqual(b.typeIDs, [0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
        XCTAssertEqual(b.attentionMask, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(b.row(1), try t.encode("a b a", "b a b a", maxLength: nil))
        XCTAssertEqual(t.padTokenID, 0)
        let empty = try t.encodeBatch([(String, String)](), maxLength: 8)
        XCTAssertEqual(empty.batchSize, 0)
        XCTAssertEqual(empty.ids, [])
    }

    func testVocabTxtFallback() throws {
        let vocab = Data((TinyTokenizer.vocab.joined(separator: "\n") + "\n").utf8)
        let t = try Tokenizer(files: TokenizerFiles(vocabTXT: vocab, tokenizerConfigJSON: TinyTokenizer.data(
            ["do_lower_case": false, "model_max_length": 512, "tokenizer_class": "BertTokenizer"])))
        XCTAssertEqual(try t.encode("Hello hello", "Café", maxLength: nil).ids, [2, 26, 5, 3, 1, 3])
        XCTAssertEqual(t.modelMaxLength, 512)
        XCTAssertEqual(t.vocabularySize, TinyTokenizer.vocab.count)
    }

    func testModelMaxLengthSentinel() throws {
        let huge = try TinyTokenizer.make(TinyTokenizer.json(), config: Data(#"{"model_max_length": 1000000000000000019884624838656}"#.utf8))
        XCTAssertNil(huge.modelMaxLength)
        let set = try TinyTokenizer.make(TinyTokenizer.json(), config: Data(#"{"model_max_length": 256}"#.utf8))
        XCTAssertEqual(set.modelMaxLength, 256)
    }

    func testLeftTruncation() throws {
        // all-MiniLM-L6-v2 with truncation_side="left": "a b a b a" / "b a b a", max_length 7 -> [CLS] b a [SEP] b a [SEP].
        let t = try TinyTokenizer.make(TinyTokenizer.json(),
                                       config: TinyTokenizer.data(["tokenizer_class": "BertTokenizer", "truncation_side": "left"]))
        XCTAssertEqual(try t.encode("a b a b a", "b a b a", maxLength: 7).ids, [2, 18, 17, 3, 18, 17, 3])
    }

    // MARK: errors

    func testMaxLengthTooSmall() throws {
        let t = try TinyTokenizer.make(TinyTokenizer.json())
        XCTAssertThrowsError(try t.encode("a", "b", maxLength: 2)) { error in
            XCTAssertEqual(error as? TokenizerError, .maxLengthTooSmall(maxLength: 2, specialTokens: 3))
        }
        XCTAssertThrowsError(try t.encode("a", maxLength: 1)) { error in
            XCTAssertEqual(error as? TokenizerError, .maxLengthTooSmall(maxLength: 1, specialTokens: 2))
        }
        // Exactly the special tokens: both sequences truncated to nothing.
        XCTAssertEqual(try t.encode("a", "b", maxLength: 3).ids, [2, 3, 3])
    }

    func testUnsupportedComponents() {
        func check(_ json: [String: Any], _ expected: TokenizerError, line: UInt = #line) {
            XCTAssertThrowsError(try TinyTokenizer.make(json), line: line) { error in
                XCTAssertEqual(error as? TokenizerError, expected, line: line)
            }
        }
        check(TinyTokenizer.json(normalizer: ["type": "NmtNormalizer"]), .unsupportedComponent(kind: "normalizer", type: "NmtNormalizer"))
        check(TinyTokenizer.json(normalizer: ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "ByteLevel"]]]),
              .unsupportedComponent(kind: "normalizer", type: "ByteLevel"))
        check(TinyTokenizer.json(normalizer: ["type": "Replace", "pattern": ["Regex": "[a-z]+"], "content": " "]),
              .unsupportedComponent(kind: "normalizer", type: "Replace (Regex pattern \"[a-z]+\")"))
        check(TinyTokenizer.json(preTokenizer: ["type": "Split", "pattern": ["Regex": "\\s"], "behavior": "Removed", "invert": false]),
              .unsupportedComponent(kind: "pre_tokenizer", type: "Split"))
        check(TinyTokenizer.json(preTokenizer: ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true]]]),
              .unsupportedComponent(kind: "pre_tokenizer", type: "Digits"))
        check(TinyTokenizer.json(postProcessor: ["type": "ByteLevelPlus"]),
              .unsupportedComponent(kind: "post_processor", type: "ByteLevelPlus"))
        check(TinyTokenizer.json(modelType: "WordLevel"), .unsupportedComponent(kind: "model", type: "WordLevel"))
    }

    func testUnsupportedClassAndMissingPieces() throws {
        XCTAssertThrowsError(try TinyTokenizer.make(TinyTokenizer.json(), config: TinyTokenizer.data(["tokenizer_class": "MPNetTokenizer"]))) {
            XCTAssertEqual($0 as? TokenizerError, .unsupportedTokenizerClass(name: "MPNetTokenizer"))
        }
        var template = TinyTokenizer.template
        template["special_tokens"] = ["[CLS]": ["id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]]]
        XCTAssertThrowsError(try TinyTokenizer.make(TinyTokenizer.json(postProcessor: template))) {
            XCTAssertEqual($0 as? TokenizerError, .missingSpecialToken(token: "[SEP]"))
        }
        var json = TinyTokenizer.json()
        var model = json["model"] as! [String: Any]
        model["unk_token"] = "<unk>"
        json["model"] = model
        XCTAssertThrowsError(try TinyTokenizer.make(json)) {
            XCTAssertEqual($0 as? TokenizerError, .missingUnknownToken(token: "<unk>"))
        }
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: Data("{\"model\": ".utf8), tokenizerConfigJSON: nil)) {
            guard case .invalidJSON(let file, _)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
            XCTAssertEqual(file, "tokenizer.json")
        }
        XCTAssertThrowsError(try Tokenizer.load(directory: URL(fileURLWithPath: "/nonexistent-cetool-dir"))) {
            XCTAssertEqual($0 as? TokenizerError, .missingTokenizerFiles(directory: "/nonexistent-cetool-dir"))
        }
    }

    func testMissingPadToken() throws {
        let t = try TinyTokenizer.make(TinyTokenizer.json(), config: TinyTokenizer.data(["tokenizer_class": "PreTrainedTokenizerFast"]))
        XCTAssertFalse(t.hasPadToken)
        XCTAssertThrowsError(try t.encodeBatch([("a", "b")], maxLength: nil)) {
            XCTAssertEqual($0 as? TokenizerError, .missingPadToken)
        }
    }

    func testErrorDescriptionsNameTheirContext() {
        XCTAssertEqual(TokenizerError.unsupportedComponent(kind: "normalizer", type: "Precompiled").description,
                       "unsupported normalizer type \"Precompiled\"")
        XCTAssertTrue(TokenizerError.invalidField(file: "tokenizer.json", field: "model.vocab", reason: "x").description
            .contains("model.vocab"))
    }
}

final class JSONTests: XCTestCase {
    func testKeysAreByteExactAndOrdered() throws {
        let v = try JSONValue.parse(Data(#"{"é": 1, "e\u0301": 2, "b": [true, null, -3, 2.5, 1e30]}"#.utf8), file: "x")
        let members = try XCTUnwrap(v.objectMembers)
        XCTAssertEqual(members.count, 3)
        XCTAssertEqual(v["é"], .int(1))
        XCTAssertEqual(v["e\u{301}"], .int(2))
        XCTAssertEqual(v["b"], .array([.bool(true), .null, .int(-3), .double(2.5), .double(1e30)]))
    }

    func testEscapesAndSurrogates() throws {
        let v = try JSONValue.parse(Data(#"["a\"\\\/\n\t\u00e9\ud83d\ude00"]"#.utf8), file: "x")
        XCTAssertEqual(v, .array([.string("a\"\\/\n\té😀")]))
        // A lone surrogate escape is an error, as in serde_json, which the reference reads tokenizer.json with.
        XCTAssertThrowsError(try JSONValue.parse(Data(#"["\udc00x"]"#.utf8), file: "x"))
    }

    func testInvalidDocuments() {
        for text in ["", "{", "[1,]", "{\"a\" 1}", "tru", "\"\u{1}\"", "[1] x", String(repeating: "[", count: 300)] {
            XCTAssertThrowsError(try JSONValue.parse(Data(text.utf8), file: "f.json"), text) {
                guard case .invalidJSON(let file, _)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
                XCTAssertEqual(file, "f.json")
            }
        }
    }
}
