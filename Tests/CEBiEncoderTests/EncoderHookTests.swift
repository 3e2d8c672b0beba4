import CECore
import CEGraph
import CEImport
import CERetrieve
import CERuntime
import CETestSupport
import Foundation
import XCTest

/// The encoder hook (Executor.hiddenStates) on one tiny model per architecture, against transformers' trunk
/// (golden/bi/hidden/, golden/make_hidden_goldens.py): with the model's head in the graph, and imported as the bare
/// encoder (config.json architectures = BertModel, RobertaModel, …; the head's tensors left unused).
final class EncoderHookTests: XCTestCase {
    static let models: [(String, String)] = [("tiny-bert-l1", "BertModel"), ("tiny-roberta", "RobertaModel"), ("tiny-xlmr", "XLMRobertaModel"),
                                             ("tiny-distilbert", "DistilBertModel"), ("tiny-electra", "ElectraModel"),
                                             ("tiny-modernbert", "ModernBertModel")]

    func hidden(_ model: ImportedModel, _ texts: [String]) throws -> HiddenStates {
        let executor = try Executor(graph: model.graph, activations: .fp32)
        let enc = try texts.map { try model.tokenizer.encode($0, maxLength: model.defaultMaxLength) }
        return try executor.hiddenStates(enc.map { TokenSequence(ids: $0.ids, typeIDs: $0.typeIDs) })
    }

    func check(_ h: HiddenStates, _ g: JSONValue, _ label: String) -> Float {
        XCTAssertEqual([h.batch, h.tokens, h.channels], Golden.shape(g["last_hidden_state"]!), label)
        XCTAssertEqual(h.attentionMask, Golden.ids(g["attention_mask"]!).flatMap { $0 }, label)
        let ref = Golden.floats(g["last_hidden_state"]!)
        guard ref.count == h.values.count else { XCTFail(label); return .infinity }
        let real = h.values.indices.filter { h.attentionMask[$0 / h.channels] == 1 }
        let dev = maxAbsDiff(real.map { h.values[$0] }, real.map { ref[$0] })
        XCTAssertLessThanOrEqual(dev, EmbeddingProfile.fp32.embeddingAbs, label)
        return dev
    }

    func testEveryArchitectureWithHeadAndBare() throws {
        var worst: Float = 0
        for (name, bare) in Self.models {
            let g = try Golden.load("hidden/\(name).json")
            let texts = g["texts"]!.arrayValue!.map { $0.stringValue! }
            let src = Golden.root.appendingPathComponent("golden/models/\(name)")
            let withHead = try ModelDirectory.load(src)
            XCTAssertFalse(withHead.graph.isEncoderOnly)
            let enc = try texts.map { try withHead.tokenizer.encode($0, maxLength: withHead.defaultMaxLength) }
            let refIDs = Golden.ids(g["input_ids"]!), mask = Golden.ids(g["attention_mask"]!)
            for (r, e) in enc.enumerated() { XCTAssertEqual(e.ids, Array(refIDs[r].prefix(mask[r].reduce(0) { $0 + Int($1) })), "\(name) \(r)") }
            worst = max(worst, check(try hidden(withHead, texts), g, name))

            // The same checkpoint as a bare encoder: config.json's architecture replaced, nothing else.
            let dir = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            for f in try FileManager.default.contentsOfDirectory(atPath: src.path) {
                try FileManager.default.copyItem(at: src.appendingPathComponent(f), to: dir.appendingPathComponent(f))
            }
            let cfg = try String(contentsOf: src.appendingPathComponent("config.json"), encoding: .utf8)
            let arch = withHead.config.architectureName
            try cfg.replacingOccurrences(of: "\"\(arch)\"", with: "\"\(bare)\"").write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
            let encoder = try ModelDirectory.load(dir)
            XCTAssertTrue(encoder.graph.isEncoderOnly, name)
            XCTAssertEqual(encoder.graph.hyperparameters.numLabels, 0)
            XCTAssertFalse(encoder.graph.weights.keys.contains { $0.hasPrefix("cls.") }, name)
            XCTAssertFalse(encoder.graph.ops.contains(.classify), name)
            worst = max(worst, check(try hidden(encoder, texts), g, "\(name) as \(bare)"))
            XCTAssertThrowsError(try CrossEncoder(modelDirectory: dir)) {
                XCTAssertEqual($0 as? CrossEncoderError, .encoderWithoutHead(architecture: encoder.graph.architecture.rawValue), name)
            }
        }
        print("encoder hook vs transformers' trunk, 6 architectures with and without head: max |diff| \(worst)")
    }
}
