import CECore
import CEFormats
import CEImport
import CETestSupport
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
        print("hostile scale: 50,000 added tokens loaded in \(String(format: "%.2f", seconds)) s")
    }
}

/// A model whose files allow 65,536 positions by default: refused at load with a typed error rather than
/// sizing attention scratch for 65,536² scores per worker (16 GiB).
final class HostileSequenceLengthTests: XCTestCase {
    func testDefaultMaxLengthAboveTheCapIsRefused() throws {
        let src = repositoryRoot().appendingPathComponent("golden/models/tiny-bert-l1")
        let dir = try makeTemporaryDirectory("cetool-hostile-len")
        defer { try? FileManager.default.removeItem(at: dir) }
        let positions = 65_536
        var config = try String(contentsOf: src.appendingPathComponent("config.json"), encoding: .utf8)
        config = config.replacingOccurrences(of: "\"max_position_embeddings\": 128", with: "\"max_position_embeddings\": \(positions)")
        try config.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try Data(#"{"tokenizer_class": "BertTokenizer", "model_max_length": 65536}"#.utf8)
            .write(to: dir.appendingPathComponent("tokenizer_config.json"))
        try FileManager.default.copyItem(at: src.appendingPathComponent("tokenizer.json"), to: dir.appendingPathComponent("tokenizer.json"))
        let original = try Safetensors.File(path: src.appendingPathComponent("model.safetensors").path)
        var b = SafetensorsBuilder()
        for name in original.names {
            let t = try original.tensor(name)
            if name.hasSuffix("position_embeddings.weight") {
                let hidden = t.shape.dims[1]
                b.add(name, floats: [Float](repeating: 0, count: positions * hidden), shape: [positions, hidden])
            } else {
                b.addRaw(name, dtype: "F32", shape: t.shape.dims, data: Array(t.storage.bytes))
            }
        }
        try Data(b.bytes()).write(to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ModelDirectory.load(dir)) {
            XCTAssertEqual($0 as? ImportError, .invalidMaxLength(positions, limit: ModelDirectory.maxSequenceLength))
        }
        XCTAssertEqual(try ModelDirectory.load(dir, maxLength: 4096).defaultMaxLength, 4096)
    }
}
