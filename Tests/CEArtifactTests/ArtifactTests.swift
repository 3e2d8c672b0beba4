import CECore
import CEFormats
import CEGraph
import CEImport
import CEQuant
import CERuntime
import CETestSupport
import Foundation
import XCTest
@testable import CEArtifact

/// Artifacts written by convert and read back by the runtime.
final class ArtifactTests: XCTestCase {
    let root = repositoryRoot()
    var tiny: URL { root.appendingPathComponent("golden/models/tiny-bert-l1") }
    let pairs: [(String, String)] = [
        ("How many people live in Berlin?", "Berlin has a population of 3,520,031 registered inhabitants."),
        ("How many people live in Berlin?", "New York City is famous for the Metropolitan Museum of Art."),
        ("a", ""), ("Ünïcödé 東京", "emoji 🙂 and combining e\u{301}"),
    ]

    func convert(_ source: URL, _ p: Quantize.Precision, plan: Quantize.Plan = .all, into dir: URL, name: String) throws -> URL {
        let model = try ModelDirectory.load(source)
        let g = try Quantize.apply(p, to: model.graph, plan: plan)
        let out = dir.appendingPathComponent(name)
        _ = try Artifact.write(model: model, graph: g, precision: p, plan: plan, to: out, force: false)
        return out
    }

    func testFP32ArtifactScoresExactlyAsItsSource() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try convert(tiny, .fp32, into: dir, name: "fp32")
        let a = try CrossEncoder(modelDirectory: tiny), b = try CrossEncoder(modelDirectory: out)
        XCTAssertEqual(try b.logits(pairs), try a.logits(pairs))
        XCTAssertEqual(b.model.artifact?.precision, "fp32")
        XCTAssertEqual(b.activation, a.activation)
        XCTAssertEqual(b.maxLength, a.maxLength)
        XCTAssertEqual(try b.encode(pairs).map(\.ids), try a.encode(pairs).map(\.ids))
        try ArtifactFormat.checkManifest(out)
    }

    func testInt8AndHalfArtifactsKeepTheirBytesAndRun() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try ModelDirectory.load(tiny)
        for p in [Quantize.Precision.int8, .fp16, .bf16] {
            let out = try convert(tiny, p, into: dir, name: p.rawValue)
            let file = try Safetensors.File(path: out.appendingPathComponent(Artifact.weightsFile).path)
            // Every tensor 64-byte aligned in the file.
            for e in file.header.entries where !e.name.hasPrefix(Safetensors.paddingPrefix) {
                XCTAssertEqual((file.header.dataOffset + e.begin) % 64, 0, "\(p) \(e.name)")
            }
            // The stored bytes are the reference quantizer's.
            let expected = try Quantize.apply(p, to: source.graph)
            for name in [TensorName.attnQ(0).weight, TensorName.tokenEmbedding.weight] {
                XCTAssertEqual(Array(try file.tensor(name).storage.bytes), Array(expected.weights[name]!.storage.bytes), "\(p) \(name)")
            }
            let ce = try CrossEncoder(modelDirectory: out)
            XCTAssertEqual(ce.model.artifact?.precision, p.rawValue)
            let logits = try ce.logits(pairs)
            XCTAssertEqual(logits.count, pairs.count)
            XCTAssertTrue(logits.allSatisfy { $0.allSatisfy(\.isFinite) })
        }
    }

    /// `--activations fp32`: int8 weights widened at load give exactly the fp32 graph whose linears hold
    /// q·scale (weight-only quantization).
    func testWeightOnlyInt8ComputesWithTheDequantizedWeights() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var plan = Quantize.Plan.all
        plan.activations = .fp32
        plan.tokenEmbedding = false
        let out = try convert(tiny, .int8, plan: plan, into: dir, name: "w8")
        let ce = try CrossEncoder(modelDirectory: out)
        XCTAssertEqual(ce.model.artifact?.plan["activations"]?.stringValue, "fp32")
        var model = try ModelDirectory.load(tiny)
        let q = try Quantize.apply(.int8, to: model.graph, plan: plan)
        for name in plan.linears(model.graph.architecture, model.graph.hyperparameters) {
            let t = q.weights[name]!, scales = q.weights[TensorName.scale(of: name)]!.floatValues()!
            let cols = t.shape.dims[1]
            let codes = t.storage.bytes.bindMemory(to: Int8.self)
            model.graph.weights[name] = Tensor(floats: (0..<t.shape.elementCount).map { Float(codes[$0]) * scales[$0 / cols] }, shape: t.shape)
        }
        XCTAssertEqual(try ce.logits(pairs), try CrossEncoder(model: model).logits(pairs))
        let dynamic = try CrossEncoder(modelDirectory: try convert(tiny, .int8, plan: Quantize.Plan(tokenEmbedding: false), into: dir, name: "w8a8"))
        XCTAssertNotEqual(try dynamic.logits(pairs), try ce.logits(pairs), "the default plan quantizes activations")
    }

    /// Grouped int8 weights (formats/quantization.md, "Weight groups"). The tiny model's linears have 32 and 64
    /// inputs and its token embedding 32 columns: the default group of 64 leaves every one per channel, as before;
    /// groups of 16 store [rows, groups] scales for the linears and the embedding, the plan records the size, and the
    /// loaded artifact scores exactly as the in-memory graph, with int16 activations and weight-only (each group's
    /// scale applied when the weights, or an embedding row, are widened).
    func testGroupedInt8WeightsRoundTrip() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try ModelDirectory.load(tiny)
        let plain = try Quantize.apply(.int8, to: source.graph)
        XCTAssertEqual(plain.weightGroupSize, 0)
        XCTAssertEqual(plain.weights[TensorName.scale(of: TensorName.ffnDown(0).weight)]?.shape, [32])
        for activations in [Quantize.Plan.Activations.int16, .fp32] {
            var plan = Quantize.Plan.all
            plan.weightGroupSize = 16
            plan.activations = activations
            let graph = try Quantize.apply(.int8, to: source.graph, plan: plan)
            XCTAssertEqual(graph.weightGroupSize, 16)
            XCTAssertEqual(graph.weights[TensorName.scale(of: TensorName.ffnDown(0).weight)]?.shape, [32, 4])
            XCTAssertEqual(graph.weights[TensorName.scale(of: TensorName.attnQ(0).weight)]?.shape, [32, 2])
            // The token embedding (32 columns) has the same groups as the linears.
            XCTAssertEqual(graph.weights[TensorName.scale(of: TensorName.tokenEmbedding.weight)]?.shape, [graph.hyperparameters.vocabSize, 2])
            let out = try convert(tiny, .int8, plan: plan, into: dir, name: "g16-\(activations.rawValue)")
            let ce = try CrossEncoder(modelDirectory: out)
            XCTAssertEqual(ce.model.graph.weightGroupSize, 16)
            XCTAssertEqual(ce.model.artifact?.plan["weight_group_size"]?.intValue, 16)
            let logits = try ce.logits(pairs)
            XCTAssertNotEqual(logits, try CrossEncoder(modelDirectory: try convert(tiny, .int8, into: dir, name: "g0-\(activations.rawValue)")).logits(pairs))
            var inMemory = source
            inMemory.graph = graph
            if activations == .fp32 {
                // Weight-only: the fp32 graph whose linears and token embedding hold q·scale[row, col / 16].
                inMemory = source
                for name in plan.linears(source.graph.architecture, source.graph.hyperparameters) {
                    let t = graph.weights[name]!, sc = graph.weights[TensorName.scale(of: name)]!
                    let cols = t.shape.dims[1], codes = t.storage.bytes.bindMemory(to: Int8.self), scales = sc.floatValues()!
                    let groups = sc.shape.dims.count == 2 ? sc.shape.dims[1] : 1
                    inMemory.graph.weights[name] = Tensor(floats: (0..<t.shape.elementCount).map { i in
                        Float(codes[i]) * scales[(i / cols) * groups + (groups > 1 ? (i % cols) / 16 : 0)]
                    }, shape: t.shape)
                }
            }
            XCTAssertEqual(logits, try CrossEncoder(model: inMemory).logits(pairs), "activations \(activations)")
            // The reference fp32 scores stay close (a tiny random model; int8 moves logits by a few hundredths).
            let reference = try CrossEncoder(model: source).logits(pairs)
            for (a, b) in zip(logits, reference) { XCTAssertEqual(a[0], b[0], accuracy: 0.05) }
        }
        // An artifact written before the token embedding had groups (one scale per token) still loads and scores as
        // its table widened row by row.
        var older = try Quantize.apply(.int8, to: source.graph, plan: Quantize.Plan(weightGroupSize: 16))
        let table = source.graph.weights[TensorName.tokenEmbedding.weight]!
        let rows = table.shape.dims[0], cols = table.shape.dims[1]
        let (q, sc) = Quantize.int8PerChannel(table.floatValues()!, rows: rows, cols: cols)
        older.weights[TensorName.tokenEmbedding.weight] = Tensor(dtype: .i8, shape: table.shape, storage: q.withUnsafeBytes { TensorStorage(copying: $0) })
        older.weights[TensorName.scale(of: TensorName.tokenEmbedding.weight)] = Tensor(floats: sc, shape: [rows])
        XCTAssertNoThrow(try older.validate())
        var olderModel = source, widenedModel = source
        olderModel.graph = older
        widenedModel.graph = older
        widenedModel.graph.weights[TensorName.tokenEmbedding.weight] = Tensor(floats: (0..<rows * cols).map { Float(q[$0]) * sc[$0 / cols] }, shape: table.shape)
        widenedModel.graph.weights[TensorName.scale(of: TensorName.tokenEmbedding.weight)] = nil
        XCTAssertEqual(try CrossEncoder(model: olderModel).logits(pairs), try CrossEncoder(model: widenedModel).logits(pairs))
        // Scales that do not fit the graph's group size are refused by name.
        var bad = try Quantize.apply(.int8, to: source.graph, plan: Quantize.Plan(weightGroupSize: 16))
        bad.weightGroupSize = 32
        XCTAssertThrowsError(try bad.validate()) {
            // The token embedding comes first in the graph's tensor order.
            let vocab = source.graph.hyperparameters.vocabSize
            XCTAssertEqual($0 as? GraphError, .shapeMismatch(name: TensorName.scale(of: TensorName.tokenEmbedding.weight), expected: [vocab, 1], actual: [vocab, 2]))
        }
        bad.weightGroupSize = 0
        XCTAssertThrowsError(try bad.validate()) { XCTAssertTrue("\($0)".contains("weight_scale"), "\($0)") }
        bad.weightGroupSize = 15
        XCTAssertThrowsError(try bad.validate()) {
            XCTAssertEqual($0 as? GraphError, .invalidHyperparameter(name: "weight_group_size", reason: "15 is not an even number of input positions within 2...65536"))
        }
        XCTAssertThrowsError(try Quantize.apply(.int8, to: source.graph, plan: Quantize.Plan(weightGroupSize: 7)))
    }

    func testConversionIsDeterministic() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try convert(tiny, .int8, into: dir, name: "a"), b = try convert(tiny, .int8, into: dir, name: "b")
        for name in try FileManager.default.contentsOfDirectory(atPath: a.path).sorted() {
            XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent(name)), try Data(contentsOf: b.appendingPathComponent(name)), name)
        }
    }

    func testTamperedOrInconsistentArtifactsAreRefused() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try convert(tiny, .int8, into: dir, name: "m")
        // One byte changed in the weights: the manifest check names the file.
        let weights = out.appendingPathComponent(Artifact.weightsFile)
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 100] ^= 0x01
        try bytes.write(to: weights)
        XCTAssertThrowsError(try ArtifactFormat.checkManifest(out)) {
            XCTAssertEqual($0 as? ArtifactError, .manifestMismatch(file: Artifact.weightsFile, reason: "sha256 differs from the manifest"))
        }
        // An extra file.
        let out2 = try convert(tiny, .int8, into: dir, name: "m2")
        try Data("x".utf8).write(to: out2.appendingPathComponent("extra.bin"))
        XCTAssertThrowsError(try ArtifactFormat.checkManifest(out2)) {
            XCTAssertEqual($0 as? ArtifactError, .manifestMismatch(file: "extra.bin", reason: "not listed in the manifest"))
        }
        // config.json that disagrees with the recorded hyperparameters.
        let out3 = try convert(tiny, .int8, into: dir, name: "m3")
        let config = out3.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8)
        let changed = text.replacingOccurrences(of: "\"layer_norm_eps\": 1e-12", with: "\"layer_norm_eps\": 1e-05")
        XCTAssertNotEqual(changed, text, "the tiny config spells layer_norm_eps as 1e-12")
        try Data(changed.utf8).write(to: config)
        XCTAssertThrowsError(try ModelDirectory.load(out3)) {
            XCTAssertEqual($0 as? ArtifactError, .inconsistent(key: "cetool.hyperparameters", path: out3.appendingPathComponent(Artifact.weightsFile).path))
        }
    }

    /// The byte-level readers the fuzz target calls read what `load` and `checkManifest` read from disk.
    func testWeightsAndManifestReadFromBytesAsFromTheFolder() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try convert(tiny, .int8, into: dir, name: "m")
        let loaded = try ModelDirectory.load(out)
        let weights = try MappedFile(path: out.appendingPathComponent(Artifact.weightsFile).path)
        let (graph, meta) = try ArtifactFormat.readWeights(weights.bytes, owner: weights, config: loaded.config, path: "w")
        XCTAssertEqual(meta.precision, loaded.artifact?.precision)
        XCTAssertEqual(Set(graph.weights.keys), Set(loaded.graph.weights.keys))
        for (name, t) in graph.weights {
            XCTAssertEqual(Array(t.storage.bytes), Array(loaded.graph.weights[name]!.storage.bytes), name)
            XCTAssertEqual(t.shape, loaded.graph.weights[name]!.shape, name)
        }
        let manifest = try Data(contentsOf: out.appendingPathComponent(Artifact.manifestFile))
        let entries = try manifest.withUnsafeBytes { try ArtifactFormat.readManifest($0, path: "cetool.json") }
        XCTAssertEqual(entries.map(\.path).sorted(), try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0 != Artifact.manifestFile }.sorted())
        XCTAssertEqual(entries.first { $0.path == Artifact.weightsFile }?.size, weights.count)
        // A listed name that is a path, and one listed twice, are refused on the bytes alone.
        for bad in [#"[{"path": "../x", "size": 1, "sha256": "00"}]"#,
                    #"[{"path": "a", "size": 1, "sha256": "00"}, {"path": "a", "size": 1, "sha256": "00"}]"#] {
            let text = Array(#"{"format": "cetool-artifact", "format_version": 1, "files": "#.utf8) + Array(bad.utf8) + Array("}".utf8)
            XCTAssertThrowsError(try text.withUnsafeBytes { try ArtifactFormat.readManifest($0, path: "cetool.json") }) {
                XCTAssertEqual($0 as? ArtifactError, .invalidManifest(reason: "a file entry is malformed or repeated", path: "cetool.json"))
            }
        }
        // The weights of another shape than the config says are refused with a typed error.
        var other = try ModelConfig(json: JSONFile.load(path: tiny.appendingPathComponent("config.json").path))
        other.hyperparameters.numHiddenLayers = 1
        XCTAssertThrowsError(try ArtifactFormat.readWeights(weights.bytes, owner: weights, config: other, path: "w")) {
            XCTAssertEqual($0 as? ArtifactError, .inconsistent(key: "cetool.hyperparameters", path: "w"))
        }
    }

    func testExistingOutputNeedsForce() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try convert(tiny, .fp16, into: dir, name: "m")
        XCTAssertThrowsError(try convert(tiny, .fp16, into: dir, name: "m")) { XCTAssertTrue($0 is StagingError) }
    }

    /// The convert issue's size bound on the real-size model: the int8 artifact's weights ≤ 30 % of the
    /// fp32 safetensors.
    func testRealSizeInt8ArtifactIsAtMost30PercentOfTheSource() throws {
        let source = root.appendingPathComponent(".models/minilm-l6-ce")
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent("config.json").path) else {
            if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" { XCTFail("model missing: make models") }
            return
        }
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try ModelDirectory.load(source)
        let s = try Artifact.write(model: model, graph: try Quantize.apply(.int8, to: model.graph), precision: .int8, plan: .all,
                                   to: dir.appendingPathComponent("int8"), force: false)
        print(String(format: "int8 artifact weights: %d bytes, %.1f %% of the source's %d", s.weightsBytes,
                     100 * Double(s.weightsBytes) / Double(s.sourceWeightsBytes), s.sourceWeightsBytes))
        XCTAssertGreaterThan(s.sourceWeightsBytes, 80_000_000)
        XCTAssertLessThanOrEqual(Double(s.weightsBytes), 0.30 * Double(s.sourceWeightsBytes))
    }
}
