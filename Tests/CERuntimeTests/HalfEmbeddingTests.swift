import CECore
import CEGraph
import CEImport
import CEQuant
@testable import CERuntime
import CETestSupport
import Foundation
import XCTest

/// fp16 and bf16 token tables are planned as views of their stored rows and widened row by row as they are gathered
/// (a 150k-row vocabulary widened whole at load would be resident twice): every embedding op (BERT's, ModernBERT's,
/// DeBERTa-v2's, the decoders') gives bit for bit the logits of the same graph whose table was widened to fp32 first.
final class HalfEmbeddingTests: XCTestCase {
    func testHalfTokenTablesGatherAsWidenedTables() throws {
        let models = repositoryRoot().appendingPathComponent("golden/models")
        let pairs = [("how many people live in berlin", "Berlin has about 3.7 million inhabitants."),
                     ("a", "b c d e f g h i j k l m n o p q r s t u v w x y z, then more words than the first text")]
        for name in ["tiny-bert-l1", "tiny-modernbert", "tiny-deberta-v3", "tiny-qwen3"] {
            let source = try ModelDirectory.load(models.appendingPathComponent(name))
            for precision in [Quantize.Precision.fp16, .bf16] {
                var half = source
                half.graph = try Quantize.apply(precision, to: source.graph)
                let table = try XCTUnwrap(half.graph.weights[TensorName.tokenEmbedding.weight])
                XCTAssertEqual(table.dtype, precision == .fp16 ? .f16 : .bf16, name)
                var widened = half
                widened.graph.weights[TensorName.tokenEmbedding.weight] = Tensor(floats: try XCTUnwrap(table.floatValues()), shape: table.shape)
                let ce = try CrossEncoder(model: half, threads: 1)
                let planned = ce.executor.weights.decoder?.tokens ?? ce.executor.weights.embedding.tokens
                switch (planned, precision) {
                case (.f16, .fp16), (.bf16, .bf16): break
                default: XCTFail("\(name) \(precision): token table planned as \(planned)")
                }
                XCTAssertEqual(try ce.logits(pairs), try CrossEncoder(model: widened, threads: 1).logits(pairs), "\(name) \(precision)")
            }
        }
    }
}
