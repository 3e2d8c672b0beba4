import CETokenizers
import Foundation
import XCTest

/// Hostile inputs too large to commit, built in memory: counts that a quadratic loader would turn into a stall.
final class HostileScaleTests: XCTestCase {
    /// tokenizer.json with `count` added tokens on a three-entry WordPiece vocabulary.
    func tokenizerJSON(addedTokens count: Int) -> Data {
        var added: [String] = []
        added.reserveCapacity(count + 1)
        added.append(#"{"id":0,"content":"[UNK]","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":true}"#)
        for i in 1...count {
            added.append(#"{"id":\#(i + 2),"content":"<t\#(i)>","single_word":false,"lstrip":false,"rstrip":false,"normalized":false,"special":\#(i % 2 == 0)}"#)
        }
        let text = #"{"version":"1.0","added_tokens":["# + added.joined(separator: ",")
            + #"],"normalizer":null,"pre_tokenizer":{"type":"WhitespaceSplit"},"post_processor":null,"#
            + ###""model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"###
            + ###""vocab":{"[UNK]":0,"a":1,"##a":2}}}"###
        return Data(text.utf8)
    }

    func testFiftyThousandAddedTokensLoadInLinearTime() throws {
        let start = Date()
        let t = try Tokenizer(tokenizerJSON: tokenizerJSON(addedTokens: 50_000), tokenizerConfigJSON: nil)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(t.tokenID("<t49999>"), 50_001)
        XCTAssertEqual(try t.encode("a <t7> aa", maxLength: nil).ids, [1, 9, 1, 2])
        XCTAssertLessThan(seconds, 30, "50,000 added tokens took \(seconds) s to load")
        print("hostile scale: 50,000 added tokens loaded in \(String(format: "%.2f", seconds)) s")
    }
}
