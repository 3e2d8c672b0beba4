import CECore
import CEGraph
import CEImport
import CEKernels
import CEQuant
import CERuntime
import CETestSupport
import CEVerify
import Foundation
import XCTest

/// Per-linear activation plans (formats/artifact.md, `linear_activations`): a plan naming every linear with one mode
/// runs exactly as that uniform mode, a mixed plan is neither, the u8 × s8 variants agree at the model level, and plans
/// that leave a linear out or name one the model lacks are refused.
final class ActivationPlanTests: XCTestCase {
    func tiny(group: Int) throws -> ImportedModel {
        var m = try ModelDirectory.load(repositoryRoot().appendingPathComponent("golden/models/tiny-bert-l1"))
        m.graph = try Quantize.apply(.int8, to: m.graph, plan: Quantize.Plan(weightGroupSize: group))
        return m
    }

    let pairs: [(String, String)] = [
        ("How many people live in Berlin?", "Berlin has a population of 3,520,031 registered inhabitants."),
        ("How many people live in Berlin?", "Berlin is well known for its museums."),
        ("a", "b"), ("What is the boiling point of water at high altitude?", String(repeating: "Water boils lower up high. ", count: 9)),
    ]

    func logits(_ m: ImportedModel, _ plan: ActivationPlan) throws -> [[Float]] {
        try CrossEncoder(model: m, activationPlan: plan).logits(pairs)
    }

    func testPerLinearPlansRunAsTheirModes() throws {
        for group in [0, 16] {
            let m = try tiny(group: group)
            let linears = Quantize.Plan.all.runtimeLinears(m.graph.architecture, m.graph.hyperparameters)
            let layers = m.graph.hyperparameters.numHiddenLayers
            XCTAssertEqual(linears, (0..<layers).flatMap { ["blk.\($0).attn_q", "blk.\($0).attn_out", "blk.\($0).ffn_up", "blk.\($0).ffn_down"] })
            func plan(_ f: (String) -> ActivationMode) -> ActivationPlan {
                ActivationPlan(perLinear: Dictionary(uniqueKeysWithValues: linears.map { ($0, f($0)) }))
            }
            let int16 = try logits(m, ActivationPlan(.int16)), int8 = try logits(m, ActivationPlan(.int8))
            XCTAssertEqual(try logits(m, plan { _ in .int16 }), int16, "group \(group)")
            XCTAssertEqual(try logits(m, plan { _ in .int8 }), int8, "group \(group)")
            XCTAssertNotEqual(int8, int16, "int8 inputs round coarser than int16 ones")
            let mixed = try logits(m, plan { $0 == "blk.0.ffn_up" ? .int8 : .int16 })
            XCTAssertNotEqual(mixed, int16, "group \(group)")
            XCTAssertNotEqual(mixed, int8, "group \(group)")
            // Each u8 × s8 variant the CPU has gives the same logits (each is bit-exact with the twin).
            forEachU8S8Variant { variant in
                XCTAssertEqual(try? self.logits(m, ActivationPlan(.int8)), int8, "\(variant) group \(group)")
                XCTAssertEqual(try? self.logits(m, plan { $0 == "blk.0.ffn_up" ? .int8 : .int16 }), mixed, "\(variant) group \(group)")
            }
        }
    }

    /// int8_grouped: with grouped weights, other logits than per-row int8 inputs; with one scale per weight row it is
    /// per-row int8, and with groups that split quads it takes int16 inputs. Every u8 × s8 variant agrees.
    func testGroupedInt8InputsRunPerWeightGroup() throws {
        let m = try tiny(group: 16)
        let int8 = try logits(m, ActivationPlan(.int8)), grouped = try logits(m, ActivationPlan(.int8Grouped))
        XCTAssertNotEqual(grouped, int8)
        forEachU8S8Variant { variant in
            XCTAssertEqual(try? self.logits(m, ActivationPlan(.int8Grouped)), grouped, variant)
        }
        let rowScales = try tiny(group: 0)
        XCTAssertEqual(try logits(rowScales, ActivationPlan(.int8Grouped)), try logits(rowScales, ActivationPlan(.int8)))
        let splitQuads = try tiny(group: 6)
        XCTAssertEqual(try logits(splitQuads, ActivationPlan(.int8Grouped)), try logits(splitQuads, ActivationPlan(.int16)))
    }

    /// On a real model with LayerNorm outlier channels (minilm-l6-ce, int8 weights in groups of 64 rounded to nearest, no
    /// smoothing), the input rounding's own error — the logits' distance from the same weights on int16 inputs, whose
    /// rounding is about 1/100 of int8's — is under half of per-row int8 inputs' with scales per row and weight group.
    func testGroupedInt8InputsRoundFinerOnARealModel() throws {
        let dir = repositoryRoot().appendingPathComponent(".models/minilm-l6-ce")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) else {
            if ProcessInfo.processInfo.environment["CETOOL_REQUIRE_MODELS"] == "1" { XCTFail("model missing: \(dir.path)") }
            return
        }
        let golden = try GoldenSet.load(path: repositoryRoot().appendingPathComponent("golden/minilm-l6-ce/golden.json").path)
        var m = try ModelDirectory.load(dir, maxLength: golden.maxLength)
        m.graph = try Quantize.apply(.int8, to: m.graph, plan: Quantize.Plan(weightGroupSize: 64))
        let pairs = golden.cases.enumerated().filter { $0.offset % 8 == 0 }.map { ($0.element.query, $0.element.document) }
        func run(_ mode: ActivationMode) throws -> [Float] {
            try CrossEncoder(model: m, activationPlan: ActivationPlan(mode)).logits(pairs).map { $0[0] }
        }
        let int16 = try run(.int16)
        func meanDelta(_ a: [Float]) -> Float { zip(a, int16).map { abs($0 - $1) }.reduce(0, +) / Float(a.count) }
        let perRow = meanDelta(try run(.int8)), grouped = meanDelta(try run(.int8Grouped))
        print("minilm-l6-ce, \(pairs.count) pairs, mean |Δlogit| from int16 inputs: int8 per row \(perRow), int8_grouped \(grouped)")
        XCTAssertLessThan(grouped, perRow / 2)
    }

    func testPlansMissingOrInventingALinearAreRefused() throws {
        let m = try tiny(group: 0)
        let linears = Quantize.Plan.all.runtimeLinears(m.graph.architecture, m.graph.hyperparameters)
        var some: [String: ActivationMode] = [:]
        for l in linears.dropLast() { some[l] = .int8 }
        XCTAssertThrowsError(try CrossEncoder(model: m, activationPlan: ActivationPlan(perLinear: some))) { e in
            XCTAssertEqual(e as? RuntimeError, .invalidActivationPlan("the plan names no activations for \(linears.last!)"))
        }
        var extra = some
        extra[linears.last!] = .int16
        extra["blk.7.ffn_down"] = .int8
        XCTAssertThrowsError(try CrossEncoder(model: m, activationPlan: ActivationPlan(perLinear: extra))) { e in
            XCTAssertEqual(e as? RuntimeError, .invalidActivationPlan("blk.7.ffn_down is not an int8 linear of this model"))
        }
    }

    /// The artifact plan's keys as the runtime reads them (CrossEncoder.activationPlan).
    func testArtifactPlanIsReadStrictly() throws {
        let m = try tiny(group: 0)
        func meta(_ plan: JSONValue) -> ArtifactFormat.Metadata {
            ArtifactFormat.Metadata(architecture: m.graph.architecture, hyperparameters: m.graph.hyperparameters, labels: m.graph.labels,
                                    precision: "int8", plan: plan, activation: .sigmoid, activationSource: "test", maxLength: 512,
                                    provenance: .object([]))
        }
        XCTAssertEqual(try CrossEncoder.activationPlan(nil), ActivationPlan(.int16))
        XCTAssertEqual(try CrossEncoder.activationPlan(meta(.object([]))), ActivationPlan(.int8), "artifacts older than the key")
        XCTAssertEqual(try CrossEncoder.activationPlan(meta(.object([("activations", .string("int16"))]))), ActivationPlan(.int16))
        let per = try CrossEncoder.activationPlan(meta(.object([("activations", .string("per_linear")), ("linear_activations",
            .object([("blk.0.attn_q", .string("int8")), ("blk.0.ffn_down", .string("int16"))]))])))
        XCTAssertEqual(per, ActivationPlan(perLinear: ["blk.0.attn_q": .int8, "blk.0.ffn_down": .int16]))
        for bad: JSONValue in [
            .object([("activations", .string("per_linear"))]),
            .object([("activations", .string("per_linear")), ("linear_activations", .object([("blk.0.attn_q", .string("fp32"))]))]),
            .object([("activations", .string("per_linear")), ("linear_activations", .object([("blk.0.attn_q", .int(8))]))]),
            .object([("activations", .string("per_linear")), ("linear_activations", .object([("blk.0.attn_q", .string("int8")), ("blk.0.attn_q", .string("int16"))]))]),
        ] {
            XCTAssertThrowsError(try CrossEncoder.activationPlan(meta(bad))) { e in
                guard case .invalidActivationPlan? = e as? RuntimeError else { return XCTFail("\(e)") }
            }
        }
        XCTAssertThrowsError(try CrossEncoder.activationPlan(meta(.object([("activations", .string("int4"))])))) { e in
            XCTAssertEqual(e as? RuntimeError, .unknownActivationMode("int4"))
        }
    }
}
