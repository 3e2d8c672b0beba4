import XCTest
@testable import CETokenizers

final class WordPieceTests: XCTestCase {
    private func model(_ tokens: [String], maxChars: Int = 100) throws -> WordPiece {
        return try WordPiece(vocab: VocabularyEntries(tokens), unkToken: "[UNK]", continuingSubwordPrefix: "##", maxInputCharsPerWord: maxChars)
    }

    private func ids(_ m: WordPiece, _ word: String) -> [Int32] {
        var out: [Int32] = []
        m.tokenize(Array(word.unicodeScalars)[...], into: &out)
        return out
    }

    func testGreedyLongestPrefix() throws {
        let m = try model(["[UNK]", "ba", "##na", "un", "##aff", "##able", "##a", "##ff"])
        XCTAssertEqual(ids(m, "banana"), [1, 2, 2])
        XCTAssertEqual(ids(m, "unaffable"), [3, 4, 5])
        // A word that cannot be covered entirely is one unk, even after partial matches.
        XCTAssertEqual(ids(m, "nanana"), [0])
        XCTAssertEqual(ids(m, "banax"), [0])
    }

    func testMaxInputCharsCountsScalars() throws {
        let m = try model(["[UNK]", "é", "##é"], maxChars: 3)
        XCTAssertEqual(ids(m, "ééé"), [1, 2, 2])  // 3 scalars, 6 bytes: allowed
        XCTAssertEqual(ids(m, "éééé"), [0])
    }

    func testVocabularyIsByteExact() throws {
        // "é" precomposed is in the vocabulary; "e" + U+0301 is not the same Rust string.
        let m = try model(["[UNK]", "é", "e", "##\u{301}"])
        XCTAssertEqual(ids(m, "é"), [1])
        XCTAssertEqual(ids(m, "e\u{301}"), [2, 3])
    }

    func testMissingUnkTokenIsAnError() {
        XCTAssertThrowsError(try model(["a", "b"])) { error in
            XCTAssertEqual(error as? TokenizerError, .missingUnknownToken(token: "[UNK]"))
        }
    }
}

final class TruncationTests: XCTestCase {
    /// (n1, n2, budget, kept1, kept2), one digit each: lengths of "a a ..." / "b b ..." pairs kept by
    /// transformers 5.23.0 + tokenizers 0.23.3 (all-MiniLM-L6-v2, truncation=True, max_length=budget+3).
    static let pairTable = """
    00000 00100 00200 00300 00400 00500 00600 00700 01000 01101 01201 01301 01401 01501 01601 01701 02000 02101 02202 02302 02402 02502 02602 02702 03000 03101 03202 03303 03403 03503 03603 03703 04000 04101 04202 04303 04404 04504 04604 04704 05000 05101 05202 05303 05404 05505 05605 05705 06000 06101 06202 06303 06404 06505 06606 06706 10000 10110 10210 10310 10410 10510 10610 10710 11000 11101 11211 11311 11411 11511 11611 11711 12000 12101 12211 12312 12412 12512 12612 12712 13000 13101 13211 13312 13413 13513 13613 13713 14000 14101 14211 14312 14413 14514 14614 14714 15000 15101 15211 15312 15413 15514 15615 15715 16000 16101 16211 16312 16413 16514 16615 16716 20000 20110 20220 20320 20420 20520 20620 20720 21000 21110 21211 21321 21421 21521 21621 21721 22000 22101 22211 22312 22422 22522 22622 22722 23000 23101 23211 23312 23422 23523 23623 23723 24000 24101 24211 24312 24422 24523 24624 24724 25000 25101 25211 25312 25422 25523 25624 25725 26000 26101 26211 26312 26422 26523 26624 26725 30000 30110 30220 30330 30430 30530 30630 30730 31000 31110 31211 31321 31431 31531 31631 31731 32000 32110 32211 32321 32422 32532 32632 32732 33000 33101 33211 33312 33422 33523 33633 33733 34000 34101 34211 34312 34422 34523 34633 34734 35000 35101 35211 35312 35422 35523 35633 35734 36000 36101 36211 36312 36422 36523 36633 36734 40000 40110 40220 40330 40440 40540 40640 40740 41000 41110 41211 41321 41431 41541 41641 41741 42000 42110 42211 42321 42422 42532 42642 42742 43000 43110 43211 43321 43422 43532 43633 43743 44000 44101 44211 44312 44422 44523 44633 44734 45000 45101 45211 45312 45422 45523 45633 45734 46000 46101 46211 46312 46422 46523 46633 46734 50000 50110 50220 50330 50440 50550 50650 50750 51000 51110 51211 51321 51431 51541 51651 51751 52000 52110 52211 52321 52422 52532 52642 52752 53000 53110 53211 53321 53422 53532 53633 53743 54000 54110 54211 54321 54422 54532 54633 54743 55000 55101 55211 55312 55422 55523 55633 55734 56000 56101 56211 56312 56422 56523 56633 56734 60000 60110 60220 60330 60440 60550 60660 60760 61000 61110 61211 61321 61431 61541 61651 61761 62000 62110 62211 62321 62422 62532 62642 62752 63000 63110 63211 63321 63422 63532 63633 63743 64000 64110 64211 64321 64422 64532 64633 64743 65000 65110 65211 65321 65422 65532 65633 65743 66000 66101 66211 66312 66422 66523 66633 66734
    """

    func testLongestFirstMatchesReferenceTable() {
        let entries = TruncationTests.pairTable.split(whereSeparator: { $0 == " " || $0 == "\n" })
        XCTAssertEqual(entries.count, 392)
        for e in entries {
            let d = e.compactMap { $0.wholeNumberValue }
            let (k1, k2) = Truncation.longestFirst(first: d[0], second: d[1], maxLength: d[2])
            XCTAssertEqual([k1, k2!], [d[3], d[4]], "n1=\(d[0]) n2=\(d[1]) budget=\(d[2])")
        }
    }

    func testTieGivesSecondTheOddToken() {
        XCTAssertTrue(Truncation.longestFirst(first: 6, second: 6, maxLength: 5) == (2, 3))
        XCTAssertTrue(Truncation.longestFirst(first: 8, second: 5, maxLength: 7) == (4, 3))
        XCTAssertTrue(Truncation.longestFirst(first: 2, second: 9, maxLength: 7) == (2, 5))
        XCTAssertTrue(Truncation.longestFirst(first: 3, second: 3, maxLength: 0) == (0, 0))
    }

    func testSingle() {
        XCTAssertTrue(Truncation.longestFirst(first: 9, second: nil, maxLength: 4) == (4, nil))
        XCTAssertTrue(Truncation.longestFirst(first: 3, second: nil, maxLength: 4) == (3, nil))
    }

    func testKeepDirections() {
        XCTAssertEqual(Truncation.keep([1, 2, 3, 4], 2, fromLeft: false), [1, 2])
        XCTAssertEqual(Truncation.keep([1, 2, 3, 4], 2, fromLeft: true), [3, 4])
        XCTAssertEqual(Truncation.keep([1, 2], 5, fromLeft: true), [1, 2])
    }
}

final class AddedVocabularyTests: XCTestCase {
    /// Expected ids from transformers 5.23.0 (TokenizersBackend) on the tiny tokenizer with these added tokens.
    func testFlags() throws {
        let t = try TinyTokenizer.make(TinyTokenizer.json(extraAdded: [
            TinyTokenizer.addedToken(32, "[E1]", lstrip: true, rstrip: true),
            TinyTokenizer.addedToken(33, "hello world", normalized: true, special: false),
            TinyTokenizer.addedToken(34, "ab", singleWord: true, special: false),
        ]))
        XCTAssertEqual(try t.encode("x [E1] y", maxLength: nil).ids, [2, 1, 32, 1, 3])
        XCTAssertEqual(try t.encode("x[E1]y", maxLength: nil).ids, [2, 1, 32, 1, 3])
        // normalized=true: matched after lowercasing.
        XCTAssertEqual(try t.encode("Hello World", maxLength: nil).ids, [2, 33, 3])
        // single_word: not inside "xab" or before "_" (a \w char); fine before "." and inside "( )".
        XCTAssertEqual(try t.encode("ab xab ab_ ab. (ab)", maxLength: nil).ids, [2, 34, 1, 17, 20, 1, 34, 15, 1, 34, 1, 3])
        XCTAssertEqual(try t.encode("[E1]  [E1]", maxLength: nil).ids, [2, 32, 32, 3])
        XCTAssertEqual(t.vocabularySize, 35)
    }

    func testSpecialTokensMatchInRawText() throws {
        let t = try TinyTokenizer.make(TinyTokenizer.json())
        XCTAssertEqual(try t.encode("hello [SEP] world[CLS]", maxLength: nil).ids, [2, 5, 3, 6, 2, 3])
    }

    func testNewTokenIDsFollowTheVocabulary() throws {
        var b = AddedVocabularyBuilder()
        let m = TokenizerModel.wordPiece(try WordPiece(vocab: VocabularyEntries(["[UNK]", "a", "b"]), unkToken: "[UNK]", continuingSubwordPrefix: "##", maxInputCharsPerWord: 100))
        try b.add([AddedToken(content: "a", special: true), AddedToken(content: "<x>", special: true),
                   AddedToken(content: "<y>", special: false), AddedToken(content: "<x>", special: true)], model: m)
        XCTAssertEqual(b.tokenToID("a", model: m), 1)
        XCTAssertEqual(b.tokenToID("<x>", model: m), 3)
        XCTAssertEqual(b.tokenToID("<y>", model: m), 4)
    }
}
