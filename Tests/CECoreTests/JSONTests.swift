import CECore
import CETestSupport
import XCTest

final class JSONTests: XCTestCase {
    func testParsesValuesInOrder() throws {
        let v = try JSONParser.parse(#"{"b": [1, -2.5e1, true, null], "a": "x\u00e9\ud83d\ude00\n"}"#)
        XCTAssertEqual(v.objectValue?.map(\.0), ["b", "a"])
        XCTAssertEqual(v["b"], .array([.int(1), .double(-25), .bool(true), .null]))
        XCTAssertEqual(v["a"]?.stringValue, "xé😀\n")
    }

    func testRefusesDuplicateKeys() {
        XCTAssertThrowsError(try JSONParser.parse(#"{"a": 1, "a": 2}"#)) {
            XCTAssertEqual($0 as? JSONError, .duplicateKey("a", offset: 9))
        }
        // Large objects: the first repeat in order, at its own offset, whether it repeats an early or a
        // late key; keys equal as bytes only (NFC and NFD spellings differ).
        for (n, repeated) in [(40, 3), (40, 30), (17, 16), (17, 0)] {
            var text = "{"
            var offset = 0
            for k in 0..<n {
                text += "\"k\(k)\": \(k), "
            }
            offset = text.utf8.count
            text += "\"k\(repeated)\": 0, \"k\(repeated)\": 1}"
            XCTAssertThrowsError(try JSONParser.parse(text), "\(n) members, k\(repeated) repeated") {
                XCTAssertEqual($0 as? JSONError, .duplicateKey("k\(repeated)", offset: offset))
            }
            XCTAssertEqual(try JSONParser.parse(text, lastKeyWins: true)["k\(repeated)"], .int(1))
        }
        let distinct = "{" + (0..<100).map { "\"k\($0)\": \($0)" }.joined(separator: ", ") + ", \"e\u{301}\": 1, \"\u{e9}\": 2}"
        XCTAssertEqual(try JSONParser.parse(distinct).objectValue?.count, 102)
    }

    func testRefusesDeepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertThrowsError(try JSONParser.parse(deep)) {
            guard case .tooDeep(let limit, _)? = $0 as? JSONError else { return XCTFail("\($0)") }
            XCTAssertEqual(limit, JSONParser.defaultMaxDepth)
        }
    }

    func testRefusesMalformedInput() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\ud800\"", "\"\u{01}\"", "nul", "[1] x", "\"\\x\""] {
            XCTAssertThrowsError(try JSONParser.parse(bad), "accepted \(bad.debugDescription)")
        }
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xFF, 0x22])) { XCTAssertEqual($0 as? JSONError, .invalidUTF8(offset: 1)) }
        // the same after an escape (the copying path)
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0x5C, 0x6E, 0xFF, 0x22])) { XCTAssertEqual($0 as? JSONError, .invalidUTF8(offset: 3)) }
    }

    func testLargeIntegersStayExactOrBecomeDouble() throws {
        XCTAssertEqual(try JSONParser.parse("9007199254740993"), .int(9_007_199_254_740_993))
        XCTAssertEqual(try JSONParser.parse("18446744073709551615"), .double(18446744073709551615.0))
        XCTAssertNil(try JSONParser.parse("18446744073709551615").intValue)
        // around the short-integer path (at most 18 characters) and the text path beyond it
        for text in ["0", "-0", "7", "-7", "123456789012345678", "-12345678901234567", "999999999999999999",
                     "-999999999999999999", "9223372036854775807", "-9223372036854775808"] {
            XCTAssertEqual(try JSONParser.parse(text), .int(Int64(text)!), text)
        }
        XCTAssertEqual(try JSONParser.parse("9223372036854775808"), .double(9223372036854775808.0))
        XCTAssertEqual(try JSONParser.parse("[10,-20]"), .array([.int(10), .int(-20)]))
    }

    func testWriterRoundTrips() throws {
        let v = JSONValue.object([("q", .string("a\"b\\c\u{1}\n")), ("n", .array([.int(3), .double(0.5), .null, .bool(false)]))])
        XCTAssertEqual(try JSONParser.parse(JSONWriter.write(v)), v)
        XCTAssertEqual(JSONWriter.number(Float(0.1)), "0.1")
        XCTAssertEqual(JSONWriter.number(Float.nan), "null")
    }
}

final class HalfTests: XCTestCase {
    func testHalfAndBFloat16Widening() {
        XCTAssertEqual(floatFromHalfBits(0x3C00), 1)
        XCTAssertEqual(floatFromHalfBits(0xC000), -2)
        XCTAssertEqual(floatFromHalfBits(0x7BFF), 65504)
        XCTAssertEqual(floatFromHalfBits(0x0001), Float(bitPattern: 0x3380_0000)) // 2^-24, smallest subnormal
        XCTAssertEqual(floatFromHalfBits(0x7C00), .infinity)
        XCTAssertTrue(floatFromHalfBits(0x7E00).isNaN)
        XCTAssertEqual(floatFromBFloat16Bits(0x3F80), 1)
        XCTAssertEqual(floatFromBFloat16Bits(0xC0A0), -5)
        // Every finite half widens to a float that Float16 agrees with.
        for bits in stride(from: UInt16(0), to: 0x7C00, by: 7) {
            XCTAssertEqual(floatFromHalfBits(bits), Float(Float16(bitPattern: bits)))
        }
    }
}

final class JSONKeyTests: XCTestCase {
    /// "é" (U+00E9) and "e" + U+0301 are equal as Swift Strings but distinct JSON keys (and distinct
    /// vocabulary entries in tokenizer.json).
    func testCanonicallyEquivalentKeysAreDistinct() throws {
        let v = try JSONParser.parse("{\"\u{e9}\": 1, \"e\u{301}\": 2}")
        XCTAssertEqual(v["\u{e9}"], .int(1))
        XCTAssertEqual(v["e\u{301}"], .int(2))
    }

    func testLastKeyWinsWhenAsked() throws {
        let v = try JSONParser.parse(#"{"a": 1, "a": 2}"#, lastKeyWins: true)
        XCTAssertEqual(v["a"], .int(2))
        XCTAssertEqual(v.objectValue?.count, 2)
    }

    func testByteOrderMarkIsSkipped() throws {
        XCTAssertEqual(try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)), .array([.int(1)]))
    }
}

final class JSONDeferredTests: XCTestCase {
    private func parse(_ text: String, _ path: [String], lastKeyWins: Bool = true) throws -> (JSONValue, String?) {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { b in
            let (v, range) = try JSONParser.parse(b, lastKeyWins: lastKeyWins, deferring: path)
            return (v, range.map { String(decoding: bytes[$0], as: UTF8.self) })
        }
    }

    func testTheDeferredValueReadsAsNullAndItsBytesAreReturned() throws {
        let vocab = #"{"x": 1, "y\"z": [2, {"w": null}], "é": -3.5e2}"#
        let text = #"{"a": 1, "model": {"type": "X", "vocab": "# + vocab + #" , "z": 3}, "b": "model"}"#
        let (v, raw) = try parse(text, ["model", "vocab"])
        XCTAssertEqual(raw, vocab)
        XCTAssertEqual(v["model"]?["vocab"], .null)
        XCTAssertEqual(v["model"]?["z"], .int(3))
        XCTAssertEqual(v["b"]?.stringValue, "model")
        // the bytes parse to what the whole parse builds there
        let full = try JSONParser.parse(text, lastKeyWins: true)
        XCTAssertEqual(try JSONParser.parse(raw!, lastKeyWins: true), full["model"]?["vocab"])
        // a path that is not there, or only deeper down: nothing deferred, the tree as usual
        for (t, path) in [(text, ["model", "merges"]), (#"{"x": {"model": {"vocab": {}}}}"#, ["model", "vocab"]),
                          (#"{"model": [1, {"vocab": 2}]}"#, ["model", "vocab"])] {
            let (w, r) = try parse(t, path)
            XCTAssertNil(r, t)
            XCTAssertEqual(w, try JSONParser.parse(t, lastKeyWins: true), t)
        }
    }

    func testARepeatedKeyOnThePathIsRefusedEvenWhenLaterKeysWin() {
        for text in [#"{"model": {"vocab": {}, "vocab": {"a": 1}}}"#, #"{"model": {"vocab": {}}, "model": {}}"#,
                     #"{"model": {}, "model": {"vocab": {}}}"#] {
            XCTAssertThrowsError(try parse(text, ["model", "vocab"]), text) {
                guard case .duplicateKey? = $0 as? JSONError else { return XCTFail("\(text): \($0)") }
            }
        }
        // repeats off the path keep the usual rule
        XCTAssertEqual(try parse(#"{"a": 1, "a": 2, "model": {"vocab": 5}}"#, ["model", "vocab"]).1, "5")
    }

    func testTheSkippedValueMustStillBeWellFormed() {
        for vocab in [#"{"a" 1}"#, "[1,]", #"{"a": 1,}"#, #"{"a": tru}"#, #""abc"#, "{\"a\u{01}\": 1}", "01", "[" , "{\"a\": 1 2}",
                      String(repeating: "[", count: 300) + String(repeating: "]", count: 300)] {
            let text = #"{"model": {"vocab": "# + vocab + "}}"
            XCTAssertThrowsError(try parse(text, ["model", "vocab"]), vocab.debugDescription)
        }
    }

    func testMembersAreReadKeyByKeyWithEscapesDecoded() throws {
        let text = #"  {"plain": 1, "q\"uote\\": 2, "\u00e9t\u00e9": 3, "été": 4, "😀": [5], "": 6, "plain": 7}  "#
        let bytes = Array(("[" + text + "]").utf8)
        var seen: [(String, JSONValue)] = []
        try bytes.withUnsafeBytes { b in
            try JSONParser.forEachMember(b, range: 1..<(b.count - 1)) { key, value in
                seen.append((String(decoding: key, as: UTF8.self), value))
            }
        }
        XCTAssertEqual(seen.map(\.0), ["plain", "q\"uote\\", "été", "été", "😀", "", "plain"])
        XCTAssertEqual(seen.map(\.1), [.int(1), .int(2), .int(3), .int(4), .array([.int(5)]), .int(6), .int(7)])
        var count = 0
        try Array("{ }".utf8).withUnsafeBytes { b in try JSONParser.forEachMember(b, range: 0..<b.count) { _, _ in count += 1 } }
        XCTAssertEqual(count, 0)
    }

    func testMemberReadingRefusesWhatTheParserRefuses() {
        func read(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { b in try JSONParser.forEachMember(b, range: 0..<b.count) { _, _ in } }
        }
        // an invalid UTF-8 key, plain and after an escape, at its offset in the buffer
        XCTAssertThrowsError(try read(Array(#"{"a": 1, ""#.utf8) + [0xFF] + Array(#"": 2}"#.utf8))) {
            XCTAssertEqual($0 as? JSONError, .invalidUTF8(offset: 10))
        }
        XCTAssertThrowsError(try read(Array(#"{"\n"#.utf8) + [0xC3] + Array(#"": 2}"#.utf8)))
        for bad in ["[1]", #"{"a": 1} x"#, #"{"a": 1"#, #"{"a": 1,}"#, #"{"a" 1}"#, #"{a: 1}"#, "{\"a\u{01}\": 1}", #"{"\x": 1}"#, ""] {
            XCTAssertThrowsError(try read(Array(bad.utf8)), bad.debugDescription)
        }
    }
}
