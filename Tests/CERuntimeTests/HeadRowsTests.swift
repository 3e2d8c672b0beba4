import CECore
import CEGraph
import CEImport
@testable import CERuntime
import CETestSupport
import Foundation
import XCTest

/// The last block run for the rows the head reads (HeadRows.swift) gives the logits of the whole block, up to the
/// order of fp32 sums, on every architecture whose head reads one row per sequence; the others run it whole.
final class HeadRowsTests: XCTestCase {
    let pairs = [("how many people live in berlin", "Berlin has about 3.7 million inhabitants."),
                 ("a", "b"),
                 ("what is the longest river", Array(repeating: "The Nile and the Amazon both claim the title, and measurements differ by source.", count: 14).joined(separator: " ")),
                 ("x", "y z")]

    func source(_ name: String) throws -> ImportedModel {
        try ModelDirectory.load(repositoryRoot().appendingPathComponent("golden/models").appendingPathComponent(name))
    }

    func testLastBlockOnHeadRowsGivesTheWholeBlocksLogits() throws {
        let pruned = ["tiny-bert-l1", "tiny-roberta", "tiny-distilbert", "tiny-electra", "tiny-modernbert", "tiny-qwen3",
                      "tiny-qwen3-gqa4", "tiny-llama", "tiny-deberta-v3", "tiny-deberta-v2", "tiny-deberta-c2p"]
        for name in pruned + ["tiny-modernbert-mean"] {
            let ce = try CrossEncoder(model: try source(name), threads: 2)
            let seqs = try ce.encode(pairs).map { TokenSequence(ids: $0.ids, typeIDs: $0.typeIDs) }
            let batch = try Batch(seqs, graph: ce.model.graph, firstIndex: 0)
            let rows = Pass.headRows(ce.executor.ops, batch, ce.model.graph.hyperparameters)
            XCTAssertEqual(rows != nil, pruned.contains(name), name)
            if name == "tiny-modernbert" {
                // Longer than the local window, so the first token's window is narrower than its sequence.
                let m = try XCTUnwrap(ce.model.graph.hyperparameters.modernBERT)
                XCTAssertGreaterThan(seqs.map(\.ids.count).max() ?? 0, m.halfWindow + 1)
            }
            let fast = try ce.executor.logits(seqs)
            ce.executor.headRowsOnly = false
            let whole = try ce.executor.logits(seqs)
            ce.executor.headRowsOnly = true
            for (a, b) in zip(fast.joined(), whole.joined()) {
                XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), name)
            }
            if !pruned.contains(name) { XCTAssertEqual(fast, whole, "\(name): runs the whole block") }
        }
    }

    /// A decoder scores the last token that is not the pad id: trailing pads move the row the last block keeps, and an
    /// all-pad sequence keeps row 0.
    func testDecoderKeepsTheScoredRowBeforeTrailingPads() throws {
        let ce = try CrossEncoder(model: try source("tiny-qwen3"), threads: 2)
        let pad = Int32(try XCTUnwrap(ce.model.graph.hyperparameters.decoder?.poolPadTokenID))
        var seqs = try ce.encode(Array(pairs.prefix(2))).map { TokenSequence(ids: $0.ids, typeIDs: $0.typeIDs) }
        seqs.append(TokenSequence(ids: seqs[0].ids + [pad, pad, pad], typeIDs: seqs[0].typeIDs + [0, 0, 0]))
        seqs.append(TokenSequence(ids: [pad, pad], typeIDs: [0, 0]))
        let batch = try Batch(seqs, graph: ce.model.graph, firstIndex: 0)
        let rows = try XCTUnwrap(Pass.headRows(ce.executor.ops, batch, ce.model.graph.hyperparameters))
        XCTAssertEqual(rows[2] - batch.offsets[2], seqs[0].ids.count - 1)
        XCTAssertEqual(rows[3], batch.offsets[3])
        let fast = try ce.executor.logits(seqs)
        ce.executor.headRowsOnly = false
        let whole = try ce.executor.logits(seqs)
        for (a, b) in zip(fast.joined(), whole.joined()) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b))) }
        // The padded copy scores as the sequence without its pads.
        XCTAssertEqual(fast[2][0], fast[0][0], accuracy: 1e-5 * max(1, abs(fast[0][0])))
    }

    /// attentionRow is row r of the full attention of the same head, over any contiguous range of keys.
    func testAttentionRowIsARowOfAttention() {
        var rng = SeededRNG(seed: 41)
        for (len, dh) in [(1, 16), (7, 32), (37, 32), (130, 64)] {
            let ld = 3 * dh + 5
            let qkv = rng.floats(len * ld, scale: 2)
            var full = [Float](repeating: 0, count: len * dh)
            var scratch = [Float](repeating: 0, count: Kernels.attentionScratch(len: len, headDim: dh))
            qkv.withUnsafeBufferPointer { p in
                let base = p.baseAddress!
                Kernels.attention(q: base, k: base + dh, v: base + 2 * dh, ld: ld, out: &full, ldOut: dh, len: len, heads: 1,
                                  headDim: dh, scratch: &scratch)
                for r in Set([0, len / 2, len - 1]) {
                    var row = [Float](repeating: 0, count: dh)
                    Kernels.attentionRow(q: base + r * ld, k: base + dh, v: base + 2 * dh, ld: ld, keys: len, headDim: dh, out: &row,
                                         scratch: &scratch)
                    XCTAssertLessThan(maxAbsDiff(row, Array(full[(r * dh)..<((r + 1) * dh)])), 1e-5, "len \(len) dh \(dh) row \(r)")
                }
            }
        }
    }
}
