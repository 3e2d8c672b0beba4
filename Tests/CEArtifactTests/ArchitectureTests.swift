import CECore
import CEFormats
import CEGraph
import CEImport
import CEQuant
import CERuntime
import CETestSupport
import CEVerify
import Foundation
import XCTest
@testable import CEArtifact

/// The non-BERT architectures end to end on their tiny random-init checkpoints (golden/make_models_arch.py)
/// against sentence-transformers' goldens (golden/<model>/golden.json): fp32 import, int8 and fp16 through
/// the convert path (CEQuant + Artifact, as `cetool convert`), and save_pretrained writing the HF names back.
final class ArchitectureTests: XCTestCase {
    static let root = repositoryRoot()
    /// name, architecture cetool imports it as, the HF architecture in its config.json.
    static let models: [(String, Architecture, String)] = [
        ("tiny-roberta", .roberta, "RobertaForSequenceClassification"),
        ("tiny-xlmr", .roberta, "XLMRobertaForSequenceClassification"),
        ("tiny-distilbert", .distilbert, "DistilBertForSequenceClassification"),
        ("tiny-electra", .electra, "ElectraForSequenceClassification"),
    ]
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("cetool-arch") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func source(_ name: String) -> URL { Self.root.appendingPathComponent("golden/models/\(name)") }
    func golden(_ name: String) throws -> GoldenSet { try GoldenSet.load(path: Self.root.appendingPathComponent("golden/\(name)/golden.json").path) }

    /// `cetool convert`'s path: calibration pass for int8 smoothing (built-in pairs, α 0.5), Quantize, Artifact.write.
    func convert(_ src: URL, _ p: Quantize.Precision, name: String, activations: Quantize.Plan.Activations = .int8) throws -> URL {
        let plan = Quantize.Plan(activations: activations)
        let model = try ModelDirectory.load(src)
        var activationMax: [String: [Float]]?
        if p == .int8 {
            let ce = try CrossEncoder(model: model)
            var stats = CalibrationStats()
            ce.executor.observer = { n, x, rows, cols in stats.observe(n, x, rows: rows, cols: cols) }
            _ = try ce.logits(Calibration.defaultPairs, batchSize: 8)
            ce.executor.observer = nil
            activationMax = stats.activationMax
        }
        let g = try Quantize.apply(p, to: model.graph, plan: plan, activationMax: activationMax, alpha: 0.5)
        let out = dir.appendingPathComponent("\(name)-\(p.rawValue)-\(activations.rawValue)")
        _ = try Artifact.write(model: model, graph: g, precision: p, plan: plan, to: out, force: false)
        return out
    }

    func testImportsAsTheRightGraph() throws {
        for (name, arch, hfArch) in Self.models {
            let m = try ModelDirectory.load(source(name))
            XCTAssertEqual(m.graph.architecture, arch, name)
            XCTAssertEqual(m.config.architectureName, hfArch, name)
            let h = m.graph.hyperparameters
            var ops: [Op] = [.embed]
            if arch == .electra { ops.append(.projectEmbeddings) }
            ops += (0..<h.numHiddenLayers).map { .encoderBlock($0) }
            ops += [.poolFirstToken(arch.poolActivation), .classify]
            XCTAssertEqual(m.graph.ops, ops, name)
            XCTAssertEqual(m.graph.weights[TensorName.typeEmbedding + ".weight"] != nil, arch != .distilbert, name)
            if arch == .electra { XCTAssertNotEqual(h.embeddingSize, h.hiddenSize, "tiny-electra must exercise embeddings_project") }
            if arch == .roberta {
                // create_position_ids_from_input_ids: positions from pad + 1; the table has max_seq_length + pad + 1 rows.
                XCTAssertEqual(m.graph.firstPosition, h.padTokenID + 1)
                XCTAssertEqual(m.graph.maxSequenceLength, h.maxPositionEmbeddings - h.padTokenID - 1)
                XCTAssertEqual(h.typeVocabSize, 1)
            }
        }
        let xlmr = try ModelDirectory.load(source("tiny-xlmr"))
        XCTAssertEqual(xlmr.graph.labels, ["contradiction", "entailment", "neutral"])
    }

    /// A copy of `name`'s checkpoint with tensors renamed/added, as model.safetensors in a fresh folder.
    func variant(of name: String, rename: [String: String] = [:], drop: Set<String> = [], add: [(String, [Int])] = []) throws -> URL {
        let out = dir.appendingPathComponent("variant-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source(name), to: out)
        let file = try Safetensors.File(path: source(name).appendingPathComponent("model.safetensors").path)
        var b = SafetensorsBuilder()
        for n in file.names where !drop.contains(n) {
            let t = try file.tensor(n)
            b.add(rename[n] ?? n, floats: try XCTUnwrap(t.floatValues()), shape: t.shape.dims)
        }
        for (n, shape) in add { b.add(n, floats: [Float](repeating: 0.5, count: shape.reduce(1, *)), shape: shape) }
        try Data(b.bytes()).write(to: out.appendingPathComponent("model.safetensors"))
        return out
    }

    /// Every source tensor is mapped or explicitly ignored, per architecture; the errors name the tensor.
    func testTensorNamesAreCheckedPerArchitecture() throws {
        let pairs = [("a question", "a document")]
        let reference = try CrossEncoder(modelDirectory: source("tiny-roberta")).logits(pairs)
        // A RoBERTa pooler is not part of the sequence-classification model: ignored, as transformers drops it.
        let pooled = try variant(of: "tiny-roberta", add: [("roberta.pooler.dense.weight", [32, 32]), ("roberta.pooler.dense.bias", [32])])
        XCTAssertEqual(try CrossEncoder(modelDirectory: pooled).logits(pairs), reference)
        // The trunk without its prefix (a bare encoder's names) reads the same.
        let names = try Safetensors.File(path: source("tiny-roberta").appendingPathComponent("model.safetensors").path).names
        let bare = try variant(of: "tiny-roberta", rename: Dictionary(uniqueKeysWithValues: names.filter { $0.hasPrefix("roberta.") }
            .map { ($0, String($0.dropFirst("roberta.".count))) }))
        XCTAssertEqual(try CrossEncoder(modelDirectory: bare).logits(pairs), reference)
        func expect(_ folder: URL, _ e: ImportError, line: UInt = #line) {
            XCTAssertThrowsError(try ModelDirectory.load(folder), line: line) { XCTAssertEqual($0 as? ImportError, e, "\($0)", line: line) }
        }
        // BERT's pooler name is not a RoBERTa head; a BERT-style classifier neither.
        expect(try variant(of: "tiny-roberta", add: [("bert.pooler.dense.weight", [32, 32])]), .unmappedTensor(name: "bert.pooler.dense.weight"))
        expect(try variant(of: "tiny-roberta", rename: ["classifier.out_proj.weight": "classifier.weight"]), .unmappedTensor(name: "classifier.weight"))
        expect(try variant(of: "tiny-distilbert", drop: ["pre_classifier.bias"]), .missingTensor(canonical: "cls.pool.bias", expectedSource: "pre_classifier.bias"))
        expect(try variant(of: "tiny-distilbert", add: [("distilbert.embeddings.token_type_embeddings.weight", [2, 32])]),
               .unmappedTensor(name: "distilbert.embeddings.token_type_embeddings.weight"))
        expect(try variant(of: "tiny-electra", drop: ["electra.embeddings_project.weight"]),
               .missingTensor(canonical: "embd_proj.weight", expectedSource: "electra.embeddings_project.weight"))
        expect(try variant(of: "tiny-electra", drop: ["electra.encoder.layer.1.attention.self.key.bias"]),
               .missingTensor(canonical: "blk.1.attn_k.bias", expectedSource: "electra.encoder.layer.1.attention.self.key.bias"))
    }

    /// transformers' rule, written out: pad tokens keep padding_idx, the others count up from padding_idx + 1.
    func testRobertaPositionIDs() throws {
        let m = try ModelDirectory.load(source("tiny-roberta"))
        let pad = Int32(m.graph.hyperparameters.padTokenID)
        XCTAssertEqual(pad, 1)
        XCTAssertEqual(m.graph.positions(of: [0, 9, 9, 2]), [2, 3, 4, 5])
        XCTAssertEqual(m.graph.positions(of: [0, 9, pad, 9, 2, pad]), [2, 3, 1, 4, 5, 1])
        let bert = try ModelDirectory.load(Self.root.appendingPathComponent("golden/models/tiny-bert-l1"))
        XCTAssertEqual(bert.graph.positions(of: [2, 0, 7, 3]), [0, 1, 2, 3])
    }

    /// A sequence that fills the position table runs; one more token is refused (RoBERTa loses pad + 1 rows).
    func testSequenceLimitFollowsThePositionTable() throws {
        let ce = try CrossEncoder(modelDirectory: source("tiny-roberta"))
        let limit = ce.model.graph.maxSequenceLength
        XCTAssertEqual(ce.maxLength, 128)
        let ok = TokenSequence(ids: [Int32](repeating: 5, count: limit), typeIDs: [Int32](repeating: 0, count: limit))
        XCTAssertEqual(try ce.executor.logits([ok]).count, 1)
        let long = TokenSequence(ids: [Int32](repeating: 5, count: limit + 1), typeIDs: [Int32](repeating: 0, count: limit + 1))
        XCTAssertThrowsError(try ce.executor.logits([long])) {
            XCTAssertEqual($0 as? RuntimeError, .sequenceTooLong(length: limit + 1, limit: limit))
        }
    }

    /// Padding: scores of a pair do not depend on what it is batched with (the runtime packs sequences
    /// unpadded; the reference pads right and, for RoBERTa, gives pads position padding_idx).
    func testBatchingDoesNotChangeLogits() throws {
        for (name, _, _) in Self.models {
            let ce = try CrossEncoder(modelDirectory: source(name))
            let g = try golden(name)
            let pairs = g.cases.prefix(40).map { ($0.query, $0.document) }
            let one = try pairs.map { try ce.logits([$0], batchSize: 1)[0] }
            let batched = try ce.logits(Array(pairs), batchSize: 16)
            // Equal up to fp32 summation order (BLAS blocks by batch size): the fp32 profile's bound.
            for (a, b) in zip(one, batched) {
                for (x, y) in zip(a, b) { XCTAssertLessThanOrEqual(abs(x - y), ToleranceProfile.fp32.logitBound(y), "\(name): \(a) vs \(b)") }
            }
        }
    }

    func report(_ ce: CrossEncoder, _ g: GoldenSet, _ profile: ToleranceProfile) throws -> Verifier.SetReport {
        try Verifier.compare(ce, reference: Verifier.reference(from: g), profile: profile)
    }

    /// fp32 import and fp16 artifacts (convert path) against the reference, each held to its profile.
    func testFP32AndFP16PassTheirProfiles() throws {
        for (name, _, _) in Self.models {
            let g = try golden(name)
            let src = source(name)
            for (p, profile) in [(Quantize.Precision.fp32, ToleranceProfile.fp32), (.fp16, .fp16)] {
                let ce = p == .fp32 ? try CrossEncoder(modelDirectory: src) : try CrossEncoder(modelDirectory: try convert(src, p, name: name))
                if p != .fp32 { XCTAssertEqual(ce.model.artifact?.precision, p.rawValue) }
                let r = try report(ce, g, profile)
                XCTAssertEqual(r.cases.count, g.cases.count)
                XCTAssertEqual(r.tokenIdentical, r.tokenChecked, "\(name) \(p): token ids")
                XCTAssertEqual(r.failures, [], "\(name) \(p)")
                print(String(format: "architecture %@ %@: max |Δlogit| %.3g (mean %.3g), min Spearman %.4f, top-1 %.2f", name, p.rawValue,
                             r.maxLogitDelta, r.meanLogitDelta, r.minSpearman ?? Double.nan, r.top1Agreement ?? Double.nan))
            }
        }
    }

    /// int8 artifacts (convert's default: smoothed, dynamic int8 activations; and weight-only) carry each
    /// architecture's tensors through: the weight-only artifact computes exactly what the fp32 runtime
    /// computes on its widened weights q·scale[row]·smooth[col]. Their fidelity to the reference is printed,
    /// not held to the int8 profile: no tiny random-init model reaches it, BERT's tiny-bert-l1 included
    /// (min Spearman 0.988 dynamic, see testInt8FidelityReport), because the documents of a list score
    /// within a few int8 steps of each other.
    func testInt8ArtifactsRunTheirQuantizedGraph() throws {
        for (name, _, _) in Self.models + [("tiny-bert-l1", .bert, "")] {
            let g = try golden(name)
            let src = source(name)
            var rows: [String] = []
            for act in [Quantize.Plan.Activations.int8, .fp32] {
                let ce = try CrossEncoder(modelDirectory: try convert(src, .int8, name: name, activations: act))
                XCTAssertEqual(ce.model.artifact?.precision, "int8")
                XCTAssertEqual(ce.model.graph.weights[TensorName.attnQ(0) + ".weight"]?.dtype, .i8)
                let r = try report(ce, g, .int8)
                XCTAssertEqual(r.tokenIdentical, r.tokenChecked, "\(name) int8: token ids")
                rows.append(String(format: "%@ activations: max |Δlogit| %.3g (mean %.3g), min Spearman %.4f, top-1 %.2f", act.rawValue,
                                   r.maxLogitDelta, r.meanLogitDelta, r.minSpearman ?? Double.nan, r.top1Agreement ?? Double.nan))
                guard act == .fp32 else { continue }
                var widened = ce.model.graph
                for (n, t) in ce.model.graph.weights where t.dtype == .i8 {
                    let rowsN = t.shape.dims[0], cols = t.shape.dims[1]
                    let sc = try XCTUnwrap(widened.weights.removeValue(forKey: TensorName.scale(of: n))?.floatValues())
                    let sm = widened.weights.removeValue(forKey: TensorName.smooth(of: n))?.floatValues()
                    let q = t.storage.bytes.assumingMemoryBound(to: Int8.self)
                    var w = [Float](repeating: 0, count: rowsN * cols)
                    for r in 0..<rowsN { for c in 0..<cols { w[r * cols + c] = Float(q[r * cols + c]) * sc[r] * (sm?[c] ?? 1) } }
                    widened.weights[n] = Tensor(floats: w, shape: t.shape)
                }
                let pairs = g.cases.prefix(48).map { ($0.query, $0.document) }
                let seqs = try ce.encode(Array(pairs)).map { TokenSequence(ids: $0.ids, typeIDs: $0.typeIDs) }
                let ours = try ce.executor.logits(seqs), fp32 = try Executor(graph: widened).logits(seqs)
                for (a, b) in zip(ours, fp32) {
                    for (x, y) in zip(a, b) { XCTAssertLessThanOrEqual(abs(x - y), ToleranceProfile.fp32.logitBound(y), "\(name) weight-only int8") }
                }
            }
            print("architecture \(name) int8: " + rows.joined(separator: "; "))
        }
    }

    /// save_pretrained writes exactly the tensor names transformers saved for the architecture (the source
    /// checkpoint's), and the folder loads back to the same graph and logits.
    func testSavePretrainedWritesTheArchitecturesNames() throws {
        for (name, arch, hfArch) in Self.models {
            let src = try ModelDirectory.load(source(name))
            let out = dir.appendingPathComponent("saved-\(name)")
            try src.savePretrained(to: out)
            let written = try Safetensors.File(path: out.appendingPathComponent("model.safetensors").path)
            let original = try Safetensors.File(path: source(name).appendingPathComponent("model.safetensors").path)
            XCTAssertEqual(written.names.sorted(), original.names.sorted(), name)
            for n in original.names {
                XCTAssertEqual(Array(try written.tensor(n).storage.bytes), Array(try original.tensor(n).storage.bytes), "\(name) \(n)")
            }
            let back = try ModelDirectory.load(out)
            XCTAssertEqual(back.graph.architecture, arch)
            XCTAssertEqual(back.config.architectureName, hfArch)
            XCTAssertEqual(back.graph.hyperparameters, src.graph.hyperparameters)
            let pairs = try golden(name).cases.prefix(16).map { ($0.query, $0.document) }
            XCTAssertEqual(try CrossEncoder(model: back).logits(pairs), try CrossEncoder(model: src).logits(pairs), name)
        }
    }
}
