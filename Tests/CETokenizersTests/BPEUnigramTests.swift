import CECore
import CETestSupport
import Foundation
import XCTest
@testable import CETokenizers

/// golden/tokenizer_edge_cases.json (golden/make_tokenizers_bpe_unigram.py, from transformers 5.23 / tokenizers
/// 0.23.3): small tokenizer.json files aimed at one rule each, with the reference's ids or its refusal, and
/// normalizer outputs of the real nmt_nfkc charsmap and of Replace regexes.
final class EdgeCaseGoldenTests: XCTestCase {
    static var document: JSONValue {
        get throws {
            let url = GoldenCorpusTests.repoRoot.appendingPathComponent("golden/tokenizer_edge_cases.json")
            return try JSONValue.parse(Data(contentsOf: url), file: "tokenizer_edge_cases.json")
        }
    }

    private func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

    func testTokenizers() throws {
        let doc = try EdgeCaseGoldenTests.document
        let specs = try XCTUnwrap(doc["tokenizers"]?.arrayValue)
        XCTAssertGreaterThanOrEqual(specs.count, 11)
        let config = TinyTokenizer.data(["tokenizer_class": "PreTrainedTokenizerFast"])
        var checked = 0
        for spec in specs {
            let name = spec["name"]?.stringValue ?? "?"
            let json = try XCTUnwrap(spec["tokenizer_json"])
            let t = try Tokenizer(tokenizerJSON: Data(JSONWriter.write(json).utf8), tokenizerConfigJSON: config)
            for c in try XCTUnwrap(spec["cases"]?.arrayValue) {
                let text = try XCTUnwrap(c["text"]?.stringValue)
                if let expected = c["input_ids"]?.arrayValue {
                    let ids = expected.compactMap { $0.int64Value.map { Int32($0) } }
                    XCTAssertEqual(try t.encode(text, maxLength: nil).ids, ids, "\(name): \(text.debugDescription)")
                } else {
                    XCTAssertNotNil(c["error"]?.stringValue, "\(name): case without ids or error")
                    XCTAssertThrowsError(try t.encode(text, maxLength: nil), "\(name): \(text.debugDescription)") {
                        XCTAssertEqual($0 as? TokenizerError, .unigramWithoutUnkID)
                    }
                }
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 57)
    }

    func testNormalizers() throws {
        let doc = try EdgeCaseGoldenTests.document
        let specs = try XCTUnwrap(doc["normalizers"]?.arrayValue)
        XCTAssertEqual(specs.count, 5)
        for spec in specs {
            let normalizer: Normalizer
            if let path = spec["normalizer_of"]?.stringValue {
                let tj = try JSONValue.parse(Data(contentsOf: GoldenCorpusTests.repoRoot.appendingPathComponent(path)), file: path)
                normalizer = try XCTUnwrap(TokenizerJSON.normalizer(tj["normalizer"]))
            } else {
                normalizer = try XCTUnwrap(TokenizerJSON.normalizer(spec["normalizer"]))
            }
            for c in try XCTUnwrap(spec["cases"]?.arrayValue) {
                let text = try XCTUnwrap(c["text"]?.stringValue)
                let expected = try XCTUnwrap(c["normalized"]?.stringValue)
                XCTAssertEqual(normalizer.normalize(scalars(text)), scalars(expected), text.debugDescription)
            }
        }
    }
}

/// Unit rules of the new stages; expected values were checked against tokenizers 0.23.3 where noted.
final class BPEUnigramTests: XCTestCase {
    private func words(_ p: PreTokenizer, _ s: String, atOrigin: Bool = true) -> [String] {
        p.apply([PreTokenizer.Word(scalars: Array(s.unicodeScalars), atOrigin: atOrigin)]).map { w in
            var v = String.UnicodeScalarView()
            v.append(contentsOf: w.scalars)
            return String(v)
        }
    }

    /// tokenizers' own byte_level.rs tests: the GPT-2 regex splits and the byte alphabet.
    func testByteLevelSplitsLikeTheGPT2Regex() {
        let p = PreTokenizer.byteLevel(addPrefixSpace: false, useRegex: true)
        XCTAssertEqual(words(p, "Hello my friend, how is your day going?"),
                       ["Hello", "Ġmy", "Ġfriend", ",", "Ġhow", "Ġis", "Ġyour", "Ġday", "Ġgoing", "?"])
        XCTAssertEqual(words(p, "Hello there\nHello there"), ["Hello", "Ġthere", "Ċ", "Hello", "Ġthere"])
        XCTAssertEqual(words(p, "Hello there       dear"), ["Hello", "Ġthere", "ĠĠĠĠĠĠ", "Ġdear"])
        XCTAssertEqual(words(p, "i⭢j"), ["i", "âŃ¢", "j"])
        XCTAssertEqual(words(p, "it's we're 'S"), ["it", "'s", "Ġwe", "'re", "Ġ'", "S"])
        // Checked with tokenizers 0.23.3 `pre_tokenizers.ByteLevel(add_prefix_space=False).pre_tokenize_str`.
        XCTAssertEqual(words(p, "a \n\nb  "), ["a", "ĠĊ", "Ċ", "b", "ĠĠ"])
        XCTAssertEqual(words(p, "x  \t y\u{3000}\u{3000}z!! ?? 12ab"), ["x", "ĠĠĉ", "Ġy", "ãĢĢ", "ãĢĢ", "z", "!!", "Ġ??", "Ġ12", "ab"])
        XCTAssertEqual(words(.byteLevel(addPrefixSpace: true, useRegex: true), "Hello my"), ["ĠHello", "Ġmy"])
        XCTAssertEqual(words(.byteLevel(addPrefixSpace: true, useRegex: false), "Hello my"), ["ĠHelloĠmy"])
        XCTAssertEqual(ByteLevel.byteChar[0x20], "Ġ")
        XCTAssertEqual(ByteLevel.byteChar[0x0A], "Ċ")
        XCTAssertEqual(ByteLevel.byteChar[0xAD], "\u{143}")
        XCTAssertEqual(Set(ByteLevel.byteChar).count, 256)
    }

    func testMetaspaceSchemes() {
        let always = PreTokenizer.metaspace(replacement: "▁", prependScheme: .always, split: true)
        XCTAssertEqual(words(always, "Hey   friend!"), ["▁Hey", "▁", "▁", "▁friend!"])
        let first = PreTokenizer.metaspace(replacement: "▁", prependScheme: .first, split: true)
        XCTAssertEqual(words(first, "a b", atOrigin: false), ["a", "▁b"])
        XCTAssertEqual(words(first, "a b", atOrigin: true), ["▁a", "▁b"])
        XCTAssertEqual(words(.metaspace(replacement: "▁", prependScheme: .never, split: false), "a b"), ["a▁b"])
    }

    func testRepeatPatternParsing() {
        XCTAssertEqual(RepeatPattern.parse(" {2,}"), RepeatPattern(atom: .scalar(" "), min: 2, max: nil, source: " {2,}"))
        XCTAssertEqual(RepeatPattern.parse("\\s+"), RepeatPattern(atom: .whitespace, min: 1, max: nil, source: "\\s+"))
        XCTAssertEqual(RepeatPattern.parse("a{2}")?.max, 2)
        XCTAssertEqual(RepeatPattern.parse("\\.{1,3}")?.atom, .scalar("."))
        for refused in ["", " *", "a|b", "[ ]+", "\\d+", " {0,}", " {3,2}", "ab+", " ?"] {
            XCTAssertNil(RepeatPattern.parse(refused), refused)
        }
    }

    /// Replace's matchers (one pass each, since both the pattern and the text may be hostile) against their
    /// naive twins, on seeded texts over a three-letter alphabet where matches, near-misses and long runs are
    /// frequent.
    func testReplaceMatchersAgreeWithTheirNaiveTwins() {
        var rng = SeededRNG(seed: 8)
        let alphabet: [Unicode.Scalar] = ["a", "b", " "]
        func text(_ n: Int) -> [Unicode.Scalar] { (0..<n).map { _ in alphabet[Int(rng.next() % 3)] } }
        var compared = 0
        for _ in 0..<400 {
            let s = text(Int(rng.next() % 60))
            let pattern = text(1 + Int(rng.next() % 5))
            let content = text(Int(rng.next() % 3))
            XCTAssertEqual(Normalizer.replaceAll(s, pattern: pattern, with: content),
                           Normalizer.replaceAllReference(s, pattern: pattern, with: content), "\(s) / \(pattern)")
            for source in [" {2,}", " {3}", "a{2,3}", "\\s+", "b{1,4}", "a+", " {4,9}"] {
                let r = RepeatPattern.parse(source)!
                XCTAssertEqual(r.replaceAll(s, with: content), r.replaceAllReference(s, with: content), "\(s) / \(source)")
                compared += 1
            }
        }
        XCTAssertEqual(compared, 2800)
        // Self-overlapping literals: leftmost, non-overlapping, as a left-to-right scan.
        XCTAssertEqual(String(String.UnicodeScalarView(Normalizer.replaceAll(Array("aaaaa".unicodeScalars), pattern: ["a", "a"], with: ["X"]))), "XXa")
        XCTAssertEqual(String(String.UnicodeScalarView(Normalizer.replaceAll(Array("abababa".unicodeScalars), pattern: ["a", "b", "a"], with: ["X"]))), "XbX")
    }

    /// The accent after a full-width A is dropped: tokenizers applies the shortest matching prefix of a short
    /// grapheme to the whole grapheme (reference: "Ａ\u{301}" -> "A", see golden/tokenizer_edge_cases.json).
    func testPrecompiledRejectsMalformedMaps() {
        XCTAssertThrowsError(try PrecompiledCharsMap(bytes: [], field: "f")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidField(file: "tokenizer.json", field: "f", reason: "shorter than its 4-byte trie size"))
        }
        XCTAssertThrowsError(try PrecompiledCharsMap(bytes: [0, 0, 0, 0], field: "f")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidField(file: "tokenizer.json", field: "f", reason: "empty trie"))
        }
        XCTAssertThrowsError(try PrecompiledCharsMap(bytes: [8, 0, 0, 0, 1, 2], field: "f")) {
            guard case .invalidField(_, "f", let reason)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("exceeds"), reason)
        }
        XCTAssertThrowsError(try PrecompiledCharsMap(bytes: [4, 0, 0, 0, 0, 0, 0, 0, 0xFF], field: "f")) {
            XCTAssertEqual($0 as? TokenizerError, .invalidField(file: "tokenizer.json", field: "f", reason: "normalized strings are not UTF-8"))
        }
        XCTAssertThrowsError(try PrecompiledCharsMap(base64: "***", field: "f"))
        // A one-unit trie whose offsets point outside the array: lookups end, nothing is replaced.
        let map = try? PrecompiledCharsMap(bytes: [4, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF], field: "f")
        XCTAssertEqual(map?.normalize(Array("ab".unicodeScalars)), Array("ab".unicodeScalars))
    }

    private func tokenizer(model: [String: Any], normalizer: Any? = nil, preTokenizer: Any? = nil,
                           postProcessor: Any? = nil) throws -> Tokenizer {
        let json: [String: Any] = [
            "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "added_tokens": [[String: Any]](),
            "normalizer": normalizer ?? NSNull(), "pre_tokenizer": preTokenizer ?? NSNull(),
            "post_processor": postProcessor ?? NSNull(), "decoder": NSNull(), "model": model,
        ]
        return try TinyTokenizer.make(json, config: TinyTokenizer.data(["tokenizer_class": "PreTrainedTokenizerFast"]))
    }

    private let bpeVocab: [String: Int] = ["a": 0, "b": 1, "ab": 2, "<unk>": 3]

    func testRefusalsByName() throws {
        func check(_ expected: TokenizerError, line: UInt = #line, _ make: () throws -> Tokenizer) {
            XCTAssertThrowsError(try make(), line: line) { XCTAssertEqual($0 as? TokenizerError, expected, line: line) }
        }
        check(.unsupportedComponent(kind: "model", type: "BPE with dropout 0.1")) {
            try self.tokenizer(model: ["type": "BPE", "dropout": 0.1, "vocab": self.bpeVocab, "merges": ["a b"]])
        }
        check(.mergeTokenNotInVocabulary(token: "c", merge: 1)) {
            try self.tokenizer(model: ["type": "BPE", "vocab": self.bpeVocab, "merges": ["a b", "a c"]])
        }
        check(.mergeTokenNotInVocabulary(token: "ba", merge: 0)) {
            try self.tokenizer(model: ["type": "BPE", "vocab": self.bpeVocab, "merges": [["b", "a"]]])
        }
        check(.invalidField(file: "tokenizer.json", field: "model.merges[0]", reason: "a merge string needs a space")) {
            try self.tokenizer(model: ["type": "BPE", "vocab": self.bpeVocab, "merges": ["ab"]])
        }
        check(.invalidField(file: "tokenizer.json", field: "model.unk_id", reason: "5 is outside the 2-piece vocabulary")) {
            try self.tokenizer(model: ["type": "Unigram", "unk_id": 5, "vocab": [["a", -1.0], ["b", -2.0]]])
        }
        check(.invalidField(file: "tokenizer.json", field: "model.vocab", reason: "empty Unigram vocabulary")) {
            try self.tokenizer(model: ["type": "Unigram", "unk_id": NSNull(), "vocab": [Any]()])
        }
        check(.invalidField(file: "tokenizer.json", field: "model.vocab[1]", reason: "expected [piece, finite score]")) {
            try self.tokenizer(model: ["type": "Unigram", "vocab": [["a", -1.0], ["b"]]])
        }
        check(.invalidField(file: "tokenizer.json", field: "model.vocab[1]", reason: "a piece of 1025 bytes, above the limit of 1024")) {
            try self.tokenizer(model: ["type": "Unigram", "vocab": [["a", -1.0], [String(repeating: "a", count: 1025), -2.0]]])
        }
        XCTAssertNoThrow(try self.tokenizer(model: ["type": "Unigram", "vocab": [["a", -1.0], [String(repeating: "é", count: 512), -2.0]]]))
        func withAddedToken(_ content: String) throws -> Tokenizer {
            let json: [String: Any] = [
                "version": "1.0", "truncation": NSNull(), "padding": NSNull(), "normalizer": NSNull(), "pre_tokenizer": NSNull(),
                "post_processor": NSNull(), "decoder": NSNull(), "model": ["type": "BPE", "vocab": self.bpeVocab, "merges": ["a b"]],
                "added_tokens": [["id": 4, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
                                  "normalized": false, "special": true]],
            ]
            return try TinyTokenizer.make(json, config: TinyTokenizer.data(["tokenizer_class": "PreTrainedTokenizerFast"]))
        }
        check(.addedTokenTooLong(token: String(repeating: "x", count: 32), bytes: 1025, limit: 1024)) {
            try withAddedToken(String(repeating: "x", count: 1025))
        }
        XCTAssertNoThrow(try withAddedToken(String(repeating: "x", count: 1024)))
        // tokenizers 0.23.3 refuses this combination at deserialization too.
        check(.invalidField(file: "tokenizer.json", field: "pre_tokenizer.add_prefix_space",
                            reason: "false does not match prepend_scheme \"always\"")) {
            try self.tokenizer(model: ["type": "Unigram", "vocab": [["a", -1.0]]],
                               preTokenizer: ["type": "Metaspace", "replacement": "▁", "add_prefix_space": false])
        }
        check(.invalidField(file: "tokenizer.json", field: "pre_tokenizer.replacement", reason: "not a single character")) {
            try self.tokenizer(model: ["type": "Unigram", "vocab": [["a", -1.0]]],
                               preTokenizer: ["type": "Metaspace", "replacement": "__"])
        }
        check(.invalidField(file: "tokenizer.json", field: "normalizer.precompiled_charsmap", reason: "shorter than its 4-byte trie size")) {
            try self.tokenizer(model: ["type": "Unigram", "vocab": [["a", -1.0]]], normalizer: ["type": "Precompiled", "precompiled_charsmap": ""])
        }
        // BPE with an unk token that is not in the vocabulary fails only when it is needed, as tokenizers does.
        let t = try tokenizer(model: ["type": "BPE", "unk_token": "<missing>", "vocab": bpeVocab, "merges": ["a b"]])
        XCTAssertEqual(try t.encode("ab", maxLength: nil).ids, [2])
        XCTAssertThrowsError(try t.encode("abc", maxLength: nil)) {
            XCTAssertEqual($0 as? TokenizerError, .missingUnknownToken(token: "<missing>"))
        }
        // dropout 0 is deterministic and accepted.
        XCTAssertEqual(try tokenizer(model: ["type": "BPE", "dropout": 0.0, "vocab": bpeVocab, "merges": [["a", "b"]]])
            .encode("ab", maxLength: nil).ids, [2])
    }

    /// RobertaTokenizer / XLMRobertaTokenizer rebuild from the vocabulary of the kind they build; other
    /// classes whose `__init__` rebuilds the pipeline are refused by name.
    func testClassRouting() throws {
        let folder = GoldenCorpusTests.repoRoot.appendingPathComponent("golden/models/bpe-roberta")
        let tj = try Data(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        for name in ["GPT2Tokenizer", "DebertaTokenizerFast", "BarthezTokenizer", "T5Tokenizer", "AlbertTokenizer"] {
            XCTAssertThrowsError(try Tokenizer(tokenizerJSON: tj, tokenizerConfigJSON: TinyTokenizer.data(["tokenizer_class": name]))) {
                XCTAssertEqual($0 as? TokenizerError, .unsupportedTokenizerClass(name: name))
            }
        }
        for name in ["XLMRobertaTokenizer", "CamembertTokenizer", "DebertaV2Tokenizer"] {
            XCTAssertThrowsError(try Tokenizer(tokenizerJSON: tj, tokenizerConfigJSON: TinyTokenizer.data(["tokenizer_class": name]))) {
                XCTAssertEqual($0 as? TokenizerError, .unsupportedComponent(kind: "model", type: "BPE under \(name)"))
            }
        }
        // model_type without tokenizer_class: roberta -> RobertaTokenizer (add_prefix_space false, RobertaProcessing).
        let byType = try Tokenizer(files: TokenizerFiles(tokenizerJSON: tj, modelConfigJSON: TinyTokenizer.data(["model_type": "roberta"])))
        let byClass = try Tokenizer.load(directory: folder)
        XCTAssertEqual(try byType.encode("Hello world", "again", maxLength: nil), try byClass.encode("Hello world", "again", maxLength: nil))
        XCTAssertEqual(byClass.specialTokenCount.single, 2)
        XCTAssertEqual(byClass.specialTokenCount.pair, 4)
        XCTAssertEqual(byClass.padTokenID, 1)
        XCTAssertFalse(byClass.returnsTokenTypeIDs)
        XCTAssertThrowsError(try Tokenizer(files: TokenizerFiles(tokenizerJSON: tj, modelConfigJSON: TinyTokenizer.data(["model_type": "deberta"])))) {
            XCTAssertEqual($0 as? TokenizerError, .unsupportedTokenizerClass(name: "(model_type deberta)"))
        }
        let xlmr = try Tokenizer.load(directory: GoldenCorpusTests.repoRoot.appendingPathComponent("golden/models/unigram-xlmr"))
        XCTAssertEqual(xlmr.padTokenID, 1)
        XCTAssertEqual(xlmr.specialTokenCount.pair, 4)
        XCTAssertEqual(xlmr.vocabularySize, 3002)
        XCTAssertEqual(xlmr.modelMaxLength, 512)
    }

    /// A RoBERTa-family folder without tokenizer.json: vocab.json + merges.txt, read as tokenizers' BPE::read_file
    /// reads them (the golden corpus bpe-roberta-files checks the ids); what is missing is named.
    func testVocabAndMergesFiles() throws {
        let folder = GoldenCorpusTests.repoRoot.appendingPathComponent("golden/models/bpe-roberta-files")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json").path))
        let fromFiles = try Tokenizer.load(directory: folder)
        let fromJSON = try Tokenizer.load(directory: GoldenCorpusTests.repoRoot.appendingPathComponent("golden/models/bpe-roberta"))
        for (a, b) in [("Hello world", "again"), (" leading space", "tabs\tand  runs"), ("naïve café 🤖", "x")] {
            XCTAssertEqual(try fromFiles.encode(a, b, maxLength: nil).ids, try fromJSON.encode(a, b, maxLength: nil).ids)
            XCTAssertEqual(try fromFiles.encode(a, maxLength: 5).ids, try fromJSON.encode(a, maxLength: 5).ids)
        }
        XCTAssertEqual(fromFiles.vocabularySize, fromJSON.vocabularySize)
        XCTAssertEqual(fromFiles.padTokenID, 1)

        // merges.txt line rules: "#version" lines skipped wherever they are, CRLF ends a line, the last line needs no
        // newline, and every other line is exactly two tokens split at one space.
        let m = try TokenizerJSON.mergesFile(Data("#version: 0.2\r\na b\r\n#version x\nab c\nb c".utf8))
        XCTAssertEqual(m.map { "\($0.0)|\($0.1)" }, ["a|b", "ab|c", "b|c"])
        XCTAssertEqual(try TokenizerJSON.mergesFile(Data()).count, 0)
        XCTAssertEqual(try TokenizerJSON.mergesFile(Data(" b\n".utf8)).map { "\($0.0)|\($0.1)" }, ["|b"])
        for (text, rank) in [("a b\n\nb c\n", 2), ("a b c\n", 1), ("#version\nab\n", 1), ("a  b", 1), ("a b\n\n", 2)] {
            XCTAssertThrowsError(try TokenizerJSON.mergesFile(Data(text.utf8)), text) {
                XCTAssertEqual($0 as? TokenizerError, .invalidField(file: "merges.txt", field: "merge \(rank)",
                                                                   reason: "not two tokens separated by one space"), text)
            }
        }
        XCTAssertThrowsError(try TokenizerJSON.mergesFile(Data([0x61, 0x20, 0xFF]))) {
            XCTAssertEqual($0 as? TokenizerError, .invalidField(file: "merges.txt", field: "(bytes)", reason: "invalid UTF-8"))
        }
        // vocab.json: entries that are not numbers are skipped (BPE::read_file), a bad id is refused by name.
        let v = try TokenizerJSON.vocabularyFile(TinyTokenizer.data(["a": 0, "b": 1, "note": "x"]))
        XCTAssertEqual(v, [ByteString("a"): 0, ByteString("b"): 1])
        XCTAssertThrowsError(try TokenizerJSON.vocabularyFile(TinyTokenizer.data(["a": -1]))) {
            XCTAssertEqual($0 as? TokenizerError, .idOutOfRange(token: "a", id: -1))
        }

        // What is missing is named: merges.txt beside vocab.json, tokenizer.json for classes not built from these files.
        let vocabJSON = try Data(contentsOf: folder.appendingPathComponent("vocab.json"))
        let config = try Data(contentsOf: folder.appendingPathComponent("tokenizer_config.json"))
        XCTAssertThrowsError(try Tokenizer(files: TokenizerFiles(tokenizerConfigJSON: config, vocabJSON: vocabJSON))) {
            guard case .missingFile(let name, _)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
            XCTAssertEqual(name, "merges.txt")
        }
        let merges = try Data(contentsOf: folder.appendingPathComponent("merges.txt"))
        XCTAssertThrowsError(try Tokenizer(files: TokenizerFiles(modelConfigJSON: TinyTokenizer.data(["model_type": "xlm-roberta"]),
                                                                 vocabJSON: vocabJSON, mergesTXT: merges))) {
            guard case .missingFile(let name, _)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
            XCTAssertEqual(name, "tokenizer.json")
        }
        XCTAssertThrowsError(try Tokenizer.load(directory: FileManager.default.temporaryDirectory.appendingPathComponent("no-such-folder-\(getpid())")))
        // A merge naming a token outside vocab.json is refused as from tokenizer.json.
        XCTAssertThrowsError(try Tokenizer(files: TokenizerFiles(tokenizerConfigJSON: config, vocabJSON: vocabJSON,
                                                                 mergesTXT: Data("#version: 0.2\nzzzq yyyq\n".utf8)))) {
            guard case .mergeTokenNotInVocabulary? = $0 as? TokenizerError else { return XCTFail("\($0)") }
        }
    }
}
