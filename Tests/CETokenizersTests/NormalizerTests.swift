import XCTest
@testable import CETokenizers

/// Expected strings are the outputs of tokenizers 0.23.3 (Rust) `normalize_str` / `pre_tokenize_str`
/// on the same inputs.
final class NormalizerTests: XCTestCase {
    private func run(_ n: Normalizer, _ s: String) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: n.normalize(Array(s.unicodeScalars)))
        return String(view)
    }

    private func assertScalars(_ got: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.unicodeScalars.map(\.value), expected.unicodeScalars.map(\.value), file: file, line: line)
    }

    let bertUncased = Normalizer.bert(cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true)

    func testBertCleanText() {
        // NUL, ZWSP, U+FFFD and NEL (a control char) are deleted; tab and NBSP become spaces.
        assertScalars(run(bertUncased, "a\u{0}b\u{200B}\tc\u{A0}d\u{FFFD}e\u{85}f"), "ab c def")
    }

    func testBertChineseChars() {
        assertScalars(run(bertUncased, "中文abc"), " 中  文 abc")
    }

    func testBertStripAccentsAndLowercase() {
        assertScalars(run(bertUncased, "Café Naïve ÅNGSTRÖM"), "cafe naive angstrom")
        assertScalars(run(bertUncased, "İI"), "ii")
        assertScalars(run(bertUncased, "ΣΑΣ"), "σασ")  // char::to_lowercase: no final-sigma rule
        assertScalars(run(bertUncased, "ß ẞ ǅ"), "ß ß ǆ")
    }

    func testBertStripAccentsRemovesOnlyMn() {
        // Devanagari: virama / vowel signs that are Mn go, Mc (U+093F, U+093E) stay.
        assertScalars(run(bertUncased, "नमस्ते दुनिया"), "नमसत दनिया")
        // U+20DD (Me) stays.
        assertScalars(run(bertUncased, "x\u{20DD}y"), "x\u{20DD}y")
    }

    func testBertCasedKeepsAccents() {
        let cased = Normalizer.bert(cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false)
        assertScalars(run(cased, "Café 中\u{200B}\tX"), "Café 中 X")
        let stripOnly = Normalizer.bert(cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false)
        assertScalars(run(stripOnly, "Café\u{0} Ǆ"), "Cafe\u{0} Ǆ")
    }

    func testLowercaseExpands() {
        // U+0130 lowercases to "i" + U+0307 (two scalars).
        XCTAssertEqual(Normalizer.lowercase.normalize(["\u{130}"]).map(\.value), [0x69, 0x307])
    }

    func testStripAccentsNormalizerRemovesAllMarks() {
        assertScalars(run(.stripAccents, "कि e\u{301} x\u{20DD}"), "क e x")
    }

    func testUnicodeForms() {
        assertScalars(run(.nfkc, "ﬁ ① Ａ ㍿ \u{32FF}"), "fi 1 A 株式会社 \u{32FF}")
        // U+11938 has no decomposition in the Rust crate's tables.
        assertScalars(run(.nfd, "é \u{11938}"), "e\u{301} \u{11938}")
    }

    func testStripReplacePrependSequence() {
        assertScalars(run(.strip(left: true, right: true), " \u{3000} ab \t"), "ab")
        assertScalars(run(.replace(pattern: Array("``".unicodeScalars), content: ["\""]), "``a`` ```"), "\"a\" \"`")
        assertScalars(run(.prepend(["▁"]), "ab"), "▁ab")
        assertScalars(run(.prepend(["▁"]), ""), "")
        assertScalars(run(.sequence([.nfd, .stripAccents, .lowercase]), "ÉA"), "ea")
    }
}

final class PreTokenizerTests: XCTestCase {
    private func words(_ p: PreTokenizer, _ s: String) -> [String] {
        let scalars = Array(s.unicodeScalars)
        return p.split(scalars).map { r in
            var v = String.UnicodeScalarView()
            v.append(contentsOf: scalars[r])
            return String(v)
        }
    }

    func testBert() {
        XCTAssertEqual(words(.bert, "Hey friend!     How are you?!?"), ["Hey", "friend", "!", "How", "are", "you", "?", "!", "?"])
        XCTAssertEqual(words(.bert, "a\u{3000}b\u{A0}c¿d"), ["a", "b", "c", "¿", "d"])
        XCTAssertEqual(words(.bert, "don't-stop"), ["don", "'", "t", "-", "stop"])
        XCTAssertEqual(words(.bert, "   "), [])
    }

    func testWhitespace() {
        XCTAssertEqual(words(.whitespace, "Hey friend!     How are you?!?"), ["Hey", "friend", "!", "How", "are", "you", "?!?"])
        XCTAssertEqual(words(.whitespace, "naïve-café__x ¿42?"), ["naïve", "-", "café__x", "¿", "42", "?"])
    }

    func testPunctuationBehaviors() {
        let s = "the-final--countdown!"
        XCTAssertEqual(words(.punctuation(.removed), s), ["the", "final", "countdown"])
        XCTAssertEqual(words(.punctuation(.isolated), s), ["the", "-", "final", "-", "-", "countdown", "!"])
        XCTAssertEqual(words(.punctuation(.mergedWithPrevious), s), ["the-", "final-", "-", "countdown!"])
        XCTAssertEqual(words(.punctuation(.mergedWithNext), s), ["the", "-final", "-", "-countdown", "!"])
        XCTAssertEqual(words(.punctuation(.contiguous), s), ["the", "-", "final", "--", "countdown", "!"])
    }
}
