import CECore
import Foundation
import XCTest
@testable import CETokenizers

/// tokenizer.json's WordPiece vocabulary is read from its bytes (JSONParser.parse(_:deferring:) and
/// forEachMember) instead of from the parsed tree: the two readings must agree, errors included.
final class DeferredVocabularyTests: XCTestCase {
    private func document(vocab: String, type: String = "WordPiece") -> Data {
        let head = ###"{"version": "1.0", "model": {"type": ""### + type + ###"", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "###
        return Data((head + ###""max_input_chars_per_word": 100, "vocab": "### + vocab + "}}").utf8)
    }

    func testWordPieceFromTheBytesEqualsWordPieceFromTheTree() throws {
        // escapes, a repeated token (the later id wins, as serde into a HashMap), non-ASCII, the empty token
        let data = document(vocab: ###"{"[UNK]": 0, "a\"b": 1, "\u00e9": 2, "##x": 3, "a\"b": 4, "": 5, "ü": 6, "\ud83d\ude00": 7}"###)
        let tree = try JSONValue.parse(data, file: "tokenizer.json")
        let (partial, deferred) = try JSONValue.parseDeferringVocabulary(data, file: "tokenizer.json")
        XCTAssertNotNil(deferred)
        XCTAssertEqual(partial["model"]?["vocab"], .null)
        let fromTree = try TokenizerJSON.wordPiece(tree["model"])
        let fromBytes = try TokenizerJSON.wordPiece(partial["model"], deferred: deferred)
        XCTAssertEqual(fromBytes.vocab.bytes, fromTree.vocab.bytes)
        XCTAssertEqual(fromBytes.vocab.ends, fromTree.vocab.ends)
        XCTAssertEqual(fromBytes.vocab.ids, fromTree.vocab.ids)
        let m = try WordPiece(vocab: fromBytes.vocab, unkToken: "[UNK]", continuingSubwordPrefix: "##", maxInputCharsPerWord: 100)
        XCTAssertEqual(m.tokenToID(Array("a\"b".utf8)), 4)
        XCTAssertEqual(m.tokenToID(Array("é".utf8)), 2)
        XCTAssertEqual(m.tokenToID(Array("😀".utf8)), 7)
        XCTAssertEqual(m.tokenToID([UInt8]()), 5)
        XCTAssertNil(m.tokenToID(Array("a".utf8)))
        XCTAssertEqual(m.vocabSize, 7)
        // and as a whole tokenizer (the loader's own path)
        let t = try Tokenizer(tokenizerJSON: data, tokenizerConfigJSON: nil)
        XCTAssertEqual(t.tokenID("a\"b"), 4)
        XCTAssertEqual(t.vocabularySize, 7)
    }

    func testBadVocabularyBytesAreTypedErrors() {
        let cases: [(String, (TokenizerError) -> Bool)] = [
            (#"[["a", 1]]"#, { if case .invalidField(_, let f, let r) = $0 { return f == "model.vocab" && r.contains("not an object") }; return false }),
            (#"{"[UNK]": 0, "a": "x"}"#, { if case .invalidField(_, let f, _) = $0 { return f == "model.vocab.a" }; return false }),
            (#"{"[UNK]": 0, "a": -1}"#, { $0 == .idOutOfRange(token: "a", id: -1) }),
            (#"{"[UNK]": 0, "a": 4294967296}"#, { $0 == .idOutOfRange(token: "a", id: 4_294_967_296) }),
            (#"{"[UNK]": 0, "a\x": 1}"#, { if case .invalidJSON = $0 { return true }; return false }),
            (#"{"a": 1}"#, { $0 == .missingUnknownToken(token: "[UNK]") }),
        ]
        for (vocab, expected) in cases {
            XCTAssertThrowsError(try Tokenizer(tokenizerJSON: document(vocab: vocab), tokenizerConfigJSON: nil), vocab) {
                guard let e = $0 as? TokenizerError else { return XCTFail("\(vocab): \($0)") }
                XCTAssertTrue(expected(e), "\(vocab): \(e)")
            }
        }
        // a repeated "vocab" (or "model") key: refused rather than guessing which one to read
        let twice = Data(#"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}, "vocab": {"[UNK]": 1}}}"#.utf8)
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: twice, tokenizerConfigJSON: nil)) {
            guard case .invalidJSON(_, let reason)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("duplicate"), reason)
        }
    }

    func testOtherModelsGetTheirVocabularyBackInTheTree() throws {
        let data = Data(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}, "x": [1]}"#.utf8)
        let (partial, deferred) = try JSONValue.parseDeferringVocabulary(data, file: "tokenizer.json")
        let restored = partial.replacingModelVocab(with: try XCTUnwrap(deferred).parse())
        XCTAssertEqual(restored, try JSONValue.parse(data, file: "tokenizer.json"))
        // an error inside the put-back value (the skip checks structure, not string contents) is reported
        // at its offset in the file
        let bad = Data(#"{"model": {"type": "BPE", "vocab": {"a": 0, "b\x": 1}}}"#.utf8)
        let (_, d) = try JSONValue.parseDeferringVocabulary(bad, file: "tokenizer.json")
        XCTAssertThrowsError(try XCTUnwrap(d).parse()) {
            XCTAssertEqual($0 as? TokenizerError, .invalidJSON(file: "tokenizer.json", reason: JSONError.invalidEscape(offset: 46).description))
        }
    }
}
