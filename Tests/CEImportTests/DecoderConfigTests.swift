import CECore
import CEFormats
import CEGraph
import CETestSupport
import XCTest
@testable import CEImport

/// Qwen3 / Qwen2 / Llama config.json read as transformers 5.23's config classes resolve it, case by case from
/// golden/tiny-qwen3/config-resolution.json (golden/make_models_qwen3.py configs): head size, kv heads, rotary base
/// and biases where cetool computes the model; a refusal naming the field where it does not.
final class DecoderConfigTests: XCTestCase {
    static let golden = repositoryRoot().appendingPathComponent("golden/tiny-qwen3/config-resolution.json")

    /// Cases the reference resolves and runs (or builds) but cetool refuses, with the error it gives.
    static let refused: [String: ImportError] = [
        "qwen3-rope-linear": .unsupportedOption(key: "rope_scaling.rope_type", value: "linear", supported: ["default"]),
        "qwen3-rope-yarn": .unsupportedOption(key: "rope_parameters.rope_type", value: "yarn", supported: ["default"]),
        "llama-rope-llama3": .unsupportedOption(key: "rope_scaling.rope_type", value: "llama3", supported: ["default"]),
        "qwen3-sliding": .unsupportedOption(key: "use_sliding_window", value: "true", supported: ["false"]),
        "qwen3-layer-types": .unsupportedOption(key: "layer_types[1]", value: "sliding_attention", supported: ["full_attention"]),
        "qwen3-gelu": .unsupportedOption(key: "hidden_act", value: "gelu", supported: ["silu", "swish"]),
        // No num_key_value_heads: 32 (the class default) for 4 query heads; transformers builds it and cannot run it.
        "qwen3-kv-absent": .invalidConfig(key: "num_key_value_heads", reason: "32 does not divide num_attention_heads 4"),
        "qwen2-kv-absent": .invalidConfig(key: "num_key_value_heads", reason: "32 does not divide num_attention_heads 4"),
    ]

    func testConfigResolutionMatchesTheReference() throws {
        let doc = try JSONFile.load(path: Self.golden.path)
        let cases = try XCTUnwrap(doc["cases"]?.arrayValue)
        XCTAssertEqual(cases.count, 23)
        var accepted = 0
        for c in cases {
            let id = try XCTUnwrap(c["id"]?.stringValue), config = try XCTUnwrap(c["config"])
            if let expected = Self.refused[id] {
                XCTAssertThrowsError(try ModelConfig(json: config), id) { XCTAssertEqual($0 as? ImportError, expected, id) }
                continue
            }
            let r = try XCTUnwrap(c["resolved"], "\(id): the reference resolves it")
            let h = try ModelConfig(json: config).hyperparameters
            let m = try XCTUnwrap(h.decoder, id)
            XCTAssertEqual(m.headDim, r["head_dim"]?.intValue, id)
            XCTAssertEqual(m.numKeyValueHeads, r["num_key_value_heads"]?.intValue, id)
            XCTAssertEqual(m.ropeTheta, r["rope_theta"]?.doubleValue, id)
            XCTAssertEqual(m.qkvBias, r["q_bias"]?.boolValue, id)
            XCTAssertEqual(m.outputBias, r["o_bias"]?.boolValue, id)
            XCTAssertEqual(m.mlpBias, r["mlp_bias"]?.boolValue, id)
            XCTAssertEqual(m.qkNorm, r["q_norm"]?.boolValue, id)
            accepted += 1
        }
        XCTAssertEqual(accepted, 15)
    }

    /// The causal-LM form is not a sequence classifier: refused by name, listing what is supported.
    func testCausalLMIsNotImportedAsAClassifier() throws {
        let config: JSONValue = .object([("architectures", .array([.string("Qwen3ForCausalLM")])), ("hidden_size", .int(32))])
        XCTAssertThrowsError(try ModelConfig(json: config)) { e in
            guard case ImportError.unsupportedArchitecture(let name, let supported)? = e as? ImportError else { return XCTFail("\(e)") }
            XCTAssertEqual(name, "Qwen3ForCausalLM")
            XCTAssertTrue(supported.contains("Qwen3ForSequenceClassification"))
        }
    }
}
