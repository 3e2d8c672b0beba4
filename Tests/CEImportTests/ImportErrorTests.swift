import CECore
import CEFormats
import CEGraph
import CEImport
import CETestSupport
import XCTest

/// Bad model directories get typed errors naming the problem.
final class ImportErrorTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    let config = """
    {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": 10, "hidden_size": 4,
     "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 8, "max_position_embeddings": 16,
     "type_vocab_size": 2, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "pad_token_id": 0, "id2label": {"0": "LABEL_0"}}
    """

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: dir.appendingPathComponent(name))
    }

    /// A complete tiny BERT checkpoint (hidden 4, 1 layer), minus `dropping`, plus `extra`.
    func checkpoint(dropping: String? = nil, extra: [String] = [], reshape: [String: [Int]] = [:]) -> [UInt8] {
        let h = Hyperparameters(vocabSize: 10, hiddenSize: 4, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 8,
                                hiddenAct: .gelu, maxPositionEmbeddings: 16, typeVocabSize: 2, layerNormEps: 1e-12,
                                padTokenID: 0, numLabels: 1)
        // canonical -> HF names, the inverse of the importer's table, for this fixture only
        func hf(_ c: String) -> String {
            let table: [(String, String)] = [
                ("token_embd", "bert.embeddings.word_embeddings"), ("pos_embd", "bert.embeddings.position_embeddings"),
                ("type_embd", "bert.embeddings.token_type_embeddings"), ("embd_norm", "bert.embeddings.LayerNorm"),
                ("blk.0.attn_q", "bert.encoder.layer.0.attention.self.query"), ("blk.0.attn_k", "bert.encoder.layer.0.attention.self.key"),
                ("blk.0.attn_v", "bert.encoder.layer.0.attention.self.value"), ("blk.0.attn_out", "bert.encoder.layer.0.attention.output.dense"),
                ("blk.0.attn_norm", "bert.encoder.layer.0.attention.output.LayerNorm"), ("blk.0.ffn_up", "bert.encoder.layer.0.intermediate.dense"),
                ("blk.0.ffn_down", "bert.encoder.layer.0.output.dense"), ("blk.0.ffn_norm", "bert.encoder.layer.0.output.LayerNorm"),
                ("cls.pool", "bert.pooler.dense"), ("cls.out", "classifier"),
            ]
            for (k, v) in table where c.hasPrefix(k + ".") { return v + c.dropFirst(k.count) }
            return c
        }
        var b = SafetensorsBuilder()
        var rng = SeededRNG(seed: 9)
        for (c, shape) in TensorName.required(.bert, h) {
            let name = hf(c)
            if name == dropping { continue }
            let s = reshape[name] ?? shape.dims
            b.add(name, floats: rng.floats(s.reduce(1, *)), shape: s)
        }
        for e in extra { b.add(e, floats: [0], shape: [1]) }
        return b.bytes()
    }

    func expectImport(_ expected: ImportError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ModelDirectory.load(dir), file: file, line: line) {
            XCTAssertEqual($0 as? ImportError, expected, "\($0)", file: file, line: line)
        }
    }

    func testMissingConfig() {
        expectImport(.missingFile(name: "config.json", directory: dir.path))
    }

    func testMissingWeights() throws {
        try write("config.json", config)
        expectImport(.noWeights(directory: dir.path))
    }

    func testTruncatedWeights() throws {
        try write("config.json", config)
        let bytes = checkpoint()
        try Data(bytes.prefix(bytes.count - 10)).write(to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ModelDirectory.load(dir)) {
            guard case .dataSizeMismatch? = ($0 as? SafetensorsError)?.underlying else { return XCTFail("\($0)") }
        }
    }

    func testUnsupportedArchitectureIsNamed() throws {
        let supported = ["BertForSequenceClassification", "CamembertForSequenceClassification", "DebertaV2ForSequenceClassification",
                         "DistilBertForSequenceClassification", "ElectraForSequenceClassification", "LlamaForSequenceClassification",
                         "ModernBertForSequenceClassification", "Qwen2ForSequenceClassification", "Qwen3ForSequenceClassification",
                         "RobertaForSequenceClassification", "XLMRobertaForSequenceClassification"]
        XCTAssertEqual(ModelConfig.supported.keys.sorted(), supported)
        // Encoders cetool has no graph for (relative-position attention, other heads) are refused by name; bare
        // encoders (BertModel, RobertaModel, …) are read without a head (ModelConfig.bareEncoders).
        XCTAssertEqual(ModelConfig.bareEncoders.keys.sorted(), ["BertModel", "CamembertModel", "DebertaV2Model", "DistilBertModel", "ElectraModel",
                                                                "ModernBertModel", "RobertaModel", "XLMRobertaModel"])
        for name in ["GPT2LMHeadModel", "BertForMaskedLM", "ModernBertForMaskedLM", "DebertaV2ForMaskedLM",
                     "DebertaForSequenceClassification", "RobertaForMaskedLM"] {
            try write("config.json", config.replacingOccurrences(of: "BertForSequenceClassification", with: name))
            expectImport(.unsupportedArchitecture(name: name, supported: supported))
        }
        try write("config.json", config.replacingOccurrences(of: "\"architectures\": [\"BertForSequenceClassification\"], ", with: "")
                                        .replacingOccurrences(of: "\"bert\"", with: "\"modernbert\""))
        expectImport(.unsupportedArchitecture(name: "(no architectures; model_type modernbert)", supported: supported))
    }

    func testMissingTensorIsNamed() throws {
        try write("config.json", config)
        try Data(checkpoint(dropping: "bert.pooler.dense.weight")).write(to: dir.appendingPathComponent("model.safetensors"))
        expectImport(.missingTensor(canonical: "cls.pool.weight", expectedSource: "bert.pooler.dense.weight"))
        try Data(checkpoint(dropping: "classifier.bias")).write(to: dir.appendingPathComponent("model.safetensors"))
        expectImport(.missingTensor(canonical: "cls.out.bias", expectedSource: "classifier.bias"))
    }

    func testUnknownTensorIsNamed() throws {
        try write("config.json", config)
        try Data(checkpoint(extra: ["bert.encoder.layer.0.attention.self.rotary"])).write(to: dir.appendingPathComponent("model.safetensors"))
        expectImport(.unmappedTensor(name: "bert.encoder.layer.0.attention.self.rotary"))
    }

    func testShapeMismatchIsNamed() throws {
        try write("config.json", config)
        try Data(checkpoint(reshape: ["classifier.weight": [3, 4]])).write(to: dir.appendingPathComponent("model.safetensors"))
        expectImport(.shapeMismatch(name: "classifier.weight", expected: [1, 4], actual: [3, 4]))
    }

    func testHostileConfigSizes() throws {
        try write("config.json", config.replacingOccurrences(of: "\"hidden_size\": 4", with: "\"hidden_size\": 1e12"))
        expectImport(.invalidConfig(key: "hidden_size", reason: "1000000000000 is outside 1...16384"))
        try write("config.json", config.replacingOccurrences(of: "\"hidden_size\": 4", with: "\"hidden_size\": 1000000000"))
        expectImport(.invalidConfig(key: "hidden_size", reason: "1000000000 is outside 1...16384"))
        try write("config.json", config.replacingOccurrences(of: "\"num_attention_heads\": 2", with: "\"num_attention_heads\": 3"))
        expectImport(.invalidConfig(key: "num_attention_heads", reason: "hidden_size 4 is not divisible by 3"))
        try write("config.json", config.replacingOccurrences(of: "\"gelu\"", with: "\"swish\""))
        expectImport(.invalidConfig(key: "hidden_act", reason: "\"swish\" is not supported (gelu, relu, gelu_new, gelu_pytorch_tanh)"))
    }
}

final class ScorePolicyTests: XCTestCase {
    func policy(_ config: String, _ st: String? = nil, labels: Int = 1) throws -> ScorePolicy {
        try ScorePolicy.resolve(config: try JSONParser.parse(config), sentenceTransformersConfig: try st.map { try JSONParser.parse($0) }, numLabels: labels)
    }

    func testPrecedenceAsSentenceTransformers() throws {
        XCTAssertEqual(try policy("{}").activation, .sigmoid)
        XCTAssertEqual(try policy("{}", labels: 3).activation, .identity)
        XCTAssertEqual(try policy(#"{"sbert_ce_default_activation_function": "torch.nn.modules.linear.Identity"}"#).activation, .identity)
        XCTAssertEqual(try policy(#"{"sentence_transformers": {"activation_fn": "torch.nn.modules.activation.Tanh"}, "sbert_ce_default_activation_function": "torch.nn.modules.linear.Identity"}"#).activation, .tanh)
        let st = try policy(#"{"sentence_transformers": {"activation_fn": "torch.nn.modules.activation.Tanh"}}"#,
                            #"{"activation_fn": "torch.nn.modules.linear.Identity"}"#)
        XCTAssertEqual(st, ScorePolicy(activation: .identity, source: "config_sentence_transformers.json activation_fn"))
    }

    func testUntrustedPathFallsBackToDefaultAndUnknownTorchPathIsRefused() throws {
        XCTAssertEqual(try policy(#"{"sentence_transformers": {"activation_fn": "mypkg.Evil"}}"#).activation, .sigmoid)
        XCTAssertThrowsError(try policy(#"{"sentence_transformers": {"activation_fn": "torch.nn.modules.activation.GELU"}}"#)) {
            XCTAssertEqual($0 as? ImportError, .unsupportedActivation(path: "torch.nn.modules.activation.GELU", source: "config.json sentence_transformers.activation_fn"))
        }
    }
}

final class ScorePolicyFallthroughTests: XCTestCase {
    func testUntrustedLevelFallsToNextLevel() throws {
        let p = try ScorePolicy.resolve(config: try JSONParser.parse(#"{"sentence_transformers": {"activation_fn": "torch.nn.Identity"}}"#),
                                        sentenceTransformersConfig: try JSONParser.parse(#"{"activation_fn": "evil.Module"}"#), numLabels: 1)
        XCTAssertEqual(p.activation, .identity)
        // the legacy key is not consulted when sentence_transformers.activation_fn exists (elif in the reference)
        let q = try ScorePolicy.resolve(config: try JSONParser.parse(#"{"sentence_transformers": {"activation_fn": null}, "sbert_ce_default_activation_function": "torch.nn.Identity"}"#),
                                        sentenceTransformersConfig: nil, numLabels: 1)
        XCTAssertEqual(q.activation, .sigmoid)
    }
}
