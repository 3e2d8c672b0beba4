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

/// save / save_pretrained: what is written, that it loads back to the same model, and the card.
final class SavePretrainedTests: XCTestCase {
    static let root = repositoryRoot()
    static let tinyL1 = root.appendingPathComponent("golden/models/tiny-bert-l1")
    static let pairs = [("How many people live in Berlin?", "Berlin has 3.5 million inhabitants."),
                        ("what is a cross encoder", "A cross-encoder reads both texts at once and scores the pair."),
                        ("", "empty query"), ("short", String(repeating: "a long document ", count: 60))]
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("cetool-save-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func bytes(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

    func assertSameWeights(_ a: Graph, _ b: Graph, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(a.weights.keys), Set(b.weights.keys), file: file, line: line)
        for (name, t) in a.weights {
            guard let u = b.weights[name] else { continue }
            XCTAssertEqual(t.dtype, u.dtype, name, file: file, line: line)
            XCTAssertEqual(t.shape, u.shape, name, file: file, line: line)
            XCTAssertTrue(t.storage.bytes.elementsEqual(u.storage.bytes), "\(name) bytes differ", file: file, line: line)
        }
    }

    func testFP32SaveLoadsBackToTheSameModelAndLogits() throws {
        let model = try ModelDirectory.load(Self.tinyL1)
        let out = dir.appendingPathComponent("hf")
        let s = try model.savePretrained(to: out)
        XCTAssertEqual(s.layout, .huggingFace)
        XCTAssertEqual(s.precision, .fp32)
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        XCTAssertEqual(names, ["README.md", "config.json", "config_sentence_transformers.json", "model.safetensors", "modules.json",
                               "sentence_bert_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"])
        // transformers wrote the source with the same rules (sorted names, {"format": "pt"}, 8-byte header padding).
        XCTAssertEqual(try bytes(out.appendingPathComponent("model.safetensors")), try bytes(Self.tinyL1.appendingPathComponent("model.safetensors")))
        XCTAssertEqual(try bytes(out.appendingPathComponent("tokenizer.json")), try bytes(Self.tinyL1.appendingPathComponent("tokenizer.json")))

        let back = try ModelDirectory.load(out)
        assertSameWeights(model.graph, back.graph)
        XCTAssertEqual(back.scorePolicy.activation, model.scorePolicy.activation)
        XCTAssertEqual(back.scorePolicy.source, "config_sentence_transformers.json activation_fn")
        XCTAssertEqual(back.defaultMaxLength, model.defaultMaxLength)
        XCTAssertEqual(try CrossEncoder(model: back).logits(Self.pairs), try CrossEncoder(model: model).logits(Self.pairs))

        let config = try JSONFile.load(path: out.appendingPathComponent("config.json").path)
        XCTAssertEqual(config["dtype"]?.stringValue, "float32")
        XCTAssertEqual(config["torch_dtype"]?.stringValue, "float32")
        XCTAssertEqual(config["sentence_transformers"]?["activation_fn"]?.stringValue, "torch.nn.modules.activation.Sigmoid")
        let text = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\n  \"add_cross_attention\": false,\n  \"architectures\": [\n    \"BertForSequenceClassification\"\n  ],"))
        let st = try JSONFile.load(path: out.appendingPathComponent("config_sentence_transformers.json").path)
        XCTAssertEqual(st["model_type"]?.stringValue, "CrossEncoder")
        XCTAssertEqual(st["__version__"]?["sentence_transformers"]?.stringValue, "6.2.0", "carried from the source")
        let modules = try JSONFile.load(path: out.appendingPathComponent("modules.json").path)
        XCTAssertEqual(modules.arrayValue?.first?["type"]?.stringValue, "sentence_transformers.base.modules.transformer.Transformer")
    }

    func testFP16GraphIsWrittenAsF16AndLoadsBackIdentically() throws {
        var model = try ModelDirectory.load(Self.tinyL1)
        model.graph = try Quantize.apply(.fp16, to: model.graph)
        let out = dir.appendingPathComponent("hf16")
        let s = try model.savePretrained(to: out)
        XCTAssertEqual(s.precision, .fp16)
        let file = try Safetensors.File(path: out.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(try file.tensor("bert.encoder.layer.0.attention.self.query.weight").dtype, .f16)
        XCTAssertEqual(try file.tensor("bert.embeddings.word_embeddings.weight").dtype, .f16)
        XCTAssertEqual(try file.tensor("bert.encoder.layer.0.attention.self.query.bias").dtype, .f32, "the plan keeps biases fp32")
        XCTAssertEqual(try file.tensor("classifier.weight").dtype, .f32)
        XCTAssertEqual(file.header.metadata.map { "\($0.0)=\($0.1)" }, ["format=pt"])
        let config = try JSONFile.load(path: out.appendingPathComponent("config.json").path)
        XCTAssertEqual(config["dtype"]?.stringValue, "float16")
        XCTAssertEqual(config["torch_dtype"]?.stringValue, "float16")

        let back = try ModelDirectory.load(out)
        assertSameWeights(model.graph, back.graph)
        XCTAssertEqual(SavePretrained.storage(of: back.graph).0, .fp16)
        XCTAssertEqual(try CrossEncoder(model: back).logits(Self.pairs), try CrossEncoder(model: model).logits(Self.pairs))
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(card.contains("- stored as fp16: token embedding, attention Q/K/V/output linears"))
    }

    func testBF16ConfigAndDType() throws {
        var model = try ModelDirectory.load(Self.tinyL1)
        model.graph = try Quantize.apply(.bf16, to: model.graph, plan: Quantize.Plan(attention: true, ffnUp: true, ffnDown: false, tokenEmbedding: false))
        let out = dir.appendingPathComponent("hfbf16")
        try model.save(to: out)
        let file = try Safetensors.File(path: out.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(try file.tensor("bert.encoder.layer.1.intermediate.dense.weight").dtype, .bf16)
        XCTAssertEqual(try file.tensor("bert.encoder.layer.1.output.dense.weight").dtype, .f32, "ffn_down kept in fp32 by the plan")
        XCTAssertEqual(try JSONFile.load(path: out.appendingPathComponent("config.json").path)["dtype"]?.stringValue, "bfloat16")
        let back = try ModelDirectory.load(out)
        assertSameWeights(model.graph, back.graph)
        let (p, plan) = SavePretrained.storage(of: back.graph)
        XCTAssertEqual(p, .bf16)
        XCTAssertEqual(plan, Quantize.Plan(attention: true, ffnUp: true, ffnDown: false, tokenEmbedding: false))
    }

    func testInt8IsSavedAsArtifactWithCard() throws {
        var model = try ModelDirectory.load(Self.tinyL1)
        model.graph = try Quantize.apply(.int8, to: model.graph)
        let out = dir.appendingPathComponent("int8")
        let s = try model.savePretrained(to: out, card: ModelCard.Info(name: "acme/tiny-int8", license: "mit"))
        XCTAssertEqual(s.layout, .artifact)
        XCTAssertTrue(ArtifactFormat.isArtifact(out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))
        XCTAssertNoThrow(try ArtifactFormat.checkManifest(out), "README.md is listed in cetool.json")
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(card.hasPrefix("---\nlibrary_name: cetool\npipeline_tag: text-ranking\n"))
        XCTAssertTrue(card.contains("license: mit\n"))
        XCTAssertTrue(card.contains("int8 weights have no HuggingFace form"))
        let back = try ModelDirectory.load(out)
        XCTAssertEqual(try CrossEncoder(model: back).logits(Self.pairs), try CrossEncoder(model: model).logits(Self.pairs))

        // An artifact saved again is copied file by file, with the card added to its manifest.
        let again = dir.appendingPathComponent("int8-again")
        try back.savePretrained(to: again, card: ModelCard.Info(name: "acme/tiny-int8", license: "mit"))
        XCTAssertEqual(try bytes(again.appendingPathComponent(ArtifactFormat.weightsFile)), try bytes(out.appendingPathComponent(ArtifactFormat.weightsFile)))
        XCTAssertNoThrow(try ArtifactFormat.checkManifest(again))

        // A tampered source artifact is refused and nothing is written.
        let h = try FileHandle(forUpdating: out.appendingPathComponent("tokenizer.json"))
        try h.seekToEnd()
        try h.write(contentsOf: Data(" ".utf8))
        try h.close()
        let third = dir.appendingPathComponent("int8-third")
        XCTAssertThrowsError(try back.savePretrained(to: third)) { XCTAssertTrue($0 is SavePretrainedError, "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: third.path))
    }

    func testHuggingFaceFormRefusesInt8TensorsByName() {
        XCTAssertNil(ModelDirectory.huggingFaceName(forCanonical: TensorName.scale(of: TensorName.attnQ(0).weight), architecture: .bert))
        XCTAssertEqual(SavePretrainedError.noHuggingFaceName(canonical: "blk.0.attn_q.weight_scale").description.contains("cetool artifact"), true)
    }

    func testSameInputSameBytesAndForce() throws {
        let model = try ModelDirectory.load(Self.tinyL1)
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        try model.savePretrained(to: a)
        try model.savePretrained(to: b)
        for n in try FileManager.default.contentsOfDirectory(atPath: a.path) {
            XCTAssertEqual(try bytes(a.appendingPathComponent(n)), try bytes(b.appendingPathComponent(n)), n)
        }
        XCTAssertThrowsError(try model.savePretrained(to: a)) { XCTAssertEqual($0 as? StagingError, .targetExists(path: a.standardizedFileURL.path)) }
        XCTAssertNoThrow(try model.savePretrained(to: a, force: true))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["a", "b"], "no staging left behind")
    }

    func testCardCarriesSourceFrontMatterAndRendersTheReport() throws {
        // A source folder with a card of its own.
        let src = dir.appendingPathComponent("src")
        try FileManager.default.copyItem(at: Self.tinyL1, to: src)
        try Data("---\nlicense: apache-2.0\nbase_model:\n- acme/base-model\ntags:\n- foo\n---\n# source\n".utf8)
            .write(to: src.appendingPathComponent("README.md"))
        var model = try ModelDirectory.load(src)
        model.graph = try Quantize.apply(.fp16, to: model.graph)
        let report = try JSONParser.parse("""
        {"format": "cetool-verify-report", "format_version": 1, "summary": {"passed": true, "model": "m", "precision": "fp16",
         "profile": {"name": "fp16"}, "pairs": 372, "max_abs_delta_logit": 0.0046, "min_spearman": 1.0, "top1_agreement": 1.0,
         "token_ids_identical": 372, "token_ids_checked": 372, "pairs_per_second": 123.5}}
        """)
        let plot = Array("<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>\n".utf8)
        let out = dir.appendingPathComponent("carded")
        try model.savePretrained(to: out, card: ModelCard.Info(name: "acme/minilm-fp16", report: report, plot: plot))
        let card = try String(contentsOf: out.appendingPathComponent("README.md"), encoding: .utf8)
        let fm = ModelCard.frontMatter(card)
        XCTAssertEqual(fm["library_name"], ["sentence-transformers"])
        XCTAssertEqual(fm["pipeline_tag"], ["text-ranking"])
        XCTAssertEqual(fm["tags"], ["sentence-transformers", "cross-encoder", "reranker", "cetool", "fp16"])
        XCTAssertEqual(fm["license"], ["apache-2.0"])
        XCTAssertEqual(fm["base_model"], ["acme/base-model"])
        XCTAssertNil(fm["base_model_relation"], "only stated when the base model is given explicitly")
        XCTAssertTrue(card.contains("# acme/minilm-fp16\n"))
        XCTAssertTrue(card.contains("| Tolerance profile | fp16 |"))
        XCTAssertTrue(card.contains("| max \\|Δlogit\\| | 0.0046 |"), "a bar inside a cell is escaped")
        XCTAssertTrue(card.contains("| Top-1 agreement | 100 % |"), "shares are percentages")
        XCTAssertTrue(card.contains("| Token ids identical | 372 / 372 |"))
        XCTAssertTrue(card.contains("| pairs per second | 123.5 |"), "unknown summary figures are shown as they are")
        XCTAssertTrue(card.contains("](verify.svg)"))
        XCTAssertEqual(try bytes(out.appendingPathComponent("verify.svg")), plot)
        XCTAssertFalse(card.contains(dir.path), "no local paths in the card")

        let explicit = dir.appendingPathComponent("explicit")
        try model.savePretrained(to: explicit, card: ModelCard.Info(baseModel: "acme/minilm", license: "Apache 2.0: see LICENSE"))
        let fm2 = ModelCard.frontMatter(try String(contentsOf: explicit.appendingPathComponent("README.md"), encoding: .utf8))
        XCTAssertEqual(fm2["base_model"], ["acme/minilm"])
        XCTAssertEqual(fm2["base_model_relation"], ["quantized"])
        XCTAssertEqual(fm2["license"], ["Apache 2.0: see LICENSE"], "quoted in YAML and read back")
    }

    func testMaxLengthOverrideIsKeptForSentenceTransformers() throws {
        let model = try ModelDirectory.load(Self.tinyL1, maxLength: 64)
        let out = dir.appendingPathComponent("len64")
        try model.savePretrained(to: out)
        let sb = try JSONFile.load(path: out.appendingPathComponent("sentence_bert_config.json").path)
        XCTAssertEqual(sb["max_seq_length"]?.intValue, 64)
        XCTAssertEqual(try ModelDirectory.load(out).defaultMaxLength, 64)
    }
}
