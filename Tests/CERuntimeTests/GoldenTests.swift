import CECore
import CEFormats
import CEGraph
import CERuntime
import CETestSupport
import CEVerify
import Foundation
import XCTest

/// Our runtime against the reference's recorded outputs (golden/*/golden*.json, made by
/// golden/make_goldens.py with PyTorch + sentence-transformers).
final class GoldenTests: XCTestCase {
    static let root = repositoryRoot()
    nonisolated(unsafe) static var encoders: [String: CrossEncoder] = [:]

    func goldenFiles() throws -> [String] {
        let golden = Self.root.appendingPathComponent("golden")
        let dirs = try FileManager.default.contentsOfDirectory(atPath: golden.path).sorted()
        var files: [String] = []
        for d in dirs {
            let sub = golden.appendingPathComponent(d)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: sub.path) else { continue }
            for n in names.sorted() where n.hasPrefix("golden") && n.hasSuffix(".json") { files.append(sub.appendingPathComponent(n).path) }
        }
        return files
    }

    /// The golden sets whose model is present. A model outside git (the real-size one) may be absent
    /// locally; with CETOOL_REQUIRE_MODELS=1 (make test, CI) that is a failure.
    func sets() throws -> [(GoldenSet, CrossEncoder)] {
        let files = try goldenFiles()
        XCTAssertFalse(files.isEmpty, "no golden files under golden/")
        var out: [(GoldenSet, CrossEncoder)] = []
        for f in files {
            let g = try GoldenSet.load(path: f)
            let dir = Self.root.appendingPathComponent(g.modelDirectory)
            guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) else {
                if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" {
                    XCTFail("model \(g.model) missing at \(dir.path): run `make models`")
                } else {
                    print("skipping \(f): model not present (make models)")
                }
                continue
            }
            // A causal-LM reranker (golden/tiny-qwen3-lm) is scored only once folded into a classifier: DecoderTests
            // checks it through `convert --fold-lm-head`.
            let config = try String(contentsOf: dir.appendingPathComponent("config.json"), encoding: .utf8)
            if config.contains("ForCausalLM\"") { continue }
            let key = "\(g.modelDirectory)#\(g.maxLength)"
            if Self.encoders[key] == nil {
                Self.encoders[key] = try CrossEncoder(modelDirectory: dir, maxLength: g.maxLength)
            }
            out.append((g, Self.encoders[key]!))
        }
        return out
    }

    func testTokenIDsMatchReference() throws {
        for (g, ce) in try sets() {
            let enc = try ce.encode(g.cases.map { ($0.query, $0.document) })
            var mismatched: [String] = []
            for (c, e) in zip(g.cases, enc) where e.ids != c.inputIDs || e.typeIDs != c.tokenTypeIDs || e.attentionMask != c.attentionMask {
                mismatched.append(c.id)
            }
            XCTAssertEqual(mismatched, [], "\(g.path): \(mismatched.count)/\(g.cases.count) cases differ in ids/type ids/mask")
            for b in g.batches {
                let be = try ce.tokenizer.encodeBatch(b.pairs, maxLength: g.maxLength)
                let rows = (0..<be.batchSize).map { Array(be.ids[($0 * be.sequenceLength)..<(($0 + 1) * be.sequenceLength)]) }
                let types = (0..<be.batchSize).map { Array(be.typeIDs[($0 * be.sequenceLength)..<(($0 + 1) * be.sequenceLength)]) }
                let masks = (0..<be.batchSize).map { Array(be.attentionMask[($0 * be.sequenceLength)..<(($0 + 1) * be.sequenceLength)]) }
                XCTAssertEqual(rows, b.inputIDs, "\(g.path) batch \(b.id) input_ids")
                XCTAssertEqual(types, b.tokenTypeIDs, "\(g.path) batch \(b.id) token_type_ids")
                XCTAssertEqual(masks, b.attentionMask, "\(g.path) batch \(b.id) attention_mask")
            }
        }
    }

    func testLogitsAndScoresMatchReference() throws {
        let profile = ToleranceProfile.fp32
        for (g, ce) in try sets() {
            XCTAssertEqual(ce.numLabels, g.numLabels)
            XCTAssertEqual(ce.activation.rawValue, g.activation, "\(g.path): activation")
            let pairs = g.cases.map { ($0.query, $0.document) }
            let logits = try ce.logits(pairs, batchSize: g.batchSize)
            // predictLabels = logits + the model's activation; run it end to end on a slice, and apply the
            // same activation to the logits for the rest (the forward pass is the costly part).
            let direct = try ce.predictLabels(Array(pairs.prefix(24)), batchSize: g.batchSize)
            let scores = direct + logits.dropFirst(direct.count).map { Scoring.apply(ce.activation, to: $0) }
            var worst: (Float, String) = (0, "")
            var failures = 0
            for (i, c) in g.cases.enumerated() {
                XCTAssertEqual(logits[i].count, c.logits.count)
                for (ours, ref) in zip(logits[i], c.logits) {
                    let err = abs(ours - ref)
                    if err / max(1, abs(ref)) > worst.0 { worst = (err / max(1, abs(ref)), c.id) }
                    if err > profile.logitBound(ref) { failures += 1 }
                }
                for (ours, ref) in zip(scores[i], c.scores) where abs(ours - ref) > profile.scoreBound(ref) {
                    failures += 1
                    XCTFail("\(g.path) \(c.id): score \(ours) vs reference \(ref)")
                }
            }
            XCTAssertEqual(failures, 0, "\(g.path): worst relative logit error \(worst.0) at \(worst.1)")
            print("golden \(g.model) (max_length \(g.maxLength)): \(g.cases.count) cases, max |Δlogit|/max(1,|ref|) = \(worst.0) at \(worst.1)")
            if !g.softmaxScores.isEmpty {
                // Several labels: a row per pair, names from id2label as the reference's config has them.
                XCTAssertEqual(ce.labels, g.labels, "\(g.path): id2label")
                XCTAssertEqual(g.labels.count, g.numLabels)
                XCTAssertThrowsError(try ce.predict(Array(pairs.prefix(1))), "predict needs one label; rows come from predictLabels")
                let soft = try ce.predictLabels(Array(pairs.prefix(48)), batchSize: g.batchSize, applySoftmax: true)
                XCTAssertTrue(soft.allSatisfy { $0.count == g.numLabels })
                for (row, ref) in zip(soft, g.softmaxScores) {
                    XCTAssertTrue(allClose(row, ref, atol: profile.scoreRelative), "\(g.path): softmax \(row) vs \(ref)")
                }
            }
        }
    }

    /// Every list in the reference's order and scores; topK on the first three lists of each set (it scores the
    /// whole list again, and the choice of the first k from the same scores needs no more lists).
    func testRankOrderMatchesReference() throws {
        for (g, ce) in try sets() where g.numLabels == 1 {
            for (n, r) in g.rankings.enumerated() {
                let ours = try ce.rank(query: r.query, documents: r.documents, returnDocuments: true, batchSize: g.batchSize)
                XCTAssertEqual(ours.map(\.corpusID), r.result.map(\.0), "\(g.path) ranking \(r.id): order differs")
                for (o, ref) in zip(ours, r.result) {
                    XCTAssertLessThanOrEqual(abs(o.score - ref.1), ToleranceProfile.fp32.scoreBound(ref.1), "\(g.path) ranking \(r.id)")
                    XCTAssertEqual(o.text, r.documents[o.corpusID])
                }
                guard n < 3 else { continue }
                let top3 = try ce.rank(query: r.query, documents: r.documents, topK: 3)
                XCTAssertEqual(top3.map(\.corpusID), Array(r.result.prefix(3).map(\.0)))
                XCTAssertTrue(top3.allSatisfy { $0.text == nil })
            }
        }
    }

    /// The reranker's golden must exist (its model is rebuilt by scripts/fetch_models.sh) and carry at least 20
    /// held-out ranked lists of 10-20 documents with relevance labels, so ranking metrics mean something.
    func testRerankerGoldenHasHeldOutLists() throws {
        let path = Self.root.appendingPathComponent("golden/minilm-l6-rr/golden.json").path
        let g = try GoldenSet.load(path: path)
        XCTAssertEqual(g.model, "minilm-l6-rr")
        XCTAssertEqual(g.modelDirectory, ".models/minilm-l6-rr")
        XCTAssertEqual(g.activation, "sigmoid")
        let lists = try JSONFile.load(path: path, limit: 256 << 20)["rankings"]?.arrayValue?.filter { $0["relevance"] != nil } ?? []
        XCTAssertGreaterThanOrEqual(lists.count, 20)
        for l in lists {
            let docs = l["documents"]?.arrayValue ?? []
            let relevance = l["relevance"]?.arrayValue?.compactMap(\.intValue) ?? []
            XCTAssertTrue((10...20).contains(docs.count), "\(l["id"]?.stringValue ?? "?"): \(docs.count) documents")
            XCTAssertEqual(relevance.count, docs.count)
            XCTAssertTrue(relevance.contains { $0 > 0 }, "\(l["id"]?.stringValue ?? "?"): no relevant document")
        }
    }

    /// Lists with relevance labels (minilm-l6-rr: text the model never saw in training): our ranking puts the
    /// first relevant document at the reference's rank in every list, and MRR@10 / NDCG@10 (binary relevance,
    /// log2(rank + 1) discounts) equal the reference's recorded figures.
    func testHeldOutRankingQualityMatchesReference() throws {
        var checkedSets = 0
        for (g, ce) in try sets() where g.numLabels == 1 {
            let json = try JSONFile.load(path: g.path, limit: 256 << 20)
            guard let quality = json["ranking_quality"] else { continue }
            let lists = json["rankings"]?.arrayValue?.filter { $0["relevance"] != nil } ?? []
            XCTAssertEqual(lists.count, quality["lists"]?.intValue, "\(g.path): ranking_quality.lists")
            var mrr = 0.0, ndcg = 0.0
            for l in lists {
                let id = try XCTUnwrap(l["id"]?.stringValue)
                let query = try XCTUnwrap(l["query"]?.stringValue)
                let documents = try XCTUnwrap(l["documents"]?.arrayValue).map { try XCTUnwrap($0.stringValue) }
                let relevance = try XCTUnwrap(l["relevance"]?.arrayValue).map { Double(try XCTUnwrap($0.intValue)) }
                let order = try ce.rank(query: query, documents: documents, batchSize: g.batchSize).map(\.corpusID)
                let first = try XCTUnwrap(order.firstIndex { relevance[$0] > 0 }) + 1
                XCTAssertEqual(first, quality["per_list"]?[id]?["first_relevant_rank"]?.intValue, "\(g.path) \(id): first relevant rank")
                mrr += first <= 10 ? 1 / Double(first) : 0
                let dcg = order.prefix(10).enumerated().reduce(0.0) { $0 + relevance[$1.element] / log2(Double($1.offset + 2)) }
                let relevantCount = min(10, relevance.filter { $0 > 0 }.count)
                ndcg += dcg / (1...relevantCount).reduce(0.0) { $0 + 1 / log2(Double($1 + 1)) }
            }
            let n = Double(max(1, lists.count))
            let bound = ToleranceProfile.fp32.scoreRelative
            XCTAssertEqual(mrr / n, try XCTUnwrap(quality["mrr_at_10"]?.doubleValue), accuracy: Double(bound), "\(g.path): MRR@10")
            XCTAssertEqual(ndcg / n, try XCTUnwrap(quality["ndcg_at_10"]?.doubleValue), accuracy: Double(bound), "\(g.path): NDCG@10")
            print("golden \(g.model): \(lists.count) held-out lists, MRR@10 \(mrr / n), NDCG@10 \(ndcg / n)")
            checkedSets += 1
        }
        if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" {
            XCTAssertGreaterThan(checkedSets, 0, "no golden set with ranking_quality was checked")
        }
    }

    func testApiErrorsAreTyped() throws {
        guard let (_, ce) = try sets().first(where: { $0.0.numLabels == 1 }) else { return XCTFail("no 1-label golden set") }
        XCTAssertThrowsError(try ce.rank(query: "q", documents: [])) { XCTAssertEqual($0 as? CrossEncoderError, .emptyDocuments) }
        XCTAssertThrowsError(try ce.rank(query: "q", documents: ["d"], topK: 0)) { XCTAssertEqual($0 as? CrossEncoderError, .invalidTopK(0)) }
        XCTAssertThrowsError(try ce.predict([("q", "d")], batchSize: 0)) { XCTAssertEqual($0 as? CrossEncoderError, .invalidBatchSize(0)) }
        XCTAssertEqual(try ce.predict([]), [])
        if let (_, multi) = try sets().first(where: { $0.0.numLabels > 1 }) {
            XCTAssertThrowsError(try multi.rank(query: "q", documents: ["d"])) {
                XCTAssertEqual($0 as? CrossEncoderError, .multiLabelModel(numLabels: multi.numLabels, operation: "rank"))
            }
        }
    }

    /// Batch composition must not change a pair's score: we pack sequences without padding.
    func testBatchSizeDoesNotChangeScores() throws {
        guard let (g, ce) = try sets().first else { return }
        let pairs = Array(g.cases.prefix(40)).map { ($0.query, $0.document) }
        let a = try ce.logits(pairs, batchSize: 1).flatMap { $0 }
        let b = try ce.logits(pairs, batchSize: 40).flatMap { $0 }
        XCTAssertLessThanOrEqual(maxAbsDiff(a, b), ToleranceProfile.fp32.logitRelative)
        // A batch larger than one pass: consecutive passes of at most 64 tokens, a longer sequence alone.
        let budget = ce.executor.tokensPerPass
        defer { ce.executor.tokensPerPass = budget }
        ce.executor.tokensPerPass = 64
        let lengths = try pairs.map { try ce.tokenizer.encode($0.0, $0.1, maxLength: ce.maxLength).ids.count }
        XCTAssertTrue(lengths.contains { $0 > 64 } && lengths.contains { $0 <= 32 }, "the cases must exercise both splits")
        let c = try ce.logits(pairs, batchSize: 40).flatMap { $0 }
        XCTAssertLessThanOrEqual(maxAbsDiff(c, b), ToleranceProfile.fp32.logitRelative)
    }
}

/// predict on a torch.save copy of a model equals predict on its safetensors original exactly.
final class CheckpointScoreTests: XCTestCase {
    func testTorchZipScoresEqualSafetensorsScores() throws {
        let root = repositoryRoot()
        let pairs = [("How many people live in Berlin?", "Berlin has 3.5 million inhabitants."), ("a", ""), ("Ünïcödé", "日本語 text 🙂")]
        var dirs = [("golden/models/tiny-bert-l1", "golden/models/tiny-bert-l1-torch"), ("golden/models/tiny-bert-l3", "golden/models/tiny-bert-l3-torch"),
                    ("golden/models/tiny-bert-l1", "golden/models/tiny-bert-l1-torch-sharded"),
                    ("golden/models/tiny-roberta", "golden/models/tiny-roberta-torch"), ("golden/models/tiny-electra", "golden/models/tiny-electra-torch")]
        if FileManager.default.fileExists(atPath: root.appendingPathComponent(".models/minilm-l6-ce-torch/pytorch_model.bin").path) {
            dirs.append((".models/minilm-l6-ce", ".models/minilm-l6-ce-torch"))
        }
        for (a, b) in dirs {
            let la = try CrossEncoder(modelDirectory: root.appendingPathComponent(a)).logits(pairs)
            let lb = try CrossEncoder(modelDirectory: root.appendingPathComponent(b)).logits(pairs)
            XCTAssertEqual(la, lb, "\(a) vs \(b)")
        }
    }
}
