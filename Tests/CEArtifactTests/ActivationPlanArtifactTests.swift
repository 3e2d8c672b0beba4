import CECore
import CEConvert
import CEGraph
import CEImport
import CEQuant
import CERuntime
import CETestSupport
import Foundation
import XCTest
@testable import CEArtifact

/// The per-linear activation plan through the artifact (formats/artifact.md, `linear_activations`) and convert's
/// choice of it (`--activations auto`, formats/quantization.md).
final class ActivationPlanArtifactTests: XCTestCase {
    let tiny = repositoryRoot().appendingPathComponent("golden/models/tiny-bert-l1")
    let pairs: [(String, String)] = [
        ("How many people live in Berlin?", "Berlin has a population of 3,520,031 registered inhabitants."),
        ("How many people live in Berlin?", "New York City is famous for the Metropolitan Museum of Art."),
        ("a", ""), ("Ünïcödé 東京", "emoji 🙂 and combining e\u{301}"),
    ]

    /// A plan written per linear is read back as written: the folder scores exactly as the in-memory graph under the
    /// same plan, its metadata lists every linear in plan order, and the model card names them.
    func testPerLinearPlanRoundTripsThroughTheArtifact() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try ModelDirectory.load(tiny)
        var plan = Quantize.Plan(activations: .auto, weightGroupSize: 16)
        let linears = plan.runtimeLinears(model.graph.architecture, model.graph.hyperparameters)
        plan.linearActivations = linears.enumerated().map { .init(linear: $1, activations: $0 % 2 == 0 ? .int8 : .int16) }
        let g = try Quantize.apply(.int8, to: model.graph, plan: plan)
        let out = dir.appendingPathComponent("per-linear")
        _ = try Artifact.write(model: model, graph: g, precision: .int8, plan: plan, to: out, force: false)
        let ce = try CrossEncoder(modelDirectory: out)
        let written = try XCTUnwrap(ce.model.artifact?.plan)
        XCTAssertEqual(written["activations"]?.stringValue, "per_linear")
        XCTAssertEqual(written["linear_activations"]?.objectValue?.map(\.0), linears)
        XCTAssertEqual(written["linear_activations"]?.objectValue?.map { $0.1.stringValue ?? "" }, linears.indices.map { $0 % 2 == 0 ? "int8" : "int16" })
        var inMemory = model
        inMemory.graph = g
        let modes = Dictionary(uniqueKeysWithValues: plan.linearActivations.map { ($0.linear, ActivationMode(rawValue: $0.activations.rawValue)!) })
        XCTAssertEqual(try ce.logits(pairs), try CrossEncoder(model: inMemory, activationPlan: ActivationPlan(perLinear: modes)).logits(pairs))
        XCTAssertNotEqual(try ce.logits(pairs), try CrossEncoder(model: inMemory, activationPlan: ActivationPlan(.int16)).logits(pairs))
        let card = try ModelCard.render(model: ce.model, precision: .int8, plan: written, layout: .artifact, files: [], weightsBytes: nil,
                                        info: ModelCard.Info(name: "acme/tiny"))
        for (mode, parity) in [("int8", 0), ("int16", 1)] {
            let names = linears.enumerated().filter { $0.offset % 2 == parity }.map { "`\($0.element)`" }
            let line = "- \(mode) inputs (\(names.count) of \(linears.count) linears): \(names.joined(separator: ", "))\n"
            XCTAssertTrue(card.contains(line), "\(line) in\n\(card)")
        }
        // Uniform plans keep the key and bytes they had: no linear_activations.
        for mode in [Quantize.Plan.Activations.int16, .int8, .fp32] {
            var p = Quantize.Plan.all
            p.activations = mode
            let json = Artifact.planJSON(p, precision: .int8)
            XCTAssertEqual(json["activations"]?.stringValue, mode.rawValue)
            XCTAssertNil(json["linear_activations"])
        }
        XCTAssertEqual(Artifact.planJSON(.all, precision: .int8)["activations"]?.stringValue, "int16", "auto with nothing chosen")
    }

    /// `--activations auto` chooses per linear: every int8 linear is named in plan order, the choice is recorded with
    /// its count, the artifact loads, and --threads 1 and 2 give the same bytes (the choice runs the model many times).
    func testConvertChoosesActivationsPerLinear() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var options = Conversion.Options(precision: .int8)
        XCTAssertEqual(options.plan.activations, .int16, "convert's default")
        options.plan.activations = .auto
        options.threads = 2
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        try Conversion.run(source: tiny, to: a, options: options)
        options.threads = 1
        try Conversion.run(source: tiny, to: b, options: options)
        XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent(ArtifactFormat.weightsFile)),
                       try Data(contentsOf: b.appendingPathComponent(ArtifactFormat.weightsFile)), "threads 2 and 1 give the same bytes")
        let ce = try CrossEncoder(modelDirectory: a)
        let plan = try XCTUnwrap(ce.model.artifact?.plan)
        let linears = Quantize.Plan.all.runtimeLinears(ce.model.graph.architecture, ce.model.graph.hyperparameters)
        XCTAssertEqual(plan["activations"]?.stringValue, "per_linear")
        XCTAssertEqual(plan["linear_activations"]?.objectValue?.map(\.0), linears)
        let record = try XCTUnwrap(plan["smoothing"]?["activation_choice"])
        XCTAssertEqual(record["linears"]?.intValue, linears.count)
        let int8 = plan["linear_activations"]!.objectValue!.filter { $0.1.stringValue == "int8" }.count
        XCTAssertEqual(record["int8_linears"]?.intValue, int8)
    }
}
