import CECore
import CEFormats
import CEGraph
import CETestSupport
import XCTest
@testable import CEImport

/// ModernBERT's config.json read as transformers 5.23's ModernBertConfig resolves it, case by case from
/// golden/tiny-modernbert/config-resolution.json (made by golden/make_goldens.py with the reference): layer kinds,
/// half window and rotary bases where the reference runs the model; a refusal naming the field where it does not,
/// and where it runs an option cetool does not compute.
final class ModernBERTConfigTests: XCTestCase {
    static let golden = repositoryRoot().appendingPathComponent("golden/tiny-modernbert/config-resolution.json")

    /// Cases the reference resolves and runs but cetool refuses, with the error it gives.
    static let refusedByCetool: [String: ImportError] = [
        "rope-scaling-linear": .unsupportedOption(key: "rope_parameters.full_attention.rope_type", value: "linear", supported: ["default"]),
        "rope-dynamic": .unsupportedOption(key: "rope_parameters.full_attention.rope_type", value: "dynamic", supported: ["default"]),
        "activation-silu": .unsupportedOption(key: "hidden_activation", value: "silu",
                                              supported: ["gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_python", "relu"].sorted()),
    ]
    /// Cases the reference refuses (config error) or cannot run: the config.json key cetool's invalidConfig names.
    static let refusedByBoth: [String: String] = [
        "pooling-max": "classifier_pooling", "layer-types-short": "layer_types", "every-0": "global_attn_every_n_layers",
        "rope-parameters-flat": "rope_parameters", "norm-bias-int": "norm_bias", "layer-types-unknown": "layer_types[1]",
        "head-dim-other": "head_dim",
    ]

    func testConfigResolutionMatchesTheReference() throws {
        let doc = try JSONFile.load(path: Self.golden.path)
        let cases = try XCTUnwrap(doc["cases"]?.arrayValue)
        XCTAssertEqual(cases.count, 28)
        var seen = Set<String>()
        for c in cases {
            let id = try XCTUnwrap(c["id"]?.stringValue)
            seen.insert(id)
            let config = try XCTUnwrap(c["config"])
            let referenceRuns = c["error"] == nil && c["model_runs"]?.boolValue == true
            if let expected = Self.refusedByCetool[id] {
                XCTAssertTrue(referenceRuns, "\(id): the reference runs it")
                XCTAssertThrowsError(try ModelConfig(json: config), id) { XCTAssertEqual($0 as? ImportError, expected, "\(id): \($0)") }
                continue
            }
            if let key = Self.refusedByBoth[id] {
                XCTAssertFalse(referenceRuns, "\(id): the reference refuses or fails")
                XCTAssertThrowsError(try ModelConfig(json: config), id) {
                    guard case .invalidConfig(let k, _)? = $0 as? ImportError else { return XCTFail("\(id): \($0)") }
                    XCTAssertEqual(k, key, id)
                }
                continue
            }
            XCTAssertTrue(referenceRuns, "\(id) is neither accepted by the reference nor listed as refused")
            let parsed = try ModelConfig(json: config)
            let m = try XCTUnwrap(parsed.hyperparameters.modernBERT, id)
            let resolved = try XCTUnwrap(c["resolved"])
            XCTAssertEqual(m.layerTypes.map(\.rawValue), resolved["layer_types"]?.arrayValue?.compactMap(\.stringValue), id)
            XCTAssertEqual(m.halfWindow, resolved["sliding_window"]?.intValue, id)
            XCTAssertEqual(m.localAttention, resolved["local_attention"]?.intValue, id)
            XCTAssertEqual(m.globalRopeTheta, resolved["rope_parameters"]?["full_attention"]?["rope_theta"]?.doubleValue, id)
            XCTAssertEqual(m.localRopeTheta, resolved["rope_parameters"]?["sliding_attention"]?["rope_theta"]?.doubleValue, id)
            XCTAssertEqual(parsed.architecture, .modernbert)
        }
        XCTAssertTrue(Set(Self.refusedByCetool.keys).isSubset(of: seen))
        XCTAssertTrue(Set(Self.refusedByBoth.keys).isSubset(of: seen))
    }

    /// A config.json of the tiny checkpoint with `change` applied to its top level.
    func tinyConfig(_ change: (inout [(String, JSONValue)]) -> Void) throws -> JSONValue {
        let json = try JSONFile.load(path: repositoryRoot().appendingPathComponent("golden/models/tiny-modernbert/config.json").path)
        var members = try XCTUnwrap(json.objectValue)
        change(&members)
        return .object(members)
    }

    func set(_ key: String, _ value: JSONValue) -> (inout [(String, JSONValue)]) -> Void {
        { members in
            members.removeAll { $0.0 == key }
            members.append((key, value))
        }
    }

    /// Options the reference computes and cetool does not are refused with the field's name, never ignored.
    func testUnsupportedOptionsAreRefusedByName() throws {
        func expect(_ change: @escaping (inout [(String, JSONValue)]) -> Void, _ e: ImportError, line: UInt = #line) throws {
            XCTAssertThrowsError(try ModelConfig(json: try tinyConfig(change)), line: line) {
                XCTAssertEqual($0 as? ImportError, e, "\($0)", line: line)
            }
        }
        try expect(set("classifier_activation", .string("silu")),
                   .unsupportedOption(key: "classifier_activation", value: "silu",
                                      supported: ["gelu", "gelu_new", "gelu_python", "gelu_pytorch_tanh", "relu", "tanh"]))
        try expect(set("hidden_activation", .string("quick_gelu")),
                   .unsupportedOption(key: "hidden_activation", value: "quick_gelu",
                                      supported: ["gelu", "gelu_new", "gelu_python", "gelu_pytorch_tanh", "relu"]))
        try expect(set("rope_parameters", .object([
            ("full_attention", .object([("rope_type", .string("default")), ("rope_theta", .double(1e5))])),
            ("sliding_attention", .object([("rope_type", .string("yarn")), ("factor", .double(4))])),
        ])), .unsupportedOption(key: "rope_parameters.sliding_attention.rope_type", value: "yarn", supported: ["default"]))
        // The hub-era spelling: rope_scaling applies to both kinds.
        try expect({ members in
            members.removeAll { $0.0 == "rope_parameters" }
            members.append(("rope_scaling", .object([("rope_type", .string("dynamic")), ("factor", .double(2))])))
        }, .unsupportedOption(key: "rope_parameters.full_attention.rope_type", value: "dynamic", supported: ["default"]))
        try expect(set("classifier_pooling", .string("max")), .invalidConfig(key: "classifier_pooling", reason: "max is not cls or mean"))
        try expect(set("layer_types", .array([.string("full_attention")])),
                   .invalidConfig(key: "layer_types", reason: "1 entries for num_hidden_layers 4"))
        try expect(set("attention_bias", .int(0)), .invalidConfig(key: "attention_bias", reason: "not a boolean"))
        try expect(set("head_dim", .int(16)), .invalidConfig(key: "head_dim", reason: "differs from hidden_size / num_attention_heads = 8"))
        try expect(set("num_attention_heads", .int(32)),
                   .invalidConfig(key: "num_attention_heads", reason: "head size 1 is odd; rotary embeddings rotate pairs"))
    }

    /// Hub-era keys (no layer_types, no rope_parameters) resolve as the reference resolves them.
    func testHubEraKeys() throws {
        let json = try tinyConfig { members in
            members.removeAll { ["layer_types", "rope_parameters"].contains($0.0) }
            members.append(("global_rope_theta", .double(80_000)))
            members.append(("local_rope_theta", .int(7_000)))
            members.removeAll { $0.0 == "global_attn_every_n_layers" }
            members.append(("global_attn_every_n_layers", .int(2)))
        }
        let m = try XCTUnwrap(try ModelConfig(json: json).hyperparameters.modernBERT)
        XCTAssertEqual(m.layerTypes, [.global, .local, .global, .local])
        XCTAssertEqual([m.globalRopeTheta, m.localRopeTheta], [80_000, 7_000])
    }
}
