import CECore
import Foundation
import XCTest
@testable import CETokenizers

/// XLM-R folders without tokenizer.json: sentencepiece.bpe.model read as transformers 5.23 reads it
/// (`TokenizersBackend._convert_from_sentencepiece`, `XLMRobertaConverter.convert_from_spm`). The ids of the 2,947
/// corpus cases are GoldenCorpusTests.testUnigramXLMRobertaFromSentencePieceModel; this checks the layout and the
/// refusals.
final class SentencePieceModelTests: XCTestCase {
    static let folder = GoldenCorpusTests.repoRoot.appendingPathComponent("golden/models/unigram-xlmr-spm")

    // MARK: a protobuf writer for hand-made model files

    private func varint(_ v: UInt64) -> [UInt8] {
        var v = v
        var out: [UInt8] = []
        repeat {
            let b = UInt8(v & 0x7F)
            v >>= 7
            out.append(v == 0 ? b : b | 0x80)
        } while v != 0
        return out
    }
    private func key(_ field: Int, _ wire: Int) -> [UInt8] { varint(UInt64(field << 3 | wire)) }
    private func bytesField(_ field: Int, _ payload: [UInt8]) -> [UInt8] { key(field, 2) + varint(UInt64(payload.count)) + payload }
    private func piece(_ text: [UInt8], score: Float, type: Int? = nil) -> [UInt8] {
        let bits = score.bitPattern
        var body = bytesField(1, text) + key(2, 5) + [UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24)]
        if let type { body += key(3, 0) + varint(UInt64(type)) }
        return bytesField(1, body)
    }

    private func assertInvalid(_ bytes: [UInt8], field: String, _ line: UInt = #line) {
        XCTAssertThrowsError(try SentencePieceModel(data: Data(bytes)), line: line) {
            guard case .invalidField(let file, let f, _)? = $0 as? TokenizerError else { return XCTFail("\($0)", line: line) }
            XCTAssertEqual(file, "sentencepiece.bpe.model", line: line)
            XCTAssertEqual(f, field, line: line)
        }
    }

    func testRealModelFileLayout() throws {
        XCTAssertFalse(FileManager.default.fileExists(atPath: Self.folder.appendingPathComponent("tokenizer.json").path))
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("sentencepiece.bpe.model"))
        let model = try SentencePieceModel(data: data)
        // make_tokenizers_bpe_unigram.py trains 3,000 pieces: <unk> <s> </s>, the user-defined [Q] [D], then normal ones.
        XCTAssertEqual(model.pieces.count, 3000)
        XCTAssertEqual(model.pieces.prefix(5).map { String(decoding: $0.bytes, as: UTF8.self) }, ["<unk>", "<s>", "</s>", "[Q]", "[D]"])
        XCTAssertEqual(model.pieces.prefix(6).map(\.pieceType), [.unknown, .control, .control, .userDefined, .userDefined, .normal])
        XCTAssertTrue(model.pieces.dropFirst(5).allSatisfy { $0.pieceType == .normal && $0.score < 0 })
        // The charsmap is sentencepiece's nmt_nfkc, the one unigram-xlmr's tokenizer.json carries (same trainer settings).
        let charsmap = try PrecompiledCharsMap(bytes: try XCTUnwrap(model.precompiledCharsmap), field: "x")
        let hubJSON = try JSONValue.parse(Data(contentsOf: GoldenCorpusTests.repoRoot
            .appendingPathComponent("golden/models/unigram-xlmr/tokenizer.json")), file: "tokenizer.json")
        XCTAssertEqual(charsmap, try TransformersLoader.firstPrecompiled(hubJSON["normalizer"]))

        // The fairseq layout: <s> <pad> </s> <unk>, SentencePiece's pieces from its fourth on (ids + 1), <mask> last.
        let tok = try Tokenizer.load(directory: Self.folder)
        XCTAssertEqual(tok.vocabularySize, 3002)
        XCTAssertEqual(["<s>", "<pad>", "</s>", "<unk>", "[Q]", "[D]", "<mask>"].map { tok.tokenID($0) }, [0, 1, 2, 3, 4, 5, 3001])
        XCTAssertEqual(tok.tokenID(String(decoding: model.pieces[2999].bytes, as: UTF8.self)), 3000)
        XCTAssertEqual(tok.padTokenID, 1)
        XCTAssertEqual(tok.modelMaxLength, 512)
        // User-defined pieces are added tokens matched in the raw text; pairs get </s></s> between members.
        XCTAssertEqual(try tok.encode("x[Q]y", "[D]", maxLength: nil).ids.first, 0)
        XCTAssertTrue(try tok.encode("x[Q]y", "[D]", maxLength: nil).ids.contains(4))
        let pair = try tok.encode("a", "b", maxLength: nil).ids
        XCTAssertEqual(pair.filter { $0 == 2 }.count, 3)

        // Named special tokens from tokenizer_config.json name the four leading entries, as convert_from_spm reads them.
        let config = TinyTokenizer.data(["tokenizer_class": "XLMRobertaTokenizer", "pad_token": "<padding>"])
        let renamed = try Tokenizer(files: TokenizerFiles(tokenizerConfigJSON: config, sentencePieceModel: data))
        XCTAssertEqual(renamed.tokenID("<padding>"), 1)
        XCTAssertNil(renamed.tokenID("<pad>"))
        XCTAssertEqual(renamed.padTokenID, 1)
    }

    func testHandMadeFiles() throws {
        // Unknown fields of every wire type are skipped; a repeated normalizer_spec merges (last charsmap wins).
        // trainer_spec is decoded (model_prefix, unk_id) but not read.
        let trainer = bytesField(2, Array("m".utf8)) + key(40, 0) + varint(7)
        var file = bytesField(2, trainer) + piece(Array("<unk>".utf8), score: 0, type: 2)
        file += key(99, 0) + varint(300) + key(98, 1) + [UInt8](repeating: 1, count: 8) + key(97, 5) + [0, 0, 0, 0]
        file += piece(Array("▁a".utf8), score: -1.5) + piece([], score: -2)
        file += bytesField(3, bytesField(1, Array("nmt_nfkc".utf8)) + bytesField(2, [9, 9]))
        file += bytesField(3, bytesField(2, [1, 2, 3]) + key(3, 0) + varint(0))
        let m = try SentencePieceModel(data: Data(file))
        XCTAssertEqual(m.pieces.map(\.bytes), [Array("<unk>".utf8), Array("▁a".utf8), []])
        XCTAssertEqual(m.pieces.map(\.score), [0, -1.5, -2])
        XCTAssertEqual(m.pieces.map(\.type), [2, 1, 1])
        XCTAssertEqual(m.precompiledCharsmap, [1, 2, 3])
        // An empty charsmap (an identity normalizer) is no normalizer; an empty file is a model without pieces.
        XCTAssertNil(try SentencePieceModel(data: Data(bytesField(3, bytesField(2, [])))).precompiledCharsmap)
        XCTAssertEqual(try SentencePieceModel(data: Data()).pieces.count, 0)
        // With no pieces the tokenizer is the five specials alone, as XLMRobertaConverter.convert_from_spm builds it.
        let empty = try Tokenizer(files: TokenizerFiles(tokenizerConfigJSON: TinyTokenizer.data(["tokenizer_class": "XLMRobertaTokenizer"]),
                                                        sentencePieceModel: Data()))
        XCTAssertEqual(empty.vocabularySize, 5)
        XCTAssertEqual(try empty.encode("hello", maxLength: nil).ids, [0, 3, 2])

        // Malformed files: a typed error naming the file and the field. What protobuf-c refuses (wire-level damage) is
        // named `ModelProto`; what it accepts and cetool's limits refuse names the piece.
        let good = piece(Array("ab".utf8), score: -1)
        assertInvalid(Array(good.dropLast(2)), field: "ModelProto")
        assertInvalid(Array(good.prefix(1)), field: "ModelProto")
        assertInvalid(key(1, 2) + varint(1 << 40), field: "ModelProto")
        assertInvalid(key(1, 0) + varint(5), field: "ModelProto")
        assertInvalid(key(5, 3), field: "ModelProto")
        assertInvalid([UInt8](repeating: 0xFF, count: 11), field: "ModelProto")
        assertInvalid(key(0, 0) + [0], field: "ModelProto")
        assertInvalid(key(98, 1) + [1, 2, 3], field: "ModelProto")
        // protobuf-c refuses a known field with the wrong wire type in any message, trainer_spec.model_type (an enum) as
        // length-delimited included, where C++ and Python protobuf keep it as an unknown field (formats/tokenizer.md).
        assertInvalid(bytesField(2, bytesField(3, [0x08])), field: "ModelProto")
        assertInvalid(piece([0x61, 0xFF], score: 0), field: "pieces[0].piece")
        assertInvalid(piece(Array("a".utf8), score: .nan), field: "pieces[0].score")
        assertInvalid(piece(Array("a".utf8), score: .infinity), field: "pieces[0].score")
        assertInvalid(bytesField(1, key(2, 0) + varint(1)), field: "ModelProto")
        assertInvalid(bytesField(1, key(3, 2) + varint(0)), field: "ModelProto")
        assertInvalid(bytesField(1, bytesField(1, [UInt8](repeating: 0x61, count: Unigram.maxPieceBytes + 1))), field: "pieces[0].piece")
        assertInvalid(bytesField(3, key(2, 0) + varint(1)), field: "ModelProto")
        // A charsmap that is not a darts-clone trie is refused when the normalizer is built, naming the file.
        let badMap = bytesField(3, bytesField(2, [0xFF, 0, 0, 0, 1]))
        XCTAssertThrowsError(try Tokenizer(files: TokenizerFiles(
            tokenizerConfigJSON: TinyTokenizer.data(["tokenizer_class": "XLMRobertaTokenizer"]), sentencePieceModel: Data(badMap)))) {
            XCTAssertEqual(($0 as? TokenizerError).map { "\($0)" }?.hasPrefix("sentencepiece.bpe.model: field \"normalizer_spec.precompiled_charsmap\""), true, "\($0)")
        }

        // A truncated copy of the real file is refused, never half-read.
        let real = try Data(contentsOf: Self.folder.appendingPathComponent("sentencepiece.bpe.model"))
        // (normalizer_spec, with its 240,007-byte charsmap, is the file's last field: each cut lands inside it.)
        for cut in [real.count - 100_000, real.count - 1] {
            XCTAssertThrowsError(try Tokenizer(files: TokenizerFiles(modelConfigJSON: TinyTokenizer.data(["model_type": "xlm-roberta"]),
                                                                     sentencePieceModel: real.prefix(cut)))) {
                guard case .invalidField(let file, _, _)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
                XCTAssertEqual(file, "sentencepiece.bpe.model")
            }
        }
    }

    func testOnlyXLMRobertaClassesReadTheModelFile() throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("sentencepiece.bpe.model"))
        // Classes built from other files (or refused) name tokenizer.json when only the SentencePiece model is there.
        for config in [["tokenizer_class": "RobertaTokenizer"], ["tokenizer_class": "BertTokenizer"],
                       ["tokenizer_class": "PreTrainedTokenizerFast"]] {
            XCTAssertThrowsError(try Tokenizer(files: TokenizerFiles(tokenizerConfigJSON: TinyTokenizer.data(config),
                                                                     sentencePieceModel: data)), "\(config)") {
                guard case .missingFile(let name, _)? = $0 as? TokenizerError else { return XCTFail("\($0)") }
                XCTAssertEqual(name, "tokenizer.json")
            }
        }
        XCTAssertThrowsError(try Tokenizer(files: TokenizerFiles(tokenizerConfigJSON: TinyTokenizer.data(["tokenizer_class": "AlbertTokenizer"]),
                                                                 sentencePieceModel: data))) {
            XCTAssertEqual($0 as? TokenizerError, .unsupportedTokenizerClass(name: "AlbertTokenizer"))
        }
        // Named by the class or by config.json's model_type: the same tokenizer.
        let byClass = try Tokenizer(files: TokenizerFiles(tokenizerConfigJSON: TinyTokenizer.data(["tokenizer_class": "XLMRobertaTokenizerFast"]),
                                                          sentencePieceModel: data))
        let byType = try Tokenizer.load(directory: Self.folder)
        for text in ["Hello wörld [Q]", "  spaced   out ", "日本語のテキスト 🤖"] {
            XCTAssertEqual(try byClass.encode(text, "doc", maxLength: 12).ids, try byType.encode(text, "doc", maxLength: 12).ids)
        }
        // tokenizer.json wins over the SentencePiece model when both are there (transformers reads tokenizer.json).
        let json = try Data(contentsOf: GoldenCorpusTests.repoRoot.appendingPathComponent("golden/models/unigram-xlmr/tokenizer.json"))
        let both = try Tokenizer(files: TokenizerFiles(tokenizerJSON: json, tokenizerConfigJSON: TinyTokenizer.data(["tokenizer_class": "XLMRobertaTokenizer"]),
                                                       sentencePieceModel: Data([0xFF])))
        XCTAssertNil(both.tokenID("[Q]"))
    }

    /// CamembertTokenizer's own rules on hub-era tokenizer.json (what transformers 5.23 gave for the same files):
    /// the NOTUSED trio is added only when tokenizer_config.json names no extra tokens, the unk id is the unk token's
    /// first vocabulary entry (0 when it has none), and from the SentencePiece model the vocabulary is
    /// `<s>NOTUSED <pad> </s>NOTUSED <unk> <unk>NOTUSED`, the pieces from the second on, then `<mask>`.
    func testCamembertRules() throws {
        let hub = GoldenCorpusTests.repoRoot.appendingPathComponent("golden/models/unigram-camembert-hub")
        let json = try Data(contentsOf: hub.appendingPathComponent("tokenizer.json"))
        func tokenizer(_ config: [String: Any]) throws -> Tokenizer {
            try Tokenizer(files: TokenizerFiles(tokenizerJSON: json, tokenizerConfigJSON: TinyTokenizer.data(config)))
        }
        let text = "<s>NOTUSED x \u{2603}"
        let plain = try tokenizer(["tokenizer_class": "CamembertTokenizer"])
        XCTAssertEqual(plain.tokenID("<s>NOTUSED"), 0)
        XCTAssertEqual(Array(try plain.encode(text, maxLength: nil).ids.prefix(2)), [5, 0], "the NOTUSED trio is added")
        XCTAssertEqual(try plain.encode(text, maxLength: nil).ids.filter { $0 == 3 }.count, 1, "☃ is <unk>, id 3")
        let none = try tokenizer(["tokenizer_class": "CamembertTokenizer", "additional_special_tokens": [String]()])
        XCTAssertGreaterThan(try none.encode(text, maxLength: nil).ids.count, try plain.encode(text, maxLength: nil).ids.count + 4,
                             "an explicit empty list adds no NOTUSED token: the text is split into pieces")
        let oov = try tokenizer(["tokenizer_class": "CamembertTokenizer", "unk_token": "<oov>"])
        XCTAssertEqual(oov.vocabularySize, plain.vocabularySize + 1, "<oov> is added")
        XCTAssertEqual(try oov.encode("\u{2603}", maxLength: nil).ids, [5, 15, 0, 6], "unk id 0: <oov> is not in the vocabulary")
        // XLMRobertaTokenizer on the same file keeps unk id 3 and adds no NOTUSED tokens.
        let xlmr = try tokenizer(["tokenizer_class": "XLMRobertaTokenizer", "unk_token": "<oov>"])
        XCTAssertEqual(try xlmr.encode("\u{2603}", maxLength: nil).ids, [5, 15, 3, 6])

        let spm = try Tokenizer.load(directory: GoldenCorpusTests.repoRoot.appendingPathComponent("golden/models/unigram-camembert-spm"))
        let model = try SentencePieceModel(data: Data(contentsOf: Self.folder.appendingPathComponent("sentencepiece.bpe.model")))
        XCTAssertEqual(spm.vocabularySize, model.pieces.count + 5)
        XCTAssertEqual(["<s>NOTUSED", "<pad>", "</s>NOTUSED", "<unk>", "<unk>NOTUSED", "<s>", "</s>", "[Q]", "<mask>"].map { spm.tokenID($0) },
                       [0, 1, 2, 3, 4, 5, 6, 7, Int32(model.pieces.count + 4)])
        XCTAssertEqual(spm.padTokenID, 1)
        XCTAssertEqual(Array(try spm.encode("x", "y", maxLength: nil).ids.filter { $0 == 5 || $0 == 6 }), [5, 6, 6, 6])
    }

    /// The Unigram trie (open addressing, grown from a tiny table here so every doubling runs) against a dictionary
    /// and a brute-force prefix scan, on seeded random keys with shared prefixes, repeats and an empty key.
    func testUnigramTrieMatchesADictionary() {
        var seed: UInt64 = 0x5EED
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 33 }
        var trie = UnigramTrie(expectedNodes: 1)
        var dict: [[UInt8]: Int32] = [:]
        var keys: [[UInt8]] = [[]]
        for _ in 0..<5000 {
            let len = Int(next() % 9)
            keys.append((0..<len).map { _ in UInt8(truncatingIfNeeded: 0x61 + next() % 5 + (next() % 40 == 0 ? 0x80 : 0)) })
        }
        for (id, k) in keys.enumerated() {
            XCTAssertEqual(trie.insert(k, value: Int32(id)), dict[k] == nil)
            dict[k] = Int32(id)
        }
        for (k, id) in dict { XCTAssertEqual(trie.lookup(k, 0..<k.count), id) }
        for _ in 0..<500 {
            let probe = (0..<Int(next() % 12)).map { _ in UInt8(truncatingIfNeeded: 0x61 + next() % 6) }
            XCTAssertEqual(trie.lookup(probe, 0..<probe.count), dict[probe])
            for start in 0..<probe.count {
                var seen: [(Int, Int32)] = []
                trie.forEachPrefix(of: probe, from: start) { seen.append(($0, $1)) }
                let expected = (start + 1...probe.count).compactMap { end in dict[Array(probe[start..<end])].map { (end, $0) } }
                XCTAssertEqual(seen.map(\.0), expected.map(\.0))
                XCTAssertEqual(seen.map(\.1), expected.map(\.1))
            }
        }
    }
}
